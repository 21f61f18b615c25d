package plan

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/patchwave/patchwave"
)

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Skipf("time zone %s: %v", name, err)
	}
	return loc
}

func fmtTimes(ts []time.Time) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = t.Format("2006-01-02 15:04 MST")
	}
	return strings.Join(s, ", ")
}

func TestParseRRuleCanonical(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"FREQ=MONTHLY;BYDAY=+2TU", "FREQ=MONTHLY;BYDAY=+2TU"},
		{"RRULE:freq=monthly;byday=2tu", "FREQ=MONTHLY;BYDAY=+2TU"},
		{"BYDAY=SU,SA;FREQ=WEEKLY;INTERVAL=1;WKST=MO", "FREQ=WEEKLY;BYDAY=SU,SA"},
		{"FREQ=WEEKLY;INTERVAL=2;WKST=SU;BYDAY=MO", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;WKST=SU"},
		{"FREQ=MONTHLY;BYMONTHDAY=-1,31,1,1", "FREQ=MONTHLY;BYMONTHDAY=-1,1,31"},
		{"FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;COUNT=3", "FREQ=YEARLY;COUNT=3;BYMONTH=2;BYMONTHDAY=29"},
		{"FREQ=DAILY;UNTIL=20261231T235959Z;BYHOUR=2,1;BYMINUTE=30", "FREQ=DAILY;UNTIL=20261231T235959Z;BYHOUR=1,2;BYMINUTE=30"},
		{"FREQ=DAILY;UNTIL=20261231", "FREQ=DAILY;UNTIL=20261231"},
		{"FREQ=DAILY;UNTIL=20261231T120000", "FREQ=DAILY;UNTIL=20261231T120000"},
		{"FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1"},
		{"FREQ=MONTHLY;BYDAY=-1FR", "FREQ=MONTHLY;BYDAY=-1FR"},
	} {
		r, err := ParseRRule(tc.in)
		if err != nil {
			t.Errorf("ParseRRule(%q): %v", tc.in, err)
			continue
		}
		if got := r.String(); got != tc.want {
			t.Errorf("ParseRRule(%q).String() = %q, want %q", tc.in, got, tc.want)
		}
		r2, err := ParseRRule(r.String())
		if err != nil || !reflect.DeepEqual(r, r2) {
			t.Errorf("round trip of %q: %+v, %v; want %+v", tc.in, r2, err, r)
		}
	}
}

func TestParseRRuleErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "empty"},
		{"BYDAY=MO", "FREQ is missing"},
		{"FREQ=HOURLY", "FREQ=HOURLY"},
		{"FREQ=WEEKLY;FREQ=DAILY", "FREQ appears twice"},
		{"FREQ=WEEKLY;BYDAY=XX", `"XX" is not a weekday`},
		{"FREQ=WEEKLY;BYDAY=+1MO", "ordinals are only allowed"},
		{"FREQ=MONTHLY;BYDAY=+6MO", "between -5 and 5"},
		{"FREQ=MONTHLY;BYDAY=0MO", "bad ordinal"},
		{"FREQ=MONTHLY;BYMONTHDAY=0", `"0" is not a number from -31 to 31 other than 0`},
		{"FREQ=MONTHLY;BYMONTHDAY=32", "BYMONTHDAY=32"},
		{"FREQ=YEARLY;BYMONTH=13", "BYMONTH=13"},
		{"FREQ=DAILY;BYHOUR=24", "BYHOUR=24"},
		{"FREQ=DAILY;BYMINUTE=60", "BYMINUTE=60"},
		{"FREQ=DAILY;INTERVAL=0", "INTERVAL=0"},
		{"FREQ=DAILY;COUNT=-1", "COUNT=-1"},
		{"FREQ=DAILY;COUNT=2;UNTIL=20260101", "COUNT and UNTIL"},
		{"FREQ=DAILY;UNTIL=2026-01-01", "UNTIL=2026-01-01"},
		{"FREQ=DAILY;WKST=TU", "WKST=TU"},
		{"FREQ=DAILY;BYSECOND=1", "BYSECOND is not supported"},
		{"FREQ=DAILY;FOO=1", `unknown part "FOO"`},
		{"FREQ=DAILY;INTERVAL", `part "INTERVAL": want NAME=VALUE`},
		{"FREQ=DAILY;INTERVAL=", "INTERVAL has no value"},
		{"FREQ=WEEKLY;BYMONTHDAY=1", "not allowed with FREQ=WEEKLY"},
		{strings.Repeat("x", MaxRRuleLen+1), "at most"},
	} {
		_, err := ParseRRule(tc.in)
		if err == nil {
			t.Errorf("ParseRRule(%q): no error, want one containing %q", tc.in, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseRRule(%q) = %q, want it to contain %q", tc.in, err, tc.want)
		}
		if patchwave.ErrorCode(err) != patchwave.EInvalid {
			t.Errorf("ParseRRule(%q): code %q, want invalid", tc.in, patchwave.ErrorCode(err))
		}
	}
}

func TestPatchTuesday(t *testing.T) {
	for _, name := range []string{"UTC", "Europe/Berlin", "America/New_York", "Pacific/Auckland"} {
		loc := mustLoc(t, name)
		r := MustParseRRule("FREQ=MONTHLY;BYDAY=+2TU")
		start := time.Date(2024, 1, 1, 0, 0, 0, 0, loc)
		got := r.Between(start, start, time.Date(2028, 1, 1, 0, 0, 0, 0, loc))
		if len(got) != 48 {
			t.Fatalf("%s: %d occurrences, want 48", name, len(got))
		}
		for i, g := range got {
			want := patchwave.PatchTuesday(2024+i/12, time.Month(i%12+1), loc)
			if !g.Equal(want) || g.Location() != loc {
				t.Errorf("%s: occurrence %d = %v, want %v", name, i, g, want)
			}
		}
		// Next from any moment gives the following Patch Tuesday.
		n, ok := r.Next(start, time.Date(2026, 11, 10, 0, 0, 0, 0, loc))
		if want := time.Date(2026, 12, 8, 0, 0, 0, 0, loc); !ok || !n.Equal(want) {
			t.Errorf("%s: Next after Patch Tuesday 2026-11 = %v, %v; want %v", name, n, ok, want)
		}
	}
}

func TestRRuleBetween(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	ny := mustLoc(t, "America/New_York")
	d := func(loc *time.Location, y int, m time.Month, day, h, mi int) time.Time {
		return time.Date(y, m, day, h, mi, 0, 0, loc)
	}
	for _, tc := range []struct {
		name     string
		rule     string
		start    time.Time
		from, to time.Time
		want     string
	}{
		{"last Friday", "FREQ=MONTHLY;BYDAY=-1FR", d(time.UTC, 2026, 1, 1, 20, 0),
			d(time.UTC, 2026, 1, 1, 0, 0), d(time.UTC, 2026, 5, 1, 0, 0),
			"2026-01-30 20:00 UTC, 2026-02-27 20:00 UTC, 2026-03-27 20:00 UTC, 2026-04-24 20:00 UTC"},
		{"weekend in Berlin across spring forward", "FREQ=WEEKLY;BYDAY=SA,SU;BYHOUR=2;BYMINUTE=30", d(berlin, 2026, 3, 1, 0, 0),
			d(berlin, 2026, 3, 21, 0, 0), d(berlin, 2026, 4, 6, 0, 0),
			// 02:30 on 29 March does not exist: time.Date gives 03:30 CEST.
			"2026-03-21 02:30 CET, 2026-03-22 02:30 CET, 2026-03-28 02:30 CET, 2026-03-29 03:30 CEST, 2026-04-04 02:30 CEST, 2026-04-05 02:30 CEST"},
		{"weekend in Berlin across fall back", "FREQ=WEEKLY;BYDAY=SA,SU;BYHOUR=2;BYMINUTE=30", d(berlin, 2026, 3, 1, 0, 0),
			d(berlin, 2026, 10, 24, 0, 0), d(berlin, 2026, 11, 2, 0, 0),
			// 02:30 on 25 October exists twice: the first is taken.
			"2026-10-24 02:30 CEST, 2026-10-25 02:30 CEST, 2026-10-31 02:30 CET, 2026-11-01 02:30 CET"},
		{"Saturday night in New York across both changes", "FREQ=WEEKLY;BYDAY=SA;BYHOUR=22", d(ny, 2026, 1, 3, 0, 0),
			d(ny, 2026, 3, 1, 0, 0), d(ny, 2026, 3, 16, 0, 0),
			"2026-03-07 22:00 EST, 2026-03-14 22:00 EDT"},
		{"Sunday 01:30 in New York on fall back", "FREQ=WEEKLY;BYDAY=SU;BYHOUR=1;BYMINUTE=30", d(ny, 2026, 1, 4, 0, 0),
			d(ny, 2026, 10, 25, 0, 0), d(ny, 2026, 11, 9, 0, 0),
			"2026-10-25 01:30 EDT, 2026-11-01 01:30 EDT, 2026-11-08 01:30 EST"},
		{"BYMONTHDAY=31 skips short months", "FREQ=MONTHLY;BYMONTHDAY=31", d(time.UTC, 2026, 1, 1, 3, 0),
			d(time.UTC, 2026, 1, 1, 0, 0), d(time.UTC, 2026, 9, 1, 0, 0),
			"2026-01-31 03:00 UTC, 2026-03-31 03:00 UTC, 2026-05-31 03:00 UTC, 2026-07-31 03:00 UTC, 2026-08-31 03:00 UTC"},
		{"start on the 31st skips short months", "FREQ=MONTHLY", d(time.UTC, 2026, 1, 31, 3, 0),
			d(time.UTC, 2026, 1, 1, 0, 0), d(time.UTC, 2026, 6, 1, 0, 0),
			"2026-01-31 03:00 UTC, 2026-03-31 03:00 UTC, 2026-05-31 03:00 UTC"},
		{"last day of the month", "FREQ=MONTHLY;BYMONTHDAY=-1", d(time.UTC, 2024, 1, 1, 0, 0),
			d(time.UTC, 2024, 1, 1, 0, 0), d(time.UTC, 2024, 5, 1, 0, 0),
			"2024-01-31 00:00 UTC, 2024-02-29 00:00 UTC, 2024-03-31 00:00 UTC, 2024-04-30 00:00 UTC"},
		{"Feb 29 yearly", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", d(time.UTC, 2023, 1, 1, 0, 0),
			d(time.UTC, 2023, 1, 1, 0, 0), d(time.UTC, 2033, 1, 1, 0, 0),
			"2024-02-29 00:00 UTC, 2028-02-29 00:00 UTC, 2032-02-29 00:00 UTC"},
		{"yearly from a Feb 29 start", "FREQ=YEARLY", d(time.UTC, 2024, 2, 29, 6, 0),
			d(time.UTC, 2024, 1, 1, 0, 0), d(time.UTC, 2029, 1, 1, 0, 0),
			"2024-02-29 06:00 UTC, 2028-02-29 06:00 UTC"},
		{"COUNT", "FREQ=DAILY;COUNT=3", d(time.UTC, 2026, 12, 30, 22, 0),
			d(time.UTC, 2026, 1, 1, 0, 0), d(time.UTC, 2027, 2, 1, 0, 0),
			"2026-12-30 22:00 UTC, 2026-12-31 22:00 UTC, 2027-01-01 22:00 UTC"},
		{"COUNT counts from the start, not from", "FREQ=DAILY;COUNT=3", d(time.UTC, 2026, 12, 30, 22, 0),
			d(time.UTC, 2027, 1, 1, 0, 0), d(time.UTC, 2027, 2, 1, 0, 0),
			"2027-01-01 22:00 UTC"},
		{"UNTIL is inclusive", "FREQ=WEEKLY;UNTIL=20260117T100000Z", d(time.UTC, 2026, 1, 3, 10, 0),
			d(time.UTC, 2026, 1, 1, 0, 0), d(time.UTC, 2027, 1, 1, 0, 0),
			"2026-01-03 10:00 UTC, 2026-01-10 10:00 UTC, 2026-01-17 10:00 UTC"},
		{"UNTIL as a date is the whole day, local", "FREQ=DAILY;UNTIL=20260103", d(berlin, 2026, 1, 1, 23, 0),
			d(berlin, 2026, 1, 1, 0, 0), d(berlin, 2027, 1, 1, 0, 0),
			"2026-01-01 23:00 CET, 2026-01-02 23:00 CET, 2026-01-03 23:00 CET"},
		{"INTERVAL=2 weekly with WKST", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,SU", d(time.UTC, 2026, 1, 5, 0, 0),
			d(time.UTC, 2026, 1, 1, 0, 0), d(time.UTC, 2026, 2, 1, 0, 0),
			"2026-01-05 00:00 UTC, 2026-01-11 00:00 UTC, 2026-01-19 00:00 UTC, 2026-01-25 00:00 UTC"},
		{"INTERVAL=2 weekly, WKST=SU", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,SU;WKST=SU", d(time.UTC, 2026, 1, 5, 0, 0),
			d(time.UTC, 2026, 1, 1, 0, 0), d(time.UTC, 2026, 2, 1, 0, 0),
			"2026-01-05 00:00 UTC, 2026-01-18 00:00 UTC, 2026-01-19 00:00 UTC"},
		{"last weekday with BYSETPOS", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", d(time.UTC, 2026, 1, 1, 0, 0),
			d(time.UTC, 2026, 1, 1, 0, 0), d(time.UTC, 2026, 4, 1, 0, 0),
			"2026-01-30 00:00 UTC, 2026-02-27 00:00 UTC, 2026-03-31 00:00 UTC"},
		{"Friday the 13th", "FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13", d(time.UTC, 2026, 1, 1, 0, 0),
			d(time.UTC, 2026, 1, 1, 0, 0), d(time.UTC, 2027, 1, 1, 0, 0),
			"2026-02-13 00:00 UTC, 2026-03-13 00:00 UTC, 2026-11-13 00:00 UTC"},
		{"yearly ordinal within the year", "FREQ=YEARLY;BYDAY=-1MO", d(time.UTC, 2026, 1, 1, 0, 0),
			d(time.UTC, 2026, 1, 1, 0, 0), d(time.UTC, 2028, 1, 1, 0, 0),
			"2026-12-28 00:00 UTC, 2027-12-27 00:00 UTC"},
		{"yearly ordinal within BYMONTH", "FREQ=YEARLY;BYMONTH=11;BYDAY=+4TH", d(time.UTC, 2026, 1, 1, 0, 0),
			d(time.UTC, 2026, 1, 1, 0, 0), d(time.UTC, 2028, 1, 1, 0, 0),
			"2026-11-26 00:00 UTC, 2027-11-25 00:00 UTC"},
		{"daily with hours and minutes", "FREQ=DAILY;BYHOUR=1,13;BYMINUTE=0,30", d(time.UTC, 2026, 1, 1, 5, 0),
			d(time.UTC, 2026, 1, 1, 0, 0), d(time.UTC, 2026, 1, 2, 2, 0),
			"2026-01-01 13:00 UTC, 2026-01-01 13:30 UTC, 2026-01-02 01:00 UTC, 2026-01-02 01:30 UTC"},
		{"daily filtered by BYDAY", "FREQ=DAILY;BYDAY=MO,FR", d(time.UTC, 2026, 1, 1, 0, 0),
			d(time.UTC, 2026, 1, 1, 0, 0), d(time.UTC, 2026, 1, 13, 0, 0),
			"2026-01-02 00:00 UTC, 2026-01-05 00:00 UTC, 2026-01-09 00:00 UTC, 2026-01-12 00:00 UTC"},
		{"far from the start (skips periods)", "FREQ=DAILY;INTERVAL=3", d(time.UTC, 2000, 1, 1, 0, 0),
			d(time.UTC, 2026, 1, 1, 0, 0), d(time.UTC, 2026, 1, 7, 0, 0),
			"2026-01-02 00:00 UTC, 2026-01-05 00:00 UTC"},
		{"nothing ever matches", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", d(time.UTC, 2026, 1, 1, 0, 0),
			d(time.UTC, 2026, 1, 1, 0, 0), d(time.UTC, 9999, 1, 1, 0, 0), ""},
		{"empty range", "FREQ=DAILY", d(time.UTC, 2026, 1, 1, 0, 0),
			d(time.UTC, 2026, 1, 2, 0, 0), d(time.UTC, 2026, 1, 1, 0, 0), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := MustParseRRule(tc.rule)
			got := fmtTimes(r.Between(tc.start, tc.from, tc.to))
			if got != tc.want {
				t.Errorf("%s from %v\n got %s\nwant %s", tc.rule, tc.start, got, tc.want)
			}
		})
	}
}

// TestRRuleDSTDuration pins that wall-clock times are kept: the instants of
// a 02:00 daily rule are 23 or 25 hours apart across a change.
func TestRRuleDSTDuration(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	r := MustParseRRule("FREQ=DAILY;BYHOUR=12")
	start := time.Date(2026, 3, 28, 0, 0, 0, 0, berlin)
	got := r.Between(start, start, start.AddDate(0, 0, 2))
	if len(got) != 2 || got[1].Sub(got[0]) != 23*time.Hour {
		t.Errorf("got %s, want two noons 23h apart", fmtTimes(got))
	}
}

func TestRRuleNext(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		rule  string
		after time.Time
		want  string // "" for none
	}{
		{"FREQ=DAILY", start.Add(-time.Hour), "2026-01-01 00:00 UTC"},
		{"FREQ=DAILY", start, "2026-01-02 00:00 UTC"},
		{"FREQ=DAILY;COUNT=2", start.Add(time.Hour), "2026-01-02 00:00 UTC"},
		{"FREQ=DAILY;COUNT=2", start.Add(25 * time.Hour), ""},
		{"FREQ=DAILY;UNTIL=20260105", start.AddDate(0, 0, 5), ""},
		{"FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", start, ""},
		{"FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", start, "2028-02-29 00:00 UTC"},
		{"FREQ=MONTHLY;BYDAY=+5FR", start, "2026-01-30 00:00 UTC"},
	} {
		r := MustParseRRule(tc.rule)
		n, ok := r.Next(start, tc.after)
		got := ""
		if ok {
			got = n.Format("2006-01-02 15:04 MST")
		}
		if got != tc.want {
			t.Errorf("%s: Next(%v) = %q, want %q", tc.rule, tc.after, got, tc.want)
		}
	}
	if _, ok := (RRule{}).Next(start, start); ok {
		t.Error("the zero RRule has an occurrence")
	}
}

func TestRRuleHostile(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, rule := range []string{
		"FREQ=YEARLY;BYMONTH=1,2,3,4,5,6,7,8,9,10,11,12;BYMONTHDAY=1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31;" +
			"BYHOUR=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23;BYMINUTE=" + strings.Repeat("1,", 59) + "59",
		"FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
		"FREQ=YEARLY;INTERVAL=1000;BYMONTH=2;BYMONTHDAY=30",
	} {
		r := MustParseRRule(rule)
		t0 := time.Now()
		got := r.Between(start, start, start.AddDate(100, 0, 0))
		r.Next(start, start)
		if len(got) > MaxOccurrences {
			t.Errorf("%.40s…: %d occurrences", rule, len(got))
		}
		if d := time.Since(t0); d > 5*time.Second {
			t.Errorf("%.40s…: took %v", rule, d)
		}
	}
}

func FuzzParseRRule(f *testing.F) {
	for _, s := range []string{"FREQ=MONTHLY;BYDAY=+2TU", "FREQ=WEEKLY;BYDAY=SA,SU;BYHOUR=2", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
		"FREQ=DAILY;COUNT=5", "FREQ=MONTHLY;BYDAY=MO,FR;BYSETPOS=1,-1", "FREQ=DAILY;UNTIL=20270101T000000Z", "RRULE:freq=weekly;wkst=su"} {
		f.Add(s)
	}
	start := time.Date(2026, 3, 1, 2, 30, 0, 0, time.UTC)
	if loc, err := time.LoadLocation("Europe/Berlin"); err == nil {
		start = start.In(loc)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRRule(s)
		if err != nil {
			return
		}
		r2, err := ParseRRule(r.String())
		if err != nil {
			t.Fatalf("ParseRRule(%q).String() = %q does not parse: %v", s, r.String(), err)
		}
		if !reflect.DeepEqual(r, r2) {
			t.Fatalf("round trip of %q: %+v, want %+v", s, r2, r)
		}
		got := r.Between(start, start, start.AddDate(2, 0, 0))
		for i := 1; i < len(got); i++ {
			if !got[i].After(got[i-1]) {
				t.Fatalf("%s: occurrences out of order: %v, %v", r, got[i-1], got[i])
			}
		}
		r.Next(start, start.AddDate(1, 0, 0))
	})
}

// TestRRuleOrdinalsBruteForce compares MONTHLY;BYDAY=±nXX with a count of
// the weekdays of each month, for every weekday and ordinal, 2024–2027.
func TestRRuleOrdinalsBruteForce(t *testing.T) {
	start := time.Date(2024, 1, 1, 9, 0, 0, 0, time.UTC)
	end := time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)
	for wd := time.Sunday; wd <= time.Saturday; wd++ {
		for _, n := range []int{1, 2, 3, 4, 5, -1, -2, -3, -4, -5} {
			d := WeekdayNum{N: n, Day: wd}
			r := MustParseRRule("FREQ=MONTHLY;BYDAY=" + d.String())
			var want []time.Time
			for m := start; m.Before(end); m = m.AddDate(0, 1, 0) {
				var days []time.Time
				for x := m; x.Month() == m.Month(); x = x.AddDate(0, 0, 1) {
					if x.Weekday() == wd {
						days = append(days, x)
					}
				}
				i := n - 1
				if n < 0 {
					i = len(days) + n
				}
				if i >= 0 && i < len(days) {
					want = append(want, days[i])
				}
			}
			if got := r.Between(start, start, end); fmtTimes(got) != fmtTimes(want) {
				t.Errorf("%s:\n got %s\nwant %s", r, fmtTimes(got), fmtTimes(want))
			}
		}
	}
}
