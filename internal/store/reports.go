package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/report"
)

// ReportQuery says what a report covers.
type ReportQuery struct {
	AsOf time.Time // the report's time; zero means now
	// From and To bound the period of the flow metrics; findings fixed
	// and tasks finished before From are not loaded.
	From, To time.Time
	// ReleaseID limits tasks to one release (0: every release).
	ReleaseID int64
	// AtRisk is the SLA policy's at-risk fraction (0: the default).
	AtRisk float64
}

// ReportInput loads what report.Compute needs, one query per table:
// every host, the open findings and those fixed since q.From, the install
// and rollback tasks finished since q.From (or not finished), and every
// exception with its state as of q.AsOf.
func (s *Store) ReportInput(ctx context.Context, q ReportQuery) (report.Input, error) {
	if q.AsOf.IsZero() {
		q.AsOf = s.now()
	}
	in := report.Input{AsOf: q.AsOf, From: q.From, To: q.To, StaleAfter: s.staleAfter, AssessMaxAge: s.staleAfter, AtRisk: q.AtRisk}
	var err error
	if in.Hosts, err = s.reportHosts(ctx); err != nil {
		return in, err
	}
	if err := s.eachReportFinding(ctx, q.From, func(f report.Finding) {
		// eachReportFinding reuses the times f points to.
		for _, p := range []**time.Time{&f.Due, &f.FixedAt, &f.KEVDue} {
			if *p != nil {
				t := **p
				*p = &t
			}
		}
		in.Findings = append(in.Findings, f)
	}); err != nil {
		return in, err
	}
	if in.Tasks, err = s.reportTasks(ctx, q.From, q.ReleaseID); err != nil {
		return in, err
	}
	if in.Exceptions, err = s.reportExceptions(ctx, q.AsOf); err != nil {
		return in, err
	}
	return in, nil
}

// reportSplitMin is the span of finding ids below which one reader does.
var reportSplitMin int64 = 100_000

// ReportMetrics is report.Compute over ReportInput, with the findings
// streamed into the computation rather than loaded: the memory it takes
// grows with the hosts, not with the findings. With only non-nil, the
// report covers those hosts alone.
func (s *Store) ReportMetrics(ctx context.Context, q ReportQuery, only map[int64]bool) (report.Metrics, error) {
	if q.AsOf.IsZero() {
		q.AsOf = s.now()
	}
	in := report.Input{AsOf: q.AsOf, From: q.From, To: q.To, StaleAfter: s.staleAfter, AssessMaxAge: s.staleAfter, AtRisk: q.AtRisk}
	var err error
	if in.Hosts, err = s.reportHosts(ctx); err != nil {
		return report.Metrics{}, err
	}
	if in.Tasks, err = s.reportTasks(ctx, q.From, q.ReleaseID); err != nil {
		return report.Metrics{}, err
	}
	if in.Exceptions, err = s.reportExceptions(ctx, q.AsOf); err != nil {
		return report.Metrics{}, err
	}
	if only != nil {
		in = in.Only(only)
	}
	b := report.NewBuilder(in)
	kevs, err := s.KEVs(ctx)
	if err != nil {
		return report.Metrics{}, err
	}
	// Split the findings by id over a few readers, each with its own
	// builder, merged at the end.
	var lo, hi sql.NullInt64
	if err := s.queryRow(ctx, `SELECT MIN(id), MAX(id) FROM findings`).Scan(&lo, &hi); err != nil {
		return report.Metrics{}, fmt.Errorf("report findings: %w", err)
	}
	parts := min(runtime.GOMAXPROCS(0), 8)
	if span := hi.Int64 - lo.Int64 + 1; span < reportSplitMin {
		parts = 1
	}
	step := (hi.Int64-lo.Int64)/int64(parts) + 1
	forks := make([]*report.Builder, parts)
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for i := range forks {
		forks[i] = b.Fork()
		from, to := lo.Int64+int64(i)*step, lo.Int64+int64(i+1)*step
		wg.Go(func() { errs[i] = s.scanReportFindings(ctx, kevs, q.From, from, to, forks[i].Add) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return report.Metrics{}, err
	}
	for _, f := range forks {
		b.Merge(f)
	}
	return b.Metrics(), nil
}

func (s *Store) reportHosts(ctx context.Context) ([]report.Host, error) {
	// A host waits for a reboot when its latest successful install asked
	// for one and neither a reboot task nor the uptime it reported since
	// says it restarted after that install.
	rows, err := s.query(ctx, `SELECT h.id, h.hostname, h.site, h.owner, h.tier, h.os_id, h.os_version, h.managed,
		h.revoked_at IS NOT NULL, h.last_seen_at, h.assessed_at, h.os_eol,
		EXISTS (SELECT 1 FROM tasks t WHERE t.host_id = h.id AND t.kind = 'install' AND t.state = 'succeeded'
			AND t.reboot_required = 1 AND t.finished_at IS NOT NULL
			AND NOT EXISTS (SELECT 1 FROM tasks r WHERE r.host_id = h.id AND r.kind = 'reboot' AND r.state = 'succeeded' AND r.finished_at >= t.finished_at)
			AND NOT (h.uptime > 0 AND h.last_seen_at IS NOT NULL AND h.last_seen_at - h.uptime * 1000 > t.finished_at))
		FROM hosts h ORDER BY h.id`)
	if err != nil {
		return nil, fmt.Errorf("report hosts: %w", err)
	}
	defer rows.Close()
	var out []report.Host
	for rows.Next() {
		var h report.Host
		var osID, osVersion string
		var managed int
		var seen, assessed, eol sql.NullInt64
		if err := rows.Scan(&h.ID, &h.Hostname, &h.Site, &h.Owner, &h.Tier, &osID, &osVersion, &managed, &h.Revoked,
			&seen, &assessed, &eol, &h.PendingReboot); err != nil {
			return nil, fmt.Errorf("report hosts: %w", err)
		}
		h.Managed = managed != 0
		h.LastSeen, h.AssessedAt, h.OSEOL = fromNullMS(seen), fromNullMS(assessed), fromNullMS(eol)
		if osID != "" {
			h.OS = osID
			if osVersion != "" {
				h.OS += ":" + osVersion
			}
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// The finding columns report queries fold into one number, so that each
// row costs a few integer columns to read (millions of rows are read).
var (
	reportSeverities = [...]patchwave.Severity{patchwave.SeverityUnknown, patchwave.SeverityNone, patchwave.SeverityLow,
		patchwave.SeverityMedium, patchwave.SeverityHigh, patchwave.SeverityCritical, patchwave.SeverityUnknown, patchwave.SeverityUnknown}
	reportStates = [...]patchwave.FindingState{"", patchwave.FindingMissing, patchwave.FindingNoFix, patchwave.FindingFixed,
		patchwave.FindingUnexpectedService, "", "", ""}
)

// reportFlags is the SQL of that number: the effective severity (as
// patchwave.EffectiveSeverity: the vendor's rating, else the CVSS score's)
// in bits 0-2, the state in bits 3-5, then approved, excepted and KEV.
const reportFlags = `(CASE severity WHEN 'critical' THEN 5 WHEN 'high' THEN 4 WHEN 'medium' THEN 3 WHEN 'low' THEN 2 WHEN 'none' THEN 1 ELSE
		CASE WHEN cvss > 10 THEN 0 WHEN cvss >= 9 THEN 5 WHEN cvss >= 7 THEN 4 WHEN cvss >= 4 THEN 3 WHEN cvss > 0 THEN 2 ELSE 0 END END)
	+ 8 * (CASE state WHEN 'missing' THEN 1 WHEN 'no-fix' THEN 2 WHEN 'fixed' THEN 3 WHEN 'unexpected-service' THEN 4 ELSE 0 END)
	+ 64 * (CASE WHEN approved <> 0 THEN 1 ELSE 0 END) + 128 * (CASE WHEN excepted <> 0 THEN 1 ELSE 0 END) + 256 * (CASE WHEN kev <> 0 THEN 1 ELSE 0 END)`

func (s *Store) eachReportFinding(ctx context.Context, from time.Time, fn func(report.Finding)) error {
	kevs, err := s.KEVs(ctx)
	if err != nil {
		return err
	}
	return s.scanReportFindings(ctx, kevs, from, math.MinInt64, math.MaxInt64, fn)
}

// scanReportFindings calls fn with the findings whose id is in [lo, hi)
// that are open or were fixed since from.
func (s *Store) scanReportFindings(ctx context.Context, kevs map[string]patchwave.KEV, from time.Time, lo, hi int64, fn func(report.Finding)) error {
	rows, err := s.query(ctx, `SELECT host_id, package, `+reportFlags+`, first_seen, due_at, fixed_at, CASE WHEN kev <> 0 THEN cves ELSE '' END
		FROM findings WHERE id >= ? AND id < ? AND (state <> 'fixed' OR fixed_at >= ?)`, lo, hi, ms_(from))
	if err != nil {
		return fmt.Errorf("report findings: %w", err)
	}
	defer rows.Close()
	// Hosts that share a package set share their findings' package names:
	// keep one copy of each.
	names := map[string]string{}
	var pkg, cves sql.RawBytes
	var flags, first int64
	var due, fixed sql.NullInt64
	var dueT, fixedT, kevT time.Time
	for rows.Next() {
		var f report.Finding
		if err := rows.Scan(&f.HostID, &pkg, &flags, &first, &due, &fixed, &cves); err != nil {
			return fmt.Errorf("report findings: %w", err)
		}
		name, ok := names[string(pkg)]
		if !ok {
			name = string(pkg)
			names[name] = name
		}
		f.Package = name
		f.Severity, f.State = reportSeverities[flags&7], reportStates[(flags>>3)&7]
		f.Required, f.Excepted, f.KEV = flags&64 != 0, flags&128 != 0, flags&256 != 0
		f.FirstSeen = fromMS(first)
		// fn does not keep the finding: the times can live outside the loop.
		if due.Valid {
			dueT = fromMS(due.Int64)
			f.Due = &dueT
		}
		if fixed.Valid {
			fixedT = fromMS(fixed.Int64)
			f.FixedAt = &fixedT
		}
		if f.KEV {
			var ids []string
			_ = json.Unmarshal(cves, &ids)
			for _, id := range ids {
				k, ok := kevs[id]
				if !ok {
					continue
				}
				if f.KEVDue == nil || k.DueDate.Before(kevT) {
					kevT = k.DueDate
					f.KEVDue = &kevT
				}
				f.Ransomware = f.Ransomware || k.Ransomware
			}
		}
		fn(f)
	}
	return rows.Err()
}

func (s *Store) reportTasks(ctx context.Context, from time.Time, releaseID int64) ([]report.Task, error) {
	rows, err := s.query(ctx, `SELECT host_id, COALESCE(release_id, 0), wave, kind, state, first_result, error, finished_at FROM tasks
		WHERE kind IN ('install', 'rollback') AND (finished_at IS NULL OR finished_at >= ?) AND (? = 0 OR release_id = ?) ORDER BY id`,
		ms_(from), releaseID, releaseID)
	if err != nil {
		return nil, fmt.Errorf("report tasks: %w", err)
	}
	defer rows.Close()
	var out []report.Task
	for rows.Next() {
		var t report.Task
		var kind, state, first string
		var finished sql.NullInt64
		if err := rows.Scan(&t.HostID, &t.ReleaseID, &t.Wave, &kind, &state, &first, &t.Error, &finished); err != nil {
			return nil, fmt.Errorf("report tasks: %w", err)
		}
		t.Kind, t.State, t.FirstResult, t.FinishedAt = patchwave.TaskKind(kind), patchwave.TaskState(state), patchwave.TaskState(first), fromNullMS(finished)
		out = append(out, t)
	}
	return out, rows.Err()
}

func (s *Store) reportExceptions(ctx context.Context, asOf time.Time) ([]report.Exception, error) {
	ps, err := s.ListPolicy(ctx, PolicyException)
	if err != nil {
		return nil, err
	}
	out := make([]report.Exception, 0, len(ps))
	for _, p := range ps {
		var e patchwave.Exception
		if err := json.Unmarshal(p.Body, &e); err != nil {
			return nil, fmt.Errorf("exception %d: %w", p.ID, err)
		}
		scope := "all hosts"
		switch {
		case e.Host != "":
			scope = "host " + e.Host
		case e.Site != "":
			scope = "site " + e.Site
		case !e.Selector.IsZero():
			scope = "selector"
		}
		out = append(out, report.Exception{ID: p.ID, Kind: e.Kind, Owner: e.Owner, State: e.StateAt(asOf), ExpiresAt: e.ExpiresAt, Scope: scope})
	}
	return out, nil
}

// PutSnapshot stores the day's compliance snapshot unless one is stored
// for that day already, and reports whether it stored it: replicas that
// race for the same day keep the first.
func (s *Store) PutSnapshot(ctx context.Context, sn report.Snapshot) (bool, error) {
	if _, err := time.Parse(time.DateOnly, sn.Day); err != nil {
		return false, patchwave.Errorf(patchwave.EInvalid, "snapshot day %q is not a date like 2026-12-01", sn.Day)
	}
	body, err := json.Marshal(struct {
		ByTier []report.Group `json:"by_tier,omitempty"`
		BySite []report.Group `json:"by_site,omitempty"`
	}{sn.ByTier, sn.BySite})
	if err != nil {
		return false, fmt.Errorf("snapshot %s: %w", sn.Day, err)
	}
	var stored bool
	err = s.write(ctx, func(tx *Tx) error {
		res, err := tx.exec(`INSERT INTO compliance_snapshots (day, taken_at, hosts, compliant, with_exceptions, patches, patches_ok, breaches, kev_open, summary)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (day) DO NOTHING`,
			sn.Day, ms_(sn.TakenAt), sn.Hosts, sn.Compliant, sn.WithExceptions, sn.Patches, sn.PatchesOK, sn.Breaches, sn.KEVOpen, string(body))
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		stored = n == 1
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("snapshot %s: %w", sn.Day, err)
	}
	return stored, nil
}

// HasSnapshot reports whether the day's snapshot is stored.
func (s *Store) HasSnapshot(ctx context.Context, day string) (bool, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM compliance_snapshots WHERE day = ?`, day).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("snapshot %s: %w", day, err)
	}
	return n > 0, nil
}

// Snapshots returns the snapshots of the days from fromDay to toDay
// (YYYY-MM-DD, both included), oldest first.
func (s *Store) Snapshots(ctx context.Context, fromDay, toDay string) ([]report.Snapshot, error) {
	rows, err := s.query(ctx, `SELECT day, taken_at, hosts, compliant, with_exceptions, patches, patches_ok, breaches, kev_open, summary
		FROM compliance_snapshots WHERE day >= ? AND day <= ? ORDER BY day`, fromDay, toDay)
	if err != nil {
		return nil, fmt.Errorf("snapshots: %w", err)
	}
	defer rows.Close()
	out := []report.Snapshot{}
	for rows.Next() {
		var sn report.Snapshot
		var taken int64
		var body string
		if err := rows.Scan(&sn.Day, &taken, &sn.Hosts, &sn.Compliant, &sn.WithExceptions, &sn.Patches, &sn.PatchesOK, &sn.Breaches, &sn.KEVOpen, &body); err != nil {
			return nil, fmt.Errorf("snapshots: %w", err)
		}
		sn.TakenAt = fromMS(taken)
		var sum struct {
			ByTier []report.Group `json:"by_tier"`
			BySite []report.Group `json:"by_site"`
		}
		if err := json.Unmarshal([]byte(body), &sum); err != nil {
			return nil, fmt.Errorf("snapshot %s: %w", sn.Day, err)
		}
		sn.ByTier, sn.BySite = sum.ByTier, sum.BySite
		out = append(out, sn)
	}
	return out, rows.Err()
}
