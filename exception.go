package patchwave

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// ExceptionKind says what an exception does.
type ExceptionKind string

// The kinds of exception.
const (
	// ExceptionExclusion takes hosts (a host, a site or a selector) out
	// of a release cycle, e.g. during a trade show. Timely exclusions
	// take effect without approval; late ones need an approver.
	ExceptionExclusion ExceptionKind = "exclusion"
	// ExceptionRestriction holds a patch (a package, CVE or advisory)
	// back, e.g. because an application depends on the old version.
	ExceptionRestriction ExceptionKind = "restriction"
	// ExceptionRiskAcceptance accepts a finding's risk for a while,
	// with a compensating control.
	ExceptionRiskAcceptance ExceptionKind = "risk-acceptance"
)

// ExceptionKinds lists every kind.
var ExceptionKinds = []ExceptionKind{ExceptionExclusion, ExceptionRestriction, ExceptionRiskAcceptance}

// ExceptionState is where an exception stands.
type ExceptionState string

// The states of an exception. Only approved exceptions take effect.
const (
	ExceptionPending  ExceptionState = "pending"  // waits for an approver
	ExceptionApproved ExceptionState = "approved" // in effect until it expires
	ExceptionRejected ExceptionState = "rejected" // an approver said no
	ExceptionRevoked  ExceptionState = "revoked"  // withdrawn before it expired
	ExceptionExpired  ExceptionState = "expired"  // past ExpiresAt (derived, see StateAt)
)

// ExceptionStates lists every state.
var ExceptionStates = []ExceptionState{ExceptionPending, ExceptionApproved, ExceptionRejected, ExceptionRevoked, ExceptionExpired}

// Limits of exceptions.
const (
	MinJustification = 10 // characters
	MaxExceptionTerm = 1  // year: the longest an exception may run
)

// Exception is a time-limited departure from the patch policy. Excepted
// findings stay in every count and are shown as excepted.
//
// Its scope is the hosts it is about: the host named Host, the hosts of
// Site, the hosts Selector matches (all that are set must hold; none set
// means every host, which only restrictions and risk acceptances may be).
// Its target is the findings it is about on those hosts: an exclusion
// targets all of them; restrictions and risk acceptances name a Package,
// CVE and/or Advisory.
type Exception struct {
	ID       int64         `json:"id"`
	Kind     ExceptionKind `json:"kind"`
	Host     string        `json:"host,omitempty"`
	Site     string        `json:"site,omitempty"`
	Selector Selector      `json:"selector,omitzero"`
	Package  string        `json:"package,omitempty"` // binary or source name
	CVE      string        `json:"cve,omitempty"`
	Advisory string        `json:"advisory,omitempty"`
	// Cycle is, for exclusions, the release cycle excluded from, as
	// YYYY-MM (the month of its Patch Tuesday); empty means every cycle
	// until the exclusion expires, starting with the cycle of the month
	// it is submitted in (see ExclusionCycle). Either way an exclusion is
	// bound to that cycle: without an approver it may not run past the
	// cycle's end (see CheckCycle and NeedsApproval). Covers does not
	// look at it: the release planner does.
	Cycle               string         `json:"cycle,omitempty"`
	Justification       string         `json:"justification"`
	CompensatingControl string         `json:"compensating_control,omitempty"`
	Owner               string         `json:"owner,omitempty"`
	Approver            string         `json:"approver,omitempty"`
	State               ExceptionState `json:"state"`
	// Late marks an exclusion submitted after its cycle's deadline.
	Late      bool       `json:"late,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	ReviewAt  *time.Time `json:"review_at,omitempty"`
	DecidedAt *time.Time `json:"decided_at,omitempty"`
}

// Validate checks an exception as submitted at now: a known kind and
// state (empty counts as pending); a justification of at least 10
// characters; ExpiresAt after now and at most one year after it; ReviewAt,
// when set, not after ExpiresAt; for an exclusion a scope (host, site or
// selector), no target and a well-formed cycle; for a restriction a
// target; for a risk acceptance a target and a compensating control.
// Owner and Approver are not required: the API fills them in.
func (e Exception) Validate(now time.Time) error {
	if !slices.Contains(ExceptionKinds, e.Kind) {
		return Errorf(EInvalid, "exception: unknown kind %q (want exclusion, restriction or risk-acceptance)", e.Kind)
	}
	if e.State != "" && !slices.Contains(ExceptionStates, e.State) {
		return Errorf(EInvalid, "exception: unknown state %q", e.State)
	}
	if e.Host != "" {
		if err := ValidHostname(e.Host); err != nil {
			return Errorf(EInvalid, "exception host: %s", ErrorMessage(err))
		}
	}
	if e.Site != "" {
		if err := ValidLabel("exception site", e.Site); err != nil {
			return err
		}
	}
	for _, f := range []struct{ name, v string }{{"package", e.Package}, {"cve", e.CVE}, {"advisory", e.Advisory},
		{"owner", e.Owner}, {"approver", e.Approver}} {
		if err := ValidText("exception "+f.name, f.v, 256); err != nil {
			return err
		}
	}
	for _, f := range []struct{ name, v string }{{"justification", e.Justification}, {"compensating control", e.CompensatingControl}} {
		if err := validProse("exception "+f.name, f.v, MaxPolicyText); err != nil {
			return err
		}
	}
	if n := utf8.RuneCountInString(strings.TrimSpace(e.Justification)); n < MinJustification {
		return Errorf(EInvalid, "exception: justification is required and at least %d characters long (got %d)", MinJustification, n)
	}
	if !e.ExpiresAt.After(now) {
		return Errorf(EInvalid, "exception: expires_at %s is not in the future", e.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if limit := now.AddDate(MaxExceptionTerm, 0, 0); e.ExpiresAt.After(limit) {
		return Errorf(EInvalid, "exception: expires_at %s is more than a year ahead (at most %s)",
			e.ExpiresAt.UTC().Format(time.RFC3339), limit.UTC().Format(time.RFC3339))
	}
	if e.ReviewAt != nil && e.ReviewAt.After(e.ExpiresAt) {
		return Errorf(EInvalid, "exception: review_at is after expires_at")
	}
	scoped := e.Host != "" || e.Site != "" || !e.Selector.IsZero()
	targeted := e.Package != "" || e.CVE != "" || e.Advisory != ""
	if e.Cycle != "" {
		if e.Kind != ExceptionExclusion {
			return Errorf(EInvalid, "exception: a cycle applies only to exclusions")
		}
		if _, _, err := ParseCycle(e.Cycle); err != nil {
			return err
		}
	}
	switch e.Kind {
	case ExceptionExclusion:
		if !scoped {
			return Errorf(EInvalid, "exception: an exclusion needs a host, a site or a selector")
		}
		if targeted {
			return Errorf(EInvalid, "exception: an exclusion covers whole hosts; to hold back a package, CVE or advisory, request a restriction")
		}
	case ExceptionRestriction:
		if !targeted {
			return Errorf(EInvalid, "exception: a restriction needs a package, a CVE or an advisory")
		}
	case ExceptionRiskAcceptance:
		if !targeted {
			return Errorf(EInvalid, "exception: a risk acceptance needs a package, a CVE or an advisory")
		}
		if strings.TrimSpace(e.CompensatingControl) == "" {
			return Errorf(EInvalid, "exception: a risk acceptance needs a compensating control")
		}
	}
	return nil
}

// StateAt returns e's state at now: an approved or pending exception
// whose ExpiresAt has come is expired; an empty state is pending;
// otherwise e.State.
func (e Exception) StateAt(now time.Time) ExceptionState {
	s := e.State
	if s == "" {
		s = ExceptionPending
	}
	if (s == ExceptionApproved || s == ExceptionPending) && !now.Before(e.ExpiresAt) {
		return ExceptionExpired
	}
	return s
}

// Active reports whether e is in effect at now: approved and not expired.
func (e Exception) Active(now time.Time) bool { return e.StateAt(now) == ExceptionApproved }

// Covers reports whether e's scope includes host h and its target
// includes finding f, whatever e's state (see Active). Scope: Host
// matches h's hostname ignoring case, Site h's site, Selector by
// Selector.Matches; all that are set must match. Target: an exclusion
// covers every finding; otherwise Package must be f's binary or source
// package name, CVE one of f.CVEs and Advisory one of f.Advisories (ids
// ignoring case); all that are set must match.
func (e Exception) Covers(h Host, f Finding) bool {
	if e.Host != "" && !strings.EqualFold(e.Host, h.Hostname) {
		return false
	}
	if e.Site != "" && e.Site != h.Site {
		return false
	}
	if !e.Selector.Matches(h) {
		return false
	}
	if e.Kind == ExceptionExclusion {
		return true
	}
	if e.Package == "" && e.CVE == "" && e.Advisory == "" {
		return false
	}
	if e.Package != "" && e.Package != f.Package && (f.Source == "" || e.Package != f.Source) {
		return false
	}
	if e.CVE != "" && !containsFold(f.CVEs, e.CVE) {
		return false
	}
	if e.Advisory != "" && !containsFold(f.Advisories, e.Advisory) {
		return false
	}
	return true
}

// PatchTuesday returns the second Tuesday of a month at midnight in loc:
// the day Microsoft (and many vendors) release their monthly updates,
// which anchors Patchwave's release cycles.
func PatchTuesday(year int, month time.Month, loc *time.Location) time.Time {
	first := time.Date(year, month, 1, 0, 0, 0, 0, loc)
	day := 1 + (int(time.Tuesday)-int(first.Weekday())+7)%7 + 7
	return time.Date(year, month, day, 0, 0, 0, 0, loc)
}

// ExclusionDeadline returns the last moment to submit an exclusion from a
// month's cycle without approval: the end (23:59:59.999) of the day after
// Patch Tuesday, the second Wednesday, in loc.
func ExclusionDeadline(year int, month time.Month, loc *time.Location) time.Time {
	pt := PatchTuesday(year, month, loc)
	return time.Date(year, month, pt.Day()+1, 23, 59, 59, int(999*time.Millisecond), loc)
}

// ParseCycle parses a release cycle, YYYY-MM (years 2000 to 9999).
func ParseCycle(s string) (year int, month time.Month, err error) {
	t, perr := time.Parse("2006-01", s)
	if perr != nil || t.Year() < 2000 {
		return 0, 0, Errorf(EInvalid, "cycle %q: want YYYY-MM, e.g. 2026-11", s)
	}
	return t.Year(), t.Month(), nil
}

// CycleAt returns the release cycle (YYYY-MM) of the month t falls in, in
// loc.
func CycleAt(t time.Time, loc *time.Location) string {
	t = t.In(loc)
	return fmt.Sprintf("%04d-%02d", t.Year(), int(t.Month()))
}

// IsLate reports whether an exclusion submitted at now comes after its
// cycle's deadline (ExclusionDeadline, in loc). Without a cycle, the cycle
// is that of now's month: an exclusion submitted after this month's
// second Wednesday is late. Other kinds are never late.
func (e Exception) IsLate(now time.Time, loc *time.Location) bool {
	if e.Kind != ExceptionExclusion {
		return false
	}
	y, m := now.In(loc).Year(), now.In(loc).Month()
	if e.Cycle != "" {
		var err error
		if y, m, err = ParseCycle(e.Cycle); err != nil {
			return true // an unknown cycle cannot be on time
		}
	}
	return now.After(ExclusionDeadline(y, m, loc))
}

// NeedsApproval reports whether e, submitted at now, needs an approver
// before it takes effect: restrictions and risk acceptances always do
// (they leave a known flaw unpatched); exclusions when late (IsLate, or
// e.Late already set) or when they run past the end of their cycle (see
// CycleBounds). A timely exclusion that ends with its cycle takes effect
// on submission: site admins own their sites' schedules, one cycle at a
// time; to keep hosts out for longer, an approver must agree.
func (e Exception) NeedsApproval(now time.Time, loc *time.Location) bool {
	return e.ApprovalReason(now, loc) != ""
}

// ApprovalReason says why e, submitted at now, needs an approver, or
// returns "" when it does not (see NeedsApproval).
func (e Exception) ApprovalReason(now time.Time, loc *time.Location) string {
	if e.Kind != ExceptionExclusion {
		return fmt.Sprintf("a %s always needs an approver", e.Kind)
	}
	cycle := e.ExclusionCycle(now, loc)
	if e.Late || e.IsLate(now, loc) {
		if y, m, err := ParseCycle(cycle); err == nil {
			return fmt.Sprintf("the exclusion is late: the deadline of cycle %s was %s", cycle, ExclusionDeadline(y, m, loc).Format(time.RFC3339))
		}
		return "the exclusion is late"
	}
	if _, end, err := CycleBounds(cycle, loc); err == nil && e.ExpiresAt.After(end) {
		return fmt.Sprintf("the exclusion runs past the end of cycle %s at %s (the next Patch Tuesday); "+
			"one that expires by then needs no approver", cycle, end.Format(time.RFC3339))
	}
	return ""
}

// ExclusionCycle returns the release cycle an exclusion submitted at now is
// bound to: its Cycle, or the cycle of now's month in loc (CycleAt).
func (e Exception) ExclusionCycle(now time.Time, loc *time.Location) string {
	if e.Cycle != "" {
		return e.Cycle
	}
	return CycleAt(now, loc)
}

// CycleBounds returns when a release cycle (YYYY-MM) starts and ends in
// loc: from its month's Patch Tuesday, midnight, to the next month's.
func CycleBounds(cycle string, loc *time.Location) (start, end time.Time, err error) {
	y, m, err := ParseCycle(cycle)
	if err != nil {
		return start, end, err
	}
	ny, nm := y, m+1
	if nm > time.December {
		ny, nm = y+1, time.January
	}
	return PatchTuesday(y, m, loc), PatchTuesday(ny, nm, loc), nil
}

// CheckCycle checks an exclusion submitted at now against its cycle
// (ExclusionCycle), in loc: the cycle must not be over (its end after
// now), and the exclusion must not expire before the cycle starts, when
// it would exclude the hosts from nothing. Other kinds always pass.
func (e Exception) CheckCycle(now time.Time, loc *time.Location) error {
	if e.Kind != ExceptionExclusion {
		return nil
	}
	cycle := e.ExclusionCycle(now, loc)
	start, end, err := CycleBounds(cycle, loc)
	if err != nil {
		return err
	}
	if !end.After(now) {
		return Errorf(EInvalid, "exclusion: cycle %s is over (it ended at %s, the next Patch Tuesday); exclude hosts from the current cycle, %s, or a later one",
			cycle, end.Format(time.RFC3339), CycleAt(now, loc))
	}
	if !e.ExpiresAt.After(start) {
		return Errorf(EInvalid, "exclusion: expires_at %s is before cycle %s starts at %s (Patch Tuesday), so it would exclude the hosts from nothing",
			e.ExpiresAt.In(loc).Format(time.RFC3339), cycle, start.Format(time.RFC3339))
	}
	return nil
}
