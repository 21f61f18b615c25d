package patchwave

import (
	"slices"
	"strings"
	"time"
)

// ServiceBaseline lists the services expected to run on the hosts its
// selector matches; other running services are flagged.
type ServiceBaseline struct {
	ID       int64    `json:"id"`
	Name     string   `json:"name"`
	Selector Selector `json:"selector,omitzero"`
	// Expected are globs of service names, ignoring case: "ssh",
	// "systemd-*".
	Expected []string `json:"expected"`
}

// Validate checks a service baseline: a name and 1 to 1000 expected
// service globs, each non-empty text without spaces or commas.
func (b ServiceBaseline) Validate() error {
	if err := ValidLabel("service baseline name", b.Name); err != nil {
		return err
	}
	if len(b.Expected) == 0 || len(b.Expected) > 1000 {
		return Errorf(EInvalid, "service baseline %q lists %d expected services, want 1 to 1000", b.Name, len(b.Expected))
	}
	for _, s := range b.Expected {
		if err := ValidLabel("expected service", s); err != nil {
			return err
		}
	}
	return nil
}

// UnexpectedServices returns h's running services that no service
// baseline applying to h expects, sorted and unique. The expected
// services are the union over every baseline whose selector matches h.
// When none matches, applies is false and nothing is unexpected.
func UnexpectedServices(bs []ServiceBaseline, h Host) (unexpected []string, applies bool) {
	var expected []string
	for _, b := range bs {
		if b.Selector.Matches(h) {
			applies = true
			expected = append(expected, b.Expected...)
		}
	}
	if !applies {
		return nil, false
	}
	for _, s := range h.Services {
		if !slices.ContainsFunc(expected, func(g string) bool { return globMatchFold(g, s) }) {
			unexpected = append(unexpected, s)
		}
	}
	slices.Sort(unexpected)
	return slices.Compact(unexpected), true
}

// Compliance is the policy state of a finding or a host.
type Compliance string

// The compliance states, from best to worst; ComplianceUnknown is apart.
const (
	Compliant               Compliance = "compliant"
	CompliantWithExceptions Compliance = "compliant-with-exceptions"
	NonCompliant            Compliance = "non-compliant"
	ComplianceBreached      Compliance = "breached"
	ComplianceUnknown       Compliance = "unknown" // never assessed, or not recently
)

// rank orders the states for HostCompliance: the worst finding decides.
func (c Compliance) rank() int {
	switch c {
	case Compliant:
		return 1
	case CompliantWithExceptions:
		return 2
	case NonCompliant:
		return 3
	case ComplianceBreached:
		return 4
	}
	return 0
}

// FindingPolicy is a finding's outcome under the patch policy.
type FindingPolicy struct {
	Due          time.Time  `json:"due_at"`
	SLA          SLAStatus  `json:"sla"`
	Risk         Risk       `json:"risk"`
	Approved     bool       `json:"approved"`
	Excepted     bool       `json:"excepted"`
	ExceptionIDs []int64    `json:"exception_ids,omitempty"`
	Compliance   Compliance `json:"compliance"`
	// Decision is what the baselines say about the finding's patch; nil
	// for findings that have no patch (no fix, unexpected services).
	Decision *Decision `json:"decision,omitempty"`
}

// EvaluateFinding judges finding f on host h, first seen at firstSeen, at
// now:
//
//   - Due and SLA: SLAPolicy.Due and Status. A fixed finding's status is
//     taken at f.FixedAt (was it fixed in time?) when known.
//   - Risk: RiskScore with h's tier and exposure.
//   - Approved: Decide over the baselines for PatchFromFinding(f). A
//     finding without a fix (state no-fix, or no fixed version) and an
//     unexpected service have no patch and are never approved.
//   - Excepted: some exception is Active at now and Covers h and f; their
//     IDs are listed in ascending order.
//   - Compliance, the first that holds: fixed → compliant; excepted →
//     compliant-with-exceptions; no fix → compliant (nothing can be
//     installed: such findings show in reports by state, SLA and risk,
//     and are handled with risk acceptances, not counted against the
//     host); SLA breached → breached (whether or not the patch is
//     approved: the window is about the exposure); approved missing
//     patch or unexpected service → non-compliant; otherwise (a patch
//     not approved yet) → compliant.
func EvaluateFinding(f Finding, h Host, firstSeen time.Time, sla SLAPolicy, baselines []Baseline, exceptions []Exception, now time.Time) FindingPolicy {
	fp := FindingPolicy{Due: sla.Due(f, h.Tier, firstSeen), Risk: RiskScore(f, h.Tier, h.HighExposure)}
	at := now
	if f.State == FindingFixed && f.FixedAt != nil {
		at = *f.FixedAt
	}
	fp.SLA = sla.Status(firstSeen, fp.Due, at)

	service := f.State == FindingUnexpectedService
	noFix := !service && (f.State == FindingNoFix || f.Fixed == "")
	if !service && !noFix {
		d := Decide(baselines, h, PatchFromFinding(f), now)
		fp.Decision, fp.Approved = &d, d.Approved
	}
	for _, e := range exceptions {
		if e.Active(now) && e.Covers(h, f) {
			fp.ExceptionIDs = append(fp.ExceptionIDs, e.ID)
		}
	}
	slices.Sort(fp.ExceptionIDs)
	fp.ExceptionIDs = slices.Compact(fp.ExceptionIDs)
	fp.Excepted = len(fp.ExceptionIDs) > 0

	switch {
	case f.State == FindingFixed:
		fp.Compliance = Compliant
	case fp.Excepted:
		fp.Compliance = CompliantWithExceptions
	case noFix:
		fp.Compliance = Compliant
	case fp.SLA == SLABreached:
		fp.Compliance = ComplianceBreached
	case fp.Approved || service:
		fp.Compliance = NonCompliant
	default:
		fp.Compliance = Compliant
	}
	return fp
}

// HostCompliance rolls a host's findings up into its state at now: unknown
// when it was never assessed (assessedAt nil) or the assessment is older
// than maxAge (maxAge 0: no limit); otherwise the worst Compliance of its
// findings, where breached > non-compliant > compliant-with-exceptions >
// compliant; compliant without findings. Since EvaluateFinding already
// weighs exceptions, fixes and approval, this reads: breached when a
// non-excepted finding is past due, non-compliant when a non-excepted
// approved patch is missing, compliant-with-exceptions when only excepted
// findings remain. Findings with another or no state are ignored.
func HostCompliance(fs []FindingPolicy, assessedAt *time.Time, now time.Time, maxAge time.Duration) Compliance {
	if assessedAt == nil || (maxAge > 0 && now.Sub(*assessedAt) > maxAge) {
		return ComplianceUnknown
	}
	worst := Compliant
	for _, f := range fs {
		if f.Compliance.rank() > worst.rank() {
			worst = f.Compliance
		}
	}
	return worst
}

// ParseCompliance checks s names a compliance state.
func ParseCompliance(s string) (Compliance, error) {
	for _, c := range []Compliance{Compliant, CompliantWithExceptions, NonCompliant, ComplianceBreached, ComplianceUnknown} {
		if string(c) == s {
			return c, nil
		}
	}
	return "", Errorf(EInvalid, "unknown compliance state %q (want %s)", s, strings.Join([]string{string(Compliant),
		string(CompliantWithExceptions), string(NonCompliant), string(ComplianceBreached), string(ComplianceUnknown)}, ", "))
}
