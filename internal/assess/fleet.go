package assess

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/patchwave/patchwave"
)

// Fleet assesses many hosts against one Index, doing the work once per
// distinct thing: package sets are stored once per content hash (as the
// server stores them), and each distinct (ecosystems, package name,
// version) tuple is evaluated once for all the hosts that have it. It
// remembers the results, so that after a change to the index, Reassess
// re-evaluates only the tuples the changed advisories name and reports
// only the hosts that have them.
//
// A Fleet's methods may be called from several goroutines, one at a time
// (they hold a lock).
type Fleet struct {
	ix *Index
	mu sync.Mutex

	ecoSets   []ecoSet
	ecoSetIDs map[string]int32

	pkgs   []patchwave.Package
	pkgIDs map[patchwave.Package]int32
	sets   map[string][]int32 // package ids by package-set hash

	units      []unitKey
	unitIDs    map[unitKey]int32
	unitsByKey map[key][]int32
	verdicts   []*verdict
	evaluated  []bool
	unitOf     [][]int32 // per eco set, per package id: (unit+1)<<1 | third party; 0: none yet

	views   []*view
	viewIDs map[viewKey]int32

	hosts map[int64]*fleetHost
}

// ecoSet is the ecosystems of one kind of host.
type ecoSet struct {
	first string   // the first ecosystem as Ecosystems wrote it, for findings
	ecos  []string // normalised
	fam   family
}

// unitKey is one distinct evaluation: a probe in an ecosystem set.
type unitKey struct {
	eco int32
	pr  probe
}

type viewKey struct {
	eco  int32
	hash string
}

// view is a package set seen from one ecosystem set: its packages'
// evaluation units and the hosts that have it.
type view struct {
	eco     int32
	entries []viewEntry
	hits    []int32 // indexes of entries with a verdict, when fresh
	fresh   bool
	hosts   []*fleetHost
}

type viewEntry struct {
	pkg   int32
	unit  int32
	third bool
}

type fleetHost struct {
	id   int64
	name string
	view int32
	pos  int // index in the view's hosts
}

// NewFleet returns an empty fleet assessed against ix.
func NewFleet(ix *Index) *Fleet {
	return &Fleet{
		ix: ix, ecoSetIDs: map[string]int32{}, pkgIDs: map[patchwave.Package]int32{},
		sets: map[string][]int32{}, unitIDs: map[unitKey]int32{}, unitsByKey: map[key][]int32{},
		viewIDs: map[viewKey]int32{}, hosts: map[int64]*fleetHost{},
	}
}

// AddSet stores a package set under its hash (patchwave.HashPackages of
// the sorted list), unless one is stored under it already. Hosts refer to
// sets by hash with AddHostSet.
func (f *Fleet) AddSet(hash string, pkgs []patchwave.Package) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.addSet(hash, pkgs)
}

func (f *Fleet) addSet(hash string, pkgs []patchwave.Package) {
	if _, ok := f.sets[hash]; ok {
		return
	}
	ids := make([]int32, len(pkgs))
	for i, p := range pkgs {
		id, ok := f.pkgIDs[p]
		if !ok {
			id = int32(len(f.pkgs))
			f.pkgs = append(f.pkgs, p)
			f.pkgIDs[p] = id
		}
		ids[i] = id
	}
	f.sets[hash] = ids
}

// AddHost adds or replaces a host with its installed packages: the set is
// stored by its hash (see AddSet), shared with every host that has the
// same packages.
func (f *Fleet) AddHost(id int64, name string, os patchwave.OS, pro bool, pkgs []patchwave.Package) {
	sorted := patchwave.SortPackages(slices.Clone(pkgs))
	hash := patchwave.HashPackages(sorted)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.addSet(hash, sorted)
	f.addHost(id, name, os, pro, hash)
}

// AddHostSet adds or replaces a host whose packages are the set stored
// under hash by AddSet. It is an error if there is no such set.
func (f *Fleet) AddHostSet(id int64, name string, os patchwave.OS, pro bool, hash string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.sets[hash]; !ok {
		return fmt.Errorf("assess: host %d: no package set %.16s", id, hash)
	}
	f.addHost(id, name, os, pro, hash)
	return nil
}

// RemoveHost forgets a host, reporting whether it was there. Package sets
// stay.
func (f *Fleet) RemoveHost(id int64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	h, ok := f.hosts[id]
	if ok {
		f.detach(h)
		delete(f.hosts, id)
	}
	return ok
}

// Len returns the number of hosts.
func (f *Fleet) Len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.hosts)
}

// FleetStats counts what a fleet holds.
type FleetStats struct {
	Hosts    int // hosts
	Sets     int // distinct package sets
	Packages int // distinct installed packages
	Views    int // distinct (ecosystems, package set) pairs
	Tuples   int // distinct (ecosystems, name, version) evaluations
}

// Stats returns the fleet's counts.
func (f *Fleet) Stats() FleetStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return FleetStats{Hosts: len(f.hosts), Sets: len(f.sets), Packages: len(f.pkgs), Views: len(f.views), Tuples: len(f.units)}
}

func (f *Fleet) detach(h *fleetHost) {
	v := f.views[h.view]
	last := v.hosts[len(v.hosts)-1]
	v.hosts[h.pos], last.pos = last, h.pos
	v.hosts = v.hosts[:len(v.hosts)-1]
}

func (f *Fleet) addHost(id int64, name string, os patchwave.OS, pro bool, hash string) {
	if h, ok := f.hosts[id]; ok {
		f.detach(h)
	}
	vid := f.view(f.ecoSet(Ecosystems(os, pro)), hash)
	v := f.views[vid]
	h := &fleetHost{id: id, name: name, view: vid, pos: len(v.hosts)}
	v.hosts = append(v.hosts, h)
	f.hosts[id] = h
}

// ecoSet returns the id of the ecosystem set of ecos, -1 for none.
func (f *Fleet) ecoSet(ecos []string) int32 {
	n := normalizeList(ecos)
	if len(n) == 0 {
		return -1
	}
	k := fmt.Sprint(n)
	if id, ok := f.ecoSetIDs[k]; ok {
		return id
	}
	id := int32(len(f.ecoSets))
	f.ecoSets = append(f.ecoSets, ecoSet{first: ecos[0], ecos: n, fam: familyOf(n[0])})
	f.ecoSetIDs[k] = id
	return id
}

// view returns the id of the view of set hash from eco set eco, making
// it (and the units of its packages) when new.
func (f *Fleet) view(eco int32, hash string) int32 {
	k := viewKey{eco, hash}
	if id, ok := f.viewIDs[k]; ok {
		return id
	}
	id := int32(len(f.views))
	v := &view{eco: eco}
	f.views = append(f.views, v)
	f.viewIDs[k] = id
	if eco < 0 {
		v.fresh = true
		return id
	}
	es := f.ecoSets[eco]
	ids := f.sets[hash]
	pkgs := make([]patchwave.Package, len(ids))
	for i, p := range ids {
		pkgs[i] = f.pkgs[p]
	}
	sup := superseded(es.fam, pkgs)
	v.entries = make([]viewEntry, 0, len(ids))
	for i, p := range ids {
		if sup != nil && sup[i] {
			continue
		}
		for len(f.unitOf) <= int(eco) {
			f.unitOf = append(f.unitOf, nil)
		}
		if len(f.unitOf[eco]) < len(f.pkgs) {
			f.unitOf[eco] = slices.Grow(f.unitOf[eco], len(f.pkgs)-len(f.unitOf[eco]))[:len(f.pkgs)]
		}
		c := f.unitOf[eco][p]
		if c == 0 {
			c = (f.unit(eco, probeFor(es.fam, pkgs[i])) + 1) << 1
			if thirdParty(es.fam, strings.HasPrefix(es.ecos[0], "Debian:"), pkgs[i]) {
				c |= 1
			}
			f.unitOf[eco][p] = c
		}
		v.entries = append(v.entries, viewEntry{pkg: p, unit: c>>1 - 1, third: c&1 != 0})
	}
	return id
}

// unit returns the id of the evaluation of pr in eco set eco.
func (f *Fleet) unit(eco int32, pr probe) int32 {
	k := unitKey{eco, pr}
	if id, ok := f.unitIDs[k]; ok {
		return id
	}
	id := int32(len(f.units))
	f.units = append(f.units, k)
	f.verdicts = append(f.verdicts, nil)
	f.evaluated = append(f.evaluated, false)
	f.unitIDs[k] = id
	for _, e := range f.ecoSets[eco].ecos {
		for _, n := range pr.names {
			if n != "" {
				f.unitsByKey[key{e, n}] = append(f.unitsByKey[key{e, n}], id)
			}
		}
	}
	return id
}

// evaluateUnits evaluates the given units in parallel and returns their
// verdicts. The caller holds f.mu and f.ix.mu for reading.
func (f *Fleet) evaluateUnits(units []int32) []*verdict {
	out := make([]*verdict, len(units))
	workers := min(runtime.GOMAXPROCS(0), 1+len(units)/256)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(units); i += workers {
				k := f.units[units[i]]
				out[i] = f.ix.evaluate(f.ecoSets[k.eco].ecos, k.pr)
			}
		})
	}
	wg.Wait()
	return out
}

// refresh evaluates the units not yet evaluated and recomputes the
// stale views. The caller holds f.mu and f.ix.mu for reading.
func (f *Fleet) refresh() {
	var pending []int32
	for u, done := range f.evaluated {
		if !done {
			pending = append(pending, int32(u))
		}
	}
	if len(pending) > 0 {
		for i, v := range f.evaluateUnits(pending) {
			f.verdicts[pending[i]] = v
			f.evaluated[pending[i]] = true
		}
		// Units are made with the views that need them, so the views
		// holding pending units are the new ones, which are not fresh.
	}
	for _, v := range f.views {
		if !v.fresh {
			f.rehit(v)
		}
	}
}

// rehit recomputes which entries of a view have findings.
func (f *Fleet) rehit(v *view) {
	v.hits = v.hits[:0]
	for i, e := range v.entries {
		if f.verdicts[e.unit] != nil {
			v.hits = append(v.hits, int32(i))
		}
	}
	v.fresh = true
}

// findings appends the findings of host h (of view v) to buf.
func (f *Fleet) findings(buf []patchwave.Finding, v *view, h *fleetHost) []patchwave.Finding {
	first := f.ecoSets[v.eco].first
	for _, i := range v.hits {
		e := v.entries[i]
		n := len(buf)
		buf = appendFindings(buf, first, f.pkgs[e.pkg], f.verdicts[e.unit], e.third)
		for j := n; j < len(buf); j++ {
			buf[j].HostID, buf[j].Host = h.id, h.name
		}
	}
	return buf
}

// Each assesses every host and calls fn with its id and findings (see
// Index.Match), in no particular order; hosts without findings are
// skipped. The slice passed to fn is reused for the next host: copy what
// must outlive the call. An error from fn stops the walk and is returned.
func (f *Fleet) Each(fn func(hostID int64, findings []patchwave.Finding) error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ix.mu.RLock()
	defer f.ix.mu.RUnlock()
	f.refresh()
	var buf []patchwave.Finding
	for _, v := range f.views {
		if len(v.hits) == 0 {
			continue
		}
		for _, h := range v.hosts {
			buf = f.findings(buf[:0], v, h)
			if err := fn(h.id, buf); err != nil {
				return err
			}
		}
	}
	return nil
}

// Assess assesses every host and returns the findings of those that
// have any, by host id. For large fleets Each avoids holding every
// finding at once.
func (f *Fleet) Assess() map[int64][]patchwave.Finding {
	out := map[int64][]patchwave.Finding{}
	f.Each(func(id int64, fs []patchwave.Finding) error {
		out[id] = slices.Clone(fs)
		return nil
	})
	return out
}

// Reassess re-evaluates, after advisories were added to or removed from
// the index, only the tuples that those advisories name (under their
// current or previous content) and calls fn with the new findings of
// each host whose findings changed — with an empty slice when it has
// none left. It returns the number of hosts reported. The slice passed
// to fn is reused. Hosts added since the last Each or Reassess are
// assessed as usual but only reported if a named advisory changed them.
func (f *Fleet) Reassess(fn func(hostID int64, findings []patchwave.Finding) error, advisoryIDs ...string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ix.mu.RLock()
	defer f.ix.mu.RUnlock()
	f.refresh()
	ids := make(map[string]bool, len(advisoryIDs))
	for _, id := range advisoryIDs {
		ids[id] = true
	}
	seen := make(map[int32]bool)
	var cand []int32
	for _, id := range advisoryIDs {
		for _, k := range f.ix.keys(id) {
			for _, u := range f.unitsByKey[k] {
				if !seen[u] {
					seen[u] = true
					cand = append(cand, u)
				}
			}
		}
	}
	for u, v := range f.verdicts {
		if !seen[int32(u)] && v.mentions(ids) {
			seen[int32(u)] = true
			cand = append(cand, int32(u))
		}
	}
	changed := make(map[int32]bool)
	for i, v := range f.evaluateUnits(cand) {
		u := cand[i]
		if !v.equal(f.verdicts[u]) {
			f.verdicts[u] = v
			changed[u] = true
		}
	}
	if len(changed) == 0 {
		return 0, nil
	}
	n := 0
	var buf []patchwave.Finding
	for _, v := range f.views {
		hit := false
		for _, e := range v.entries {
			if changed[e.unit] {
				hit = true
				break
			}
		}
		if !hit {
			continue
		}
		f.rehit(v)
		for _, h := range v.hosts {
			buf = f.findings(buf[:0], v, h)
			n++
			if err := fn(h.id, buf); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}
