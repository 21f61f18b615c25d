package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/patchwave/patchwave/internal/report"
)

// reportVerbs is the verb table of "patchwave reports".
func reportVerbs() []command {
	return []command{
		{"compliance", "the monthly compliance report: JSON, CSV or an HTML page with charts", runReportsCompliance},
		{"release", "a release's report: its waves and its hosts' compliance and installs", runReportsRelease},
	}
}

// reportFlags are the flags both report verbs take.
type reportFlags struct {
	format *string
	out    *string
}

func addReportFlags(v *verbFlags) reportFlags {
	return reportFlags{
		format: v.String("format", "", "`format`: text (a summary, the default on a terminal), json, csv, html or pdf; by default the file's extension decides"),
		out:    v.String("o", "", "write to this `file` instead of standard output (-o json prints JSON)"),
	}
}

// resolve returns the format to ask the server for ("" for the text
// summary, which is built from JSON) and the file to write ("" for
// standard output).
func (f reportFlags) resolve(v *verbFlags) (format, file string, err error) {
	format, file = *f.format, *f.out
	if file == "json" || file == "table" { // -o json, as everywhere else
		if format != "" {
			return "", "", v.usageErrorf("-o %s and --format do not go together: give one", file)
		}
		if file == "json" {
			format = "json"
		}
		file = ""
	}
	if format == "" && file != "" {
		switch strings.ToLower(filepath.Ext(file)) {
		case ".csv":
			format = "csv"
		case ".html", ".htm":
			format = "html"
		case ".pdf":
			format = "pdf"
		default:
			format = "json"
		}
	}
	switch format {
	case "", "text":
		if file != "" {
			return "", "", v.usageErrorf("--format text prints to the terminal: leave out -o, or ask for json, csv or html")
		}
		return "", "", nil
	case "json", "csv", "html", "pdf":
		return format, file, nil
	}
	return "", "", v.usageErrorf("--format %q is not text, json, csv, html or pdf", format)
}

func runReportsCompliance(ctx context.Context, e env, args []string) error {
	v := newVerb("reports compliance", "", 0, `The monthly compliance report: host and patch compliance by site, tier and OS,
the tier × severity matrix, SLA breaches and at-risk items with owners, KEV
exposure, time to patch, install success, pending reboots, exceptions and
end-of-life systems, with the daily trend. Each figure states its definition,
as-of time and denominator. Excepted findings stay in every denominator.`,
		`patchwave reports compliance
patchwave reports compliance --month 2026-11 --format csv -o report.csv
patchwave reports compliance --month 2026-11 -o report.html
patchwave reports compliance --month 2026-11 -o report.pdf`)
	month := v.String("month", "", "the `month`, like 2026-11 (default: the current one)")
	rf := addReportFlags(v)
	if _, err := v.parse(args); err != nil {
		return err
	}
	if *month != "" {
		if _, _, err := report.ParseMonth(*month); err != nil {
			return v.usageErrorf("--month: %v", err)
		}
	}
	format, file, err := rf.resolve(v)
	if err != nil {
		return err
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	b, err := c.ComplianceReport(ctx, *month, cmpOr(format, "json"))
	if err != nil {
		return fmt.Errorf("compliance report: %w", err)
	}
	return emitReport(e, b, format, file)
}

func runReportsRelease(ctx context.Context, e env, args []string) error {
	v := newVerb("reports release", "RELEASE", 1, `A release's report: its waves, and the compliance, installs, failures,
reboots and exceptions of the hosts it covers.`,
		`patchwave reports release 2026-12
patchwave reports release 2026-12 -o release-2026-12.html`)
	rf := addReportFlags(v)
	pos, err := v.parse(args)
	if err != nil {
		return err
	}
	format, file, err := rf.resolve(v)
	if err != nil {
		return err
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	b, err := c.ReleaseReport(ctx, pos[0], cmpOr(format, "json"))
	if err != nil {
		return fmt.Errorf("release report %s: %w", pos[0], err)
	}
	return emitReport(e, b, format, file)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// emitReport writes a report the server rendered to file (or standard
// output), or, for format "", prints a summary of its JSON.
func emitReport(e env, b []byte, format, file string) error {
	if format == "" {
		var r report.Report
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("read report: %w", err)
		}
		return reportSummary(e.stdout, r)
	}
	if file == "" {
		_, err := e.stdout.Write(b)
		return err
	}
	if err := writeFileAtomic(file, b); err != nil {
		return err
	}
	_, err := fmt.Fprintf(e.stderr, "Wrote %s (%d bytes).\n", file, len(b))
	return err
}

// writeFileAtomic writes b to a temporary file next to path and renames it.
func writeFileAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// reportSummary prints a report's headline figures.
func reportSummary(w io.Writer, r report.Report) error {
	m := r.Metrics
	fmt.Fprintf(w, "%s\nAs of %s; data as of %s.\n\n", r.Title, m.AsOf.Local().Format("2006-01-02 15:04"), m.DataAsOf.Local().Format("2006-01-02 15:04"))
	t := newTable(w, "METRIC", "%", "OF", "")
	for _, q := range r.Ratios() {
		t.row(q.Name, fmt.Sprintf("%.2f", q.Percent), fmt.Sprintf("%d/%d", q.Numerator, q.Denominator), "")
	}
	t.row("hosts compliant with exceptions", "", fmt.Sprint(m.CompliantWithExceptions), "")
	t.row("open SLA breaches", "", fmt.Sprint(m.SLA.Breaches), fmt.Sprintf("at risk %d", m.SLA.AtRisk))
	t.row("open KEV findings", "", fmt.Sprint(m.KEV.Open), fmt.Sprintf("past due %d, ransomware %d", m.KEV.PastDue, m.KEV.Ransomware))
	t.row("time to patch (days)", "", fmt.Sprintf("mean %.1f", m.TimeToPatch.MeanDays), fmt.Sprintf("median %.1f over %d", m.TimeToPatch.MedianDays, m.TimeToPatch.Count))
	t.row("pending reboots", "", fmt.Sprint(len(m.Pending)), "")
	t.row("exceptions active", "", fmt.Sprint(m.Exceptions.Active), fmt.Sprintf("expiring %d, expired %d", m.Exceptions.Expiring, m.Exceptions.Expired))
	t.row("end-of-life systems", "", fmt.Sprint(len(m.EndOfLife)), "")
	if err := t.flush(); err != nil {
		return err
	}
	if rel := r.Release; rel != nil {
		fmt.Fprintf(w, "\nRelease %s (%s), %d hosts:\n", rel.Name, rel.State, rel.Hosts)
		wt := newTable(w, "WAVE", "STATE", "HOSTS")
		for _, wv := range rel.Waves {
			wt.row(fmt.Sprint(wv.Wave), wv.State, fmt.Sprint(wv.Hosts))
		}
		return wt.flush()
	}
	_, err := fmt.Fprintln(w, "\nFor every figure with its definition: --format html, csv or json.")
	return err
}
