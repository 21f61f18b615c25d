// Package sched runs Patchwave's background loops that act on the fleet:
// the rollout driver turns running releases into tasks, watches their
// results, halts and promotes waves. A lease row makes one server replica
// at a time run it.
package sched

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/plan"
	"github.com/patchwave/patchwave/internal/store"
)

// DriverLease is the name of the rollout driver's lease.
const DriverLease = "rollout-driver"

// ResultGrace is how long after its window's end a task's result may
// still come before the task fails for want of one.
const ResultGrace = 30 * time.Minute

// Driver drives rollouts. Tick does one round; Run ticks on an interval
// and when woken.
type Driver struct {
	Store *store.Store
	Log   *slog.Logger
	// Windows and Exceptions load the maintenance windows and the
	// exceptions (the server wires them to the API's loaders).
	Windows    func(context.Context) ([]plan.Window, error)
	Exceptions func(context.Context) ([]patchwave.Exception, error)
	// Interval is the time between ticks; HostRefresh how long the
	// driver keeps its copy of the fleet's attributes.
	Interval    time.Duration
	HostRefresh time.Duration

	// OnArmed, when set, is told the hosts that got a task to pick up.
	OnArmed func(hosts ...int64)

	holder string
	wake   chan struct{}

	// For metrics: whether this replica holds the lease, and its last
	// tick's duration and end.
	leader               atomic.Bool
	lastTick, lastTickAt atomic.Int64 // ns, unix ns
	tickErrors           atomic.Int64

	mu       sync.Mutex
	hosts    map[int64]patchwave.Host
	hostsAt  time.Time
	released map[int64]map[int][]plan.ReleaseHost // release → wave → hosts, frozen
}

// NewDriver returns a driver with its own lease holder id.
func NewDriver(st *store.Store, log *slog.Logger) *Driver {
	b := make([]byte, 8)
	rand.Read(b)
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Driver{Store: st, Log: log, Interval: 15 * time.Second, HostRefresh: time.Minute, holder: hex.EncodeToString(b),
		wake: make(chan struct{}, 1), released: map[int64]map[int][]plan.ReleaseHost{}}
}

// Stats are the driver's figures for metrics.
type Stats struct {
	Leader     bool          // this replica holds the driver's lease
	LastTick   time.Duration // how long the last tick took
	LastTickAt time.Time     // when it ended (zero: no tick yet)
	TickErrors int64         // ticks that failed
}

// Stats returns the driver's figures.
func (d *Driver) Stats() Stats {
	st := Stats{Leader: d.leader.Load(), LastTick: time.Duration(d.lastTick.Load()), TickErrors: d.tickErrors.Load()}
	if at := d.lastTickAt.Load(); at != 0 {
		st.LastTickAt = time.Unix(0, at)
	}
	return st
}

// Wake asks for a tick now: after an approval, a resume, a result.
func (d *Driver) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run ticks until ctx is done, when it holds the lease.
func (d *Driver) Run(ctx context.Context) {
	t := time.NewTicker(d.Interval)
	defer t.Stop()
	for {
		ok, err := d.Store.AcquireLease(ctx, DriverLease, d.holder, 3*d.Interval)
		if err != nil && ctx.Err() == nil {
			d.Log.Warn("rollout driver lease", "err", err)
		}
		d.leader.Store(ok)
		if ok {
			if err := d.Tick(ctx); err != nil && ctx.Err() == nil {
				d.Log.Warn("rollout driver", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			if ok {
				_ = d.Store.ReleaseLease(context.WithoutCancel(ctx), DriverLease, d.holder)
			}
			return
		case <-t.C:
		case <-d.wake:
		}
	}
}

// Tick drives every release whose rollout is not final one step.
func (d *Driver) Tick(ctx context.Context) error {
	start := time.Now()
	err := d.tick(ctx)
	if err != nil && ctx.Err() == nil {
		d.tickErrors.Add(1)
	}
	d.lastTick.Store(time.Since(start).Nanoseconds())
	d.lastTickAt.Store(time.Now().UnixNano())
	return err
}

func (d *Driver) tick(ctx context.Context) error {
	// Tasks people asked for outside rollouts expire too.
	err := d.Store.Write(ctx, func(tx *store.Tx) error { _, _, err := tx.ExpireTasks(0); return err })
	if err != nil {
		return err
	}
	rels, err := d.Store.ListReleases(ctx, true)
	if err != nil || len(rels) == 0 {
		return err
	}
	windows, err := d.Windows(ctx)
	if err != nil {
		return fmt.Errorf("windows: %w", err)
	}
	excs, err := d.Exceptions(ctx)
	if err != nil {
		return fmt.Errorf("exceptions: %w", err)
	}
	hosts, err := d.fleet(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range rels {
		if err := d.step(ctx, r, windows, excs, hosts); err != nil {
			errs = append(errs, fmt.Errorf("release %s: %w", r.Name, err))
		}
	}
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}

// fleet returns the hosts' attributes, read at most every HostRefresh.
func (d *Driver) fleet(ctx context.Context) (map[int64]patchwave.Host, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.hosts != nil && time.Since(d.hostsAt) < d.HostRefresh {
		return d.hosts, nil
	}
	hs, err := d.Store.AllHosts(ctx)
	if err != nil {
		return nil, err
	}
	m := make(map[int64]patchwave.Host, len(hs))
	for _, h := range hs {
		m[h.ID] = h
	}
	d.hosts, d.hostsAt = m, time.Now()
	return m, nil
}

// ForgetHosts makes the next tick read the hosts again (after changes).
func (d *Driver) ForgetHosts() {
	d.mu.Lock()
	d.hosts = nil
	d.mu.Unlock()
}

// releaseHosts returns a release's hosts by wave; they never change.
func (d *Driver) releaseHosts(ctx context.Context, id int64) (map[int][]plan.ReleaseHost, error) {
	d.mu.Lock()
	m, ok := d.released[id]
	d.mu.Unlock()
	if ok {
		return m, nil
	}
	rhs, err := d.Store.ReleaseHosts(ctx, id)
	if err != nil {
		return nil, err
	}
	m = map[int][]plan.ReleaseHost{}
	for _, rh := range rhs {
		m[rh.Wave] = append(m[rh.Wave], rh)
	}
	d.mu.Lock()
	d.released[id] = m
	d.mu.Unlock()
	return m, nil
}

// State is what the rollout rules see of one release at a time: loaded
// by Load, shared by the driver and by the API's explanations.
type State struct {
	Release    store.Release
	Waves      []plan.Wave // by order
	Progress   map[int]*plan.WaveProgress
	Tasks      []plan.TaskInfo
	Approvals  []plan.ApprovalInfo
	Exclusions []patchwave.Exception // active now
	Index      *plan.WindowIndex
	Now        time.Time
	// Reports counts the problem reports against each wave's hosts.
	Reports map[int]int
}

// Load reads the state of release r at now.
func Load(ctx context.Context, st *store.Store, r store.Release, windows []plan.Window, excs []patchwave.Exception, now time.Time) (*State, error) {
	waves, err := plan.ParseWaves(r.Waves)
	if err != nil {
		return nil, fmt.Errorf("stored waves: %w", err)
	}
	slices.SortStableFunc(waves, func(a, b plan.Wave) int { return a.Order - b.Order })
	rows, err := st.ReleaseWaves(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	s := &State{Release: r, Waves: waves, Progress: map[int]*plan.WaveProgress{}, Index: plan.NewWindowIndex(windows, r.AllowNoWindow), Now: now}
	for i := range rows {
		s.Progress[rows[i].Wave] = &rows[i]
	}
	if s.Tasks, err = st.TaskBriefs(ctx, r.ID); err != nil {
		return nil, err
	}
	if s.Reports, err = st.FeedbackCounts(ctx, r.ID); err != nil {
		return nil, err
	}
	as, err := st.Approvals(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	for _, a := range as {
		s.Approvals = append(s.Approvals, plan.ApprovalInfo{Wave: a.Wave, Stage: a.Stage, Actor: a.Actor, Role: patchwave.Role(a.Role), Decision: a.Decision, At: a.At})
	}
	for _, e := range excs {
		if e.Kind == patchwave.ExceptionExclusion && e.Active(now) && (e.Cycle == "" || e.Cycle == r.Cycle) {
			s.Exclusions = append(s.Exclusions, e)
		}
	}
	return s, nil
}

// Wave returns the wave of order n and its progress, or nils.
func (s *State) Wave(n int) (*plan.Wave, *plan.WaveProgress) {
	for i := range s.Waves {
		if s.Waves[i].Order == n {
			return &s.Waves[i], s.Progress[n]
		}
	}
	return nil, nil
}

// Stats returns the progress of wave w; skipped counts its hosts that
// will get no task.
func (s *State) Stats(w plan.Wave, skipped int) plan.WaveStats {
	p := s.Progress[w.Order]
	if p == nil {
		return plan.WaveStats{}
	}
	st := plan.Stats(w, *p, s.Tasks, skipped, s.Now)
	st.Reports = s.Reports[w.Order]
	return st
}

// skipped counts the hosts of a wave that will get no task: gone,
// revoked or excluded since the release was frozen.
func (s *State) skipped(rhs []plan.ReleaseHost, hosts map[int64]patchwave.Host) int {
	n := 0
	for _, rh := range rhs {
		if rh.Excluded != "" {
			continue // not counted among the wave's hosts
		}
		h, ok := hosts[rh.HostID]
		if !ok || h.Revoked || slices.ContainsFunc(s.Exclusions, func(e patchwave.Exception) bool { return e.Covers(h, patchwave.Finding{}) }) {
			n++
		}
	}
	return n
}

// step drives one release: it expires and times out tasks, starts,
// halts and promotes waves, and arms the tasks the budgets allow. What it
// decides is recorded with its reason.
func (d *Driver) step(ctx context.Context, r store.Release, windows []plan.Window, excs []patchwave.Exception, hosts map[int64]patchwave.Host) error {
	err := d.Store.Write(ctx, func(tx *store.Tx) error {
		expired, timedOut, err := tx.ExpireTasks(r.ID)
		if err == nil && timedOut > 0 {
			err = tx.AddEvent(r.ID, patchwave.RolloutEvent{Wave: -1, Kind: "tasks.timeout", Actor: "driver",
				Reason: fmt.Sprintf("%d tasks failed: no result from their agents by the deadline", timedOut)})
		}
		_ = expired
		return err
	})
	if err != nil {
		return err
	}
	now := d.Store.Now()
	s, err := Load(ctx, d.Store, r, windows, excs, now)
	if err != nil {
		return err
	}
	byWave, err := d.releaseHosts(ctx, r.ID)
	if err != nil {
		return err
	}
	var events []patchwave.RolloutEvent
	var waveUpdates []plan.WaveProgress
	var tasks []store.NewTask
	state, reason := r.State, r.StateReason
	event := func(wave int, kind, why string) {
		events = append(events, patchwave.RolloutEvent{Wave: wave, Kind: kind, Actor: "driver", Reason: why})
	}
	setNote := func(p *plan.WaveProgress, note string) {
		if p.Note != note {
			p.Note = note
			waveUpdates = append(waveUpdates, *p)
		}
	}

	allPromoted := true
	prevPromoted := true
	for _, w := range s.Waves {
		p := s.Progress[w.Order]
		if p == nil {
			continue
		}
		rhs := byWave[w.Order]
		switch p.State {
		case patchwave.WaveWaiting:
			allPromoted = false
			if !state.Active() {
				break
			}
			ok, why := w.CanStart(r.ReleasedAt, prevPromoted, now, plan.Approvals(s.Approvals, w.Order, plan.StageStart, w.StartApprovers))
			if !ok {
				setNote(p, why)
				break
			}
			t := now
			p.State, p.StartedAt = patchwave.WaveRunning, &t
			setNote(p, "running")
			waveUpdates = append(waveUpdates, *p)
			why = fmt.Sprintf("wave %d %q started with %d hosts: its start time (%s) came", w.Order, w.Name, p.Hosts, r.ReleasedAt.Add(w.StartOffset).Format(time.RFC3339))
			if w.Order != s.Waves[0].Order {
				why += ", the wave before was promoted"
			}
			if len(w.StartApprovers) > 0 {
				why += ", and " + strings.Join(w.StartApprovers, ", ") + " approved the start"
			}
			event(w.Order, "wave.start", why)
			if state == patchwave.RolloutScheduled {
				state, reason = patchwave.RolloutRunning, ""
				event(-1, "rollout.start", "the first wave started")
			}
			fallthrough
		case patchwave.WaveRunning:
			allPromoted = false
			stats := s.Stats(w, s.skipped(rhs, hosts))
			if state == patchwave.RolloutRunning && w.Halted(stats) {
				state = patchwave.RolloutHalted
				reason = fmt.Sprintf("wave %d %q: %d tasks failed, %d allowed", w.Order, w.Name, stats.Failed, w.ErrorBudget(stats.Hosts))
				event(w.Order, "rollout.halt", reason)
			}
			if PastDeadlineOnce(w, p, now) {
				event(w.Order, "wave.deadline", fmt.Sprintf("wave %d %q passed its deadline: %d of %d hosts missed", w.Order, w.Name, stats.Missed, stats.Hosts))
			}
			if ok, why := w.GatePasses(stats, now, plan.Approvals(s.Approvals, w.Order, plan.StagePromote, w.Approvers)); ok && state == patchwave.RolloutRunning {
				t := now
				p.State, p.PromotedAt = patchwave.WavePromoted, &t
				note := fmt.Sprintf("promoted: %d of %d hosts done, first-pass success %d of %d, %d missed", stats.Done, stats.Hosts, stats.Succeeded, stats.Done, stats.Missed)
				p.Note = note
				waveUpdates = append(waveUpdates, *p)
				event(w.Order, "wave.promote", note)
				prevPromoted = true
				continue
			} else if !ok {
				note := "gate: " + why
				if plan.PastDeadline(w, *p, now) {
					note = deadlineNote + "; " + note
				}
				setNote(p, note)
			}
			prevPromoted = false
			if state != patchwave.RolloutRunning || plan.PastDeadline(w, *p, now) {
				continue
			}
			budget := w.Budget(stats.Hosts, stats.Running)
			if budget == 0 {
				continue
			}
			tasks = append(tasks, s.candidates(w, rhs, hosts, budget)...)
			continue
		case patchwave.WavePromoted:
			prevPromoted = true
			continue
		}
		prevPromoted = false
	}
	if allPromoted && state.Active() {
		state, reason = patchwave.RolloutCompleted, "every wave was promoted"
		event(-1, "rollout.complete", reason)
	}
	if len(events) == 0 && len(waveUpdates) == 0 && len(tasks) == 0 && state == r.State {
		return nil
	}
	err = d.Store.Write(ctx, func(tx *store.Tx) error {
		if state != r.State {
			changed, err := tx.SetReleaseState(r.ID, state, reason, r.State)
			if err != nil {
				return err
			}
			if !changed {
				return nil // a person changed it meanwhile: next tick
			}
			if state.Final() {
				if _, err := tx.CancelTasks(r.ID, -1, "the rollout is "+string(state)); err != nil {
					return err
				}
			}
		}
		for _, p := range waveUpdates {
			if err := tx.SetWave(r.ID, p); err != nil {
				return err
			}
		}
		for _, e := range events {
			if err := tx.AddEvent(r.ID, e); err != nil {
				return err
			}
		}
		for _, w := range s.Waves {
			if p := s.Progress[w.Order]; p != nil && p.State == patchwave.WaveRunning && plan.PastDeadline(w, *p, now) {
				if _, err := tx.CancelTasks(r.ID, w.Order, "the wave passed its deadline"); err != nil {
					return err
				}
			}
		}
		if len(tasks) > 0 {
			if _, err := tx.ArmTasks(r.ID, tasks); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil && len(tasks) > 0 && d.OnArmed != nil {
		ids := make([]int64, len(tasks))
		for i, t := range tasks {
			ids[i] = t.HostID
		}
		d.OnArmed(ids...)
	}
	return err
}

// deadlineNote starts the note of a wave past its deadline.
const deadlineNote = "deadline passed"

// PastDeadlineOnce reports whether wave w's deadline passed since the
// last tick: it is past now and its note does not say so yet.
func PastDeadlineOnce(w plan.Wave, p *plan.WaveProgress, now time.Time) bool {
	return plan.PastDeadline(w, *p, now) && !strings.HasPrefix(p.Note, deadlineNote)
}

// candidates returns up to budget tasks for hosts of wave w that have no
// live or finished task and may start now.
func (s *State) candidates(w plan.Wave, rhs []plan.ReleaseHost, hosts map[int64]patchwave.Host, budget int) []store.NewTask {
	has, expired := map[int64]bool{}, map[int64]bool{}
	for _, t := range s.Tasks {
		if t.Wave == w.Order {
			has[t.HostID] = t.State != patchwave.TaskExpired
			expired[t.HostID] = t.State == patchwave.TaskExpired
		}
	}
	p := s.Progress[w.Order]
	var out []store.NewTask
	for _, rh := range rhs {
		if len(out) == budget {
			break
		}
		if has[rh.HostID] || rh.Excluded != "" {
			continue
		}
		var hp *patchwave.Host
		if h, ok := hosts[rh.HostID]; ok {
			hp = &h
		}
		c := plan.CheckHost(patchwave.RolloutRunning, rh, hp, &w, p, s.Exclusions, s.Index, s.Now)
		if !c.OK {
			continue
		}
		out = append(out, store.NewTask{HostID: rh.HostID, Wave: w.Order, PatchSet: rh.PatchSet, Reason: c.Why, Window: c.Opening.Window,
			NotAfter: c.Opening.CutOff, Deadline: c.Opening.End.Add(ResultGrace), Rearm: expired[rh.HostID]})
	}
	return out
}
