package patchwave

import (
	"math"
	"slices"
	"time"
)

// SLAPolicy says how many days a finding may stay open, by the host's tier
// and the finding's severity, counted from when it was first seen.
type SLAPolicy struct {
	// Days is the remediation window in calendar days. Every tier needs
	// the four severities critical, high, medium and low. Windows for
	// none and unknown are optional: without them, none uses low's window
	// and unknown uses medium's (an unrated flaw is not assumed harmless).
	Days map[Tier]map[Severity]int `json:"days"`
	// AtRisk is the fraction of the window after which an open finding is
	// at risk of breaching; 0 < AtRisk < 1, 0.8 by default.
	AtRisk float64 `json:"at_risk"`
	// KEVDueDates makes a CISA KEV entry's due date the deadline when it
	// is earlier than the tier's.
	KEVDueDates bool `json:"kev_due_dates"`
}

// Limits of an SLA policy.
const (
	MaxSLADays    = 3650
	DefaultAtRisk = 0.8
)

// slaSeverities are the severities every tier of an SLA policy must have.
var slaSeverities = []Severity{SeverityCritical, SeverityHigh, SeverityMedium, SeverityLow}

// DefaultSLA returns the built-in policy, in calendar days:
//
//	tier                  critical  high  medium  low
//	mission-critical             7    15      30   90
//	business-critical           10    20      60  120
//	business-operational        15    30      90  180
//	lab                         30    60     180  365
//
// Severity none uses low's window, unknown uses medium's. AtRisk is 0.8
// and KEV due dates apply.
func DefaultSLA() SLAPolicy {
	return SLAPolicy{
		Days: map[Tier]map[Severity]int{
			TierMissionCritical:     {SeverityCritical: 7, SeverityHigh: 15, SeverityMedium: 30, SeverityLow: 90},
			TierBusinessCritical:    {SeverityCritical: 10, SeverityHigh: 20, SeverityMedium: 60, SeverityLow: 120},
			TierBusinessOperational: {SeverityCritical: 15, SeverityHigh: 30, SeverityMedium: 90, SeverityLow: 180},
			TierLab:                 {SeverityCritical: 30, SeverityHigh: 60, SeverityMedium: 180, SeverityLow: 365},
		},
		AtRisk:      DefaultAtRisk,
		KEVDueDates: true,
	}
}

// Validate checks that p has a window of 1 to 3650 days for every tier and
// the severities critical, high, medium and low (and, when present, none
// and unknown), no unknown tier or severity, and 0 < AtRisk < 1.
func (p SLAPolicy) Validate() error {
	for t := range p.Days {
		if !slices.Contains(Tiers, t) {
			return Errorf(EInvalid, "sla: unknown tier %q (want one of %s)", t, joinTiers())
		}
	}
	for _, t := range Tiers {
		row, ok := p.Days[t]
		if !ok {
			return Errorf(EInvalid, "sla: tier %s has no windows", t)
		}
		for s, d := range row {
			if s.Rank() == 0 && s != SeverityUnknown {
				return Errorf(EInvalid, "sla: tier %s: unknown severity %q", t, s)
			}
			if d < 1 || d > MaxSLADays {
				return Errorf(EInvalid, "sla: %s/%s is %d days, want 1 to %d", t, s, d, MaxSLADays)
			}
		}
		for _, s := range slaSeverities {
			if _, ok := row[s]; !ok {
				return Errorf(EInvalid, "sla: %s/%s is missing", t, s)
			}
		}
	}
	if math.IsNaN(p.AtRisk) || p.AtRisk <= 0 || p.AtRisk >= 1 {
		return Errorf(EInvalid, "sla: at_risk is %v, want a fraction between 0 and 1 (e.g. 0.8)", p.AtRisk)
	}
	return nil
}

// WindowDays returns the remediation window in days for a tier and a
// severity. Severity none falls back to low's window and unknown (or
// empty) to medium's when p has no window for them; a tier p does not
// know (or an empty one) uses business-operational's windows; a cell p
// lacks altogether comes from DefaultSLA. It never returns less than 1.
func (p SLAPolicy) WindowDays(tier Tier, sev Severity) int {
	if sev.Rank() == 0 {
		sev = SeverityUnknown
	}
	for _, q := range []SLAPolicy{p, DefaultSLA()} {
		row, ok := q.Days[tier]
		if !ok {
			row = q.Days[TierBusinessOperational]
		}
		if d := row[sev]; d > 0 {
			return d
		}
		switch sev {
		case SeverityNone:
			if d := row[SeverityLow]; d > 0 {
				return d
			}
		case SeverityUnknown:
			if d := row[SeverityMedium]; d > 0 {
				return d
			}
		}
	}
	return 1 // unreachable: DefaultSLA has every cell
}

// Due returns when finding f on a host of tier tier must be fixed:
// firstSeen plus the window's number of calendar days in firstSeen's
// location (time.AddDate), at the same wall-clock time. A DST change in
// between makes that window an hour shorter or longer than n×24h; days
// roll over month ends as the calendar does: 31 January + 30 days is
// 2 March, or 1 March in a leap year; 29 February + 365 days is
// 28 February of the next year.
//
// The severity is EffectiveSeverity(f). When p.KEVDueDates is set and f is
// in the KEV catalogue, the end of the catalogue's due date (23:59:59.999
// UTC on that day, read in UTC) is the deadline if it is earlier than the
// tier's; it never extends the tier's deadline. It may come before
// firstSeen (a host that joins with an overdue KEV finding is breached at
// once). The result is in firstSeen's location.
func (p SLAPolicy) Due(f Finding, tier Tier, firstSeen time.Time) time.Time {
	due := firstSeen.AddDate(0, 0, p.WindowDays(tier, EffectiveSeverity(f)))
	if p.KEVDueDates && f.KEV != nil && !f.KEV.DueDate.IsZero() {
		if k := endOfDayUTC(f.KEV.DueDate); k.Before(due) {
			due = k.In(firstSeen.Location())
		}
	}
	return due
}

// endOfDayUTC returns the last millisecond of t's calendar day in UTC.
// Milliseconds, because that is what the store keeps.
func endOfDayUTC(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 23, 59, 59, int(999*time.Millisecond), time.UTC)
}

// SLAStatus says where an open finding stands against its due date.
type SLAStatus string

// The SLA statuses.
const (
	SLAOnTrack  SLAStatus = "on-track"
	SLAAtRisk   SLAStatus = "at-risk"  // AtRisk of the window has passed
	SLABreached SLAStatus = "breached" // past the due date
)

// Status returns the SLA status at now of a finding first seen at
// firstSeen and due at due: breached once now is after due; at risk once
// the fraction AtRisk (0.8 when unset or invalid) of the window from
// firstSeen to due has passed; on track before. Exactly at due is at risk,
// not yet breached.
func (p SLAPolicy) Status(firstSeen, due, now time.Time) SLAStatus {
	if now.After(due) {
		return SLABreached
	}
	r := p.AtRisk
	if math.IsNaN(r) || r <= 0 || r >= 1 {
		r = DefaultAtRisk
	}
	threshold := firstSeen.Add(time.Duration(float64(due.Sub(firstSeen)) * r))
	if !now.Before(threshold) {
		return SLAAtRisk
	}
	return SLAOnTrack
}
