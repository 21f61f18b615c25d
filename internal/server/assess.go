package server

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/assess"
	"github.com/patchwave/patchwave/internal/feed"
	"github.com/patchwave/patchwave/internal/store"
)

// assessor keeps the advisory index in memory and turns inventories into
// findings: all hosts when advisories or enrichment change, one host when
// its inventory changes. Hosts with identical OS and package set share one
// evaluation.
type assessor struct {
	s *Server

	mu    sync.RWMutex
	idx   *assess.Index
	ready bool

	pmu     sync.Mutex
	all     bool
	hosts   map[int64]bool
	wake    chan struct{}
	idle    chan struct{} // closed and replaced whenever the queue drains
	running bool
}

func newAssessor(s *Server) *assessor {
	return &assessor{s: s, idx: assess.NewIndex(), hosts: map[int64]bool{}, wake: make(chan struct{}, 1), idle: make(chan struct{})}
}

// load builds the index from the stored advisories.
func (a *assessor) load(ctx context.Context) error {
	idx := assess.NewIndex()
	start := time.Now()
	bad := 0
	err := a.s.store.EachAdvisory(ctx, func(id string, body []byte) error {
		var adv patchwave.Advisory
		if err := json.Unmarshal(body, &adv); err != nil {
			bad++
			return nil
		}
		idx.Add(adv)
		return nil
	})
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.idx, a.ready = idx, true
	a.mu.Unlock()
	a.s.log.Info("advisory index loaded", "records", idx.Len(), "unreadable", bad, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// advisoriesChanged adds or replaces records in the index and reassesses.
func (a *assessor) advisoriesChanged(ids []string) {
	ctx := context.Background()
	bodies, err := a.s.store.AdvisoriesByID(ctx, ids)
	if err != nil {
		a.s.log.Warn("reload advisories", "err", err)
	}
	a.mu.Lock()
	for _, id := range ids {
		body, ok := bodies[id]
		var adv patchwave.Advisory
		if !ok || json.Unmarshal(body, &adv) != nil || adv.Withdrawn != nil {
			a.idx.Remove(id)
			continue
		}
		a.idx.Add(adv)
	}
	a.mu.Unlock()
	a.requestAll()
}

// requestAll asks for every host to be reassessed.
func (a *assessor) requestAll() {
	a.pmu.Lock()
	a.all = true
	a.pmu.Unlock()
	a.poke()
}

// hostChanged asks for one host to be reassessed.
func (a *assessor) hostChanged(id int64) {
	a.pmu.Lock()
	a.hosts[id] = true
	a.pmu.Unlock()
	a.poke()
}

func (a *assessor) poke() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// wait returns when the queue is empty and nothing runs; for tests.
func (a *assessor) wait(ctx context.Context) error {
	for {
		a.pmu.Lock()
		busy := a.all || len(a.hosts) > 0 || a.running
		idle := a.idle
		a.pmu.Unlock()
		if !busy {
			return nil
		}
		select {
		case <-idle:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// run assesses what was asked for, coalescing requests, until ctx ends.
func (a *assessor) run(ctx context.Context) {
	if err := a.load(ctx); err != nil && ctx.Err() == nil {
		a.s.log.Error("load advisories", "err", err)
	}
	a.requestAll()
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.wake:
		}
		a.pmu.Lock()
		all, hosts := a.all, a.hosts
		a.all, a.hosts, a.running = false, map[int64]bool{}, true
		a.pmu.Unlock()
		if err := a.assess(ctx, all, hosts); err != nil && ctx.Err() == nil {
			a.s.log.Warn("assessment failed", "err", err)
		}
		a.pmu.Lock()
		a.running = false
		if !a.all && len(a.hosts) == 0 {
			close(a.idle)
			a.idle = make(chan struct{})
		}
		a.pmu.Unlock()
	}
}

// assess evaluates all hosts, or the given ones, and stores the findings.
func (a *assessor) assess(ctx context.Context, all bool, only map[int64]bool) error {
	start := time.Now()
	invs, err := a.s.store.Inventories(ctx)
	if err != nil {
		return err
	}
	if !all {
		kept := invs[:0]
		for _, h := range invs {
			if only[h.ID] {
				kept = append(kept, h)
			}
		}
		invs = kept
	}
	if len(invs) == 0 {
		return nil
	}
	kev, err := a.s.store.KEVs(ctx)
	if err != nil {
		return err
	}
	epss, err := a.s.store.EPSSScores(ctx)
	if err != nil {
		return err
	}
	stored, err := a.s.store.EOLs(ctx)
	if err != nil {
		return err
	}
	eolTable := eolRows(stored)

	a.mu.RLock()
	defer a.mu.RUnlock()
	type key struct{ ecos, hash string }
	cache := map[key][]patchwave.Finding{}
	sets := map[string][]patchwave.Package{}
	opened, closed := 0, 0
	for len(invs) > 0 {
		chunk := invs[:min(len(invs), 200)]
		invs = invs[len(chunk):]
		results := make(map[int64][]patchwave.Finding, len(chunk))
		eols := make(map[int64]*time.Time, len(chunk))
		for _, h := range chunk {
			if e, ok := feed.LookupEOL(eolTable, h.OS); ok {
				t := e.EOL
				eols[h.ID] = &t
			} else {
				eols[h.ID] = nil
			}
			if h.PackagesHash == "" {
				results[h.ID] = nil
				continue
			}
			ecos := assess.Ecosystems(h.OS, false)
			k := key{joinKey(ecos), h.PackagesHash}
			fs, ok := cache[k]
			if !ok {
				pkgs, ok := sets[h.PackagesHash]
				if !ok {
					if pkgs, err = a.s.store.PackageSet(ctx, h.PackagesHash); err != nil {
						return err
					}
					sets[h.PackagesHash] = pkgs
				}
				fs = a.idx.Match(ecos, pkgs)
				enrich(fs, kev, epss)
				cache[k] = fs
			}
			results[h.ID] = fs
		}
		err := a.s.store.Write(ctx, func(tx *store.Tx) error {
			for _, h := range chunk {
				o, c, err := tx.ApplyFindings(h.ID, results[h.ID])
				if err != nil {
					return err
				}
				opened, closed = opened+o, closed+c
			}
			return tx.SetOSEOL(eols)
		})
		if err != nil {
			return err
		}
	}
	a.s.log.Info("assessment done", "all", all, "distinct_evaluations", len(cache), "opened", opened, "closed", closed,
		"took", time.Since(start).Round(time.Millisecond))
	return nil
}

func joinKey(ss []string) string {
	n := 0
	for _, s := range ss {
		n += len(s) + 1
	}
	b := make([]byte, 0, n)
	for _, s := range ss {
		b = append(b, s...)
		b = append(b, 0)
	}
	return string(b)
}

// enrich adds KEV entries (the earliest due date among the CVEs) and the
// highest EPSS probability to findings.
func enrich(fs []patchwave.Finding, kev map[string]patchwave.KEV, epss map[string]float64) {
	for i := range fs {
		f := &fs[i]
		for _, c := range f.CVEs {
			if k, ok := kev[c]; ok && (f.KEV == nil || k.DueDate.Before(f.KEV.DueDate)) {
				k := k
				f.KEV = &k
			}
			f.EPSS = max(f.EPSS, epss[c])
		}
	}
}

// eolRows merges the built-in end-of-life table with stored rows, which win.
func eolRows(stored []patchwave.EOL) []feed.EOL {
	table := feed.BuiltinEOL()
	for _, r := range stored {
		row := feed.EOL{Product: r.Product, Cycle: r.Cycle, EOL: r.EOL, ExtendedEOL: r.ExtendedEOL, Source: r.Source}
		replaced := false
		for i := range table {
			if table[i].Product == r.Product && table[i].Cycle == r.Cycle {
				table[i], replaced = row, true
			}
		}
		if !replaced {
			table = append(table, row)
		}
	}
	return table
}
