package pkgtest

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Deb describes a tiny Debian binary package.
type Deb struct {
	Name    string
	Version string // as dpkg shows it, with an epoch if any: "1:2.0-1"
	Arch    string // default "all"
	Depends string // the Depends field, e.g. "libdemo (>= 1.1)"
	// Files is the payload, path → content. Nil means one file,
	// /usr/share/NAME/version, holding the version and a newline.
	Files map[string]string
	// FailConfigure adds a postinst that fails, so dpkg leaves the package
	// half-configured and apt-get exits non-zero. Packages have no
	// maintainer scripts otherwise: dpkg --root would run them chrooted
	// into a root that has no shell.
	FailConfigure bool
}

func (d Deb) withDefaults() Deb {
	if d.Arch == "" {
		d.Arch = "all"
	}
	if d.Files == nil {
		d.Files = map[string]string{"usr/share/" + d.Name + "/version": d.Version + "\n"}
	}
	return d
}

// FileName is the package's file name in a repository, as Debian names
// it: name_version_arch.deb without the epoch.
func (d Deb) FileName() string {
	d = d.withDefaults()
	v := d.Version
	if i := strings.IndexByte(v, ':'); i >= 0 {
		v = v[i+1:]
	}
	return d.Name + "_" + v + "_" + d.Arch + ".deb"
}

// DemoDebs returns package "demo" at each version.
func DemoDebs(versions ...string) []Deb {
	var ds []Deb
	for _, v := range versions {
		ds = append(ds, Deb{Name: "demo", Version: v})
	}
	return ds
}

var aptTools = [][2]string{{"dpkg", "dpkg"}, {"dpkg-deb", "dpkg"}, {"dpkg-scanpackages", "dpkg-dev"}, {"apt-get", "apt"}}

// RequireApt skips the test unless dpkg, dpkg-deb, dpkg-scanpackages and
// apt-get are installed and the test runs as root.
func RequireApt(t testing.TB) {
	t.Helper()
	require(t, aptTools)
}

// BuildDeb builds the package with dpkg-deb (once per content, in the
// cache) and returns the path of the .deb file.
func BuildDeb(t testing.TB, d Deb) string {
	t.Helper()
	RequireApt(t)
	d = d.withDefaults()
	if d.Name == "" || d.Version == "" {
		t.Fatalf("pkgtest: Deb %+v: name and version are required", d)
	}
	control := fmt.Sprintf("Package: %s\nVersion: %s\nArchitecture: %s\nMaintainer: Patchwave tests <tests@example.org>\n", d.Name, d.Version, d.Arch)
	if d.Depends != "" {
		control += "Depends: " + d.Depends + "\n"
	}
	control += "Description: patchwave test package\n"
	postinst := ""
	if d.FailConfigure {
		postinst = "#!/bin/sh\necho 'postinst fails on purpose' >&2\nexit 1\n"
	}
	// The key is what goes into the package, so that a change to how
	// packages are made builds them anew.
	k := key(struct {
		Control, Postinst, File string
		Files                   map[string]string
	}{control, postinst, d.FileName(), d.Files})
	dir := cached(t, "deb", k, func(dir string) error {
		pkg := filepath.Join(dir, "pkg")
		if err := writeFiles(pkg, d.Files); err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(pkg, "DEBIAN"), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(pkg, "DEBIAN/control"), []byte(control), 0o644); err != nil {
			return err
		}
		if postinst != "" {
			if err := os.WriteFile(filepath.Join(pkg, "DEBIAN/postinst"), []byte(postinst), 0o755); err != nil {
				return err
			}
		}
		if err := run("", nil, "dpkg-deb", "--root-owner-group", "-Zgzip", "--build", pkg, filepath.Join(dir, d.FileName())); err != nil {
			return err
		}
		return os.RemoveAll(pkg)
	})
	return filepath.Join(dir, d.FileName())
}

// AptRepo builds a flat apt repository of the packages (once per set, in
// the cache): the .deb files and a Packages index made by
// dpkg-scanpackages -m, which keeps every version of a package. It
// returns the repository's directory, for a source line
// "deb [trusted=yes] file:DIR ./".
func AptRepo(t testing.TB, debs ...Deb) string {
	t.Helper()
	RequireApt(t)
	var files []string
	for _, d := range debs {
		files = append(files, BuildDeb(t, d))
	}
	keys := slices.Clone(files)
	slices.Sort(keys)
	return cached(t, "apt-repo", key(keys), func(dir string) error {
		var index []indexEntry
		for i, f := range files {
			if err := copyFile(f, filepath.Join(dir, filepath.Base(f))); err != nil {
				return err
			}
			index = append(index, indexEntry{debs[i].Name, debs[i].Version, filepath.Base(f)})
		}
		if err := writeIndex(dir, index); err != nil {
			return err
		}
		return run(dir, nil, "sh", "-c", "dpkg-scanpackages -m . /dev/null > Packages 2>/dev/null && gzip -9nk Packages")
	})
}

// Where AptRoot's files go in the root.
const aptSourcesFile = "etc/apt/sources.list"

// AptRoot returns a new empty dpkg root (in t.TempDir) that apt accepts,
// whose only source is a local repository of the packages: the dpkg
// database (var/lib/dpkg/status, empty), apt's directories, a sources.list,
// etc/os-release of Debian 12, and var/run for the reboot flag. Nothing is
// installed and apt has no package lists until apt-get update (the
// executor's Refresh) runs, as on a real machine.
func AptRoot(t testing.TB, debs ...Deb) string {
	t.Helper()
	repo := AptRepo(t, debs...)
	root := t.TempDir()
	for _, d := range []string{"var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers",
		"var/cache/apt/archives/partial", "var/lib/apt/lists/partial",
		"etc/apt/sources.list.d", "etc/apt/preferences.d", "etc/apt/apt.conf.d", "etc/apt/trusted.gpg.d",
		"var/log/apt", "var/run", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, content := range map[string]string{
		"var/lib/dpkg/status": "",
		aptSourcesFile:        "deb [trusted=yes] file:" + repo + " ./\n",
		"etc/os-release":      debianOSRelease,
		"etc/debian_version":  "12.7\n",
	} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const debianOSRelease = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
`
