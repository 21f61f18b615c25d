package plan

import (
	"slices"
	"time"

	"github.com/patchwave/patchwave"
)

// Window is a maintenance window: the recurring times at which the hosts
// its selector matches may be patched, or, when Blocking, may not (a
// change freeze). Each occurrence of RRule, computed on the wall clock of
// Start's location, opens the window for Duration (an elapsed duration: a
// window that spans a daylight saving change ends an hour earlier or later
// on the wall clock).
type Window struct {
	Name  string
	RRule RRule
	// Start is the rule's DTSTART; its location is the window's IANA
	// time zone.
	Start    time.Time
	Duration time.Duration
	// CutOff is how long before the end no new task may start.
	CutOff   time.Duration
	Selector patchwave.Selector
	// Blocking makes the window a change freeze: no task runs in it.
	Blocking bool
}

// Interval is one occurrence of a window: [Start, End). No new task
// starts at or after CutOff. Window names the window it comes from.
type Interval struct {
	Start, End, CutOff time.Time
	Window             string
}

// Contains reports whether t is in [i.Start, i.End).
func (i Interval) Contains(t time.Time) bool { return !t.Before(i.Start) && t.Before(i.End) }

// Validate checks w: a name, a rule, a location, a positive duration no
// longer than the rule's period (RRule.MinPeriod), and a cut-off that is
// not negative and shorter than the duration. Errors have code EInvalid.
func (w Window) Validate() error {
	if w.Name == "" {
		return patchwave.Errorf(patchwave.EInvalid, "window: name is empty")
	}
	if w.RRule.IsZero() {
		return patchwave.Errorf(patchwave.EInvalid, "window %q: no rule", w.Name)
	}
	if w.Start.IsZero() || w.Start.Location() == nil {
		return patchwave.Errorf(patchwave.EInvalid, "window %q: no start", w.Name)
	}
	if w.Duration <= 0 {
		return patchwave.Errorf(patchwave.EInvalid, "window %q: duration %v must be positive", w.Name, w.Duration)
	}
	if p := w.RRule.MinPeriod(); w.Duration > p {
		return patchwave.Errorf(patchwave.EInvalid, "window %q: duration %v is longer than the rule's period %v (%s)", w.Name, w.Duration, p, w.RRule)
	}
	if w.CutOff < 0 {
		return patchwave.Errorf(patchwave.EInvalid, "window %q: cut-off %v is negative", w.Name, w.CutOff)
	}
	if w.CutOff >= w.Duration {
		return patchwave.Errorf(patchwave.EInvalid, "window %q: cut-off %v is not shorter than the duration %v", w.Name, w.CutOff, w.Duration)
	}
	return nil
}

// Occurrences returns the intervals of w that overlap [from, to), in
// order; the first may have started before from.
func (w Window) Occurrences(from, to time.Time) []Interval {
	if w.Duration <= 0 || !to.After(from) {
		return nil
	}
	starts := w.RRule.Between(w.Start, from.Add(-w.Duration+1), to)
	out := make([]Interval, 0, len(starts))
	for _, s := range starts {
		end := s.Add(w.Duration)
		if !end.After(from) {
			continue
		}
		out = append(out, Interval{Start: s, End: end, CutOff: end.Add(-w.CutOff), Window: w.Name})
	}
	return out
}

// horizon is how far NextOpening and InWindow look at a time, and
// maxHorizon how far NextOpening looks in all.
const (
	horizon    = 35 * 24 * time.Hour
	maxHorizon = 2 * 366 * 24 * time.Hour
)

// openIntervals returns the usable parts of the non-blocking windows
// matching h that overlap [from, to), each with the cut-off of its window
// moved before any blocking window that cuts it short, sorted by start.
// Parts where no task could start (CutOff <= Start) are dropped.
func openIntervals(windows []Window, h patchwave.Host, from, to time.Time) []Interval {
	var open, blocks []Interval
	var cutoffs []time.Duration
	var blocking []Window
	for _, w := range windows {
		if !w.Selector.Matches(h) {
			continue
		}
		if w.Blocking {
			blocking = append(blocking, w)
			continue
		}
		for _, iv := range w.Occurrences(from, to) {
			open = append(open, iv)
			cutoffs = append(cutoffs, w.CutOff)
		}
	}
	if len(open) == 0 {
		return nil
	}
	if len(blocking) > 0 {
		lo, hi := open[0].Start, open[0].End
		for _, iv := range open {
			lo, hi = minTime(lo, iv.Start), maxTime(hi, iv.End)
		}
		for _, w := range blocking {
			blocks = append(blocks, w.Occurrences(lo, hi)...)
		}
	}
	var out []Interval
	for i, iv := range open {
		for _, part := range subtract(iv, blocks) {
			part.CutOff = minTime(iv.CutOff, part.End.Add(-cutoffs[i]))
			if part.CutOff.After(part.Start) {
				out = append(out, part)
			}
		}
	}
	slices.SortFunc(out, func(a, b Interval) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return b.CutOff.Compare(a.CutOff)
	})
	return out
}

// subtract returns the parts of iv not covered by any of blocks.
func subtract(iv Interval, blocks []Interval) []Interval {
	parts := []Interval{iv}
	for _, b := range blocks {
		var next []Interval
		for _, p := range parts {
			if !b.Start.Before(p.End) || !b.End.After(p.Start) {
				next = append(next, p)
				continue
			}
			if b.Start.After(p.Start) {
				next = append(next, Interval{Start: p.Start, End: b.Start, Window: p.Window})
			}
			if b.End.Before(p.End) {
				next = append(next, Interval{Start: b.End, End: p.End, Window: p.Window})
			}
		}
		parts = next
	}
	return parts
}

// NextOpening returns the first opening for host h whose cut-off is after
// after: a part of an interval of a non-blocking window matching h that
// no blocking window matching h overlaps. A blocking interval removes the
// part it overlaps; the part before it gets its cut-off moved back so
// that no task runs into the freeze. The opening may already be open at
// after (Start <= after < CutOff): a task may start at
// max(Start, after). It looks up to two years ahead and returns false
// when no opening is found.
func NextOpening(windows []Window, h patchwave.Host, after time.Time) (Interval, bool) {
	var best Interval
	found := false
	for lo := after; lo.Before(after.Add(maxHorizon)); lo = lo.Add(horizon) {
		hi := lo.Add(horizon)
		for _, iv := range openIntervals(windows, h, lo, hi) {
			if !iv.CutOff.After(after) {
				continue
			}
			if !found || iv.Start.Before(best.Start) {
				best, found = iv, true
			}
			break // sorted by start: the first that qualifies is the best here
		}
		// Every later chunk only holds intervals that start at or
		// after hi; a part of one cannot start before that.
		if found && best.Start.Before(hi) {
			return best, true
		}
	}
	return best, found
}

// InWindow reports whether a task may start on h at t: t falls inside an
// opening of a window matching h (see NextOpening), before its cut-off.
// It returns that opening.
func InWindow(windows []Window, h patchwave.Host, t time.Time) (Interval, bool) {
	for _, iv := range openIntervals(windows, h, t, t.Add(time.Nanosecond)) {
		if !t.Before(iv.Start) && t.Before(iv.CutOff) {
			return iv, true
		}
	}
	return Interval{}, false
}

// Overlap is a pair of windows whose intervals overlap: a warning for
// the people who plan them.
type Overlap struct {
	A, B string   // window names
	At   Interval // the first overlapping stretch found
}

// Overlaps returns the pairs of a window of a and a window of b whose
// intervals overlap within [from, to), with the first such stretch. Pass
// the same slice twice to check a set of windows against itself (a window
// is not compared with itself). Selectors are not compared: two windows
// for disjoint hosts are still reported.
func Overlaps(a, b []Window, from, to time.Time) []Overlap {
	var out []Overlap
	same := len(a) > 0 && len(b) > 0 && &a[0] == &b[0] && len(a) == len(b)
	occ := func(ws []Window) [][]Interval {
		o := make([][]Interval, len(ws))
		for i, w := range ws {
			o[i] = w.Occurrences(from, to)
		}
		return o
	}
	oa := occ(a)
	ob := oa
	if !same {
		ob = occ(b)
	}
	for i := range a {
		j0 := 0
		if same {
			j0 = i + 1
		}
		for j := j0; j < len(b); j++ {
			if iv, ok := firstOverlap(oa[i], ob[j]); ok {
				out = append(out, Overlap{A: a[i].Name, B: b[j].Name, At: iv})
			}
		}
	}
	return out
}

// firstOverlap returns the earliest overlap of two sorted interval lists.
func firstOverlap(x, y []Interval) (Interval, bool) {
	i, j := 0, 0
	for i < len(x) && j < len(y) {
		s, e := maxTime(x[i].Start, y[j].Start), minTime(x[i].End, y[j].End)
		if s.Before(e) {
			return Interval{Start: s, End: e, CutOff: e}, true
		}
		if x[i].End.Before(y[j].End) {
			i++
		} else {
			j++
		}
	}
	return Interval{}, false
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
