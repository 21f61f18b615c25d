package api

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/patchwave/patchwave/internal/store"
)

// BenchmarkMonthlyReport builds the monthly compliance report of a fleet
// of 100,000 hosts with 5 million findings (50 each: open and fixed, some
// excepted, KEV and breached) on SQLite. PATCHWAVE_BENCH_HOSTS scales the
// fleet down for a quick run.
func BenchmarkMonthlyReport(b *testing.B) {
	hosts := 100_000
	if v, err := strconv.Atoi(os.Getenv("PATCHWAVE_BENCH_HOSTS")); err == nil && v > 0 {
		hosts = v
	}
	const perHost = 50
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	st.SetClock(func() time.Time { return now })
	nowMS, day := now.UnixMilli(), int64(24*time.Hour/time.Millisecond)
	start := time.Now()
	err = st.Write(ctx, func(tx *store.Tx) error {
		if err := tx.ExecForTest(`WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ?)
			INSERT INTO hosts (hostname, site, tier, owner, os_id, os_version, managed, last_seen_at, assessed_at, uptime, created_at, updated_at)
			SELECT 'host-' || i, 'site-' || (i % 20),
				CASE i % 4 WHEN 0 THEN 'mission-critical' WHEN 1 THEN 'business-critical' WHEN 2 THEN 'business-operational' ELSE 'lab' END,
				'owner-' || (i % 50), CASE i % 3 WHEN 0 THEN 'debian' WHEN 1 THEN 'ubuntu' ELSE 'almalinux' END, '12', 1,
				? - (i % 30) * 3600000, ? - (i % 40) * 3600000, 86400, 0, 0 FROM c`, hosts, nowMS, nowMS); err != nil {
			return err
		}
		return tx.ExecForTest(`WITH RECURSIVE j(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM j WHERE n < ?)
			INSERT INTO findings (host_id, package, ecosystem, installed, fixed, state, cves, severity, kev, first_seen, fixed_at, updated_at, due_at, approved, excepted)
			SELECT h.id, 'pkg-' || j.n, 'Debian:12', '1', '2',
				CASE WHEN (h.id + j.n) % 3 = 0 THEN 'fixed' WHEN (h.id + j.n) % 17 = 0 THEN 'no-fix' ELSE 'missing' END,
				'["CVE-2026-' || j.n || '"]',
				CASE j.n % 4 WHEN 0 THEN 'critical' WHEN 1 THEN 'high' WHEN 2 THEN 'medium' ELSE 'low' END,
				CASE WHEN j.n % 25 = 0 THEN 1 ELSE 0 END,
				? - ((h.id * 7 + j.n * 13) % 120) * ?,
				CASE WHEN (h.id + j.n) % 3 = 0 THEN ? - ((h.id + j.n) % 25) * ? END, 0,
				? + (30 - (h.id * 7 + j.n * 13) % 120) * ?,
				CASE WHEN j.n % 5 = 0 THEN 0 ELSE 1 END, CASE WHEN j.n % 41 = 0 THEN 1 ELSE 0 END
			FROM hosts h, j`, perHost, nowMS, day, nowMS, day, nowMS, day)
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("fleet of %d hosts and %d findings written in %s", hosts, hosts*perHost, time.Since(start).Round(time.Second))
	b.ResetTimer()
	for b.Loop() {
		r, err := ComplianceReport(ctx, st, "2026-11")
		if err != nil {
			b.Fatal(err)
		}
		if r.Metrics.HostCompliance.Denominator != hosts {
			b.Fatalf("report over %d hosts", r.Metrics.HostCompliance.Denominator)
		}
	}
}
