package pkgmgr

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/patchwave/patchwave"
)

func TestParseRPMQueryTestdata(t *testing.T) {
	b, err := os.ReadFile("testdata/rpm/qa.txt")
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseRPMQuery(b)
	if err != nil {
		t.Fatal(err)
	}
	want := []patchwave.Package{
		{Name: "bash", Version: "5.1.8-9.el9", Arch: "x86_64", Source: "bash", SourceVersion: "5.1.8-9.el9"},
		{Name: "openssl-libs", Version: "1:3.0.7-27.el9", Arch: "x86_64", Source: "openssl", SourceVersion: "3.0.7-27.el9"},
		{Name: "kernel-core", Version: "5.14.0-427.13.1.el9_4", Arch: "x86_64", Source: "kernel", SourceVersion: "5.14.0-427.13.1.el9_4"},
		{Name: "kernel-core", Version: "5.14.0-362.8.1.el9_3", Arch: "x86_64", Source: "kernel", SourceVersion: "5.14.0-362.8.1.el9_3"},
		{Name: "tzdata", Version: "2024a-1.el9", Arch: "noarch", Source: "tzdata", SourceVersion: "2024a-1.el9"},
		{Name: "glibc", Version: "2.34-100.el9_4.2", Arch: "i686", Source: "glibc", SourceVersion: "2.34-100.el9_4.2"},
		{Name: "glibc", Version: "2.34-100.el9_4.2", Arch: "x86_64", Source: "glibc", SourceVersion: "2.34-100.el9_4.2"},
		{Name: "python3-dnf-plugins-core", Version: "4.3.0-13.el9", Arch: "noarch", Source: "dnf-plugins-core", SourceVersion: "4.3.0-13.el9"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%v\nwant\n%v", got, want)
	}
	if err := patchwave.ValidatePackages(got); err != nil {
		t.Error(err)
	}
}

func TestParseRPMQueryCases(t *testing.T) {
	tests := []struct {
		name, in string
		want     []patchwave.Package
		err      string
	}{
		{name: "empty", in: ""},
		{name: "blank lines, CRLF, no final newline", in: "\n\na\t0\t1\t2\tnoarch\ta-1-2.src.rpm\r\n\nb\t0\t1\t2\tnoarch\tb-1-2.src.rpm",
			want: []patchwave.Package{{Name: "a", Version: "1-2", Arch: "noarch", Source: "a", SourceVersion: "1-2"},
				{Name: "b", Version: "1-2", Arch: "noarch", Source: "b", SourceVersion: "1-2"}}},
		{name: "epoch (none)", in: "a\t(none)\t1\t2\tx86_64\ta-1-2.src.rpm\n",
			want: []patchwave.Package{{Name: "a", Version: "1-2", Arch: "x86_64", Source: "a", SourceVersion: "1-2"}}},
		{name: "epoch", in: "a\t12\t1\t2\tx86_64\ta-1-2.src.rpm\n",
			want: []patchwave.Package{{Name: "a", Version: "12:1-2", Arch: "x86_64", Source: "a", SourceVersion: "1-2"}}},
		{name: "no arch, no source", in: "a\t0\t1\t2\t(none)\t(none)\n", want: []patchwave.Package{{Name: "a", Version: "1-2"}}},
		{name: "no release", in: "a\t0\t1\t\tnoarch\t\n", want: []patchwave.Package{{Name: "a", Version: "1", Arch: "noarch"}}},
		{name: "nosrc", in: "a\t0\t1\t2\tnoarch\tb-c-1.0-2.fc40.nosrc.rpm\n",
			want: []patchwave.Package{{Name: "a", Version: "1-2", Arch: "noarch", Source: "b-c", SourceVersion: "1.0-2.fc40"}}},
		{name: "gpg-pubkey skipped", in: "gpg-pubkey\t0\tb86b3716\t61e69f29\t(none)\t(none)\n"},
		{name: "too few fields", in: "a\t0\t1\t2\tnoarch\n", err: "line 1: 5 tab-separated fields, want 6"},
		{name: "too many fields", in: "\na\t0\t1\t2\tnoarch\tx-1-2.src.rpm\textra\n", err: "line 2: 7 tab-separated"},
		{name: "spaces, not tabs", in: "a 0 1 2 noarch a-1-2.src.rpm\n", err: "line 1: 1 tab-separated"},
		{name: "bad epoch", in: "a\tone\t1\t2\tnoarch\ta-1-2.src.rpm\n", err: "epoch \"one\" is not a number"},
		{name: "negative epoch", in: "a\t-1\t1\t2\tnoarch\ta-1-2.src.rpm\n", err: "is not a number"},
		{name: "no name", in: "\t0\t1\t2\tnoarch\ta-1-2.src.rpm\n", err: "name and version are required"},
		{name: "no version", in: "a\t0\t\t2\tnoarch\ta-1-2.src.rpm\n", err: "name and version are required"},
		{name: "source not a src.rpm", in: "a\t0\t1\t2\tnoarch\ta-1-2.noarch.rpm\n", err: "is not NAME-VERSION-RELEASE.src.rpm"},
		{name: "source without release", in: "a\t0\t1\t2\tnoarch\ta-1.src.rpm\n", err: "is not NAME-VERSION-RELEASE"},
		{name: "source with empty parts", in: "a\t0\t1\t2\tnoarch\ta--2.src.rpm\n", err: "is not NAME-VERSION-RELEASE"},
		{name: "source with trailing dash", in: "a\t0\t1\t2\tnoarch\ta-1-.src.rpm\n", err: "is not NAME-VERSION-RELEASE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRPMQuery([]byte(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.HasPrefix(err.Error(), "parse rpm query line ") {
					t.Fatalf("error = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got  %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestParseRPMQueryBadInput(t *testing.T) {
	long := "a\t0\t1\t2\tnoarch\t" + strings.Repeat("x", 10<<20) + "\n"
	if _, err := ParseRPMQuery([]byte(long)); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("10 MB source name: error = %v", err)
	}
	got, err := ParseRPMQuery([]byte("a\xff\t0\t1\xfe\t2\tnoarch\ta-1-2.src.rpm\n"))
	if err != nil || len(got) != 1 || patchwave.ValidatePackages(got) == nil {
		t.Errorf("invalid UTF-8: got %q, %v, and it must not validate", got, err)
	}
}

func TestRPMInstalledCommand(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"usr/lib/sysimage/rpm/rpmdb.sqlite": ""})
	var gotName string
	var gotArgs []string
	run := func(ctx context.Context, name string, args ...string) ([]byte, error) {
		gotName, gotArgs = name, args
		return []byte("b\t0\t1\t1\tnoarch\tb-1-1.src.rpm\na\t0\t1\t1\tnoarch\ta-1-1.src.rpm\n"), nil
	}
	ps, err := RPMInstalled(context.Background(), root, run)
	if err != nil {
		t.Fatal(err)
	}
	wantArgs := []string{"--root", root, "--dbpath", "/usr/lib/sysimage/rpm", "-qa", "--queryformat", RPMQueryFormat}
	if gotName != "rpm" || !slices.Equal(gotArgs, wantArgs) {
		t.Errorf("ran %s %q, want rpm %q", gotName, gotArgs, wantArgs)
	}
	if len(ps) != 2 || ps[0].Name != "a" {
		t.Errorf("packages %v, want a and b sorted", ps)
	}

	run = func(ctx context.Context, name string, args ...string) ([]byte, error) {
		return nil, fmt.Errorf("rpm: exit status 1: error: cannot open Packages database")
	}
	if _, err := RPMInstalled(context.Background(), root, run); err == nil || !strings.Contains(err.Error(), "cannot open Packages") {
		t.Errorf("error = %v", err)
	}
	run = func(ctx context.Context, name string, args ...string) ([]byte, error) {
		return []byte("garbage\n"), nil
	}
	if _, err := RPMInstalled(context.Background(), root, run); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("error = %v", err)
	}
}

func TestRPMDBPath(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		links map[string]string // link → target
		want  string
	}{
		{"none", nil, nil, ""},
		{"empty dir, as Debian's rpm package leaves it", map[string]string{"var/lib/rpm/": ""}, nil, ""},
		{"sqlite in var/lib", map[string]string{"var/lib/rpm/rpmdb.sqlite": ""}, nil, "/var/lib/rpm"},
		{"bdb in var/lib", map[string]string{"var/lib/rpm/Packages": ""}, nil, "/var/lib/rpm"},
		{"ndb in sysimage", map[string]string{"usr/lib/sysimage/rpm/Packages.db": ""}, nil, "/usr/lib/sysimage/rpm"},
		{"sysimage first", map[string]string{"usr/lib/sysimage/rpm/rpmdb.sqlite": "", "var/lib/rpm/rpmdb.sqlite": ""}, nil, "/usr/lib/sysimage/rpm"},
		{"real directory before a link", map[string]string{"var/lib/rpm/rpmdb.sqlite": "", "usr/lib/sysimage/": ""},
			map[string]string{"usr/lib/sysimage/rpm": "../../../var/lib/rpm"}, "/var/lib/rpm"},
		{"only a link", map[string]string{"usr/lib/sysimage/rpm/rpmdb.sqlite": "", "var/lib/": ""},
			map[string]string{"var/lib/rpm": "../../usr/lib/sysimage/rpm"}, "/usr/lib/sysimage/rpm"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeFiles(t, root, tt.files)
			for link, target := range tt.links {
				if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
					t.Fatal(err)
				}
			}
			if got := rpmDBPath(root); got != tt.want {
				t.Errorf("rpmDBPath = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestRPMInstalledRealDatabase builds three tiny packages with rpmbuild,
// records them in an rpm database inside a temporary root, and reads them
// back through Installed and the real rpm command.
func TestRPMInstalledRealDatabase(t *testing.T) {
	for _, cmd := range []string{"rpm", "rpmbuild"} {
		if _, err := exec.LookPath(cmd); err != nil {
			t.Skipf("%s not installed (apt-get install rpm): %v", cmd, err)
		}
	}
	dir := t.TempDir()
	topdir, root := filepath.Join(dir, "build"), filepath.Join(dir, "root")
	env := append(os.Environ(), "HOME="+dir, "LC_ALL=C")
	runCmd := func(name string, args ...string) {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Env, cmd.Dir = env, dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %q: %v\n%s", name, args, err, out)
		}
	}
	specs := map[string]string{
		"demo-tool-1.0.spec": spec("demo-tool", "", "1.0", "1", ""),
		"demo-tool-1.1.spec": spec("demo-tool", "", "1.1", "1", ""),
		"demo-lib.spec":      spec("demo-lib", "2", "3.1.4", "7.el9", "demo-lib-data"),
	}
	for name, text := range specs {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		runCmd("rpmbuild", "--quiet", "--define", "_topdir "+topdir, "-bb", p)
	}
	rpms, err := filepath.Glob(filepath.Join(topdir, "RPMS", "noarch", "*.rpm"))
	if err != nil || len(rpms) != 4 {
		t.Fatalf("built %q, %v; want 4 packages", rpms, err)
	}
	rpmArgs := []string{"--root", root, "--dbpath", "/var/lib/rpm"}
	runCmd("rpm", append(rpmArgs, "--initdb")...)
	// Two versions of one package side by side, as with kernels: install
	// them in separate transactions.
	for _, batch := range [][]string{
		{"demo-tool-1.0-1.noarch.rpm", "demo-lib-3.1.4-7.el9.noarch.rpm", "demo-lib-data-3.1.4-7.el9.noarch.rpm"},
		{"demo-tool-1.1-1.noarch.rpm"},
	} {
		args := append(slices.Clone(rpmArgs), "-i", "--nodeps", "--noscripts", "--justdb")
		for _, f := range batch {
			args = append(args, filepath.Join(topdir, "RPMS", "noarch", f))
		}
		runCmd("rpm", args...)
	}

	got, format, err := Installed(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	want := []patchwave.Package{
		{Name: "demo-lib", Version: "2:3.1.4-7.el9", Arch: "noarch", Source: "demo-lib", SourceVersion: "3.1.4-7.el9"},
		{Name: "demo-lib-data", Version: "2:3.1.4-7.el9", Arch: "noarch", Source: "demo-lib", SourceVersion: "3.1.4-7.el9"},
		{Name: "demo-tool", Version: "1.0-1", Arch: "noarch", Source: "demo-tool", SourceVersion: "1.0-1"},
		{Name: "demo-tool", Version: "1.1-1", Arch: "noarch", Source: "demo-tool", SourceVersion: "1.1-1"},
	}
	if format != FormatRPM || !slices.Equal(got, want) {
		t.Errorf("got %q\n%v\nwant\n%v", format, got, want)
	}

	// A relative root works too.
	t.Chdir(dir)
	if got, err := RPMInstalled(context.Background(), "root", nil); err != nil || !slices.Equal(got, want) {
		t.Errorf("relative root: %v, %v", got, err)
	}
}

// spec returns a minimal rpm spec file: a noarch package with no files and,
// if sub is set, a subpackage of that name.
func spec(name, epoch, version, release, sub string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Name: %s\nVersion: %s\nRelease: %s\n", name, version, release)
	if epoch != "" {
		fmt.Fprintf(&b, "Epoch: %s\n", epoch)
	}
	b.WriteString("Summary: Patchwave test package\nLicense: MIT\nBuildArch: noarch\n%description\nA test package.\n")
	if sub != "" {
		fmt.Fprintf(&b, "%%package -n %s\nSummary: Subpackage\n%%description -n %s\nA subpackage.\n%%files -n %s\n", sub, sub, sub)
	}
	b.WriteString("%files\n")
	return b.String()
}

func FuzzParseRPMQuery(f *testing.F) {
	addSeeds(f, "testdata/rpm")
	f.Add([]byte("a\t1\t2\t3\tx86_64\ta-2-3.src.rpm\n"))
	f.Add([]byte("a\t(none)\t2\t(none)\t(none)\t(none)\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ps, err := ParseRPMQuery(b)
		if err != nil {
			if ps != nil || !strings.HasPrefix(err.Error(), "parse rpm query line ") {
				t.Errorf("error %q (with %d packages)", err, len(ps))
			}
			return
		}
		for _, p := range ps {
			if p.Name == "" || p.Version == "" || p.Name == "gpg-pubkey" {
				t.Errorf("bad package %+v", p)
			}
		}
	})
}
