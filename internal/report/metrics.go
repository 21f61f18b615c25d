// Package report computes Patchwave's compliance metrics from plain inputs
// (hosts, findings, tasks, exceptions, as the store loads them) and renders
// them as JSON, CSV and HTML with inline SVG charts. It does no I/O and
// reads no clock: the time a report is as of is part of its input.
//
// Every metric carries its definition, the time it is as of, how fresh the
// data behind it is and its denominator. Excepted findings and hosts stay
// in every denominator: exceptions are counted and shown apart, never
// subtracted.
package report

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/patchwave/patchwave"
)

// Host is what the metrics need to know about one asset.
type Host struct {
	ID       int64          `json:"id"`
	Hostname string         `json:"hostname"`
	Site     string         `json:"site,omitempty"`
	Owner    string         `json:"owner,omitempty"`
	Tier     patchwave.Tier `json:"tier"`
	OS       string         `json:"os,omitempty"` // os id:version, e.g. debian:12
	// Managed says the host has an agent; Revoked that its credential was
	// withdrawn (it is no longer reporting).
	Managed    bool       `json:"managed"`
	Revoked    bool       `json:"revoked,omitempty"`
	LastSeen   *time.Time `json:"last_seen_at,omitempty"`
	AssessedAt *time.Time `json:"assessed_at,omitempty"`
	// PendingReboot says an install succeeded on the host and asked for a
	// reboot that has not happened yet.
	PendingReboot bool       `json:"pending_reboot,omitempty"`
	OSEOL         *time.Time `json:"os_eol,omitempty"`
}

// Finding is what the metrics need to know about one finding.
type Finding struct {
	HostID   int64                  `json:"host_id"`
	Package  string                 `json:"package"`
	Severity patchwave.Severity     `json:"severity"`
	State    patchwave.FindingState `json:"state"`
	// Required says the finding's patch is approved by the baselines: a
	// host must have it to comply.
	Required  bool       `json:"required"`
	Excepted  bool       `json:"excepted,omitempty"`
	FirstSeen time.Time  `json:"first_seen"`
	Due       *time.Time `json:"due_at,omitempty"`
	FixedAt   *time.Time `json:"fixed_at,omitempty"`
	KEV       bool       `json:"kev,omitempty"`
	KEVDue    *time.Time `json:"kev_due,omitempty"`
	// Ransomware says the KEV entry records use in ransomware campaigns.
	Ransomware bool `json:"ransomware,omitempty"`
}

// open reports whether f still needs doing.
func (f Finding) open() bool {
	return f.State == patchwave.FindingMissing || f.State == patchwave.FindingNoFix || f.State == patchwave.FindingUnexpectedService
}

// Task is what the metrics need to know about one rollout task.
type Task struct {
	HostID      int64               `json:"host_id"`
	ReleaseID   int64               `json:"release_id,omitempty"`
	Wave        int                 `json:"wave"`
	Kind        patchwave.TaskKind  `json:"kind"`
	State       patchwave.TaskState `json:"state"`
	FirstResult patchwave.TaskState `json:"first_result,omitempty"`
	Error       string              `json:"error,omitempty"`
	FinishedAt  *time.Time          `json:"finished_at,omitempty"`
}

// Exception is what the metrics need to know about one exception.
type Exception struct {
	ID        int64                    `json:"id"`
	Kind      patchwave.ExceptionKind  `json:"kind"`
	Owner     string                   `json:"owner,omitempty"`
	State     patchwave.ExceptionState `json:"state"` // as of the report
	ExpiresAt time.Time                `json:"expires_at"`
	Scope     string                   `json:"scope"` // host, site or selector, as text
}

// Input is everything a report is computed from.
type Input struct {
	// AsOf is the time the report describes.
	AsOf time.Time
	// From and To bound the period of the flow metrics (remediated within
	// SLA, time to patch, install success): [From, To). Zero From means
	// from the beginning.
	From, To time.Time
	// StaleAfter is how long an agent may go unseen and still count as
	// healthy; AssessMaxAge how old an assessment may be and still count
	// as fresh. Zero means no limit.
	StaleAfter, AssessMaxAge time.Duration
	// ExpiringWithin is how soon an active exception must expire to be
	// listed as expiring (14 days when zero).
	ExpiringWithin time.Duration
	// AtRisk is the fraction of a finding's window after which it is at
	// risk (the SLA policy's; 0.8 when zero).
	AtRisk float64

	Hosts    []Host
	Findings []Finding
	// Tasks are in creation order: a host's latest install decides whether
	// it has a failed install.
	Tasks      []Task
	Exceptions []Exception
}

// Ratio is a metric that is a share of a denominator.
type Ratio struct {
	Name        string    `json:"name"`
	Definition  string    `json:"definition"`
	Numerator   int       `json:"numerator"`
	Denominator int       `json:"denominator"`
	Percent     float64   `json:"percent"` // 0 when the denominator is 0
	AsOf        time.Time `json:"as_of"`
	DataAsOf    time.Time `json:"data_as_of,omitzero"`
}

func ratio(name, def string, num, den int, asOf, data time.Time) Ratio {
	return Ratio{Name: name, Definition: def, Numerator: num, Denominator: den, Percent: pct(num, den), AsOf: asOf, DataAsOf: data}
}

// pct is num/den in percent rounded to two decimals, 0 when den is 0.
func pct(num, den int) float64 {
	if den == 0 {
		return 0
	}
	return math.Round(float64(num)*10000/float64(den)) / 100
}

// Durations summarises a distribution of durations in days.
type Durations struct {
	Name       string  `json:"name"`
	Definition string  `json:"definition"`
	Count      int     `json:"count"`
	MeanDays   float64 `json:"mean_days"`
	MedianDays float64 `json:"median_days"`
	MaxDays    float64 `json:"max_days"`
	// Buckets counts the durations by DayBuckets: Buckets[i] counts those
	// of at most DayBuckets[i] days (and above the previous bound); the
	// last counts the rest.
	Buckets []int `json:"buckets"`
}

// DayBuckets are the upper bounds, in days, of the distributions' buckets.
var DayBuckets = []int{7, 15, 30, 60, 90}

// BucketLabels names DayBuckets' buckets, the last one included.
func BucketLabels() []string {
	out := make([]string, 0, len(DayBuckets)+1)
	lo := 0
	for _, b := range DayBuckets {
		out = append(out, fmt.Sprintf("%d-%d d", lo, b))
		lo = b + 1
	}
	return append(out, fmt.Sprintf(">%d d", DayBuckets[len(DayBuckets)-1]))
}

func durations(name, def string, days []float64) Durations {
	d := Durations{Name: name, Definition: def, Count: len(days), Buckets: make([]int, len(DayBuckets)+1)}
	if len(days) == 0 {
		return d
	}
	slices.Sort(days)
	sum := 0.0
	for _, v := range days {
		sum += v
		i, _ := slices.BinarySearchFunc(DayBuckets, v, func(b int, v float64) int { return cmp.Compare(float64(b), v) })
		d.Buckets[i]++
	}
	d.MeanDays = round2(sum / float64(len(days)))
	n := len(days)
	if n%2 == 1 {
		d.MedianDays = round2(days[n/2])
	} else {
		d.MedianDays = round2((days[n/2-1] + days[n/2]) / 2)
	}
	d.MaxDays = round2(days[n-1])
	return d
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

func days(d time.Duration) float64 { return d.Hours() / 24 }

// Group is host compliance within one site, tier or OS.
type Group struct {
	By                      string  `json:"by"` // site, tier or os
	Value                   string  `json:"value"`
	Hosts                   int     `json:"hosts"`
	Compliant               int     `json:"compliant"`
	CompliantWithExceptions int     `json:"compliant_with_exceptions"`
	Percent                 float64 `json:"percent"`
}

// Cell is one cell of the tier × severity matrix: open findings of hosts
// of that tier at that severity.
type Cell struct {
	Tier     patchwave.Tier     `json:"tier"`
	Severity patchwave.Severity `json:"severity"`
	Open     int                `json:"open"`
	Excepted int                `json:"excepted"` // of Open
	Breached int                `json:"breached"` // of Open, past due
}

// Item is one open finding past or near its due date, for the breach and
// at-risk lists.
type Item struct {
	Host        string             `json:"host"`
	Owner       string             `json:"owner,omitempty"`
	Site        string             `json:"site,omitempty"`
	Tier        patchwave.Tier     `json:"tier"`
	Package     string             `json:"package"`
	Severity    patchwave.Severity `json:"severity"`
	Due         time.Time          `json:"due_at"`
	DaysOverdue int                `json:"days_overdue"` // negative: days left
	KEV         bool               `json:"kev,omitempty"`
	Excepted    bool               `json:"excepted,omitempty"`
}

// SLA is the state of the remediation deadlines.
type SLA struct {
	RemediatedInSLA Ratio `json:"remediated_within_sla"`
	Breaches        int   `json:"open_breaches"`
	AtRisk          int   `json:"at_risk"`
	// BreachList and AtRiskList list the items, most overdue first, at
	// most MaxItems each.
	BreachList []Item `json:"breach_list"`
	AtRiskList []Item `json:"at_risk_list"`
}

// MaxItems bounds the lists a report carries; counts are always complete.
const MaxItems = 200

// KEV is the exposure to known exploited vulnerabilities.
type KEV struct {
	Definition string `json:"definition"`
	Open       int    `json:"open"`
	PastDue    int    `json:"past_due"`
	Ransomware int    `json:"ransomware"`
	Hosts      int    `json:"hosts"`
}

// Install is install-task success for one wave and OS.
type Install struct {
	Wave      int     `json:"wave"`
	OS        string  `json:"os"`
	Tasks     int     `json:"tasks"`      // with a first result
	FirstPass int     `json:"first_pass"` // succeeded at the first attempt
	Failed    int     `json:"failed"`     // failed in the end
	Percent   float64 `json:"percent"`
}

// Count is a label with a number.
type Count struct {
	Label string `json:"label"`
	Count int    `json:"count"`
}

// Exceptions sums up the exceptions.
type Exceptions struct {
	Definition string  `json:"definition"`
	Active     int     `json:"active"`
	Expiring   int     `json:"expiring"` // active, expiring within ExpiringWithin
	Expired    int     `json:"expired"`
	Pending    int     `json:"pending"`
	ByOwner    []Count `json:"by_owner"` // active ones
	// ExceptedFindings counts open findings covered by an exception; they
	// stay in every denominator above.
	ExceptedFindings int `json:"excepted_findings"`
}

// Metrics is the whole set of metrics of a fleet at a time.
type Metrics struct {
	AsOf     time.Time `json:"as_of"`
	DataAsOf time.Time `json:"data_as_of,omitzero"` // newest check-in or assessment
	From     time.Time `json:"from,omitzero"`
	To       time.Time `json:"to,omitzero"`

	Coverage                Ratio   `json:"asset_coverage"`
	Freshness               Ratio   `json:"assessment_freshness"`
	HostCompliance          Ratio   `json:"host_compliance"`
	CompliantWithExceptions int     `json:"hosts_compliant_with_exceptions"`
	UnknownHosts            int     `json:"hosts_unknown"`
	PatchCompliance         Ratio   `json:"patch_compliance"`
	BySite                  []Group `json:"by_site"`
	ByTier                  []Group `json:"by_tier"`
	ByOS                    []Group `json:"by_os"`
	Matrix                  []Cell  `json:"tier_severity"`

	SLA          SLA        `json:"sla"`
	KEV          KEV        `json:"kev"`
	TimeToPatch  Durations  `json:"time_to_patch"`
	OpenAge      Durations  `json:"open_finding_age"`
	Installs     []Install  `json:"first_pass_installs"`
	FirstPass    Ratio      `json:"first_pass_success"`
	Failures     []Count    `json:"failure_reasons"`
	Rollbacks    int        `json:"rollbacks"`
	Pending      []string   `json:"pending_reboots"` // hostnames
	Exceptions   Exceptions `json:"exceptions"`
	EndOfLife    []string   `json:"end_of_life"` // hostnames
	EndOfLifeAll Ratio      `json:"end_of_life_share"`
}

// Definitions of the metrics, as reports print them.
const (
	DefCoverage       = "Managed hosts whose agent checked in within the stale limit, divided by all known assets (managed or imported)."
	DefFreshness      = "Hosts assessed within the assessment age limit, divided by all known assets."
	DefHostCompliance = "Hosts freshly assessed with no required (approved) patch missing or failed and no reboot pending, divided by all known assets. Hosts whose only gaps are covered by exceptions count as compliant with exceptions and are shown apart; unassessed or stale hosts count as not compliant."
	DefPatchCompliant = "Required (approved) patch instances installed and active (host not waiting for a reboot), divided by all required instances, excepted ones included."
	DefInSLA          = "Findings fixed in the period by their due date, divided by all findings fixed in the period."
	DefTimeToPatch    = "Days from first seen to fixed, for findings fixed in the period."
	DefOpenAge        = "Days since first seen, for findings still open at the report time."
	DefFirstPass      = "Install tasks that succeeded at their first attempt, divided by install tasks with a first result, finished in the period."
	DefKEV            = "Open findings on CISA KEV: all, past the KEV due date, and those used in ransomware campaigns; hosts with at least one."
	DefExceptions     = "Exceptions by state at the report time; expiring means active and ending within the notice period. Excepted findings are never removed from any denominator."
	DefEOL            = "Hosts whose operating system release is past the vendor's end of support, divided by all known assets."
)

// Compute computes the metrics of in. It does not modify in.
func Compute(in Input) Metrics {
	b := NewBuilder(in)
	for _, f := range in.Findings {
		b.Add(f)
	}
	return b.Metrics()
}

// Builder computes metrics with the findings given one at a time, so that
// millions of them need not sit in memory: NewBuilder with the hosts,
// tasks and exceptions, Add for each finding, then Metrics once.
type Builder struct {
	in            Input
	m             Metrics
	hosts         map[int64]*Host
	st            map[int64]*hostState
	slaAt         patchwave.SLAPolicy
	reqTotal      int
	reqOK         int
	ageDays       []float64
	ttpDays       []float64
	fixedInPeriod int
	fixedOnTime   int
	cells         map[[2]string]*Cell
	kevHosts      map[int64]bool
	breaches      worst
	atRisk        worst
}

// worst keeps the MaxItems most overdue items of a list that may grow to
// millions, without building the items that cannot make it.
type worst struct {
	items []Item
	floor int  // once full: an item must be at least this overdue
	full  bool // items was cut to MaxItems at least once
}

func (w *worst) add(overdue int, item func() Item) {
	if w.full && overdue < w.floor {
		return
	}
	w.items = append(w.items, item())
	if len(w.items) >= 2*MaxItems {
		sortItems(w.items)
		w.items = w.items[:MaxItems]
		w.full, w.floor = true, w.items[MaxItems-1].DaysOverdue
	}
}

type hostState struct{ gaps, exceptedGaps int }

// NewBuilder starts the metrics of in; in.Findings is ignored (pass them
// to Add).
func NewBuilder(in Input) *Builder {
	now := in.AsOf
	b := &Builder{in: in, m: Metrics{AsOf: now, From: in.From, To: in.To}, hosts: make(map[int64]*Host, len(in.Hosts)),
		st: make(map[int64]*hostState, len(in.Hosts)), slaAt: patchwave.SLAPolicy{AtRisk: cmp.Or(in.AtRisk, patchwave.DefaultAtRisk)},
		cells: map[[2]string]*Cell{}, kevHosts: map[int64]bool{}}
	for i := range in.Hosts {
		h := &in.Hosts[i]
		b.hosts[h.ID] = h
		b.st[h.ID] = &hostState{}
		for _, t := range []*time.Time{h.LastSeen, h.AssessedAt} {
			if t != nil && t.After(b.m.DataAsOf) && !t.After(now) {
				b.m.DataAsOf = *t
			}
		}
	}
	return b
}

// Add counts one finding; findings of hosts not in the input are ignored.
func (b *Builder) Add(f Finding) {
	now, in, m := b.in.AsOf, &b.in, &b.m
	hosts, st, slaAt, cells, kevHosts := b.hosts, b.st, b.slaAt, b.cells, b.kevHosts
	h := hosts[f.HostID]
	if h == nil {
		return
	}
	s := st[f.HostID]
	open := f.open()
	if f.Required && (open || f.State == patchwave.FindingFixed) {
		b.reqTotal++
		if f.State == patchwave.FindingFixed && !h.PendingReboot {
			b.reqOK++
		}
		if open {
			if f.Excepted {
				s.exceptedGaps++
			} else {
				s.gaps++
			}
		}
	}
	if f.State == patchwave.FindingFixed && f.FixedAt != nil && inPeriod(*f.FixedAt, in.From, in.To) {
		b.fixedInPeriod++
		if f.Due == nil || !f.FixedAt.After(*f.Due) {
			b.fixedOnTime++
		}
		b.ttpDays = append(b.ttpDays, max(0, days(f.FixedAt.Sub(f.FirstSeen))))
	}
	if !open {
		return
	}
	b.ageDays = append(b.ageDays, max(0, days(now.Sub(f.FirstSeen))))
	sev := f.Severity
	if sev == "" {
		sev = patchwave.SeverityUnknown
	}
	k := [2]string{string(h.Tier), string(sev)}
	c := cells[k]
	if c == nil {
		c = &Cell{Tier: h.Tier, Severity: sev}
		cells[k] = c
	}
	c.Open++
	if f.Excepted {
		c.Excepted++
		m.Exceptions.ExceptedFindings++
	}
	if f.Due != nil {
		overdue := int(math.Floor(days(now.Sub(*f.Due))))
		item := func() Item {
			return Item{Host: h.Hostname, Owner: h.Owner, Site: h.Site, Tier: h.Tier, Package: f.Package, Severity: sev,
				Due: *f.Due, DaysOverdue: overdue, KEV: f.KEV, Excepted: f.Excepted}
		}
		switch slaAt.Status(f.FirstSeen, *f.Due, now) {
		case patchwave.SLABreached:
			c.Breached++
			m.SLA.Breaches++
			b.breaches.add(overdue, item)
		case patchwave.SLAAtRisk:
			m.SLA.AtRisk++
			b.atRisk.add(overdue, item)
		}
	}
	if f.KEV {
		m.KEV.Open++
		kevHosts[f.HostID] = true
		if f.KEVDue != nil && now.After(*f.KEVDue) {
			m.KEV.PastDue++
		}
		if f.Ransomware {
			m.KEV.Ransomware++
		}
	}
}

// Metrics finishes the metrics. Call it once, after the last Add.
func (b *Builder) Metrics() Metrics {
	in, m := b.in, b.m
	now, data := in.AsOf, b.m.DataAsOf
	hosts, st, cells, kevHosts := b.hosts, b.st, b.cells, b.kevHosts
	reqTotal, reqOK, fixedOnTime, fixedInPeriod, ttpDays, ageDays := b.reqTotal, b.reqOK, b.fixedOnTime, b.fixedInPeriod, b.ttpDays, b.ageDays
	n := len(in.Hosts)
	expiring := in.ExpiringWithin
	if expiring == 0 {
		expiring = 14 * 24 * time.Hour
	}
	m.KEV.Hosts, m.KEV.Definition = len(kevHosts), DefKEV
	m.SLA.BreachList, m.SLA.AtRiskList = b.breaches.items, b.atRisk.items
	for _, l := range []*[]Item{&m.SLA.BreachList, &m.SLA.AtRiskList} {
		sortItems(*l)
		if len(*l) > MaxItems {
			*l = (*l)[:MaxItems]
		}
		if *l == nil {
			*l = []Item{}
		}
	}
	m.SLA.RemediatedInSLA = ratio("remediated within SLA", DefInSLA, fixedOnTime, fixedInPeriod, now, data)
	m.TimeToPatch = durations("time to patch", DefTimeToPatch, ttpDays)
	m.OpenAge = durations("open finding age", DefOpenAge, ageDays)
	for _, t := range patchwave.Tiers {
		for _, s := range []patchwave.Severity{patchwave.SeverityCritical, patchwave.SeverityHigh, patchwave.SeverityMedium,
			patchwave.SeverityLow, patchwave.SeverityNone, patchwave.SeverityUnknown} {
			c := cells[[2]string{string(t), string(s)}]
			if c == nil {
				c = &Cell{Tier: t, Severity: s}
			}
			m.Matrix = append(m.Matrix, *c)
		}
	}

	// Tasks: first pass per wave and OS, failures, rollbacks, failed hosts.
	failedHost := map[int64]bool{}
	installs := map[string]*Install{}
	var firstTotal, firstOK int
	failures := map[string]int{}
	for _, t := range in.Tasks {
		h := hosts[t.HostID]
		if t.Kind == patchwave.TaskRollback {
			if t.FinishedAt == nil || inPeriod(*t.FinishedAt, in.From, in.To) {
				m.Rollbacks++
			}
			continue
		}
		if t.Kind != patchwave.TaskInstall {
			continue
		}
		// The host's latest install decides (tasks come in creation order).
		failedHost[t.HostID] = t.State == patchwave.TaskFailed || t.State == patchwave.TaskExpired
		if t.FirstResult == "" || (t.FinishedAt != nil && !inPeriod(*t.FinishedAt, in.From, in.To)) {
			continue
		}
		osName := ""
		if h != nil {
			osName = h.OS
		}
		k := fmt.Sprintf("%d|%s", t.Wave, osName)
		in := installs[k]
		if in == nil {
			in = &Install{Wave: t.Wave, OS: osName}
			installs[k] = in
		}
		in.Tasks++
		firstTotal++
		if t.FirstResult == patchwave.TaskSucceeded {
			in.FirstPass++
			firstOK++
		}
		if t.State == patchwave.TaskFailed || t.State == patchwave.TaskExpired {
			in.Failed++
			failures[failureReason(t)]++
		}
	}
	for _, v := range installs {
		v.Percent = pct(v.FirstPass, v.Tasks)
		m.Installs = append(m.Installs, *v)
	}
	slices.SortFunc(m.Installs, func(a, b Install) int { return cmp.Or(cmp.Compare(a.Wave, b.Wave), cmp.Compare(a.OS, b.OS)) })
	m.FirstPass = ratio("first-pass install success", DefFirstPass, firstOK, firstTotal, now, data)
	m.Failures = counts(failures)

	// Hosts: coverage, freshness, compliance, groups, reboots, end of life.
	var covered, fresh, compliant, withExc, eol int
	groups := map[[2]string]*Group{}
	group := func(by, v string, ok, exc bool) {
		g := groups[[2]string{by, v}]
		if g == nil {
			g = &Group{By: by, Value: v}
			groups[[2]string{by, v}] = g
		}
		g.Hosts++
		if ok {
			g.Compliant++
		}
		if exc {
			g.CompliantWithExceptions++
		}
	}
	for _, h := range in.Hosts {
		if h.Managed && !h.Revoked && h.LastSeen != nil && (in.StaleAfter == 0 || now.Sub(*h.LastSeen) <= in.StaleAfter) {
			covered++
		}
		isFresh := h.AssessedAt != nil && !h.AssessedAt.After(now) && (in.AssessMaxAge == 0 || now.Sub(*h.AssessedAt) <= in.AssessMaxAge)
		if isFresh {
			fresh++
		} else {
			m.UnknownHosts++
		}
		s := st[h.ID]
		ok := isFresh && s.gaps == 0 && !failedHost[h.ID] && !h.PendingReboot
		exc := ok && s.exceptedGaps > 0
		if ok {
			compliant++
		}
		if exc {
			withExc++
		}
		if h.PendingReboot {
			m.Pending = append(m.Pending, h.Hostname)
		}
		if h.OSEOL != nil && !now.Before(*h.OSEOL) {
			eol++
			m.EndOfLife = append(m.EndOfLife, h.Hostname)
		}
		group("site", cmp.Or(h.Site, "(none)"), ok, exc)
		group("tier", string(h.Tier), ok, exc)
		group("os", cmp.Or(h.OS, "(unknown)"), ok, exc)
	}
	slices.Sort(m.Pending)
	slices.Sort(m.EndOfLife)
	m.Pending, m.EndOfLife = nonNil(m.Pending), nonNil(m.EndOfLife)
	m.Coverage = ratio("asset coverage", DefCoverage, covered, n, now, data)
	m.Freshness = ratio("assessment freshness", DefFreshness, fresh, n, now, data)
	m.HostCompliance = ratio("host compliance", DefHostCompliance, compliant, n, now, data)
	m.CompliantWithExceptions = withExc
	m.PatchCompliance = ratio("patch compliance", DefPatchCompliant, reqOK, reqTotal, now, data)
	m.EndOfLifeAll = ratio("end-of-life systems", DefEOL, eol, n, now, data)
	for _, g := range groups {
		g.Percent = pct(g.Compliant, g.Hosts)
		switch g.By {
		case "site":
			m.BySite = append(m.BySite, *g)
		case "tier":
			m.ByTier = append(m.ByTier, *g)
		default:
			m.ByOS = append(m.ByOS, *g)
		}
	}
	byValue := func(a, b Group) int { return cmp.Compare(a.Value, b.Value) }
	slices.SortFunc(m.BySite, byValue)
	slices.SortFunc(m.ByOS, byValue)
	slices.SortFunc(m.ByTier, func(a, b Group) int {
		return cmp.Compare(slices.Index(patchwave.Tiers, a.Tier()), slices.Index(patchwave.Tiers, b.Tier()))
	})

	// Exceptions.
	owners := map[string]int{}
	m.Exceptions.Definition = DefExceptions
	for _, e := range in.Exceptions {
		switch e.State {
		case patchwave.ExceptionApproved:
			m.Exceptions.Active++
			owners[cmp.Or(e.Owner, "(none)")]++
			if e.ExpiresAt.Sub(now) <= expiring {
				m.Exceptions.Expiring++
			}
		case patchwave.ExceptionExpired:
			m.Exceptions.Expired++
		case patchwave.ExceptionPending:
			m.Exceptions.Pending++
		}
	}
	m.Exceptions.ByOwner = counts(owners)
	if m.Installs == nil {
		m.Installs = []Install{}
	}
	return m
}

func sortItems(l []Item) {
	slices.SortStableFunc(l, func(a, b Item) int {
		return cmp.Or(-cmp.Compare(a.DaysOverdue, b.DaysOverdue), cmp.Compare(a.Host, b.Host), cmp.Compare(a.Package, b.Package))
	})
}

// Tier returns the group's value as a tier.
func (g Group) Tier() patchwave.Tier { return patchwave.Tier(g.Value) }

func inPeriod(t, from, to time.Time) bool {
	return !t.Before(from) && (to.IsZero() || t.Before(to))
}

// failureReason is a failed task's error reduced to a label: its first
// line, at most 120 bytes; "expired" for a task that never ran.
func failureReason(t Task) string {
	if t.State == patchwave.TaskExpired && t.Error == "" {
		return "expired before it ran"
	}
	s, _, _ := strings.Cut(strings.TrimSpace(t.Error), "\n")
	if len(s) > 120 {
		s = strings.ToValidUTF8(s[:120], "") + "…"
	}
	return cmp.Or(s, "(no error given)")
}

// counts turns a map into counts, largest first.
func counts(m map[string]int) []Count {
	out := make([]Count, 0, len(m))
	for k, v := range m {
		out = append(out, Count{k, v})
	}
	slices.SortFunc(out, func(a, b Count) int { return cmp.Or(-cmp.Compare(a.Count, b.Count), cmp.Compare(a.Label, b.Label)) })
	return out
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// Snapshot is the day's compliance in brief, kept one per day for the
// month-over-month trend.
type Snapshot struct {
	Day            string    `json:"day"` // YYYY-MM-DD, UTC
	TakenAt        time.Time `json:"taken_at"`
	Hosts          int       `json:"hosts"`
	Compliant      int       `json:"compliant"`
	WithExceptions int       `json:"compliant_with_exceptions"`
	Patches        int       `json:"patches"`
	PatchesOK      int       `json:"patches_ok"`
	Breaches       int       `json:"breaches"`
	KEVOpen        int       `json:"kev_open"`
	ByTier         []Group   `json:"by_tier,omitempty"`
	BySite         []Group   `json:"by_site,omitempty"`
}

// Percent is the snapshot's host compliance in percent.
func (s Snapshot) Percent() float64 { return pct(s.Compliant, s.Hosts) }

// SnapshotOf sums m up as of its day.
func SnapshotOf(m Metrics) Snapshot {
	return Snapshot{Day: m.AsOf.UTC().Format(time.DateOnly), TakenAt: m.AsOf, Hosts: m.HostCompliance.Denominator,
		Compliant: m.HostCompliance.Numerator, WithExceptions: m.CompliantWithExceptions,
		Patches: m.PatchCompliance.Denominator, PatchesOK: m.PatchCompliance.Numerator,
		Breaches: m.SLA.Breaches, KEVOpen: m.KEV.Open, ByTier: m.ByTier, BySite: m.BySite}
}

// Only returns in limited to the hosts in ids, with their findings and
// tasks; exceptions stay as they are.
func (in Input) Only(ids map[int64]bool) Input {
	out := in
	out.Hosts, out.Findings, out.Tasks = nil, nil, nil
	for _, h := range in.Hosts {
		if ids[h.ID] {
			out.Hosts = append(out.Hosts, h)
		}
	}
	for _, f := range in.Findings {
		if ids[f.HostID] {
			out.Findings = append(out.Findings, f)
		}
	}
	for _, t := range in.Tasks {
		if ids[t.HostID] {
			out.Tasks = append(out.Tasks, t)
		}
	}
	return out
}

// Fork returns an empty builder over the same input, for Add calls from
// another goroutine; Merge folds it back in.
func (b *Builder) Fork() *Builder {
	f := &Builder{in: b.in, m: Metrics{}, hosts: b.hosts, st: make(map[int64]*hostState, len(b.st)), slaAt: b.slaAt,
		cells: map[[2]string]*Cell{}, kevHosts: map[int64]bool{}}
	for id := range b.st {
		f.st[id] = &hostState{}
	}
	return f
}

// Merge adds what o counted (a Fork of b) to b.
func (b *Builder) Merge(o *Builder) {
	for id, s := range o.st {
		t := b.st[id]
		t.gaps += s.gaps
		t.exceptedGaps += s.exceptedGaps
	}
	b.reqTotal += o.reqTotal
	b.reqOK += o.reqOK
	b.fixedInPeriod += o.fixedInPeriod
	b.fixedOnTime += o.fixedOnTime
	b.ageDays = append(b.ageDays, o.ageDays...)
	b.ttpDays = append(b.ttpDays, o.ttpDays...)
	for k, c := range o.cells {
		if d := b.cells[k]; d != nil {
			d.Open += c.Open
			d.Excepted += c.Excepted
			d.Breached += c.Breached
		} else {
			b.cells[k] = c
		}
	}
	for id := range o.kevHosts {
		b.kevHosts[id] = true
	}
	b.m.Exceptions.ExceptedFindings += o.m.Exceptions.ExceptedFindings
	b.m.SLA.Breaches += o.m.SLA.Breaches
	b.m.SLA.AtRisk += o.m.SLA.AtRisk
	b.m.KEV.Open += o.m.KEV.Open
	b.m.KEV.PastDue += o.m.KEV.PastDue
	b.m.KEV.Ransomware += o.m.KEV.Ransomware
	for _, it := range o.breaches.items {
		b.breaches.add(it.DaysOverdue, func() Item { return it })
	}
	for _, it := range o.atRisk.items {
		b.atRisk.add(it.DaysOverdue, func() Item { return it })
	}
}
