package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/client"
	"github.com/patchwave/patchwave/internal/server"
)

// TestPolicyScenario: hosts of each tier with findings, then the policy,
// then compliance states and due dates as expected; exclusions (timely, too
// long, late), a restriction and a risk acceptance make hosts compliant
// with exceptions, and an expiry flips one back.
func TestPolicyScenario(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, ts *testServer) {
		ctx := context.Background()
		start := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC) // Patch Tuesday 10 November, deadline the 11th
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
		compliance := func(want map[string]string) {
			t.Helper()
			rep, err := ts.Admin.Compliance(ctx, "", "", "")
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, h := range rep.Hosts {
				got[h.Host] = h.Compliance
			}
			for h, c := range want {
				if got[h] != c {
					t.Errorf("%s is %s, want %s (all: %v)", h, got[h], c, got)
				}
			}
		}
		pkgs := []patchwave.Package{{Name: "libssl3", Version: "3.0.11-1~deb12u2", Arch: "amd64", Source: "openssl"}}
		tiers := map[string]patchwave.Tier{"shop-01": patchwave.TierMissionCritical, "mail-01": patchwave.TierBusinessCritical,
			"files-01": patchwave.TierBusinessOperational, "lab-01": patchwave.TierLab}
		for name, tier := range tiers {
			agentHost(t, ts, name, pkgs)
			tr := tier
			if _, err := ts.Admin.UpdateHost(ctx, name, patchwave.HostUpdate{Tier: &tr}); err != nil {
				t.Fatal(err)
			}
		}
		// An imported asset without an agent is never assessed: unknown.
		if _, err := ts.Admin.ImportHosts(ctx, strings.NewReader("hostname,site,tier\nprinter-01,paris,business-operational\n")); err != nil {
			t.Fatal(err)
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
		if err != nil || rep.Summary["compliant"] != 4 || rep.Summary["unknown"] != 1 {
			t.Fatalf("compliance without a baseline: %+v %v", rep.Summary, err)
		}
		compliance(map[string]string{"printer-01": "unknown"})
		// A global baseline approves security fixes: hosts become non-compliant.
		if _, err := ts.Admin.PutBaseline(ctx, []byte(`{"name":"all","rules":[{"min_severity":"low","approve_after_days":0}]}`), ""); err != nil {
			t.Fatal(err)
		}
		reassess()
		rep, _ = ts.Admin.Compliance(ctx, "", "", "")
		if rep.Summary["non-compliant"] != 4 || rep.Summary["unknown"] != 1 {
			t.Fatalf("compliance with a baseline: %+v", rep.Summary)
		}

		// The Paris site admin excludes files-01 from this month's cycle
		// in time: in effect at once. Excluding it for two cycles needs an
		// approver.
		users := map[string]*client.Client{}
		for _, u := range []client.NewUser{
			{Name: "ann", Password: "approver-password", Role: patchwave.RoleApprover},
			{Name: "sam", Password: "site-admin-password", Role: patchwave.RoleSiteAdmin, Sites: []string{"paris"}},
		} {
			if _, err := ts.Admin.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
			users[u.Name] = client.New(ts.URL, login(t, ts.URL, u.Name, u.Password))
		}
		ann, sam := users["ann"], users["sam"]
		var warnings []string
		sam.OnWarning = func(m string) { warnings = append(warnings, m) }
		timely, err := sam.CreateException(ctx, patchwave.Exception{Kind: patchwave.ExceptionExclusion, Host: "files-01",
			Justification: "month-end closing on the file server", ExpiresAt: time.Date(2026, 12, 7, 23, 0, 0, 0, time.UTC)})
		if err != nil || timely.State != patchwave.ExceptionApproved || timely.Late || timely.Owner != "sam" || len(warnings) != 0 {
			t.Fatalf("timely exclusion %+v %v (warnings %q)", timely, err, warnings)
		}
		long, err := sam.CreateException(ctx, patchwave.Exception{Kind: patchwave.ExceptionExclusion, Host: "files-01",
			Justification: "migration of the file server", ExpiresAt: time.Date(2027, 1, 20, 0, 0, 0, 0, time.UTC)})
		if err != nil || long.State != patchwave.ExceptionPending || long.Late {
			t.Fatalf("long exclusion %+v %v", long, err)
		}
		if len(warnings) != 1 || !strings.Contains(warnings[0], "runs past the end of cycle 2026-11 at 2026-12-08T00:00:00Z") {
			t.Errorf("warnings %q", warnings)
		}
		if _, err := ann.DecideException(ctx, long.ID, "reject", "one cycle is enough"); err != nil {
			t.Fatal(err)
		}
		// A restriction holds openssl back on the lab host, once approved.
		restr, err := ts.Admin.CreateException(ctx, patchwave.Exception{Kind: patchwave.ExceptionRestriction, Host: "lab-01", Package: "openssl",
			Justification: "the lab validates openssl 3.0.15 first", ExpiresAt: start.AddDate(0, 2, 0)})
		if err != nil || restr.State != patchwave.ExceptionPending {
			t.Fatalf("restriction %+v %v", restr, err)
		}
		if _, err := ann.DecideException(ctx, restr.ID, "approve", ""); err != nil {
			t.Fatal(err)
		}
		reassess()
		compliance(map[string]string{"files-01": "compliant-with-exceptions", "lab-01": "compliant-with-exceptions",
			"shop-01": "non-compliant", "mail-01": "non-compliant", "printer-01": "unknown"})

		// Eight days on, the mission-critical host is past its window and
		// the business-critical one at risk.
		now = start.AddDate(0, 0, 8)
		reassess()
		compliance(map[string]string{"shop-01": "breached", "mail-01": "non-compliant"})
		fs, _ := ts.Admin.HostFindings(ctx, "shop-01")
		if fs[0].Policy.SLA != patchwave.SLABreached {
			t.Errorf("finding SLA %+v", fs[0].Policy)
		}
		if fs, _ := ts.Admin.HostFindings(ctx, "mail-01"); fs[0].Policy.SLA != patchwave.SLAAtRisk {
			t.Errorf("business-critical finding after 8 of 10 days: %s", fs[0].Policy.SLA)
		}
		// A risk acceptance, approved by an approver, covers it.
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
		compliance(map[string]string{"shop-01": "compliant-with-exceptions"})
		all, _, _ := ts.Admin.Findings(ctx, patchwave.FindingFilter{})
		if len(all) != 4 {
			t.Errorf("excepted findings must stay in the counts: %d findings", len(all))
		}
		// The exception expires: breached again, by itself. The
		// business-critical host is breached too; its site admin asks to
		// exclude it, late: it waits for an approver.
		now = now.AddDate(0, 0, 11)
		reassess()
		compliance(map[string]string{"shop-01": "breached", "mail-01": "breached", "files-01": "compliant-with-exceptions"})
		late, err := sam.CreateException(ctx, patchwave.Exception{Kind: patchwave.ExceptionExclusion, Host: "mail-01",
			Justification: "the mail migration runs until December", ExpiresAt: time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)})
		if err != nil || late.State != patchwave.ExceptionPending || !late.Late {
			t.Fatalf("late exclusion %+v %v", late, err)
		}
		reassess()
		compliance(map[string]string{"mail-01": "breached"})
		if _, err := ann.DecideException(ctx, late.ID, "approve", "accepted for the migration"); err != nil {
			t.Fatal(err)
		}
		reassess()
		compliance(map[string]string{"mail-01": "compliant-with-exceptions", "shop-01": "breached", "printer-01": "unknown"})
		xs, _ := ts.Admin.Exceptions(ctx, "", "risk-acceptance", "", "")
		if len(xs) != 1 || xs[0].State != patchwave.ExceptionExpired {
			t.Errorf("risk acceptances %+v", xs)
		}
		// The compliance of one host lists its findings, each with its own.
		one, err := ts.Admin.Compliance(ctx, "mail-01", "", "")
		if err != nil || len(one.Hosts) != 1 || len(one.Hosts[0].Findings) != 1 {
			t.Fatalf("compliance of mail-01: %+v %v", one, err)
		}
		if f := one.Hosts[0].Findings[0]; f.Policy == nil || f.Policy.Compliance != patchwave.CompliantWithExceptions ||
			!slices.Equal(f.Policy.ExceptionIDs, []int64{late.ID}) {
			t.Errorf("mail-01 finding %+v", f.Policy)
		}
		// Every decision is in the audit trail, with the objects before and after.
		evs, _ := ts.Admin.Audit(ctx, 0, 500)
		seen := map[string]string{}
		for _, e := range evs { // newest first
			if _, ok := seen[e.Action]; !ok {
				seen[e.Action] = e.Detail
			}
		}
		for _, a := range []string{"baseline.create", "exception.create", "exception.approved", "exception.rejected"} {
			if seen[a] == "" {
				t.Errorf("no %s audit event", a)
			}
		}
		var created struct {
			Before *patchwave.Baseline `json:"before"`
			After  patchwave.Baseline  `json:"after"`
		}
		if err := json.Unmarshal([]byte(seen["baseline.create"]), &created); err != nil || created.Before != nil ||
			created.After.Name != "all" || created.After.CreatedAt.IsZero() || created.After.UpdatedAt.IsZero() {
			t.Errorf("baseline.create detail %s (%v)", seen["baseline.create"], err)
		}
		var decided struct {
			Before, After patchwave.Exception
			Comment       string
		}
		if err := json.Unmarshal([]byte(seen["exception.approved"]), &decided); err != nil || decided.Before.State != patchwave.ExceptionPending ||
			decided.After.State != patchwave.ExceptionApproved || decided.After.Approver != "ann" || decided.Before.Justification == "" ||
			decided.Comment != "accepted for the migration" {
			t.Errorf("exception.approved detail %s (%v)", seen["exception.approved"], err)
		}
	})
}

func TestPolicyBadInput(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, ts *testServer) {
		ctx := context.Background()
		if _, err := ts.Admin.ImportHosts(ctx, strings.NewReader("hostname,site\nparis-1,paris\nberlin-1,berlin\n")); err != nil {
			t.Fatal(err)
		}
		clients := map[string]*client.Client{}
		for _, u := range []client.NewUser{
			{Name: "sa", Password: "site-admin-password", Role: patchwave.RoleSiteAdmin, Sites: []string{"paris"}},
			{Name: "op", Password: "operator-password", Role: patchwave.RoleOperator},
			{Name: "viewer", Password: "viewer-password", Role: patchwave.RoleViewer},
		} {
			if _, err := ts.Admin.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
			clients[u.Name] = client.New(ts.URL, login(t, ts.URL, u.Name, u.Password))
		}
		sa, op := clients["sa"], clients["op"]
		now := time.Now()
		future := now.AddDate(0, 1, 0)
		nextMonth := time.Date(now.Year(), now.Month()+1, 1, 0, 0, 0, 0, time.UTC)
		for _, c := range []struct {
			name string
			c    *client.Client
			x    patchwave.Exception
			msg  string
			code string
		}{
			{"no justification", ts.Admin, patchwave.Exception{Kind: patchwave.ExceptionExclusion, Site: "paris", ExpiresAt: future}, "justification", patchwave.EInvalid},
			{"expired", ts.Admin, patchwave.Exception{Kind: patchwave.ExceptionExclusion, Site: "paris", Justification: "quarter-end freeze", ExpiresAt: now.Add(-time.Hour)}, "future", patchwave.EInvalid},
			{"unknown kind", ts.Admin, patchwave.Exception{Kind: "waiver", Site: "paris", Justification: "quarter-end freeze", ExpiresAt: future}, "kind", patchwave.EInvalid},
			{"a cycle that is over", ts.Admin, patchwave.Exception{Kind: patchwave.ExceptionExclusion, Site: "paris", Cycle: "2025-01", Justification: "quarter-end freeze", ExpiresAt: future}, "cycle 2025-01 is over", patchwave.EInvalid},
			{"ends before its cycle", ts.Admin, patchwave.Exception{Kind: patchwave.ExceptionExclusion, Site: "paris", Cycle: patchwave.CycleAt(nextMonth, time.UTC),
				Justification: "quarter-end freeze", ExpiresAt: now.Add(time.Hour)}, "would exclude the hosts from nothing", patchwave.EInvalid},
			{"site admin elsewhere", sa, patchwave.Exception{Kind: patchwave.ExceptionExclusion, Site: "berlin", Justification: "quarter-end freeze", ExpiresAt: future}, "berlin", patchwave.EForbidden},
			{"site admin, host elsewhere", sa, patchwave.Exception{Kind: patchwave.ExceptionExclusion, Host: "berlin-1", Justification: "quarter-end freeze", ExpiresAt: future}, "berlin", patchwave.EForbidden},
			{"site admin, selector alone", sa, patchwave.Exception{Kind: patchwave.ExceptionExclusion, Selector: patchwave.MustParseSelector("site=berlin"), Justification: "quarter-end freeze", ExpiresAt: future}, "selector alone", patchwave.EForbidden},
			{"site admin restriction", sa, patchwave.Exception{Kind: patchwave.ExceptionRestriction, Package: "openssl", Justification: "breaks the app", ExpiresAt: future}, "restriction", patchwave.EForbidden},
			{"viewer", clients["viewer"], patchwave.Exception{Kind: patchwave.ExceptionExclusion, Site: "paris", Justification: "quarter-end freeze", ExpiresAt: future}, "may not request", patchwave.EForbidden},
		} {
			t.Run(c.name, func(t *testing.T) {
				_, err := c.c.CreateException(ctx, c.x)
				if err == nil || !strings.Contains(strings.ToLower(err.Error()), c.msg) || patchwave.ErrorCode(err) != c.code {
					t.Errorf("error %v, want %s mentioning %q", err, c.code, c.msg)
				}
			})
		}
		if xs, _ := ts.Admin.Exceptions(ctx, "", "", "", ""); len(xs) != 0 {
			t.Errorf("refused exceptions were stored: %+v", xs)
		}
		x, err := sa.CreateException(ctx, patchwave.Exception{Kind: patchwave.ExceptionExclusion, Site: "paris", Justification: "quarter-end freeze", ExpiresAt: future})
		if err != nil {
			t.Fatalf("site admin's own exclusion: %v", err)
		}
		// Narrowed by a selector within their site, it is theirs too.
		if _, err := sa.CreateException(ctx, patchwave.Exception{Kind: patchwave.ExceptionExclusion, Site: "paris", Selector: patchwave.MustParseSelector("tag=pos"),
			Justification: "quarter-end freeze", ExpiresAt: future}); err != nil {
			t.Errorf("site admin's exclusion narrowed by a selector: %v", err)
		}
		pending := x
		if pending.State != patchwave.ExceptionPending {
			pending, err = ts.Admin.CreateException(ctx, patchwave.Exception{Kind: patchwave.ExceptionRestriction, Package: "openssl", Justification: "breaks the app", ExpiresAt: future})
			if err != nil {
				t.Fatal(err)
			}
		}
		for who, c := range map[string]*client.Client{"site admin": sa, "operator": op} {
			if _, err := c.DecideException(ctx, pending.ID, "approve", ""); patchwave.ErrorCode(err) != patchwave.EForbidden {
				t.Errorf("%s approving: %v", who, err)
			}
		}
		if got, _ := ts.Admin.Exception(ctx, pending.ID); got.State != patchwave.ExceptionPending {
			t.Errorf("a refused approval changed the exception: %s", got.State)
		}
		for _, c := range []struct{ body, msg string }{
			{`{"name":"x","rules":[{"min_severity":"severe"}]}`, "severe"},
			{`{"name":"x","rules":[{"approve_until":"next tuesday"}]}`, `rules[0].approve_until: "next tuesday" is not a date`},
			{`{"name":"x","rules":[{},{"approve_until":"2026-02-30"}]}`, "rules[1].approve_until"},
			{`{"name":"x","rules":[{"approve_until":"2026-12-01","bogus":1}]}`, "bogus"},
			{`{"name":"","rules":[]}`, "name"},
			{`{"name":"x","approve":[{"package":"openssl"}],"reject":[{"package":"openssl","mode":"block"}]}`, "openssl"},
			{`{"name":"x","approve":[{"package":"openssl"}],"reject":[{"package":"openssl*"}]}`, "approve[0] (package openssl) never applies: reject[0] (package openssl*)"},
		} {
			if _, err := ts.Admin.PutBaseline(ctx, []byte(c.body), ""); err == nil || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("baseline %s: %v, want an error mentioning %q", c.body, err, c.msg)
			}
		}
		if bs, _ := ts.Admin.Baselines(ctx); len(bs) != 0 {
			t.Errorf("refused baselines were stored: %+v", bs)
		}
		// A plain date is the end of that day, UTC; an approve glob over a
		// rejected package is a carve-out, stored with a warning.
		var warnings []string
		ts.Admin.OnWarning = func(m string) { warnings = append(warnings, m) }
		b, err := ts.Admin.PutBaseline(ctx, []byte(`{"name":"freeze","rules":[{"approve_until":"2026-12-01"}],
			"approve":[{"package":"openssl*"}],"reject":[{"package":"openssl","reason":"3.0.16 breaks the HSM"}]}`), "")
		if err != nil {
			t.Fatal(err)
		}
		if u := b.Rules[0].ApproveUntil; u == nil || !u.Equal(time.Date(2026, 12, 1, 23, 59, 59, 999e6, time.UTC)) {
			t.Errorf("approve_until %v", u)
		}
		if len(warnings) != 1 || !strings.Contains(warnings[0], "reject[0] (package openssl) overrides approve[0] (package openssl*)") {
			t.Errorf("warnings %q", warnings)
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
	})
}

func TestTierRulesServiceBaselinesAndWarnings(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, ts *testServer) {
		ctx := context.Background()
		tok := enrollToken(t, ts.Admin, map[string]any{"site": "paris", "tags": []string{"shop"}})
		e := enroll(t, ts.URL, tok.Token, "shop-01")
		facts := patchwave.Facts{Hostname: "shop-01", OS: patchwave.OS{ID: "debian", Family: "debian", Version: "12"}, Services: []string{"cron", "nginx", "ssh", "telnetd"}}
		pkgs := []patchwave.Package{{Name: "bash", Version: "5.2.15-2+b7", Arch: "amd64"}}
		if _, err := client.New(ts.URL, e.Credential).Checkin(ctx, patchwave.CheckinRequest{FactsHash: facts.Hash(), PackagesHash: patchwave.HashPackages(pkgs), Facts: &facts, Packages: &pkgs}); err != nil {
			t.Fatal(err)
		}
		// A host whose token sets its tier, and one whose token marks it
		// high-exposure.
		enroll(t, ts.URL, enrollToken(t, ts.Admin, map[string]any{"site": "paris", "tags": []string{"shop"}, "tier": "lab"}).Token, "shop-02")
		exposed := enrollToken(t, ts.Admin, map[string]any{"site": "paris", "tags": []string{"shop"}, "high_exposure": true})
		if !exposed.HighExposure {
			t.Errorf("token %+v", exposed)
		}
		enroll(t, ts.URL, exposed.Token, "shop-03")
		var warnings []string
		ts.Admin.OnWarning = func(m string) { warnings = append(warnings, m) }
		no := false
		rule, err := ts.Admin.CreateTierRule(ctx, client.TierRule{Selector: patchwave.MustParseSelector("tag=shop"), Tier: patchwave.TierMissionCritical, HighExposure: &no})
		if err != nil {
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
		host := func(name string) patchwave.Host {
			t.Helper()
			h, err := ts.Admin.Host(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			return h
		}
		if h := host("shop-01"); h.Tier != patchwave.TierMissionCritical || h.TierSource != "rule" || h.TierRule != rule.ID {
			t.Errorf("tier rule not applied: %s (%s, rule %d)", h.Tier, h.TierSource, h.TierRule)
		}
		if h := host("shop-02"); h.Tier != patchwave.TierLab || h.TierSource != "token" {
			t.Errorf("tier from the token overridden by a rule: %s (%s)", h.Tier, h.TierSource)
		}
		if h := host("shop-03"); h.Tier != patchwave.TierMissionCritical || !h.HighExposure || h.ExposureSource != "token" {
			t.Errorf("high exposure from the token: %s, %t (%s)", h.Tier, h.HighExposure, h.ExposureSource)
		}
		fs, _ := ts.Admin.HostFindings(ctx, "shop-01")
		if len(fs) != 1 || fs[0].Package != "service:telnetd" || fs[0].State != patchwave.FindingUnexpectedService || fs[0].Policy == nil {
			t.Fatalf("service findings %+v", fs)
		}
		if got, _, err := ts.Admin.Findings(ctx, patchwave.FindingFilter{State: patchwave.FindingUnexpectedService}); err != nil || len(got) != 1 {
			t.Errorf("findings by state unexpected-service: %d %v", len(got), err)
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
		if h := host("shop-01"); h.Tier != patchwave.TierLab || h.TierSource != "manual" {
			t.Errorf("manual tier overridden: %s (%s)", h.Tier, h.TierSource)
		}
		// Deleting the rule gives its hosts back their default tier.
		if err := ts.Admin.DeletePolicy(ctx, "tier-rules", strconv.FormatInt(rule.ID, 10)); err != nil {
			t.Fatal(err)
		}
		if h := host("shop-03"); h.Tier != patchwave.TierBusinessOperational || h.TierSource != "default" || !h.HighExposure {
			t.Errorf("after the rule was deleted: %s (%s), exposure %t", h.Tier, h.TierSource, h.HighExposure)
		}
		if err := ts.Reassess(ctx); err != nil {
			t.Fatal(err)
		}
		if h := host("shop-03"); h.Tier != patchwave.TierBusinessOperational {
			t.Errorf("another rule applied: %s (%s)", h.Tier, h.TierSource)
		}
		evs, _ := ts.Admin.Audit(ctx, 0, 500)
		var tierEvents []string
		for _, e := range evs {
			switch e.Action {
			case "host.tier-rule":
				tierEvents = append(tierEvents, e.Actor+" "+e.Object)
				if !strings.Contains(e.Detail, `"before":{"tier":`) || !strings.Contains(e.Detail, `"after":{"tier":`) {
					t.Errorf("tier audit detail %s", e.Detail)
				}
			case "tier-rule.create", "service-baseline.create":
				if !strings.HasPrefix(e.Detail, `{"after":{`) || !strings.Contains(e.Detail, `"before":null`) {
					t.Errorf("%s detail %s", e.Action, e.Detail)
				}
			}
		}
		slices.Sort(tierEvents)
		if want := []string{"admin host:shop-03", "patchwave host:shop-01", "patchwave host:shop-03"}; !slices.Equal(tierEvents, want) {
			t.Errorf("tier audit events %q, want %q", tierEvents, want)
		}
	})
}

// TestExpiryWithoutAssessment: when an exception expires, its findings
// are judged again then, not at the next assessment.
func TestExpiryWithoutAssessment(t *testing.T) {
	t.Parallel()
	ts := newServer(t, "")
	ctx := context.Background()
	agentHost(t, ts, "web-01", []patchwave.Package{{Name: "libssl3", Version: "3.0.11-1~deb12u2", Arch: "amd64", Source: "openssl"}})
	if _, err := ts.Admin.ImportFeed(ctx, "debian", "osv", strings.NewReader(osvRecord("DSA-1", "2026-11-01T00:00:00Z", "openssl", "3.0.15-1~deb12u1", "CVE-2026-0001"))); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Admin.PutBaseline(ctx, []byte(`{"name":"all","rules":[{"approve_after_days":0}]}`), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Admin.CreateUser(ctx, client.NewUser{Name: "ann", Password: "approver-password", Role: patchwave.RoleApprover}); err != nil {
		t.Fatal(err)
	}
	ann := client.New(ts.URL, login(t, ts.URL, "ann", "approver-password"))
	x, err := ts.Admin.CreateException(ctx, patchwave.Exception{Kind: patchwave.ExceptionRiskAcceptance, Host: "web-01", CVE: "CVE-2026-0001",
		Justification: "a very short acceptance", CompensatingControl: "unplugged", ExpiresAt: time.Now().Add(3 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ann.DecideException(ctx, x.ID, "approve", ""); err != nil {
		t.Fatal(err)
	}
	if err := ts.Reassess(ctx); err != nil {
		t.Fatal(err)
	}
	state := func() string {
		rep, err := ts.Admin.Compliance(ctx, "web-01", "", "")
		if err != nil || len(rep.Hosts) != 1 {
			t.Fatalf("compliance %+v %v", rep, err)
		}
		return rep.Hosts[0].Compliance
	}
	if s := state(); s != "compliant-with-exceptions" {
		t.Fatalf("with the risk acceptance: %s", s)
	}
	deadline := time.Now().Add(20 * time.Second)
	for state() != "non-compliant" {
		if time.Now().After(deadline) {
			t.Fatalf("still %s 20s after the exception was due to expire", state())
		}
		time.Sleep(100 * time.Millisecond)
	}
	fs, _ := ts.Admin.HostFindings(ctx, "web-01")
	if len(fs) != 1 || fs[0].Policy.Excepted {
		t.Errorf("finding after the expiry %+v", fs[0].Policy)
	}
}

// TestOrganisationTimeZone: exclusion deadlines fall in the server's time
// zone.
func TestOrganisationTimeZone(t *testing.T) {
	t.Parallel()
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		loc  *time.Location
		late bool
	}{{nil, false}, {paris, true}} {
		srv, err := server.New(context.Background(), server.Config{DataDir: t.TempDir(), AdminPassword: adminPassword, Listen: "127.0.0.1:0", Location: tc.loc}, nil)
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(srv.Handler())
		// 23:30 UTC on the deadline, the day after Patch Tuesday: still in
		// time in UTC, already the next day in Paris.
		at := time.Date(2026, 11, 11, 23, 30, 0, 0, time.UTC)
		srv.Store().SetClock(func() time.Time { return at })
		admin := client.New(hs.URL, login(t, hs.URL, "admin", adminPassword))
		x, err := admin.CreateException(context.Background(), patchwave.Exception{Kind: patchwave.ExceptionExclusion, Site: "paris",
			Justification: "trade show in the Paris office", ExpiresAt: at.AddDate(0, 0, 7)})
		if err != nil || x.Late != tc.late {
			t.Errorf("time zone %v: exclusion %+v %v, want late %t", tc.loc, x, err, tc.late)
		}
		hs.Close()
		srv.Close()
	}
}

// almaRecord is an AlmaLinux OSV record fixing pkg in fixed, published at
// published.
func almaRecord(id, published, pkg, fixed string) string {
	return fmt.Sprintf(`{"id":%q,"modified":%q,"published":%q,"summary":"%s update",
		"affected":[{"package":{"ecosystem":"AlmaLinux:9","name":%q},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":%q}]}],
		"ecosystem_specific":{"severity":"Important"}}]}`, id, published, published, pkg, pkg, fixed)
}

// TestBaselinePreviewAgreesWithFindings: the preview of a baseline decides
// with the findings' stored publication dates and classifications, so it
// says what the assessment decided: an old security fix approved, a new
// one approved only from a week after its publication, a bug fix not
// matched by a security rule.
func TestBaselinePreviewAgreesWithFindings(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, ts *testServer) {
		ctx := context.Background()
		now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
		ts.Store().SetClock(func() time.Time { return now })
		tok := enrollToken(t, ts.Admin, map[string]any{"site": "paris"})
		e := enroll(t, ts.URL, tok.Token, "alma-01")
		facts := patchwave.Facts{Hostname: "alma-01", OS: patchwave.OS{ID: "almalinux", Family: "rhel", Version: "9.4", Name: "AlmaLinux 9.4"}}
		pkgs := patchwave.SortPackages([]patchwave.Package{
			{Name: "openssl-libs", Version: "1:3.0.7-24.el9", Arch: "x86_64"},
			{Name: "curl", Version: "7.76.1-26.el9", Arch: "x86_64"},
			{Name: "tzdata", Version: "2024a-1.el9", Arch: "noarch"},
		})
		if _, err := client.New(ts.URL, e.Credential).Checkin(ctx, patchwave.CheckinRequest{FactsHash: facts.Hash(), PackagesHash: patchwave.HashPackages(pkgs), Facts: &facts, Packages: &pkgs}); err != nil {
			t.Fatal(err)
		}
		records := zipOf(t, map[string]string{
			"ALSA-2026-1001.json": almaRecord("ALSA-2026:1001", "2026-10-01T00:00:00Z", "openssl-libs", "1:3.0.7-27.el9"),
			"ALSA-2026-1002.json": almaRecord("ALSA-2026:1002", "2026-11-01T00:00:00Z", "curl", "7.76.1-29.el9"),
			"ALBA-2026-1003.json": almaRecord("ALBA-2026:1003", "2026-10-01T00:00:00Z", "tzdata", "2024b-2.el9"),
		})
		if _, err := ts.Admin.ImportFeed(ctx, "alma", "osv", bytes.NewReader(records)); err != nil {
			t.Fatal(err)
		}
		if _, err := ts.Admin.PutBaseline(ctx, []byte(`{"name":"security","rules":[{"classification":"security","approve_after_days":7}]}`), ""); err != nil {
			t.Fatal(err)
		}
		if err := ts.Reassess(ctx); err != nil {
			t.Fatal(err)
		}
		fs, err := ts.Admin.HostFindings(ctx, "alma-01")
		if err != nil || len(fs) != 3 {
			t.Fatalf("findings %+v %v", fs, err)
		}
		stored := map[string]patchwave.Finding{}
		for _, f := range fs {
			stored[f.Package] = f
			if f.Published == nil || f.Classification == "" {
				t.Errorf("%s: published %v, classification %q not stored", f.Package, f.Published, f.Classification)
			}
		}
		if c := stored["tzdata"].Classification; c != patchwave.ClassBugfix {
			t.Errorf("tzdata classification %q, want bugfix", c)
		}
		p, err := ts.Admin.PreviewBaseline(ctx, "security")
		if err != nil {
			t.Fatal(err)
		}
		if p.Hosts != 1 || len(p.Entries) != 3 || p.Approved != 1 {
			t.Fatalf("preview %+v", p)
		}
		for _, x := range p.Entries {
			f := stored[x.Patch.Package]
			if f.Policy == nil || f.Policy.Approved != x.Decision.Approved || x.Patch.Published == nil || x.Patch.Classification != f.Classification {
				t.Errorf("%s: preview %+v (patch %+v), stored %+v", x.Patch.Package, x.Decision, x.Patch, f.Policy)
			}
			if strings.Contains(x.Decision.Reason, "unknown") {
				t.Errorf("%s: %s", x.Patch.Package, x.Decision.Reason)
			}
		}
		want := map[string]bool{"openssl-libs": true, "curl": false, "tzdata": false}
		for pkg, ok := range want {
			if got := stored[pkg].Policy.Approved; got != ok {
				t.Errorf("%s approved %t, want %t (%s)", pkg, got, ok, stored[pkg].Policy.Decision.Reason)
			}
		}
		if d := stored["curl"].Policy.Decision; d.ApprovedFrom == nil || !d.ApprovedFrom.Equal(time.Date(2026, 11, 8, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("curl approved from %v, want 2026-11-08", d.ApprovedFrom)
		}
	})
}
