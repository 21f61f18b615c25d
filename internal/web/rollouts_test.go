package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patchwave/patchwave"
)

// fakeRollouts is the fake backend's releases, rollouts, plan and
// calendar, and what the pages asked of them.
type fakeRollouts struct {
	releases  []ReleaseView
	rollouts  map[string]RolloutView
	plan      []HostPlan
	calendar  CalendarView
	decisions []string // "ann approve promote 0: reason"
	actions   []string // "otto pause: reason"
	planAsked []PlanQuery
	calAsked  []string
}

// rollouts returns the fake's release data, made on first use: a running
// monthly release whose lab wave waits for its sign-off, a halted
// out-of-band one, and a completed one. Some of it is hostile text.
func (b *fakeBackend) rollouts() *fakeRollouts {
	if b.ro != nil {
		return b.ro
	}
	now := time.Now()
	day := 24 * time.Hour
	released := now.Add(-30 * time.Hour).Truncate(time.Hour)
	started := released.Add(day)
	rel := ReleaseView{Name: "2026-12", Cycle: "2026-12", Kind: "monthly", ReleasedAt: released, State: patchwave.RolloutRunning,
		ContentHash: strings.Repeat("ab12", 16), CreatedBy: "admin", CreatedAt: released.Add(time.Hour),
		Hosts: 60, Excluded: 2, NoWave: 1, Held: 3, PatchSets: 2, Patches: 5,
		Warnings: []string{`wave 4 "mission-critical": <script>alert("warn")</script>`}}
	waves := []WaveView{
		{Order: 0, Name: "lab", Selector: "tier=lab", State: patchwave.WaveRunning, Hosts: 4, Done: 3, Succeeded: 3, Running: 1,
			FirstPass: 100, ErrorBudget: 1, GateSuccessPct: 95, GateMinHosts: 1, StartOffset: day, Soak: 2 * day, Deadline: 5 * day,
			Start: started, Started: true, StartedAt: &started, Note: `gate: soak time until tomorrow <script>alert("note")</script>`,
			Approvers: []string{"approver"}, Awaiting: []string{"approver"}},
		{Order: 1, Name: "pilot", Selector: "tag=pilot|dev", State: patchwave.WaveWaiting, Hosts: 10, ErrorBudget: 1,
			GateSuccessPct: 95, GateMinHosts: 5, StartOffset: 8 * day, Soak: 2 * day, Deadline: 5 * day, Start: released.Add(8 * day),
			Note: "waits for wave 0 to be promoted"},
		{Order: 2, Name: "early", Selector: "tier=business-operational", State: patchwave.WaveWaiting, Hosts: 30, ErrorBudget: 2,
			GateSuccessPct: 97, GateMinHosts: 20, StartOffset: 13 * day, Soak: 2 * day, Deadline: 5 * day, Start: released.Add(13 * day)},
		{Order: 3, Name: "mission-critical", State: patchwave.WaveWaiting, Hosts: 16, ErrorBudget: 1,
			GateSuccessPct: 99, GateMinHosts: 1, StartOffset: 23 * day, Deadline: 5 * day, Start: released.Add(23 * day),
			StartApprovers: []string{"approver"}, AwaitingStart: []string{"approver"}},
	}
	ro := RolloutView{Release: rel, Waves: waves, Now: now, Location: time.UTC,
		Approvals: []patchwave.Approval{{Wave: 0, Stage: "start", Actor: "carol", Role: "approver", Decision: "approve",
			Reason: `lab ready <b>now</b>`, At: started.Add(-time.Hour)}},
		Events: []patchwave.RolloutEvent{
			{ID: 1, Wave: -1, Kind: "release.create", Actor: "admin", Reason: "monthly release of cycle 2026-12", At: released.Add(time.Hour)},
			{ID: 2, Wave: 0, Kind: "wave.start", Actor: "driver", Reason: "its start offset passed", At: started},
			{ID: 3, Wave: 0, Kind: "task.create", Actor: "driver", HostID: 4, Reason: `lab-01 in window <script>alert("event")</script>`, At: started.Add(time.Minute)},
		},
		Freezes: []Interval{{Name: "year-end", Start: released.Add(12 * day), End: released.Add(26 * day)}},
	}
	oob := rel
	oob.Name, oob.Kind, oob.State, oob.StateReason = "oob-2026-12-04T1830", "out-of-band", patchwave.RolloutHalted,
		`wave 0 "lab": 2 failures, more than the 1 allowed <b>halt</b>`
	oob.Reason = "KEV entry for CVE-2024-6387"
	oobRo := ro
	oobRo.Release = oob
	oobRo.Waves = slices.Clone(waves[:2])
	oobRo.Waves[0].Failed, oobRo.Waves[0].Done, oobRo.Waves[0].Succeeded, oobRo.Waves[0].FirstPass = 2, 3, 1, 33.3
	done := rel
	done.Name, done.Cycle, done.State, done.ReleasedAt = "2026-11", "2026-11", patchwave.RolloutCompleted, released.AddDate(0, -1, 0)
	doneRo := ro
	doneRo.Release, doneRo.Waves = done, []WaveView{{Order: 0, Name: "lab", State: patchwave.WavePromoted, Hosts: 4, Done: 4,
		Succeeded: 4, FirstPass: 100, Start: done.ReleasedAt.Add(day), Started: true, Approvers: []string{"approver"}}}

	opening := Interval{Name: "evening", Start: started.Add(2 * time.Hour), End: started.Add(6 * time.Hour), CutOff: started.Add(5*time.Hour + 30*time.Minute)}
	var plan []HostPlan
	for i := range 60 {
		hp := HostPlan{Host: fmt.Sprintf("host-%02d", i), Wave: min(i/15, 3), Patches: 2, PatchSet: "0123456789abcdef", Opening: &opening}
		switch i {
		case 0:
			hp.Host, hp.Task = "lab-01", patchwave.TaskSucceeded
		case 1:
			hp.Host, hp.Task, hp.TaskError = "lab-02", patchwave.TaskFailed, `dpkg error <script>alert("task")</script>`
		case 2:
			hp.Host, hp.Opening, hp.Reason = `<script>alert("host")</script>`, nil, "no maintenance window matches the host"
		}
		plan = append(plan, hp)
	}
	b.ro = &fakeRollouts{
		releases: []ReleaseView{oob, rel, done},
		rollouts: map[string]RolloutView{rel.Name: ro, oob.Name: oobRo, done.Name: doneRo},
		plan:     plan,
		calendar: CalendarView{Now: now, Location: time.UTC,
			Cycles: []CycleView{
				{ID: "2026-11", Release: time.Date(2026, 11, 10, 18, 0, 0, 0, time.UTC), Releases: []ReleaseView{done},
					Phases: []Interval{{Name: "release", Start: time.Date(2026, 11, 10, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 11, 11, 0, 0, 0, 0, time.UTC)},
						{Name: "evaluation", Start: time.Date(2026, 11, 11, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 11, 17, 0, 0, 0, 0, time.UTC)},
						{Name: "production", Start: time.Date(2026, 11, 18, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 12, 9, 0, 0, 0, 0, time.UTC)}}},
				{ID: "2026-12", Release: time.Date(2026, 12, 8, 18, 0, 0, 0, time.UTC), Releases: []ReleaseView{rel, oob},
					Phases: []Interval{{Name: "release", Start: time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 12, 9, 0, 0, 0, 0, time.UTC)},
						{Name: "exclusion-deadline", Start: time.Date(2026, 12, 9, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 12, 10, 0, 0, 0, 0, time.UTC)}}},
			},
			Freezes: []Interval{{Name: "year-end", Start: time.Date(2026, 12, 21, 0, 0, 0, 0, time.UTC), End: time.Date(2027, 1, 4, 0, 0, 0, 0, time.UTC)}},
			Windows: []WindowView{
				{Name: "evening", RRule: "FREQ=DAILY", TimeZone: "Europe/Berlin", Duration: 4 * time.Hour, CutOff: 30 * time.Minute,
					Selector: `tier=lab <script>alert("sel")</script>`, Next: []Interval{opening}},
				{Name: "year-end", RRule: "FREQ=YEARLY", TimeZone: "UTC", Duration: 336 * time.Hour, Blocking: true,
					Next: []Interval{{Name: "year-end", Start: time.Date(2026, 12, 21, 0, 0, 0, 0, time.UTC), End: time.Date(2027, 1, 4, 0, 0, 0, 0, time.UTC)}}},
			}},
	}
	b.ro.calendar.From = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	return b.ro
}

func (b *fakeBackend) Releases(ctx context.Context) ([]ReleaseView, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.rollouts().releases), b.failPolicy
}

func (b *fakeBackend) Rollout(ctx context.Context, u patchwave.User, name string) (RolloutView, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ro, ok := b.rollouts().rollouts[name]
	if !ok {
		return ro, patchwave.Errorf(patchwave.ENotFound, "release %q not found", name)
	}
	ro.Waves = slices.Clone(ro.Waves)
	approver := u.Role == patchwave.RoleAdmin || u.Role == patchwave.RoleApprover
	for i := range ro.Waves {
		w := &ro.Waves[i]
		w.MayApprove = approver && len(w.Awaiting) > 0 && !ro.Release.State.Final()
		w.MayApproveStart = approver && len(w.AwaitingStart) > 0 && !ro.Release.State.Final()
	}
	ro.MaySteer = (u.Role == patchwave.RoleAdmin || u.Role == patchwave.RoleOperator) && !ro.Release.State.Final()
	return ro, nil
}

func (b *fakeBackend) Plan(ctx context.Context, name string, q PlanQuery) (PlanView, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	f := b.rollouts()
	f.planAsked = append(f.planAsked, q)
	if _, ok := f.rollouts[name]; !ok {
		return PlanView{}, patchwave.Errorf(patchwave.ENotFound, "release %q not found", name)
	}
	var hs []HostPlan
	for _, h := range f.plan {
		if (q.Wave == nil || h.Wave == *q.Wave) && (q.Host == "" || strings.EqualFold(h.Host, q.Host)) {
			hs = append(hs, h)
		}
	}
	out := PlanView{Total: len(hs)}
	hs = hs[min(q.Offset, len(hs)):]
	out.Hosts = hs[:min(q.Limit, len(hs))]
	return out, nil
}

func (b *fakeBackend) Calendar(ctx context.Context, from string, n int) (CalendarView, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	f := b.rollouts()
	f.calAsked = append(f.calAsked, fmt.Sprintf("%s/%d", from, n))
	return f.calendar, nil
}

func (b *fakeBackend) ApproveWave(ctx context.Context, u patchwave.User, name string, d WaveDecision) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	f := b.rollouts()
	ro, ok := f.rollouts[name]
	switch {
	case !ok:
		return patchwave.Errorf(patchwave.ENotFound, "release %q not found", name)
	case d.Wave >= len(ro.Waves):
		return patchwave.Errorf(patchwave.ENotFound, "release %s has no wave %d", name, d.Wave)
	case u.Role != patchwave.RoleAdmin && u.Role != patchwave.RoleApprover:
		return patchwave.Errorf(patchwave.EForbidden, "wave %d %q needs the %s approval of approver; %s (%s) is none of them",
			d.Wave, ro.Waves[d.Wave].Name, d.Stage, u.Name, u.Role)
	case d.Decision == "reject" && d.Reason == "":
		return patchwave.Errorf(patchwave.EInvalid, "a rejection needs a reason")
	}
	f.decisions = append(f.decisions, fmt.Sprintf("%s %s %s %d: %s", u.Name, d.Decision, d.Stage, d.Wave, d.Reason))
	return nil
}

func (b *fakeBackend) ActOnRollout(ctx context.Context, u patchwave.User, name, action, reason string, retryFailed bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	f := b.rollouts()
	ro, ok := f.rollouts[name]
	switch {
	case !ok:
		return patchwave.Errorf(patchwave.ENotFound, "release %q not found", name)
	case u.Role != patchwave.RoleAdmin && u.Role != patchwave.RoleOperator:
		return patchwave.Errorf(patchwave.EForbidden, "role %s may not %s rollouts", u.Role, action)
	case reason == "":
		return patchwave.Errorf(patchwave.EInvalid, "%s needs a reason", action)
	case action == "pause" && ro.Release.State != patchwave.RolloutRunning:
		return patchwave.Errorf(patchwave.EConflict, "rollout %s is %s: cannot pause it", name, ro.Release.State)
	}
	f.actions = append(f.actions, fmt.Sprintf("%s %s: %s (retry %v)", u.Name, action, reason, retryFailed))
	return nil
}

// releaseUsers adds a signed-in approver, operator and viewer to ui's
// backend, and returns their session tokens.
func releaseUsers(ui *testUI) (approver, operator, viewer string) {
	ui.b.mu.Lock()
	defer ui.b.mu.Unlock()
	ui.b.sessions["tok-ann"] = patchwave.User{ID: 2, Name: "ann", Role: patchwave.RoleApprover}
	ui.b.sessions["tok-otto"] = patchwave.User{ID: 3, Name: "otto", Role: patchwave.RoleOperator}
	ui.b.sessions["tok-vic"] = patchwave.User{ID: 4, Name: "vic", Role: patchwave.RoleViewer}
	return "tok-ann", "tok-otto", "tok-vic"
}

func TestReleasesPage(t *testing.T) {
	ui := newTestUI(t, false)
	_, _, viewer := releaseUsers(ui)
	resp, body := ui.as(t, viewer, "GET", "/releases", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /releases = %d\n%s", resp.StatusCode, body)
	}
	checkPage(t, "releases", body,
		`<a href="/releases" aria-current="page">Releases</a>`, `<a href="/calendar">Calendar</a>`,
		`3 releases · <span class="badge badge-running">2 rolling out</span>`,
		`<a class="host-link release-link" href="/releases/2026-12">2026-12</a>`,
		`<a class="host-link release-link" href="/releases/oob-2026-12-04T1830">oob-2026-12-04T1830</a>`,
		`<span class="kind-badge kind-out-of-band">Out of band</span>`, `KEV entry for CVE-2024-6387`,
		`<span class="badge badge-error" title=`, `>Halted</span>`, `&lt;b&gt;halt&lt;/b&gt;`,
		`<span class="badge badge-ok">Completed</span>`, `<td data-label="Hosts" class="num">60<span class="cell-sub">2 excluded</span>`,
		`patchwave releases create`)
	if i, j := strings.Index(body, "oob-2026-12-04T1830"), strings.Index(body, `href="/releases/2026-11"`); i < 0 || j < i {
		t.Errorf("releases not in the backend's order (newest first)")
	}

	ui.b.ro.releases = nil
	_, body = ui.as(t, viewer, "GET", "/releases", nil)
	checkPage(t, "no releases", body, "<h2>No releases yet</h2>", "No releases yet\n")

	resp, _ = ui.do(t, "GET", "/releases", nil, false)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Errorf("GET /releases without a session = %d to %q, want the login page", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestReleasePage(t *testing.T) {
	ui := newTestUI(t, false)
	approver, operator, viewer := releaseUsers(ui)
	resp, body := ui.as(t, viewer, "GET", "/releases/2026-12", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /releases/2026-12 = %d\n%s", resp.StatusCode, body)
	}
	checkPage(t, "release page", body,
		`<h1>Release 2026-12</h1>`, `<a href="/releases" aria-current="page">Releases</a>`,
		`60 hosts, 5 patches`, `<code class="hash" title="`+strings.Repeat("ab12", 16)+`">ab12ab12ab12ab12…</code>`,
		`1 warning when the release was made`, `&lt;script&gt;alert(&#34;warn&#34;)&lt;/script&gt;`,
		// Live, and refreshed.
		`<section id="live" class="live" aria-labelledby="live-title" data-live-url="/releases/2026-12/live" data-live-every="10">`,
		`<span class="badge badge-running">Running</span>`,
		`<div class="stat"><dt>Hosts</dt><dd>60</dd></div>`,
		`<div class="stat stat-approved"><dt>Done</dt><dd>3<span class="stat-sub">100% first pass</span></dd></div>`,
		// The waves, with their progress.
		`<tr id="wave-0" class="wave is-running">`, `<code class="selector">tier=lab</code>`,
		`aria-label="3 of 4 hosts done: 100% first-pass success, 1 running"`,
		`<rect class="seg-ok" x="0" y="0" width="75" height="10"><title>3 succeeded first time</title></rect>`,
		`<rect class="seg-running" x="75" y="0" width="25" height="10"><title>1 running</title></rect>`,
		`gate 95% of ≥ 1, soak 2 days`, `0 of 1 failures allowed`,
		`gate: soak time until tomorrow &lt;script&gt;alert(&#34;note&#34;)&lt;/script&gt;`,
		`<span class="badge badge-warn">Lab sign-off</span> awaits approver`,
		`<span class="badge badge-warn">Start approval</span> awaits approver`,
		`waits for wave 0 to be promoted`, `expected in 6 days`,
		// The timeline.
		`<svg class="chart" id="wave-timeline"`, `<title id="wave-timeline-title">Wave timeline of release 2026-12</title>`,
		`class="mark mark-now"`, `class="mark mark-release"`, `class="band-freeze"`, `Change freeze year-end`,
		`<g class="bar bar-running">`, `<g class="bar bar-waiting bar-projected">`,
		// Approvals and events.
		`<strong>wave 0 · lab</strong> start`, `by carol (approver)`, `<q class="reason">lab ready &lt;b&gt;now&lt;/b&gt;</q>`,
		`<code class="event-kind">task.create</code> · wave 0 · lab`, `lab-01 in window &lt;script&gt;alert(&#34;event&#34;)&lt;/script&gt;`,
		`<code class="event-kind">release.create</code> · rollout · admin`,
		// The hosts' plan, first page.
		`<section class="plan" id="plan"`, `<option value="1">1 · pilot</option>`,
		`<a class="host-link" href="/hosts/lab-01">lab-01</a>`, `<span class="badge badge-ok">Patched</span>`,
		`<span class="badge badge-error">Failed</span><span class="cell-sub task-error">dpkg error &lt;script&gt;`,
		`&lt;script&gt;alert(&#34;host&#34;)&lt;/script&gt;`, `<span class="why-not">no maintenance window matches the host</span>`,
		`Hosts 1–50 of 60`, `href="/releases/2026-12?offset=50#plan" rel="next">Next →</a>`,
	)
	// Newest event first.
	if i, j := strings.Index(body, "task.create"), strings.Index(body, "release.create"); i < 0 || j < i {
		t.Errorf("events not newest first")
	}
	// A viewer may neither approve nor steer.
	for _, bad := range []string{`class="approve-form"`, `id="steer"`} {
		if strings.Contains(body, bad) {
			t.Errorf("viewer's release page has %s", bad)
		}
	}
	if q := ui.b.ro.planAsked; len(q) != 1 || q[0].Wave != nil || q[0].Offset != 0 || q[0].Limit != planPageSize {
		t.Errorf("plan asked %+v", q)
	}

	// An approver gets the lab sign-off and the start approval forms; an
	// operator the pause form.
	_, body = ui.as(t, approver, "GET", "/releases/2026-12", nil)
	checkPage(t, "approver's release page", body,
		`<form method="post" action="/releases/2026-12/approvals" class="approve-form" id="approve-promote-0">`,
		`<input type="hidden" name="wave" value="0">`, `<input type="hidden" name="stage" value="promote">`,
		`<label for="approve-promote-0-reason">Sign off the lab tests</label>`,
		`<button type="submit" name="decision" value="approve" class="btn btn-primary btn-approve">Approve</button>`,
		`id="approve-start-3"`, `Approve the start of wave 3`)
	if strings.Contains(body, `id="steer"`) {
		t.Errorf("approver may pause")
	}
	_, body = ui.as(t, operator, "GET", "/releases/2026-12", nil)
	checkPage(t, "operator's release page", body, `<form method="post" class="card steer-form" id="steer" action="/releases/2026-12/pause">`,
		`<input id="steer-reason" name="reason" type="text" required`, `id="pause-button">Pause</button>`)
	if strings.Contains(body, `class="approve-form"`) {
		t.Errorf("operator may approve")
	}
	// Halted: resume, with the reason shown.
	_, body = ui.as(t, operator, "GET", "/releases/oob-2026-12-04T1830", nil)
	checkPage(t, "halted release", body, `<p class="alert alert-error" id="state-reason">`, `&lt;b&gt;halt&lt;/b&gt;`,
		`action="/releases/oob-2026-12-04T1830/resume"`, `name="retry_failed" type="checkbox"`, `id="resume-button">Resume</button>`,
		`<span class="cell-sub over-budget">2 of 1 failures allowed</span>`, `<span class="first-pass below-gate">33.3%</span>`)
	// Completed: no live refresh, no actions.
	_, body = ui.as(t, operator, "GET", "/releases/2026-11", nil)
	checkPage(t, "completed release", body, `<section id="live" class="live" aria-labelledby="live-title">`, `Completed`)
	if strings.Contains(body, "data-live-url") || strings.Contains(body, `id="steer"`) {
		t.Errorf("completed release is refreshed or steered")
	}

	// The live part alone.
	asked := len(ui.b.ro.planAsked)
	resp, body = ui.as(t, viewer, "GET", "/releases/2026-12/live", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET live = %d", resp.StatusCode)
	}
	checkPage(t, "live part", body, `<section id="live"`, `<tr id="wave-0"`, `Live view</li>`)
	if strings.Contains(body, `id="plan"`) || len(ui.b.ro.planAsked) != asked {
		t.Errorf("the live part has the plan, or asked for it")
	}
}

func TestReleasePagePlanQuery(t *testing.T) {
	ui := newTestUI(t, false)
	_, body := ui.do(t, "GET", "/releases/2026-12?wave=1&offset=5&limit=4", nil, true)
	checkPage(t, "plan of wave 1", body, `<option value="1" selected>1 · pilot</option>`, `Hosts 6–9 of 15`,
		`href="/releases/2026-12?limit=4&amp;offset=1&amp;wave=1#plan" rel="prev">`,
		`href="/releases/2026-12?limit=4&amp;offset=9&amp;wave=1#plan" rel="next">`, `href="/releases/2026-12#plan">Clear</a>`)
	q := ui.b.ro.planAsked[len(ui.b.ro.planAsked)-1]
	if q.Wave == nil || *q.Wave != 1 || q.Offset != 5 || q.Limit != 4 {
		t.Errorf("plan query %+v", q)
	}
	_, body = ui.do(t, "GET", "/releases/2026-12?host=LAB-01", nil, true)
	checkPage(t, "plan of one host", body, `value="LAB-01"`, `href="/hosts/lab-01">lab-01</a>`, `Hosts 1–1 of 1`)
	_, body = ui.do(t, "GET", "/releases/2026-12?host=nobody", nil, true)
	checkPage(t, "plan of no host", body, `<h2>No host matches</h2>`)

	for _, bad := range []string{"wave=abc", "wave=-1", "wave=9", "wave=100", "offset=-3", "offset=x", "limit=0", "limit=501", "host=%00"} {
		resp, body := ui.do(t, "GET", "/releases/2026-12?"+bad, nil, true)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "That request did not make sense") {
			t.Errorf("GET /releases/2026-12?%s = %d, want 400", bad, resp.StatusCode)
		}
	}
	_, body = ui.do(t, "GET", "/releases/2026-12?wave=9", nil, true)
	checkPage(t, "unknown wave", body, "This release has no wave 9.")
}

func TestReleaseNotFound(t *testing.T) {
	ui := newTestUI(t, false)
	approver, _, _ := releaseUsers(ui)
	for _, path := range []string{"/releases/2099-01", "/releases/2099-01/live", "/releases/%3Cscript%3E"} {
		resp, body := ui.do(t, "GET", path, nil, true)
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "There is no release") || strings.Contains(body, "<script>") {
			t.Errorf("GET %s = %d:\n%s", path, resp.StatusCode, body)
		}
	}
	resp, body := ui.as(t, approver, "POST", "/releases/2099-01/approvals", url.Values{"wave": {"0"}})
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, `There is no release &#34;2099-01&#34;.`) {
		t.Errorf("approve an unknown release = %d:\n%s", resp.StatusCode, body)
	}
	resp, _ = ui.do(t, "POST", "/releases/2099-01/pause", strings.NewReader("reason=x"), true)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("pause an unknown release = %d, want 404", resp.StatusCode)
	}
	resp, _ = ui.do(t, "GET", "/releases/2026-12/abort", nil, true)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET abort = %d, want 404", resp.StatusCode)
	}
	resp, _ = ui.do(t, "GET", "/releases/2026-12/pause", nil, true)
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET pause = %d, want 405", resp.StatusCode)
	}
}

func TestApproveWave(t *testing.T) {
	ui := newTestUI(t, false)
	approver, operator, viewer := releaseUsers(ui)
	form := url.Values{"wave": {"0"}, "stage": {"promote"}, "decision": {"approve"}, "reason": {"  lab tests passed  "}}
	resp, _ := ui.as(t, approver, "POST", "/releases/2026-12/approvals", form)
	if want := "/releases/2026-12?done=approved&on=0#wave-0"; resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
		t.Fatalf("approve = %d to %q, want 303 to %s", resp.StatusCode, resp.Header.Get("Location"), want)
	}
	if got := ui.b.ro.decisions; len(got) != 1 || got[0] != "ann approve promote 0: lab tests passed" {
		t.Errorf("decisions %q", got)
	}
	_, body := ui.as(t, approver, "GET", "/releases/2026-12?done=approved&on=0", nil)
	checkPage(t, "after approval", body, `<p class="alert alert-info" role="status" id="release-notice">Your approval of wave 0 (lab) is recorded.</p>`)
	form = url.Values{"wave": {"3"}, "stage": {"start"}, "decision": {"approve"}}
	if resp, _ := ui.as(t, approver, "POST", "/releases/2026-12/approvals", form); resp.Header.Get("Location") != "/releases/2026-12?done=approved-start&on=3#wave-3" {
		t.Errorf("start approval went to %q", resp.Header.Get("Location"))
	}

	// A viewer or an operator is refused, with a page that says why.
	for _, tok := range []string{viewer, operator} {
		resp, body := ui.as(t, tok, "POST", "/releases/2026-12/approvals", url.Values{"wave": {"0"}, "decision": {"approve"}})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s approves: %d, want 403", tok, resp.StatusCode)
		}
		checkPage(t, "refused approval", body, `<h1 id="error-title">Not allowed</h1>`, `needs the promote approval of approver`)
	}
	// A rejection without a reason: the page again, the form marked.
	resp, body = ui.as(t, approver, "POST", "/releases/2026-12/approvals", url.Values{"wave": {"0"}, "decision": {"reject"}})
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("reject without a reason = %d, want 400", resp.StatusCode)
	}
	checkPage(t, "rejection without reason", body, `<p class="alert alert-error" role="alert" id="approve-promote-0-error">a rejection needs a reason</p>`,
		`aria-invalid="true" aria-describedby="approve-promote-0-error"`, `<section class="plan" id="plan"`)
	// Bad forms.
	for _, f := range []url.Values{
		{"wave": {"x"}}, {"wave": {"-1"}}, {}, {"wave": {"0"}, "stage": {"end"}}, {"wave": {"0"}, "decision": {"maybe"}},
	} {
		if resp, _ := ui.as(t, approver, "POST", "/releases/2026-12/approvals", f); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("approve %v = %d, want 400", f, resp.StatusCode)
		}
	}
	resp, body = ui.as(t, approver, "POST", "/releases/2026-12/approvals", url.Values{"wave": {"9"}})
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "release 2026-12 has no wave 9") {
		t.Errorf("approve wave 9 = %d:\n%s", resp.StatusCode, body)
	}
	// From another site: refused before anything happens.
	n := len(ui.b.ro.decisions)
	if resp, _ := ui.as(t, approver, "POST", "/releases/2026-12/approvals", url.Values{"wave": {"0"}}, "Sec-Fetch-Site", "cross-site"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site approval = %d, want 403", resp.StatusCode)
	}
	if len(ui.b.ro.decisions) != n {
		t.Errorf("a cross-site approval was recorded")
	}
}

func TestPauseResume(t *testing.T) {
	ui := newTestUI(t, false)
	approver, operator, viewer := releaseUsers(ui)
	resp, _ := ui.as(t, operator, "POST", "/releases/2026-12/pause", url.Values{"reason": {"TLS breaks after the update"}})
	if want := "/releases/2026-12?done=paused#live"; resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
		t.Fatalf("pause = %d to %q, want 303 to %s", resp.StatusCode, resp.Header.Get("Location"), want)
	}
	resp, _ = ui.as(t, operator, "POST", "/releases/oob-2026-12-04T1830/resume", url.Values{"reason": {"freed the dpkg lock"}, "retry_failed": {"1"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("resume = %d", resp.StatusCode)
	}
	if got := ui.b.ro.actions; len(got) != 2 || got[0] != "otto pause: TLS breaks after the update (retry false)" ||
		got[1] != "otto resume: freed the dpkg lock (retry true)" {
		t.Errorf("actions %q", got)
	}
	_, body := ui.as(t, operator, "GET", "/releases/2026-12?done=paused", nil)
	checkPage(t, "after pause", body, `The rollout is paused: no new task starts until it is resumed.`)

	// No reason: the page again, the field marked, the typed text kept.
	resp, body = ui.as(t, operator, "POST", "/releases/2026-12/pause", url.Values{"reason": {"   "}})
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("pause without a reason = %d, want 400", resp.StatusCode)
	}
	checkPage(t, "pause without reason", body, `<p class="alert alert-error" role="alert" id="steer-error">pause needs a reason</p>`,
		`aria-invalid="true" aria-describedby="steer-error"`)
	// The wrong state is a conflict, shown the same way.
	resp, body = ui.as(t, operator, "POST", "/releases/oob-2026-12-04T1830/pause", url.Values{"reason": {"again <b>x</b>"}})
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("pause a halted rollout = %d, want 409", resp.StatusCode)
	}
	checkPage(t, "conflict", body, `cannot pause it`)
	// Viewers and approvers may not steer.
	for _, tok := range []string{viewer, approver} {
		resp, body := ui.as(t, tok, "POST", "/releases/2026-12/pause", url.Values{"reason": {"stop"}})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s pauses: %d, want 403", tok, resp.StatusCode)
		}
		checkPage(t, "refused pause", body, `Not allowed`, `may not pause rollouts`)
	}
	if len(ui.b.ro.actions) != 2 {
		t.Errorf("refused actions were recorded: %q", ui.b.ro.actions)
	}
}

func TestCalendarPage(t *testing.T) {
	ui := newTestUI(t, false)
	_, _, viewer := releaseUsers(ui)
	resp, body := ui.as(t, viewer, "GET", "/calendar", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /calendar = %d\n%s", resp.StatusCode, body)
	}
	checkPage(t, "calendar", body,
		`<a href="/calendar" aria-current="page">Calendar</a>`, `times in UTC`,
		`<svg class="chart" id="cycle-calendar"`, `<text class="tick" x="150" dx="4" y="15">November 2026</text>`,
		`<text class="row-label row-label-head" x="10"`, `>Cycle 2026-12</text>`, `Exclusion deadline`,
		`class="dot dot-release"`, `Release 2026-12 (Running)`, `class="band-freeze"`, `Change freeze year-end`,
		`<span class="key key-phase-0"></span>Release</li>`,
		`<section class="card cycle" id="cycle-2026-12"`, `<dt>Evaluation</dt><dd><time datetime="2026-11-11T00:00:00Z">`,
		`– <time datetime="2026-11-17T00:00:00Z">`, `<a class="release-link" href="/releases/2026-11">2026-11</a>`,
		`<th scope="row">year-end <span class="badge badge-freeze">Change freeze</span></th>`,
		`<code class="selector">tier=lab &lt;script&gt;alert(&#34;sel&#34;)&lt;/script&gt;</code>`,
		`<code class="rrule">FREQ=DAILY</code><span class="cell-sub">Europe/Berlin</span>`,
		`4 hours<span class="cell-sub">no start in the last 30 minutes</span>`, `14 days`,
		`href="/calendar?from=2026-07" rel="prev">`, `href="/calendar?from=2027-03" rel="next">`)
	if got := ui.b.ro.calAsked; len(got) != 1 || got[0] != "/4" {
		t.Errorf("calendar asked %q", got)
	}
	_, body = ui.as(t, viewer, "GET", "/calendar?from=2026-11&count=6", nil)
	checkPage(t, "six cycles", body, `href="/calendar?count=6&amp;from=2026-05"`)
	if got := ui.b.ro.calAsked; got[len(got)-1] != "2026-11/6" {
		t.Errorf("calendar asked %q", got)
	}
	for _, bad := range []string{"from=2026-13", "from=soon", "from=2026-1", "count=0", "count=13", "count=x"} {
		if resp, _ := ui.as(t, viewer, "GET", "/calendar?"+bad, nil); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("GET /calendar?%s = %d, want 400", bad, resp.StatusCode)
		}
	}
}

// TestReleasePagesSecurity checks the release pages under the CSP: no
// inline style (the bars' widths are SVG geometry), no inline script.
func TestReleasePagesSecurity(t *testing.T) {
	ui := newTestUI(t, false)
	approver, _, _ := releaseUsers(ui)
	for _, path := range []string{"/releases", "/releases/2026-12", "/releases/2026-12/live", "/releases/oob-2026-12-04T1830", "/calendar"} {
		resp, body := ui.as(t, approver, "GET", path, nil)
		if resp.StatusCode != 200 {
			t.Errorf("GET %s = %d", path, resp.StatusCode)
		}
		if !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'self'") {
			t.Errorf("GET %s: no CSP", path)
		}
		checkPage(t, path, body)
		if n := len(regexp.MustCompile(`<script`).FindAllString(body, -1)); n != 1 {
			t.Errorf("GET %s has %d script elements, want the one app.js", path, n)
		}
	}
}

func TestRolloutFormatting(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{{0, "none"}, {30 * time.Second, "30 seconds"}, {90 * time.Minute, "1 hour 30 minutes"}, {48 * time.Hour, "2 days"},
		{36 * time.Hour, "1 day 12 hours"}, {336 * time.Hour, "14 days"}} {
		if got := span(tc.d); got != tc.want {
			t.Errorf("span(%s) = %q, want %q", tc.d, got, tc.want)
		}
	}
	ref := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		t    time.Time
		want string
	}{{ref.Add(-30 * time.Second), "just now"}, {ref.Add(-3 * time.Hour), "3 hours ago"}, {ref.Add(6 * 24 * time.Hour), "in 6 days"},
		{ref.AddDate(0, 3, 0), "in 3 months"}} {
		if got := agoAt(ref, tc.t); got != tc.want {
			t.Errorf("agoAt(%s) = %q, want %q", tc.t, got, tc.want)
		}
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip(err)
	}
	p := periodOf(berlin, time.Date(2026, 12, 9, 0, 0, 0, 0, berlin), time.Date(2026, 12, 15, 0, 0, 0, 0, berlin))
	if y := now().Year(); y == 2026 && (p.From != "Wed 9 Dec" || p.To != "Mon 14 Dec") {
		t.Errorf("whole days: %+v", p)
	}
	p = periodOf(berlin, time.Date(2026, 12, 8, 21, 0, 0, 0, time.UTC), time.Date(2026, 12, 8, 22, 30, 0, 0, time.UTC))
	if !strings.HasSuffix(p.From, "22:00") || p.To != "23:30" {
		t.Errorf("an evening in Berlin: %+v", p)
	}
	if p := periodOf(time.UTC, time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 9, 0, 0, 0, 0, time.UTC)); p.To != "" {
		t.Errorf("one day: %+v", p)
	}

	// Progress: segments never run past the bar.
	b := progressOf(WaveView{Hosts: 4, Done: 4, Succeeded: 1, Failed: 2, Running: 3, Missed: 1, FirstPass: 25})
	total := 0.0
	for _, s := range b.Segments {
		total += s.W
	}
	if total > 100.0001 {
		t.Errorf("segments %+v add up to %v%%", b.Segments, total)
	}
	if b := progressOf(WaveView{}); !b.Empty || b.Label != "no hosts" {
		t.Errorf("empty wave: %+v", b)
	}
}
