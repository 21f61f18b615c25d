package api

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/patchwave/patchwave"

	"github.com/patchwave/patchwave/internal/report"
	"github.com/patchwave/patchwave/internal/store"
)

// ComplianceMetrics loads the fleet as q describes it and computes its
// metrics, with the stored SLA policy's at-risk fraction.
func ComplianceMetrics(ctx context.Context, st *store.Store, q store.ReportQuery) (report.Metrics, error) {
	sla, err := LoadSLA(ctx, st)
	if err != nil {
		return report.Metrics{}, err
	}
	q.AtRisk = sla.AtRisk
	return st.ReportMetrics(ctx, q, nil)
}

// TakeSnapshot stores today's (UTC) compliance snapshot unless one is
// stored already, and reports whether it stored one. Replicas may call it
// at once: the day is the key, the first one stays.
func TakeSnapshot(ctx context.Context, st *store.Store) (bool, error) {
	now := st.Now().UTC()
	day := now.Format(time.DateOnly)
	if has, err := st.HasSnapshot(ctx, day); err != nil || has {
		return false, err
	}
	start := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	m, err := ComplianceMetrics(ctx, st, store.ReportQuery{AsOf: now, From: start.AddDate(0, 0, -1), To: now})
	if err != nil {
		return false, err
	}
	return st.PutSnapshot(ctx, report.SnapshotOf(m))
}

// ComplianceReport builds the monthly compliance report of month
// (2026-11): figures as of the month's end (or now, for the current
// month), the flow metrics over the month, the daily trend and the last
// snapshot of the month before.
func ComplianceReport(ctx context.Context, st *store.Store, month string) (report.Report, error) {
	from, to, err := report.ParseMonth(month)
	if err != nil {
		return report.Report{}, err
	}
	now := st.Now().UTC()
	if !from.Before(now) {
		return report.Report{}, patchwave.Errorf(patchwave.EInvalid, "month %s has not begun yet (it is %s)", month, now.Format("2006-01"))
	}
	// Findings and hosts are kept as they are now, not as they were: the
	// point-in-time figures are as of now, the flow figures cover the
	// month, and the month's own compliance, day by day, is in the trend.
	m, err := ComplianceMetrics(ctx, st, store.ReportQuery{AsOf: now, From: from, To: to})
	if err != nil {
		return report.Report{}, err
	}
	r := report.Report{Kind: report.KindCompliance, Title: "Compliance report " + month, Period: month, Metrics: m,
		Notes: []string{"Point-in-time figures (compliance, breaches, KEV, exceptions, reboots) are as of the report time; " +
			"time to patch, remediation within SLA and install success cover the month; the trend shows each day's compliance as it was recorded then."}}
	if to.Before(now) {
		r.Notes = append(r.Notes, fmt.Sprintf("The month is over: its last recorded day is the trend's last point (%s).", to.AddDate(0, 0, -1).Format(time.DateOnly)))
	}
	last := to.AddDate(0, 0, -1).Format(time.DateOnly)
	if r.Trend, err = st.Snapshots(ctx, from.Format(time.DateOnly), last); err != nil {
		return r, err
	}
	prev, err := st.Snapshots(ctx, from.AddDate(0, -1, 0).Format(time.DateOnly), from.AddDate(0, 0, -1).Format(time.DateOnly))
	if err != nil {
		return r, err
	}
	if len(prev) > 0 {
		r.Previous = &prev[len(prev)-1]
	}
	return r, nil
}

// ReleaseReport builds the report of one release (by name or id): its
// waves, and the metrics of its hosts with its tasks only.
func ReleaseReport(ctx context.Context, st *store.Store, key string) (report.Report, error) {
	rel, err := st.Release(ctx, key)
	if err != nil {
		return report.Report{}, err
	}
	hosts, err := st.ReleaseHosts(ctx, rel.ID)
	if err != nil {
		return report.Report{}, err
	}
	waves, err := st.ReleaseWaves(ctx, rel.ID)
	if err != nil {
		return report.Report{}, err
	}
	sla, err := LoadSLA(ctx, st)
	if err != nil {
		return report.Report{}, err
	}
	ids := make(map[int64]bool, len(hosts))
	for _, h := range hosts {
		ids[h.HostID] = true
	}
	m, err := st.ReportMetrics(ctx, store.ReportQuery{From: rel.ReleasedAt, ReleaseID: rel.ID, AtRisk: sla.AtRisk}, ids)
	if err != nil {
		return report.Report{}, err
	}
	info := &report.ReleaseInfo{Name: rel.Name, Cycle: rel.Cycle, Kind: rel.Kind, State: string(rel.State), ReleasedAt: rel.ReleasedAt, Hosts: len(hosts), Waves: []report.WaveInfo{}}
	for _, w := range waves {
		info.Waves = append(info.Waves, report.WaveInfo{Wave: w.Wave, State: string(w.State), Hosts: w.Hosts, StartedAt: w.StartedAt, PromotedAt: w.PromotedAt})
	}
	return report.Report{Kind: report.KindRelease, Title: "Release report " + rel.Name, Period: rel.Name, Release: info,
		Metrics: m, Trend: []report.Snapshot{}}, nil
}

func (a *API) reportCompliance(w http.ResponseWriter, r *http.Request) error {
	if err := strictQuery(r, "month", "format"); err != nil {
		return err
	}
	q := r.URL.Query()
	format, err := report.ParseFormat(q.Get("format"))
	if err != nil {
		return err
	}
	month := q.Get("month")
	if month == "" {
		month = a.store.Now().UTC().Format("2006-01")
	}
	rep, err := ComplianceReport(r.Context(), a.store, month)
	if err != nil {
		return err
	}
	return writeReport(w, rep, format, "compliance-"+month)
}

func (a *API) reportRelease(w http.ResponseWriter, r *http.Request) error {
	if err := strictQuery(r, "format"); err != nil {
		return err
	}
	format, err := report.ParseFormat(r.URL.Query().Get("format"))
	if err != nil {
		return err
	}
	rep, err := ReleaseReport(r.Context(), a.store, r.PathValue("release"))
	if err != nil {
		return err
	}
	return writeReport(w, rep, format, "release-"+rep.Period)
}

// writeReport renders rep whole before sending it, so that a failure is
// an error answer rather than half a file.
func writeReport(w http.ResponseWriter, rep report.Report, format, name string) error {
	var b bytes.Buffer
	if err := rep.Write(&b, format); err != nil {
		return err
	}
	w.Header().Set("Content-Type", report.ContentType(format))
	if format == report.FormatCSV {
		w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", fileName(name)+".csv"))
	}
	if format == report.FormatHTML {
		// The page is self-contained: no scripts, no fetches.
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
	}
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(b.Bytes())
	return err
}

// fileName keeps letters, digits, dots, dashes and underscores of s.
func fileName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

// strictQuery refuses query parameters other than allowed, and any given
// more than once: a report built from a misspelt parameter would look
// right and be wrong.
func strictQuery(r *http.Request, allowed ...string) error {
	for k, vs := range r.URL.Query() {
		if !slices.Contains(allowed, k) {
			return patchwave.Errorf(patchwave.EInvalid, "unknown query parameter %q (want %s)", truncateRunes(k, 40), strings.Join(allowed, ", "))
		}
		if len(vs) > 1 {
			return patchwave.Errorf(patchwave.EInvalid, "query parameter %s is given %d times", k, len(vs))
		}
	}
	return nil
}

func truncateRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
