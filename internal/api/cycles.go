package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/plan"
	"github.com/patchwave/patchwave/internal/store"
)

// The release cadence, its cycles and maintenance windows. Changes are
// for admins and operators; everyone signed in may read.

type (
	phaseT struct {
		Name   string `json:"name"`
		Offset int    `json:"offset"` // days after the release day
		Days   int    `json:"days"`
	}
	// cadenceT is the cadence on the wire and in the settings table.
	cadenceT struct {
		RRule    string   `json:"rrule"`
		TimeZone string   `json:"time_zone"`
		Phases   []phaseT `json:"phases"`
	}
	phaseDatesT struct {
		Name  string    `json:"name"`
		Start time.Time `json:"start"`
		End   time.Time `json:"end"`
	}
	cycleT struct {
		ID      string        `json:"id"`
		Release time.Time     `json:"release"`
		Phases  []phaseDatesT `json:"phases"`
	}
	cycleList struct {
		TimeZone string   `json:"time_zone"`
		Cycles   []cycleT `json:"cycles"`
	}
	// windowT is a maintenance window on the wire and in its policy
	// object (without Next).
	windowT struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
		// RRule gives the openings, on the wall clock of TimeZone.
		RRule string `json:"rrule"`
		// Start is the rule's first possible opening, a local time
		// such as 2026-11-28T22:00 in TimeZone.
		Start    string             `json:"start"`
		TimeZone string             `json:"time_zone"`
		Duration string             `json:"duration"`          // a Go duration, e.g. 4h
		CutOff   string             `json:"cut_off,omitempty"` // a Go duration: no new task in the window's last part
		Selector patchwave.Selector `json:"selector,omitzero"`
		Blocking bool               `json:"blocking,omitempty"`
		Next     []openingT         `json:"next,omitempty"` // the next openings, in listings
	}
	openingT struct {
		Start  time.Time `json:"start"`
		End    time.Time `json:"end"`
		CutOff time.Time `json:"cut_off"`
	}
	windowList struct {
		Windows []windowT `json:"windows"`
	}
	hostWindows struct {
		Host string `json:"host"`
		// Windows names the windows whose selector matches the host,
		// blocking ones included.
		Windows  []string   `json:"windows"`
		Openings []openingT `json:"openings"`
	}
)

// CadenceSetting is the settings key of the release cadence.
const CadenceSetting = "cadence"

// maxCycles bounds the cycles one request lists, maxOpenings the openings.
const (
	maxCycles   = 120
	maxOpenings = 50
)

func cadenceTOf(c plan.Cadence) cadenceT {
	out := cadenceT{RRule: c.RRule.String(), TimeZone: c.Start.Location().String(), Phases: make([]phaseT, len(c.Phases))}
	for i, p := range c.Phases {
		out.Phases[i] = phaseT{Name: p.Name, Offset: p.Offset, Days: p.Days}
	}
	return out
}

// loadZone loads an IANA time zone by name, refusing "" and "Local"
// (the server's own zone is no setting to store).
func loadZone(field, name string) (*time.Location, error) {
	if name == "" {
		return nil, patchwave.Errorf(patchwave.EInvalid, "%s is empty: want an IANA time zone such as Europe/Berlin or UTC", field)
	}
	if name == "Local" || len(name) > 128 {
		return nil, patchwave.Errorf(patchwave.EInvalid, "unknown time zone %q: want an IANA name such as Europe/Berlin or UTC", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, patchwave.Errorf(patchwave.EInvalid, "unknown time zone %q: want an IANA name such as Europe/Berlin or UTC", name)
	}
	return loc, nil
}

// cadenceOf checks c and returns it as a plan.Cadence.
func cadenceOf(c cadenceT) (plan.Cadence, error) {
	r, err := plan.ParseRRule(c.RRule)
	if err != nil {
		return plan.Cadence{}, patchwave.Errorf(patchwave.EInvalid, "cadence rrule %q: %s", c.RRule, patchwave.ErrorMessage(err))
	}
	loc, err := loadZone("cadence time_zone", c.TimeZone)
	if err != nil {
		return plan.Cadence{}, err
	}
	out := plan.Cadence{RRule: r, Start: time.Date(2000, 1, 1, 0, 0, 0, 0, loc), Phases: make([]plan.Phase, len(c.Phases))}
	for i, p := range c.Phases {
		out.Phases[i] = plan.Phase{Name: p.Name, Offset: p.Offset, Days: p.Days}
	}
	if err := out.Validate(); err != nil {
		return plan.Cadence{}, err
	}
	return out, nil
}

// LoadCadence returns the stored cadence, or plan.DefaultCadence in loc.
func LoadCadence(ctx context.Context, s *store.Store, loc *time.Location) (plan.Cadence, error) {
	b, err := s.Setting(ctx, CadenceSetting)
	if err != nil || b == nil {
		return plan.DefaultCadence(loc), err
	}
	var c cadenceT
	if err := json.Unmarshal(b, &c); err != nil {
		return plan.DefaultCadence(loc), fmt.Errorf("stored cadence: %w", err)
	}
	cad, err := cadenceOf(c)
	if err != nil {
		return plan.DefaultCadence(loc), fmt.Errorf("stored cadence: %w", err)
	}
	return cad, nil
}

func (a *API) getCadence(w http.ResponseWriter, r *http.Request) error {
	c, err := LoadCadence(r.Context(), a.store, a.location)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, cadenceTOf(c))
	return nil
}

func (a *API) putCadence(w http.ResponseWriter, r *http.Request) error {
	u := user(r)
	if err := requireOperator(u, "change the release cadence"); err != nil {
		return err
	}
	var in cadenceT
	if err := decode(w, r, MaxBody, &in); err != nil {
		return err
	}
	c, err := cadenceOf(in)
	if err != nil {
		return err
	}
	before, err := LoadCadence(r.Context(), a.store, a.location)
	if err != nil {
		return err
	}
	out := cadenceTOf(c)
	body, _ := json.Marshal(out)
	err = a.store.Write(r.Context(), func(tx *store.Tx) error {
		if err := tx.PutSetting(CadenceSetting, body); err != nil {
			return err
		}
		return tx.Audit(u.Name, "cadence.update", "cadence", map[string]any{"before": cadenceTOf(before), "after": out})
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// parseWhen reads a from or to parameter: RFC 3339, a local date and
// time (2026-12-01T00:00) or a date (2026-12-01), the last two in loc.
func parseWhen(name, s string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.In(loc), nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, patchwave.Errorf(patchwave.EInvalid, "%s %q: want a date (2026-12-01), a local time (2026-12-01T18:00) or RFC 3339", name, s)
}

// positive reads a count parameter between 1 and max.
func positive(name, s string, max int) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > max {
		return 0, patchwave.Errorf(patchwave.EInvalid, "%s %q: want a number from 1 to %d", name, s, max)
	}
	return n, nil
}

// listCycles lists the cycles released in [from, to), or the next count
// cycles from from: by default the next 3 from now.
func (a *API) listCycles(w http.ResponseWriter, r *http.Request) error {
	c, err := LoadCadence(r.Context(), a.store, a.location)
	if err != nil {
		return err
	}
	loc := c.Start.Location()
	q := r.URL.Query()
	from := a.store.Now().In(loc)
	if s := q.Get("from"); s != "" {
		if from, err = parseWhen("from", s, loc); err != nil {
			return err
		}
	}
	count := 0
	if s := q.Get("count"); s != "" {
		if count, err = positive("count", s, maxCycles); err != nil {
			return err
		}
	}
	var cycles []plan.Cycle
	if s := q.Get("to"); s != "" {
		to, err := parseWhen("to", s, loc)
		if err != nil {
			return err
		}
		if !to.After(from) {
			return patchwave.Errorf(patchwave.EInvalid, "to %s is not after from %s", to.Format(time.RFC3339), from.Format(time.RFC3339))
		}
		if count == 0 {
			count = maxCycles
		}
		cycles = c.Cycles(from, to)
	} else {
		if count == 0 {
			count = 3
		}
		cycles = NextCycles(c, from, count)
	}
	if len(cycles) > count {
		cycles = cycles[:count]
	}
	out := cycleList{TimeZone: loc.String(), Cycles: make([]cycleT, 0, len(cycles))}
	for _, cy := range cycles {
		ct := cycleT{ID: cy.ID, Release: cy.Release, Phases: make([]phaseDatesT, len(cy.Phases))}
		for i, p := range cy.Phases {
			ct.Phases[i] = phaseDatesT{Name: p.Name, Start: p.Start, End: p.End}
		}
		out.Cycles = append(out.Cycles, ct)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// NextCycles returns the next n cycles of c released at or after from,
// one release after the other.
func NextCycles(c plan.Cadence, from time.Time, n int) []plan.Cycle {
	var cycles []plan.Cycle
	after := from.Add(-time.Nanosecond) // a release at from itself counts
	for len(cycles) < n {
		rel, ok := c.RRule.Next(c.Start, after)
		if !ok {
			break
		}
		cycles = append(cycles, c.Cycles(rel, rel.Add(time.Nanosecond))...)
		after = rel
	}
	return cycles
}

// windowOf checks a window as sent or stored and returns it as a
// plan.Window.
func windowOf(in windowT) (plan.Window, error) {
	if err := patchwave.ValidLabel("window name", in.Name); err != nil {
		return plan.Window{}, err
	}
	if strings.ContainsAny(in.Name, "/\\") {
		return plan.Window{}, patchwave.Errorf(patchwave.EInvalid, "window name %q contains a slash", in.Name)
	}
	rr, err := plan.ParseRRule(in.RRule)
	if err != nil {
		return plan.Window{}, patchwave.Errorf(patchwave.EInvalid, "window %q: rrule %q: %s", in.Name, in.RRule, patchwave.ErrorMessage(err))
	}
	loc, err := loadZone("window time_zone", in.TimeZone)
	if err != nil {
		return plan.Window{}, patchwave.Errorf(patchwave.EInvalid, "window %q: %s", in.Name, patchwave.ErrorMessage(err))
	}
	if in.Start == "" {
		return plan.Window{}, patchwave.Errorf(patchwave.EInvalid, "window %q: start is empty: want a local time such as 2026-11-28T22:00", in.Name)
	}
	start, err := parseWhen("start", in.Start, loc)
	if err != nil {
		return plan.Window{}, patchwave.Errorf(patchwave.EInvalid, "window %q: %s", in.Name, patchwave.ErrorMessage(err))
	}
	dur, err := parseDur("duration", in.Duration)
	if err != nil {
		return plan.Window{}, patchwave.Errorf(patchwave.EInvalid, "window %q: %s", in.Name, patchwave.ErrorMessage(err))
	}
	var cut time.Duration
	if in.CutOff != "" {
		if cut, err = parseDur("cut_off", in.CutOff); err != nil {
			return plan.Window{}, patchwave.Errorf(patchwave.EInvalid, "window %q: %s", in.Name, patchwave.ErrorMessage(err))
		}
	}
	pw := plan.Window{Name: in.Name, RRule: rr, Start: start, Duration: dur, CutOff: cut, Selector: in.Selector, Blocking: in.Blocking}
	if err := pw.Validate(); err != nil {
		return plan.Window{}, err
	}
	return pw, nil
}

func parseDur(name, s string) (time.Duration, error) {
	if s == "" {
		return 0, patchwave.Errorf(patchwave.EInvalid, "%s is empty: want a duration such as 4h or 30m", name)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, patchwave.Errorf(patchwave.EInvalid, "%s %q: want a duration such as 4h or 30m", name, s)
	}
	return d, nil
}

// canonical returns in as stored: names and rules in their canonical form.
func canonical(in windowT, pw plan.Window) windowT {
	out := windowT{ID: in.ID, Name: pw.Name, RRule: pw.RRule.String(), Start: pw.Start.Format("2006-01-02T15:04:05"),
		TimeZone: pw.Start.Location().String(), Duration: pw.Duration.String(), Selector: pw.Selector, Blocking: pw.Blocking}
	if pw.CutOff > 0 {
		out.CutOff = pw.CutOff.String()
	}
	return out
}

// LoadWindows returns every stored maintenance window, as stored and as
// plan.Windows.
func LoadWindows(ctx context.Context, s *store.Store) ([]windowT, []plan.Window, error) {
	objs, err := s.ListPolicy(ctx, store.PolicyWindow)
	if err != nil {
		return nil, nil, err
	}
	ws := make([]windowT, 0, len(objs))
	pws := make([]plan.Window, 0, len(objs))
	for _, o := range objs {
		var w windowT
		if err := json.Unmarshal(o.Body, &w); err != nil {
			return nil, nil, fmt.Errorf("stored window %d: %w", o.ID, err)
		}
		w.ID, w.Name = o.ID, o.Name
		pw, err := windowOf(w)
		if err != nil {
			return nil, nil, fmt.Errorf("stored window %d: %w", o.ID, err)
		}
		ws, pws = append(ws, w), append(pws, pw)
	}
	return ws, pws, nil
}

// NextOccurrences returns up to n occurrences of w that end after now,
// looking up to five years ahead.
func NextOccurrences(w plan.Window, now time.Time, n int) []plan.Interval {
	var occ []plan.Interval
	for _, span := range []time.Duration{35 * 24 * time.Hour, 400 * 24 * time.Hour, 5 * 366 * 24 * time.Hour} {
		if occ = w.Occurrences(now, now.Add(span)); len(occ) >= n {
			break
		}
	}
	return occ[:min(n, len(occ))]
}

// nextOccurrences returns up to n intervals of w that end after now.
func nextOccurrences(w plan.Window, now time.Time, n int) []openingT {
	out := make([]openingT, 0, n)
	for _, iv := range NextOccurrences(w, now, n) {
		out = append(out, openingT{Start: iv.Start, End: iv.End, CutOff: iv.CutOff})
	}
	return out
}

func (a *API) listWindows(w http.ResponseWriter, r *http.Request) error {
	ws, pws, err := LoadWindows(r.Context(), a.store)
	if err != nil {
		return err
	}
	now := a.store.Now()
	for i := range ws {
		ws[i].Next = nextOccurrences(pws[i], now, 3)
	}
	writeJSON(w, http.StatusOK, windowList{Windows: ws})
	return nil
}

func (a *API) createWindow(w http.ResponseWriter, r *http.Request) error {
	u := user(r)
	if err := requireOperator(u, "change maintenance windows"); err != nil {
		return err
	}
	var in windowT
	if err := decode(w, r, MaxBody, &in); err != nil {
		return err
	}
	pw, err := windowOf(in)
	if err != nil {
		return err
	}
	out := canonical(windowT{}, pw)
	body, _ := json.Marshal(out)
	a.warnUnmatched(w, r, pw.Selector)
	a.warnOverlaps(w, r, pw)
	err = a.store.Write(r.Context(), func(tx *store.Tx) error {
		id, err := tx.CreatePolicy(store.PolicyObject{Kind: store.PolicyWindow, Name: out.Name, Body: body, CreatedBy: u.Name})
		if err != nil {
			return err
		}
		out.ID = id
		return tx.Audit(u.Name, "window.create", "window:"+out.Name, out)
	})
	if err != nil {
		return err
	}
	out.Next = nextOccurrences(pw, a.store.Now(), 3)
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// warnOverlaps warns when a new maintenance window overlaps, within the
// next 90 days, another of the same kind (both open or both freezes) that
// applies to a common host: harmless, since openings add up, but usually
// a planning slip. A freeze over an opening is what freezes are for.
func (a *API) warnOverlaps(w http.ResponseWriter, r *http.Request, nw plan.Window) {
	_, pws, err := LoadWindows(r.Context(), a.store)
	if err != nil || len(pws) == 0 {
		return
	}
	hosts, err := a.allHosts(r.Context())
	if err != nil {
		return
	}
	var same []plan.Window
	for _, o := range pws {
		if o.Blocking != nw.Blocking || o.Name == nw.Name {
			continue
		}
		for _, h := range hosts {
			if o.Selector.Matches(h) && nw.Selector.Matches(h) {
				same = append(same, o)
				break
			}
		}
	}
	now := a.store.Now()
	for _, ov := range plan.Overlaps([]plan.Window{nw}, same, now, now.Add(90*24*time.Hour)) {
		w.Header().Add(WarningHeader, fmt.Sprintf("window %q overlaps window %q for some hosts, first from %s to %s",
			ov.A, ov.B, ov.At.Start.Format(time.RFC3339), ov.At.End.Format(time.RFC3339)))
	}
}

// hostWindowsOf lists a host's next openings: the parts of its
// non-blocking windows that no blocking window of its covers.
func (a *API) hostWindowsOf(w http.ResponseWriter, r *http.Request) error {
	h, err := a.store.Host(r.Context(), r.PathValue("host"))
	if err != nil {
		return err
	}
	n := 3
	if s := r.URL.Query().Get("count"); s != "" {
		if n, err = positive("count", s, maxOpenings); err != nil {
			return err
		}
	}
	_, pws, err := LoadWindows(r.Context(), a.store)
	if err != nil {
		return err
	}
	out := hostWindows{Host: h.Hostname, Windows: []string{}, Openings: []openingT{}}
	for _, pw := range pws {
		if pw.Selector.Matches(h) {
			out.Windows = append(out.Windows, pw.Name)
		}
	}
	after := a.store.Now()
	for len(out.Openings) < n {
		iv, ok := plan.NextOpening(pws, h, after)
		if !ok {
			break
		}
		out.Openings = append(out.Openings, openingT{Start: iv.Start, End: iv.End, CutOff: iv.CutOff})
		after = iv.CutOff
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
