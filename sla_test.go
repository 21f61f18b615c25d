package patchwave_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the DST cases must not depend on the machine's zoneinfo

	"github.com/patchwave/patchwave"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func TestDefaultSLAValid(t *testing.T) {
	p := patchwave.DefaultSLA()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	// Stricter for more critical tiers, longer for lower severities.
	for i, tier := range patchwave.Tiers {
		prev := 0
		for _, s := range []patchwave.Severity{patchwave.SeverityCritical, patchwave.SeverityHigh, patchwave.SeverityMedium, patchwave.SeverityLow} {
			d := p.WindowDays(tier, s)
			if d <= prev {
				t.Errorf("%s/%s = %d days, not longer than the severity above (%d)", tier, s, d, prev)
			}
			prev = d
			if i > 0 && d <= p.WindowDays(patchwave.Tiers[i-1], s) {
				t.Errorf("%s/%s = %d days, not longer than tier %s", tier, s, d, patchwave.Tiers[i-1])
			}
		}
	}
	if got := p.WindowDays(patchwave.TierBusinessOperational, patchwave.SeverityCritical); got != 15 {
		t.Errorf("business-operational critical = %d, want 15", got)
	}
	// JSON round trip.
	b, _ := json.Marshal(p)
	var q patchwave.SLAPolicy
	if err := json.Unmarshal(b, &q); err != nil || q.Validate() != nil || q.Days[patchwave.TierLab][patchwave.SeverityLow] != 365 {
		t.Errorf("JSON round trip: %s: %v", b, err)
	}
}

func TestSLAValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(p *patchwave.SLAPolicy)
		want string
	}{
		{"missing tier", func(p *patchwave.SLAPolicy) { delete(p.Days, patchwave.TierLab) }, "tier lab has no windows"},
		{"missing cell", func(p *patchwave.SLAPolicy) { delete(p.Days[patchwave.TierLab], patchwave.SeverityHigh) }, "lab/high is missing"},
		{"zero days", func(p *patchwave.SLAPolicy) { p.Days[patchwave.TierMissionCritical][patchwave.SeverityCritical] = 0 }, "mission-critical/critical is 0 days"},
		{"negative days", func(p *patchwave.SLAPolicy) { p.Days[patchwave.TierLab][patchwave.SeverityLow] = -1 }, "lab/low is -1 days"},
		{"too many days", func(p *patchwave.SLAPolicy) { p.Days[patchwave.TierLab][patchwave.SeverityLow] = 3651 }, "lab/low is 3651 days, want 1 to 3650"},
		{"bad none", func(p *patchwave.SLAPolicy) { p.Days[patchwave.TierLab][patchwave.SeverityNone] = 0 }, "lab/none is 0 days"},
		{"unknown tier", func(p *patchwave.SLAPolicy) { p.Days["gold"] = map[patchwave.Severity]int{} }, `unknown tier "gold"`},
		{"unknown severity", func(p *patchwave.SLAPolicy) { p.Days[patchwave.TierLab]["urgent"] = 3 }, `tier lab: unknown severity "urgent"`},
		{"at risk zero", func(p *patchwave.SLAPolicy) { p.AtRisk = 0 }, "at_risk is 0"},
		{"at risk one", func(p *patchwave.SLAPolicy) { p.AtRisk = 1 }, "at_risk is 1"},
		{"at risk NaN", func(p *patchwave.SLAPolicy) { p.AtRisk = math.NaN() }, "at_risk is NaN"},
		{"no days", func(p *patchwave.SLAPolicy) { p.Days = nil }, "has no windows"},
		{"valid none and unknown", func(p *patchwave.SLAPolicy) {
			p.Days[patchwave.TierLab][patchwave.SeverityNone] = 400
			p.Days[patchwave.TierLab][patchwave.SeverityUnknown] = 30
		}, ""},
	} {
		p := patchwave.DefaultSLA()
		tc.edit(&p)
		err := p.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		case err != nil && patchwave.ErrorCode(err) != patchwave.EInvalid:
			t.Errorf("%s: code %s", tc.name, patchwave.ErrorCode(err))
		}
	}
}

func TestSLAWindowFallbacks(t *testing.T) {
	p := patchwave.DefaultSLA()
	bo := patchwave.TierBusinessOperational
	for _, tc := range []struct {
		tier patchwave.Tier
		sev  patchwave.Severity
		want int
	}{
		{bo, patchwave.SeverityNone, 180},    // as low
		{bo, patchwave.SeverityUnknown, 90},  // as medium
		{bo, "", 90},                         // as unknown
		{bo, "bogus", 90},                    // as unknown
		{"", patchwave.SeverityCritical, 15}, // unknown tier: business-operational
		{"gold", patchwave.SeverityHigh, 30},
		{patchwave.TierMissionCritical, patchwave.SeverityCritical, 7},
		{patchwave.TierLab, patchwave.SeverityUnknown, 180},
	} {
		if got := p.WindowDays(tc.tier, tc.sev); got != tc.want {
			t.Errorf("WindowDays(%q, %q) = %d, want %d", tc.tier, tc.sev, got, tc.want)
		}
	}
	// Explicit none and unknown windows win over the fallbacks.
	p.Days[bo][patchwave.SeverityNone] = 365
	p.Days[bo][patchwave.SeverityUnknown] = 20
	if got := p.WindowDays(bo, patchwave.SeverityNone); got != 365 {
		t.Errorf("explicit none: %d", got)
	}
	if got := p.WindowDays(bo, patchwave.SeverityUnknown); got != 20 {
		t.Errorf("explicit unknown: %d", got)
	}
	// An empty policy falls back to the defaults.
	if got := (patchwave.SLAPolicy{}).WindowDays(patchwave.TierLab, patchwave.SeverityCritical); got != 30 {
		t.Errorf("empty policy: %d", got)
	}
}

func TestSLADue(t *testing.T) {
	paris := mustLoc(t, "Europe/Paris")
	ny := mustLoc(t, "America/New_York")
	def := patchwave.DefaultSLA()
	oneDay := patchwave.DefaultSLA()
	for _, row := range oneDay.Days {
		for s := range row {
			row[s] = 1
		}
	}
	yearLow := patchwave.DefaultSLA() // lab/low is 365 days
	noKEV := patchwave.DefaultSLA()
	noKEV.KEVDueDates = false

	crit := patchwave.Finding{Severity: patchwave.SeverityCritical}
	high := patchwave.Finding{Severity: patchwave.SeverityHigh}
	low := patchwave.Finding{Severity: patchwave.SeverityLow}
	kev := func(f patchwave.Finding, due time.Time) patchwave.Finding {
		f.KEV = &patchwave.KEV{CVE: "CVE-2026-0001", DueDate: due}
		return f
	}
	bo, lab, mc := patchwave.TierBusinessOperational, patchwave.TierLab, patchwave.TierMissionCritical

	for _, tc := range []struct {
		name      string
		p         patchwave.SLAPolicy
		f         patchwave.Finding
		tier      patchwave.Tier
		firstSeen time.Time
		want      time.Time
	}{
		{"plain", def, crit, bo, time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), time.Date(2026, 3, 16, 10, 0, 0, 0, time.UTC)},
		{"mission-critical", def, crit, mc, time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), time.Date(2026, 3, 8, 10, 0, 0, 0, time.UTC)},
		{"Jan 31 + 30 days", def, high, bo, day(2026, 1, 31), day(2026, 3, 2)},
		{"Jan 31 + 30 days, leap year", def, high, bo, day(2024, 1, 31), day(2024, 3, 1)},
		{"Feb 28 + 1 day", oneDay, crit, bo, day(2026, 2, 28), day(2026, 3, 1)},
		{"Feb 28 + 1 day, leap year", oneDay, crit, bo, day(2024, 2, 28), day(2024, 2, 29)},
		{"Feb 29 + 1 day", oneDay, crit, bo, day(2024, 2, 29), day(2024, 3, 1)},
		{"Feb 29 + 365 days", yearLow, low, lab, day(2024, 2, 29), day(2025, 2, 28)},
		{"Mar 1 + 365 days over a leap day", yearLow, low, lab, day(2023, 3, 1), day(2024, 2, 29)},
		{"Mar 1 + 365 days", yearLow, low, lab, day(2024, 3, 1), day(2025, 3, 1)},
		{"Dec 31 + 1 day", oneDay, crit, bo, day(2026, 12, 31), day(2027, 1, 1)},
		// Spring forward in Paris on 29 March 2026: same wall clock, 1h less.
		{"DST spring forward", def, crit, bo, time.Date(2026, 3, 20, 9, 0, 0, 0, paris), time.Date(2026, 4, 4, 9, 0, 0, 0, paris)},
		// Fall back in New York on 1 November 2026: same wall clock, 1h more.
		{"DST fall back", def, crit, bo, time.Date(2026, 10, 25, 12, 0, 0, 0, ny), time.Date(2026, 11, 9, 12, 0, 0, 0, ny)},
		// KEV earlier than the tier's deadline: end of the KEV day, UTC.
		{"KEV earlier", def, kev(high, day(2026, 3, 15)), bo, day(2026, 3, 1), time.Date(2026, 3, 15, 23, 59, 59, 999e6, time.UTC)},
		{"KEV earlier, Paris", def, kev(high, day(2026, 3, 15)), bo, time.Date(2026, 3, 1, 8, 0, 0, 0, paris),
			time.Date(2026, 3, 16, 0, 59, 59, 999e6, paris)},
		{"KEV later", def, kev(high, day(2026, 5, 1)), bo, day(2026, 3, 1), day(2026, 3, 31)},
		{"KEV same day, later hour", def, kev(crit, day(2026, 3, 16)), bo, time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC),
			time.Date(2026, 3, 16, 10, 0, 0, 0, time.UTC)},
		{"KEV before first seen", def, kev(crit, day(2026, 1, 10)), bo, day(2026, 3, 1), time.Date(2026, 1, 10, 23, 59, 59, 999e6, time.UTC)},
		{"KEV due dates off", noKEV, kev(high, day(2026, 3, 15)), bo, day(2026, 3, 1), day(2026, 3, 31)},
		{"KEV without due date", def, kev(high, time.Time{}), bo, day(2026, 3, 1), day(2026, 3, 31)},
		{"KEV due date not at midnight UTC", def, kev(high, time.Date(2026, 3, 15, 23, 0, 0, 0, ny)), bo, day(2026, 3, 1),
			time.Date(2026, 3, 16, 23, 59, 59, 999e6, time.UTC)},
		{"unknown severity, CVSS 9.8", def, patchwave.Finding{Severity: patchwave.SeverityUnknown, CVSS: 9.8}, bo, day(2026, 3, 1), day(2026, 3, 16)},
		{"vendor severity beats CVSS", def, patchwave.Finding{Severity: patchwave.SeverityLow, CVSS: 9.8}, bo, day(2026, 3, 1), day(2026, 8, 28)},
		{"unknown severity", def, patchwave.Finding{}, bo, day(2026, 3, 1), day(2026, 5, 30)},
	} {
		got := tc.p.Due(tc.f, tc.tier, tc.firstSeen)
		if !got.Equal(tc.want) {
			t.Errorf("%s: Due = %s, want %s", tc.name, got, tc.want)
		}
		if got.Location() != tc.firstSeen.Location() {
			t.Errorf("%s: Due is in %s, want %s", tc.name, got.Location(), tc.firstSeen.Location())
		}
	}

	// The DST cases are whole calendar days, not multiples of 24 hours.
	fs := time.Date(2026, 3, 20, 9, 0, 0, 0, paris)
	if d := def.Due(crit, bo, fs).Sub(fs); d != 15*24*time.Hour-time.Hour {
		t.Errorf("over spring forward: %s", d)
	}
	fs = time.Date(2026, 10, 25, 12, 0, 0, 0, ny)
	if d := def.Due(crit, bo, fs).Sub(fs); d != 15*24*time.Hour+time.Hour {
		t.Errorf("over fall back: %s", d)
	}
}

func TestSLAStatus(t *testing.T) {
	first := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	due := first.AddDate(0, 0, 10)
	def := patchwave.DefaultSLA()
	half := patchwave.DefaultSLA()
	half.AtRisk = 0.5
	for _, tc := range []struct {
		p    patchwave.SLAPolicy
		now  time.Time
		want patchwave.SLAStatus
	}{
		{def, first, patchwave.SLAOnTrack},
		{def, first.Add(-time.Hour), patchwave.SLAOnTrack},
		{def, first.Add(8*24*time.Hour - time.Nanosecond), patchwave.SLAOnTrack},
		{def, first.Add(8 * 24 * time.Hour), patchwave.SLAAtRisk},
		{def, due, patchwave.SLAAtRisk},
		{def, due.Add(time.Nanosecond), patchwave.SLABreached},
		{def, due.AddDate(1, 0, 0), patchwave.SLABreached},
		{half, first.Add(5*24*time.Hour - time.Second), patchwave.SLAOnTrack},
		{half, first.Add(5 * 24 * time.Hour), patchwave.SLAAtRisk},
		{patchwave.SLAPolicy{}, first.Add(8 * 24 * time.Hour), patchwave.SLAAtRisk}, // unset AtRisk: 0.8
		{patchwave.SLAPolicy{}, first.Add(7 * 24 * time.Hour), patchwave.SLAOnTrack},
	} {
		if got := tc.p.Status(first, due, tc.now); got != tc.want {
			t.Errorf("AtRisk %v, now %s: %s, want %s", tc.p.AtRisk, tc.now, got, tc.want)
		}
	}
	// A due date before first seen (an old KEV entry): breached once past it.
	early := first.AddDate(0, 0, -5)
	if got := def.Status(first, early, first); got != patchwave.SLABreached {
		t.Errorf("due before first seen: %s", got)
	}
}
