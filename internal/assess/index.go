package assess

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/feed"
	"github.com/patchwave/patchwave/internal/version"
)

// Index holds advisories ready for matching, by (normalised ecosystem,
// package name). Its methods may be called from several goroutines; Add
// and Remove wait for running matches to finish.
type Index struct {
	mu    sync.RWMutex
	advs  map[string]*advisory
	byKey map[key][]*entry
	// modified is the modified time of every id added, indexed or not
	// (withdrawn), so that an older copy cannot bring a record back.
	modified map[string]time.Time
}

// key is what an installed package is looked up by.
type key struct {
	eco  string // normalised ecosystem
	name string
}

// advisory is the compiled form of one OSV record.
type advisory struct {
	id       string
	modified time.Time
	cves     []string
	severity patchwave.Severity // highest of the record's CVSS and vendor ratings
	cvss     float64
	streams  []string // module streams named in the summary ("nginx:1.26" → "1.26")
	entries  []*entry
	// published is when the record was first published (zero when unknown);
	// class is what its fix is: security, bugfix or enhancement.
	published time.Time
	class     string
}

// entry is one affected[] element of an advisory, or, for SUSE, one
// binary package listed in its ecosystem_specific.binaries.
type entry struct {
	adv      *advisory
	key      key
	scheme   version.Scheme
	ranges   []vrange
	versions []string
	severity patchwave.Severity // the entry's own vendor rating or CVSS
	cvss     float64
	// epochs says which of the entry's versions carry an epoch: bit 0 some
	// do not, bit 1 some do.
	epochs uint8
}

// vrange is one ECOSYSTEM range, its events sorted in version order.
type vrange struct {
	events  []event
	limits  []string // limit events; none means the implicit "*"
	variant variant  // build variant of the fixed versions (module stream, FIPS)
}

type eventKind uint8

const (
	introduced eventKind = iota
	fixed
	lastAffected
)

type event struct {
	kind eventKind
	v    string // "" for introduced "0"
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{advs: make(map[string]*advisory), byKey: make(map[key][]*entry), modified: make(map[string]time.Time)}
}

// Len returns the number of advisories in the index.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.advs)
}

// Add puts an advisory into the index, replacing the one with the same
// id unless that one was modified later. A withdrawn advisory removes the
// one it replaces and is not indexed (pitfall 5), and so are Ubuntu's
// livepatch notices (LSN-…): whether a livepatch is applied cannot be
// read from the installed packages. Only the affected entries in an
// ecosystem whose version order is known are indexed, each under its own
// ecosystem, so that records naming several distributions match each
// only where it applies (pitfall 13); GIT and SEMVER ranges are ignored,
// as distribution packages have neither.
func (ix *Index) Add(a patchwave.Advisory) {
	c := compile(a)
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if m, ok := ix.modified[a.ID]; ok && m.After(a.Modified) {
		return
	}
	ix.modified[a.ID] = a.Modified
	if old, ok := ix.advs[a.ID]; ok {
		ix.remove(old)
	}
	if c == nil {
		return
	}
	ix.advs[c.id] = c
	for _, e := range c.entries {
		ix.byKey[e.key] = append(ix.byKey[e.key], e)
	}
}

// Remove takes the advisory with this id out of the index, reporting
// whether it was there. Any later Add of the id is accepted.
func (ix *Index) Remove(id string) bool {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	delete(ix.modified, id)
	a, ok := ix.advs[id]
	if ok {
		ix.remove(a)
	}
	return ok
}

func (ix *Index) remove(a *advisory) {
	delete(ix.advs, a.id)
	for _, e := range a.entries {
		l := slices.DeleteFunc(ix.byKey[e.key], func(x *entry) bool { return x == e })
		if len(l) == 0 {
			delete(ix.byKey, e.key)
		} else {
			ix.byKey[e.key] = l
		}
	}
}

// keys returns the lookup keys of the advisory with this id, if indexed.
// The caller holds ix.mu.
func (ix *Index) keys(id string) []key {
	a, ok := ix.advs[id]
	if !ok {
		return nil
	}
	out := make([]key, 0, len(a.entries))
	for _, e := range a.entries {
		out = append(out, e.key)
	}
	return out
}

// compile turns an OSV record into its index form, nil when nothing of it
// is to be indexed.
func compile(a patchwave.Advisory) *advisory {
	if a.ID == "" || (a.Withdrawn != nil && !a.Withdrawn.IsZero()) || strings.HasPrefix(a.ID, "LSN-") {
		return nil
	}
	c := &advisory{id: a.ID, modified: a.Modified, cves: cves(a), streams: moduleStreams(a.Summary), class: classify(a)}
	if a.Published != nil {
		c.published = *a.Published
	}
	c.severity, c.cvss = recordSeverity(a)
	seenBinary := map[key]bool{}
	for i := range a.Affected {
		af := &a.Affected[i]
		if af.Package.Name == "" {
			continue
		}
		eco := NormalizeEcosystem(af.Package.Ecosystem)
		scheme, err := version.Lookup(eco)
		if err != nil || scheme == version.Semver {
			continue
		}
		e := &entry{adv: c, key: key{eco, af.Package.Name}, scheme: scheme, versions: af.Versions}
		e.severity, e.cvss = affectedSeverity(af)
		for _, r := range af.Ranges {
			if r.Type != "ECOSYSTEM" {
				continue
			}
			if vr, ok := compileRange(scheme, r.Events); ok {
				e.ranges = append(e.ranges, vr)
			}
		}
		if len(e.ranges) == 0 && len(e.versions) == 0 {
			continue
		}
		e.noteEpochs()
		c.entries = append(c.entries, e)
		if strings.HasPrefix(eco, "SUSE:") || strings.HasPrefix(eco, "openSUSE:") {
			for _, b := range suseBinaries(af.EcosystemSpecific) {
				k := key{eco, b.name}
				if b.name == af.Package.Name || seenBinary[k] {
					continue
				}
				seenBinary[k] = true
				be := &entry{adv: c, key: k, scheme: scheme, severity: e.severity, cvss: e.cvss,
					ranges: []vrange{{events: []event{{introduced, ""}, {fixed, b.version}}, variant: variantOf(b.version)}}}
				be.noteEpochs()
				c.entries = append(c.entries, be)
			}
		}
	}
	if len(c.entries) == 0 {
		return nil
	}
	return c
}

// compileRange sorts a range's events into version order ("0" first) and
// keeps its limits apart. A fixed version "0" — the Debian tracker's and
// Alpine secdb's way of saying "never affected" — makes the range empty
// (pitfall 4). Events with no version are dropped.
func compileRange(s version.Scheme, evs []patchwave.Event) (vrange, bool) {
	var r vrange
	for _, e := range evs {
		switch {
		case e.Introduced != "":
			v := e.Introduced
			if v == "0" {
				v = ""
			}
			r.events = append(r.events, event{introduced, v})
		case e.Fixed != "":
			if e.Fixed == "0" {
				return vrange{}, false
			}
			r.events = append(r.events, event{fixed, e.Fixed})
			if r.variant == 0 {
				r.variant = variantOf(e.Fixed)
			}
		case e.LastAffected != "":
			r.events = append(r.events, event{lastAffected, e.LastAffected})
			if r.variant == 0 {
				r.variant = variantOf(e.LastAffected)
			}
		case e.Limit != "":
			if !strings.Contains(e.Limit, "*") {
				r.limits = append(r.limits, e.Limit)
			} else {
				r.limits = append(r.limits, "*")
			}
		}
	}
	cmp := s.Compare
	slices.SortStableFunc(r.events, func(a, b event) int {
		switch {
		case a.kind == introduced && a.v == "":
			if b.kind == introduced && b.v == "" {
				return 0
			}
			return -1
		case b.kind == introduced && b.v == "":
			return 1
		}
		return cmp(a.v, b.v)
	})
	return r, len(r.events) > 0
}

// noteEpochs records which of the entry's versions carry an epoch.
func (e *entry) noteEpochs() {
	note := func(v string) {
		if v == "" {
			return
		}
		if _, ok := epochOf(v); ok {
			e.epochs |= 2
		} else {
			e.epochs |= 1
		}
	}
	for _, r := range e.ranges {
		for _, ev := range r.events {
			note(ev.v)
		}
		for _, l := range r.limits {
			if l != "*" {
				note(l)
			}
		}
	}
	for _, v := range e.versions {
		note(v)
	}
}

type suseBinary struct{ name, version string }

// suseBinaries reads SUSE's ecosystem_specific.binaries: a list of maps
// from binary package name to its fixed version.
func suseBinaries(raw json.RawMessage) []suseBinary {
	if len(raw) == 0 {
		return nil
	}
	var es struct {
		Binaries []map[string]string `json:"binaries"`
	}
	if json.Unmarshal(raw, &es) != nil {
		return nil
	}
	var out []suseBinary
	for _, m := range es.Binaries {
		for n, v := range m {
			if n != "" && v != "" {
				out = append(out, suseBinary{n, v})
			}
		}
	}
	slices.SortFunc(out, func(a, b suseBinary) int { return strings.Compare(a.name, b.name) })
	return out
}

// cves collects the CVE ids an advisory is about: its own id when it
// names one (UBUNTU-CVE-2024-6387 → CVE-2024-6387), and those in aliases,
// upstream and related (AlmaLinux lists the CVEs it fixes there).
func cves(a patchwave.Advisory) []string {
	var out []string
	add := func(s string) {
		if c := cveIn(s); c != "" && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	add(a.ID)
	for _, l := range [][]string{a.Aliases, a.Upstream, a.Related} {
		for _, s := range l {
			add(s)
		}
	}
	slices.Sort(out)
	return out
}

// cveIn returns the CVE id at the end of s ("CVE-2024-6387",
// "UBUNTU-CVE-2024-6387"), or "".
func cveIn(s string) string {
	i := strings.Index(s, "CVE-")
	if i < 0 || (i > 0 && s[i-1] != '-') {
		return ""
	}
	c := s[i:]
	y, n, ok := strings.Cut(c[4:], "-")
	if !ok || len(y) != 4 || !allDigits(y) || len(n) < 4 || !allDigits(n) {
		return ""
	}
	return c
}

// moduleStreams returns the module streams an advisory's summary names:
// "Important: nginx:1.26 security update" → ["1.26"].
func moduleStreams(summary string) []string {
	var out []string
	for _, f := range strings.Fields(summary) {
		f = strings.TrimRight(f, ",;")
		name, stream, ok := strings.Cut(f, ":")
		if !ok || name == "" || stream == "" || strings.Contains(stream, ":") {
			continue
		}
		if !slices.Contains(out, stream) {
			out = append(out, stream)
		}
	}
	return out
}

// vendorSeverity maps a distribution's rating to a severity: Ubuntu's
// priorities (negligible counts as low), Debian's urgencies
// (unimportant counts as none), Red Hat's impacts (Important is high,
// Moderate medium) and the usual words. Unknown words yield "".
func vendorSeverity(s string) patchwave.Severity {
	s = strings.ToLower(strings.TrimRight(strings.TrimSpace(s), "*"))
	switch s {
	case "critical":
		return patchwave.SeverityCritical
	case "high", "important":
		return patchwave.SeverityHigh
	case "medium", "moderate":
		return patchwave.SeverityMedium
	case "low", "negligible":
		return patchwave.SeverityLow
	case "unimportant", "none":
		return patchwave.SeverityNone
	}
	return ""
}

// maxSeverity returns the higher of two severities.
func maxSeverity(a, b patchwave.Severity) patchwave.Severity {
	if b.Rank() > a.Rank() || a == "" {
		return b
	}
	return a
}

// scoreSeverities folds OSV severity entries into the highest CVSS base
// score and the highest vendor rating.
func scoreSeverities(list []patchwave.AdvisorySeverity) (patchwave.Severity, float64) {
	var sev patchwave.Severity
	var score float64
	for _, s := range list {
		switch s.Type {
		case "CVSS_V2", "CVSS_V3", "CVSS_V4":
			if f, err := feed.CVSSScore(s.Score); err == nil {
				score = max(score, f)
			}
		default:
			sev = maxSeverity(sev, vendorSeverity(s.Score))
		}
	}
	return sev, score
}

// vendorFields reads the rating a distribution puts in a JSON object:
// severity (GHSA and others), priority (Ubuntu's tracker), ubuntu_priority
// (Ubuntu OSV), urgency (Debian).
func vendorFields(raw json.RawMessage) patchwave.Severity {
	if len(raw) == 0 || raw[0] != '{' {
		return ""
	}
	var m struct {
		Severity       any    `json:"severity"`
		Priority       string `json:"priority"`
		UbuntuPriority string `json:"ubuntu_priority"`
		Urgency        string `json:"urgency"`
	}
	if json.Unmarshal(raw, &m) != nil {
		return ""
	}
	sev := vendorSeverity(m.Priority)
	if s, ok := m.Severity.(string); ok {
		sev = maxSeverity(sev, vendorSeverity(s))
	}
	sev = maxSeverity(sev, vendorSeverity(m.UbuntuPriority))
	return maxSeverity(sev, vendorSeverity(m.Urgency))
}

// recordSeverity is the record-level rating: severity[] (CVSS vectors and
// vendor words), database_specific, and the impact word that Red Hat,
// AlmaLinux and Rocky put before their summaries ("Important: openssl
// security update").
func recordSeverity(a patchwave.Advisory) (patchwave.Severity, float64) {
	sev, score := scoreSeverities(a.Severity)
	sev = maxSeverity(sev, vendorFields(a.DatabaseSpecific))
	if w, _, ok := strings.Cut(a.Summary, ":"); ok && !strings.Contains(w, " ") {
		switch strings.ToLower(w) {
		case "critical", "important", "moderate", "low":
			sev = maxSeverity(sev, vendorSeverity(w))
		}
	}
	return sev, score
}

// affectedSeverity is the rating of one affected entry: its severity[],
// ecosystem_specific and database_specific.
func affectedSeverity(af *patchwave.Affected) (patchwave.Severity, float64) {
	sev, score := scoreSeverities(af.Severity)
	sev = maxSeverity(sev, vendorFields(af.EcosystemSpecific))
	return maxSeverity(sev, vendorFields(af.DatabaseSpecific)), score
}

// classify tells what an advisory's fix is from the vendor's naming:
// Red Hat, AlmaLinux, Rocky and Oracle name bug-fix advisories *BA and
// enhancements *EA; everything else here is a security advisory.
func classify(a patchwave.Advisory) string {
	id := strings.ToUpper(a.ID)
	for _, p := range []string{"RHBA", "ALBA", "RLBA", "ELBA"} {
		if strings.HasPrefix(id, p) {
			return patchwave.ClassBugfix
		}
	}
	for _, p := range []string{"RHEA", "ALEA", "RLEA", "ELEA"} {
		if strings.HasPrefix(id, p) {
			return patchwave.ClassEnhancement
		}
	}
	return patchwave.ClassSecurity
}
