package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/client"
	"github.com/patchwave/patchwave/internal/plan"
	"github.com/patchwave/patchwave/internal/server"
	"github.com/patchwave/patchwave/internal/store/storetest"
)

// clock is a settable time for the store, shared by the test and the server.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newDrivenServer is a server whose rollout driver the test ticks itself.
func newDrivenServer(t *testing.T, dsn string) *testServer {
	t.Helper()
	var logs strings.Builder
	log := slog.New(slog.NewTextHandler(&lockedWriter{b: &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := server.New(context.Background(), server.Config{DataDir: t.TempDir(), Database: dsn, AdminPassword: adminPassword,
		Listen: "127.0.0.1:0", NoRollouts: true, NoFeedSync: true}, log)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
	})
	return &testServer{Server: srv, URL: hs.URL, Admin: client.New(hs.URL, login(t, hs.URL, "admin", adminPassword)), Log: &logs}
}

// simAgent is an agent played by the test over HTTP: it checks in, runs
// its tasks by changing its package versions, and reports.
type simAgent struct {
	name  string
	c     *client.Client
	pkgs  []patchwave.Package
	facts patchwave.Facts
	fail  func(attempt int) bool
}

func (a *simAgent) checkin(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	resp, err := a.c.Checkin(ctx, patchwave.CheckinRequest{FactsHash: a.facts.Hash(), PackagesHash: patchwave.HashPackages(a.pkgs)})
	if err != nil {
		t.Fatalf("%s checkin: %v", a.name, err)
	}
	for _, task := range resp.Tasks {
		if _, err := a.c.TaskResults(ctx, []patchwave.TaskResult{{TaskID: task.ID, Attempt: task.Attempt, State: patchwave.TaskRunning}}); err != nil {
			t.Fatal(err)
		}
		res := patchwave.TaskResult{TaskID: task.ID, Attempt: task.Attempt, State: patchwave.TaskSucceeded}
		if a.fail != nil && a.fail(task.Attempt) {
			res.State, res.Error, res.Output = patchwave.TaskFailed, "E: Sub-process /usr/bin/dpkg returned an error code (1)", "dpkg: error processing package libssl3"
		} else {
			before := a.pkgs
			a.pkgs = slices.Clone(a.pkgs)
			for i, p := range a.pkgs {
				for _, tp := range task.Patches {
					if p.Name == tp.Name && (tp.Arch == "" || tp.Arch == p.Arch) {
						a.pkgs[i].Version, a.pkgs[i].SourceVersion = tp.Version, ""
					}
				}
			}
			delta := patchwave.DiffPackages(before, a.pkgs)
			if _, err := a.c.Checkin(ctx, patchwave.CheckinRequest{FactsHash: a.facts.Hash(), PackagesHash: patchwave.HashPackages(a.pkgs),
				BaseHash: patchwave.HashPackages(before), Delta: &delta}); err != nil {
				t.Fatal(err)
			}
			res.Output = "Setting up libssl3:amd64 (3.0.15-1~deb12u1) ..."
		}
		// Twice: reports are idempotent.
		for range 2 {
			acc, err := a.c.TaskResults(ctx, []patchwave.TaskResult{res})
			if err != nil || len(acc) != 1 || acc[0] != task.ID {
				t.Fatalf("%s result: %v %v", a.name, acc, err)
			}
		}
	}
}

const rolloutWaves = `[
 {"order":0,"name":"lab","selector":"tier=lab","start_offset":"1d","max_concurrent_pct":100,"max_errors_pct":50,"soak":"1d","gate_success_pct":100,"gate_min_hosts":1,"approvers":["approver"],"deadline":"3d"},
 {"order":1,"name":"pilot","selector":"tag=pilot","start_offset":"3d","max_concurrent":2,"max_errors":1,"soak":"1d","gate_success_pct":60,"gate_min_hosts":3,"deadline":"6d"},
 {"order":2,"name":"early","selector":"tier=business-operational","start_offset":"5d","max_concurrent_pct":50,"max_errors":1,"soak":"12h","gate_success_pct":90,"gate_min_hosts":3,"deadline":"3d"},
 {"order":3,"name":"broad","selector":"tier=business-critical","start_offset":"7d","max_concurrent_pct":50,"max_errors":1,"soak":"12h","gate_success_pct":90,"gate_min_hosts":2,"deadline":"4d"},
 {"order":4,"name":"mission-critical","start_offset":"9d","max_concurrent":1,"gate_success_pct":100,"gate_min_hosts":1,"start_approvers":["approver"],"deadline":"4d"}
]`

// TestRolloutEndToEnd drives a release through five waves with agents
// over HTTP: the lab waits for its sign-off, the pilot halts when a
// second host fails, resumes after the fix with the failed tasks
// retried, the mission-critical wave waits for its start approval, and
// every host ends with its patch installed and its finding fixed.
func TestRolloutEndToEnd(t *testing.T) {
	t.Parallel()
	eachDBWith(t, newDrivenServer, func(t *testing.T, ts *testServer) {
		ctx := context.Background()
		clk := &clock{t: time.Date(2026, 12, 8, 19, 0, 0, 0, time.UTC)} // Patch Tuesday, after the 18:00 release
		ts.Store().SetClock(clk.Now)

		pkgs := []patchwave.Package{
			{Name: "libssl3", Version: "3.0.11-1~deb12u2", Arch: "amd64", Source: "openssl"},
			{Name: "openssl", Version: "3.0.11-1~deb12u2", Arch: "amd64"},
			{Name: "zlib1g", Version: "1:1.2.13.dfsg-1", Arch: "amd64", Source: "zlib"},
		}
		var agents []*simAgent
		add := func(prefix string, n int, tier patchwave.Tier, tags ...string) {
			tok := enrollToken(t, ts.Admin, map[string]any{"site": "paris", "tier": tier, "tags": tags, "max_uses": n})
			for i := range n {
				name := fmt.Sprintf("%s-%02d", prefix, i+1)
				e := enroll(t, ts.URL, tok.Token, name)
				a := &simAgent{name: name, c: client.New(ts.URL, e.Credential), pkgs: patchwave.SortPackages(slices.Clone(pkgs)),
					facts: patchwave.Facts{Hostname: name, OS: patchwave.OS{ID: "debian", Family: "debian", Version: "12", Name: "Debian GNU/Linux 12 (bookworm)"}}}
				if _, err := a.c.Checkin(ctx, patchwave.CheckinRequest{FactsHash: a.facts.Hash(), PackagesHash: patchwave.HashPackages(a.pkgs), Facts: &a.facts, Packages: &a.pkgs}); err != nil {
					t.Fatal(err)
				}
				agents = append(agents, a)
			}
		}
		add("lab", 2, patchwave.TierLab)
		add("pilot", 5, patchwave.TierBusinessOperational, "pilot")
		add("web", 4, patchwave.TierBusinessOperational)
		add("db", 2, patchwave.TierBusinessCritical)
		add("erp", 2, patchwave.TierMissionCritical)
		fixed := false
		for _, a := range agents {
			if a.name == "pilot-02" || a.name == "pilot-04" {
				a.fail = func(attempt int) bool { return !fixed }
			}
		}
		if _, err := ts.Admin.ImportFeed(ctx, "debian", "osv", strings.NewReader(osvRecord("DSA-5764-1", "2026-12-08T00:00:00Z", "openssl", "3.0.15-1~deb12u1", "CVE-2024-5535"))); err != nil {
			t.Fatal(err)
		}
		if _, err := ts.Admin.PutBaseline(ctx, json.RawMessage(`{"name":"all","rules":[{"min_severity":"low"}]}`), ""); err != nil {
			t.Fatal(err)
		}
		waitAssessed(t, ts)
		if _, err := ts.Admin.CreateWindow(ctx, client.Window{Name: "nightly", RRule: "FREQ=DAILY", Start: "2026-01-01T22:00", TimeZone: "UTC", Duration: "4h", CutOff: "30m"}); err != nil {
			t.Fatal(err)
		}
		var ws []plan.WaveJSON
		if err := json.Unmarshal([]byte(rolloutWaves), &ws); err != nil {
			t.Fatal(err)
		}
		var warnings []string
		ts.Admin.OnWarning = func(m string) { warnings = append(warnings, m) }
		// A gate naming a user nobody is could never pass: stored, with a warning.
		bad := slices.Clone(ws)
		bad[4].StartApprovers = []string{"olga"}
		if _, err := ts.Admin.PutWaves(ctx, bad); err != nil {
			t.Fatal(err)
		}
		if w := strings.Join(warnings, "\n"); !strings.Contains(w, `wave 4 "mission-critical": no user can approve as "olga"`) {
			t.Errorf("waves warnings %q", warnings)
		}
		if _, err := ts.Admin.PutWaves(ctx, ws); err != nil {
			t.Fatal(err)
		}
		if _, err := ts.Admin.CreateUser(ctx, client.NewUser{Name: "ann", Password: "password-ann", Role: patchwave.RoleApprover}); err != nil {
			t.Fatal(err)
		}
		ann := client.New(ts.URL, login(t, ts.URL, "ann", "password-ann"))
		vi := viewer(t, ts)

		warnings = nil
		rel, err := ts.Admin.CreateRelease(ctx, client.ReleaseRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if rel.Name != "2026-12" || rel.Kind != "monthly" || !rel.ReleasedAt.Equal(time.Date(2026, 12, 8, 18, 0, 0, 0, time.UTC)) ||
			rel.Summary.Hosts != 15 || rel.Summary.PatchSets != 1 || rel.Summary.Patches != 2 || rel.State != patchwave.RolloutScheduled || len(rel.ContentHash) != 64 {
			t.Fatalf("release %+v", rel)
		}
		if len(warnings) != 0 {
			t.Errorf("release warnings %q", warnings)
		}
		sets, err := ts.Admin.PatchSets(ctx, rel.Name)
		if err != nil || len(sets) != 1 || len(sets[0].Patches) != 2 || sets[0].Patches[0].Package != "libssl3" || sets[0].Patches[0].Version != "3.0.15-1~deb12u1" {
			t.Fatalf("patch sets %+v %v", sets, err)
		}
		// A second release of the same cycle needs another name.
		_, err = ts.Admin.CreateRelease(ctx, client.ReleaseRequest{})
		wantErr(t, "same cycle twice", err, patchwave.EConflict, "already exists")

		// The plan, before anything runs: lab on the 9th at 22:00, web from the 13th.
		p, err := ts.Admin.Plan(ctx, rel.Name, "", -1, 0)
		if err != nil || p.Total != 15 || len(p.Waves) != 5 {
			t.Fatalf("plan %+v %v", p, err)
		}
		slot := func(name string) plan.HostSlot {
			for _, s := range p.Hosts {
				if s.Hostname == name {
					return s
				}
			}
			t.Fatalf("no plan for %s", name)
			return plan.HostSlot{}
		}
		if s := slot("lab-01"); s.Opening == nil || !s.Opening.Start.Equal(time.Date(2026, 12, 9, 22, 0, 0, 0, time.UTC)) || s.Wave != 0 || s.Patches != 2 {
			t.Errorf("lab-01 plan %+v", s)
		}
		if s := slot("web-01"); s.Opening == nil || !s.Opening.Start.Equal(time.Date(2026, 12, 13, 22, 0, 0, 0, time.UTC)) || s.Wave != 2 {
			t.Errorf("web-01 plan %+v", s)
		}

		explain := func(host string) string {
			t.Helper()
			e, err := vi.Explain(ctx, rel.Name, host)
			if err != nil {
				t.Fatal(err)
			}
			return e.Answer
		}
		if a := explain("web-01"); !strings.Contains(a, `wave 2 "early" has not started`) {
			t.Errorf("explain web-01 before the start: %q", a)
		}

		var halted, resumed, labApproved, mcApproved bool
		end := clk.Now().AddDate(0, 1, 0)
		for clk.Now().Before(end) {
			if err := ts.Driver().Tick(ctx); err != nil {
				t.Fatal(err)
			}
			ro, err := ts.Admin.Rollout(ctx, rel.Name)
			if err != nil {
				t.Fatal(err)
			}
			if ro.Release.State == patchwave.RolloutCompleted {
				break
			}
			if !labApproved && strings.Contains(ro.Waves[0].Note, "waiting for the promotion approval of approver") {
				// Nobody else may sign the lab off.
				_, err := vi.Approve(ctx, rel.Name, 0, "", "", "")
				wantErr(t, "viewer approves", err, patchwave.EForbidden, "needs the promote approval of approver")
				if _, err := ann.Approve(ctx, rel.Name, 0, "", "", "lab tests passed"); err != nil {
					t.Fatal(err)
				}
				labApproved = true
			}
			if ro.Release.State == patchwave.RolloutHalted && !halted {
				halted = true
				if !strings.Contains(ro.Release.StateReason, `wave 1 "pilot": 2 tasks failed, 1 allowed`) || ro.Waves[1].Failed != 2 {
					t.Errorf("halt: %q, wave 1 %+v", ro.Release.StateReason, ro.Waves[1])
				}
				if a := explain("web-01"); !strings.Contains(a, `the rollout is halted: wave 1 "pilot": 2 tasks failed`) {
					t.Errorf("explain web-01 during the halt: %q", a)
				}
				e, err := ts.Admin.Explain(ctx, rel.Name, "pilot-02")
				if err != nil || !strings.Contains(e.Answer, "the install failed") || e.Task == nil || e.Task.Attempt != 1 {
					t.Errorf("explain pilot-02: %+v %v", e, err)
				}
				_, err = vi.RolloutAct(ctx, rel.Name, "resume", "fixed", true)
				wantErr(t, "viewer resumes", err, patchwave.EForbidden, "may not")
				_, err = ts.Admin.RolloutAct(ctx, rel.Name, "resume", "", true)
				wantErr(t, "resume without a reason", err, patchwave.EInvalid, "needs a reason")
				fixed = true
				ro, err := ts.Admin.RolloutAct(ctx, rel.Name, "resume", "freed the dpkg lock held by a stuck job", true)
				if err != nil || ro.Release.State != patchwave.RolloutRunning {
					t.Fatalf("resume: %+v %v", ro.Release, err)
				}
				_, err = ts.Admin.RolloutAct(ctx, rel.Name, "resume", "again", false)
				wantErr(t, "resume a running rollout", err, patchwave.EConflict, "cannot resume")
				resumed = true
			}
			if !mcApproved && strings.Contains(ro.Waves[4].Note, "waiting for the start approval of approver") {
				if _, err := ann.Approve(ctx, rel.Name, 4, plan.StageStart, "", "business owner agrees"); err != nil {
					t.Fatal(err)
				}
				mcApproved = true
			}
			for _, a := range agents {
				a.checkin(t)
			}
			clk.Add(30 * time.Minute)
		}
		ro, err := ts.Admin.Rollout(ctx, rel.Name)
		if err != nil || ro.Release.State != patchwave.RolloutCompleted {
			t.Fatalf("rollout at %v: %+v %v", clk.Now(), ro, err)
		}
		if !halted || !resumed || !labApproved || !mcApproved {
			t.Fatalf("halted %v resumed %v lab %v mc %v", halted, resumed, labApproved, mcApproved)
		}
		if ro.Waves[1].Done != 5 || ro.Waves[1].Succeeded != 3 || ro.Waves[1].FirstPass != 60 || ro.Waves[1].Failed != 0 {
			t.Errorf("pilot wave %+v", ro.Waves[1])
		}
		if len(ro.Approvals) != 2 {
			t.Errorf("approvals %+v", ro.Approvals)
		}
		tasks, next, err := ts.Admin.Tasks(ctx, rel.Name, client.TaskQuery{Wave: -1, Limit: 1000})
		if err != nil || next != "" || len(tasks) != 15 {
			t.Fatalf("%d tasks, next %q, %v", len(tasks), next, err)
		}
		for _, tk := range tasks {
			if tk.State != patchwave.TaskSucceeded || tk.StartedAt == nil || tk.StartedAt.Hour() < 22 && tk.StartedAt.Hour() >= 2 {
				t.Errorf("task %+v", tk)
			}
		}
		if a := explain("erp-02"); !strings.Contains(a, "patched: the task succeeded") {
			t.Errorf("explain erp-02 at the end: %q", a)
		}
		// Every host got its patch: the findings are fixed.
		waitAssessed(t, ts)
		open, _, err := ts.Admin.Findings(ctx, patchwave.FindingFilter{Package: "libssl3"})
		if err != nil || len(open) != 0 {
			t.Errorf("open libssl3 findings after the rollout: %d %v", len(open), err)
		}
		events, err := ts.Admin.Events(ctx, rel.Name, "", 1000)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, e := range events {
			kinds = append(kinds, e.Kind)
			t.Logf("%s wave %d %s by %s: %s", e.At.Format("Mon 02 Jan 15:04"), e.Wave, e.Kind, e.Actor, e.Reason)
		}
		for _, k := range []string{"release.create", "rollout.start", "wave.promote.approve", "rollout.halt", "rollout.resume", "wave.start.approve", "rollout.complete"} {
			if !slices.Contains(kinds, k) {
				t.Errorf("no %s event: %v", k, kinds)
			}
		}
		if !auditHas(t, ts.Admin, "rollout.resume") || !auditHas(t, ts.Admin, "release.create") {
			t.Error("rollout actions are not audited")
		}
		// A finished rollout takes no more actions.
		_, err = ts.Admin.RolloutAct(ctx, rel.Name, "pause", "too late", false)
		wantErr(t, "pause a completed rollout", err, patchwave.EConflict, "completed")
	})
}

// eachDBWith is eachDB with another server constructor.
func eachDBWith(t *testing.T, mk func(*testing.T, string) *testServer, fn func(t *testing.T, ts *testServer)) {
	for _, d := range storetest.DSNs(t) {
		t.Run(d.Name, func(t *testing.T) {
			dsn := d.URL
			if d.Name == "sqlite" {
				dsn = ""
			}
			fn(t, mk(t, dsn))
		})
	}
}

// TestReleaseBadInput: bad requests are refused with clear errors and
// leave nothing behind.
func TestReleaseBadInput(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, ts *testServer) {
		ctx := context.Background()
		adminTok := login(t, ts.URL, "admin", adminPassword)
		ts.Store().SetClock(func() time.Time { return time.Date(2026, 12, 9, 12, 0, 0, 0, time.UTC) })
		_, err := ts.Admin.CreateRelease(ctx, client.ReleaseRequest{})
		wantErr(t, "nothing to install", err, patchwave.EInvalid, "would install nothing")
		_, err = ts.Admin.CreateRelease(ctx, client.ReleaseRequest{OutOfBand: true})
		wantErr(t, "out of band without a reason", err, patchwave.EInvalid, "needs a reason")
		_, err = ts.Admin.CreateRelease(ctx, client.ReleaseRequest{Cycle: "2026-13"})
		wantErr(t, "bad cycle", err, patchwave.EInvalid, "want YYYY-MM")
		_, err = ts.Admin.CreateRelease(ctx, client.ReleaseRequest{ReleasedAt: "2026-12-01"})
		wantErr(t, "released_at for a monthly release", err, patchwave.EInvalid, "out-of-band")
		_, err = ts.Admin.CreateRelease(ctx, client.ReleaseRequest{Name: "a/b"})
		wantErr(t, "slash in the name", err, patchwave.EInvalid, "slash")
		if rels, err := ts.Admin.Releases(ctx, false); err != nil || len(rels) != 0 {
			t.Errorf("releases after bad input: %+v %v", rels, err)
		}
		for _, tc := range []struct{ body, msg string }{
			{`{"waves":[]}`, "none given"},
			{`{"waves":[{"order":0,"name":"a","soak":"two days"}]}`, "soak"},
			{`{"waves":[{"order":0,"name":"a"},{"order":0,"name":"b"}]}`, "used twice"},
			{`{"waves":[{"order":0,"name":"a","max_errors_pct":150}]}`, "max errors % 150"},
			{`{"waves":[{"order":0,"name":"a","reboot":"sometimes"}]}`, "reboot"},
			{`{"waves":[{"order":0,"name":"a","frob":1}]}`, "unknown field"},
		} {
			status, _, msg := call(t, "PUT", ts.URL+"/api/v1/waves", adminTok, "application/json", []byte(tc.body))
			if status != 400 || !strings.Contains(string(msg), tc.msg) {
				t.Errorf("PUT waves %s: %d %s, want 400 %q", tc.body, status, msg, tc.msg)
			}
		}
		if ws, err := ts.Admin.Waves(ctx); err != nil || len(ws) != 5 || ws[0].Name != "lab" {
			t.Errorf("waves after bad input: %+v %v", ws, err)
		}
		_, err = ts.Admin.Rollout(ctx, "no-such-release")
		wantErr(t, "unknown release", err, patchwave.ENotFound, "not found")
		status, _, msg := call(t, "GET", ts.URL+"/api/v1/rollouts/x/explain", adminTok, "", nil)
		if status != 404 && status != 400 {
			t.Errorf("explain of an unknown release: %d %s", status, msg)
		}
		// An agent may not report results for tasks with a user token, nor
		// send garbage.
		status, _, _ = call(t, "POST", ts.URL+"/api/v1/agent/results", adminTok, "application/json", []byte(`{"results":[]}`))
		if status != 401 {
			t.Errorf("results with a user token: %d", status)
		}
		tok := enrollToken(t, ts.Admin, map[string]any{})
		e := enroll(t, ts.URL, tok.Token, "h1")
		for _, tc := range []struct{ body, msg string }{
			{`{"results":[]}`, "results is empty"},
			{`{"results":[{"task_id":0,"attempt":1,"state":"succeeded"}]}`, "must be positive"},
			{`{"results":[{"task_id":1,"attempt":1,"state":"done"}]}`, `state "done"`},
			{`{"results":[{"task_id":1,"attempt":1,"state":"failed","error":"a\u0001b"}]}`, "control character"},
			{fmt.Sprintf(`{"results":[{"task_id":1,"attempt":1,"state":"failed","output":%q}]}`, bytes.Repeat([]byte("x"), patchwave.MaxTaskOutput+1)), "at most"},
		} {
			status, _, msg := call(t, "POST", ts.URL+"/api/v1/agent/results", e.Credential, "application/json", []byte(tc.body))
			if status != 400 || !strings.Contains(string(msg), tc.msg) {
				t.Errorf("results %.60s: %d %s, want 400 %q", tc.body, status, msg, tc.msg)
			}
		}
		// A result for a task the host does not have is acknowledged and changes nothing.
		acc, err := client.New(ts.URL, e.Credential).TaskResults(ctx, []patchwave.TaskResult{{TaskID: 999, Attempt: 1, State: patchwave.TaskSucceeded}})
		if err != nil || len(acc) != 1 {
			t.Errorf("unknown task result: %v %v", acc, err)
		}
	})
}
