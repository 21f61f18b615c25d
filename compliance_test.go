package patchwave_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/patchwave/patchwave"
)

func TestEvaluateFinding(t *testing.T) {
	first := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	due := time.Date(2026, 3, 16, 9, 0, 0, 0, time.UTC) // mission-critical high: 15 days
	early := first.AddDate(0, 0, 2)
	late := due.AddDate(0, 0, 1)
	web := patchwave.Host{ID: 1, Hostname: "web1", Site: "paris", Tier: patchwave.TierMissionCritical, HighExposure: true}
	sla := patchwave.DefaultSLA()
	approveAll := []patchwave.Baseline{{ID: 1, Name: "all", Rules: []patchwave.BaselineRule{{ApproveAfterDays: days(0)}}}}
	pub := day(2026, 2, 27)
	missing := patchwave.Finding{Host: "web1", Ecosystem: "Debian:12", Package: "libssl3", Source: "openssl", Installed: "1.0", Fixed: "1.1",
		State: patchwave.FindingMissing, CVEs: []string{"CVE-2026-1111"}, Advisories: []string{"DSA-1"}, Severity: patchwave.SeverityHigh,
		CVSS: 7.5, Published: &pub}
	noFix := missing
	noFix.Fixed, noFix.State = "", patchwave.FindingNoFix
	fixed := func(at time.Time) patchwave.Finding {
		f := missing
		f.State, f.FixedAt = patchwave.FindingFixed, &at
		return f
	}
	service := patchwave.Finding{Host: "web1", Ecosystem: "service", Package: "service:telnet", State: patchwave.FindingUnexpectedService,
		Severity: patchwave.SeverityMedium, Advisories: []string{"service-baseline"}}
	accept := func(id int64, state patchwave.ExceptionState, pkg string) patchwave.Exception {
		return patchwave.Exception{ID: id, Kind: patchwave.ExceptionRiskAcceptance, Host: "web1", Package: pkg, State: state,
			ExpiresAt: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)}
	}
	for _, tc := range []struct {
		name       string
		f          patchwave.Finding
		baselines  []patchwave.Baseline
		exceptions []patchwave.Exception
		now        time.Time
		sla        patchwave.SLAStatus
		approved   bool
		excepted   []int64
		compliance patchwave.Compliance
	}{
		{"approved, on track", missing, approveAll, nil, early, patchwave.SLAOnTrack, true, nil, patchwave.NonCompliant},
		{"approved, past due", missing, approveAll, nil, late, patchwave.SLABreached, true, nil, patchwave.ComplianceBreached},
		{"not approved, on track", missing, nil, nil, early, patchwave.SLAOnTrack, false, nil, patchwave.Compliant},
		{"not approved, at risk", missing, nil, nil, due, patchwave.SLAAtRisk, false, nil, patchwave.Compliant},
		{"not approved, past due", missing, nil, nil, late, patchwave.SLABreached, false, nil, patchwave.ComplianceBreached},
		{"excepted, past due", missing, approveAll, []patchwave.Exception{accept(5, patchwave.ExceptionApproved, "openssl"),
			accept(2, patchwave.ExceptionApproved, "libssl3"), accept(5, patchwave.ExceptionApproved, "openssl"), accept(3, patchwave.ExceptionApproved, "curl")},
			late, patchwave.SLABreached, true, []int64{2, 5}, patchwave.CompliantWithExceptions},
		{"pending exception", missing, approveAll, []patchwave.Exception{accept(1, patchwave.ExceptionPending, "openssl")},
			early, patchwave.SLAOnTrack, true, nil, patchwave.NonCompliant},
		{"revoked exception", missing, approveAll, []patchwave.Exception{accept(1, patchwave.ExceptionRevoked, "openssl")},
			early, patchwave.SLAOnTrack, true, nil, patchwave.NonCompliant},
		{"expired exception", missing, approveAll, []patchwave.Exception{accept(1, patchwave.ExceptionApproved, "openssl")},
			time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), patchwave.SLABreached, true, nil, patchwave.ComplianceBreached},
		{"exclusion of the host", missing, approveAll, []patchwave.Exception{{ID: 9, Kind: patchwave.ExceptionExclusion, Site: "paris",
			State: patchwave.ExceptionApproved, ExpiresAt: late.AddDate(0, 1, 0)}}, early, patchwave.SLAOnTrack, true, []int64{9}, patchwave.CompliantWithExceptions},
		{"no fix, past due", noFix, approveAll, nil, late, patchwave.SLABreached, false, nil, patchwave.Compliant},
		{"no fix, excepted", noFix, approveAll, []patchwave.Exception{accept(4, patchwave.ExceptionApproved, "openssl")}, early,
			patchwave.SLAOnTrack, false, []int64{4}, patchwave.CompliantWithExceptions},
		{"fixed in time", fixed(first.AddDate(0, 0, 3)), approveAll, nil, late, patchwave.SLAOnTrack, true, nil, patchwave.Compliant},
		{"fixed late", fixed(late), approveAll, nil, late.AddDate(0, 1, 0), patchwave.SLABreached, true, nil, patchwave.Compliant},
		{"unexpected service", service, approveAll, nil, early, patchwave.SLAOnTrack, false, nil, patchwave.NonCompliant},
		{"unexpected service, past due", service, nil, nil, first.AddDate(0, 0, 31), patchwave.SLABreached, false, nil, patchwave.ComplianceBreached},
		{"unexpected service, accepted", service, nil, []patchwave.Exception{accept(7, patchwave.ExceptionApproved, "service:telnet")}, early,
			patchwave.SLAOnTrack, false, []int64{7}, patchwave.CompliantWithExceptions},
	} {
		fp := patchwave.EvaluateFinding(tc.f, web, first, sla, tc.baselines, tc.exceptions, tc.now)
		if fp.SLA != tc.sla || fp.Approved != tc.approved || !reflect.DeepEqual(fp.ExceptionIDs, tc.excepted) ||
			fp.Excepted != (len(tc.excepted) > 0) || fp.Compliance != tc.compliance {
			t.Errorf("%s:\n got sla %s approved %v excepted %v %v compliance %s\nwant sla %s approved %v excepted %v compliance %s",
				tc.name, fp.SLA, fp.Approved, fp.Excepted, fp.ExceptionIDs, fp.Compliance, tc.sla, tc.approved, tc.excepted, tc.compliance)
		}
		if want := sla.Due(tc.f, web.Tier, first); !fp.Due.Equal(want) {
			t.Errorf("%s: due %s, want %s", tc.name, fp.Due, want)
		}
		if want := patchwave.RiskScore(tc.f, web.Tier, true); !reflect.DeepEqual(fp.Risk, want) {
			t.Errorf("%s: risk %+v, want %+v", tc.name, fp.Risk, want)
		}
		hasPatch := tc.f.State != patchwave.FindingNoFix && tc.f.State != patchwave.FindingUnexpectedService
		if (fp.Decision != nil) != hasPatch || (fp.Decision != nil && fp.Decision.Approved != fp.Approved) {
			t.Errorf("%s: decision %+v", tc.name, fp.Decision)
		}
	}
	// The medium-severity service finding is due after 30 days on a mission-critical host.
	if got := patchwave.EvaluateFinding(service, web, first, sla, nil, nil, first).Due; !got.Equal(first.AddDate(0, 0, 30)) {
		t.Errorf("service due %s", got)
	}
	if !patchwave.EvaluateFinding(missing, web, first, sla, nil, nil, first).Due.Equal(due) {
		t.Error("due date")
	}
}

func TestHostCompliance(t *testing.T) {
	now := time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC)
	recent, old := now.Add(-time.Hour), now.Add(-48*time.Hour)
	fps := func(cs ...patchwave.Compliance) []patchwave.FindingPolicy {
		var out []patchwave.FindingPolicy
		for _, c := range cs {
			out = append(out, patchwave.FindingPolicy{Compliance: c})
		}
		return out
	}
	c, cwe, nc, br := patchwave.Compliant, patchwave.CompliantWithExceptions, patchwave.NonCompliant, patchwave.ComplianceBreached
	for _, tc := range []struct {
		name     string
		fs       []patchwave.FindingPolicy
		assessed *time.Time
		maxAge   time.Duration
		want     patchwave.Compliance
	}{
		{"never assessed", fps(br), nil, time.Hour, patchwave.ComplianceUnknown},
		{"assessment too old", fps(c), &old, 24 * time.Hour, patchwave.ComplianceUnknown},
		{"no age limit", fps(c), &old, 0, c},
		{"no findings", nil, &recent, 24 * time.Hour, c},
		{"all compliant", fps(c, c), &recent, 24 * time.Hour, c},
		{"with exceptions", fps(c, cwe, c), &recent, 24 * time.Hour, cwe},
		{"non-compliant", fps(cwe, nc, c), &recent, 24 * time.Hour, nc},
		{"breached", fps(nc, br, cwe), &recent, 24 * time.Hour, br},
		{"unknown finding states are ignored", fps("", patchwave.ComplianceUnknown, c), &recent, 24 * time.Hour, c},
	} {
		if got := patchwave.HostCompliance(tc.fs, tc.assessed, now, tc.maxAge); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
	for _, s := range []string{"compliant", "compliant-with-exceptions", "non-compliant", "breached", "unknown"} {
		if got, err := patchwave.ParseCompliance(s); err != nil || string(got) != s {
			t.Errorf("ParseCompliance(%q) = %q, %v", s, got, err)
		}
	}
	if _, err := patchwave.ParseCompliance("ok"); err == nil {
		t.Error("ParseCompliance(ok) succeeded")
	}
}

func TestUnexpectedServices(t *testing.T) {
	h := patchwave.Host{Hostname: "web1", Tier: patchwave.TierMissionCritical, Tags: []string{"web"},
		Services: []string{"cron", "nginx", "SSH", "systemd-journald", "systemd-logind", "telnetd", "telnetd", "zabbix-agent"}}
	base := patchwave.ServiceBaseline{ID: 1, Name: "base", Expected: []string{"ssh", "cron", "systemd-*"}}
	webB := patchwave.ServiceBaseline{ID: 2, Name: "web", Selector: patchwave.MustParseSelector("tag=web"), Expected: []string{"nginx"}}
	labB := patchwave.ServiceBaseline{ID: 3, Name: "lab", Selector: patchwave.MustParseSelector("tier=lab"), Expected: []string{"*"}}
	for _, tc := range []struct {
		name    string
		bs      []patchwave.ServiceBaseline
		h       patchwave.Host
		want    string
		applies bool
	}{
		{"no baselines", nil, h, "", false},
		{"none applies", []patchwave.ServiceBaseline{labB}, h, "", false},
		{"one applies", []patchwave.ServiceBaseline{base, labB}, h, "nginx telnetd zabbix-agent", true},
		{"union of those that apply", []patchwave.ServiceBaseline{webB, labB, base}, h, "telnetd zabbix-agent", true},
		{"no services", []patchwave.ServiceBaseline{base}, patchwave.Host{Hostname: "x"}, "", true},
	} {
		got, applies := patchwave.UnexpectedServices(tc.bs, tc.h)
		if strings.Join(got, " ") != tc.want || applies != tc.applies {
			t.Errorf("%s: %q, %v; want %q, %v", tc.name, got, applies, tc.want, tc.applies)
		}
	}
}

func TestServiceBaselineValidate(t *testing.T) {
	ok := patchwave.ServiceBaseline{Name: "base", Expected: []string{"ssh", "systemd-*"}}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		b    patchwave.ServiceBaseline
		want string
	}{
		{patchwave.ServiceBaseline{Expected: []string{"ssh"}}, "name is empty"},
		{patchwave.ServiceBaseline{Name: "b"}, "lists 0 expected services"},
		{patchwave.ServiceBaseline{Name: "b", Expected: []string{"ssh", ""}}, "expected service is empty"},
		{patchwave.ServiceBaseline{Name: "b", Expected: []string{"a b"}}, "space or comma"},
	} {
		if err := tc.b.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.b, err, tc.want)
		}
	}
}
