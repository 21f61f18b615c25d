package server_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/patchwave/patchwave/internal/bench"
	"github.com/patchwave/patchwave/internal/server"
	"github.com/patchwave/patchwave/internal/store/storetest"
)

// benchEnv reads an integer knob of the benchmarks from the environment.
func benchEnv(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// runFleet starts a real server on loopback and loads it with simulated
// agents; it reports hosts/s of first reports and check-ins/s.
func runFleet(b *testing.B, database string) {
	agents := benchEnv("PATCHWAVE_BENCH_AGENTS", 5000)
	packages := benchEnv("PATCHWAVE_BENCH_PACKAGES", 1000)
	seconds := benchEnv("PATCHWAVE_BENCH_SECONDS", 10)
	for b.Loop() {
		ctx := context.Background()
		srv, err := server.New(ctx, server.Config{Listen: "127.0.0.1:0", DataDir: b.TempDir(), Database: database, AdminPassword: "bench-password"}, nil)
		if err != nil {
			b.Fatal(err)
		}
		sctx, stop := context.WithCancel(ctx)
		ready := make(chan string, 1)
		done := make(chan error, 1)
		go func() { done <- srv.ListenAndServe(sctx, func(a string) { ready <- a }) }()
		url := <-ready
		token := login(b, url, "admin", "bench-password")
		res, err := bench.Run(ctx, bench.Config{Server: url, Token: token, Agents: agents, Packages: packages,
			Concurrency: 32, Duration: time.Duration(seconds) * time.Second, DistinctSets: true})
		stop()
		<-done
		srv.Close()
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(res.HostsPerSecond, "first-reports/s")
		b.ReportMetric(res.CheckinsPerSec, "checkins/s")
		b.ReportMetric(float64(res.P50.Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(res.P99.Microseconds())/1000, "p99-ms")
		b.Logf("\n%s", res)
	}
}

// BenchmarkFleetSQLite measures first inventory ingestion and unchanged
// check-ins on the embedded database. PATCHWAVE_BENCH_AGENTS,
// PATCHWAVE_BENCH_PACKAGES and PATCHWAVE_BENCH_SECONDS change the load.
func BenchmarkFleetSQLite(b *testing.B) { runFleet(b, "") }

// BenchmarkFleetPostgres is the same on PostgreSQL.
func BenchmarkFleetPostgres(b *testing.B) { runFleet(b, storetest.Postgres(b, true)) }
