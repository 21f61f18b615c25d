package pkgmgr

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patchwave/patchwave/internal/pkgmgr/pkgtest"
)

// These tests run the real dnf and rpm inside installroots that pkgtest
// builds; they skip when the tools are missing.

// demoRPMs has three versions, and one whose epoch makes it newest.
var demoRPMs = pkgtest.DemoRPMs("1.0", "1.1", "1.2", "1:0.9")

func newDnfRoot(t testing.TB, opts Options, rpms ...pkgtest.RPM) (string, Executor) {
	t.Helper()
	root := pkgtest.DnfRoot(t, rpms...)
	opts.Root = root
	ex, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if ex.Kind() != "dnf" {
		t.Fatalf("Kind = %q, want dnf", ex.Kind())
	}
	return root, ex
}

func TestDnfInstallUpgradeDowngrade(t *testing.T) {
	t.Parallel()
	root, ex := newDnfRoot(t, Options{}, demoRPMs...)
	ctx := t.Context()
	if oc, err := ex.Refresh(ctx); err != nil {
		t.Fatalf("Refresh: %v\n%s", err, oc.Output)
	}

	oc := mustInstall(t, ex, demo("1.0-1"), false)
	wantChanges(t, oc, Change{Name: "demo", Arch: "noarch", After: "1.0-1"})
	if got := pkgtest.ReadFile(t, root, "usr/share/demo/version"); got != "1.0-1\n" {
		t.Errorf("payload = %q", got)
	}
	if last := oc.Commands[len(oc.Commands)-1]; !slices.Contains(last, "install") || last[len(last)-1] != "demo-1.0-1" {
		t.Errorf("install command = %q", last)
	}

	// 1.2 and 1:0.9 are newer: the target is exactly 1.1.
	oc = mustInstall(t, ex, []Target{{Name: "demo", Arch: "noarch", Version: "1.1-1"}}, false)
	wantChanges(t, oc, Change{Name: "demo", Arch: "noarch", Before: "1.0-1", After: "1.1-1"})
	if last := oc.Commands[len(oc.Commands)-1]; last[len(last)-1] != "demo-1.1-1.noarch" {
		t.Errorf("install command = %q", last)
	}

	// The epoch wins over the higher version.
	oc = mustInstall(t, ex, demo("1:0.9-1"), false)
	wantChanges(t, oc, Change{Name: "demo", Arch: "noarch", Before: "1.1-1", After: "1:0.9-1"})

	oc, err := ex.Install(ctx, demo("1.2-1"), false)
	if !errors.Is(err, ErrDowngrade) || len(oc.Commands) != 0 {
		t.Errorf("1:0.9-1 → 1.2-1 without permission: err = %v, commands %q", err, oc.Commands)
	}

	// Rollback, with dnf downgrade.
	oc = mustInstall(t, ex, demo("1.0-1"), true)
	wantChanges(t, oc, Change{Name: "demo", Arch: "noarch", Before: "1:0.9-1", After: "1.0-1"})
	if last := oc.Commands[len(oc.Commands)-1]; !slices.Contains(last, "downgrade") {
		t.Errorf("rollback command = %q, want dnf downgrade", last)
	}
	if got := pkgtest.ReadFile(t, root, "usr/share/demo/version"); got != "1.0-1\n" {
		t.Errorf("payload = %q", got)
	}

	oc = mustInstall(t, ex, demo("0:1.0-1"), false)
	if len(oc.Commands) != 0 {
		t.Errorf("no-op install ran %q", oc.Commands)
	}
}

func TestDnfAvailable(t *testing.T) {
	t.Parallel()
	root, ex := newDnfRoot(t, Options{}, demoRPMs...)
	pkgtest.InstallInitial(t, root, "demo=1.1-1")
	for _, tc := range []struct {
		t    Target
		want bool
	}{
		{Target{Name: "demo", Version: "1.1-1"}, true}, // installed, and in the repository
		{Target{Name: "demo", Arch: "noarch", Version: "1.2-1"}, true},
		{Target{Name: "demo", Version: "1:0.9-1"}, true},
		{Target{Name: "demo", Version: "0.9-1"}, false},
		{Target{Name: "demo", Version: "1.2"}, true}, // any release
		{Target{Name: "demo", Arch: "x86_64", Version: "1.2-1"}, false},
		{Target{Name: "demo", Version: "1.3-1"}, false},
		{Target{Name: "nosuch", Version: "1-1"}, false},
	} {
		got, err := ex.Available(t.Context(), tc.t)
		if err != nil || got != tc.want {
			t.Errorf("Available(%v) = %v, %v; want %v", tc.t, got, err, tc.want)
		}
	}
}

func TestDnfUnavailableAndFailure(t *testing.T) {
	t.Parallel()
	rpms := append(slices.Clone(demoRPMs), pkgtest.RPM{Name: "broken", Version: "1.0", FailInstall: true})
	root, ex := newDnfRoot(t, Options{}, rpms...)
	pkgtest.InstallInitial(t, root, "demo=1.0-1")

	oc, err := ex.Install(t.Context(), []Target{{Name: "demo", Version: "9.9-1"}}, false)
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "demo=9.9-1 (available: 1.0-1.noarch, 1.1-1.noarch, 1.2-1.noarch, 1:0.9-1.noarch)") {
		t.Errorf("err = %v, want ErrUnavailable listing what is available", err)
	}
	if len(oc.Changes) != 0 || len(oc.Commands) != 2 || !slices.Contains(oc.Commands[0], "install") || !slices.Contains(oc.Commands[1], "repoquery") {
		t.Errorf("Changes %+v, Commands %q", oc.Changes, oc.Commands)
	}

	oc, err = ex.Install(t.Context(), []Target{{Name: "broken", Version: "1.0-1"}}, false)
	if err == nil || !strings.Contains(err.Error(), "dnf install exited with status 1") || oc.ExitCode != 1 {
		t.Errorf("failing %%pre: err = %v, exit %d\n%s", err, oc.ExitCode, oc.Output)
	}
	if len(oc.Changes) != 0 {
		t.Errorf("failed install changed %+v", oc.Changes)
	}
}

func TestDnfLocked(t *testing.T) {
	t.Parallel()
	root, ex := newDnfRoot(t, Options{LockWait: 500 * time.Millisecond}, demoRPMs...)
	pkgtest.InstallInitial(t, root, "demo=1.0-1")
	ctx := t.Context()
	if held, detail, err := ex.Locked(ctx); held || err != nil {
		t.Fatalf("Locked before = %v, %q, %v", held, detail, err)
	}
	release := holdLock(t, root+"/var/lib/rpm/.rpm.lock")
	held, detail, err := ex.Locked(ctx)
	if !held || err != nil || !strings.Contains(detail, "var/lib/rpm/.rpm.lock is locked") {
		t.Errorf("Locked = %v, %q, %v", held, detail, err)
	}
	start := time.Now()
	oc, err := ex.Install(ctx, demo("1.1-1"), false)
	if took := time.Since(start); took < 500*time.Millisecond || took > 10*time.Second {
		t.Errorf("Install under a 500ms lock wait took %v", took)
	}
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "for longer than 500ms") {
		t.Errorf("Install under lock: err = %v", err)
	}
	if len(oc.Changes) != 0 {
		t.Errorf("Install under lock changed %+v", oc.Changes)
	}
	release()

	// dnf's own lock on the rpm database.
	if err := os.MkdirAll(root+"/var/lib/dnf", 0o755); err != nil {
		t.Fatal(err)
	}
	pid, releaseDnf := holdPidLock(t, root+"/var/lib/dnf/rpmdb_lock.pid")
	held, detail, err = ex.Locked(ctx)
	if !held || err != nil || !strings.Contains(detail, fmt.Sprintf("rpmdb_lock.pid is locked by process %d (sleep)", pid)) {
		t.Errorf("Locked (dnf pid lock) = %v, %q, %v", held, detail, err)
	}
	releaseDnf()
	oc = mustInstall(t, ex, demo("1.1-1"), false)
	wantChanges(t, oc, Change{Name: "demo", Arch: "noarch", Before: "1.0-1", After: "1.1-1"})
}

func TestDnfRebootRequired(t *testing.T) {
	t.Parallel()
	root, ex := newDnfRoot(t, Options{}, pkgtest.RPM{Name: "kernel-core", Version: "5.14.0", Release: "503.el9", Arch: "noarch"})
	d := ex.(*dnfExecutor)
	d.kernelRelease = func() (string, error) { return "5.14.0-427.13.1.el9_4.x86_64", nil }
	if req, why, err := ex.RebootRequired(t.Context()); req || err != nil {
		t.Errorf("without a kernel package: %v, %q, %v", req, why, err)
	}
	pkgtest.InstallInitial(t, root, "kernel-core=5.14.0-503.el9")
	req, why, err := ex.RebootRequired(t.Context())
	if !req || err != nil || why != "kernel-core 5.14.0-503.el9 is installed but kernel 5.14.0-427.13.1.el9_4.x86_64 is running" {
		t.Errorf("newer kernel installed: %v, %q, %v", req, why, err)
	}
	d.kernelRelease = func() (string, error) { return "5.14.0-503.el9.x86_64", nil }
	if req, why, err := ex.RebootRequired(t.Context()); req || err != nil {
		t.Errorf("running the newest kernel: %v, %q, %v", req, why, err)
	}
}

func TestDnfTimeoutAndOutputLimit(t *testing.T) {
	t.Parallel()
	root, _ := newDnfRoot(t, Options{}, demoRPMs...)
	fast, err := New(Options{Root: root, Timeout: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	oc, err := fast.Refresh(t.Context())
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "dnf makecache: timed out after 1ms") || oc.ExitCode != -1 {
		t.Errorf("err = %v, exit %d, want a timeout", err, oc.ExitCode)
	}

	small, err := New(Options{Root: root, OutputLimit: 200})
	if err != nil {
		t.Fatal(err)
	}
	oc = mustInstall(t, small, demo("1.2-1"), false)
	if !strings.Contains(oc.Output, " bytes cut …]") || len(oc.Output) > 240 || !strings.Contains(oc.Output, "Complete!") {
		t.Errorf("Output (%d bytes) not capped at 200 with its tail:\n%s", len(oc.Output), oc.Output)
	}
}

func BenchmarkDnfInstall(b *testing.B) {
	_, ex := newDnfRoot(b, Options{}, demoRPMs...)
	vs := []string{"1.1-1", "1.0-1"}
	var i int
	for b.Loop() {
		if oc, err := ex.Install(b.Context(), demo(vs[i%2]), true); err != nil {
			b.Fatalf("%v\n%s", err, oc.Output)
		}
		i++
	}
}
