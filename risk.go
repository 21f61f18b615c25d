package patchwave

import (
	"fmt"
	"math"
	"time"
)

// RiskPart is one term of a risk score, with the facts it comes from.
type RiskPart struct {
	Name   string  `json:"name"`   // severity, kev, epss, tier or exposure
	Points float64 `json:"points"` // this part's share of the score
	Detail string  `json:"detail"` // why, in words
}

// Risk is a finding's risk score from 0 to 100 and the parts it is the
// sum of, so that every score can be explained.
type Risk struct {
	Score float64    `json:"score"` // 0–100
	Parts []RiskPart `json:"parts"`
}

// The weights of RiskScore.
const (
	riskSeverityWeight   = 4.0  // points per CVSS point: 0–40
	riskKEVPoints        = 25.0 // known to be exploited
	riskRansomwarePoints = 10.0 // … and used by ransomware campaigns
	riskEPSSWeight       = 15.0 // times √EPSS: 0–15
	riskExposurePoints   = 10.0 // high-exposure host
)

// riskTierPoints are the points of each tier.
var riskTierPoints = map[Tier]float64{
	TierMissionCritical:     15,
	TierBusinessCritical:    10,
	TierBusinessOperational: 5,
	TierLab:                 0,
}

// vendorSeverityScore maps a vendor's rating to a CVSS-like base score
// (the middle or top of its CVSS range) for findings without a CVSS score.
var vendorSeverityScore = map[Severity]float64{
	SeverityCritical: 9.5,
	SeverityHigh:     7.5,
	SeverityMedium:   5.0,
	SeverityLow:      2.5,
	SeverityNone:     0,
	SeverityUnknown:  5.0, // not rated yet: assume medium, not harmless
}

// RiskScore rates finding f on a host of tier tier, high-exposure or not,
// from 0 to 100. It is the sum of five parts, each rounded to 0.1, then
// capped at 100:
//
//	severity  4 × base, base = f.CVSS when f.CVSS > 0 (clamped to 10),
//	          else the vendor severity: critical 9.5, high 7.5, medium 5,
//	          low 2.5, none 0, unknown or empty 5          0–40
//	kev       25 when f is in CISA's KEV catalogue,
//	          35 when that entry records ransomware use     0–35
//	epss      15 × √EPSS (EPSS clamped to 0–1): the square
//	          root spreads the many small probabilities     0–15
//	tier      mission-critical 15, business-critical 10,
//	          business-operational 5 (also an unknown or
//	          empty tier), lab 0                            0–15
//	exposure  10 on a high-exposure host                    0–10
//
// A critical (9.8) KEV finding with EPSS 0.9 on a mission-critical server
// scores 39.2 + 25 + 14.2 + 15 = 93.4; a medium (5.0) one with EPSS 0.01
// on a lab host scores 20 + 1.5 = 21.5.
//
// The score is monotonic: raising the CVSS score, the vendor severity (of
// a finding without a CVSS score, along none < low < medium < high <
// critical), EPSS or the tier, or adding KEV, ransomware use or high
// exposure never lowers it. Whether a fix exists plays no part: a flaw
// without a fix is no less dangerous. NaN inputs count as 0.
func RiskScore(f Finding, tier Tier, highExposure bool) Risk {
	parts := make([]RiskPart, 0, 5)

	// Severity.
	var base float64
	var detail string
	if cvss := clamp(f.CVSS, 0, 10); cvss > 0 {
		base, detail = cvss, fmt.Sprintf("CVSS base score %.1f × %g", cvss, riskSeverityWeight)
	} else {
		sev := f.Severity
		if _, ok := vendorSeverityScore[sev]; !ok {
			sev = SeverityUnknown
		}
		base = vendorSeverityScore[sev]
		detail = fmt.Sprintf("%s severity (scored %.1f, no CVSS score) × %g", sev, base, riskSeverityWeight)
	}
	parts = append(parts, RiskPart{Name: "severity", Points: round1(riskSeverityWeight * base), Detail: detail})

	// Known exploitation.
	kev := RiskPart{Name: "kev", Detail: "not in the KEV catalogue"}
	if f.KEV != nil {
		kev.Points, kev.Detail = riskKEVPoints, "known exploited (CISA KEV)"
		if !f.KEV.DateAdded.IsZero() {
			kev.Detail += ", listed " + f.KEV.DateAdded.UTC().Format(time.DateOnly)
		}
		if f.KEV.Ransomware {
			kev.Points += riskRansomwarePoints
			kev.Detail += fmt.Sprintf("; used in ransomware campaigns (+%g)", riskRansomwarePoints)
		}
	}
	parts = append(parts, kev)

	// Exploit probability.
	p := clamp(f.EPSS, 0, 1)
	parts = append(parts, RiskPart{Name: "epss", Points: round1(riskEPSSWeight * math.Sqrt(p)),
		Detail: fmt.Sprintf("EPSS %.4f: %g × √%.4f", p, riskEPSSWeight, p)})

	// Tier.
	tp, ok := riskTierPoints[tier]
	td := "tier " + string(tier)
	if !ok {
		tp, td = riskTierPoints[TierBusinessOperational], fmt.Sprintf("tier %q unknown: scored as %s", tier, TierBusinessOperational)
	}
	parts = append(parts, RiskPart{Name: "tier", Points: tp, Detail: td})

	// Exposure.
	exp := RiskPart{Name: "exposure", Detail: "normal exposure"}
	if highExposure {
		exp.Points, exp.Detail = riskExposurePoints, "high-exposure host"
	}
	parts = append(parts, exp)

	var sum float64
	for _, part := range parts {
		sum += part.Points
	}
	return Risk{Score: math.Min(round1(sum), 100), Parts: parts}
}

// clamp returns v limited to [lo, hi], and lo for NaN.
func clamp(v, lo, hi float64) float64 {
	if math.IsNaN(v) || v < lo {
		return lo
	}
	return math.Min(v, hi)
}

// round1 rounds to one decimal place.
func round1(v float64) float64 { return math.Round(v*10) / 10 }
