package server

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/assess"
	"github.com/patchwave/patchwave/internal/feed"
	"github.com/patchwave/patchwave/internal/store"
)

// assessor keeps the advisory index and the fleet's package sets in
// memory and turns them into stored findings: every host at start and when
// enrichment (KEV, EPSS, end of life) changes, only the hosts an advisory
// touches when advisories change, and one host when its inventory changes.
// It runs in one goroutine, so findings are written by one writer.
type assessor struct {
	s *Server

	idx   *assess.Index // safe for concurrent use
	fleet *assess.Fleet

	pmu        sync.Mutex
	all        bool
	hosts      map[int64]bool
	advisories map[string]bool
	wake       chan struct{}
	idle       chan struct{} // closed and replaced whenever the queue drains
	running    bool

	// For metrics: the last round's duration and end, failed rounds.
	lastRun, lastRunAt, failures atomic.Int64
}

func newAssessor(s *Server) *assessor {
	idx := assess.NewIndex()
	return &assessor{s: s, idx: idx, fleet: assess.NewFleet(idx), hosts: map[int64]bool{}, advisories: map[string]bool{},
		wake: make(chan struct{}, 1), idle: make(chan struct{}), running: true}
}

// load builds the index from the stored advisories and the fleet from the
// stored inventories.
func (a *assessor) load(ctx context.Context) error {
	start := time.Now()
	bad := 0
	err := a.s.store.EachAdvisory(ctx, func(id string, body []byte) error {
		var adv patchwave.Advisory
		if err := json.Unmarshal(body, &adv); err != nil {
			bad++
			return nil
		}
		a.idx.Add(adv)
		return nil
	})
	if err != nil {
		return err
	}
	invs, err := a.s.store.Inventories(ctx)
	if err != nil {
		return err
	}
	for _, h := range invs {
		if err := a.addHost(ctx, h); err != nil {
			return err
		}
	}
	st := a.fleet.Stats()
	a.s.log.Info("assessment state loaded", "advisories", a.idx.Len(), "unreadable", bad, "hosts", st.Hosts, "package_sets", st.Sets,
		"took", time.Since(start).Round(time.Millisecond))
	return nil
}

// addHost puts a host's current inventory into the fleet.
func (a *assessor) addHost(ctx context.Context, h store.HostInventory) error {
	if h.PackagesHash == "" {
		a.fleet.RemoveHost(h.ID)
		return nil
	}
	if err := a.fleet.AddHostSet(h.ID, h.Hostname, h.OS, h.Pro, h.PackagesHash); err == nil {
		return nil
	}
	pkgs, err := a.s.store.PackageSet(ctx, h.PackagesHash)
	if err != nil {
		return err
	}
	a.fleet.AddSet(h.PackagesHash, pkgs)
	return a.fleet.AddHostSet(h.ID, h.Hostname, h.OS, h.Pro, h.PackagesHash)
}

// advisoriesChanged updates the index with stored records and queues the
// reassessment of the hosts they touch.
func (a *assessor) advisoriesChanged(ids []string) {
	bodies, err := a.s.store.AdvisoriesByID(context.Background(), ids)
	if err != nil {
		a.s.log.Warn("reload advisories", "err", err)
	}
	for _, id := range ids {
		body, ok := bodies[id]
		var adv patchwave.Advisory
		if !ok || json.Unmarshal(body, &adv) != nil {
			a.idx.Remove(id)
			continue
		}
		a.idx.Add(adv) // a withdrawn record replaces the live one and matches nothing
	}
	a.pmu.Lock()
	for _, id := range ids {
		a.advisories[id] = true
	}
	a.pmu.Unlock()
	a.poke()
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
		busy := a.all || len(a.hosts) > 0 || len(a.advisories) > 0 || a.running
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
		a.s.log.Error("load assessment state", "err", err)
	}
	a.pmu.Lock()
	a.all = true
	a.pmu.Unlock()
	for {
		a.pmu.Lock()
		all, hosts, advs := a.all, a.hosts, a.advisories
		a.all, a.hosts, a.advisories, a.running = false, map[int64]bool{}, map[string]bool{}, true
		a.pmu.Unlock()
		var err error
		start := time.Now()
		switch {
		case all:
			err = a.assessAll(ctx)
		case len(advs) > 0 || len(hosts) > 0:
			err = a.assessSome(ctx, advs, hosts)
		}
		if all || len(advs) > 0 || len(hosts) > 0 {
			a.lastRun.Store(time.Since(start).Nanoseconds())
			a.lastRunAt.Store(time.Now().UnixNano())
		}
		if err != nil && ctx.Err() == nil {
			a.s.log.Warn("assessment failed", "err", err)
			a.failures.Add(1)
		}
		a.pmu.Lock()
		a.running = false
		pending := a.all || len(a.hosts) > 0 || len(a.advisories) > 0
		if !pending {
			close(a.idle)
			a.idle = make(chan struct{})
		}
		a.pmu.Unlock()
		if pending {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-a.wake:
		}
	}
}

// enrichment is what findings are decorated with.
type enrichment struct {
	kev  map[string]patchwave.KEV
	epss map[string]float64
	eol  []feed.EOL
}

func (a *assessor) enrichment(ctx context.Context) (enrichment, error) {
	var e enrichment
	var err error
	if e.kev, err = a.s.store.KEVs(ctx); err != nil {
		return e, err
	}
	if e.epss, err = a.s.store.EPSSScores(ctx); err != nil {
		return e, err
	}
	stored, err := a.s.store.EOLs(ctx)
	e.eol = eolRows(stored)
	return e, err
}

// writer applies findings in batches of hosts, one transaction each.
type writer struct {
	a              *assessor
	ctx            context.Context
	en             enrichment
	pol            *policy
	os             map[int64]patchwave.OS
	batch          map[int64][]patchwave.Finding
	gone           []int64 // hosts the fleet holds that were deleted
	opened, closed int
}

func (w *writer) add(hostID int64, fs []patchwave.Finding) error {
	if _, ok := w.os[hostID]; !ok {
		w.gone = append(w.gone, hostID)
		return nil
	}
	fs = slices.Clone(fs)
	enrich(fs, w.en.kev, w.en.epss)
	w.batch[hostID] = fs
	if len(w.batch) >= 200 {
		return w.flush()
	}
	return nil
}

func (w *writer) flush() error {
	if len(w.batch) == 0 {
		return nil
	}
	eols := make(map[int64]*time.Time, len(w.batch))
	for id := range w.batch {
		eols[id] = nil
		if e, ok := feed.LookupEOL(w.en.eol, w.os[id]); ok {
			t := e.EOL
			eols[id] = &t
		}
	}
	states := make(map[int64]string, len(w.batch))
	err := w.a.s.store.Write(w.ctx, func(tx *store.Tx) error {
		for id, fs := range w.batch {
			h := w.pol.hosts[id]
			fs = append(fs, w.pol.serviceFindings(h)...)
			var policies []patchwave.FindingPolicy
			o, c, err := tx.ApplyFindings(id, fs, w.pol.decorate(h, &policies))
			if err != nil {
				return err
			}
			w.opened, w.closed = w.opened+o, w.closed+c
			var assessed *time.Time
			if h.PackageCount > 0 || len(fs) > 0 {
				assessed = &w.pol.now
			}
			states[id] = string(patchwave.HostCompliance(policies, assessed, w.pol.now, w.pol.maxAge))
		}
		if err := tx.SetHostCompliance(states, w.pol.now); err != nil {
			return err
		}
		return tx.SetOSEOL(eols)
	})
	clear(w.batch)
	return err
}

// forget drops deleted hosts from the fleet; call it outside fleet walks.
func (w *writer) forget() {
	for _, id := range w.gone {
		w.a.fleet.RemoveHost(id)
	}
	w.gone = w.gone[:0]
}

func (a *assessor) newWriter(ctx context.Context) (*writer, []store.HostInventory, error) {
	en, err := a.enrichment(ctx)
	if err != nil {
		return nil, nil, err
	}
	invs, err := a.s.store.Inventories(ctx)
	if err != nil {
		return nil, nil, err
	}
	pol, err := a.loadPolicy(ctx)
	if err != nil {
		return nil, nil, err
	}
	w := &writer{a: a, ctx: ctx, en: en, pol: pol, os: make(map[int64]patchwave.OS, len(invs)), batch: map[int64][]patchwave.Finding{}}
	for _, h := range invs {
		w.os[h.ID] = h.OS
	}
	return w, invs, nil
}

// assessAll assesses every host and stores the findings.
func (a *assessor) assessAll(ctx context.Context) error {
	start := time.Now()
	w, invs, err := a.newWriter(ctx)
	if err != nil {
		return err
	}
	for _, h := range invs { // catch up with inventories changed meanwhile
		if err := a.addHost(ctx, h); err != nil {
			return err
		}
	}
	seen := make(map[int64]bool, len(invs))
	err = a.fleet.Each(func(id int64, fs []patchwave.Finding) error {
		seen[id] = true
		return w.add(id, fs)
	})
	if err != nil {
		return err
	}
	for _, h := range invs { // hosts with no findings (any more)
		if !seen[h.ID] {
			if err := w.add(h.ID, nil); err != nil {
				return err
			}
		}
	}
	if err := w.flush(); err != nil {
		return err
	}
	w.forget()
	a.s.log.Info("assessment done", "hosts", len(invs), "opened", w.opened, "closed", w.closed, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// assessSome reassesses the hosts the advisories touch and the given hosts.
func (a *assessor) assessSome(ctx context.Context, advs map[string]bool, hosts map[int64]bool) error {
	start := time.Now()
	w, invs, err := a.newWriter(ctx)
	if err != nil {
		return err
	}
	for _, h := range invs {
		if !hosts[h.ID] {
			continue
		}
		if err := a.addHost(ctx, h); err != nil {
			return err
		}
		var fs []patchwave.Finding
		if h.PackagesHash != "" {
			pkgs, err := a.s.store.PackageSet(ctx, h.PackagesHash)
			if err != nil {
				return err
			}
			fs = a.idx.Match(assess.Ecosystems(h.OS, h.Pro), pkgs)
			for i := range fs {
				fs[i].HostID, fs[i].Host = h.ID, h.Hostname
			}
		}
		if err := w.add(h.ID, fs); err != nil {
			return err
		}
	}
	if len(advs) > 0 {
		ids := make([]string, 0, len(advs))
		for id := range advs {
			ids = append(ids, id)
		}
		if _, err := a.fleet.Reassess(w.add, ids...); err != nil {
			return err
		}
	}
	if err := w.flush(); err != nil {
		return err
	}
	w.forget()
	a.s.log.Info("reassessment done", "advisories", len(advs), "hosts", len(hosts), "opened", w.opened, "closed", w.closed,
		"took", time.Since(start).Round(time.Millisecond))
	return nil
}

// enrich adds KEV entries (the earliest due date among the CVEs) and the
// highest EPSS probability to findings.
func enrich(fs []patchwave.Finding, kev map[string]patchwave.KEV, epss map[string]float64) {
	for i := range fs {
		f := &fs[i]
		f.KEV, f.EPSS = nil, 0
		for _, c := range f.CVEs {
			if k, ok := kev[c]; ok && (f.KEV == nil || k.DueDate.Before(f.KEV.DueDate)) {
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
