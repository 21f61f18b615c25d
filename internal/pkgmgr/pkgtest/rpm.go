package pkgtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// RPM describes a tiny rpm package.
type RPM struct {
	Name     string
	Version  string
	Release  string // default "1"
	Epoch    int
	Arch     string // default "noarch"
	Requires string // the Requires tag, e.g. "libdemo >= 1.1"
	// Files is the payload, path → content. Nil means one file,
	// /usr/share/NAME/version, holding the EVR and a newline.
	Files map[string]string
	// FailInstall adds a %pre scriptlet that fails, so rpm does not
	// install the package and dnf exits non-zero. Packages have no
	// scriptlets otherwise.
	FailInstall bool
}

func (r RPM) withDefaults() RPM {
	if r.Release == "" {
		r.Release = "1"
	}
	if r.Arch == "" {
		r.Arch = "noarch"
	}
	if r.Files == nil {
		r.Files = map[string]string{"usr/share/" + r.Name + "/version": r.EVR() + "\n"}
	}
	return r
}

// EVR is the version as rpm inventories show it: [epoch:]version-release,
// the epoch only when it is not zero.
func (r RPM) EVR() string {
	rel := r.Release
	if rel == "" {
		rel = "1"
	}
	v := r.Version + "-" + rel
	if r.Epoch != 0 {
		v = strconv.Itoa(r.Epoch) + ":" + v
	}
	return v
}

// FileName is the package's file name: name-version-release.arch.rpm.
func (r RPM) FileName() string {
	r = r.withDefaults()
	return fmt.Sprintf("%s-%s-%s.%s.rpm", r.Name, r.Version, r.Release, r.Arch)
}

// DemoRPMs returns package "demo" at each version, written
// [epoch:]version[-release] ("1.1", "1.1-2", "1:0.9").
func DemoRPMs(versions ...string) []RPM {
	var rs []RPM
	for _, v := range versions {
		r := RPM{Name: "demo"}
		if e, rest, ok := strings.Cut(v, ":"); ok {
			r.Epoch, _ = strconv.Atoi(e)
			v = rest
		}
		r.Version, r.Release, _ = strings.Cut(v, "-")
		rs = append(rs, r)
	}
	return rs
}

var dnfTools = [][2]string{{"rpm", "rpm"}, {"rpmbuild", "rpm"}, {"createrepo_c", "createrepo-c"}, {"dnf", "dnf"}}

// RequireDnf skips the test unless rpm, rpmbuild, createrepo_c and dnf are
// installed and the test runs as root.
func RequireDnf(t testing.TB) {
	t.Helper()
	require(t, dnfTools)
}

// BuildRPM builds the package with rpmbuild (once per content, in the
// cache) and returns the path of the .rpm file.
func BuildRPM(t testing.TB, r RPM) string {
	t.Helper()
	RequireDnf(t)
	r = r.withDefaults()
	if r.Name == "" || r.Version == "" || strings.ContainsAny(r.Version+r.Release, "- :") {
		t.Fatalf("pkgtest: RPM %+v: name and version are required; version and release take no '-', ':' or space", r)
	}
	var spec strings.Builder
	fmt.Fprintf(&spec, "Name: %s\nVersion: %s\nRelease: %s\n", r.Name, r.Version, r.Release)
	if r.Epoch != 0 {
		fmt.Fprintf(&spec, "Epoch: %d\n", r.Epoch)
	}
	fmt.Fprintf(&spec, "Summary: patchwave test package\nLicense: MIT\nBuildArch: %s\n", r.Arch)
	if r.Requires != "" {
		fmt.Fprintf(&spec, "Requires: %s\n", r.Requires)
	}
	spec.WriteString("%description\npatchwave test package\n")
	if r.FailInstall {
		// A Lua scriptlet runs inside rpm: a shell one would make the
		// package require /bin/sh, which an empty root lacks.
		spec.WriteString("%pre -p <lua>\nerror(\"pre-install scriptlet fails on purpose\")\n")
	}
	spec.WriteString("%install\nmkdir -p %{buildroot}\ncp -a %{_sourcedir}/payload/. %{buildroot}/\n%files\n")
	for _, f := range sortedKeys(r.Files) {
		spec.WriteString(f + "\n")
	}
	// The key is what goes into the package, so that a change to how
	// packages are made builds them anew.
	k := key(struct {
		Spec, File string
		Files      map[string]string
	}{spec.String(), r.FileName(), r.Files})
	dir := cached(t, "rpm", k, func(dir string) error {
		top := filepath.Join(dir, "top")
		if err := writeFiles(filepath.Join(top, "SOURCES/payload"), r.Files); err != nil {
			return err
		}
		specFile := filepath.Join(dir, r.Name+".spec")
		if err := os.WriteFile(specFile, []byte(spec.String()), 0o644); err != nil {
			return err
		}
		if err := run("", nil, "rpmbuild", "--quiet", "-bb",
			"--define", "_topdir "+top,
			"--define", "_build_id_links none",
			"--define", "__os_install_post %{nil}",
			"--define", "_binary_payload w6.gzdio",
			specFile); err != nil {
			return err
		}
		if err := os.Rename(filepath.Join(top, "RPMS", r.Arch, r.FileName()), filepath.Join(dir, r.FileName())); err != nil {
			return err
		}
		return os.RemoveAll(top)
	})
	return filepath.Join(dir, r.FileName())
}

// DnfRepo builds a dnf repository of the packages with createrepo_c (once
// per set, in the cache) and returns its directory, for baseurl=file://DIR.
func DnfRepo(t testing.TB, rpms ...RPM) string {
	t.Helper()
	RequireDnf(t)
	var files []string
	for _, r := range rpms {
		files = append(files, BuildRPM(t, r))
	}
	keys := slices.Clone(files)
	slices.Sort(keys)
	return cached(t, "dnf-repo", key(keys), func(dir string) error {
		var index []indexEntry
		for i, f := range files {
			if err := copyFile(f, filepath.Join(dir, filepath.Base(f))); err != nil {
				return err
			}
			index = append(index, indexEntry{rpms[i].Name, rpms[i].EVR(), filepath.Base(f)})
		}
		if err := writeIndex(dir, index); err != nil {
			return err
		}
		return run("", nil, "createrepo_c", "-q", "--no-database", dir)
	})
}

// Where DnfRoot's files go in the root.
const dnfRepoFile = "etc/yum.repos.d/pkgtest.repo"

// DnfRoot returns a new dnf installroot (in t.TempDir) whose only
// repository is a local one of the packages: an empty rpm database in
// var/lib/rpm, etc/dnf/dnf.conf, a repository file in etc/yum.repos.d
// (gpgcheck off: the test packages are unsigned), etc/os-release of
// AlmaLinux 9.4, and var/run. Nothing is installed.
//
// dnf writes to the rpm database where the host's rpm puts it, relative to
// the root: Debian's rpm uses ~/.rpmdb (%_dbpath), so the root gets a
// link from there to var/lib/rpm, where RHEL-likes keep it and where the
// inventory readers look.
func DnfRoot(t testing.TB, rpms ...RPM) string {
	t.Helper()
	repo := DnfRepo(t, rpms...)
	root := t.TempDir()
	for _, d := range []string{"etc/yum.repos.d", "etc/dnf", "var/lib/rpm", "var/run", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, content := range map[string]string{
		dnfRepoFile:             fmt.Sprintf("[pkgtest]\nname=pkgtest\nbaseurl=file://%s\ngpgcheck=0\nrepo_gpgcheck=0\nenabled=1\nmetadata_expire=0\n", repo),
		"etc/dnf/dnf.conf":      "[main]\ngpgcheck=1\ninstallonly_limit=3\nclean_requirements_on_remove=True\nbest=True\nskip_if_unavailable=False\nkeepcache=0\n",
		"etc/os-release":        almaOSRelease,
		"etc/almalinux-release": "AlmaLinux release 9.4 (Seafoam Ocelot)\n",
	} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := run("", nil, "rpm", "--root", root, "--dbpath", "/var/lib/rpm", "--initdb"); err != nil {
		t.Fatalf("pkgtest: %v", err)
	}
	linkRPMDB(t, root)
	return root
}

// linkRPMDB links the host rpm's %_dbpath inside root to var/lib/rpm when
// they differ.
func linkRPMDB(t testing.TB, root string) {
	t.Helper()
	out, err := exec.Command("rpm", "--eval", "%{_dbpath}").Output()
	if err != nil {
		t.Fatalf("pkgtest: rpm --eval %%{_dbpath}: %v", err)
	}
	db := filepath.Clean("/" + strings.TrimSpace(string(out)))
	if db == "/var/lib/rpm" || db == "/" {
		return
	}
	link := filepath.Join(root, db)
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(filepath.Dir(link), filepath.Join(root, "var/lib/rpm"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(rel, link); err != nil {
		t.Fatal(err)
	}
}

const almaOSRelease = `NAME="AlmaLinux"
VERSION="9.4 (Seafoam Ocelot)"
ID="almalinux"
ID_LIKE="rhel centos fedora"
VERSION_ID="9.4"
PLATFORM_ID="platform:el9"
PRETTY_NAME="AlmaLinux 9.4 (Seafoam Ocelot)"
`
