// Package sim simulates a fleet: agents that enroll with a real server
// over HTTP, report realistic inventories (several sites, tiers and OS
// releases, package sets with drift), check in on an interval, and carry
// out the tasks they are handed as a real agent reports them, failing
// some the way package managers fail. It is how `patchwave demo` fills a
// server with a living fleet, and how operators try a setup out.
package sim

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/client"
)

// Config says what fleet to simulate.
type Config struct {
	Server string // base URL
	Token  string // an admin's or operator's API token, to make enrollment tokens
	Hosts  int
	// Packages is the number of packages per host (default 300).
	Packages int
	// FailRate is the share of installs that fail (0 to 1).
	FailRate float64
	// Interval is the time between an agent's check-ins (default 5s).
	Interval time.Duration
	// Work is how long an install takes (default 1s).
	Work   time.Duration
	Seed   uint64
	Logger *slog.Logger
	HTTP   *http.Client
}

// Sites, tiers and OS releases of the simulated fleet.
var (
	Sites = []string{"paris", "frankfurt", "bangalore", "austin"}
	oses  = []patchwave.OS{
		{Family: "debian", ID: "debian", Name: "Debian GNU/Linux 12 (bookworm)", Version: "12", Codename: "bookworm"},
		{Family: "debian", ID: "ubuntu", Name: "Ubuntu 22.04.4 LTS", Version: "22.04", Codename: "jammy"},
	}
)

// tierOf spreads hosts over the tiers: 5% lab, 50% business-operational,
// 30% business-critical, 15% mission-critical.
func tierOf(i int) patchwave.Tier {
	switch p := i % 20; {
	case p == 0:
		return patchwave.TierLab
	case p < 11:
		return patchwave.TierBusinessOperational
	case p < 17:
		return patchwave.TierBusinessCritical
	default:
		return patchwave.TierMissionCritical
	}
}

// Name is the host name of simulated host i.
func Name(i int) string {
	return fmt.Sprintf("%s-%s-%03d", Sites[i%len(Sites)][:3], tierShort[tierOf(i)], i)
}

var tierShort = map[patchwave.Tier]string{patchwave.TierLab: "lab", patchwave.TierBusinessOperational: "app",
	patchwave.TierBusinessCritical: "svc", patchwave.TierMissionCritical: "core"}

// Vulnerable lists the packages every simulated host has in an old
// version, with the version that fixes them: what demo advisories name.
var Vulnerable = []struct{ Name, Old, Fixed string }{
	{"openssl", "3.0.11-1~deb12u2", "3.0.15-1~deb12u1"},
	{"libssl3", "3.0.11-1~deb12u2", "3.0.15-1~deb12u1"},
	{"openssh-server", "1:9.2p1-2+deb12u2", "1:9.2p1-2+deb12u3"},
	{"curl", "7.88.1-10+deb12u5", "7.88.1-10+deb12u8"},
	{"libexpat1", "2.5.0-1", "2.5.0-1+deb12u1"},
	{"sudo", "1.9.13p3-1+deb12u1", "1.9.13p3-1+deb12u2"},
}

// PatchedByHand reports whether host i has the fixed versions already.
func PatchedByHand(i int) bool { return i%9 == 4 }

// Packages returns host i's package set: n packages, the vulnerable
// ones among them (some hosts already patched), drifting from host to
// host.
func Packages(i, n int) []patchwave.Package {
	ps := make([]patchwave.Package, 0, n)
	for _, v := range Vulnerable {
		ver := v.Old
		if PatchedByHand(i) {
			ver = v.Fixed
		}
		src := v.Name
		if v.Name == "libssl3" {
			src = "openssl"
		}
		ps = append(ps, patchwave.Package{Name: v.Name, Version: ver, Arch: "amd64", Source: src})
	}
	stems := []string{"lib", "python3-", "perl-", "fonts-", "node-"}
	for j := len(ps); j < n; j++ {
		name := fmt.Sprintf("%spkg%d", stems[j%len(stems)], j)
		ps = append(ps, patchwave.Package{Name: name, Version: fmt.Sprintf("%d.%d-%d", 1+j%4, (j+i%3)%9, 1+j%2), Arch: "amd64"})
	}
	return patchwave.SortPackages(ps)
}

func facts(i int) patchwave.Facts {
	return patchwave.Facts{Hostname: Name(i), OS: oses[i%len(oses)], Kernel: "6.1.0-28-amd64", Arch: "x86_64", AgentVersion: "sim",
		Interfaces: []patchwave.Interface{{Name: "eth0", MAC: fmt.Sprintf("52:54:00:00:%02x:%02x", i>>8&255, i&255),
			IPs: []string{fmt.Sprintf("10.%d.%d.%d/16", 10+i%len(Sites), i>>8&255, i&255)}}},
		Services: []string{"cron.service", "ssh.service", "systemd-journald.service"}}
}

// failures are what failed installs print, as apt does.
var failures = []struct{ err, out string }{
	{"pre-check: the package manager is locked by another process: unattended-upgr (pid 812)", "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 812 (unattended-upgr)"},
	{"pre-check: only 96 MB free on /, 200 MB needed", ""},
	{"install failed: exit status 100", "The following packages have unmet dependencies:\n libssl3 : Breaks: libssl-dev (< 3.0.15)\nE: Unable to correct problems, you have held broken packages."},
	{"verification failed: check service nginx: inactive (failed)", "Job for nginx.service failed because the control process exited with error code."},
}

type host struct {
	i     int
	c     *client.Client
	facts patchwave.Facts
	mu    sync.Mutex
	pkgs  []patchwave.Package
}

// Run enrolls the fleet and runs it until ctx is done. It returns once
// every host has enrolled and reported, then keeps the agents going in
// the background; done is closed when they have stopped.
func Run(ctx context.Context, cfg Config) (done <-chan struct{}, err error) {
	if cfg.Hosts <= 0 {
		return nil, fmt.Errorf("sim: want at least one host")
	}
	if cfg.Packages <= 0 {
		cfg.Packages = 300
	}
	cfg.Packages = max(cfg.Packages, len(Vulnerable))
	if cfg.Interval <= 0 {
		cfg.Interval = 5 * time.Second
	}
	if cfg.Work <= 0 {
		cfg.Work = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	hc := cfg.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	}
	admin := client.New(cfg.Server, cfg.Token).WithHTTPClient(hc)
	// One enrollment token per site and tier, as site admins would make.
	tokens := map[string]string{}
	for i := range cfg.Hosts {
		site, tier := Sites[i%len(Sites)], tierOf(i)
		key := site + "/" + string(tier)
		if _, ok := tokens[key]; ok {
			continue
		}
		var tags []string
		if tier == patchwave.TierBusinessOperational && i%3 == 0 {
			tags = []string{"pilot"}
		}
		t, err := admin.CreateEnrollToken(ctx, client.EnrollTokenRequest{Site: site, Tier: tier, Tags: tags, Expires: "24h"})
		if err != nil {
			return nil, fmt.Errorf("sim: enrollment token for %s: %w", key, err)
		}
		tokens[key] = t.Token
	}
	hosts := make([]*host, cfg.Hosts)
	var wg sync.WaitGroup
	errs := make(chan error, cfg.Hosts)
	sem := make(chan struct{}, 16)
	for i := range cfg.Hosts {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			f := facts(i)
			resp, err := client.New(cfg.Server, "").WithHTTPClient(hc).Enroll(ctx, patchwave.EnrollRequest{Token: tokens[Sites[i%len(Sites)]+"/"+string(tierOf(i))], Facts: f})
			if err != nil {
				errs <- fmt.Errorf("sim: enroll %s: %w", f.Hostname, err)
				return
			}
			h := &host{i: i, c: client.New(cfg.Server, resp.Credential).WithHTTPClient(hc), facts: f, pkgs: Packages(i, cfg.Packages)}
			if _, err := h.c.Checkin(ctx, patchwave.CheckinRequest{FactsHash: f.Hash(), PackagesHash: patchwave.HashPackages(h.pkgs), Packages: &h.pkgs}); err != nil {
				errs <- fmt.Errorf("sim: first report of %s: %w", f.Hostname, err)
				return
			}
			hosts[i] = h
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	cfg.Logger.Info("simulated fleet enrolled", "hosts", cfg.Hosts, "packages", cfg.Packages)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		var wg sync.WaitGroup
		for _, h := range hosts {
			wg.Go(func() { h.run(ctx, cfg) })
		}
		wg.Wait()
	}()
	return stopped, nil
}

// run checks in on the interval (from a slot of its own) and carries out
// the tasks it gets.
func (h *host) run(ctx context.Context, cfg Config) {
	hash := fnv.New64a()
	fmt.Fprint(hash, h.facts.Hostname)
	rng := rand.New(rand.NewPCG(cfg.Seed, hash.Sum64()))
	slot := time.Duration(rng.Int64N(int64(cfg.Interval)))
	t := time.NewTimer(slot)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		h.mu.Lock()
		req := patchwave.CheckinRequest{FactsHash: h.facts.Hash(), PackagesHash: patchwave.HashPackages(h.pkgs)}
		h.mu.Unlock()
		resp, err := h.c.Checkin(ctx, req)
		if err != nil {
			if ctx.Err() == nil {
				cfg.Logger.Warn("simulated check-in failed", "host", h.facts.Hostname, "err", err)
			}
		} else {
			if resp.NeedFacts || resp.NeedPackages {
				h.mu.Lock()
				f, ps := h.facts, slices.Clone(h.pkgs)
				h.mu.Unlock()
				h.c.Checkin(ctx, patchwave.CheckinRequest{FactsHash: f.Hash(), PackagesHash: patchwave.HashPackages(ps), Facts: &f, Packages: &ps})
			}
			for _, task := range resp.Tasks {
				h.do(ctx, cfg, rng, task)
			}
		}
		t.Reset(cfg.Interval)
	}
}

// do carries out one task as a real agent reports it: running, then the
// result with the package changes, and an inventory update.
func (h *host) do(ctx context.Context, cfg Config, rng *rand.Rand, task patchwave.AgentTask) {
	now := time.Now().UTC()
	h.c.TaskResults(ctx, []patchwave.TaskResult{{TaskID: task.ID, Attempt: task.Attempt, State: patchwave.TaskRunning}})
	select {
	case <-ctx.Done():
		return
	case <-time.After(cfg.Work/2 + time.Duration(rng.Int64N(int64(cfg.Work)))):
	}
	d := &patchwave.TaskDetails{StartedAt: now, FinishedAt: time.Now().UTC(), Phase: "done"}
	res := patchwave.TaskResult{TaskID: task.ID, Attempt: task.Attempt, State: patchwave.TaskSucceeded, Details: d}
	switch {
	case task.Kind != patchwave.TaskInstall:
		res.Output = "simulated " + string(task.Kind)
	case rng.Float64() < cfg.FailRate && task.Attempt == 1:
		f := failures[rng.IntN(len(failures))]
		res.State, res.Error, res.Output = patchwave.TaskFailed, f.err, f.out
	default:
		h.mu.Lock()
		before := h.pkgs
		h.pkgs = slices.Clone(h.pkgs)
		for i, p := range h.pkgs {
			for _, tp := range task.Patches {
				if p.Name == tp.Name && (tp.Arch == "" || tp.Arch == p.Arch) {
					d.Packages = append(d.Packages, patchwave.PackageChange{Name: p.Name, Arch: p.Arch, Before: p.Version, After: tp.Version, Target: tp.Version})
					h.pkgs[i].Version = tp.Version
					res.Output += fmt.Sprintf("Setting up %s:%s (%s) ...\n", p.Name, p.Arch, tp.Version)
				}
			}
		}
		after := h.pkgs
		h.mu.Unlock()
		delta := patchwave.DiffPackages(before, after)
		h.c.Checkin(ctx, patchwave.CheckinRequest{FactsHash: h.facts.Hash(), PackagesHash: patchwave.HashPackages(after),
			BaseHash: patchwave.HashPackages(before), Delta: &delta})
	}
	if _, err := h.c.TaskResults(ctx, []patchwave.TaskResult{res}); err != nil && ctx.Err() == nil {
		cfg.Logger.Warn("simulated task result not sent", "host", h.facts.Hostname, "task", task.ID, "err", err)
	}
}
