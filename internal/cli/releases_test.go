package cli

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/client"
	"github.com/patchwave/patchwave/internal/server"
)

// TestReleaseCommands takes a release from creation to completion
// through the command line: waves set, releases create/list/show/patches,
// plan, rollouts show/explain/pause/resume/tasks/events and approvals,
// with the server's driver ticked over a simulated week and two agents
// played over HTTP.
func TestReleaseCommands(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 12, 8, 19, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	srv, err := server.New(t.Context(), server.Config{DataDir: t.TempDir(), AdminPassword: adminPassword, Listen: "127.0.0.1:0", NoRollouts: true, NoFeedSync: true},
		slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	srv.Store().SetClock(clock)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	url := hs.URL
	ctx := context.Background()

	admin := newTestEnv(t, nil)
	admin.login(t, url, "admin", adminPassword)
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}

	// Two hosts with an agent, one with a missing patch each.
	type agent struct {
		c     *client.Client
		facts patchwave.Facts
		pkgs  []patchwave.Package
	}
	var agents []*agent
	for _, h := range []struct{ name, tier string }{{"lab-01", "lab"}, {"web-01", "business-operational"}} {
		var tok patchwave.EnrollToken
		decode(t, admin.ok(t, "", "enroll-tokens", "create", "--tier", h.tier, "-o", "json"), &tok)
		facts := patchwave.Facts{Hostname: h.name, OS: patchwave.OS{ID: "debian", Family: "debian", Version: "12"}}
		e, err := client.New(url, "").Enroll(ctx, patchwave.EnrollRequest{Token: tok.Token, Facts: facts})
		if err != nil {
			t.Fatal(err)
		}
		a := &agent{c: client.New(url, e.Credential), facts: facts, pkgs: []patchwave.Package{{Name: "curl", Version: "7.88.1-10+deb12u7", Arch: "amd64"}}}
		if _, err := a.c.Checkin(ctx, patchwave.CheckinRequest{FactsHash: facts.Hash(), PackagesHash: patchwave.HashPackages(a.pkgs), Facts: &facts, Packages: &a.pkgs}); err != nil {
			t.Fatal(err)
		}
		agents = append(agents, a)
	}
	osv := `{"id":"DSA-5800-1","modified":"2026-12-08T00:00:00Z","published":"2026-12-08T00:00:00Z","aliases":["CVE-2026-1000"],
	 "affected":[{"package":{"ecosystem":"Debian:12","name":"curl"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"7.88.1-10+deb12u8"}]}]}],
	 "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}`
	admin.ok(t, "", "feeds", "import", "--feed", "debian", "--kind", "osv", write("dsa.json", osv))
	admin.ok(t, `{"name":"all","rules":[{"min_severity":"low"}]}`, "baselines", "apply", "-")
	if err := srv.Reassess(ctx); err != nil {
		t.Fatal(err)
	}
	admin.ok(t, "", "windows", "add", "nightly", "--rrule", "FREQ=DAILY", "--start", "2026-01-01T22:00", "--duration", "4h", "--cut-off", "30m")

	// The waves: bad files are refused, a good one replaces the plan.
	r := admin.run(t, "", "waves", "set", write("bad.json", `[{"order":0,"name":"lab","soak":"a while"}]`))
	if r.code != 1 || !strings.Contains(r.stderr, `soak "a while"`) {
		t.Errorf("waves set with a bad soak: %d %q", r.code, r.stderr)
	}
	out := admin.ok(t, "", "waves", "set", write("waves.json", `[
	 {"order":0,"name":"lab","selector":"tier=lab","start_offset":"1d","soak":"12h","gate_success_pct":100,"gate_min_hosts":1,"approvers":["approver"]},
	 {"order":1,"name":"rest","start_offset":"2d","max_concurrent":1,"gate_success_pct":100}]`))
	if !strings.Contains(out, "Wave plan replaced: 2 waves.") || !strings.Contains(out, "(every host left)") || !strings.Contains(out, "promote: approver") {
		t.Errorf("waves set printed:\n%s", out)
	}

	out = admin.ok(t, "", "releases", "create")
	if !strings.Contains(out, "Release 2026-12 created (monthly, cycle 2026-12)") || !strings.Contains(out, "2 to patch, 0 excluded") ||
		!strings.Contains(out, "0 lab: 1 hosts from Wed 12-09 18:00") {
		t.Errorf("releases create printed:\n%s", out)
	}
	if out := admin.ok(t, "", "releases", "list"); !strings.Contains(out, "2026-12") || !strings.Contains(out, "scheduled") {
		t.Errorf("releases list:\n%s", out)
	}
	if out := admin.ok(t, "", "releases", "patches", "2026-12"); !strings.Contains(out, "curl") || !strings.Contains(out, "7.88.1-10+deb12u8") || !strings.Contains(out, "DSA-5800-1") {
		t.Errorf("releases patches:\n%s", out)
	}
	out = admin.ok(t, "", "plan", "2026-12")
	if !strings.Contains(out, "Release 2026-12: 2 hosts.") || !strings.Contains(out, "lab-01") || !strings.Contains(out, "Wed 2026-12-09 22:00–Thu 2026-12-10 02:00 UTC (cut-off 01:30)") ||
		!strings.Contains(out, "Thu 2026-12-10 22:00") {
		t.Errorf("plan:\n%s", out)
	}
	var pl client.Plan
	decode(t, admin.ok(t, "", "plan", "2026-12", "--host", "web-01", "-o", "json"), &pl)
	if len(pl.Hosts) != 1 || pl.Hosts[0].Hostname != "web-01" || pl.Hosts[0].Wave != 1 {
		t.Errorf("plan --host: %+v", pl)
	}
	if out := admin.ok(t, "", "rollouts", "explain", "2026-12", "--host", "web-01"); !strings.Contains(out, `wave 1 "rest" has not started`) {
		t.Errorf("explain:\n%s", out)
	}
	if r := admin.run(t, "", "rollouts", "pause", "2026-12"); r.code != 2 || !strings.Contains(r.stderr, "--reason is required") {
		t.Errorf("pause without a reason: %d %q", r.code, r.stderr)
	}
	if out := admin.ok(t, "", "rollouts", "pause", "2026-12", "--reason", "waiting for the change board"); !strings.Contains(out, "is paused") {
		t.Errorf("pause: %s", out)
	}
	if out := admin.ok(t, "", "rollouts", "explain", "2026-12", "--host", "lab-01"); !strings.Contains(out, "the rollout is paused") {
		t.Errorf("explain while paused:\n%s", out)
	}
	admin.ok(t, "", "rollouts", "resume", "2026-12", "--reason", "the change board agreed")
	admin.fails(t, "", "wave 9", "approvals", "approve", "2026-12", "--wave", "9")

	// A simulated week: the driver ticks every half hour and the agents check in.
	approved := false
	for range 7 * 48 {
		if err := srv.Driver().Tick(ctx); err != nil {
			t.Fatal(err)
		}
		for _, a := range agents {
			resp, err := a.c.Checkin(ctx, patchwave.CheckinRequest{FactsHash: a.facts.Hash(), PackagesHash: patchwave.HashPackages(a.pkgs)})
			if err != nil {
				t.Fatal(err)
			}
			for _, task := range resp.Tasks {
				before := a.pkgs
				a.pkgs = []patchwave.Package{{Name: "curl", Version: task.Patches[0].Version, Arch: "amd64"}}
				d := patchwave.DiffPackages(before, a.pkgs)
				if _, err := a.c.Checkin(ctx, patchwave.CheckinRequest{FactsHash: a.facts.Hash(), PackagesHash: patchwave.HashPackages(a.pkgs), BaseHash: patchwave.HashPackages(before), Delta: &d}); err != nil {
					t.Fatal(err)
				}
				if _, err := a.c.TaskResults(ctx, []patchwave.TaskResult{{TaskID: task.ID, Attempt: task.Attempt, State: patchwave.TaskSucceeded}}); err != nil {
					t.Fatal(err)
				}
			}
		}
		if !approved {
			show := admin.ok(t, "", "rollouts", "show", "2026-12")
			if strings.Contains(show, "waiting for the promotion approval of approver") {
				if !strings.Contains(show, "[####################]") {
					t.Errorf("show before the sign-off:\n%s", show)
				}
				out := admin.ok(t, "", "approvals", "approve", "2026-12", "--wave", "0", "--reason", "lab is fine")
				if !strings.Contains(out, "Wave 0 of 2026-12: promote approved by admin.") {
					t.Errorf("approve: %s", out)
				}
				approved = true
			}
		}
		mu.Lock()
		now = now.Add(30 * time.Minute)
		mu.Unlock()
	}
	var ro client.Rollout
	decode(t, admin.ok(t, "", "rollouts", "show", "2026-12", "-o", "json"), &ro)
	if ro.Release.State != patchwave.RolloutCompleted || !approved {
		t.Fatalf("rollout %+v (approved %v)", ro, approved)
	}
	out = admin.ok(t, "", "rollouts", "tasks", "2026-12")
	if strings.Count(out, "succeeded") != 2 || !strings.Contains(out, "nightly") {
		t.Errorf("tasks:\n%s", out)
	}
	out = admin.ok(t, "", "rollouts", "events", "2026-12")
	for _, want := range []string{"release.create", "rollout.pause", "rollout.resume", "wave.promote.approve", "rollout.complete", "the change board agreed"} {
		if !strings.Contains(out, want) {
			t.Errorf("events lack %q:\n%s", want, out)
		}
	}
	if out := admin.ok(t, "", "approvals", "list", "2026-12"); !strings.Contains(out, "admin (admin)") || !strings.Contains(out, "lab is fine") {
		t.Errorf("approvals list:\n%s", out)
	}
	if out := admin.ok(t, "", "rollouts", "explain", "2026-12", "--host", "web-01"); !strings.Contains(out, "patched: the task succeeded") {
		t.Errorf("explain at the end:\n%s", out)
	}
	admin.fails(t, "", "completed", "rollouts", "abort", "2026-12", "--reason", "too late")

	// An out-of-band release for one CVE: nothing is left to patch now.
	admin.fails(t, "", "would install nothing", "releases", "create", "--out-of-band", "--cve", "CVE-2026-1000", "--reason", "KEV")
}
