package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/report"
	"github.com/patchwave/patchwave/internal/store"
)

// TestReportInput loads a small fleet written row by row and checks what
// the report sees: pending reboots (cleared by a reboot task or by the
// uptime reported since), KEV due dates, fixed findings outside the
// period left out, tasks of one release.
func TestReportInput(t *testing.T) {
	each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
		s.SetClock(func() time.Time { return now })
		ms := func(d time.Duration) int64 { return now.Add(d).UnixMilli() }
		day := 24 * time.Hour
		err := s.Write(ctx, func(tx *store.Tx) error {
			if _, _, err := tx.ImportAssets([]store.Asset{{Hostname: "a", Site: "paris", Tier: patchwave.TierLab, Owner: "ann"},
				{Hostname: "b", Site: "lyon", Tier: patchwave.TierLab}, {Hostname: "c", Tier: patchwave.TierLab}}); err != nil {
				return err
			}
			for _, q := range []struct {
				sql  string
				args []any
			}{
				{`UPDATE hosts SET managed = 1, last_seen_at = ?, assessed_at = ?, os_id = 'debian', os_version = '12' WHERE hostname IN ('a', 'b')`, []any{ms(0), ms(0)}},
				// c rebooted one hour ago (uptime), after its install two hours ago.
				{`UPDATE hosts SET managed = 1, last_seen_at = ?, assessed_at = ?, uptime = 3600 WHERE hostname = 'c'`, []any{ms(0), ms(0)}},
				{`INSERT INTO releases (id, name, cycle, kind, released_at, content_hash, waves, state, created_by, created_at, updated_at)
					VALUES (1, '2026-11', '2026-11', 'monthly', 0, 'x', '[]', 'running', 'admin', 0, 0), (2, '2026-12', '2026-12', 'monthly', 0, 'y', '[]', 'running', 'admin', 0, 0)`, nil},
				{`INSERT INTO kev (cve, date_added, due_date, ransomware) VALUES ('CVE-1', 0, ?, 1), ('CVE-2', 0, ?, 0)`, []any{ms(-5 * day), ms(-9 * day)}},
				{`INSERT INTO findings (host_id, package, ecosystem, installed, fixed, state, cves, severity, cvss, kev, first_seen, fixed_at, updated_at, due_at, approved, excepted)
					VALUES ((SELECT id FROM hosts WHERE hostname = 'a'), 'openssl', 'Debian:12', '1', '2', 'missing', '["CVE-1","CVE-2"]', '', 9.8, 1, ?, NULL, 0, ?, 1, 0),
					       ((SELECT id FROM hosts WHERE hostname = 'a'), 'curl', 'Debian:12', '1', '2', 'fixed', '[]', 'high', 0, 0, ?, ?, 0, ?, 1, 0),
					       ((SELECT id FROM hosts WHERE hostname = 'b'), 'old', 'Debian:12', '1', '2', 'fixed', '[]', 'high', 0, 0, ?, ?, 0, ?, 1, 0),
					       ((SELECT id FROM hosts WHERE hostname = 'b'), 'zlib', 'Debian:12', '1', '2', 'missing', '[]', 'low', 0, 0, ?, NULL, 0, ?, 1, 1)`,
					[]any{ms(-20 * day), ms(-13 * day), ms(-10 * day), ms(-2 * day), ms(5 * day), ms(-90 * day), ms(-60 * day), ms(-50 * day), ms(-1 * day), ms(60 * day)}},
				{`INSERT INTO tasks (release_id, host_id, kind, wave, state, first_result, reboot_required, not_after, deadline_at, created_at, updated_at, finished_at, error)
					VALUES (1, (SELECT id FROM hosts WHERE hostname = 'a'), 'install', 0, 'succeeded', 'succeeded', 1, 0, 0, 0, 0, ?, ''),
					       (1, (SELECT id FROM hosts WHERE hostname = 'b'), 'install', 1, 'failed', 'failed', 0, 0, 0, 0, 0, ?, 'apt: broken'),
					       (1, (SELECT id FROM hosts WHERE hostname = 'c'), 'install', 1, 'succeeded', 'succeeded', 1, 0, 0, 0, 0, ?, ''),
					       (2, (SELECT id FROM hosts WHERE hostname = 'b'), 'install', 0, 'succeeded', 'failed', 1, 0, 0, 0, 0, ?, ''),
					       (2, (SELECT id FROM hosts WHERE hostname = 'b'), 'reboot', 0, 'succeeded', 'succeeded', 0, 0, 0, 0, 0, ?, '')`,
					[]any{ms(-3 * day), ms(-3 * day), ms(-2 * time.Hour), ms(-2 * day), ms(-1 * day)}},
			} {
				if err := tx.ExecForTest(q.sql, q.args...); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		in, err := s.ReportInput(ctx, store.ReportQuery{From: now.Add(-30 * day), To: now})
		if err != nil {
			t.Fatal(err)
		}
		if len(in.Hosts) != 3 || len(in.Findings) != 3 || len(in.Tasks) != 4 {
			t.Fatalf("loaded %d hosts, %d findings, %d tasks; want 3, 3 (one fixed too long ago), 4 (installs only)", len(in.Hosts), len(in.Findings), len(in.Tasks))
		}
		var pending []string
		for _, h := range in.Hosts {
			if h.PendingReboot {
				pending = append(pending, h.Hostname)
			}
		}
		if !slices.Equal(pending, []string{"a"}) {
			t.Errorf("pending reboots %v, want [a] (b rebooted by task, c by uptime)", pending)
		}
		if in.Hosts[0].OS != "debian:12" || in.Hosts[0].Owner != "ann" {
			t.Errorf("host a = %+v", in.Hosts[0])
		}
		f := in.Findings[0]
		if f.Package != "openssl" || f.Severity != patchwave.SeverityCritical || !f.KEV || !f.Ransomware || f.KEVDue == nil || !f.KEVDue.Equal(now.Add(-9*day)) {
			t.Errorf("KEV finding = %+v (want severity from CVSS, earliest KEV due date, ransomware)", f)
		}
		m := report.Compute(in)
		if m.HostCompliance.Numerator != 2 || m.HostCompliance.Denominator != 3 || m.CompliantWithExceptions != 1 {
			t.Errorf("host compliance %d/%d (+%d with exceptions), want 2/3 (b with exceptions, since its latest install succeeded; c)", m.HostCompliance.Numerator, m.HostCompliance.Denominator, m.CompliantWithExceptions)
		}
		if m.KEV.PastDue != 1 || m.SLA.Breaches != 1 || m.SLA.BreachList[0].Owner != "ann" || m.SLA.BreachList[0].DaysOverdue != 13 {
			t.Errorf("KEV %+v, breaches %+v", m.KEV, m.SLA.BreachList)
		}
		rel, err := s.ReportInput(ctx, store.ReportQuery{From: now.Add(-30 * day), ReleaseID: 2})
		if err != nil || len(rel.Tasks) != 1 {
			t.Errorf("release 2: %d tasks, %v", len(rel.Tasks), err)
		}

		// Snapshots: one per day, the first wins.
		sn := report.SnapshotOf(m)
		if ok, err := s.PutSnapshot(ctx, sn); !ok || err != nil {
			t.Fatalf("first snapshot: %v %v", ok, err)
		}
		sn2 := sn
		sn2.Compliant = 99
		if ok, err := s.PutSnapshot(ctx, sn2); ok || err != nil {
			t.Fatalf("second snapshot of the day stored: %v %v", ok, err)
		}
		if _, err := s.PutSnapshot(ctx, report.Snapshot{Day: "2026-13-01"}); patchwave.ErrorCode(err) != patchwave.EInvalid {
			t.Errorf("bad day: %v", err)
		}
		got, err := s.Snapshots(ctx, "2026-11-01", "2026-11-30")
		if err != nil || len(got) != 1 || got[0].Compliant != 2 || got[0].Day != "2026-11-30" || len(got[0].ByTier) != 1 {
			t.Errorf("snapshots %+v %v", got, err)
		}
		if has, _ := s.HasSnapshot(ctx, "2026-11-30"); !has {
			t.Error("HasSnapshot: false")
		}
	})
}

// TestReportMetricsStreams: the streamed computation agrees with the one
// over loaded inputs, for the whole fleet and for a subset of hosts.
func TestReportMetricsStreams(t *testing.T) {
	each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		err := s.Write(ctx, func(tx *store.Tx) error {
			if _, _, err := tx.ImportAssets([]store.Asset{{Hostname: "a", Tier: patchwave.TierLab}, {Hostname: "b", Tier: patchwave.TierLab}}); err != nil {
				return err
			}
			return tx.ExecForTest(`INSERT INTO findings (host_id, package, ecosystem, installed, fixed, state, severity, first_seen, updated_at, approved)
				SELECT id, 'p' || id, 'Debian:12', '1', '2', 'missing', 'high', 0, 0, 1 FROM hosts`)
		})
		if err != nil {
			t.Fatal(err)
		}
		q := store.ReportQuery{AsOf: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)}
		in, err := s.ReportInput(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		want := report.Compute(in)
		got, err := s.ReportMetrics(ctx, q, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got.PatchCompliance != want.PatchCompliance || got.OpenAge.Count != 2 || got.OpenAge.MedianDays != want.OpenAge.MedianDays ||
			len(got.Matrix) != len(want.Matrix) || got.SLA.Breaches != want.SLA.Breaches {
			t.Errorf("streamed %+v, loaded %+v", got.PatchCompliance, want.PatchCompliance)
		}
		// Split over readers, however small: the same figures.
		restore := store.SetReportSplitMin(1)
		split, err := s.ReportMetrics(ctx, q, nil)
		restore()
		if err != nil || split.PatchCompliance != want.PatchCompliance || split.OpenAge.MedianDays != want.OpenAge.MedianDays || split.SLA.Breaches != want.SLA.Breaches {
			t.Errorf("split over readers: %+v %v", split.PatchCompliance, err)
		}
		one, err := s.ReportMetrics(ctx, q, map[int64]bool{in.Hosts[0].ID: true})
		if err != nil || one.PatchCompliance.Denominator != 1 || one.HostCompliance.Denominator != 1 {
			t.Errorf("one host: %+v %v", one.PatchCompliance, err)
		}
	})
}
