package sched

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/plan"
	"github.com/patchwave/patchwave/internal/store"
	"github.com/patchwave/patchwave/internal/store/storetest"
)

// BenchmarkDriverTick measures one tick of the rollout driver over a
// release of PATCHWAVE_BENCH_HOSTS hosts (default 100,000) in one running
// wave whose tasks are all live, over 50 windows:
//
//	go test -run '^$' -bench DriverTick -benchtime 5x ./internal/sched/
//
// It also reports the first tick (which reads the fleet's attributes)
// and a tick that arms 10,000 new tasks.
func BenchmarkDriverTick(b *testing.B) {
	for _, db := range []string{"sqlite", "postgres"} {
		b.Run(db, func(b *testing.B) {
			dsn := filepath.Join(b.TempDir(), "patchwave.db")
			if db == "postgres" {
				dsn = storetest.Postgres(b, true)
			}
			benchTick(b, dsn)
		})
	}
}

func benchTick(b *testing.B, dsn string) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("PATCHWAVE_BENCH_HOSTS")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	start := time.Date(2026, 12, 9, 22, 30, 0, 0, time.UTC)
	st.SetClock(func() time.Time { return start })
	setup := time.Now()
	assets := make([]store.Asset, n)
	for i := range assets {
		assets[i] = store.Asset{Hostname: fmt.Sprintf("host-%06d", i), Site: fmt.Sprintf("site%02d", i%25), Tier: patchwave.TierBusinessOperational}
	}
	for i := 0; i < n; i += 5000 {
		if err := st.Write(ctx, func(tx *store.Tx) error { _, _, err := tx.ImportAssets(assets[i:min(i+5000, n)]); return err }); err != nil {
			b.Fatal(err)
		}
	}
	hosts, err := st.AllHosts(ctx)
	if err != nil {
		b.Fatal(err)
	}
	approved := map[int64][]patchwave.Finding{}
	for _, h := range hosts {
		approved[h.ID] = []patchwave.Finding{{Ecosystem: "Debian:12", Package: "openssl", Installed: "3.0.14-1", Fixed: "3.0.15-1", State: patchwave.FindingMissing}}
	}
	waves := []plan.Wave{{Order: 0, Name: "all", MaxConcurrentPct: 100, MaxErrorsPct: 50, GateSuccessPct: 90}}
	c, err := plan.BuildRelease(plan.ReleaseInput{Cycle: "2026-12", Hosts: hosts, Approved: approved, Waves: waves, Now: start})
	if err != nil {
		b.Fatal(err)
	}
	wj, _ := json.Marshal(plan.WavesJSON(waves))
	rel := store.Release{Name: "bench", Cycle: "2026-12", Kind: store.ReleaseMonthly, ReleasedAt: start.Add(-time.Hour), Waves: wj, Summary: []byte("{}"),
		State: patchwave.RolloutScheduled, CreatedBy: "bench"}
	if err := st.Write(ctx, func(tx *store.Tx) error { return tx.CreateRelease(&rel, c, waves) }); err != nil {
		b.Fatal(err)
	}
	var windows []plan.Window
	for i := range 45 {
		windows = append(windows, plan.Window{Name: fmt.Sprintf("w%02d", i), RRule: plan.MustParseRRule("FREQ=DAILY;BYHOUR=22"),
			Start: time.Date(2026, 1, 1, 22, 0, 0, 0, time.UTC), Duration: 4 * time.Hour, CutOff: 30 * time.Minute,
			Selector: patchwave.MustParseSelector(fmt.Sprintf("site=site%02d", i%25))})
	}
	for i := range 5 { // freezes over Christmas
		windows = append(windows, plan.Window{Name: fmt.Sprintf("freeze%d", i), RRule: plan.MustParseRRule("FREQ=YEARLY"),
			Start: time.Date(2026, 12, 24, 0, 0, 0, 0, time.UTC), Duration: 72 * time.Hour, Blocking: true,
			Selector: patchwave.MustParseSelector(fmt.Sprintf("site=site%02d", i*5))})
	}
	d := NewDriver(st, nil)
	d.HostRefresh = time.Hour
	d.Windows = func(context.Context) ([]plan.Window, error) { return windows, nil }
	d.Exceptions = func(context.Context) ([]patchwave.Exception, error) { return nil, nil }

	// The first tick starts the wave and arms every host's task.
	t0 := time.Now()
	if err := d.Tick(ctx); err != nil {
		b.Fatal(err)
	}
	first := time.Since(t0)
	live, _ := st.TaskBriefs(ctx, rel.ID)
	if len(live) != n {
		b.Fatalf("%d tasks armed, want %d", len(live), n)
	}
	b.Logf("setup %v; first tick (reads %d hosts, starts the wave, arms %d tasks): %v", time.Since(setup).Round(time.Millisecond), n, n, first.Round(time.Millisecond))

	b.ResetTimer()
	for b.Loop() {
		if err := d.Tick(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/tick")
	b.ReportMetric(float64(n), "active-tasks")
}
