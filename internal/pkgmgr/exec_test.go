package pkgmgr

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/version"
)

var update = flag.Bool("update", false, "rewrite testdata/commands.golden")

// TestCommandsGolden pins every command line the executors build, on the
// running system and in a root.
func TestCommandsGolden(t *testing.T) {
	prod := Options{Root: "/", LockWait: 90 * time.Second}
	root := Options{Root: "/srv/roots/web-01", LockWait: 1500 * time.Millisecond}
	rootInfo := dnfRoot{config: true, releasever: "9"}
	ts := []Target{{Name: "openssl", Version: "3.0.15-1~deb12u1"}, {Name: "libssl3", Arch: "amd64", Version: "3.0.15-1~deb12u1"}}
	rts := []Target{{Name: "openssl-libs", Arch: "x86_64", Version: "1:3.0.7-27.el9"}, {Name: "bash", Version: "5.1.8-9.el9"}}
	cases := []struct {
		name string
		c    command
	}{
		{"apt update /", aptUpdateCommand(prod)},
		{"apt update root", aptUpdateCommand(root)},
		{"apt install /", aptInstallCommand(prod, ts, false)},
		{"apt install / allowing downgrades", aptInstallCommand(prod, ts, true)},
		{"apt install root", aptInstallCommand(root, ts, false)},
		{"apt madison /", aptMadisonCommand(prod, []string{"openssl", "libssl3"})},
		{"apt madison root", aptMadisonCommand(root, []string{"openssl"})},
		{"dnf makecache /", dnfRefreshCommand(prod, dnfRoot{})},
		{"dnf makecache root", dnfRefreshCommand(root, rootInfo)},
		{"dnf makecache root without dnf.conf or os-release", dnfRefreshCommand(root, dnfRoot{})},
		{"dnf install /", dnfInstallCommand(prod, dnfRoot{}, "install", rts)},
		{"dnf downgrade /", dnfInstallCommand(prod, dnfRoot{}, "downgrade", rts)},
		{"dnf install root", dnfInstallCommand(root, rootInfo, "install", rts)},
		{"dnf repoquery /", dnfRepoqueryCommand(prod, dnfRoot{}, []string{"openssl-libs", "bash"})},
		{"dnf repoquery root", dnfRepoqueryCommand(root, rootInfo, []string{"bash"})},
		{"needs-restarting", needsRestartingCommand()},
	}
	var b strings.Builder
	for _, c := range cases {
		fmt.Fprintf(&b, "== %s\nenv %s\n%s", c.name, strings.Join(c.c.Env, " "), c.c.Args[0])
		for _, a := range c.c.Args[1:] {
			if a == "-o" || strings.HasPrefix(a, "--") {
				b.WriteString(" \\\n   ")
			}
			b.WriteString(" " + a)
		}
		b.WriteString("\n")
	}
	path, content := aptRootConfig(root.Root)
	fmt.Fprintf(&b, "== apt root configuration %s\n%s", path, content)
	golden := filepath.Join("testdata", "commands.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("command lines differ from %s (go test -update rewrites it):\n%s", golden, lineDiff(string(want), got))
	}
}

// lineDiff shows the first differing lines.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\nwant %q\ngot  %q", i+1, wl, gl)
		}
	}
	return ""
}

func TestProductionCommandsHaveNoRootOptions(t *testing.T) {
	prod := Options{Root: "/", LockWait: time.Minute}
	for _, c := range []command{aptUpdateCommand(prod), aptInstallCommand(prod, demo("1"), true), aptMadisonCommand(prod, []string{"demo"}),
		dnfRefreshCommand(prod, dnfRoot{}), dnfInstallCommand(prod, dnfRoot{}, "install", demo("1-1"))} {
		line := strings.Join(append(c.Args, c.Env...), " ")
		for _, bad := range []string{"Dir=", "--root", "--installroot", "NoLocking", "Sandbox", "APT_CONFIG", "--noplugins", "reposdir"} {
			if strings.Contains(line, bad) {
				t.Errorf("production command has %q: %s", bad, line)
			}
		}
	}
}

func TestNew(t *testing.T) {
	dir := t.TempDir()
	deb := filepath.Join(dir, "deb")
	rpmRoot := filepath.Join(dir, "rpm")
	empty := filepath.Join(dir, "empty")
	for _, d := range []string{deb + "/var/lib/dpkg", rpmRoot + "/var/lib/rpm", empty} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(deb+"/var/lib/dpkg/status", nil, 0o644)
	os.WriteFile(rpmRoot+"/var/lib/rpm/rpmdb.sqlite", nil, 0o644)
	os.MkdirAll(rpmRoot+"/etc", 0o755)
	os.WriteFile(rpmRoot+"/etc/os-release", []byte("ID=almalinux\nVERSION_ID=\"9.4\"\n"), 0o644)
	all := func(string) (string, error) { return "/usr/bin/x", nil }
	none := func(string) (string, error) { return "", errors.New("not found") }
	for _, tc := range []struct {
		root string
		look func(string) (string, error)
		kind string
		err  string
	}{
		{deb, all, "apt", ""},
		{rpmRoot, all, "dnf", ""},
		{deb, none, "", "it has a dpkg database but apt-get is not installed"},
		{rpmRoot, none, "", "it has an rpm database but dnf is not installed"},
		{empty, all, "", "it has neither var/lib/dpkg/status nor an rpm database"},
	} {
		ex, err := newExecutor(Options{Root: tc.root}, tc.look, nil)
		if tc.err != "" {
			if !errors.Is(err, ErrNoPackageManager) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("New(%s) = %v, want %q", tc.root, err, tc.err)
			}
			continue
		}
		if err != nil || ex.Kind() != tc.kind {
			t.Errorf("New(%s) = %v, %v; want %s", tc.root, ex, err, tc.kind)
			continue
		}
		if d, ok := ex.(*dnfExecutor); ok && (d.root != dnfRoot{config: false, releasever: "9"}) {
			t.Errorf("dnf root info = %+v", d.root)
		}
	}
	ex, err := newExecutor(Options{Root: deb}, all, nil)
	if err != nil {
		t.Fatal(err)
	}
	o := ex.(*aptExecutor).opts
	if o.Timeout != DefaultTimeout || o.OutputLimit != DefaultOutputLimit || o.LockWait != DefaultLockWait {
		t.Errorf("defaults = %+v", o)
	}
}

func TestCheckTargets(t *testing.T) {
	for _, tc := range []struct {
		ts []Target
		ok bool
	}{
		{[]Target{{Name: "libc6", Arch: "amd64", Version: "2.36-9+deb12u9"}}, true},
		{[]Target{{Name: "openssl-libs", Arch: "x86_64", Version: "1:3.0.7-27.el9"}, {Name: "g++", Version: "4:12.2.0-3"}}, true},
		{[]Target{{Name: "kernel", Version: "5.14.0-427.el9^post1~rc2"}}, true},
		{nil, false},
		{[]Target{{Name: "demo"}}, false},
		{[]Target{{Name: "", Version: "1"}}, false},
		{[]Target{{Name: "-oDir=/", Version: "1"}}, false},
		{[]Target{{Name: "demo", Version: "-1"}}, false},
		{[]Target{{Name: "demo", Version: "1 2"}}, false},
		{[]Target{{Name: "demo", Version: "1;rm"}}, false},
		{[]Target{{Name: "de=mo", Version: "1"}}, false},
		{[]Target{{Name: "demo:amd64", Version: "1"}}, false},
		{[]Target{{Name: "demo", Arch: "x.y", Version: "1"}}, false},
		{[]Target{{Name: "demo", Version: "1"}, {Name: "demo", Version: "2"}}, false},
	} {
		if err := checkTargets(tc.ts); (err == nil) != tc.ok {
			t.Errorf("checkTargets(%v) = %v, want ok %v", tc.ts, err, tc.ok)
		}
	}
}

func TestPlanAndDiff(t *testing.T) {
	before := []patchwave.Package{
		{Name: "a", Arch: "amd64", Version: "1.0"},
		{Name: "b", Arch: "all", Version: "2.0"},
		{Name: "kernel-core", Arch: "x86_64", Version: "5.14.0-362.el9"},
		{Name: "kernel-core", Arch: "x86_64", Version: "5.14.0-427.el9"},
	}
	m := versionsOf(before, version.CompareRPM)
	ts := []Target{{Name: "a", Version: "1.1"}, {Name: "b", Arch: "all", Version: "1.5"}, {Name: "c", Version: "1"},
		{Name: "kernel-core", Version: "5.14.0-362.el9"}, {Name: "a", Arch: "i386", Version: "0:1.0"}}
	if _, _, err := plan(ts, m, version.CompareRPM, false); !errors.Is(err, ErrDowngrade) || !strings.Contains(err.Error(), "b:all=1.5 (installed 2.0)") {
		t.Errorf("plan without downgrades: %v", err)
	}
	up, down, err := plan(ts, m, version.CompareRPM, true)
	if err != nil {
		t.Fatal(err)
	}
	if want := []Target{ts[0], ts[2], ts[4]}; !slices.Equal(up, want) {
		t.Errorf("up = %v, want %v", up, want)
	}
	if want := []Target{ts[1]}; !slices.Equal(down, want) {
		t.Errorf("down = %v, want %v", down, want)
	}
	after := []patchwave.Package{
		{Name: "a", Arch: "amd64", Version: "1.1"},
		{Name: "c", Arch: "all", Version: "1"},
		{Name: "kernel-core", Arch: "x86_64", Version: "5.14.0-427.el9"},
		{Name: "kernel-core", Arch: "x86_64", Version: "5.14.0-503.el9"},
		{Name: "kernel-core", Arch: "x86_64", Version: "5.14.0-362.el9"},
	}
	want := []Change{
		{Name: "a", Arch: "amd64", Before: "1.0", After: "1.1"},
		{Name: "b", Arch: "all", Before: "2.0"},
		{Name: "c", Arch: "all", After: "1"},
		{Name: "kernel-core", Arch: "x86_64", Before: "5.14.0-362.el9, 5.14.0-427.el9", After: "5.14.0-362.el9, 5.14.0-427.el9, 5.14.0-503.el9"},
	}
	if got := diff(before, after, version.CompareRPM); !slices.Equal(got, want) {
		t.Errorf("diff =\n%+v\nwant\n%+v", got, want)
	}
	bad := mismatches([]Target{{Name: "a", Version: "1.1"}, {Name: "b", Version: "1.5"}, {Name: "c", Arch: "all", Version: "2"}}, after, version.CompareRPM)
	if want := []string{"b=1.5 is not installed", "c:all=2 is at 1"}; !slices.Equal(bad, want) {
		t.Errorf("mismatches = %q, want %q", bad, want)
	}
}

func TestRPMSameVersion(t *testing.T) {
	for _, tc := range []struct {
		have, want string
		same       bool
	}{
		{"1.2-1", "1.2-1", true},
		{"1.2-1", "0:1.2-1", true},
		{"1.2-1", "1.2", true},
		{"1:1.2-1", "1:1.2", true},
		{"1:1.2-1", "1.2", false},
		{"1.2-1", "1.2-2", false},
		{"1.20-1", "1.2", false},
	} {
		if got := rpmSameVersion(tc.have, tc.want); got != tc.same {
			t.Errorf("rpmSameVersion(%q, %q) = %v", tc.have, tc.want, got)
		}
	}
}

func TestCapWriter(t *testing.T) {
	for _, tc := range []struct {
		limit  int
		writes []string
		want   string
	}{
		{10, []string{"abc", "def"}, "abcdef"},
		{10, []string{"0123456789"}, "0123456789"},
		{10, []string{"0123456789x"}, "01234\n[… 1 bytes cut …]\n6789x"},
		{10, []string{"01", "23", "45", "67", "89", "ab", "cd"}, "01234\n[… 4 bytes cut …]\n9abcd"},
		{6, []string{"head", strings.Repeat("-", 100), "tail"}, "hea\n[… 102 bytes cut …]\nail"},
	} {
		w := newCapWriter(tc.limit)
		for _, s := range tc.writes {
			if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
				t.Fatalf("Write = %d, %v", n, err)
			}
		}
		if got := w.String(); got != tc.want {
			t.Errorf("limit %d, writes %q: got %q, want %q", tc.limit, tc.writes, got, tc.want)
		}
	}
}

func TestErrorLines(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Reading package lists...\nE: Version '9.9' for 'demo' was not found\n", "E: Version '9.9' for 'demo' was not found"},
		{"Error: \n Problem: conflicting requests\n  - nothing provides /bin/sh needed by broken-1.0-1.noarch\n(try to add '--skip-broken')\n",
			"Problem: conflicting requests; - nothing provides /bin/sh needed by broken-1.0-1.noarch"},
		{"dpkg: error processing package broken (--configure):\n installed broken package post-installation script subprocess returned error exit status 1\nErrors were encountered while processing:\n broken\nE: Sub-process /usr/bin/dpkg returned an error code (1)\n",
			"dpkg: error processing package broken (--configure):; installed broken package post-installation script subprocess returned error exit status 1; E: Sub-process /usr/bin/dpkg returned an error code (1)"},
		{"No match for argument: demo-9.9-1\nError: Unable to find a match: demo-9.9-1\n", "No match for argument: demo-9.9-1; Error: Unable to find a match: demo-9.9-1"},
		{"all fine\n", ""},
	} {
		if got := errorLines([]byte(tc.in)); got != tc.want {
			t.Errorf("errorLines(%q) =\n%q\nwant\n%q", tc.in, got, tc.want)
		}
	}
}

func TestParseMadison(t *testing.T) {
	in := `      demo |        1.2 | file:/repo ./ Packages
   openssl | 3.0.15-1~deb12u1 | http://deb.debian.org/debian-security bookworm-security/main amd64 Packages
   openssl | 3.0.15-1~deb12u1 | http://deb.debian.org/debian-security bookworm-security/main Sources
W: some warning
      bash | 5.2.15-2+b7 | http://deb.debian.org/debian bookworm/main i386 Packages
`
	want := []MadisonEntry{
		{Name: "demo", Version: "1.2", Source: "file:/repo ./ Packages"},
		{Name: "openssl", Version: "3.0.15-1~deb12u1", Arch: "amd64", Source: "http://deb.debian.org/debian-security bookworm-security/main amd64 Packages"},
		{Name: "bash", Version: "5.2.15-2+b7", Arch: "i386", Source: "http://deb.debian.org/debian bookworm/main i386 Packages"},
	}
	if got := ParseMadison([]byte(in)); !slices.Equal(got, want) {
		t.Errorf("ParseMadison =\n%+v\nwant\n%+v", got, want)
	}
}

func TestParseRepoquery(t *testing.T) {
	in := "demo\t0\t1.0\t1\tnoarch\tpkgtest\ndemo\t1\t0.9\t1\tnoarch\tpkgtest\ndemo\t0\t1.0\t1\tnoarch\t@System\nLast metadata expiration check\nbad\tx\t1\t1\tnoarch\tr\n"
	want := []patchwave.Package{{Name: "demo", Version: "1.0-1", Arch: "noarch", Source: "pkgtest"}, {Name: "demo", Version: "1:0.9-1", Arch: "noarch", Source: "pkgtest"}}
	if got := ParseRepoquery([]byte(in)); !slices.Equal(got, want) {
		t.Errorf("ParseRepoquery = %+v, want %+v", got, want)
	}
}

func TestParseNeedsRestarting(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Core libraries or services have been updated since boot-up:\n  * kernel\n  * glibc\n\nReboot is required to fully utilize these updates.\nMore information: https://access.redhat.com/solutions/27943\n",
			"updated since boot: kernel, glibc"},
		{"Reboot should not be necessary.\n", "Reboot should not be necessary."},
		{"", "reboot required"},
	} {
		if got := ParseNeedsRestarting([]byte(tc.in)); got != tc.want {
			t.Errorf("ParseNeedsRestarting(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestNewerKernel(t *testing.T) {
	ps := []patchwave.Package{
		{Name: "kernel-core", Arch: "x86_64", Version: "5.14.0-362.8.1.el9_3"},
		{Name: "kernel-core", Arch: "x86_64", Version: "5.14.0-427.13.1.el9_4"},
		{Name: "kernel-headers", Arch: "x86_64", Version: "5.14.0-503.el9"},
		{Name: "bash", Arch: "x86_64", Version: "5.1.8-9.el9"},
	}
	for _, tc := range []struct {
		running string
		want    bool
	}{
		{"5.14.0-427.13.1.el9_4.x86_64", false},
		{"5.14.0-427.13.1.el9_4.x86_64+debug", false},
		{"5.14.0-362.8.1.el9_3.x86_64", true},
		{"6.1.0-30-amd64", false},
	} {
		got, why, err := NewerKernel(ps, tc.running)
		if err != nil || got != tc.want {
			t.Errorf("NewerKernel(%q) = %v, %q, %v", tc.running, got, why, err)
		}
		if got && why != "kernel-core 5.14.0-427.13.1.el9_4 is installed but kernel "+tc.running+" is running" {
			t.Errorf("why = %q", why)
		}
	}
	if got, _, _ := NewerKernel(ps[3:], "5.14.0-1.el9.x86_64"); got {
		t.Error("reboot required without a kernel package")
	}
}

// fakeRunner answers commands from a table, by the command's verb.
type fakeRunner struct {
	calls [][]string
	reply func(args []string) (string, int, error)
}

func (f *fakeRunner) run(ctx context.Context, c command, out io.Writer) (int, error) {
	f.calls = append(f.calls, c.Args)
	s, code, err := f.reply(c.Args)
	io.WriteString(out, s)
	return code, err
}

func TestDnfNeedsRestarting(t *testing.T) {
	look := func(name string) (string, error) { return "/usr/bin/" + name, nil }
	for _, tc := range []struct {
		out  string
		code int
		want bool
		why  string
		err  bool
	}{
		{"Core libraries or services have been updated since boot-up:\n  * kernel\n\nReboot is required\n", 1, true, "needs-restarting -r: updated since boot: kernel", false},
		{"No core libraries or services have been updated since boot-up.\nReboot should not be necessary.\n", 0, false, "", false},
		{"Traceback …\n", 2, false, "", true},
	} {
		f := &fakeRunner{reply: func([]string) (string, int, error) { return tc.out, tc.code, nil }}
		opts, _ := Options{Root: "/"}.withDefaults()
		e := newDnf(opts, f.run, look)
		got, why, err := e.RebootRequired(t.Context())
		if got != tc.want || why != tc.why || (err != nil) != tc.err {
			t.Errorf("exit %d: %v, %q, %v", tc.code, got, why, err)
		}
		if len(f.calls) != 1 || !slices.Equal(f.calls[0], []string{"needs-restarting", "-r"}) {
			t.Errorf("calls = %q", f.calls)
		}
	}
}

func TestOpTimeoutAndCancel(t *testing.T) {
	slow := func(ctx context.Context, c command, out io.Writer) (int, error) {
		<-ctx.Done()
		return -1, ctx.Err()
	}
	b := &base{opts: Options{Timeout: 10 * time.Millisecond, OutputLimit: 100}, run: slow}
	op := b.begin()
	_, err := op.exec(t.Context(), command{Args: []string{"apt-get", "-q", "update"}}, nil)
	if !errors.Is(err, context.DeadlineExceeded) || err.Error() != "apt-get update: timed out after 10ms: context deadline exceeded" {
		t.Errorf("timeout: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = op.exec(ctx, command{Args: []string{"dnf", "install"}}, nil)
	if !errors.Is(err, context.Canceled) || strings.Contains(err.Error(), "timed out") {
		t.Errorf("cancel: %v", err)
	}
	oc := op.finish()
	if len(oc.Commands) != 2 || oc.ExitCode != -1 || !strings.Contains(oc.Output, "$ apt-get -q update\n[apt-get update: timed out") {
		t.Errorf("Outcome = %+v", oc)
	}
}

func TestRunCommand(t *testing.T) {
	var out bytes.Buffer
	code, err := runCommand(t.Context(), command{Args: []string{"sh", "-c", "echo out; echo err >&2; exit 3"}}, &out)
	if code != 3 || err != nil || out.String() != "out\nerr\n" {
		t.Errorf("runCommand = %d, %v, %q", code, err, out.String())
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	// The child of the shell must go too: the whole process group is stopped.
	code, err = runCommand(ctx, command{Args: []string{"sh", "-c", "sleep 30 & wait"}}, io.Discard)
	if code != -1 || !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Errorf("runCommand after timeout = %d, %v after %v", code, err, time.Since(start))
	}
	if _, err := runCommand(t.Context(), command{Args: []string{"/nonexistent/apt-get"}}, io.Discard); err == nil {
		t.Error("runCommand of a missing program succeeded")
	}
}
