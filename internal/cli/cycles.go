package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/client"
)

// cycleVerbs is the verb table of "patchwave cycles".
func cycleVerbs() []command {
	return []command{
		{"list", "list upcoming release cycles with the dates of each phase", runCyclesList},
	}
}

func runCyclesList(ctx context.Context, e env, args []string) error {
	v := newVerb("cycles list", "", 0, `List release cycles with the dates of each phase, built from the release
cadence (by default Patch Tuesday, the second Tuesday of the month, 18:00).
Without --to, the next --count cycles from --from (default: the next 3 from now).
Dates are in the cadence's time zone; a phase ends at the end of its last day.`,
		"patchwave cycles list\npatchwave cycles list --count 12 -o json\npatchwave cycles list --from 2026-12-01 --to 2027-06-01")
	count := v.Int("count", 0, "how many cycles to list (default 3)")
	from := v.String("from", "", "list cycles released from this `date` on (2026-12-01, or RFC 3339); default now")
	to := v.String("to", "", "list cycles released before this `date`")
	out := v.outputFlag()
	if _, err := v.parse(args); err != nil {
		return err
	}
	if *count < 0 {
		return v.usageErrorf("--count %d: want a positive number", *count)
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	cycles, zone, err := c.Cycles(ctx, *from, *to, *count)
	if err != nil {
		return fmt.Errorf("cycles: %w", err)
	}
	if *out == formatJSON {
		return writeJSON(e.stdout, cycles)
	}
	header := []string{"CYCLE", "RELEASE (" + zone + ")"}
	var phases []string
	if len(cycles) > 0 {
		for _, p := range cycles[0].Phases {
			phases = append(phases, p.Name)
			header = append(header, strings.ToUpper(p.Name))
		}
	}
	t := newTable(e.stdout, header...)
	loc, err := time.LoadLocation(zone)
	if err != nil || zone == "" {
		loc = nil
	}
	for _, cy := range cycles {
		rel := cy.Release
		if loc != nil {
			rel = rel.In(loc)
		}
		row := []string{cy.ID, rel.Format("2006-01-02 15:04")}
		for _, name := range phases {
			cell := ""
			for _, p := range cy.Phases {
				if p.Name == name {
					cell = dayRange(p.Start, p.End)
				}
			}
			row = append(row, cell)
		}
		t.row(row...)
	}
	return t.flush()
}

// dayRange prints [start, end) as the days it covers: "2026-12-09–2026-12-14",
// or one date.
func dayRange(start, end time.Time) string {
	last := end.Add(-time.Nanosecond)
	a, b := start.Format("2006-01-02"), last.Format("2006-01-02")
	if a == b {
		return a
	}
	return a + "–" + b
}

// windowVerbs is the verb table of "patchwave windows".
func windowVerbs() []command {
	return []command{
		{"add", "add a maintenance window or a change freeze", runWindowsAdd},
		{"list", "list maintenance windows with their next openings", runWindowsList},
		{"delete", "delete a maintenance window", runWindowsDelete},
		{"next", "show a host's next openings", runWindowsNext},
	}
}

func runWindowsAdd(ctx context.Context, e env, args []string) error {
	v := newVerb("windows add", "NAME", 1, `Add a maintenance window: each occurrence of the recurrence rule, on the wall
clock of the time zone, opens the window for the duration; no new task starts
in its last --cut-off. Hosts the selector matches are patched only in their
windows. A --blocking window is a change freeze: nothing runs in it.`,
		`patchwave windows add weekend --rrule "FREQ=WEEKLY;BYDAY=SA" --start 2026-11-28T22:00 --time-zone Europe/Berlin --duration 4h --cut-off 30m --selector "tier=business-operational"
patchwave windows add year-end --rrule FREQ=YEARLY --start 2026-12-21T00:00 --time-zone Europe/Berlin --duration 336h --blocking`)
	var w client.Window
	v.StringVar(&w.RRule, "rrule", "", "the recurrence `rule` (RFC 5545 RRULE), e.g. FREQ=WEEKLY;BYDAY=SA (required)")
	v.StringVar(&w.Start, "start", "", "the first opening, a local `time` such as 2026-11-28T22:00 (required)")
	v.StringVar(&w.TimeZone, "time-zone", "UTC", "the IANA time `zone` of the rule and start, e.g. Europe/Berlin")
	v.StringVar(&w.Duration, "duration", "", "how long each opening lasts, e.g. 4h (required)")
	v.StringVar(&w.CutOff, "cut-off", "", "no new task starts in the last `duration` of an opening, e.g. 30m")
	selector := v.String("selector", "", "the hosts it applies to, e.g. \"tier=lab site=paris\" (default all hosts)")
	v.BoolVar(&w.Blocking, "blocking", false, "a change freeze: no task runs in it")
	out := v.outputFlag()
	pos, err := v.parse(args)
	if err != nil {
		return err
	}
	w.Name = pos[0]
	for _, req := range [][2]string{{"--rrule", w.RRule}, {"--start", w.Start}, {"--duration", w.Duration}} {
		if req[1] == "" {
			return v.usageErrorf("%s is required", req[0])
		}
	}
	if *selector != "" {
		sel, err := patchwave.ParseSelector(*selector)
		if err != nil {
			return v.usageErrorf("--selector: %s", patchwave.ErrorMessage(err))
		}
		w.Selector = sel
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	got, err := c.CreateWindow(ctx, w)
	if err != nil {
		return fmt.Errorf("add window %s: %w", w.Name, err)
	}
	if *out == formatJSON {
		return writeJSON(e.stdout, got)
	}
	kind := "Window"
	if got.Blocking {
		kind = "Change freeze"
	}
	fmt.Fprintf(e.stdout, "%s %s added (id %d).\n", kind, got.Name, got.ID)
	for _, o := range got.Next {
		fmt.Fprintf(e.stdout, "  next: %s\n", openingText(inZone(o, got.TimeZone)))
	}
	return nil
}

// inZone converts o to the IANA zone name, when this machine knows it,
// so that times print with the zone's abbreviation.
func inZone(o client.Opening, zone string) client.Opening {
	if loc, err := time.LoadLocation(zone); err == nil && zone != "" {
		o.Start, o.End, o.CutOff = o.Start.In(loc), o.End.In(loc), o.CutOff.In(loc)
	}
	return o
}

// openingText prints an opening: "Sat 2026-11-28 22:00–02:00 CET (cut-off 01:30)".
func openingText(o client.Opening) string {
	endLayout := "15:04"
	if o.End.Format("2006-01-02") != o.Start.Format("2006-01-02") {
		endLayout = "Mon 2006-01-02 15:04"
	}
	s := o.Start.Format("Mon 2006-01-02 15:04") + "–" + o.End.Format(endLayout) + " " + o.Start.Format("MST")
	if !o.CutOff.Equal(o.End) {
		s += " (cut-off " + o.CutOff.Format("15:04") + ")"
	}
	return s
}

func runWindowsList(ctx context.Context, e env, args []string) error {
	v := newVerb("windows list", "", 0, "List maintenance windows and change freezes, each with its next 3 openings.", "patchwave windows list\npatchwave windows list -o json")
	out := v.outputFlag()
	if _, err := v.parse(args); err != nil {
		return err
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	ws, err := c.Windows(ctx)
	if err != nil {
		return fmt.Errorf("windows: %w", err)
	}
	if *out == formatJSON {
		return writeJSON(e.stdout, ws)
	}
	t := newTable(e.stdout, "NAME", "RULE", "START", "ZONE", "DURATION", "CUT-OFF", "SELECTOR", "BLOCKING", "NEXT")
	for _, w := range ws {
		sel := w.Selector.String()
		if sel == "" {
			sel = "(all hosts)"
		}
		next := ""
		if len(w.Next) > 0 {
			next = openingText(inZone(w.Next[0], w.TimeZone))
		}
		blocking := "no"
		if w.Blocking {
			blocking = "yes"
		}
		t.row(w.Name, w.RRule, w.Start, w.TimeZone, w.Duration, w.CutOff, sel, blocking, next)
	}
	return t.flush()
}

func runWindowsDelete(ctx context.Context, e env, args []string) error {
	v := newVerb("windows delete", "NAME", 1, "Delete a maintenance window or change freeze.", "patchwave windows delete weekend")
	pos, err := v.parse(args)
	if err != nil {
		return err
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	if err := c.DeleteWindow(ctx, pos[0]); err != nil {
		return fmt.Errorf("delete window %s: %w", pos[0], err)
	}
	fmt.Fprintf(e.stdout, "Window %s deleted.\n", pos[0])
	return nil
}

func runWindowsNext(ctx context.Context, e env, args []string) error {
	v := newVerb("windows next", "HOST", 1, `Show a host's next openings: the parts of the windows that match it which no
change freeze that matches it covers.`, "patchwave windows next web-01\npatchwave windows next web-01 --count 10 -o json")
	count := v.Int("count", 0, "how many openings to show (default 3)")
	out := v.outputFlag()
	pos, err := v.parse(args)
	if err != nil {
		return err
	}
	if *count < 0 {
		return v.usageErrorf("--count %d: want a positive number", *count)
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	hw, err := c.HostWindows(ctx, pos[0], *count)
	if err != nil {
		return fmt.Errorf("windows of %s: %w", pos[0], err)
	}
	if *out == formatJSON {
		return writeJSON(e.stdout, hw)
	}
	if len(hw.Windows) == 0 {
		fmt.Fprintf(e.stdout, "No window matches %s: it is not patched unless a release allows it explicitly.\n", hw.Host)
		return nil
	}
	fmt.Fprintf(e.stdout, "Windows of %s: %s\n", hw.Host, strings.Join(hw.Windows, ", "))
	if len(hw.Openings) == 0 {
		fmt.Fprintln(e.stdout, "No opening in the next two years.")
		return nil
	}
	t := newTable(e.stdout, "START", "END", "CUT-OFF")
	for _, o := range hw.Openings {
		t.row(o.Start.Format("Mon 2006-01-02 15:04 MST"), o.End.Format("Mon 2006-01-02 15:04 MST"), o.CutOff.Format("Mon 2006-01-02 15:04 MST"))
	}
	return t.flush()
}
