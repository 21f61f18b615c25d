package patchwave_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/patchwave/patchwave"
)

func TestExceptionValidate(t *testing.T) {
	now := time.Date(2026, 11, 5, 10, 0, 0, 0, time.UTC)
	exclusion := patchwave.Exception{Kind: patchwave.ExceptionExclusion, Host: "web1", Cycle: "2026-11",
		Justification: "Trade show demo on this machine", ExpiresAt: now.AddDate(0, 0, 14)}
	restriction := patchwave.Exception{Kind: patchwave.ExceptionRestriction, Package: "openssl",
		Justification: "The HSM driver needs openssl 3.0.1", ExpiresAt: now.AddDate(0, 1, 0), State: patchwave.ExceptionPending}
	acceptance := patchwave.Exception{Kind: patchwave.ExceptionRiskAcceptance, Site: "paris", CVE: "CVE-2026-1111",
		Justification: "Vendor fix expected next quarter", CompensatingControl: "Port 443 firewalled to the VPN",
		ExpiresAt: now.AddDate(1, 0, 0), ReviewAt: tp(now.AddDate(0, 3, 0))}
	for _, e := range []patchwave.Exception{exclusion, restriction, acceptance} {
		if err := e.Validate(now); err != nil {
			t.Errorf("%s: %v", e.Kind, err)
		}
	}
	for _, tc := range []struct {
		name string
		e    patchwave.Exception
		edit func(e *patchwave.Exception)
		want string
	}{
		{"no kind", exclusion, func(e *patchwave.Exception) { e.Kind = "" }, `unknown kind ""`},
		{"bad kind", exclusion, func(e *patchwave.Exception) { e.Kind = "waiver" }, `unknown kind "waiver"`},
		{"bad state", exclusion, func(e *patchwave.Exception) { e.State = "done" }, `unknown state "done"`},
		{"no justification", exclusion, func(e *patchwave.Exception) { e.Justification = "" }, "justification is required and at least 10 characters long (got 0)"},
		{"short justification", exclusion, func(e *patchwave.Exception) { e.Justification = "  because   " }, "(got 7)"},
		{"nine characters", exclusion, func(e *patchwave.Exception) { e.Justification = "ÉÉÉÉÉÉÉÉÉ" }, "(got 9)"},
		{"control in justification", exclusion, func(e *patchwave.Exception) { e.Justification = "long enough\x00" }, "control character"},
		{"expired", exclusion, func(e *patchwave.Exception) { e.ExpiresAt = now.Add(-time.Second) }, "is not in the future"},
		{"expires now", exclusion, func(e *patchwave.Exception) { e.ExpiresAt = now }, "is not in the future"},
		{"no expiry", exclusion, func(e *patchwave.Exception) { e.ExpiresAt = time.Time{} }, "is not in the future"},
		{"too long", exclusion, func(e *patchwave.Exception) { e.ExpiresAt = now.AddDate(1, 0, 0).Add(time.Millisecond) }, "more than a year ahead"},
		{"review after expiry", acceptance, func(e *patchwave.Exception) { e.ReviewAt = tp(e.ExpiresAt.Add(time.Hour)) }, "review_at is after expires_at"},
		{"exclusion without scope", exclusion, func(e *patchwave.Exception) { e.Host = "" }, "needs a host, a site or a selector"},
		{"exclusion with a target", exclusion, func(e *patchwave.Exception) { e.Package = "openssl" }, "request a restriction"},
		{"bad cycle", exclusion, func(e *patchwave.Exception) { e.Cycle = "2026-13" }, `cycle "2026-13": want YYYY-MM`},
		{"short cycle", exclusion, func(e *patchwave.Exception) { e.Cycle = "2026-1" }, "want YYYY-MM"},
		{"old cycle", exclusion, func(e *patchwave.Exception) { e.Cycle = "1999-12" }, "want YYYY-MM"},
		{"cycle on a restriction", restriction, func(e *patchwave.Exception) { e.Cycle = "2026-11" }, "only to exclusions"},
		{"restriction without target", restriction, func(e *patchwave.Exception) { e.Package = "" }, "a restriction needs a package"},
		{"acceptance without target", acceptance, func(e *patchwave.Exception) { e.CVE = "" }, "a risk acceptance needs a package"},
		{"acceptance without control", acceptance, func(e *patchwave.Exception) { e.CompensatingControl = "  " }, "needs a compensating control"},
		{"bad host", exclusion, func(e *patchwave.Exception) { e.Host = "web 1" }, "exception host"},
		{"bad site", acceptance, func(e *patchwave.Exception) { e.Site = "a,b" }, "contains a space or comma"},
		{"bad cve", acceptance, func(e *patchwave.Exception) { e.CVE = "CVE\n1" }, "control character"},
	} {
		e := tc.e
		tc.edit(&e)
		err := e.Validate(now)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		} else if patchwave.ErrorCode(err) != patchwave.EInvalid {
			t.Errorf("%s: code %s", tc.name, patchwave.ErrorCode(err))
		}
	}
	// Exactly one year ahead is allowed, also from a leap day (to 1 March).
	e := exclusion
	e.ExpiresAt = now.AddDate(1, 0, 0)
	if err := e.Validate(now); err != nil {
		t.Errorf("one year: %v", err)
	}
	leap := time.Date(2028, 2, 29, 12, 0, 0, 0, time.UTC)
	e.ExpiresAt = time.Date(2029, 3, 1, 12, 0, 0, 0, time.UTC)
	if err := e.Validate(leap); err != nil {
		t.Errorf("one year from 29 February: %v", err)
	}
	e.ExpiresAt = e.ExpiresAt.Add(time.Millisecond)
	if err := e.Validate(leap); err == nil {
		t.Error("more than one year from 29 February accepted")
	}
}

func TestExceptionState(t *testing.T) {
	exp := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	before, at := exp.Add(-time.Nanosecond), exp
	for _, tc := range []struct {
		state  patchwave.ExceptionState
		now    time.Time
		want   patchwave.ExceptionState
		active bool
	}{
		{patchwave.ExceptionApproved, before, patchwave.ExceptionApproved, true},
		{patchwave.ExceptionApproved, at, patchwave.ExceptionExpired, false},
		{patchwave.ExceptionPending, before, patchwave.ExceptionPending, false},
		{patchwave.ExceptionPending, at, patchwave.ExceptionExpired, false},
		{"", before, patchwave.ExceptionPending, false},
		{patchwave.ExceptionRejected, at, patchwave.ExceptionRejected, false},
		{patchwave.ExceptionRevoked, before, patchwave.ExceptionRevoked, false},
		{patchwave.ExceptionRevoked, at, patchwave.ExceptionRevoked, false},
		{patchwave.ExceptionExpired, before, patchwave.ExceptionExpired, false},
	} {
		e := patchwave.Exception{State: tc.state, ExpiresAt: exp}
		if got := e.StateAt(tc.now); got != tc.want {
			t.Errorf("%q at %s: %s, want %s", tc.state, tc.now, got, tc.want)
		}
		if got := e.Active(tc.now); got != tc.active {
			t.Errorf("%q at %s: active %v", tc.state, tc.now, got)
		}
	}
}

func TestExceptionCovers(t *testing.T) {
	web := patchwave.Host{Hostname: "web1", Site: "paris", Tier: patchwave.TierMissionCritical, Tags: []string{"pci"}}
	lab := patchwave.Host{Hostname: "lab1", Site: "lyon", Tier: patchwave.TierLab}
	ssl := patchwave.Finding{Package: "libssl3", Source: "openssl", CVEs: []string{"CVE-2026-1111", "CVE-2026-2222"}, Advisories: []string{"DSA-5555-1"}}
	curl := patchwave.Finding{Package: "curl", CVEs: []string{"CVE-2026-3333"}, Advisories: []string{"DSA-5556-1"}}
	excl := patchwave.ExceptionExclusion
	restr := patchwave.ExceptionRestriction
	for _, tc := range []struct {
		name string
		e    patchwave.Exception
		want string // which of web/ssl web/curl lab/ssl lab/curl it covers
	}{
		{"exclusion of a host", patchwave.Exception{Kind: excl, Host: "WEB1"}, "web/ssl web/curl"},
		{"exclusion of a site", patchwave.Exception{Kind: excl, Site: "lyon"}, "lab/ssl lab/curl"},
		{"exclusion by selector", patchwave.Exception{Kind: excl, Selector: patchwave.MustParseSelector("tag=pci")}, "web/ssl web/curl"},
		{"exclusion: host and site must both match", patchwave.Exception{Kind: excl, Host: "web1", Site: "lyon"}, ""},
		{"restriction everywhere by binary package", patchwave.Exception{Kind: restr, Package: "libssl3"}, "web/ssl lab/ssl"},
		{"restriction by source package", patchwave.Exception{Kind: restr, Package: "openssl"}, "web/ssl lab/ssl"},
		{"restriction by CVE, ignoring case", patchwave.Exception{Kind: restr, CVE: "cve-2026-2222"}, "web/ssl lab/ssl"},
		{"restriction by advisory", patchwave.Exception{Kind: restr, Advisory: "DSA-5556-1"}, "web/curl lab/curl"},
		{"restriction: all targets must match", patchwave.Exception{Kind: restr, Package: "curl", CVE: "CVE-2026-1111"}, ""},
		{"restriction scoped to a site", patchwave.Exception{Kind: restr, Site: "paris", Package: "curl"}, "web/curl"},
		{"restriction without target", patchwave.Exception{Kind: restr, Site: "paris"}, ""},
		{"risk acceptance by selector and CVE", patchwave.Exception{Kind: patchwave.ExceptionRiskAcceptance,
			Selector: patchwave.MustParseSelector("tier=lab"), CVE: "CVE-2026-3333"}, "lab/curl"},
	} {
		var got []string
		for _, hf := range []struct {
			name string
			h    patchwave.Host
			f    patchwave.Finding
		}{{"web/ssl", web, ssl}, {"web/curl", web, curl}, {"lab/ssl", lab, ssl}, {"lab/curl", lab, curl}} {
			if tc.e.Covers(hf.h, hf.f) {
				got = append(got, hf.name)
			}
		}
		if g := strings.Join(got, " "); g != tc.want {
			t.Errorf("%s: covers [%s], want [%s]", tc.name, g, tc.want)
		}
	}
}

func TestPatchTuesday(t *testing.T) {
	paris := mustLoc(t, "Europe/Paris")
	for _, tc := range []struct {
		year  int
		month time.Month
		day   int
	}{
		{2026, 11, 10}, {2024, 10, 8}, {2026, 1, 13}, {2025, 4, 8}, {2024, 1, 9}, {2023, 8, 8},
		{2026, 12, 8}, {2027, 2, 9}, {2025, 2, 11}, {2026, 9, 8}, {2026, 3, 10},
	} {
		for _, loc := range []*time.Location{time.UTC, paris} {
			pt := patchwave.PatchTuesday(tc.year, tc.month, loc)
			if want := time.Date(tc.year, tc.month, tc.day, 0, 0, 0, 0, loc); !pt.Equal(want) || pt.Location() != loc {
				t.Errorf("PatchTuesday(%d, %s, %s) = %s, want %s", tc.year, tc.month, loc, pt, want)
			}
			dl := patchwave.ExclusionDeadline(tc.year, tc.month, loc)
			if want := time.Date(tc.year, tc.month, tc.day+1, 23, 59, 59, 999e6, loc); !dl.Equal(want) {
				t.Errorf("ExclusionDeadline(%d, %s, %s) = %s, want %s", tc.year, tc.month, loc, dl, want)
			}
			if dl.Weekday() != time.Wednesday {
				t.Errorf("ExclusionDeadline(%d, %s) is a %s", tc.year, tc.month, dl.Weekday())
			}
		}
	}
	// Every month of a century: a Tuesday, the second of its month.
	for y := 2000; y < 2100; y++ {
		for m := time.January; m <= time.December; m++ {
			pt := patchwave.PatchTuesday(y, m, time.UTC)
			if pt.Weekday() != time.Tuesday || pt.Day() < 8 || pt.Day() > 14 || pt.Month() != m {
				t.Fatalf("PatchTuesday(%d, %s) = %s", y, m, pt)
			}
		}
	}
}

func TestExceptionNeedsApproval(t *testing.T) {
	paris := mustLoc(t, "Europe/Paris")
	// November 2026: Patch Tuesday the 10th, deadline the 11th at the end of the day.
	excl := func(cycle string) patchwave.Exception {
		return patchwave.Exception{Kind: patchwave.ExceptionExclusion, Site: "paris", Cycle: cycle}
	}
	for _, tc := range []struct {
		name string
		e    patchwave.Exception
		now  time.Time
		loc  *time.Location
		want bool
	}{
		{"before the deadline", excl("2026-11"), time.Date(2026, 11, 5, 9, 0, 0, 0, paris), paris, false},
		{"last millisecond", excl("2026-11"), time.Date(2026, 11, 11, 23, 59, 59, 999e6, paris), paris, false},
		{"just after the deadline", excl("2026-11"), time.Date(2026, 11, 12, 0, 0, 0, 0, paris), paris, true},
		{"after the deadline in Paris, not in UTC", excl("2026-11"), time.Date(2026, 11, 11, 23, 30, 0, 0, time.UTC), paris, true},
		{"same instant judged in UTC", excl("2026-11"), time.Date(2026, 11, 11, 23, 30, 0, 0, time.UTC), time.UTC, false},
		{"next month's cycle", excl("2026-12"), time.Date(2026, 11, 20, 0, 0, 0, 0, paris), paris, false},
		{"a past cycle", excl("2026-10"), time.Date(2026, 11, 1, 0, 0, 0, 0, paris), paris, true},
		{"no cycle, early in the month", excl(""), time.Date(2026, 11, 5, 0, 0, 0, 0, paris), paris, false},
		{"no cycle, late in the month", excl(""), time.Date(2026, 11, 20, 0, 0, 0, 0, paris), paris, true},
		{"already marked late", func() patchwave.Exception { e := excl("2026-12"); e.Late = true; return e }(),
			time.Date(2026, 11, 5, 0, 0, 0, 0, paris), paris, true},
		{"restriction", patchwave.Exception{Kind: patchwave.ExceptionRestriction, Package: "x"}, time.Date(2026, 11, 5, 0, 0, 0, 0, paris), paris, true},
		{"risk acceptance", patchwave.Exception{Kind: patchwave.ExceptionRiskAcceptance, CVE: "x"}, time.Date(2026, 11, 5, 0, 0, 0, 0, paris), paris, true},
	} {
		if got := tc.e.NeedsApproval(tc.now, tc.loc); got != tc.want {
			t.Errorf("%s: NeedsApproval = %v, want %v", tc.name, got, tc.want)
		}
		if tc.e.Kind == patchwave.ExceptionExclusion && !tc.e.Late {
			if got := tc.e.IsLate(tc.now, tc.loc); got != tc.want {
				t.Errorf("%s: IsLate = %v, want %v", tc.name, got, tc.want)
			}
		}
	}
	if got := patchwave.CycleAt(time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC), paris); got != "2026-12" {
		t.Errorf("CycleAt = %s", got)
	}
}

func TestExceptionJSON(t *testing.T) {
	in := `{"kind":"risk-acceptance","site":"paris","selector":"tag=pci","cve":"CVE-1","justification":"long enough here",
		"compensating_control":"WAF rule 12","state":"approved","expires_at":"2026-12-01T00:00:00Z","review_at":"2026-11-15T00:00:00Z"}`
	var e patchwave.Exception
	if err := json.Unmarshal([]byte(in), &e); err != nil {
		t.Fatal(err)
	}
	if e.Kind != patchwave.ExceptionRiskAcceptance || e.Selector.String() != "tag=pci" || e.CompensatingControl != "WAF rule 12" || e.ReviewAt == nil {
		t.Errorf("decoded %+v", e)
	}
	out, _ := json.Marshal(e)
	for _, want := range []string{`"selector":"tag=pci"`, `"compensating_control":"WAF rule 12"`, `"expires_at":"2026-12-01T00:00:00Z"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("encoded %s, want %s", out, want)
		}
	}
	e.Selector = patchwave.Selector{}
	if out, _ := json.Marshal(e); strings.Contains(string(out), "selector") {
		t.Errorf("zero selector encoded: %s", out)
	}
}

// TestExclusionCycles: an exclusion is bound to its release cycle. Without
// an approver it may not outlast the cycle (the next Patch Tuesday); one
// for a cycle that is over, or that ends before its cycle starts, is
// refused.
func TestExclusionCycles(t *testing.T) {
	paris := mustLoc(t, "Europe/Paris")
	// Patch Tuesdays: 10 November 2026, 8 December 2026, 12 January 2027.
	nov5 := time.Date(2026, 11, 5, 9, 0, 0, 0, paris)
	excl := func(cycle string, expires time.Time) patchwave.Exception {
		return patchwave.Exception{Kind: patchwave.ExceptionExclusion, Site: "paris", Cycle: cycle, ExpiresAt: expires}
	}
	for _, tc := range []struct {
		name     string
		e        patchwave.Exception
		now      time.Time
		err      string // from CheckCycle
		approval string // from ApprovalReason; "" when none is needed
	}{
		{name: "timely, ends with its cycle", e: excl("2026-11", time.Date(2026, 12, 8, 0, 0, 0, 0, paris)), now: nov5},
		{name: "timely, ends within its cycle", e: excl("2026-11", time.Date(2026, 11, 20, 0, 0, 0, 0, paris)), now: nov5},
		{name: "timely, runs into the next cycle", e: excl("2026-11", time.Date(2026, 12, 8, 0, 0, 0, 1e6, paris)), now: nov5,
			approval: "runs past the end of cycle 2026-11 at 2026-12-08T00:00:00+01:00"},
		{name: "timely, a year long", e: excl("", nov5.AddDate(1, 0, -1)), now: nov5, approval: "runs past the end of cycle 2026-11"},
		{name: "no cycle: this month's", e: excl("", time.Date(2026, 12, 1, 0, 0, 0, 0, paris)), now: nov5},
		{name: "late", e: excl("2026-11", time.Date(2026, 11, 30, 0, 0, 0, 0, paris)), now: time.Date(2026, 11, 12, 0, 0, 0, 0, paris),
			approval: "late: the deadline of cycle 2026-11 was 2026-11-11T23:59:59"},
		{name: "next month's, early", e: excl("2026-12", time.Date(2027, 1, 12, 0, 0, 0, 0, paris)), now: nov5},
		{name: "next month's, too long", e: excl("2026-12", time.Date(2027, 1, 13, 0, 0, 0, 0, paris)), now: nov5,
			approval: "runs past the end of cycle 2026-12 at 2027-01-12T00:00:00+01:00"},
		{name: "December's across the year end", e: excl("2026-12", time.Date(2027, 1, 5, 0, 0, 0, 0, paris)), now: time.Date(2026, 12, 1, 0, 0, 0, 0, paris)},
		{name: "ends before its cycle starts", e: excl("2026-12", time.Date(2026, 12, 7, 0, 0, 0, 0, paris)), now: nov5,
			err: "expires_at 2026-12-07T00:00:00+01:00 is before cycle 2026-12 starts at 2026-12-08T00:00:00+01:00"},
		{name: "this month's, before Patch Tuesday", e: excl("", time.Date(2026, 11, 9, 0, 0, 0, 0, paris)), now: nov5,
			err: "before cycle 2026-11 starts"},
		{name: "a cycle that is over", e: excl("2026-10", time.Date(2026, 11, 30, 0, 0, 0, 0, paris)), now: time.Date(2026, 11, 12, 0, 0, 0, 0, paris),
			err: "cycle 2026-10 is over (it ended at 2026-11-10T00:00:00+01:00, the next Patch Tuesday); exclude hosts from the current cycle, 2026-11"},
		{name: "a past cycle not over yet", e: excl("2026-10", time.Date(2026, 11, 9, 0, 0, 0, 0, paris)), now: nov5,
			approval: "late"},
		{name: "restrictions have no cycle", e: patchwave.Exception{Kind: patchwave.ExceptionRestriction, Package: "x", ExpiresAt: nov5.AddDate(0, 6, 0)},
			now: nov5, approval: "a restriction always needs an approver"},
	} {
		err := tc.e.CheckCycle(tc.now, paris)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || patchwave.ErrorCode(err) != patchwave.EInvalid {
				t.Errorf("%s: CheckCycle = %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: CheckCycle: %v", tc.name, err)
		}
		why := tc.e.ApprovalReason(tc.now, paris)
		if (tc.approval == "") != (why == "") || !strings.Contains(why, tc.approval) {
			t.Errorf("%s: ApprovalReason = %q, want %q", tc.name, why, tc.approval)
		}
		if got := tc.e.NeedsApproval(tc.now, paris); got != (why != "") {
			t.Errorf("%s: NeedsApproval = %v with reason %q", tc.name, got, why)
		}
	}
	start, end, err := patchwave.CycleBounds("2026-12", time.UTC)
	if err != nil || !start.Equal(time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)) || !end.Equal(time.Date(2027, 1, 12, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("CycleBounds(2026-12) = %s, %s, %v", start, end, err)
	}
	if _, _, err := patchwave.CycleBounds("2026-13", time.UTC); err == nil {
		t.Error("CycleBounds accepted month 13")
	}
}

func TestParseDate(t *testing.T) {
	for in, want := range map[string]time.Time{
		"2026-12-01":                time.Date(2026, 12, 1, 23, 59, 59, 999e6, time.UTC),
		"2028-02-29":                time.Date(2028, 2, 29, 23, 59, 59, 999e6, time.UTC),
		"2026-12-01T00:00:00Z":      time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
		"2026-12-01T10:30:00+01:00": time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC),
	} {
		got, err := patchwave.ParseDate("approve_until", in)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseDate(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"next tuesday", "2026-13-01", "2027-02-29", "01/12/2026", ""} {
		_, err := patchwave.ParseDate("rules[1].approve_until", in)
		if err == nil || !strings.Contains(err.Error(), "rules[1].approve_until") || patchwave.ErrorCode(err) != patchwave.EInvalid {
			t.Errorf("ParseDate(%q): %v, want an error naming the field", in, err)
		}
	}
	if !patchwave.IsEndOfDayUTC(time.Date(2026, 1, 31, 23, 59, 59, 999e6, time.UTC)) || patchwave.IsEndOfDayUTC(time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC)) {
		t.Error("IsEndOfDayUTC")
	}
}
