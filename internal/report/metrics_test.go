package report

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/patchwave/patchwave"
)

var now = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

func ago(d int) *time.Time { t := now.AddDate(0, 0, -d); return &t }
func in(d int) *time.Time  { t := now.AddDate(0, 0, d); return &t }

// fleet is a hand-built fleet with known answers:
//
//	web-1  managed, fresh, everything fixed                     → compliant
//	web-2  managed, fresh, an excepted required gap             → compliant with exceptions
//	db-1   managed, fresh, a required missing patch, breached   → not compliant
//	db-2   managed, fresh, fixed but waiting for a reboot       → not compliant
//	app-1  managed, stale agent and stale assessment            → not compliant (unknown)
//	imp-1  imported, never assessed, past end of life           → not compliant (unknown)
//	app-2  managed, fresh, its install failed (finding missing) → not compliant
func fleet() Input {
	h := func(id int64, name, site string, tier patchwave.Tier, os string, managed bool, seen, assessed *time.Time) Host {
		return Host{ID: id, Hostname: name, Site: site, Owner: "ops-" + site, Tier: tier, OS: os, Managed: managed, LastSeen: seen, AssessedAt: assessed}
	}
	hosts := []Host{
		h(1, "web-1", "paris", patchwave.TierMissionCritical, "debian:12", true, ago(0), ago(0)),
		h(2, "web-2", "paris", patchwave.TierMissionCritical, "debian:12", true, ago(0), ago(0)),
		h(3, "db-1", "lyon", patchwave.TierBusinessCritical, "almalinux:9", true, ago(0), ago(0)),
		h(4, "db-2", "lyon", patchwave.TierBusinessCritical, "almalinux:9", true, ago(0), ago(0)),
		h(5, "app-1", "lyon", patchwave.TierBusinessOperational, "debian:12", true, ago(10), ago(10)),
		h(6, "imp-1", "", patchwave.TierLab, "", false, nil, nil),
		h(7, "app-2", "paris", patchwave.TierBusinessOperational, "debian:12", true, ago(0), ago(0)),
	}
	hosts[3].PendingReboot = true
	hosts[5].OSEOL = ago(30)
	f := func(host int64, pkg string, sev patchwave.Severity, state patchwave.FindingState, req bool, first int, due, fixed *time.Time) Finding {
		return Finding{HostID: host, Package: pkg, Severity: sev, State: state, Required: req, FirstSeen: *ago(first), Due: due, FixedAt: fixed}
	}
	fixed := patchwave.FindingFixed
	missing := patchwave.FindingMissing
	findings := []Finding{
		f(1, "openssl", patchwave.SeverityCritical, fixed, true, 20, ago(13), ago(16)),    // fixed in 4 days, on time
		f(1, "curl", patchwave.SeverityHigh, fixed, true, 40, ago(25), ago(20)),           // fixed in 20 days, 5 days late
		f(2, "openssl", patchwave.SeverityCritical, missing, true, 3, in(4), nil),         // excepted
		f(3, "kernel", patchwave.SeverityHigh, missing, true, 30, ago(10), nil),           // breached by 10 days
		f(3, "bash", patchwave.SeverityLow, missing, false, 5, in(85), nil),               // not approved yet: not a gap
		f(4, "glibc", patchwave.SeverityMedium, fixed, true, 10, in(50), ago(2)),          // fixed 8 days, reboot pending
		f(5, "zlib", patchwave.SeverityMedium, missing, true, 27, in(3), nil),             // at risk (27 of 30 days)
		f(7, "nginx", patchwave.SeverityCritical, missing, true, 8, ago(1), nil),          // breached by 1 day, KEV
		f(7, "vim", patchwave.SeverityNone, patchwave.FindingNoFix, false, 100, nil, nil), // open, no fix
	}
	findings[2].Excepted = true
	findings[7].KEV, findings[7].KEVDue, findings[7].Ransomware = true, ago(2), true
	tasks := []Task{
		{HostID: 1, Wave: 0, Kind: patchwave.TaskInstall, State: patchwave.TaskSucceeded, FirstResult: patchwave.TaskSucceeded, FinishedAt: ago(16)},
		{HostID: 2, Wave: 0, Kind: patchwave.TaskInstall, State: patchwave.TaskSucceeded, FirstResult: patchwave.TaskFailed, FinishedAt: ago(15)},
		{HostID: 4, Wave: 1, Kind: patchwave.TaskInstall, State: patchwave.TaskSucceeded, FirstResult: patchwave.TaskSucceeded, FinishedAt: ago(2)},
		{HostID: 7, Wave: 1, Kind: patchwave.TaskInstall, State: patchwave.TaskFailed, FirstResult: patchwave.TaskFailed, Error: "dpkg: error processing nginx\nmore", FinishedAt: ago(1)},
		{HostID: 3, Wave: 1, Kind: patchwave.TaskInstall, State: patchwave.TaskPending},
		{HostID: 2, Wave: 0, Kind: patchwave.TaskRollback, State: patchwave.TaskSucceeded, FinishedAt: ago(14)},
	}
	exc := []Exception{
		{ID: 1, Kind: patchwave.ExceptionRestriction, Owner: "alice", State: patchwave.ExceptionApproved, ExpiresAt: *in(5)},
		{ID: 2, Kind: patchwave.ExceptionExclusion, Owner: "alice", State: patchwave.ExceptionApproved, ExpiresAt: *in(60)},
		{ID: 3, Kind: patchwave.ExceptionExclusion, Owner: "bob", State: patchwave.ExceptionExpired, ExpiresAt: *ago(1)},
		{ID: 4, Kind: patchwave.ExceptionRiskAcceptance, Owner: "bob", State: patchwave.ExceptionPending, ExpiresAt: *in(90)},
	}
	return Input{AsOf: now, From: now.AddDate(0, -1, 0), To: now, StaleAfter: 24 * time.Hour, AssessMaxAge: 7 * 24 * time.Hour,
		Hosts: hosts, Findings: findings, Tasks: tasks, Exceptions: exc}
}

func TestComputeFleet(t *testing.T) {
	m := Compute(fleet())
	ratios := []struct {
		name     string
		got      Ratio
		num, den int
	}{
		{"coverage", m.Coverage, 5, 7},              // app-1 stale, imp-1 unmanaged
		{"freshness", m.Freshness, 5, 7},            // app-1, imp-1
		{"host compliance", m.HostCompliance, 2, 7}, // web-1, web-2 (with exceptions)
		// required instances: 1/openssl, 1/curl, 2/openssl, 3/kernel, 4/glibc, 5/zlib, 7/nginx;
		// installed and active: 1/openssl, 1/curl (4/glibc waits for a reboot).
		{"patch compliance", m.PatchCompliance, 2, 7},
		{"in SLA", m.SLA.RemediatedInSLA, 2, 3}, // openssl on time, glibc on time, curl late
		{"first pass", m.FirstPass, 2, 4},
		{"end of life", m.EndOfLifeAll, 1, 7},
	}
	for _, r := range ratios {
		if r.got.Numerator != r.num || r.got.Denominator != r.den {
			t.Errorf("%s = %d/%d, want %d/%d", r.name, r.got.Numerator, r.got.Denominator, r.num, r.den)
		}
		if r.got.Definition == "" || !r.got.AsOf.Equal(now) || !r.got.DataAsOf.Equal(now) {
			t.Errorf("%s: definition %q, as of %v, data as of %v", r.name, r.got.Definition, r.got.AsOf, r.got.DataAsOf)
		}
	}
	if m.HostCompliance.Percent != 28.57 {
		t.Errorf("host compliance = %v%%, want 28.57", m.HostCompliance.Percent)
	}
	ints := []struct {
		name      string
		got, want int
	}{
		{"compliant with exceptions", m.CompliantWithExceptions, 1},
		{"unknown", m.UnknownHosts, 2},
		{"breaches", m.SLA.Breaches, 2},
		{"at risk", m.SLA.AtRisk, 1}, // zlib: 27 of 30 days gone
		{"kev open", m.KEV.Open, 1},
		{"kev past due", m.KEV.PastDue, 1},
		{"kev ransomware", m.KEV.Ransomware, 1},
		{"kev hosts", m.KEV.Hosts, 1},
		{"rollbacks", m.Rollbacks, 1},
		{"exceptions active", m.Exceptions.Active, 2},
		{"exceptions expiring", m.Exceptions.Expiring, 1},
		{"exceptions expired", m.Exceptions.Expired, 1},
		{"exceptions pending", m.Exceptions.Pending, 1},
		{"excepted findings", m.Exceptions.ExceptedFindings, 1},
		{"time to patch count", m.TimeToPatch.Count, 3},
		{"open age count", m.OpenAge.Count, 6},
	}
	for _, c := range ints {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	// Time to patch: 4, 20 and 8 days: mean 10.67, median 8.
	if m.TimeToPatch.MeanDays != 10.67 || m.TimeToPatch.MedianDays != 8 || m.TimeToPatch.MaxDays != 20 {
		t.Errorf("time to patch = %+v, want mean 10.67, median 8, max 20", m.TimeToPatch)
	}
	if want := []int{1, 1, 1, 0, 0, 0}; !slices.Equal(m.TimeToPatch.Buckets, want) {
		t.Errorf("time to patch buckets = %v, want %v", m.TimeToPatch.Buckets, want)
	}
	// Open ages: 3, 30, 5, 27, 8, 100: median (8+27)/2.
	if m.OpenAge.MedianDays != 17.5 || m.OpenAge.MaxDays != 100 {
		t.Errorf("open age = %+v, want median 17.5, max 100", m.OpenAge)
	}
	if len(m.SLA.BreachList) != 2 || m.SLA.BreachList[0].Host != "db-1" || m.SLA.BreachList[0].DaysOverdue != 10 ||
		m.SLA.BreachList[0].Owner != "ops-lyon" || m.SLA.BreachList[1].Host != "app-2" || m.SLA.BreachList[1].DaysOverdue != 1 {
		t.Errorf("breach list = %+v", m.SLA.BreachList)
	}
	if !slices.Equal(m.Pending, []string{"db-2"}) || !slices.Equal(m.EndOfLife, []string{"imp-1"}) {
		t.Errorf("pending reboots %v, end of life %v", m.Pending, m.EndOfLife)
	}
	if len(m.Failures) != 1 || m.Failures[0].Label != "dpkg: error processing nginx" || m.Failures[0].Count != 1 {
		t.Errorf("failures = %+v", m.Failures)
	}
	if want := []Count{{"alice", 2}}; !slices.Equal(m.Exceptions.ByOwner, want) {
		t.Errorf("exceptions by owner = %v, want %v", m.Exceptions.ByOwner, want)
	}
	wantInstalls := []Install{
		{Wave: 0, OS: "debian:12", Tasks: 2, FirstPass: 1, Percent: 50},
		{Wave: 1, OS: "almalinux:9", Tasks: 1, FirstPass: 1, Percent: 100},
		{Wave: 1, OS: "debian:12", Tasks: 1, FirstPass: 0, Failed: 1, Percent: 0},
	}
	if !slices.Equal(m.Installs, wantInstalls) {
		t.Errorf("installs = %+v\nwant %+v", m.Installs, wantInstalls)
	}
	cell := func(tier patchwave.Tier, sev patchwave.Severity) Cell {
		for _, c := range m.Matrix {
			if c.Tier == tier && c.Severity == sev {
				return c
			}
		}
		t.Fatalf("no cell %s × %s", tier, sev)
		return Cell{}
	}
	if c := cell(patchwave.TierMissionCritical, patchwave.SeverityCritical); c.Open != 1 || c.Excepted != 1 || c.Breached != 0 {
		t.Errorf("mission-critical × critical = %+v", c)
	}
	if c := cell(patchwave.TierBusinessOperational, patchwave.SeverityCritical); c.Open != 1 || c.Breached != 1 {
		t.Errorf("business-operational × critical = %+v", c)
	}
	if len(m.Matrix) != 4*6 {
		t.Errorf("matrix has %d cells, want 24", len(m.Matrix))
	}
	groups := map[string]Group{}
	for _, g := range append(append(m.BySite, m.ByTier...), m.ByOS...) {
		groups[g.By+"="+g.Value] = g
	}
	for k, want := range map[string][2]int{"site=paris": {3, 2}, "site=lyon": {3, 0}, "site=(none)": {1, 0},
		"tier=mission-critical": {2, 2}, "os=debian:12": {4, 2}, "os=(unknown)": {1, 0}} {
		if g := groups[k]; g.Hosts != want[0] || g.Compliant != want[1] {
			t.Errorf("group %s = %d hosts, %d compliant; want %v", k, g.Hosts, g.Compliant, want)
		}
	}
}

// TestComputeEdges pins small cases: empty fleets, exceptions never
// leaving the denominator, reboots and staleness each breaking compliance.
func TestComputeEdges(t *testing.T) {
	host := Host{ID: 1, Hostname: "h", Tier: patchwave.TierLab, Managed: true, LastSeen: ago(0), AssessedAt: ago(0)}
	gap := Finding{HostID: 1, Package: "p", Severity: patchwave.SeverityHigh, State: patchwave.FindingMissing, Required: true, FirstSeen: *ago(1), Due: in(30)}
	tests := []struct {
		name           string
		host           Host
		findings       []Finding
		compliant, exc int
		patchNum       int
		patchDen       int
	}{
		{"clean", host, nil, 1, 0, 0, 0},
		{"gap", host, []Finding{gap}, 0, 0, 0, 1},
		{"excepted gap", host, []Finding{func() Finding { f := gap; f.Excepted = true; return f }()}, 1, 1, 0, 1},
		{"not required", host, []Finding{func() Finding { f := gap; f.Required = false; return f }()}, 1, 0, 0, 0},
		{"pending reboot", func() Host { h := host; h.PendingReboot = true; return h }(),
			[]Finding{func() Finding { f := gap; f.State = patchwave.FindingFixed; f.FixedAt = ago(0); return f }()}, 0, 0, 0, 1},
		{"stale assessment", func() Host { h := host; h.AssessedAt = ago(8); return h }(), nil, 0, 0, 0, 0},
		{"assessed in the future", func() Host { h := host; h.AssessedAt = in(1); return h }(), nil, 0, 0, 0, 0},
		{"fixed", host, []Finding{func() Finding { f := gap; f.State = patchwave.FindingFixed; f.FixedAt = ago(0); return f }()}, 1, 0, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := Compute(Input{AsOf: now, AssessMaxAge: 7 * 24 * time.Hour, Hosts: []Host{tt.host}, Findings: tt.findings})
			if m.HostCompliance.Numerator != tt.compliant || m.HostCompliance.Denominator != 1 || m.CompliantWithExceptions != tt.exc {
				t.Errorf("host compliance %d/%d with exceptions %d, want %d/1 with %d",
					m.HostCompliance.Numerator, m.HostCompliance.Denominator, m.CompliantWithExceptions, tt.compliant, tt.exc)
			}
			if m.PatchCompliance.Numerator != tt.patchNum || m.PatchCompliance.Denominator != tt.patchDen {
				t.Errorf("patch compliance %d/%d, want %d/%d", m.PatchCompliance.Numerator, m.PatchCompliance.Denominator, tt.patchNum, tt.patchDen)
			}
		})
	}
	m := Compute(Input{AsOf: now})
	if m.HostCompliance.Percent != 0 || m.HostCompliance.Denominator != 0 || m.TimeToPatch.Count != 0 || len(m.Matrix) != 24 {
		t.Errorf("empty fleet: %+v", m.HostCompliance)
	}
}

// TestMergeMatchesCompute: the fleet split over forks and merged gives
// the figures of one pass, and the breach list keeps the most overdue of
// many.
func TestMergeMatchesCompute(t *testing.T) {
	in := fleet()
	for i := range 1000 { // many breaches on db-1, overdue 1 to 1000 days
		in.Findings = append(in.Findings, Finding{HostID: 3, Package: fmt.Sprint("p", i), Severity: patchwave.SeverityLow,
			State: patchwave.FindingMissing, Required: true, FirstSeen: *ago(2000), Due: ago(i + 1)})
	}
	want := Compute(in)
	b := NewBuilder(in)
	forks := []*Builder{b.Fork(), b.Fork(), b.Fork()}
	for i, f := range in.Findings {
		forks[i%3].Add(f)
	}
	for _, f := range forks {
		b.Merge(f)
	}
	got := b.Metrics()
	gj, _ := json.Marshal(got)
	wj, _ := json.Marshal(want)
	if string(gj) != string(wj) {
		t.Errorf("merged differs from one pass:\n%s\n%s", gj, wj)
	}
	if len(got.SLA.BreachList) != MaxItems || got.SLA.BreachList[0].DaysOverdue != 1000 || got.SLA.BreachList[MaxItems-1].DaysOverdue != 1000-MaxItems+1 {
		t.Errorf("breach list: %d items, first %d", len(got.SLA.BreachList), got.SLA.BreachList[0].DaysOverdue)
	}
	if got.SLA.Breaches != 1002 {
		t.Errorf("breaches %d, want 1002", got.SLA.Breaches)
	}
}
