// Package bench load-tests a Patchwave server with simulated agents over
// real HTTP: enrollment, first full inventory reports, then check-ins with
// unchanged inventory. `patchwave bench` and the Go benchmarks use it.
package bench

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/client"
)

// Config says what load to generate.
type Config struct {
	Server        string // base URL
	Token         string // a user's API token, to create the enrollment token
	Agents        int
	Packages      int           // per host
	Concurrency   int           // requests in flight
	Duration      time.Duration // of the unchanged check-in phase
	MaxCheckins   int           // stop the check-in phase after this many (0: no limit)
	DistinctSets  bool          // every host its own package set (worst case) instead of a few shared ones
	Progress      io.Writer     // progress lines; nil for none
	HTTPTransport http.RoundTripper
}

// Result is what was measured.
type Result struct {
	Agents         int
	Packages       int
	EnrollSeconds  float64
	IngestSeconds  float64
	HostsPerSecond float64 // first full reports ingested
	Checkins       int
	CheckinSeconds float64
	CheckinsPerSec float64
	P50, P99, Max  time.Duration
	Errors         int64
}

// String is a short human summary.
func (r Result) String() string {
	return fmt.Sprintf("agents=%d packages/host=%d\nfirst full reports: %.0f hosts/s (%d hosts in %.2fs)\nunchanged check-ins: %.0f/s (%d in %.2fs), latency p50=%s p99=%s max=%s, errors=%d",
		r.Agents, r.Packages, r.HostsPerSecond, r.Agents, r.IngestSeconds, r.CheckinsPerSec, r.Checkins, r.CheckinSeconds,
		r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond), r.Max.Round(time.Microsecond), r.Errors)
}

type simAgent struct {
	id         int
	credential string
	full       []byte // gzip JSON of the first report
	checkin    []byte // JSON of an unchanged check-in
}

// Packages returns a realistic package list for simulated host i: n
// packages with Debian-like names and versions. With distinct, one
// package's version encodes i, so every host has its own set; otherwise
// hosts fall into a handful of shared sets, as real fleets do.
func Packages(i, n int, distinct bool) []patchwave.Package {
	ps := make([]patchwave.Package, 0, n)
	flavour := i % 7
	for j := 0; j < n; j++ {
		name := fmt.Sprintf("%s%d", stems[j%len(stems)], j/len(stems))
		v := fmt.Sprintf("%d.%d.%d-%d+deb12u%d", 1+j%5, j%13, j%31, 1+j%3, 1+(j+flavour)%4)
		if distinct && j == 0 {
			v = fmt.Sprintf("1.0.%d-1", i)
		}
		ps = append(ps, patchwave.Package{Name: name, Version: v, Arch: "amd64", Source: "src-" + name, SourceVersion: v})
	}
	return patchwave.SortPackages(ps)
}

var stems = []string{"lib", "python3-", "golang-", "perl-", "ruby-", "node-", "fonts-", "xserver-", "gir1.2-", "texlive-"}

func facts(i int) patchwave.Facts {
	return patchwave.Facts{Hostname: fmt.Sprintf("sim-%06d", i), OS: patchwave.OS{Family: "debian", ID: "debian", Name: "Debian GNU/Linux 12 (bookworm)", Version: "12", Codename: "bookworm"},
		Kernel: "6.1.0-28-amd64", Arch: "x86_64", AgentVersion: "bench",
		Interfaces: []patchwave.Interface{{Name: "eth0", MAC: fmt.Sprintf("52:54:00:%02x:%02x:%02x", i>>16&255, i>>8&255, i&255), IPs: []string{fmt.Sprintf("10.%d.%d.%d/16", i>>16&255, i>>8&255, i&255)}}},
		Services:   []string{"cron.service", "ssh.service", "systemd-journald.service"}}
}

// Run enrolls cfg.Agents agents, ingests their first reports, then runs
// unchanged check-ins for cfg.Duration, and reports the figures.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Agents <= 0 || cfg.Concurrency <= 0 {
		return Result{}, fmt.Errorf("bench: agents and concurrency must be positive")
	}
	tr := cfg.HTTPTransport
	if tr == nil {
		tr = &http.Transport{MaxIdleConns: cfg.Concurrency * 2, MaxIdleConnsPerHost: cfg.Concurrency * 2, IdleConnTimeout: time.Minute}
	}
	hc := &http.Client{Transport: tr, Timeout: 2 * time.Minute}
	say := func(format string, args ...any) {
		if cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, format+"\n", args...)
		}
	}
	res := Result{Agents: cfg.Agents, Packages: cfg.Packages}
	c := client.New(cfg.Server, cfg.Token).WithHTTPClient(hc)
	var et patchwave.EnrollToken
	if err := c.Do(ctx, "POST", "/api/v1/enroll-tokens", nil, map[string]any{"site": "bench", "tier": "lab", "expires_in": "24h"}, &et); err != nil {
		return res, fmt.Errorf("bench: create enroll token: %w", err)
	}

	agents := make([]*simAgent, cfg.Agents)
	say("preparing %d agents with %d packages each", cfg.Agents, cfg.Packages)
	err := parallel(ctx, cfg.Concurrency, cfg.Agents, func(i int) error {
		f := facts(i)
		ps := Packages(i, cfg.Packages, cfg.DistinctSets)
		hash := patchwave.HashPackages(ps)
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		if err := json.NewEncoder(zw).Encode(patchwave.CheckinRequest{FactsHash: f.Hash(), PackagesHash: hash, Packages: &ps}); err != nil {
			return err
		}
		zw.Close()
		ci, _ := json.Marshal(patchwave.CheckinRequest{FactsHash: f.Hash(), PackagesHash: hash, Uptime: 1000})
		agents[i] = &simAgent{id: i, full: buf.Bytes(), checkin: ci}
		return nil
	})
	if err != nil {
		return res, err
	}

	say("enrolling %d agents", cfg.Agents)
	start := time.Now()
	err = parallel(ctx, cfg.Concurrency, cfg.Agents, func(i int) error {
		resp, err := c.Enroll(ctx, patchwave.EnrollRequest{Token: et.Token, Facts: facts(i)})
		if err != nil {
			return fmt.Errorf("enroll agent %d: %w", i, err)
		}
		agents[i].credential = resp.Credential
		return nil
	})
	if err != nil {
		return res, err
	}
	res.EnrollSeconds = time.Since(start).Seconds()

	say("sending first full reports")
	start = time.Now()
	err = parallel(ctx, cfg.Concurrency, cfg.Agents, func(i int) error {
		a := agents[i]
		var out patchwave.CheckinResponse
		if err := post(ctx, hc, cfg.Server, a.credential, a.full, true, &out); err != nil {
			return fmt.Errorf("first report of agent %d: %w", i, err)
		}
		if out.NeedPackages || out.NeedFacts {
			return fmt.Errorf("first report of agent %d: server still asks for inventory", i)
		}
		a.full = nil
		return nil
	})
	if err != nil {
		return res, err
	}
	res.IngestSeconds = time.Since(start).Seconds()
	res.HostsPerSecond = float64(cfg.Agents) / res.IngestSeconds
	say("first full reports: %.0f hosts/s", res.HostsPerSecond)

	say("unchanged check-ins for %s", cfg.Duration)
	var next atomic.Int64
	var errs atomic.Int64
	lat := make([][]time.Duration, cfg.Concurrency)
	deadline := time.Now().Add(cfg.Duration)
	start = time.Now()
	var wg sync.WaitGroup
	for w := 0; w < cfg.Concurrency; w++ {
		wg.Go(func() {
			for time.Now().Before(deadline) && ctx.Err() == nil {
				n := next.Add(1)
				if cfg.MaxCheckins > 0 && n > int64(cfg.MaxCheckins) {
					return
				}
				a := agents[int(n)%len(agents)]
				t0 := time.Now()
				var out patchwave.CheckinResponse
				if err := post(ctx, hc, cfg.Server, a.credential, a.checkin, false, &out); err != nil || out.NeedFacts || out.NeedPackages {
					errs.Add(1)
					continue
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		})
	}
	wg.Wait()
	res.CheckinSeconds = time.Since(start).Seconds()
	all := slices.Concat(lat...)
	slices.Sort(all)
	res.Checkins = len(all)
	res.CheckinsPerSec = float64(len(all)) / res.CheckinSeconds
	res.Errors = errs.Load()
	if len(all) > 0 {
		res.P50, res.P99, res.Max = all[len(all)/2], all[len(all)*99/100], all[len(all)-1]
	}
	return res, nil
}

func post(ctx context.Context, hc *http.Client, base, cred string, body []byte, gz bool, out any) error {
	req, err := http.NewRequestWithContext(ctx, "POST", strings.TrimRight(base, "/")+"/api/v1/agent/checkin", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+cred)
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("%s: %s", resp.Status, b)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// parallel runs fn(0..n-1) on workers goroutines, stopping at the first error.
func parallel(ctx context.Context, workers, n int, fn func(int) error) error {
	var next atomic.Int64
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					once.Do(func() { first = err })
					next.Store(int64(n))
					return
				}
			}
		})
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}
