package plan

import (
	"fmt"
	"testing"
	"time"

	"github.com/patchwave/patchwave"
)

// fleet returns n hosts over 20 sites and the four tiers, some tagged
// pilot or qa, each with 20 approved patches from one of 40 variants (as
// hosts with the same package set share findings), and 50 windows: 40
// open ones by site and weekday, 10 freezes.
func fleet(n int) ([]patchwave.Host, map[int64][]patchwave.Finding, []Window) {
	tiers := patchwave.Tiers
	variants := make([][]patchwave.Finding, 40)
	for v := range variants {
		for j := range 20 {
			variants[v] = append(variants[v], patchwave.Finding{Ecosystem: fmt.Sprintf("Debian:%d", 11+v%2), Package: fmt.Sprintf("pkg%d", j+v%7),
				Source: fmt.Sprintf("src%d", j), Installed: "1.0-1", Fixed: fmt.Sprintf("1.%d-%d", j, 1+v%3), State: patchwave.FindingMissing,
				Severity: patchwave.SeverityHigh, Advisories: []string{fmt.Sprintf("DSA-%d", 5000+j)}, CVEs: []string{fmt.Sprintf("CVE-2026-%04d", j)}})
		}
	}
	hosts := make([]patchwave.Host, n)
	approved := make(map[int64][]patchwave.Finding, n)
	for i := range hosts {
		h := patchwave.Host{ID: int64(i + 1), Hostname: fmt.Sprintf("host-%06d", i), Site: fmt.Sprintf("site%02d", i%20), Tier: tiers[i%len(tiers)],
			OS: patchwave.OS{ID: "debian", Family: "debian", Version: "12"}, Managed: true}
		switch i % 50 {
		case 0:
			h.Tags = []string{"pilot"}
		case 1:
			h.Tags = []string{"qa"}
		}
		hosts[i] = h
		approved[h.ID] = variants[i%len(variants)]
	}
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		loc = time.UTC
	}
	var windows []Window
	days := []string{"MO", "TU", "WE", "TH", "FR", "SA", "SU"}
	for i := range 40 {
		windows = append(windows, Window{Name: fmt.Sprintf("w%02d", i), RRule: MustParseRRule(fmt.Sprintf("FREQ=WEEKLY;BYDAY=%s;BYHOUR=%d", days[i%7], 20+i%4)),
			Start: time.Date(2026, 1, 1, 0, 0, 0, 0, loc), Duration: 4 * time.Hour, CutOff: 30 * time.Minute,
			Selector: patchwave.MustParseSelector(fmt.Sprintf("site=site%02d", i%20))})
	}
	for i := range 10 {
		windows = append(windows, Window{Name: fmt.Sprintf("freeze%d", i), RRule: MustParseRRule("FREQ=YEARLY"),
			Start: time.Date(2026, 12, 20+i%5, 0, 0, 0, 0, loc), Duration: 48 * time.Hour, Blocking: true,
			Selector: patchwave.MustParseSelector(fmt.Sprintf("tier=%s", tiers[i%len(tiers)]))})
	}
	return hosts, approved, windows
}

// BenchmarkPlanRelease100k freezes a release for 100,000 hosts over five
// waves and lays it out over 50 windows: go test -run '^$' -bench PlanRelease ./internal/plan/
func BenchmarkPlanRelease100k(b *testing.B) {
	hosts, approved, windows := fleet(100_000)
	byID := make(map[int64]patchwave.Host, len(hosts))
	for _, h := range hosts {
		byID[h.ID] = h
	}
	rel := time.Date(2026, 12, 8, 18, 0, 0, 0, time.UTC)
	in := ReleaseInput{Cycle: "2026-12", Hosts: hosts, Approved: approved, Waves: DefaultWaves(), Now: rel}
	b.ResetTimer()
	for b.Loop() {
		c, err := BuildRelease(in)
		if err != nil {
			b.Fatal(err)
		}
		_, slots := Schedule(c, in.Waves, rel, nil, byID, windows, false)
		if len(slots) != len(hosts) {
			b.Fatalf("%d slots", len(slots))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/plan")
}
