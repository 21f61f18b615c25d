package sched

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/plan"
	"github.com/patchwave/patchwave/internal/store"
)

// rig is a store with a fleet and a frozen release, driven by a Driver.
type rig struct {
	t       *testing.T
	path    string
	st      *store.Store
	d       *Driver
	rel     store.Release
	loc     *time.Location
	windows []plan.Window
	excs    []patchwave.Exception
	ids     map[string]int64
	names   map[int64]string
}

func berlin(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone data:", err)
	}
	return loc
}

func (r *rig) open() {
	ctx := context.Background()
	st, err := store.Open(ctx, r.path)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		r.t.Fatal(err)
	}
	r.st = st
	r.d = NewDriver(st, nil)
	r.d.Windows = func(context.Context) ([]plan.Window, error) { return r.windows, nil }
	r.d.Exceptions = func(context.Context) ([]patchwave.Exception, error) { return r.excs, nil }
}

// testWaves are five rings with small, exact budgets.
func testWaves() []plan.Wave {
	day := 24 * time.Hour
	sel := patchwave.MustParseSelector
	return []plan.Wave{
		{Order: 0, Name: "lab", Selector: sel("tier=lab"), StartOffset: day, MaxConcurrentPct: 100, MaxErrorsPct: 50, Soak: day,
			GateSuccessPct: 100, GateMinHosts: 1, Approvers: []string{"approver"}, Deadline: 3 * day},
		{Order: 1, Name: "pilot", Selector: sel("tag=pilot"), StartOffset: 3 * day, MaxConcurrent: 3, MaxErrors: 1, Soak: day,
			GateSuccessPct: 80, GateMinHosts: 5, Deadline: 6 * day},
		{Order: 2, Name: "early", Selector: sel("tier=business-operational"), StartOffset: 5 * day, MaxConcurrentPct: 25, MaxErrors: 2,
			Soak: day, GateSuccessPct: 90, GateMinHosts: 5, Deadline: 3 * day},
		{Order: 3, Name: "broad", Selector: sel("tier=business-critical"), StartOffset: 7 * day, MaxConcurrentPct: 50, MaxErrors: 1,
			Soak: day, GateSuccessPct: 95, GateMinHosts: 2, Deadline: 4 * day},
		{Order: 4, Name: "mission-critical", StartOffset: 9 * day, MaxConcurrent: 2, GateSuccessPct: 100, GateMinHosts: 1,
			StartApprovers: []string{"approver"}, Deadline: 4 * day},
	}
}

// newRig makes 2 lab, 10 pilot, 12 business-operational, 4
// business-critical and 3 mission-critical hosts, every one with the
// same missing patch, a nightly window for all and a freeze for the
// business-critical ones, and freezes a release on Patch Tuesday,
// 8 December 2026, 18:00 in Berlin.
func newRig(t *testing.T, waves []plan.Wave) *rig {
	r := &rig{t: t, path: filepath.Join(t.TempDir(), "patchwave.db"), loc: berlin(t), ids: map[string]int64{}, names: map[int64]string{}}
	r.open()
	ctx := context.Background()
	var assets []store.Asset
	add := func(prefix string, n int, tier patchwave.Tier, tags ...string) {
		for i := range n {
			assets = append(assets, store.Asset{Hostname: fmt.Sprintf("%s%02d", prefix, i), Tier: tier, Tags: tags, OS: "debian 12"})
		}
	}
	add("lab", 2, patchwave.TierLab)
	add("pilot", 10, patchwave.TierBusinessOperational, "pilot")
	add("web", 12, patchwave.TierBusinessOperational)
	add("db", 4, patchwave.TierBusinessCritical)
	add("erp", 3, patchwave.TierMissionCritical)
	if err := r.st.Write(ctx, func(tx *store.Tx) error { _, _, err := tx.ImportAssets(assets); return err }); err != nil {
		t.Fatal(err)
	}
	hosts, err := r.st.AllHosts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	approved := map[int64][]patchwave.Finding{}
	for _, h := range hosts {
		r.ids[h.Hostname], r.names[h.ID] = h.ID, h.Hostname
		approved[h.ID] = []patchwave.Finding{{HostID: h.ID, Ecosystem: "Debian:12", Package: "openssl", Source: "openssl", Installed: "3.0.14-1~deb12u2",
			Fixed: "3.0.15-1~deb12u1", State: patchwave.FindingMissing, Severity: patchwave.SeverityHigh, Advisories: []string{"DSA-5764-1"}}}
	}
	r.windows = []plan.Window{
		{Name: "nightly", RRule: plan.MustParseRRule("FREQ=DAILY;BYHOUR=22"), Start: time.Date(2026, 1, 1, 22, 0, 0, 0, r.loc),
			Duration: 4 * time.Hour, CutOff: 30 * time.Minute},
		{Name: "db-freeze", RRule: plan.MustParseRRule("FREQ=YEARLY"), Start: time.Date(2026, 12, 15, 0, 0, 0, 0, r.loc),
			Duration: 72 * time.Hour, Selector: patchwave.MustParseSelector("tier=business-critical"), Blocking: true},
	}
	released := time.Date(2026, 12, 8, 18, 0, 0, 0, r.loc)
	c, err := plan.BuildRelease(plan.ReleaseInput{Cycle: "2026-12", Hosts: hosts, Approved: approved, Waves: waves, Now: released})
	if err != nil {
		t.Fatal(err)
	}
	wj, _ := json.Marshal(plan.WavesJSON(waves))
	r.rel = store.Release{Name: "2026-12", Cycle: "2026-12", Kind: store.ReleaseMonthly, ReleasedAt: released, Waves: wj, Summary: []byte("{}"),
		State: patchwave.RolloutScheduled, CreatedBy: "alice"}
	if err := r.st.Write(ctx, func(tx *store.Tx) error { return tx.CreateRelease(&r.rel, c, waves) }); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rig) waves() map[int]plan.WaveProgress {
	ws, err := r.st.ReleaseWaves(context.Background(), r.rel.ID)
	if err != nil {
		r.t.Fatal(err)
	}
	out := map[int]plan.WaveProgress{}
	for _, w := range ws {
		out[w.Wave] = w
	}
	return out
}

func (r *rig) release() store.Release {
	rel, err := r.st.Release(context.Background(), r.rel.Name)
	if err != nil {
		r.t.Fatal(err)
	}
	return rel
}

func (r *rig) tasks() []patchwave.Task {
	var all []patchwave.Task
	f := store.TaskFilter{ReleaseID: r.rel.ID, Limit: 1000}
	for {
		ts, next, err := r.st.ListTasks(context.Background(), f)
		if err != nil {
			r.t.Fatal(err)
		}
		all = append(all, ts...)
		if next == 0 {
			return all
		}
		f.After = next
	}
}

func (r *rig) approve(wave int, stage, actor string) {
	err := r.st.Write(context.Background(), func(tx *store.Tx) error {
		_, err := tx.AddApproval(patchwave.Approval{ReleaseID: r.rel.ID, Wave: wave, Stage: stage, Actor: actor, Role: string(patchwave.RoleApprover), Decision: plan.Approve})
		return err
	})
	if err != nil {
		r.t.Fatal(err)
	}
}

// agents plays the fleet's agents for one check-in: each online host
// takes its due tasks, reports the ones it started before as finished
// (failed when fail says so) and the new ones as running.
type agents struct {
	started map[int64]time.Time // task → when the agent started it
	offline map[string]bool
	fail    func(host string, attempt int) bool
}

func (a *agents) checkin(t *testing.T, r *rig) {
	ctx := context.Background()
	for name, id := range r.ids {
		if a.offline[name] {
			continue
		}
		var due []patchwave.AgentTask
		err := r.st.Write(ctx, func(tx *store.Tx) error {
			var err error
			due, err = tx.DispatchTasks(id)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, task := range due {
			if len(task.Patches) != 1 || task.Patches[0].Name != "openssl" || task.Patches[0].Version != "3.0.15-1~deb12u1" {
				t.Fatalf("task %d for %s: patches %+v", task.ID, name, task.Patches)
			}
			if _, ok := a.started[task.ID*100+int64(task.Attempt)]; ok {
				continue
			}
			a.started[task.ID*100+int64(task.Attempt)] = time.Now()
			a.report(t, r, id, patchwave.TaskResult{TaskID: task.ID, Attempt: task.Attempt, State: patchwave.TaskRunning})
			res := patchwave.TaskResult{TaskID: task.ID, Attempt: task.Attempt, State: patchwave.TaskSucceeded, Output: "Setting up openssl (3.0.15-1~deb12u1) ..."}
			if a.fail(name, task.Attempt) {
				res.State, res.Error = patchwave.TaskFailed, "dpkg: error processing package openssl (--configure)"
			}
			a.report(t, r, id, res)
		}
	}
}

func (a *agents) report(t *testing.T, r *rig, host int64, res patchwave.TaskResult) {
	err := r.st.Write(context.Background(), func(tx *store.Tx) error {
		known, _, err := tx.ReportTask(host, res)
		if err == nil && !known {
			err = fmt.Errorf("task %d unknown for host %d", res.TaskID, host)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDriverMonth runs a month of simulated time through five waves:
// the lab waits for its sign-off, the pilot wave halts when a second host
// fails and resumes after the fix, the freeze holds back the
// business-critical wave, an offline host is missed at its wave's
// deadline, the mission-critical wave waits for its start approval, and
// a server restart in the middle creates no duplicate task.
func TestDriverMonth(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, testWaves())
		defer func() { r.st.Close() }()
		ctx := context.Background()
		fixed := false
		a := &agents{started: map[int64]time.Time{}, offline: map[string]bool{"web05": true},
			fail: func(host string, attempt int) bool {
				return !fixed && attempt == 1 && (host == "pilot03" || host == "pilot07")
			}}

		// Start on the release day, before the release.
		time.Sleep(time.Until(time.Date(2026, 12, 8, 12, 0, 0, 0, r.loc)))
		end := time.Date(2027, 1, 8, 0, 0, 0, 0, r.loc)
		const step = 15 * time.Minute
		var halted, resumed, labApproved, mcApproved, restarted bool
		var labReadyAt time.Time
		for time.Now().Before(end) {
			if err := r.d.Tick(ctx); err != nil {
				t.Fatalf("tick at %v: %v", time.Now().In(r.loc), err)
			}
			rel := r.release()
			ws := r.waves()

			// Concurrency never exceeds a wave's budget; no wave runs
			// before the one before it is promoted.
			tasks, _ := r.st.TaskBriefs(ctx, r.rel.ID)
			live := map[int]int{}
			for _, tk := range tasks {
				if tk.State.Live() {
					live[tk.Wave]++
				}
			}
			for _, w := range testWaves() {
				p := ws[w.Order]
				if limit := w.Budget(p.Hosts, 0); live[w.Order] > limit {
					t.Fatalf("%v: wave %d has %d live tasks, budget %d", time.Now().In(r.loc), w.Order, live[w.Order], limit)
				}
				if w.Order > 0 && p.State != patchwave.WaveWaiting && ws[w.Order-1].State != patchwave.WavePromoted {
					t.Fatalf("%v: wave %d is %s while wave %d is %s", time.Now().In(r.loc), w.Order, p.State, w.Order-1, ws[w.Order-1].State)
				}
			}

			// The lab's sign-off: the wave waits for it, then an approver gives it.
			if !labApproved && strings.Contains(ws[0].Note, "waiting for the promotion approval of approver") {
				if labReadyAt.IsZero() {
					labReadyAt = time.Now()
				} else if time.Since(labReadyAt) >= 6*time.Hour {
					r.approve(0, plan.StagePromote, "ann")
					labApproved = true
				}
			}
			if ws[0].State == patchwave.WavePromoted && !labApproved {
				t.Fatal("the lab wave was promoted without its sign-off")
			}

			// The pilot's second failure halts the rollout; the fix and a
			// retry let it resume.
			if rel.State == patchwave.RolloutHalted && !halted {
				halted = true
				if !strings.Contains(rel.StateReason, `wave 1 "pilot": 2 tasks failed, 1 allowed`) {
					t.Errorf("halt reason %q", rel.StateReason)
				}
				fixed = true
				err := r.st.Write(ctx, func(tx *store.Tx) error {
					if n, err := tx.RetryTasks(r.rel.ID, nil); err != nil || n != 2 {
						return fmt.Errorf("retry: %d, %v", n, err)
					}
					_, err := tx.SetReleaseState(r.rel.ID, patchwave.RolloutRunning, "", patchwave.RolloutHalted)
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				resumed = true
			}

			// The mission-critical wave waits for a start approval.
			if !mcApproved && strings.Contains(ws[4].Note, "waiting for the start approval of approver") {
				r.approve(4, plan.StageStart, "ann")
				mcApproved = true
			}

			// Half way, the server restarts: nothing is lost or doubled.
			if !restarted && ws[2].State == patchwave.WaveRunning && live[2] > 0 {
				restarted = true
				before := len(r.tasks())
				r.st.Close()
				r.open()
				if after := len(r.tasks()); after != before {
					t.Fatalf("restart: %d tasks before, %d after", before, after)
				}
			}
			if rel.State == patchwave.RolloutCompleted {
				break
			}
			a.checkin(t, r)
			time.Sleep(step)
		}

		rel := r.release()
		if rel.State != patchwave.RolloutCompleted {
			t.Fatalf("rollout %s (%s) at %v; waves %+v", rel.State, rel.StateReason, time.Now().In(r.loc), r.waves())
		}
		if !halted || !resumed || !labApproved || !mcApproved || !restarted {
			t.Fatalf("halted %v resumed %v lab approved %v mc approved %v restarted %v", halted, resumed, labApproved, mcApproved, restarted)
		}
		ws := r.waves()
		for i := 1; i < 5; i++ {
			if ws[i].StartedAt.Before(*ws[i-1].PromotedAt) {
				t.Errorf("wave %d started %v, before wave %d was promoted at %v", i, ws[i].StartedAt, i-1, ws[i-1].PromotedAt)
			}
		}
		// Wave 0 starts on day 1 at 18:00 and soaks a day.
		if want := time.Date(2026, 12, 9, 18, 0, 0, 0, r.loc); !ws[0].StartedAt.Equal(want) {
			t.Errorf("lab started %v, want %v", ws[0].StartedAt.In(r.loc), want)
		}

		tasks := r.tasks()
		perHost := map[int64]int{}
		for _, tk := range tasks {
			perHost[tk.HostID]++
			name := r.names[tk.HostID]
			started := a.started[tk.ID*100+int64(tk.Attempt)]
			if name == "web05" {
				if tk.State != patchwave.TaskCanceled {
					t.Errorf("offline web05: task %s, want canceled at its wave's deadline", tk.State)
				}
				continue
			}
			if tk.State != patchwave.TaskSucceeded {
				t.Errorf("%s: task %s (%s)", name, tk.State, tk.Error)
			}
			// Started inside the nightly window, before its cut-off.
			local := started.In(r.loc)
			if h := local.Hour(); !(h >= 22 || h < 3 || (h == 3 && local.Minute() < 30)) {
				t.Errorf("%s started at %v, outside the window", name, local)
			}
			if strings.HasPrefix(name, "db") && !started.Before(time.Date(2026, 12, 15, 0, 0, 0, 0, r.loc)) && started.Before(time.Date(2026, 12, 18, 0, 0, 0, 0, r.loc)) {
				t.Errorf("%s started at %v, in its freeze", name, local)
			}
			if (name == "pilot03" || name == "pilot07") && (tk.Attempt != 2 || tk.FirstResult != patchwave.TaskFailed) {
				t.Errorf("%s: attempt %d, first result %s", name, tk.Attempt, tk.FirstResult)
			}
			if tk.Reason == "" || tk.Window != "nightly" {
				t.Errorf("%s: reason %q window %q", name, tk.Reason, tk.Window)
			}
		}
		for id, n := range perHost {
			if n != 1 {
				t.Errorf("host %s has %d tasks", r.names[id], n)
			}
		}
		if len(perHost) != len(r.ids) {
			t.Errorf("%d hosts got tasks, want %d", len(perHost), len(r.ids))
		}
		events, err := r.st.Events(ctx, r.rel.ID, 0, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, e := range events {
			kinds = append(kinds, e.Kind)
			t.Logf("%s wave %d %s: %s", e.At.In(r.loc).Format("Mon 02 Jan 15:04"), e.Wave, e.Kind, e.Reason)
		}
		got := strings.Join(kinds, " ")
		for _, want := range []string{"rollout.start", "wave.start", "rollout.halt", "wave.deadline", "wave.promote", "rollout.complete"} {
			if !strings.Contains(got, want) {
				t.Errorf("no %s event in %s", want, got)
			}
		}
		if !strings.Contains(ws[2].Note, "1 missed") {
			t.Errorf("wave 2 note %q, want the offline host missed", ws[2].Note)
		}
	})
}
