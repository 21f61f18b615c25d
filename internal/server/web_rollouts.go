package server

import (
	"context"
	"slices"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/api"
	"github.com/patchwave/patchwave/internal/plan"
	"github.com/patchwave/patchwave/internal/web"
)

// The web UI's release pages read and act through the API's own
// functions, so that the pages show what the API and the CLI show and
// refuse what they refuse.

// webEvents is how many of a rollout's latest events its page shows.
const webEvents = 40

// location is the organisation's time zone.
func (b backend) location() *time.Location {
	if b.s.cfg.Location != nil {
		return b.s.cfg.Location
	}
	return time.UTC
}

// releaseView turns a release as the API sends it into the web's view.
func releaseView(r api.Release) web.ReleaseView {
	return web.ReleaseView{Name: r.Name, Cycle: r.Cycle, Kind: r.Kind, ReleasedAt: r.ReleasedAt, State: r.State, StateReason: r.StateReason,
		AllowNoWindow: r.AllowNoWindow, ContentHash: r.ContentHash, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt,
		Hosts: r.Summary.Hosts, Excluded: r.Summary.Excluded, NoWave: r.Summary.NoWave, Held: r.Summary.Held,
		PatchSets: r.Summary.PatchSets, Patches: r.Summary.Patches, Reason: r.Summary.Reason, Only: r.Summary.Only,
		Warnings: r.Summary.Warnings}
}

func (b backend) Releases(ctx context.Context) ([]web.ReleaseView, error) {
	rels, err := b.s.api.Releases(ctx, false)
	if err != nil {
		return nil, err
	}
	out := make([]web.ReleaseView, len(rels))
	for i, r := range rels {
		out[i] = releaseView(r)
	}
	return out, nil
}

func (b backend) Rollout(ctx context.Context, u patchwave.User, name string) (web.RolloutView, error) {
	ro, err := b.s.api.Rollout(ctx, name)
	if err != nil {
		return web.RolloutView{}, err
	}
	now := b.s.store.Now()
	out := web.RolloutView{Release: releaseView(ro.Release), Approvals: ro.Approvals, Now: now, Location: b.location(),
		MaySteer: (u.Role == patchwave.RoleAdmin || u.Role == patchwave.RoleOperator) && !ro.Release.State.Final()}
	waves, err := plan.WavesFromJSON(ro.Release.Waves)
	if err != nil {
		return out, err
	}
	slices.SortStableFunc(waves, func(a, b plan.Wave) int { return a.Order - b.Order })
	progress := map[int]api.WaveProgress{}
	started := map[int]time.Time{}
	for _, p := range ro.Waves {
		progress[p.Order] = p
		if p.StartedAt != nil {
			started[p.Order] = *p.StartedAt
		}
	}
	projected := map[int]plan.WavePlan{}
	for _, wp := range plan.ProjectWaves(waves, ro.Release.ReleasedAt, started) {
		projected[wp.Order] = wp
	}
	var given []plan.ApprovalInfo
	for _, a := range ro.Approvals {
		given = append(given, plan.ApprovalInfo{Wave: a.Wave, Stage: a.Stage, Actor: a.Actor, Role: patchwave.Role(a.Role), Decision: a.Decision, At: a.At})
	}
	final := ro.Release.State.Final()
	for _, w := range waves {
		p := progress[w.Order]
		v := web.WaveView{Order: w.Order, Name: w.Name, State: p.State, Hosts: p.Hosts, Done: p.Done, Succeeded: p.Succeeded,
			Failed: p.Failed, Running: p.Running, Missed: p.Missed, FirstPass: p.FirstPass, ErrorBudget: p.Budget,
			GateSuccessPct: w.GateSuccessPct, GateMinHosts: w.GateMinHosts, StartOffset: w.StartOffset, Soak: w.Soak, Deadline: w.Deadline,
			Start: projected[w.Order].Start, Started: projected[w.Order].Started, StartedAt: p.StartedAt, PromotedAt: p.PromotedAt,
			Note: p.Note, Approvers: w.Approvers, StartApprovers: w.StartApprovers}
		if v.State == "" {
			v.State = patchwave.WaveWaiting
		}
		if !w.Selector.IsZero() {
			v.Selector = w.Selector.String()
		}
		v.Awaiting = missing(w.Approvers, plan.Approvals(given, w.Order, plan.StagePromote, w.Approvers))
		v.AwaitingStart = missing(w.StartApprovers, plan.Approvals(given, w.Order, plan.StageStart, w.StartApprovers))
		if v.State != patchwave.WaveWaiting {
			v.AwaitingStart = nil // it started: nothing to approve any more
		}
		if v.State == patchwave.WavePromoted {
			v.Awaiting = nil
		}
		// The API's rules: the approvers a wave names, a promotion until
		// it is promoted, a start while it waits.
		v.MayApprove = !final && len(overlap(plan.CanApprove(u, w.Approvers), v.Awaiting)) > 0
		v.MayApproveStart = !final && len(overlap(plan.CanApprove(u, w.StartApprovers), v.AwaitingStart)) > 0
		out.Waves = append(out.Waves, v)
	}
	rel, err := b.s.store.Release(ctx, ro.Release.Name)
	if err != nil {
		return out, err
	}
	if out.Events, err = b.s.store.Events(ctx, rel.ID, 0, -1, webEvents); err != nil {
		return out, err
	}
	// The change freezes over the rollout's span, for its timeline.
	from, to := ro.Release.ReleasedAt.Add(-48*time.Hour), ro.Release.ReleasedAt
	for _, w := range waves {
		if wp, ok := projected[w.Order]; ok {
			to = later(to, wp.Start.Add(max(w.Deadline, w.Soak, 24*time.Hour)))
		}
	}
	to = later(to, now).Add(48 * time.Hour)
	freezes, err := b.freezes(ctx, from, to)
	if err != nil {
		return out, err
	}
	out.Freezes = freezes
	return out, nil
}

// missing returns the entries of need that got does not hold.
func missing(need, got []string) []string {
	var out []string
	for _, n := range need {
		if !slices.Contains(got, n) {
			out = append(out, n)
		}
	}
	return out
}

// overlap returns the entries of a that b holds too.
func overlap(a, b []string) []string {
	var out []string
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// freezes returns the openings of the blocking windows in [from, to).
func (b backend) freezes(ctx context.Context, from, to time.Time) ([]web.Interval, error) {
	windows, err := api.LoadWindowPlans(ctx, b.s.store)
	if err != nil {
		return nil, err
	}
	var out []web.Interval
	for _, w := range windows {
		if !w.Blocking {
			continue
		}
		for _, iv := range w.Occurrences(from, to) {
			out = append(out, web.Interval{Name: w.Name, Start: iv.Start, End: iv.End, CutOff: iv.CutOff})
		}
	}
	return out, nil
}

// maxWebPlanTasks bounds the hosts of one plan page whose task is looked up.
const maxWebPlanTasks = 500

func (b backend) Plan(ctx context.Context, name string, q web.PlanQuery) (web.PlanView, error) {
	pl, err := b.s.api.ReleasePlan(ctx, name, api.PlanQuery{Host: q.Host, Wave: q.Wave, Offset: q.Offset, Limit: q.Limit})
	if err != nil {
		return web.PlanView{}, err
	}
	rel, err := b.s.store.Release(ctx, name)
	if err != nil {
		return web.PlanView{}, err
	}
	out := web.PlanView{Total: pl.Total, Hosts: make([]web.HostPlan, 0, len(pl.Hosts))}
	for i, s := range pl.Hosts {
		hp := web.HostPlan{Host: s.Hostname, Wave: s.Wave, Patches: s.Patches, PatchSet: s.PatchSet, Reason: s.Reason}
		if s.Opening != nil {
			hp.Opening = &web.Interval{Name: s.Opening.Window, Start: s.Opening.Start, End: s.Opening.End, CutOff: s.Opening.CutOff}
		}
		if i < maxWebPlanTasks {
			t, ok, err := b.s.store.HostTask(ctx, rel.ID, s.HostID)
			if err != nil {
				return out, err
			}
			if ok {
				hp.Task, hp.TaskError = t.State, t.Error
			}
		}
		out.Hosts = append(out.Hosts, hp)
	}
	return out, nil
}

// webCycles bounds the cycles the calendar shows at once.
const webCycles = 12

func (b backend) Calendar(ctx context.Context, from string, n int) (web.CalendarView, error) {
	loc := b.location()
	cad, err := api.LoadCadence(ctx, b.s.store, loc)
	if err != nil {
		return web.CalendarView{}, err
	}
	loc = cad.Start.Location()
	now := b.s.store.Now()
	t := now.In(loc)
	start := time.Date(t.Year(), t.Month()-1, 1, 0, 0, 0, 0, loc)
	if from != "" {
		y, m, err := patchwave.ParseCycle(from)
		if err != nil {
			return web.CalendarView{}, err
		}
		start = time.Date(y, m, 1, 0, 0, 0, 0, loc)
	}
	out := web.CalendarView{From: start, Now: now, Location: loc}
	rels, err := b.s.api.Releases(ctx, false)
	if err != nil {
		return out, err
	}
	end := start
	for _, cy := range api.NextCycles(cad, start, min(max(n, 1), webCycles)) {
		cv := web.CycleView{ID: cy.ID, Release: cy.Release}
		end = later(end, cy.Release)
		for _, p := range cy.Phases {
			cv.Phases = append(cv.Phases, web.Interval{Name: p.Name, Start: p.Start, End: p.End})
			end = later(end, p.End)
		}
		for _, r := range rels {
			if r.Cycle == cy.ID {
				cv.Releases = append(cv.Releases, releaseView(r))
			}
		}
		out.Cycles = append(out.Cycles, cv)
	}
	_, windows, err := api.LoadWindows(ctx, b.s.store)
	if err != nil {
		return out, err
	}
	for _, w := range windows {
		wv := web.WindowView{Name: w.Name, RRule: w.RRule.String(), TimeZone: w.Start.Location().String(), Duration: w.Duration,
			CutOff: w.CutOff, Blocking: w.Blocking}
		if !w.Selector.IsZero() {
			wv.Selector = w.Selector.String()
		}
		for _, iv := range api.NextOccurrences(w, now, 3) {
			wv.Next = append(wv.Next, web.Interval{Name: w.Name, Start: iv.Start, End: iv.End, CutOff: iv.CutOff})
		}
		out.Windows = append(out.Windows, wv)
	}
	if out.Freezes, err = b.freezes(ctx, start, end.AddDate(0, 1, 0)); err != nil {
		return out, err
	}
	return out, nil
}

func (b backend) ApproveWave(ctx context.Context, u patchwave.User, name string, d web.WaveDecision) error {
	_, err := b.s.api.ApproveWave(ctx, u, name, api.ApprovalRequest{Wave: d.Wave, Stage: d.Stage, Decision: d.Decision, Reason: d.Reason})
	return err
}

func (b backend) ActOnRollout(ctx context.Context, u patchwave.User, name, action, reason string, retryFailed bool) error {
	if action != "pause" && action != "resume" {
		return patchwave.Errorf(patchwave.EInvalid, "the web UI pauses and resumes rollouts, it does not %s them", action)
	}
	_, err := b.s.api.ActOnRollout(ctx, u, name, action, api.RolloutAction{Reason: reason, RetryFailed: retryFailed})
	return err
}
