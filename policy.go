package patchwave

// This file and its neighbours (selector.go, sla.go, risk.go, baseline.go,
// exception.go, compliance.go) hold the pure rules of patch-management
// policy: which hosts a rule is about, when a finding is due, how risky it
// is, which patches are approved for whom, which exceptions hold, and
// whether a host complies. They do no I/O and read no clock: every function
// that depends on the time takes it as an argument.

import (
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

// Classifications of an update, as vendors label their advisories.
const (
	ClassSecurity    = "security"    // fixes a vulnerability
	ClassBugfix      = "bugfix"      // fixes a defect that is not a vulnerability
	ClassEnhancement = "enhancement" // adds or changes features
)

// Classifications lists every classification.
var Classifications = []string{ClassSecurity, ClassBugfix, ClassEnhancement}

// MaxPolicyText is the longest description, justification or reason a
// policy object may carry, in bytes.
const MaxPolicyText = 4096

// SeverityFromCVSS maps a CVSS base score to its qualitative rating, as
// CVSS v3 and v4 define it: 9.0–10 critical, 7.0–8.9 high, 4.0–6.9 medium,
// 0.1–3.9 low, 0 none. Scores outside 0–10 (or NaN) are unknown.
func SeverityFromCVSS(score float64) Severity {
	switch {
	case math.IsNaN(score) || score < 0 || score > 10:
		return SeverityUnknown
	case score >= 9:
		return SeverityCritical
	case score >= 7:
		return SeverityHigh
	case score >= 4:
		return SeverityMedium
	case score > 0:
		return SeverityLow
	}
	return SeverityNone
}

// EffectiveSeverity is the severity the policy uses for a finding: the
// vendor's rating when it has one (vendors rate how a flaw affects their
// build, and may rate below the upstream CVSS score on purpose), else the
// rating of its CVSS score when it has one, else unknown. An empty or
// unrecognised severity counts as unknown.
func EffectiveSeverity(f Finding) Severity {
	if f.Severity.Rank() > 0 {
		return f.Severity
	}
	if f.CVSS > 0 {
		return SeverityFromCVSS(f.CVSS)
	}
	return SeverityUnknown
}

// globMatch reports whether s matches pattern, in which '*' stands for
// any run of bytes (possibly empty) and every other byte for itself.
// It runs in O(len(pattern)·len(s)) at worst, without recursion.
func globMatch(pattern, s string) bool {
	px, sx := 0, 0
	nextPx, nextSx := 0, 0
	for px < len(pattern) || sx < len(s) {
		if px < len(pattern) {
			c := pattern[px]
			if c == '*' {
				// Try to match the empty string first; come back here
				// to let the star eat one more byte.
				nextPx, nextSx = px, sx+1
				px++
				continue
			}
			if sx < len(s) && s[sx] == c {
				px++
				sx++
				continue
			}
		}
		if 0 < nextSx && nextSx <= len(s) {
			px, sx = nextPx, nextSx
			continue
		}
		return false
	}
	return true
}

// globMatchFold is globMatch ignoring case.
func globMatchFold(pattern, s string) bool {
	return globMatch(strings.ToLower(pattern), strings.ToLower(s))
}

// containsFold reports whether list holds s, ignoring case.
func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// validProse checks free text that may span lines: valid UTF-8, at most
// max bytes, no control characters other than newline and tab.
func validProse(field, s string, max int) error {
	if len(s) > max {
		return Errorf(EInvalid, "%s is %d bytes long, at most %d allowed", field, len(s), max)
	}
	if !utf8.ValidString(s) {
		return Errorf(EInvalid, "%s is not valid UTF-8", field)
	}
	for _, r := range s {
		if (r < ' ' && r != '\n' && r != '\t' && r != '\r') || r == 0x7f {
			return Errorf(EInvalid, "%s contains control character %U", field, r)
		}
	}
	return nil
}

// ParseDate reads a date or a time as policy documents give them: an RFC
// 3339 time (2026-12-01T00:00:00Z), or a plain date (2026-12-01), which
// means the end of that day, 23:59:59.999 UTC, so that the day itself is
// included. Errors name field.
func ParseDate(field, s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return endOfDayUTC(t), nil
	}
	return time.Time{}, Errorf(EInvalid, "%s: %q is not a date like 2026-12-01 or a time like 2026-12-01T00:00:00Z", field, s)
}

// IsEndOfDayUTC reports whether t is the last millisecond of its day in
// UTC, as ParseDate reads plain dates.
func IsEndOfDayUTC(t time.Time) bool { return t.Equal(endOfDayUTC(t)) }
