package agent_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patchwave/patchwave"
)

// fakeRoot is a root directory that looks like a Debian 12 system to the
// agent: os-release, hostname and a dpkg status file.
type fakeRoot struct {
	dir string
}

const osRelease = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
`

func newFakeRoot(tb testing.TB, hostname string, pkgs []patchwave.Package) *fakeRoot {
	tb.Helper()
	r := &fakeRoot{dir: tb.TempDir()}
	r.write(tb, "etc/os-release", osRelease)
	r.setHostname(tb, hostname)
	r.setPackages(tb, pkgs)
	return r
}

func (r *fakeRoot) write(tb testing.TB, name, content string) {
	tb.Helper()
	p := filepath.Join(r.dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
}

func (r *fakeRoot) setHostname(tb testing.TB, name string) {
	r.write(tb, "etc/hostname", name+"\n")
}

// setPackages writes pkgs as a dpkg status file, with a package in another
// state (removed, config files left) that must not be reported.
func (r *fakeRoot) setPackages(tb testing.TB, pkgs []patchwave.Package) {
	r.write(tb, "var/lib/dpkg/status", dpkgStatus(pkgs))
}

func dpkgStatus(pkgs []patchwave.Package) string {
	var b strings.Builder
	for _, p := range pkgs {
		fmt.Fprintf(&b, "Package: %s\nStatus: install ok installed\nPriority: optional\nSection: misc\n", p.Name)
		fmt.Fprintf(&b, "Installed-Size: 123\nMaintainer: Debian <debian@example.org>\nArchitecture: %s\n", p.Arch)
		switch {
		case p.Source != "" && p.SourceVersion != "":
			fmt.Fprintf(&b, "Source: %s (%s)\n", p.Source, p.SourceVersion)
		case p.Source != "":
			fmt.Fprintf(&b, "Source: %s\n", p.Source)
		}
		fmt.Fprintf(&b, "Version: %s\nDescription: test package %s\n a longer description\n .\n of it\n\n", p.Version, p.Name)
	}
	b.WriteString("Package: gone\nStatus: deinstall ok config-files\nArchitecture: amd64\nVersion: 1.0-1\nDescription: removed\n\n")
	return b.String()
}

// basePackages is a small, realistic package list.
func basePackages() []patchwave.Package {
	return []patchwave.Package{
		{Name: "base-files", Version: "12.4+deb12u5", Arch: "amd64"},
		{Name: "bash", Version: "5.2.15-2+b2", Arch: "amd64"},
		{Name: "libc6", Version: "2.36-9+deb12u4", Arch: "amd64", Source: "glibc"},
		{Name: "libssl3", Version: "3.0.11-1~deb12u2", Arch: "amd64", Source: "openssl"},
		{Name: "openssl", Version: "3.0.11-1~deb12u2", Arch: "amd64"},
		{Name: "tzdata", Version: "2024a-0+deb12u1", Arch: "all"},
		{Name: "zlib1g", Version: "1:1.2.13.dfsg-1", Arch: "amd64", Source: "zlib"},
		{Name: "libgcc-s1", Version: "12.2.0-14", Arch: "amd64", Source: "gcc-12"},
		{Name: "libpython3.11-minimal", Version: "3.11.2-6", Arch: "amd64", Source: "python3.11"},
		{Name: "perl-base", Version: "5.36.0-7+deb12u1", Arch: "amd64", Source: "perl"},
	}
}

// manyPackages makes n distinct packages.
func manyPackages(n int) []patchwave.Package {
	ps := make([]patchwave.Package, n)
	for i := range ps {
		ps[i] = patchwave.Package{Name: fmt.Sprintf("pkg-%05d", i), Version: fmt.Sprintf("1:%d.%d-%d+deb12u1", i%7, i%13, i%5),
			Arch: []string{"amd64", "all"}[i%2], Source: fmt.Sprintf("src-%04d", i/3)}
	}
	return ps
}
