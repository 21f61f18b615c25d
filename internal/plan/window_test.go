package plan

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/patchwave/patchwave"
)

func fmtIv(iv Interval) string {
	const f = "01-02 15:04 MST"
	return fmt.Sprintf("%s–%s cut %s", iv.Start.Format(f), iv.End.Format(f), iv.CutOff.Format(f))
}

// win builds a window starting 2026-01-01 in loc.
func win(name, rule string, loc *time.Location, d, cut time.Duration, sel string, blocking bool) Window {
	return Window{Name: name, RRule: MustParseRRule(rule), Start: time.Date(2026, 1, 1, 0, 0, 0, 0, loc),
		Duration: d, CutOff: cut, Selector: patchwave.MustParseSelector(sel), Blocking: blocking}
}

func TestWindowValidate(t *testing.T) {
	ok := win("sat", "FREQ=WEEKLY;BYDAY=SA;BYHOUR=22", time.UTC, 4*time.Hour, 30*time.Minute, "", false)
	if err := ok.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(*Window)
		want string
	}{
		{"no name", func(w *Window) { w.Name = "" }, "name is empty"},
		{"no rule", func(w *Window) { w.RRule = RRule{} }, "no rule"},
		{"no start", func(w *Window) { w.Start = time.Time{} }, "no start"},
		{"zero duration", func(w *Window) { w.Duration = 0 }, "must be positive"},
		{"longer than a week", func(w *Window) { w.Duration = 8 * 24 * time.Hour }, "longer than the rule's period"},
		{"negative cut-off", func(w *Window) { w.CutOff = -time.Minute }, "negative"},
		{"cut-off as long as the window", func(w *Window) { w.CutOff = w.Duration }, "not shorter than the duration"},
	} {
		w := ok
		tc.edit(&w)
		err := w.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) || patchwave.ErrorCode(err) != patchwave.EInvalid {
			t.Errorf("%s: Validate() = %v, want an invalid error containing %q", tc.name, err, tc.want)
		}
	}
}

func TestWindowOccurrences(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	// Saturday 22:00 for 6 hours, Berlin, across the spring change: the
	// window keeps its elapsed length, so it ends at 05:00 CEST.
	w := win("sat-night", "FREQ=WEEKLY;BYDAY=SA;BYHOUR=22", berlin, 6*time.Hour, time.Hour, "", false)
	got := w.Occurrences(time.Date(2026, 3, 22, 1, 0, 0, 0, berlin), time.Date(2026, 4, 4, 22, 0, 0, 0, berlin))
	var s []string
	for _, iv := range got {
		s = append(s, fmtIv(iv))
	}
	want := []string{
		"03-21 22:00 CET–03-22 04:00 CET cut 03-22 03:00 CET", // started before from
		"03-28 22:00 CET–03-29 05:00 CEST cut 03-29 04:00 CEST",
	}
	if strings.Join(s, "; ") != strings.Join(want, "; ") {
		t.Errorf("got  %s\nwant %s", strings.Join(s, "; "), strings.Join(want, "; "))
	}
	if got := w.Occurrences(time.Date(2026, 3, 22, 4, 0, 0, 0, berlin), time.Date(2026, 3, 28, 22, 0, 0, 0, berlin)); len(got) != 0 {
		t.Errorf("between two windows: %v", got)
	}
}

func TestNextOpeningAndInWindow(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	web := patchwave.Host{ID: 1, Hostname: "web1", Site: "nyc", Tier: patchwave.TierBusinessCritical}
	lab := patchwave.Host{ID: 2, Hostname: "lab1", Site: "lab", Tier: patchwave.TierLab}
	windows := []Window{
		// Every night 01:00–05:00 for site nyc, cut-off 1h.
		win("nightly", "FREQ=DAILY;BYHOUR=1", ny, 4*time.Hour, time.Hour, "site=nyc", false),
		// Change freeze: 2026-11-26 00:00 for 4 days, everywhere.
		win("thanksgiving", "FREQ=YEARLY;BYMONTH=11;BYDAY=+4TH", ny, 4*24*time.Hour, 0, "", true),
		// A freeze from 03:00 to 04:00 on 2026-12-02 (one-off).
		{Name: "dec-2", RRule: MustParseRRule("FREQ=DAILY;COUNT=1"), Start: time.Date(2026, 12, 2, 3, 0, 0, 0, ny),
			Duration: time.Hour, Blocking: true},
		// Lab hosts: any time on weekdays, 08:00–18:00.
		win("lab", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=8", ny, 10*time.Hour, 0, "tier=lab", false),
	}
	at := func(mo time.Month, d, h, mi int) time.Time { return time.Date(2026, mo, d, h, mi, 0, 0, ny) }
	for _, tc := range []struct {
		name  string
		h     patchwave.Host
		after time.Time
		want  string
	}{
		{"before the night", web, at(11, 23, 12, 0), "11-24 01:00 EST–11-24 05:00 EST cut 11-24 04:00 EST"},
		{"inside, before cut-off: the open window", web, at(11, 24, 3, 0), "11-24 01:00 EST–11-24 05:00 EST cut 11-24 04:00 EST"},
		{"after cut-off: the next night", web, at(11, 24, 4, 0), "11-25 01:00 EST–11-25 05:00 EST cut 11-25 04:00 EST"},
		{"freeze skips four nights", web, at(11, 25, 12, 0), "11-30 01:00 EST–11-30 05:00 EST cut 11-30 04:00 EST"},
		// The one-hour freeze at 03:00 cuts the night in two: the first
		// part's cut-off moves to 02:00; the second part starts at 04:00
		// and its cut-off stays 04:00, so nothing can start in it.
		{"partial freeze", web, at(12, 1, 12, 0), "12-02 01:00 EST–12-02 03:00 EST cut 12-02 02:00 EST"},
		{"partial freeze, after the first part", web, at(12, 2, 2, 30), "12-03 01:00 EST–12-03 05:00 EST cut 12-03 04:00 EST"},
		{"lab on a Saturday", lab, at(11, 21, 12, 0), "11-23 08:00 EST–11-23 18:00 EST cut 11-23 18:00 EST"},
		{"DST fall back night", web, at(10, 31, 12, 0), "11-01 01:00 EDT–11-01 04:00 EST cut 11-01 03:00 EST"},
	} {
		iv, ok := NextOpening(windows, tc.h, tc.after)
		got := "none"
		if ok {
			got = fmtIv(iv)
		}
		if got != tc.want {
			t.Errorf("%s: NextOpening = %s, want %s", tc.name, got, tc.want)
		}
	}
	unmatched := patchwave.Host{ID: 3, Hostname: "x", Site: "paris", Tier: patchwave.TierMissionCritical}
	if iv, ok := NextOpening(windows, unmatched, at(11, 1, 0, 0)); ok {
		t.Errorf("a host without a window has an opening: %s", fmtIv(iv))
	}

	for _, tc := range []struct {
		name string
		h    patchwave.Host
		t    time.Time
		want bool
	}{
		{"in the night", web, at(11, 24, 1, 0), true},
		{"at cut-off", web, at(11, 24, 4, 0), false},
		{"after the end", web, at(11, 24, 5, 0), false},
		{"before the start", web, at(11, 24, 0, 59), false},
		{"in the freeze", web, at(11, 27, 2, 0), false},
		{"before a partial freeze's moved cut-off", web, at(12, 2, 1, 59), true},
		{"after a partial freeze's moved cut-off", web, at(12, 2, 2, 0), false},
		{"lab at noon", lab, at(11, 24, 12, 0), true},
		{"web at noon", web, at(11, 24, 12, 0), false},
	} {
		if _, got := InWindow(windows, tc.h, tc.t); got != tc.want {
			t.Errorf("%s: InWindow = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestNextOpeningLongFreeze checks an opening past a freeze longer than
// the look-ahead chunk.
func TestNextOpeningLongFreeze(t *testing.T) {
	windows := []Window{
		win("weekly", "FREQ=WEEKLY;BYDAY=SU;BYHOUR=2", time.UTC, 2*time.Hour, 0, "", false),
		{Name: "freeze", RRule: MustParseRRule("FREQ=YEARLY;COUNT=1"), Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
			Duration: 90 * 24 * time.Hour, Blocking: true},
	}
	iv, ok := NextOpening(windows, patchwave.Host{}, time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC))
	if want := time.Date(2026, 4, 5, 2, 0, 0, 0, time.UTC); !ok || !iv.Start.Equal(want) {
		t.Errorf("NextOpening = %v, %v; want %v", iv.Start, ok, want)
	}
	// An everlasting freeze: no opening within the horizon.
	windows[1].RRule = MustParseRRule("FREQ=DAILY")
	windows[1].Duration = 24 * time.Hour
	if iv, ok := NextOpening(windows, patchwave.Host{}, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); ok {
		t.Errorf("opening through a daily freeze: %s", fmtIv(iv))
	}
}

func TestOverlaps(t *testing.T) {
	from, to := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	ws := []Window{
		win("sat", "FREQ=WEEKLY;BYDAY=SA;BYHOUR=22", time.UTC, 4*time.Hour, 0, "", false),
		win("sun", "FREQ=WEEKLY;BYDAY=SU;BYHOUR=1", time.UTC, 2*time.Hour, 0, "", false),
		win("wed", "FREQ=WEEKLY;BYDAY=WE", time.UTC, 2*time.Hour, 0, "", false),
	}
	got := Overlaps(ws, ws, from, to)
	if len(got) != 1 || got[0].A != "sat" || got[0].B != "sun" || fmtIv(got[0].At) != "01-04 01:00 UTC–01-04 02:00 UTC cut 01-04 02:00 UTC" {
		t.Errorf("Overlaps(ws, ws) = %+v", got)
	}
	freeze := []Window{win("feb", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=1", time.UTC, 10*24*time.Hour, 0, "", true)}
	got = Overlaps(ws, freeze, from, to)
	if len(got) != 3 {
		t.Errorf("Overlaps(ws, freeze) = %+v, want all three", got)
	}
}

func BenchmarkNextOpening(b *testing.B) {
	berlin := mustLoc(b, "Europe/Berlin")
	rules := []string{"FREQ=WEEKLY;BYDAY=SA;BYHOUR=22", "FREQ=DAILY;BYHOUR=1", "FREQ=WEEKLY;BYDAY=SA,SU;BYHOUR=2",
		"FREQ=MONTHLY;BYDAY=+3WE;BYHOUR=20", "FREQ=WEEKLY;BYDAY=TU,TH;BYHOUR=23"}
	var windows []Window
	for i := range 50 {
		windows = append(windows, win(fmt.Sprintf("w%d", i), rules[i%len(rules)], berlin, 3*time.Hour, 30*time.Minute,
			fmt.Sprintf("site=s%d", i%25), false))
	}
	windows = append(windows, win("freeze", "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=20", berlin, 14*24*time.Hour, 0, "", true))
	hosts := make([]patchwave.Host, 100_000)
	for i := range hosts {
		hosts[i] = patchwave.Host{ID: int64(i), Hostname: fmt.Sprintf("h%d", i), Site: fmt.Sprintf("s%d", i%25),
			Tier: patchwave.TierBusinessOperational}
	}
	after := time.Date(2026, 12, 10, 12, 0, 0, 0, berlin)
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if _, ok := NextOpening(windows, hosts[i%len(hosts)], after); !ok {
			b.Fatal("no opening")
		}
		i++
	}
}
