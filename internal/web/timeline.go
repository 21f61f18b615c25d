package web

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// The timelines of the release pages are inline SVG drawn from a chart:
// rows of bars on a time axis, vertical marks (the release day, now) and
// shaded bands (change freezes). Geometry is computed here, in the
// chart's own units (viewBox); the stylesheet gives colours, so that
// both colour schemes work, and the page never needs a style attribute,
// which the Content-Security-Policy forbids.

// chart is a timeline ready to draw.
type chart struct {
	ID          string // prefix of its element ids
	Title, Desc string // what it shows, for assistive technology
	W, H        float64
	Top         float64 // where the rows start, under the axis labels
	InnerH      float64 // H - Top
	Left, Right float64 // the time axis spans [Left, W-Right]
	Ticks       []tick
	Rows        []chartRow
	Marks       []mark
	Bands       []band
}

// tick is a gridline of the time axis, labelled when Label is set.
type tick struct {
	X     float64
	Label string
	Major bool
}

// chartRow is one row: a label on the left and its bars.
type chartRow struct {
	Y, H   float64
	Label  string
	Sub    string // a second, muted line under the label
	Head   bool   // a group's heading row
	Bars   []bar
	Dots   []dot
	LabelY float64
}

// bar is a span of time in a row.
type bar struct {
	X, Y, W, H float64
	Class      string
	Title      string
	// Text is written in the bar when it fits, else after it.
	Text         string
	TextX, TextY float64
	TextInside   bool
}

// dot is a moment in a row: a release, a promotion.
type dot struct {
	X, Y  float64
	Class string
	Title string
}

// mark is a vertical line across the rows: the release day, now.
type mark struct {
	X        float64
	Class    string
	Label    string
	LabelEnd bool // the label goes left of the line (near the right edge)
}

// band is a shaded span across the rows: a change freeze.
type band struct {
	X, W  float64
	Title string
}

// Chart geometry, in viewBox units.
const (
	chartWidth = 1000
	chartAxis  = 34 // the axis labels' height
	chartPad   = 10
)

// axis maps times onto [left, right].
type axis struct {
	from, to    time.Time
	left, right float64
}

func (a axis) x(t time.Time) float64 {
	if !t.After(a.from) {
		return a.left
	}
	if !t.Before(a.to) {
		return a.right
	}
	return round1(a.left + (a.right-a.left)*float64(t.Sub(a.from))/float64(a.to.Sub(a.from)))
}

func (a axis) contains(t time.Time) bool { return !t.Before(a.from) && !t.After(a.to) }

func round1(v float64) float64 { return math.Round(v*10) / 10 }

// midnight returns the start of t's day in loc.
func midnight(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
}

// dayTicks are gridlines at midnight each day from a.from to a.to,
// labelled every step days, on Mondays when step is 7.
func dayTicks(a axis, loc *time.Location) []tick {
	days := int(a.to.Sub(a.from).Hours()/24) + 1
	step := 1
	switch {
	case days > 70:
		step = 14
	case days > 24:
		step = 7
	case days > 12:
		step = 2
	}
	var out []tick
	for d := midnight(a.from, loc); !d.After(a.to); d = d.AddDate(0, 0, 1) {
		if d.Before(a.from) {
			continue
		}
		t := tick{X: a.x(d)}
		i := int(math.Round(d.Sub(midnight(a.from, loc)).Hours() / 24))
		if (step >= 7 && d.Weekday() == time.Monday && (step == 7 || (i/7)%2 == 0)) || (step < 7 && i%step == 0) {
			t.Label, t.Major = d.Format("Mon 2 Jan"), true
			if step > 1 {
				t.Label = d.Format("2 Jan")
			}
		}
		if days <= 70 || t.Major {
			out = append(out, t)
		}
	}
	return out
}

// waveEnd is when a wave is due to be done: its deadline after its
// start, else its soak time, else a day.
func waveEnd(w WaveView) time.Time {
	d := w.Deadline
	if d <= 0 {
		d = w.Soak
	}
	if d <= 0 {
		d = 24 * time.Hour
	}
	return w.Start.Add(d)
}

// waveTimeline lays a rollout's waves out in time: each wave a bar from
// its (projected) start to its deadline, the release day and now marked,
// change freezes shaded.
func waveTimeline(ro RolloutView) *chart {
	if len(ro.Waves) == 0 {
		return nil
	}
	loc := ro.Location
	if loc == nil {
		loc = time.UTC
	}
	from, to := ro.Release.ReleasedAt, ro.Release.ReleasedAt
	for _, w := range ro.Waves {
		from = minTime(from, w.Start)
		to = maxTime(to, waveEnd(w))
		if w.PromotedAt != nil {
			to = maxTime(to, *w.PromotedAt)
		}
	}
	if ro.Now.After(from) && ro.Now.Before(to.Add(14*24*time.Hour)) {
		to = maxTime(to, ro.Now)
	}
	from = midnight(from, loc)
	to = midnight(to, loc).AddDate(0, 0, 1)
	c := &chart{ID: "wave-timeline", W: chartWidth, Left: 170, Right: chartPad, Top: chartAxis,
		Title: "Wave timeline of release " + ro.Release.Name}
	a := axis{from: from, to: to, left: c.Left, right: c.W - c.Right}
	c.Ticks = dayTicks(a, loc)
	const rowH, barH = 38.0, 20.0
	y := c.Top + 6
	var desc []string
	for _, w := range ro.Waves {
		end := waveEnd(w)
		row := chartRow{Y: y, H: rowH, Label: fmt.Sprintf("%d · %s", w.Order, w.Name), LabelY: y + rowH/2 - 3}
		row.Sub = waveBadge(w.State).Label
		if w.Hosts > 0 {
			row.Sub += " · " + plural(w.Hosts, "host")
		}
		x0, x1 := a.x(w.Start), a.x(end)
		b := bar{X: x0, Y: y + (rowH-barH)/2, W: max(round1(x1-x0), 3), H: barH, Class: "bar bar-" + string(cmpState(w))}
		when := "starts"
		if w.Started {
			when = "started"
		} else {
			b.Class += " bar-projected"
			when = "expected to start"
		}
		b.Title = fmt.Sprintf("Wave %d %s: %s %s; due by %s", w.Order, w.Name, when, at(loc, w.Start), at(loc, end))
		if w.PromotedAt != nil {
			b.Title += "; promoted " + at(loc, *w.PromotedAt)
		}
		desc = append(desc, b.Title+".")
		b.Text = day(loc, w.Start) + " → " + day(loc, end)
		b.TextY = b.Y + barH/2 + 4.5
		if textFits(b.Text, b.W-12) {
			b.TextInside, b.TextX = true, b.X+6
		} else if b.X+b.W+8+textWidth(b.Text) <= c.W-c.Right {
			b.TextX = b.X + b.W + 6
		} else {
			b.Text = ""
		}
		row.Bars = append(row.Bars, b)
		if w.Soak > 0 && w.State != "promoted" {
			row.Dots = append(row.Dots, dot{X: a.x(w.Start.Add(w.Soak)), Y: y + rowH/2, Class: "dot-soak",
				Title: "Soak time over, the earliest promotion: " + at(loc, w.Start.Add(w.Soak))})
		}
		if w.PromotedAt != nil {
			row.Dots = append(row.Dots, dot{X: a.x(*w.PromotedAt), Y: y + rowH/2, Class: "dot-promoted", Title: "Promoted " + at(loc, *w.PromotedAt)})
		}
		c.Rows = append(c.Rows, row)
		y += rowH
	}
	c.H = y + 8
	c.InnerH = c.H - c.Top
	if a.contains(ro.Release.ReleasedAt) {
		c.Marks = append(c.Marks, mark{X: a.x(ro.Release.ReleasedAt), Class: "mark-release", Label: "Release " + day(loc, ro.Release.ReleasedAt)})
	}
	if a.contains(ro.Now) {
		m := mark{X: a.x(ro.Now), Class: "mark-now", Label: "Now"}
		m.LabelEnd = m.X > c.W-c.Right-60
		c.Marks = append(c.Marks, m)
	}
	c.Bands = freezeBands(a, ro.Freezes, loc)
	c.Desc = strings.Join(desc, " ")
	return c
}

// cmpState is a wave's state for its bar's class.
func cmpState(w WaveView) string {
	if w.State == "" {
		return "waiting"
	}
	return string(w.State)
}

// freezeBands shades the freezes that fall on a.
func freezeBands(a axis, fs []Interval, loc *time.Location) []band {
	var out []band
	for _, f := range fs {
		if !f.End.After(a.from) || !f.Start.Before(a.to) {
			continue
		}
		x0, x1 := a.x(f.Start), a.x(f.End)
		out = append(out, band{X: x0, W: max(round1(x1-x0), 1),
			Title: fmt.Sprintf("Change freeze %s: %s to %s", f.Name, at(loc, f.Start), at(loc, f.End))})
	}
	return out
}

// textWidth estimates the width of s in the charts' 12-unit font.
func textWidth(s string) float64 { return float64(len([]rune(s))) * 6.6 }

func textFits(s string, w float64) bool { return textWidth(s) <= w }

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// phaseLabel names a cadence phase: "Exclusion deadline".
func phaseLabel(name string) string { return capitalize(strings.ReplaceAll(name, "-", " ")) }

// calendarChart lays cycles out on a month axis: for each cycle a
// heading row with its release day and releases, and a lane per phase.
func calendarChart(cal CalendarView) *chart {
	if len(cal.Cycles) == 0 {
		return nil
	}
	loc := cal.Location
	if loc == nil {
		loc = time.UTC
	}
	f := cal.From.In(loc)
	from := time.Date(f.Year(), f.Month(), 1, 0, 0, 0, 0, loc)
	to := from
	for _, cy := range cal.Cycles {
		to = maxTime(to, cy.Release)
		for _, p := range cy.Phases {
			to = maxTime(to, p.End)
		}
	}
	to = time.Date(to.Year(), to.Month()+1, 1, 0, 0, 0, 0, loc)
	c := &chart{ID: "cycle-calendar", W: chartWidth, Left: 150, Right: chartPad, Top: chartAxis,
		Title: fmt.Sprintf("Release cycles from %s", from.Format("January 2006"))}
	a := axis{from: from, to: to, left: c.Left, right: c.W - c.Right}
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		switch {
		case d.Day() == 1:
			t := tick{X: a.x(d), Major: true}
			if d.Before(to) {
				t.Label = d.Format("January 2006")
			}
			c.Ticks = append(c.Ticks, t)
		case d.Weekday() == time.Monday:
			c.Ticks = append(c.Ticks, tick{X: a.x(d)})
		}
	}
	const headH, laneH, barH = 28.0, 19.0, 13.0
	y := c.Top + 4
	var desc []string
	for _, cy := range cal.Cycles {
		head := chartRow{Y: y, H: headH, Label: "Cycle " + cy.ID, Head: true, LabelY: y + headH/2 + 4}
		head.Dots = append(head.Dots, dot{X: a.x(cy.Release), Y: y + headH/2, Class: "dot-release",
			Title: "Release day of cycle " + cy.ID + ": " + at(loc, cy.Release)})
		line := "Cycle " + cy.ID + ", released " + at(loc, cy.Release)
		for _, rel := range cy.Releases {
			head.Dots = append(head.Dots, dot{X: a.x(rel.ReleasedAt), Y: y + headH/2, Class: "dot-rel dot-rel-" + string(rel.State),
				Title: fmt.Sprintf("Release %s (%s), %s", rel.Name, rolloutBadge(rel.State).Label, at(loc, rel.ReleasedAt))})
		}
		c.Rows = append(c.Rows, head)
		y += headH
		for i, p := range cy.Phases {
			row := chartRow{Y: y, H: laneH, Label: phaseLabel(p.Name), LabelY: y + laneH/2 + 4}
			x0, x1 := a.x(p.Start), a.x(p.End)
			b := bar{X: x0, Y: y + (laneH-barH)/2, W: max(round1(x1-x0), 3), H: barH, Class: fmt.Sprintf("bar phase phase-%d", i%6)}
			last := p.End.Add(-time.Nanosecond)
			b.Title = fmt.Sprintf("%s of cycle %s: %s", phaseLabel(p.Name), cy.ID, day(loc, p.Start))
			if midnight(last, loc) != midnight(p.Start, loc) {
				b.Title += " to " + day(loc, last)
			}
			line += "; " + strings.ToLower(b.Title[:1]) + b.Title[1:]
			row.Bars = append(row.Bars, b)
			c.Rows = append(c.Rows, row)
			y += laneH
		}
		desc = append(desc, line+".")
		y += 6
	}
	c.H = y + 4
	c.InnerH = c.H - c.Top
	if a.contains(cal.Now) {
		m := mark{X: a.x(cal.Now), Class: "mark-now", Label: "Today"}
		m.LabelEnd = m.X > c.W-c.Right-60
		c.Marks = append(c.Marks, m)
	}
	c.Bands = freezeBands(a, cal.Freezes, loc)
	c.Desc = strings.Join(desc, " ")
	return c
}
