package assess

import (
	"slices"
	"strings"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/feed"
	"github.com/patchwave/patchwave/internal/version"
)

// family is how a distribution's advisories name and version packages.
type family uint8

const (
	famNone   family = iota
	famDeb           // Debian, Ubuntu: source name and source version
	famAPK           // Alpine: origin (source) name, package version
	famRPM           // AlmaLinux, Rocky Linux: binary name and version
	famRedHat        // Red Hat: binary name (or source name) and binary version
	famSUSE          // SUSE, openSUSE: source name (or a listed binary) and binary version
)

// familyOf returns the family of a normalised ecosystem.
func familyOf(eco string) family {
	name, _, _ := strings.Cut(eco, ":")
	switch name {
	case "Debian", "Ubuntu":
		return famDeb
	case "Alpine":
		return famAPK
	case "AlmaLinux", "Rocky Linux":
		return famRPM
	case "Red Hat":
		return famRedHat
	case "SUSE", "openSUSE":
		return famSUSE
	}
	return famNone
}

// probe is what one installed package is looked up and compared by.
type probe struct {
	names   [2]string // lookup names; the second may be empty
	version string
}

// probeFor returns the lookup names and version of p in family f
// (pitfalls 1 and 2): Debian, Ubuntu and Alpine advisories name the
// source package and its version, so binNMUs ("+b1") and epochs that only
// a binary has do not count; dpkg leaves Source and SourceVersion empty
// when they equal the binary's. AlmaLinux and Rocky name binary rpms;
// Red Hat binary or source rpms; SUSE source rpms, and the binaries in
// ecosystem_specific. The purl is never used (pitfall 11).
func probeFor(f family, p patchwave.Package) probe {
	switch f {
	case famDeb, famAPK:
		pr := probe{names: [2]string{cmpOr(p.Source, p.Name)}, version: cmpOr(p.SourceVersion, p.Version)}
		// A signed Ubuntu kernel image (source linux-signed-hwe-6.8) is
		// the kernel of source linux-hwe-6.8, at the same version; the
		// advisories name the latter (pitfall 14).
		if rest, ok := strings.CutPrefix(pr.names[0], "linux-signed"); ok && f == famDeb {
			pr.names[1] = "linux" + rest
		}
		return pr
	case famRedHat:
		pr := probe{names: [2]string{p.Name}, version: p.Version}
		if p.Source != "" && p.Source != p.Name {
			pr.names[1] = p.Source
		}
		return pr
	case famSUSE:
		pr := probe{names: [2]string{cmpOr(p.Source, p.Name)}, version: p.Version}
		if p.Name != pr.names[0] {
			pr.names[1] = p.Name
		}
		return pr
	}
	return probe{names: [2]string{p.Name}, version: p.Version}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// part is the merged word of the advisories that agree on whether a
// fix exists: the highest fixed version, their ids, CVEs and severity.
type part struct {
	fixed     string
	ids       []string
	cves      []string
	severity  patchwave.Severity
	cvss      float64
	published *time.Time // the earliest publication among the advisories
	class     string     // security when any advisory is one, else bugfix, else enhancement
}

// verdict is what the index says about one installed version: the
// advisories that a fixed version resolves (missing) and those that have
// no fix yet (noFix). nil means not affected.
type verdict struct {
	missing, noFix *part
}

func (p *part) equal(q *part) bool {
	if p == nil || q == nil {
		return p == q
	}
	samePub := (p.published == nil) == (q.published == nil) && (p.published == nil || p.published.Equal(*q.published))
	return p.fixed == q.fixed && p.severity == q.severity && p.cvss == q.cvss && p.class == q.class && samePub &&
		slices.Equal(p.ids, q.ids) && slices.Equal(p.cves, q.cves)
}

func (v *verdict) equal(w *verdict) bool {
	if v == nil || w == nil {
		return v == w
	}
	return v.missing.equal(w.missing) && v.noFix.equal(w.noFix)
}

// mentions reports whether the verdict lists the advisory id.
func (v *verdict) mentions(ids map[string]bool) bool {
	if v == nil {
		return false
	}
	for _, p := range []*part{v.missing, v.noFix} {
		if p == nil {
			continue
		}
		for _, id := range p.ids {
			if ids[id] {
				return true
			}
		}
	}
	return false
}

// hit is one advisory affecting the probed version.
type hit struct {
	adv      *advisory
	fixed    string
	scheme   version.Scheme
	severity patchwave.Severity
	cvss     float64
}

// evaluate runs the probe against the advisories of the ecosystems ecos
// (normalised). The caller holds ix.mu for reading.
func (ix *Index) evaluate(ecos []string, pr probe) *verdict {
	var buf [8]hit
	hits := ix.hits(ecos, pr, buf[:0])
	if len(hits) == 0 {
		return nil
	}
	v := &verdict{}
	for _, h := range hits {
		p := &v.noFix
		if h.fixed != "" {
			p = &v.missing
		}
		if *p == nil {
			*p = &part{}
		}
		q := *p
		if h.fixed != "" && (q.fixed == "" || h.scheme.Compare(h.fixed, q.fixed) > 0) {
			q.fixed = h.fixed
		}
		q.ids = append(q.ids, h.adv.id)
		for _, c := range h.adv.cves {
			if !slices.Contains(q.cves, c) {
				q.cves = append(q.cves, c)
			}
		}
		q.severity = maxSeverity(q.severity, h.severity)
		q.cvss = max(q.cvss, h.cvss)
		if p := h.adv.published; !p.IsZero() && (q.published == nil || p.Before(*q.published)) {
			q.published = &p
		}
		if classRank(h.adv.class) > classRank(q.class) {
			q.class = h.adv.class
		}
	}
	for _, q := range []*part{v.missing, v.noFix} {
		if q != nil {
			slices.Sort(q.ids)
			slices.Sort(q.cves)
			q.severity = finalSeverity(q.severity, q.cvss)
		}
	}
	return v
}

// finalSeverity is the severity said, raised to what the CVSS score
// says, or unknown when nothing says anything.
func finalSeverity(s patchwave.Severity, cvss float64) patchwave.Severity {
	if s == "" {
		s = patchwave.SeverityUnknown
	}
	if cvss > 0 {
		s = maxSeverity(s, feed.SeverityFromCVSS(cvss))
	}
	return s
}

// Hit is one advisory that affects an installed package.
type Hit struct {
	Advisory string
	Fixed    string   // the version that fixes it; "" when it has no fix
	CVEs     []string // sorted; shared with the index: do not modify
	Severity patchwave.Severity
	CVSS     float64
}

// Explain returns the advisories, one Hit each in id order, that affect
// the installed package p on a host whose ecosystems are eco: what Match
// merges into p's findings. It does not know which packages Match leaves
// out as superseded (older kernels).
func (ix *Index) Explain(eco []string, p patchwave.Package) []Hit {
	ecos := normalizeList(eco)
	if len(ecos) == 0 {
		return nil
	}
	pr := probeFor(familyOf(ecos[0]), p)
	ix.mu.RLock()
	var buf [8]hit
	hits := ix.hits(ecos, pr, buf[:0])
	ix.mu.RUnlock()
	out := make([]Hit, len(hits))
	for i, h := range hits {
		out[i] = Hit{Advisory: h.adv.id, Fixed: h.fixed, CVEs: h.adv.cves, Severity: finalSeverity(h.severity, h.cvss), CVSS: h.cvss}
	}
	slices.SortFunc(out, func(a, b Hit) int { return strings.Compare(a.Advisory, b.Advisory) })
	return out
}

// hits appends to hits the advisories affecting the probed version, one
// each. The caller holds ix.mu for reading.
func (ix *Index) hits(ecos []string, pr probe, hits []hit) []hit {
	vEpoch := hasEpoch(pr.version)
	vVar := variantOf(pr.version)
	for _, eco := range ecos {
		for _, name := range pr.names {
			if name == "" {
				continue
			}
			for _, e := range ix.byKey[key{eco, name}] {
				ok, fix := e.affects(pr.version, vEpoch, vVar)
				if !ok {
					continue
				}
				i := slices.IndexFunc(hits, func(h hit) bool { return h.adv == e.adv })
				if i < 0 {
					hits = append(hits, hit{adv: e.adv, fixed: fix, scheme: e.scheme,
						severity: maxSeverity(e.adv.severity, e.severity), cvss: max(e.adv.cvss, e.cvss)})
					continue
				}
				h := &hits[i]
				if fix != "" && (h.fixed == "" || e.scheme.Compare(fix, h.fixed) > 0) {
					h.fixed = fix
				}
				h.severity = maxSeverity(h.severity, e.severity)
				h.cvss = max(h.cvss, e.cvss)
			}
		}
	}
	return hits
}

// affects reports whether version v lies in the entry's ranges or
// versions (the OSV evaluation), and the fixed version that ends the
// range it lies in ("" when none does: no fix).
//
// When exactly one of v and the entry's versions carries an epoch, the
// entry is evaluated twice, once with a missing epoch read as 0 (what rpm
// and dpkg do) and once with it read as the other side's epoch, and v is
// affected only if both say so: a missing epoch never makes a finding
// (pitfall 3), whichever side lacks it.
func (e *entry) affects(v string, vEpoch bool, vVar variant) (bool, string) {
	ok, fix := e.eval(v, vVar, false)
	if !ok {
		return false, ""
	}
	if (vEpoch && e.epochs&1 != 0) || (!vEpoch && e.epochs&2 != 0) {
		if ok2, _ := e.eval(v, vVar, true); !ok2 {
			return false, ""
		}
	}
	return true, fix
}

// eval is one OSV evaluation of v against the entry. With same, a
// missing epoch on one side of a comparison is read as the other side's.
func (e *entry) eval(v string, vVar variant, same bool) (bool, string) {
	s := e.scheme
	affected, fix := false, ""
	for i := range e.ranges {
		r := &e.ranges[i]
		if !r.applies(v, vVar, e.adv.streams) {
			continue
		}
		if ok, f := r.eval(s, v, same); ok {
			if !affected || (f != "" && (fix == "" || s.Compare(f, fix) > 0)) {
				fix = f
			}
			affected = true
		}
	}
	if !affected {
		for _, x := range e.versions {
			if compareMode(s, v, x, same) == 0 {
				affected = true
				// The fix is the lowest fixed version above v in the ranges.
				for i := range e.ranges {
					for _, ev := range e.ranges[i].events {
						if ev.kind == fixed && compareMode(s, v, ev.v, same) < 0 && (fix == "" || s.Compare(ev.v, fix) < 0) {
							fix = ev.v
						}
					}
				}
				break
			}
		}
	}
	return affected, fix
}

// eval is the OSV specification's IncludedInRanges for one range, with
// the fixed version of the interval v lies in.
func (r *vrange) eval(s version.Scheme, v string, same bool) (bool, string) {
	if len(r.limits) > 0 {
		before := false
		for _, l := range r.limits {
			if l == "*" || compareMode(s, v, l, same) < 0 {
				before = true
				break
			}
		}
		if !before {
			return false, ""
		}
	}
	vulnerable, fix := false, ""
	for _, ev := range r.events {
		switch ev.kind {
		case introduced:
			if ev.v == "" || compareMode(s, v, ev.v, same) >= 0 {
				vulnerable, fix = true, ""
			}
		case fixed:
			if compareMode(s, v, ev.v, same) >= 0 {
				vulnerable = false
			} else if vulnerable && fix == "" {
				fix = ev.v
			}
		case lastAffected:
			if compareMode(s, v, ev.v, same) > 0 {
				vulnerable = false
			}
		}
	}
	return vulnerable, fix
}

// variant is a build line that only its own fixes apply to.
type variant uint8

const (
	varPlain  variant = iota
	varModule         // an RPM module stream build: ".module_el9…", ".module+el9…"
	varFIPS           // an Ubuntu FIPS build: "…ubuntu2.fips.2.1"
)

// variantOf returns the build variant of a version.
func variantOf(v string) variant {
	switch {
	case strings.Contains(v, ".module_el") || strings.Contains(v, ".module+el"):
		return varModule
	case strings.Contains(strings.ToLower(v), "fips"):
		return varFIPS
	}
	return varPlain
}

// applies reports whether a range can be compared with v at all
// (pitfall 8): a range whose fixed versions are module-stream builds
// applies only to installed module builds, and one with plain fixed
// versions only to plain builds (the same for FIPS builds). When both are
// module builds, the streams must agree: if the advisory names a stream
// that prefixes the fixed version ("nginx:1.26" and 1.26.3), v must have
// the same prefix; otherwise the major versions must agree. Ranges
// without a fixed or last_affected version (no fix yet) apply to every
// build.
func (r *vrange) applies(v string, vVar variant, streams []string) bool {
	var fix string
	for _, ev := range r.events {
		if ev.kind != introduced {
			fix = ev.v
			break
		}
	}
	if fix == "" {
		return true
	}
	if r.variant != vVar {
		return false
	}
	if vVar != varModule {
		return true
	}
	iu, fu := upstream(v), upstream(fix)
	for _, s := range streams {
		if hasVersionPrefix(fu, s) {
			return hasVersionPrefix(iu, s)
		}
	}
	return major(iu) == major(fu)
}

// upstream returns the version of an [epoch:]version-release string.
func upstream(v string) string {
	if rest, ok := epochOf(v); ok {
		v = rest
	}
	if i := strings.LastIndexByte(v, '-'); i > 0 {
		v = v[:i]
	}
	return v
}

// hasVersionPrefix reports whether version v is prefix p or starts with
// p followed by a separator: "1.26.3" has prefix "1.26", "1.260" has not.
func hasVersionPrefix(v, p string) bool {
	if !strings.HasPrefix(v, p) {
		return false
	}
	return len(v) == len(p) || strings.IndexByte(".-_+~", v[len(p)]) >= 0
}

// epochOf splits off a leading "N:" epoch, reporting whether there was
// one.
func epochOf(v string) (rest string, ok bool) {
	i := strings.IndexByte(v, ':')
	if i <= 0 || !allDigits(v[:i]) {
		return v, false
	}
	return v[i+1:], true
}

func hasEpoch(v string) bool {
	_, ok := epochOf(v)
	return ok
}

// compareMode compares a and b by scheme s; with same, an epoch that
// only one of them has is ignored.
func compareMode(s version.Scheme, a, b string, same bool) int {
	if same {
		ra, oka := epochOf(a)
		rb, okb := epochOf(b)
		if oka != okb {
			a, b = ra, rb
		}
	}
	return s.Compare(a, b)
}

// superseded marks the packages that a newer installed build of the same
// kernel replaces (pitfall 14): Debian and Ubuntu keep old kernels as
// packages named by their ABI (linux-image-6.8.0-40-generic next to
// linux-image-6.8.0-51-generic), rpm distributions install kernels side
// by side under one name. Only the newest of each counts: the older ones
// are not what the host runs after a reboot, and a fix is not missing
// because an old kernel stays installed. The running kernel is not
// known here.
func superseded(f family, pkgs []patchwave.Package) []bool {
	type best struct {
		i int
		v string
	}
	var out []bool
	var newest map[string]best
	mark := func(group, v string, s func(a, b string) int, i int) {
		if newest == nil {
			newest = map[string]best{}
		}
		b, ok := newest[group]
		if !ok {
			newest[group] = best{i, v}
			return
		}
		if out == nil {
			out = make([]bool, len(pkgs))
		}
		if s(v, b.v) > 0 {
			out[b.i] = true
			newest[group] = best{i, v}
		} else {
			out[i] = true
		}
	}
	switch f {
	case famDeb:
		for i, p := range pkgs {
			if g, ok := kernelFlavour(p.Name); ok {
				mark(g+"\x00"+p.Arch, cmpOr(p.SourceVersion, p.Version), version.CompareDpkg, i)
			}
		}
	case famRPM, famRedHat, famSUSE:
		sorted := slices.IsSortedFunc(pkgs, func(a, b patchwave.Package) int { return strings.Compare(a.Name, b.Name) })
		for i, p := range pkgs {
			// Sorted lists have their duplicates side by side.
			if sorted && (i == 0 || pkgs[i-1].Name != p.Name) && (i+1 == len(pkgs) || pkgs[i+1].Name != p.Name) {
				continue
			}
			mark(p.Name+"\x00"+p.Arch, p.Version, version.CompareRPM, i)
		}
	}
	return out
}

// kernelFlavour returns the name of a Debian/Ubuntu kernel package
// without its ABI ("linux-image-6.8.0-51-generic" → "linux-image--generic").
func kernelFlavour(name string) (string, bool) {
	if !strings.HasPrefix(name, "linux-") {
		return "", false
	}
	// Find "-N.N.N-N" or "-N.N.N" (Debian: linux-image-6.1.0-28-amd64).
	for i := 5; i < len(name)-1; i++ {
		if name[i] != '-' || name[i+1] < '0' || name[i+1] > '9' {
			continue
		}
		j := i + 1
		dots := 0
		for j < len(name) && (name[j] >= '0' && name[j] <= '9' || name[j] == '.') {
			if name[j] == '.' {
				dots++
			}
			j++
		}
		if dots < 2 {
			continue
		}
		if j < len(name) && name[j] == '-' && j+1 < len(name) && name[j+1] >= '0' && name[j+1] <= '9' {
			j++
			// Debian backports add ".debNN.N": linux-image-5.10.0-0.deb10.16-amd64.
			for j < len(name) && name[j] != '-' {
				j++
			}
		}
		return name[:i] + "-" + name[j:], true
	}
	return "", false
}

// ThirdParty reports whether an installed package looks built by someone
// other than the distribution whose advisories apply to it (pitfall 10),
// by a deliberately small and conservative rule on its version:
//
//   - Debian and Ubuntu: a (source) version with a Launchpad PPA marker
//     ("ppa" not preceded by a letter: "1.2-1ppa1", "~ppa2"), or from
//     deb.sury.org ("sury") or apt.postgresql.org ("pgdg"); on Debian also
//     an Ubuntu build ("ubuntu").
//   - AlmaLinux, Rocky Linux, Red Hat: a release without an Enterprise
//     Linux dist tag ("el" and a digit), or one from Remi, nginx.org,
//     PostgreSQL, IUS or Fedora (".remi", ".ngx", "pgdg", ".ius", ".fc"
//     and a digit).
//   - Alpine and SUSE: never.
//
// Such packages are still compared with the distribution's fixes, as
// nothing better is known, but their findings are marked ThirdParty:
// the distribution's fixed version is not what their vendor ships.
func ThirdParty(eco string, p patchwave.Package) bool {
	eco = NormalizeEcosystem(eco)
	return thirdParty(familyOf(eco), strings.HasPrefix(eco, "Debian:"), p)
}

func thirdParty(f family, debian bool, p patchwave.Package) bool {
	switch f {
	case famDeb:
		v := strings.ToLower(cmpOr(p.SourceVersion, p.Version))
		if strings.Contains(v, "sury") || strings.Contains(v, "pgdg") {
			return true
		}
		if debian && strings.Contains(v, "ubuntu") {
			return true
		}
		for i := 0; ; {
			j := strings.Index(v[i:], "ppa")
			if j < 0 {
				break
			}
			j += i
			if j == 0 || !(v[j-1] >= 'a' && v[j-1] <= 'z') {
				return true
			}
			i = j + 3
		}
	case famRPM, famRedHat:
		rel := p.Version
		if i := strings.LastIndexByte(rel, '-'); i >= 0 {
			rel = rel[i+1:]
		}
		rel = strings.ToLower(rel)
		for _, m := range []string{".remi", ".ngx", "pgdg", ".ius"} {
			if strings.Contains(rel, m) {
				return true
			}
		}
		if digitAfter(rel, ".fc") {
			return true
		}
		return !digitAfter(rel, "el")
	}
	return false
}

// digitAfter reports whether s contains marker followed by a digit.
func digitAfter(s, marker string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], marker)
		if j < 0 {
			return false
		}
		j += i + len(marker)
		if j < len(s) && s[j] >= '0' && s[j] <= '9' {
			return true
		}
		i = j
	}
}

// normalizeList normalises and de-duplicates ecosystem names, keeping
// their order.
func normalizeList(ecos []string) []string {
	out := make([]string, 0, len(ecos))
	for _, e := range ecos {
		if n := NormalizeEcosystem(e); n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// appendFindings appends the findings of one installed package with
// verdict v: one for the advisories a fixed version resolves
// (FindingMissing) and one for those without a fix (FindingNoFix).
func appendFindings(dst []patchwave.Finding, eco string, p patchwave.Package, v *verdict, third bool) []patchwave.Finding {
	for _, q := range []*part{v.missing, v.noFix} {
		if q == nil {
			continue
		}
		f := patchwave.Finding{
			Ecosystem: eco, Package: p.Name, Source: cmpOr(p.Source, p.Name), Installed: p.Version,
			Fixed: q.fixed, State: patchwave.FindingMissing, Advisories: q.ids, CVEs: q.cves,
			Severity: q.severity, CVSS: q.cvss, ThirdParty: third, Published: q.published, Classification: q.class,
		}
		if q.fixed == "" {
			f.State = patchwave.FindingNoFix
		}
		if f.CVEs == nil {
			f.CVEs = []string{}
		}
		dst = append(dst, f)
	}
	return dst
}

// Match returns the findings of one host whose ecosystems (see
// Ecosystems; all of one distribution) are eco and whose installed
// packages are pkgs, in the order of pkgs: for each affected binary
// package, a FindingMissing with the highest fixed version of the
// advisories that have a fix, and a FindingNoFix with those that have
// none (pitfall 4). Advisories and CVEs are sorted. The Host fields are
// left empty. Findings share their Advisories and CVEs slices with the
// index's results: do not modify them.
//
// Each distinct (name, version) lookup is evaluated once per call; use a
// Fleet to share the work between hosts.
func (ix *Index) Match(eco []string, pkgs []patchwave.Package) []patchwave.Finding {
	ecos := normalizeList(eco)
	if len(ecos) == 0 {
		return nil
	}
	f := familyOf(ecos[0])
	sup := superseded(f, pkgs)
	cache := make(map[probe]*verdict)
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	var out []patchwave.Finding
	for i, p := range pkgs {
		if sup != nil && sup[i] {
			continue
		}
		pr := probeFor(f, p)
		v, ok := cache[pr]
		if !ok {
			v = ix.evaluate(ecos, pr)
			cache[pr] = v
		}
		if v != nil {
			out = appendFindings(out, eco[0], p, v, thirdParty(f, strings.HasPrefix(ecos[0], "Debian:"), p))
		}
	}
	return out
}

// classRank orders classifications: security outranks bug fixes, which
// outrank enhancements.
func classRank(c string) int {
	switch c {
	case patchwave.ClassSecurity:
		return 3
	case patchwave.ClassBugfix:
		return 2
	case patchwave.ClassEnhancement:
		return 1
	}
	return 0
}
