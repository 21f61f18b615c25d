package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/client"
)

// TestPolicyScenario: hosts of each tier with findings, then the policy,
// then compliance states and due dates as expected; an exception makes a
// host compliant with exceptions, and its expiry flips it back.
func TestPolicyScenario(t *testing.T) {
	eachDB(t, func(t *testing.T, ts *testServer) {
		ctx := context.Background()
		start := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
		now := start
		ts.Store().SetClock(func() time.Time { return now })
		reassess := func() {
			t.Helper()
			c, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			if err := ts.Reassess(c); err != nil {
				t.Fatal(err)
			}
		}
		pkgs := []patchwave.Package{{Name: "libssl3", Version: "3.0.11-1~deb12u2", Arch: "amd64", Source: "openssl"}}
		tiers := map[string]patchwave.Tier{"shop-01": patchwave.TierMissionCritical, "files-01": patchwave.TierBusinessOperational, "lab-01": patchwave.TierLab}
		for name, tier := range tiers {
			agentHost(t, ts, name, pkgs)
			tr := tier
			if _, err := ts.Admin.UpdateHost(ctx, name, patchwave.HostUpdate{Tier: &tr}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := ts.Admin.ImportFeed(ctx, "debian", "osv", strings.NewReader(osvRecord("DSA-1", "2026-11-01T00:00:00Z", "openssl", "3.0.15-1~deb12u1", "CVE-2026-0001"))); err != nil {
			t.Fatal(err)
		}
		reassess()
		sla, err := ts.Admin.SLA(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for name, tier := range tiers {
			fs, err := ts.Admin.HostFindings(ctx, name)
			if err != nil || len(fs) != 1 || fs[0].Policy == nil {
				t.Fatalf("%s findings %+v %v", name, fs, err)
			}
			p := fs[0].Policy
			want := start.AddDate(0, 0, sla.Days[tier][patchwave.SeverityCritical])
			if !p.Due.Equal(want) || p.SLA != patchwave.SLAOnTrack || p.Approved || p.Risk.Score <= 0 || len(p.Risk.Parts) == 0 {
				t.Errorf("%s (%s): policy %+v, want due %s", name, tier, p, want)
			}
		}
		// No baseline approves anything yet: nothing is required, all compliant.
		rep, err := ts.Admin.Compliance(ctx, "", "", "")
		if err != nil || rep.Summary["compliant"] != 3 {
			t.Fatalf("compliance without a baseline: %+v %v", rep, err)
		}
		// A global baseline approves security fixes: hosts become non-compliant.
		if _, err := ts.Admin.PutBaseline(ctx, []byte(`{"name":"all","rules":[{"min_severity":"low","approve_after_days":0}]}`), ""); err != nil {
			t.Fatal(err)
		}
		reassess()
		rep, _ = ts.Admin.Compliance(ctx, "", "", "")
		if rep.Summary["non-compliant"] != 3 {
			t.Fatalf("compliance with a baseline: %+v", rep)
		}
		// Eight days on, the mission-critical host is past its window.
		now = start.AddDate(0, 0, 8)
		reassess()
		rep, _ = ts.Admin.Compliance(ctx, "shop-01", "", "")
		if rep.Hosts[0].Compliance != "breached" {
			t.Fatalf("mission-critical host after 8 days: %+v", rep)
		}
		fs, _ := ts.Admin.HostFindings(ctx, "shop-01")
		if fs[0].Policy.SLA != patchwave.SLABreached {
			t.Errorf("finding SLA %+v", fs[0].Policy)
		}
		// A risk acceptance, approved by an approver, covers it.
		if _, err := ts.Admin.CreateUser(ctx, client.NewUser{Name: "ann", Password: "approver-password", Role: patchwave.RoleApprover}); err != nil {
			t.Fatal(err)
		}
		ann := client.New(ts.URL, login(t, ts.URL, "ann", "approver-password"))
		x, err := ts.Admin.CreateException(ctx, patchwave.Exception{Kind: patchwave.ExceptionRiskAcceptance, Host: "shop-01", CVE: "CVE-2026-0001",
			Justification: "payment gateway freeze until the 20th", CompensatingControl: "WAF rule 1234", ExpiresAt: now.AddDate(0, 0, 10)})
		if err != nil {
			t.Fatal(err)
		}
		if x.State != patchwave.ExceptionPending {
			t.Errorf("risk acceptance state %s, want pending", x.State)
		}
		if _, err := ann.DecideException(ctx, x.ID, "approve", "ok for ten days"); err != nil {
			t.Fatal(err)
		}
		reassess()
		rep, _ = ts.Admin.Compliance(ctx, "shop-01", "", "")
		if rep.Hosts[0].Compliance != "compliant-with-exceptions" {
			t.Fatalf("with an approved risk acceptance: %+v", rep)
		}
		all, _, _ := ts.Admin.Findings(ctx, patchwave.FindingFilter{})
		if len(all) != 3 {
			t.Errorf("excepted findings must stay in the counts: %d findings", len(all))
		}
		// The exception expires: breached again, by itself.
		now = now.AddDate(0, 0, 11)
		reassess()
		rep, _ = ts.Admin.Compliance(ctx, "shop-01", "", "")
		if rep.Hosts[0].Compliance != "breached" {
			t.Fatalf("after the exception expired: %+v", rep)
		}
		xs, _ := ts.Admin.Exceptions(ctx, "", "", "", "")
		if len(xs) != 1 || xs[0].State != patchwave.ExceptionExpired {
			t.Errorf("exceptions %+v", xs)
		}
		// Every decision is in the audit trail.
		evs, _ := ts.Admin.Audit(ctx, 0, 200)
		seen := map[string]bool{}
		for _, e := range evs {
			seen[e.Action] = true
		}
		for _, a := range []string{"baseline.create", "exception.create", "exception.approved"} {
			if !seen[a] {
				t.Errorf("no %s audit event", a)
			}
		}
	})
}

func TestPolicyBadInput(t *testing.T) {
	ts := newServer(t, "")
	ctx := context.Background()
	ts.Admin.ImportHosts(ctx, strings.NewReader("hostname,site\nparis-1,paris\nberlin-1,berlin\n"))
	if _, err := ts.Admin.CreateUser(ctx, client.NewUser{Name: "sa", Password: "site-admin-password", Role: patchwave.RoleSiteAdmin, Sites: []string{"paris"}}); err != nil {
		t.Fatal(err)
	}
	sa := client.New(ts.URL, login(t, ts.URL, "sa", "site-admin-password"))
	future := time.Now().AddDate(0, 1, 0)
	for _, c := range []struct {
		name string
		c    *client.Client
		x    patchwave.Exception
		msg  string
	}{
		{"no justification", ts.Admin, patchwave.Exception{Kind: patchwave.ExceptionExclusion, Site: "paris", ExpiresAt: future}, "justification"},
		{"expired", ts.Admin, patchwave.Exception{Kind: patchwave.ExceptionExclusion, Site: "paris", Justification: "quarter-end freeze", ExpiresAt: time.Now().Add(-time.Hour)}, "future"},
		{"unknown kind", ts.Admin, patchwave.Exception{Kind: "waiver", Site: "paris", Justification: "quarter-end freeze", ExpiresAt: future}, "kind"},
		{"site admin elsewhere", sa, patchwave.Exception{Kind: patchwave.ExceptionExclusion, Site: "berlin", Justification: "quarter-end freeze", ExpiresAt: future}, "berlin"},
		{"site admin restriction", sa, patchwave.Exception{Kind: patchwave.ExceptionRestriction, Package: "openssl", Justification: "breaks the app", ExpiresAt: future}, "restriction"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.c.CreateException(ctx, c.x)
			if err == nil || !strings.Contains(strings.ToLower(err.Error()), c.msg) {
				t.Errorf("error %v, want one mentioning %q", err, c.msg)
			}
		})
	}
	x, err := sa.CreateException(ctx, patchwave.Exception{Kind: patchwave.ExceptionExclusion, Site: "paris", Justification: "quarter-end freeze", ExpiresAt: future})
	if err != nil {
		t.Fatalf("site admin's own exclusion: %v", err)
	}
	if _, err := sa.DecideException(ctx, x.ID, "approve", ""); patchwave.ErrorCode(err) != patchwave.EForbidden {
		t.Errorf("site admin approving: %v", err)
	}
	for _, c := range []struct{ body, msg string }{
		{`{"name":"x","rules":[{"min_severity":"severe"}]}`, "severe"},
		{`{"name":"x","rules":[{"approve_until":"next tuesday"}]}`, "next tuesday"},
		{`{"name":"","rules":[]}`, "name"},
		{`{"name":"x","approve":[{"package":"openssl"}],"reject":[{"package":"openssl","mode":"block"}]}`, "openssl"},
	} {
		if _, err := ts.Admin.PutBaseline(ctx, []byte(c.body), ""); err == nil || !strings.Contains(strings.ToLower(err.Error()), c.msg) {
			t.Errorf("baseline %s: %v, want an error mentioning %q", c.body, err, c.msg)
		}
	}
	bad := patchwave.DefaultSLA()
	bad.Days[patchwave.TierLab][patchwave.SeverityHigh] = -1
	if _, err := ts.Admin.PutSLA(ctx, bad); err == nil {
		t.Error("negative SLA days accepted")
	}
	if sla, _ := ts.Admin.SLA(ctx); sla.Days[patchwave.TierLab][patchwave.SeverityHigh] <= 0 {
		t.Error("a refused SLA was stored")
	}
	if _, err := sa.PutSLA(ctx, patchwave.DefaultSLA()); patchwave.ErrorCode(err) != patchwave.EForbidden {
		t.Errorf("site admin changing the SLA: %v", err)
	}
}

func TestTierRulesServiceBaselinesAndWarnings(t *testing.T) {
	ts := newServer(t, "")
	ctx := context.Background()
	tok := enrollToken(t, ts.Admin, map[string]any{"site": "paris", "tags": []string{"shop"}})
	e := enroll(t, ts.URL, tok.Token, "shop-01")
	facts := patchwave.Facts{Hostname: "shop-01", OS: patchwave.OS{ID: "debian", Family: "debian", Version: "12"}, Services: []string{"cron", "nginx", "ssh", "telnetd"}}
	pkgs := []patchwave.Package{{Name: "bash", Version: "5.2.15-2+b7", Arch: "amd64"}}
	if _, err := client.New(ts.URL, e.Credential).Checkin(ctx, patchwave.CheckinRequest{FactsHash: facts.Hash(), PackagesHash: patchwave.HashPackages(pkgs), Facts: &facts, Packages: &pkgs}); err != nil {
		t.Fatal(err)
	}
	var warnings []string
	ts.Admin.OnWarning = func(m string) { warnings = append(warnings, m) }
	if _, err := ts.Admin.CreateTierRule(ctx, client.TierRule{Selector: patchwave.MustParseSelector("tag=shop"), Tier: patchwave.TierMissionCritical}); err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 0 {
		t.Errorf("warnings for a selector that matches: %v", warnings)
	}
	if _, err := ts.Admin.CreateTierRule(ctx, client.TierRule{Selector: patchwave.MustParseSelector("tag=shp"), Tier: patchwave.TierLab}); err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "matches no host") {
		t.Errorf("no warning for a selector that matches nothing: %v", warnings)
	}
	if _, err := ts.Admin.CreateServiceBaseline(ctx, patchwave.ServiceBaseline{Name: "web", Selector: patchwave.MustParseSelector("tag=shop"), Expected: []string{"cron", "nginx", "ssh"}}); err != nil {
		t.Fatal(err)
	}
	if err := ts.Reassess(ctx); err != nil {
		t.Fatal(err)
	}
	h, _ := ts.Admin.Host(ctx, "shop-01")
	if h.Tier != patchwave.TierMissionCritical || h.TierSource != "rule" {
		t.Errorf("tier rule not applied: %s (%s)", h.Tier, h.TierSource)
	}
	fs, _ := ts.Admin.HostFindings(ctx, "shop-01")
	if len(fs) != 1 || fs[0].Package != "service:telnetd" || fs[0].State != patchwave.FindingUnexpectedService || fs[0].Policy == nil {
		t.Fatalf("service findings %+v", fs)
	}
	rep, _ := ts.Admin.Compliance(ctx, "shop-01", "", "")
	if rep.Hosts[0].Compliance != "non-compliant" {
		t.Errorf("host with an unexpected service: %+v", rep.Hosts)
	}
	// A tier set by hand is not overridden by the rule.
	lab := patchwave.TierLab
	if _, err := ts.Admin.UpdateHost(ctx, "shop-01", patchwave.HostUpdate{Tier: &lab}); err != nil {
		t.Fatal(err)
	}
	if err := ts.Reassess(ctx); err != nil {
		t.Fatal(err)
	}
	if h, _ := ts.Admin.Host(ctx, "shop-01"); h.Tier != patchwave.TierLab || h.TierSource != "manual" {
		t.Errorf("manual tier overridden: %s (%s)", h.Tier, h.TierSource)
	}
}
