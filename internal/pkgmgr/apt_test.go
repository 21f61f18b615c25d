package pkgmgr

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patchwave/patchwave/internal/pkgmgr/pkgtest"
)

// These tests run the real apt-get, apt-cache and dpkg inside roots that
// pkgtest builds; they skip when the tools are missing.

var demoDebs = pkgtest.DemoDebs("1.0", "1.1", "1.2")

// aptRoot returns a root with the demo repository, refreshed, and its
// executor.
func aptRoot(t testing.TB, opts Options, debs ...Deb) (string, Executor) {
	t.Helper()
	root := pkgtest.AptRoot(t, debs...)
	opts.Root = root
	ex, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if ex.Kind() != "apt" {
		t.Fatalf("Kind = %q, want apt", ex.Kind())
	}
	if oc, err := ex.Refresh(t.Context()); err != nil {
		t.Fatalf("Refresh: %v\n%s", err, oc.Output)
	}
	return root, ex
}

// Deb is a shorter name in these tests.
type Deb = pkgtest.Deb

func demo(v string) []Target { return []Target{{Name: "demo", Version: v}} }

func mustInstall(t *testing.T, ex Executor, ts []Target, down bool) Outcome {
	t.Helper()
	oc, err := ex.Install(t.Context(), ts, down)
	if err != nil {
		t.Fatalf("Install %v: %v\n%s", ts, err, oc.Output)
	}
	return oc
}

func wantChanges(t *testing.T, oc Outcome, want ...Change) {
	t.Helper()
	if !slices.Equal(oc.Changes, want) {
		t.Errorf("Changes = %+v, want %+v", oc.Changes, want)
	}
}

func TestAptInstallUpgradeDowngrade(t *testing.T) {
	t.Parallel()
	root, ex := aptRoot(t, Options{}, demoDebs...)
	ctx := t.Context()

	oc := mustInstall(t, ex, demo("1.0"), false)
	wantChanges(t, oc, Change{Name: "demo", Arch: "all", Before: "", After: "1.0"})
	if got := pkgtest.ReadFile(t, root, "usr/share/demo/version"); got != "1.0\n" {
		t.Errorf("payload = %q, want 1.0", got)
	}
	if oc.ExitCode != 0 || oc.Duration <= 0 || !strings.Contains(oc.Output, "Setting up demo (1.0)") {
		t.Errorf("ExitCode %d, Duration %v, Output:\n%s", oc.ExitCode, oc.Duration, oc.Output)
	}
	if n := len(oc.Commands); n != 2 || oc.Commands[0][0] != "apt-cache" || oc.Commands[1][0] != "apt-get" {
		t.Errorf("Commands = %q, want apt-cache madison then apt-get install", oc.Commands)
	}
	if last := oc.Commands[len(oc.Commands)-1]; last[len(last)-1] != "demo=1.0" || slices.Contains(last, "--allow-downgrades") {
		t.Errorf("install command = %q", last)
	}

	// 1.2 is in the repository too: the target is 1.1, not the latest.
	oc = mustInstall(t, ex, demo("1.1"), false)
	wantChanges(t, oc, Change{Name: "demo", Arch: "all", Before: "1.0", After: "1.1"})
	if got := pkgtest.ReadFile(t, root, "usr/share/demo/version"); got != "1.1\n" {
		t.Errorf("payload = %q, want 1.1", got)
	}

	// A downgrade is refused unless allowed, before anything runs.
	oc, err := ex.Install(ctx, demo("1.0"), false)
	if !errors.Is(err, ErrDowngrade) || !strings.Contains(err.Error(), "demo=1.0 (installed 1.1)") {
		t.Errorf("downgrade without permission: err = %v, want ErrDowngrade naming demo", err)
	}
	if len(oc.Commands) != 0 || len(oc.Changes) != 0 {
		t.Errorf("refused downgrade ran %q, changed %+v", oc.Commands, oc.Changes)
	}

	// Rollback.
	oc = mustInstall(t, ex, demo("1.0"), true)
	wantChanges(t, oc, Change{Name: "demo", Arch: "all", Before: "1.1", After: "1.0"})
	if last := oc.Commands[len(oc.Commands)-1]; !slices.Contains(last, "--allow-downgrades") {
		t.Errorf("rollback command = %q, want --allow-downgrades", last)
	}

	// Already there: nothing runs.
	oc = mustInstall(t, ex, []Target{{Name: "demo", Arch: "all", Version: "1.0"}}, false)
	if len(oc.Commands) != 0 || len(oc.Changes) != 0 {
		t.Errorf("no-op install ran %q, changed %+v", oc.Commands, oc.Changes)
	}

	ps, err := ex.Installed(ctx)
	if err != nil || len(ps) != 1 || ps[0].Name != "demo" || ps[0].Version != "1.0" {
		t.Errorf("Installed = %+v, %v", ps, err)
	}
}

func TestAptAvailable(t *testing.T) {
	t.Parallel()
	_, ex := aptRoot(t, Options{}, demoDebs...)
	for _, tc := range []struct {
		t    Target
		want bool
	}{
		{Target{Name: "demo", Version: "1.1"}, true},
		{Target{Name: "demo", Arch: "all", Version: "1.2"}, true},
		{Target{Name: "demo", Version: "0:1.0"}, true},
		{Target{Name: "demo", Version: "1.3"}, false},
		{Target{Name: "nosuch", Version: "1.0"}, false},
	} {
		got, err := ex.Available(t.Context(), tc.t)
		if err != nil || got != tc.want {
			t.Errorf("Available(%v) = %v, %v; want %v", tc.t, got, err, tc.want)
		}
	}
	if _, err := ex.Available(t.Context(), Target{Name: "-o", Version: "1"}); err == nil {
		t.Error("Available accepted an option as a package name")
	}
}

func TestAptUnavailableVersionChangesNothing(t *testing.T) {
	t.Parallel()
	root, ex := aptRoot(t, Options{}, demoDebs...)
	pkgtest.InstallInitial(t, root, "demo=1.0")
	oc, err := ex.Install(t.Context(), []Target{{Name: "demo", Version: "1.1"}, {Name: "demo2", Version: "1"}, {Name: "demo", Arch: "amd64", Version: "9.9"}}, false)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	for _, want := range []string{"demo:amd64=9.9 (available: 1.2, 1.1, 1.0)", "demo2=1 (no version of demo2 is available)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if len(oc.Changes) != 0 || len(oc.Commands) != 1 || oc.Commands[0][0] != "apt-cache" {
		t.Errorf("Changes %+v, Commands %q; want only the availability check", oc.Changes, oc.Commands)
	}
	if got := pkgtest.ReadFile(t, root, "usr/share/demo/version"); got != "1.0\n" {
		t.Errorf("payload = %q, want 1.0 still", got)
	}
}

func TestAptDependencyAndFailure(t *testing.T) {
	t.Parallel()
	debs := []Deb{
		{Name: "libdemo", Version: "2.0"},
		{Name: "app", Version: "1.0", Depends: "libdemo (>= 2.0)"},
		{Name: "broken", Version: "1.0", FailConfigure: true},
	}
	_, ex := aptRoot(t, Options{}, debs...)
	oc := mustInstall(t, ex, []Target{{Name: "app", Version: "1.0"}}, false)
	wantChanges(t, oc, Change{Name: "app", Arch: "all", After: "1.0"}, Change{Name: "libdemo", Arch: "all", After: "2.0"})

	oc, err := ex.Install(t.Context(), []Target{{Name: "broken", Version: "1.0"}}, false)
	if err == nil || !strings.Contains(err.Error(), "exited with status 100") || oc.ExitCode != 100 {
		t.Fatalf("failing postinst: err = %v, exit %d\n%s", err, oc.ExitCode, oc.Output)
	}
	if !strings.Contains(err.Error(), "E: ") {
		t.Errorf("error %q does not quote apt's error", err)
	}
}

func TestAptLocked(t *testing.T) {
	t.Parallel()
	root, ex := aptRoot(t, Options{LockWait: time.Second}, demoDebs...)
	pkgtest.InstallInitial(t, root, "demo=1.0")
	ctx := t.Context()
	if held, detail, err := ex.Locked(ctx); held || err != nil {
		t.Fatalf("Locked before = %v, %q, %v", held, detail, err)
	}
	release := holdLock(t, root+"/var/lib/dpkg/lock-frontend")
	held, detail, err := ex.Locked(ctx)
	if !held || err != nil || !strings.Contains(detail, "var/lib/dpkg/lock-frontend is locked") {
		t.Errorf("Locked = %v, %q, %v; want held, naming lock-frontend", held, detail, err)
	}

	start := time.Now()
	oc, err := ex.Install(ctx, demo("1.1"), false)
	took := time.Since(start)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "apt-get install exited with status 100: E: Unable to acquire the dpkg frontend lock") {
		t.Errorf("Install under lock: err = %v, want ErrLocked quoting apt\n%s", err, oc.Output)
	}
	if took < 900*time.Millisecond || took > 15*time.Second {
		t.Errorf("Install under a 1s lock wait took %v", took)
	}
	if len(oc.Changes) != 0 || pkgtest.ReadFile(t, root, "usr/share/demo/version") != "1.0\n" {
		t.Errorf("Install under lock changed %+v", oc.Changes)
	}

	release()
	if held, _, _ := ex.Locked(ctx); held {
		t.Error("Locked after release")
	}
	oc = mustInstall(t, ex, demo("1.1"), false)
	wantChanges(t, oc, Change{Name: "demo", Arch: "all", Before: "1.0", After: "1.1"})
}

func TestAptLockedDpkgLock(t *testing.T) {
	t.Parallel()
	root, ex := aptRoot(t, Options{}, demoDebs...)
	defer holdLock(t, root+"/var/lib/dpkg/lock")()
	held, detail, err := ex.Locked(t.Context())
	if !held || err != nil || !strings.HasSuffix(strings.Fields(detail)[0], "var/lib/dpkg/lock") {
		t.Errorf("Locked = %v, %q, %v; want the dpkg lock", held, detail, err)
	}
}

func TestAptRebootRequired(t *testing.T) {
	t.Parallel()
	root, ex := aptRoot(t, Options{}, demoDebs...)
	if req, why, err := ex.RebootRequired(t.Context()); req || err != nil {
		t.Errorf("RebootRequired on a fresh root = %v, %q, %v", req, why, err)
	}
	pkgtest.RequireReboot(t, root, "linux-image-6.1.0-30-amd64", "libc6", "libc6")
	req, why, err := ex.RebootRequired(t.Context())
	if !req || err != nil || why != "/var/run/reboot-required exists; packages: linux-image-6.1.0-30-amd64, libc6" {
		t.Errorf("RebootRequired = %v, %q, %v", req, why, err)
	}
}

func TestAptTimeout(t *testing.T) {
	t.Parallel()
	_, ex := aptRoot(t, Options{}, demoDebs...)
	// The same root with a per-command timeout no apt run can meet.
	fast, err := New(Options{Root: ex.(*aptExecutor).opts.Root, Timeout: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	oc, err := fast.Install(t.Context(), demo("1.1"), false)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "timed out after 1ms") {
		t.Errorf("err = %v, want a timeout", err)
	}
	if oc.ExitCode != -1 || len(oc.Commands) == 0 {
		t.Errorf("ExitCode %d, Commands %q", oc.ExitCode, oc.Commands)
	}
}

func TestAptOutputLimit(t *testing.T) {
	t.Parallel()
	_, ex := aptRoot(t, Options{OutputLimit: 300}, demoDebs...)
	oc := mustInstall(t, ex, demo("1.2"), false)
	if !strings.Contains(oc.Output, " bytes cut …]") || len(oc.Output) > 300+40 {
		t.Errorf("Output (%d bytes) not capped at 300:\n%s", len(oc.Output), oc.Output)
	}
	if !strings.HasPrefix(oc.Output, "$ apt-cache") || !strings.Contains(oc.Output, "Setting up demo (1.2)") {
		t.Errorf("Output lost its head or tail:\n%s", oc.Output)
	}
}

func BenchmarkAptInstall(b *testing.B) {
	_, ex := aptRoot(b, Options{}, demoDebs...)
	vs := []string{"1.1", "1.0"}
	var i int
	for b.Loop() {
		if oc, err := ex.Install(b.Context(), demo(vs[i%2]), true); err != nil {
			b.Fatalf("%v\n%s", err, oc.Output)
		}
		i++
	}
}
