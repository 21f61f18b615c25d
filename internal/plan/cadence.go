package plan

import (
	"time"

	"github.com/patchwave/patchwave"
)

// Phase is a named stretch of a release cycle, in calendar days counted
// from the release day (day 0), on the wall clock of the cadence's
// location. A phase covers days [Offset, Offset+Days): it starts at
// midnight of day Offset (or at the release itself, if that is later)
// and ends at midnight after its last day. Calendar days keep phases
// aligned on dates across daylight saving changes.
type Phase struct {
	Name   string
	Offset int // days after the release day
	Days   int // length in days, at least 1
}

// The names of the default phases.
const (
	PhaseRelease    = "release"
	PhaseEvaluation = "evaluation"
	// PhaseExclusionDeadline ends when exclusions from the cycle are
	// due: its End is the deadline.
	PhaseExclusionDeadline = "exclusion-deadline"
	PhaseProduction        = "production"
)

// Cadence is the calendar of release cycles: RRule, starting at Start (in
// the cadence's time zone), gives the release moments; Phases the
// schedule that follows each release.
type Cadence struct {
	RRule  RRule
	Start  time.Time
	Phases []Phase
}

// PhaseDates is a phase of one cycle, with its dates: [Start, End).
type PhaseDates struct {
	Name       string
	Start, End time.Time
}

// Cycle is one release cycle: a release and the dates of its phases.
type Cycle struct {
	// ID names the cycle: the month of its release, YYYY-MM ("2026-11"),
	// or "oob-" and the release's local date and time for out-of-band
	// releases ("oob-2026-11-23T1930").
	ID      string
	Release time.Time
	Phases  []PhaseDates
}

// Phase returns the dates of the phase called name, and false when the
// cycle has none.
func (c Cycle) Phase(name string) (PhaseDates, bool) {
	for _, p := range c.Phases {
		if p.Name == name {
			return p, true
		}
	}
	return PhaseDates{}, false
}

// DefaultPhases is the common practice for a Patch Tuesday cycle: the
// release day (day 0); evaluation, approvals and lab testing from the
// next day to the "third Monday" (days 1 to 6); exclusions due by the end
// of the day after the release (day 1, the second Wednesday, as
// patchwave.ExclusionDeadline); production waves from the "third
// Wednesday" (day 8) over three weeks.
//
// "Third Monday" and "third Wednesday" are read as the Monday and
// Wednesday of the week after Patch Tuesday's, i.e. 6 and 8 days after
// it. They are the calendar's third Monday and Wednesday except in months
// that begin on a Tuesday (the calendar's third Monday is a week later)
// or a Wednesday (its third Wednesday is the day after Patch Tuesday,
// e.g. 15 April 2026, which would leave no time for evaluation).
func DefaultPhases() []Phase {
	return []Phase{
		{Name: PhaseRelease, Offset: 0, Days: 1},
		{Name: PhaseEvaluation, Offset: 1, Days: 6},
		{Name: PhaseExclusionDeadline, Offset: 1, Days: 1},
		{Name: PhaseProduction, Offset: 8, Days: 21},
	}
}

// CompressedPhases is the schedule of an urgent out-of-band release: lab
// testing and exclusions on the release day itself, production waves
// from the next day over a week.
func CompressedPhases() []Phase {
	return []Phase{
		{Name: PhaseRelease, Offset: 0, Days: 1},
		{Name: PhaseEvaluation, Offset: 0, Days: 1},
		{Name: PhaseExclusionDeadline, Offset: 0, Days: 1},
		{Name: PhaseProduction, Offset: 1, Days: 7},
	}
}

// DefaultRelease is the default release rule: Patch Tuesday, the second
// Tuesday of the month, at 18:00 local time (Microsoft publishes at 10:00
// Pacific time, 18:00 or 19:00 in Europe; the evening leaves the day for
// vendors that publish later).
const DefaultRelease = "FREQ=MONTHLY;BYDAY=+2TU;BYHOUR=18;BYMINUTE=0"

// DefaultCadence returns the default cadence in loc: DefaultRelease with
// DefaultPhases.
func DefaultCadence(loc *time.Location) Cadence {
	return Cadence{
		RRule:  MustParseRRule(DefaultRelease),
		Start:  time.Date(2000, 1, 1, 0, 0, 0, 0, loc),
		Phases: DefaultPhases(),
	}
}

// Validate checks c: a rule, a start, at least one phase, each with a
// unique non-empty name, an offset of 0 to 366 days and a length of 1 to
// 366 days. Errors have code EInvalid.
func (c Cadence) Validate() error {
	if c.RRule.IsZero() {
		return patchwave.Errorf(patchwave.EInvalid, "cadence: no rule")
	}
	if c.Start.IsZero() {
		return patchwave.Errorf(patchwave.EInvalid, "cadence: no start")
	}
	if len(c.Phases) == 0 {
		return patchwave.Errorf(patchwave.EInvalid, "cadence: no phases")
	}
	return validPhases(c.Phases)
}

func validPhases(ps []Phase) error {
	seen := map[string]bool{}
	for _, p := range ps {
		if p.Name == "" {
			return patchwave.Errorf(patchwave.EInvalid, "cadence: a phase has no name")
		}
		if seen[p.Name] {
			return patchwave.Errorf(patchwave.EInvalid, "cadence: phase %q appears twice", p.Name)
		}
		seen[p.Name] = true
		if p.Offset < 0 || p.Offset > 366 {
			return patchwave.Errorf(patchwave.EInvalid, "cadence: phase %q: offset %d days, want 0 to 366", p.Name, p.Offset)
		}
		if p.Days < 1 || p.Days > 366 {
			return patchwave.Errorf(patchwave.EInvalid, "cadence: phase %q: %d days, want 1 to 366", p.Name, p.Days)
		}
	}
	return nil
}

// Cycles returns the cycles whose release falls in [from, to), in order.
func (c Cadence) Cycles(from, to time.Time) []Cycle {
	releases := c.RRule.Between(c.Start, from, to)
	out := make([]Cycle, len(releases))
	for i, r := range releases {
		out[i] = cycle(patchwave.CycleAt(r, r.Location()), r, c.Phases)
	}
	return out
}

// CycleOf returns the cycle whose release is the last one at or before
// t, and false when there is none within the past year.
func (c Cadence) CycleOf(t time.Time) (Cycle, bool) {
	cs := c.Cycles(t.AddDate(-1, 0, 0), t.Add(time.Nanosecond))
	if len(cs) == 0 {
		return Cycle{}, false
	}
	return cs[len(cs)-1], true
}

// OutOfBand returns an out-of-band cycle released at start (in start's
// location): for an emergency such as a newly known exploited flaw. It
// follows DefaultPhases, or CompressedPhases when compressed.
func OutOfBand(start time.Time, compressed bool) Cycle {
	ps := DefaultPhases()
	if compressed {
		ps = CompressedPhases()
	}
	return cycle("oob-"+start.Format("2006-01-02T1504"), start, ps)
}

// cycle lays out phases after a release.
func cycle(id string, release time.Time, phases []Phase) Cycle {
	y, m, d := release.Date()
	loc := release.Location()
	c := Cycle{ID: id, Release: release, Phases: make([]PhaseDates, len(phases))}
	for i, p := range phases {
		start := time.Date(y, m, d+p.Offset, 0, 0, 0, 0, loc)
		end := time.Date(y, m, d+p.Offset+p.Days, 0, 0, 0, 0, loc)
		c.Phases[i] = PhaseDates{Name: p.Name, Start: maxTime(start, release), End: end}
	}
	return c
}
