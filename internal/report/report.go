package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/patchwave/patchwave"
)

// Kinds of report.
const (
	KindCompliance = "compliance" // a month of the whole fleet
	KindRelease    = "release"    // one release's rollout
)

// Report is a rendered report's content: metrics as of a time, with the
// trend of daily snapshots and, for a release, its waves.
type Report struct {
	Kind   string `json:"kind"`
	Title  string `json:"title"`
	Period string `json:"period"` // the month (2026-11) or the release's name
	// Release describes the release of a release report.
	Release *ReleaseInfo `json:"release,omitempty"`
	Metrics Metrics      `json:"metrics"`
	// Trend lists the daily snapshots of the period, oldest first;
	// Previous is the last one of the month before, when there is one.
	Trend    []Snapshot `json:"trend"`
	Previous *Snapshot  `json:"previous,omitempty"`
	// Notes say how to read the report.
	Notes []string `json:"notes,omitempty"`
}

// ReleaseInfo is what a release report says about its release.
type ReleaseInfo struct {
	Name       string     `json:"name"`
	Cycle      string     `json:"cycle"`
	Kind       string     `json:"kind"`
	State      string     `json:"state"`
	ReleasedAt time.Time  `json:"released_at"`
	Hosts      int        `json:"hosts"`
	Waves      []WaveInfo `json:"waves"`
}

// WaveInfo is one wave of a release, for its report.
type WaveInfo struct {
	Wave       int        `json:"wave"`
	State      string     `json:"state"`
	Hosts      int        `json:"hosts"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	PromotedAt *time.Time `json:"promoted_at,omitempty"`
}

// ParseMonth reads a month like 2026-11 and returns its bounds in UTC:
// the first instant of the month and of the next.
func ParseMonth(s string) (from, to time.Time, err error) {
	if len(s) != 7 || s[4] != '-' {
		return from, to, patchwave.Errorf(patchwave.EInvalid, "month %q is not like 2026-11", s)
	}
	t, err := time.Parse("2006-01", s)
	if err != nil || t.Year() < 2000 || t.Year() > 9998 {
		return from, to, patchwave.Errorf(patchwave.EInvalid, "month %q is not like 2026-11 (a year from 2000 and a month 01 to 12)", s)
	}
	return t, t.AddDate(0, 1, 0), nil
}

// Formats a report renders in.
const (
	FormatJSON = "json"
	FormatCSV  = "csv"
	FormatHTML = "html"
	FormatPDF  = "pdf"
)

// ParseFormat checks a format name; empty means JSON.
func ParseFormat(s string) (string, error) {
	switch s {
	case "", FormatJSON:
		return FormatJSON, nil
	case FormatCSV, FormatHTML, FormatPDF:
		return s, nil
	}
	return "", patchwave.Errorf(patchwave.EInvalid, "format %q is not json, csv, html or pdf", s)
}

// ContentType is the media type of a format.
func ContentType(format string) string {
	switch format {
	case FormatCSV:
		return "text/csv; charset=utf-8"
	case FormatHTML:
		return "text/html; charset=utf-8"
	case FormatPDF:
		return "application/pdf"
	}
	return "application/json"
}

// Write renders r in format to w.
func (r Report) Write(w io.Writer, format string) error {
	switch format {
	case FormatCSV:
		return r.WriteCSV(w)
	case FormatHTML:
		return r.WriteHTML(w)
	case FormatPDF:
		return r.WritePDF(w)
	case FormatJSON, "":
		return r.WriteJSON(w)
	}
	return patchwave.Errorf(patchwave.EInvalid, "format %q is not json, csv, html or pdf", format)
}

// WriteJSON writes r as indented JSON.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("report json: %w", err)
	}
	return nil
}

// CSVHeader is the header row of WriteCSV.
var CSVHeader = []string{"section", "key", "value", "numerator", "denominator", "percent", "detail"}

// WriteCSV writes r as one table in long form: a row per figure, with the
// section it belongs to, what it is, its value and, for ratios, numerator,
// denominator and percent; detail holds definitions and list fields.
// Cells that a spreadsheet would take for a formula are quoted with a
// leading apostrophe.
func (r Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	m := r.Metrics
	row := func(cells ...string) {
		for i, c := range cells {
			cells[i] = csvSafe(c)
		}
		_ = cw.Write(cells)
	}
	ts := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	itoa := strconv.Itoa
	ftoa := func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
	row(CSVHeader...)
	row("report", "kind", r.Kind, "", "", "", "")
	row("report", "title", r.Title, "", "", "", "")
	row("report", "period", r.Period, "", "", "", "")
	row("report", "as_of", ts(m.AsOf), "", "", "", "")
	row("report", "data_as_of", ts(m.DataAsOf), "", "", "", "newest check-in or assessment")
	row("report", "from", ts(m.From), "", "", "", "")
	row("report", "to", ts(m.To), "", "", "", "")
	for _, n := range r.Notes {
		row("report", "note", "", "", "", "", n)
	}
	for _, q := range r.Ratios() {
		row("metric", q.Name, ftoa(q.Percent), itoa(q.Numerator), itoa(q.Denominator), ftoa(q.Percent), q.Definition)
	}
	row("metric", "hosts compliant with exceptions", itoa(m.CompliantWithExceptions), "", "", "", "included in host compliance")
	row("metric", "hosts unknown", itoa(m.UnknownHosts), "", "", "", "never assessed, or not recently")
	for _, gs := range [][]Group{m.BySite, m.ByTier, m.ByOS} {
		for _, g := range gs {
			row("compliance by "+g.By, g.Value, ftoa(g.Percent), itoa(g.Compliant), itoa(g.Hosts), ftoa(g.Percent),
				"with exceptions: "+itoa(g.CompliantWithExceptions))
		}
	}
	for _, c := range m.Matrix {
		row("tier x severity", string(c.Tier)+" "+string(c.Severity), itoa(c.Open), "", "", "",
			fmt.Sprintf("excepted %d; breached %d", c.Excepted, c.Breached))
	}
	row("sla", "open breaches", itoa(m.SLA.Breaches), "", "", "", "")
	row("sla", "at risk", itoa(m.SLA.AtRisk), "", "", "", "")
	for _, l := range []struct {
		name  string
		items []Item
	}{{"breach", m.SLA.BreachList}, {"at risk", m.SLA.AtRiskList}} {
		for _, it := range l.items {
			row(l.name, it.Host+" "+it.Package, itoa(it.DaysOverdue), "", "", "",
				fmt.Sprintf("owner %s; site %s; tier %s; severity %s; due %s; kev %t; excepted %t",
					it.Owner, it.Site, it.Tier, it.Severity, it.Due.UTC().Format(time.DateOnly), it.KEV, it.Excepted))
		}
	}
	row("kev", "open", itoa(m.KEV.Open), "", "", "", m.KEV.Definition)
	row("kev", "past due", itoa(m.KEV.PastDue), "", "", "", "")
	row("kev", "ransomware", itoa(m.KEV.Ransomware), "", "", "", "")
	row("kev", "hosts", itoa(m.KEV.Hosts), "", "", "", "")
	labels := BucketLabels()
	for _, d := range []Durations{m.TimeToPatch, m.OpenAge} {
		row(d.Name, "count", itoa(d.Count), "", "", "", d.Definition)
		row(d.Name, "mean days", ftoa(d.MeanDays), "", "", "", "")
		row(d.Name, "median days", ftoa(d.MedianDays), "", "", "", "")
		row(d.Name, "max days", ftoa(d.MaxDays), "", "", "", "")
		for i, b := range d.Buckets {
			row(d.Name, labels[i], itoa(b), "", "", "", "")
		}
	}
	for _, in := range m.Installs {
		row("first-pass install", fmt.Sprintf("wave %d %s", in.Wave, in.OS), ftoa(in.Percent), itoa(in.FirstPass), itoa(in.Tasks), ftoa(in.Percent),
			"failed: "+itoa(in.Failed))
	}
	for _, f := range m.Failures {
		row("failure reason", f.Label, itoa(f.Count), "", "", "", "")
	}
	row("rollbacks", "count", itoa(m.Rollbacks), "", "", "", "")
	for _, h := range m.Pending {
		row("pending reboot", h, "1", "", "", "", "")
	}
	e := m.Exceptions
	row("exceptions", "active", itoa(e.Active), "", "", "", e.Definition)
	row("exceptions", "expiring", itoa(e.Expiring), "", "", "", "")
	row("exceptions", "expired", itoa(e.Expired), "", "", "", "")
	row("exceptions", "pending", itoa(e.Pending), "", "", "", "")
	row("exceptions", "excepted findings", itoa(e.ExceptedFindings), "", "", "", "")
	for _, o := range e.ByOwner {
		row("exceptions by owner", o.Label, itoa(o.Count), "", "", "", "")
	}
	for _, h := range m.EndOfLife {
		row("end of life", h, "1", "", "", "", "")
	}
	if r.Previous != nil {
		row("trend", "previous month "+r.Previous.Day, ftoa(r.Previous.Percent()), itoa(r.Previous.Compliant), itoa(r.Previous.Hosts), ftoa(r.Previous.Percent()), "")
	}
	for _, s := range r.Trend {
		row("trend", s.Day, ftoa(s.Percent()), itoa(s.Compliant), itoa(s.Hosts), ftoa(s.Percent()),
			fmt.Sprintf("breaches %d; kev %d", s.Breaches, s.KEVOpen))
	}
	if rel := r.Release; rel != nil {
		row("release", "name", rel.Name, "", "", "", "")
		row("release", "state", rel.State, "", "", "", "")
		row("release", "hosts", itoa(rel.Hosts), "", "", "", "")
		for _, wv := range rel.Waves {
			row("wave", itoa(wv.Wave), wv.State, "", itoa(wv.Hosts), "", "")
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("report csv: %w", err)
	}
	return nil
}

// csvSafe keeps a spreadsheet from running a cell as a formula: host
// names, owners and error texts come from agents and people.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			return s // a negative number
		}
		return "'" + s
	}
	return s
}

// ParseRange reads the bounds of a date range as people give them: from
// and to are each a date (2026-11-01) or an RFC 3339 time. A date from
// means the start of that day (UTC); a date to includes that day. The
// result is [start, end); an empty to means no end (zero end).
func ParseRange(from, to string) (start, end time.Time, err error) {
	read := func(field, s string, next bool) (time.Time, error) {
		if s == "" {
			return time.Time{}, nil
		}
		if len(s) > 64 {
			return time.Time{}, patchwave.Errorf(patchwave.EInvalid, "%s is %d bytes long: want a date like 2026-11-01 or a time like 2026-11-01T00:00:00Z", field, len(s))
		}
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t.UTC(), nil
		}
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return time.Time{}, patchwave.Errorf(patchwave.EInvalid, "%s %q is not a date like 2026-11-01 or a time like 2026-11-01T00:00:00Z", field, s)
		}
		if next {
			t = t.AddDate(0, 0, 1)
		}
		return t, nil
	}
	if start, err = read("from", from, false); err != nil {
		return
	}
	if end, err = read("to", to, true); err != nil {
		return
	}
	if !end.IsZero() && !end.After(start) {
		return start, end, patchwave.Errorf(patchwave.EInvalid, "to (%s) is not after from (%s)", to, from)
	}
	return start, end, nil
}
