package plan

import (
	"strings"
	"testing"
	"time"

	"github.com/patchwave/patchwave"
)

func TestDefaultCadence(t *testing.T) {
	for _, name := range []string{"UTC", "Europe/Berlin", "America/New_York"} {
		loc := mustLoc(t, name)
		c := DefaultCadence(loc)
		if err := c.Validate(); err != nil {
			t.Fatalf("%s: Validate: %v", name, err)
		}
		cs := c.Cycles(time.Date(2026, 1, 1, 0, 0, 0, 0, loc), time.Date(2028, 1, 1, 0, 0, 0, 0, loc))
		if len(cs) != 24 {
			t.Fatalf("%s: %d cycles, want 24", name, len(cs))
		}
		for i, cy := range cs {
			y, m := 2026+i/12, time.Month(i%12+1)
			pt := patchwave.PatchTuesday(y, m, loc)
			if want := patchwave.CycleAt(pt, loc); cy.ID != want {
				t.Errorf("%s: cycle %d ID %q, want %q", name, i, cy.ID, want)
			}
			if want := pt.Add(18 * time.Hour); !cy.Release.Equal(want) {
				t.Errorf("%s %s: release %v, want %v", name, cy.ID, cy.Release, want)
			}
			day := func(n int) time.Time { return time.Date(y, m, pt.Day()+n, 0, 0, 0, 0, loc) }
			for _, w := range []PhaseDates{
				{PhaseRelease, cy.Release, day(1)},
				{PhaseEvaluation, day(1), day(7)}, // Wednesday to the third Monday
				{PhaseExclusionDeadline, day(1), day(2)},
				{PhaseProduction, day(8), day(29)}, // from the third Wednesday, three weeks
			} {
				p, ok := cy.Phase(w.Name)
				if !ok || !p.Start.Equal(w.Start) || !p.End.Equal(w.End) {
					t.Errorf("%s %s: phase %s = %v–%v, want %v–%v", name, cy.ID, w.Name, p.Start, p.End, w.Start, w.End)
				}
			}
			if d, _ := cy.Phase(PhaseExclusionDeadline); !d.End.Add(-time.Millisecond).Equal(patchwave.ExclusionDeadline(y, m, loc)) {
				t.Errorf("%s %s: exclusion deadline %v, want the end of %v", name, cy.ID, d.End, patchwave.ExclusionDeadline(y, m, loc))
			}
			ev, _ := cy.Phase(PhaseEvaluation)
			// "Third Monday/Wednesday" are those of the week after Patch
			// Tuesday's (see DefaultPhases).
			if last := ev.End.AddDate(0, 0, -1); last.Weekday() != time.Monday || last.Sub(pt) > 7*24*time.Hour {
				t.Errorf("%s %s: evaluation's last day %v is not the Monday after Patch Tuesday", name, cy.ID, last)
			}
			prod, _ := cy.Phase(PhaseProduction)
			if prod.Start.Weekday() != time.Wednesday || prod.Start.Sub(pt) < 7*24*time.Hour || prod.Start.Sub(pt) > 9*24*time.Hour {
				t.Errorf("%s %s: production starts %v, not the Wednesday a week after Patch Tuesday", name, cy.ID, prod.Start)
			}
		}
	}
}

func TestCycleOf(t *testing.T) {
	c := DefaultCadence(time.UTC)
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		{time.Date(2026, 11, 10, 18, 0, 0, 0, time.UTC), "2026-11"},
		{time.Date(2026, 11, 10, 17, 59, 0, 0, time.UTC), "2026-10"},
		{time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), "2026-11"},
	} {
		if cy, ok := c.CycleOf(tc.t); !ok || cy.ID != tc.want {
			t.Errorf("CycleOf(%v) = %q, %v; want %q", tc.t, cy.ID, ok, tc.want)
		}
	}
}

func TestOutOfBand(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	start := time.Date(2026, 11, 23, 19, 30, 0, 0, berlin)
	const f = "01-02 15:04"
	for _, tc := range []struct {
		compressed bool
		want       string
	}{
		{true, "release 11-23 19:30–11-24 00:00, evaluation 11-23 19:30–11-24 00:00, exclusion-deadline 11-23 19:30–11-24 00:00, production 11-24 00:00–12-01 00:00"},
		{false, "release 11-23 19:30–11-24 00:00, evaluation 11-24 00:00–11-30 00:00, exclusion-deadline 11-24 00:00–11-25 00:00, production 12-01 00:00–12-22 00:00"},
	} {
		cy := OutOfBand(start, tc.compressed)
		if cy.ID != "oob-2026-11-23T1930" || !cy.Release.Equal(start) {
			t.Errorf("OutOfBand: ID %q, release %v", cy.ID, cy.Release)
		}
		var s []string
		for _, p := range cy.Phases {
			s = append(s, p.Name+" "+p.Start.Format(f)+"–"+p.End.Format(f))
		}
		if got := strings.Join(s, ", "); got != tc.want {
			t.Errorf("compressed=%v:\n got %s\nwant %s", tc.compressed, got, tc.want)
		}
	}
}

func TestCadenceValidate(t *testing.T) {
	ok := DefaultCadence(time.UTC)
	for _, tc := range []struct {
		name string
		edit func(*Cadence)
		want string
	}{
		{"no rule", func(c *Cadence) { c.RRule = RRule{} }, "no rule"},
		{"no start", func(c *Cadence) { c.Start = time.Time{} }, "no start"},
		{"no phases", func(c *Cadence) { c.Phases = nil }, "no phases"},
		{"unnamed", func(c *Cadence) { c.Phases = []Phase{{Days: 1}} }, "no name"},
		{"twice", func(c *Cadence) { c.Phases = []Phase{{Name: "a", Days: 1}, {Name: "a", Days: 1}} }, "appears twice"},
		{"negative offset", func(c *Cadence) { c.Phases = []Phase{{Name: "a", Offset: -1, Days: 1}} }, "offset -1"},
		{"no days", func(c *Cadence) { c.Phases = []Phase{{Name: "a"}} }, "0 days"},
	} {
		c := ok
		tc.edit(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Validate() = %v, want %q", tc.name, err, tc.want)
		}
	}
}
