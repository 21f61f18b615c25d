package patchwave

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Baseline scopes: how specific a baseline is. A more specific scope takes
// precedence in Decide.
const (
	ScopeGlobal = "global" // every host; no selector
	ScopeScoped = "scoped" // the hosts its selector matches
	ScopeHost   = "host"   // an override for named hosts: selector host=a|b, no wildcards
)

// Baseline says which patches are approved (or rejected) for the hosts
// it applies to. See Decide for how baselines combine.
type Baseline struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	// Selector picks the hosts a scoped or host baseline applies to; a
	// global baseline has none.
	Selector Selector `json:"selector,omitzero"`
	// Scope is global, scoped or host. It is stored as the author chose
	// it and must agree with Selector (see Validate); when empty it is
	// derived: global without a selector, scoped with one (see Level).
	Scope       string         `json:"scope,omitempty"`
	Rules       []BaselineRule `json:"rules,omitempty"`
	Approve     []PatchRef     `json:"approve,omitempty"`
	Reject      []RejectRef    `json:"reject,omitempty"`
	Description string         `json:"description,omitempty"`
	CreatedAt   time.Time      `json:"created_at"`
	UpdatedAt   time.Time      `json:"updated_at"`
}

// BaselineRule approves the patches that match all of its set criteria,
// at once or on a schedule. Rules only ever approve; to hold a patch back,
// reject it.
type BaselineRule struct {
	// Ecosystem is a glob over the patch's ecosystem, ignoring case:
	// "Debian:*", "AlmaLinux:9". Empty matches every ecosystem.
	Ecosystem string `json:"ecosystem,omitempty"`
	// MinSeverity, when set, requires that severity or higher; patches of
	// unknown severity never meet it. Leave it empty to include them.
	MinSeverity Severity `json:"min_severity,omitempty"`
	// Classification, when set, requires security, bugfix or enhancement.
	Classification string `json:"classification,omitempty"`
	// Package is a glob over the binary or the source package name
	// (case-sensitive). Empty matches every package.
	Package string `json:"package,omitempty"`
	// ApproveAfterDays approves a patch this many calendar days after its
	// publication (0: on publication).
	ApproveAfterDays *int `json:"approve_after_days,omitempty"`
	// ApproveUntil approves the patches published on or before this
	// time, a freeze date. A date in the past is normal and not flagged.
	// The API also accepts a plain date, 2026-12-01, meaning the end of
	// that day UTC (see ParseDate).
	// At most one of ApproveAfterDays and ApproveUntil is set; with
	// neither, a matching patch is approved at once.
	ApproveUntil *time.Time `json:"approve_until,omitempty"`
}

// PatchRef names a patch explicitly in a baseline's approve or reject list.
// At least one field is set; a patch matches when every set field does:
// Package is a glob over the binary or source package name ("linux-image-*"),
// Advisory must be one of the patch's advisories and CVE one of its CVEs
// (both ignoring case).
type PatchRef struct {
	Package  string `json:"package,omitempty"`
	Advisory string `json:"advisory,omitempty"`
	CVE      string `json:"cve,omitempty"`
}

// Reject modes.
const (
	RejectBlock          = "block"           // never install (the default)
	RejectDependencyOnly = "dependency-only" // install only when another approved patch needs it
)

// RejectRef is an entry of a baseline's reject list.
type RejectRef struct {
	PatchRef
	// Mode is block (the default when empty) or dependency-only.
	Mode   string `json:"mode,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Patch is an update as baselines see it: a fixed version of one package
// on one host, with what it fixes.
type Patch struct {
	Host           string     `json:"host,omitempty"`
	Ecosystem      string     `json:"ecosystem"`
	Package        string     `json:"package"`
	Source         string     `json:"source,omitempty"`
	Fixed          string     `json:"fixed"`
	Advisories     []string   `json:"advisories,omitempty"`
	CVEs           []string   `json:"cves,omitempty"`
	Severity       Severity   `json:"severity"`
	Classification string     `json:"classification"`
	Published      *time.Time `json:"published,omitempty"`
}

// PatchFromFinding returns the patch that would fix f. Its severity is
// EffectiveSeverity(f); an empty classification is read as security,
// since findings come from security advisories unless told otherwise.
func PatchFromFinding(f Finding) Patch {
	c := f.Classification
	if c == "" {
		c = ClassSecurity
	}
	return Patch{Host: f.Host, Ecosystem: f.Ecosystem, Package: f.Package, Source: f.Source, Fixed: f.Fixed,
		Advisories: f.Advisories, CVEs: f.CVEs, Severity: EffectiveSeverity(f), Classification: c, Published: f.Published}
}

// Decision is what the baselines say about one patch on one host.
type Decision struct {
	Approved bool `json:"approved"`
	// Blocked is set by a reject entry in block mode.
	Blocked bool `json:"blocked,omitempty"`
	// DependencyOnly is set by a reject entry in dependency-only mode:
	// not approved by itself, allowed as another approved patch's
	// dependency.
	DependencyOnly bool `json:"dependency_only,omitempty"`
	// Baseline is the name of the deciding baseline; empty when none did.
	Baseline string `json:"baseline,omitempty"`
	// Rule is the deciding entry, as a path into the baseline's JSON:
	// "reject[0]", "approve[2]", "rules[1]" (indexes from 0).
	Rule   string `json:"rule,omitempty"`
	Reason string `json:"reason"`
	// ApprovedFrom is when an approve-after rule approves (or approved)
	// the patch.
	ApprovedFrom *time.Time `json:"approved_from,omitempty"`
}

// Level returns b's effective scope: b.Scope when it is one of global,
// scoped or host, else global when b has no selector and scoped when it
// has one.
func (b Baseline) Level() string {
	switch b.Scope {
	case ScopeGlobal, ScopeScoped, ScopeHost:
		return b.Scope
	}
	if b.Selector.IsZero() {
		return ScopeGlobal
	}
	return ScopeScoped
}

// AppliesTo reports whether b applies to h: global baselines apply to
// every host, others to the hosts their selector matches. A host baseline
// without a selector (which Validate rejects) applies to none.
func (b Baseline) AppliesTo(h Host) bool {
	if b.Level() == ScopeHost && b.Selector.IsZero() {
		return false
	}
	return b.Selector.Matches(h)
}

// Validate checks a baseline: a name; a scope that agrees with the
// selector (global: none; scoped: one; host: exactly one host=… term
// naming hosts without wildcards); rules with a known severity (not
// unknown: leave it empty instead) and classification, 0 to 3650 days,
// not both approve_after_days and approve_until; approve and reject
// entries that name something, a known reject mode; and no approve entry
// that a reject entry covers entirely (the same entry, or reject openssl*
// with approve openssl), since the rejection would always win and the
// approval mean nothing. The opposite overlap is a deliberate carve-out
// and only a warning (see Warnings).
func (b Baseline) Validate() error {
	if strings.TrimSpace(b.Name) == "" {
		return Errorf(EInvalid, "baseline has no name")
	}
	if err := ValidText("baseline name", b.Name, 128); err != nil {
		return err
	}
	where := fmt.Sprintf("baseline %q", b.Name)
	if err := validProse(where+": description", b.Description, MaxPolicyText); err != nil {
		return err
	}
	switch b.Scope {
	case "", ScopeGlobal, ScopeScoped, ScopeHost:
	default:
		return Errorf(EInvalid, "%s: unknown scope %q (want global, scoped or host)", where, b.Scope)
	}
	switch b.Level() {
	case ScopeGlobal:
		if !b.Selector.IsZero() {
			return Errorf(EInvalid, "%s: a global baseline has no selector (got %q); use scope scoped", where, b.Selector)
		}
	case ScopeScoped:
		if b.Selector.IsZero() {
			return Errorf(EInvalid, "%s: a scoped baseline needs a selector", where)
		}
	case ScopeHost:
		if _, ok := b.Selector.Hostnames(); !ok {
			return Errorf(EInvalid, "%s: a host baseline's selector names hosts without wildcards, e.g. host=web1|web2 (got %q)", where, b.Selector)
		}
	}
	if len(b.Rules)+len(b.Approve)+len(b.Reject) > 10_000 {
		return Errorf(EInvalid, "%s: more than 10000 rules and entries", where)
	}
	for i, r := range b.Rules {
		if err := r.validate(fmt.Sprintf("%s: rules[%d]", where, i)); err != nil {
			return err
		}
	}
	for i, p := range b.Approve {
		if err := p.validate(fmt.Sprintf("%s: approve[%d]", where, i)); err != nil {
			return err
		}
	}
	for i, r := range b.Reject {
		w := fmt.Sprintf("%s: reject[%d]", where, i)
		if err := r.PatchRef.validate(w); err != nil {
			return err
		}
		switch r.Mode {
		case "", RejectBlock, RejectDependencyOnly:
		default:
			return Errorf(EInvalid, "%s: unknown mode %q (want block or dependency-only)", w, r.Mode)
		}
		if err := validProse(w+": reason", r.Reason, MaxPolicyText); err != nil {
			return err
		}
	}
	for i, a := range b.Approve {
		for j, r := range b.Reject {
			switch {
			case a.same(r.PatchRef):
				return Errorf(EInvalid, "%s: approve[%d] and reject[%d] both name %s", where, i, j, a)
			case r.PatchRef.covers(a):
				return Errorf(EInvalid, "%s: approve[%d] (%s) never applies: reject[%d] (%s) names every patch it does, and a rejection wins; remove one of them",
					where, i, a, j, r.PatchRef)
			}
		}
	}
	return nil
}

// Warnings describes the entries of a valid baseline that overlap without
// contradicting each other: an approve entry that names every patch a
// reject entry names, and more (approve openssl*, reject openssl). That
// is how a family is approved but for a few members, so it is allowed;
// the rejection wins for the patches both name. The opposite overlap,
// where a reject entry names every patch an approve entry does, leaves
// the approval without effect and Validate refuses it.
func (b Baseline) Warnings() []string {
	var out []string
	for i, a := range b.Approve {
		for j, r := range b.Reject {
			if a.covers(r.PatchRef) && !a.same(r.PatchRef) {
				out = append(out, fmt.Sprintf("baseline %q: reject[%d] (%s) overrides approve[%d] (%s) for the patches both name: the rejection wins",
					b.Name, j, r.PatchRef, i, a))
			}
		}
	}
	return out
}

func (r BaselineRule) validate(where string) error {
	for _, f := range []struct{ name, v string }{{"ecosystem", r.Ecosystem}, {"package", r.Package}} {
		if err := ValidText(where+": "+f.name, f.v, 256); err != nil {
			return err
		}
	}
	switch {
	case r.MinSeverity == "":
	case r.MinSeverity == SeverityUnknown:
		return Errorf(EInvalid, "%s: min_severity unknown matches everything; leave it empty", where)
	case r.MinSeverity.Rank() == 0:
		return Errorf(EInvalid, "%s: unknown min_severity %q (want critical, high, medium, low or none)", where, r.MinSeverity)
	}
	if r.Classification != "" && !slices.Contains(Classifications, r.Classification) {
		return Errorf(EInvalid, "%s: unknown classification %q (want security, bugfix or enhancement)", where, r.Classification)
	}
	if r.ApproveAfterDays != nil {
		if d := *r.ApproveAfterDays; d < 0 || d > MaxSLADays {
			return Errorf(EInvalid, "%s: approve_after_days is %d, want 0 to %d", where, d, MaxSLADays)
		}
		if r.ApproveUntil != nil {
			return Errorf(EInvalid, "%s: set approve_after_days or approve_until, not both", where)
		}
	}
	if r.ApproveUntil != nil && r.ApproveUntil.IsZero() {
		return Errorf(EInvalid, "%s: approve_until is the zero time", where)
	}
	return nil
}

func (p PatchRef) validate(where string) error {
	if p.Package == "" && p.Advisory == "" && p.CVE == "" {
		return Errorf(EInvalid, "%s: names no package, advisory or CVE", where)
	}
	for _, f := range []struct{ name, v string }{{"package", p.Package}, {"advisory", p.Advisory}, {"cve", p.CVE}} {
		if err := ValidText(where+": "+f.name, f.v, 256); err != nil {
			return err
		}
		if strings.TrimSpace(f.v) != f.v {
			return Errorf(EInvalid, "%s: %s %q has leading or trailing spaces", where, f.name, f.v)
		}
	}
	return nil
}

// same reports whether p and q name the same patches.
func (p PatchRef) same(q PatchRef) bool {
	return p.Package == q.Package && strings.EqualFold(p.Advisory, q.Advisory) && strings.EqualFold(p.CVE, q.CVE)
}

// covers reports whether every patch q names is one p names too: each
// field p sets, q sets as well, to the same advisory or CVE, or to a
// package pattern p's glob matches read literally. A star in q can only
// be matched by a star of p (p has no other wildcard), so whatever a
// star of q expands to, p's star absorbs it: glob p matching the text of
// glob q means every name q matches, p matches.
func (p PatchRef) covers(q PatchRef) bool {
	if p.Package == "" && p.Advisory == "" && p.CVE == "" {
		return false
	}
	if p.Package != "" && (q.Package == "" || !globMatch(p.Package, q.Package)) {
		return false
	}
	if p.Advisory != "" && !strings.EqualFold(p.Advisory, q.Advisory) {
		return false
	}
	if p.CVE != "" && !strings.EqualFold(p.CVE, q.CVE) {
		return false
	}
	return true
}

// String describes p, e.g. "package openssl, CVE-2026-1234".
func (p PatchRef) String() string {
	var s []string
	if p.Package != "" {
		s = append(s, "package "+p.Package)
	}
	if p.Advisory != "" {
		s = append(s, "advisory "+p.Advisory)
	}
	if p.CVE != "" {
		s = append(s, p.CVE)
	}
	return strings.Join(s, ", ")
}

// Matches reports whether patch p is one that r names: every set field of
// r must match.
func (r PatchRef) Matches(p Patch) bool {
	if r.Package == "" && r.Advisory == "" && r.CVE == "" {
		return false
	}
	if r.Package != "" && !globMatch(r.Package, p.Package) && (p.Source == "" || !globMatch(r.Package, p.Source)) {
		return false
	}
	if r.Advisory != "" && !containsFold(p.Advisories, r.Advisory) {
		return false
	}
	if r.CVE != "" && !containsFold(p.CVEs, r.CVE) {
		return false
	}
	return true
}

// Matches reports whether patch p meets r's criteria (ecosystem,
// severity, classification, package), whatever its timing.
func (r BaselineRule) Matches(p Patch) bool {
	if r.Ecosystem != "" && !globMatchFold(r.Ecosystem, p.Ecosystem) {
		return false
	}
	if r.MinSeverity != "" && (p.Severity.Rank() == 0 || p.Severity.Rank() < r.MinSeverity.Rank()) {
		return false
	}
	if r.Classification != "" {
		c := p.Classification
		if c == "" {
			c = ClassSecurity
		}
		if !strings.EqualFold(c, r.Classification) {
			return false
		}
	}
	if r.Package != "" && !globMatch(r.Package, p.Package) && (p.Source == "" || !globMatch(r.Package, p.Source)) {
		return false
	}
	return true
}

// approval returns whether r approves p (which it matches) at now, from
// when it does when that is known, and why.
func (r BaselineRule) approval(p Patch, now time.Time) (ok bool, from *time.Time, why string) {
	switch {
	case r.ApproveAfterDays != nil:
		n := *r.ApproveAfterDays
		if p.Published == nil {
			return false, nil, fmt.Sprintf("approved %d days after publication, and the publication date is unknown", n)
		}
		t := p.Published.AddDate(0, 0, n)
		if now.Before(t) {
			return false, &t, fmt.Sprintf("approved %d days after publication: from %s", n, t.UTC().Format(time.RFC3339))
		}
		return true, &t, fmt.Sprintf("approved %d days after publication, since %s", n, t.UTC().Format(time.RFC3339))
	case r.ApproveUntil != nil:
		u := r.ApproveUntil.UTC().Format(time.RFC3339)
		if p.Published == nil {
			return false, nil, fmt.Sprintf("approves patches published until %s, and the publication date is unknown", u)
		}
		if p.Published.After(*r.ApproveUntil) {
			return false, nil, fmt.Sprintf("approves patches published until %s; this one was published %s", u, p.Published.UTC().Format(time.RFC3339))
		}
		return true, nil, fmt.Sprintf("published %s, on or before %s", p.Published.UTC().Format(time.RFC3339), u)
	}
	return true, nil, "approved by rule"
}

// Decide says whether patch p is approved for host h at now.
//
// Baselines apply to h by their selector (Baseline.AppliesTo) and are
// grouped by level (Baseline.Level): host overrides first, then scoped
// baselines, then global ones. The most specific level with an opinion
// decides; a level has one when an entry or rule of one of its baselines
// matches p, whether or not it approves p yet (so a scoped rule that
// approves after 14 days overrides a global one that approves after 7).
// A level without an opinion passes the question to the next.
//
// Within a level, across all its baselines:
//  1. an explicit reject wins; block beats dependency-only;
//  2. then an explicit approve (at once, whatever the dates);
//  3. then the rules: p is approved when any matching rule approves it
//     now; otherwise it is not, and ApprovedFrom is the earliest date a
//     matching approve-after rule will approve it.
//
// Ties go to the baseline with the lowest ID, then name, then the first
// entry in its list, so the outcome never depends on the order of
// baselines. A patch no baseline applies to, or that no applying
// baseline has an opinion on, is not approved.
func Decide(baselines []Baseline, h Host, p Patch, now time.Time) Decision {
	sorted := slices.Clone(baselines)
	slices.SortStableFunc(sorted, func(a, b Baseline) int {
		return cmp.Or(cmp.Compare(a.ID, b.ID), strings.Compare(a.Name, b.Name))
	})
	applies := false
	for _, level := range []string{ScopeHost, ScopeScoped, ScopeGlobal} {
		var bs []Baseline
		for _, b := range sorted {
			if b.Level() == level && b.AppliesTo(h) {
				bs = append(bs, b)
			}
		}
		if len(bs) == 0 {
			continue
		}
		applies = true
		if d, ok := decideLevel(bs, level, p, now); ok {
			return d
		}
	}
	if applies {
		return Decision{Reason: "no rule or entry of the baselines that apply matches this patch"}
	}
	return Decision{Reason: "no baseline applies"}
}

// decideLevel decides p with the baselines of one level, and reports
// whether any of them had an opinion.
func decideLevel(bs []Baseline, level string, p Patch, now time.Time) (Decision, bool) {
	// 1. Rejects: block beats dependency-only.
	var depOnly *Decision
	for _, b := range bs {
		for i, r := range b.Reject {
			if !r.Matches(p) {
				continue
			}
			d := Decision{Baseline: b.Name, Rule: fmt.Sprintf("reject[%d]", i)}
			why := cmp.Or(r.Reason, "no reason given")
			if r.Mode == RejectDependencyOnly {
				if depOnly == nil {
					d.DependencyOnly = true
					d.Reason = fmt.Sprintf("rejected except as a dependency by %s baseline %q: %s", level, b.Name, why)
					depOnly = &d
				}
				continue
			}
			d.Blocked = true
			d.Reason = fmt.Sprintf("rejected by %s baseline %q: %s", level, b.Name, why)
			return d, true
		}
	}
	if depOnly != nil {
		return *depOnly, true
	}
	// 2. Explicit approvals.
	for _, b := range bs {
		for i, a := range b.Approve {
			if a.Matches(p) {
				return Decision{Approved: true, Baseline: b.Name, Rule: fmt.Sprintf("approve[%d]", i),
					Reason: fmt.Sprintf("approved explicitly by %s baseline %q (%s)", level, b.Name, a)}, true
			}
		}
	}
	// 3. Rules.
	var pending, first *Decision
	for _, b := range bs {
		for i, r := range b.Rules {
			if !r.Matches(p) {
				continue
			}
			ok, from, why := r.approval(p, now)
			d := Decision{Approved: ok, Baseline: b.Name, Rule: fmt.Sprintf("rules[%d]", i), ApprovedFrom: from,
				Reason: fmt.Sprintf("%s baseline %q rules[%d]: %s", level, b.Name, i, why)}
			if ok {
				return d, true
			}
			if from != nil && (pending == nil || from.Before(*pending.ApprovedFrom)) {
				pending = &d
			}
			if first == nil {
				first = &d
			}
		}
	}
	if pending != nil {
		return *pending, true
	}
	if first != nil {
		return *first, true
	}
	return Decision{}, false
}
