package patchwave_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/patchwave/patchwave"
)

func TestRiskScoreExamples(t *testing.T) {
	kev := &patchwave.KEV{CVE: "CVE-2026-0001", DateAdded: day(2026, 1, 5)}
	ransom := &patchwave.KEV{CVE: "CVE-2026-0002", Ransomware: true}
	for _, tc := range []struct {
		name string
		f    patchwave.Finding
		tier patchwave.Tier
		high bool
		want float64
	}{
		{"doc example: critical KEV on a mission-critical server", patchwave.Finding{CVSS: 9.8, KEV: kev, EPSS: 0.9}, patchwave.TierMissionCritical, false, 93.4},
		{"doc example: medium on a lab host", patchwave.Finding{CVSS: 5, EPSS: 0.01}, patchwave.TierLab, false, 21.5},
		{"nothing known, lab", patchwave.Finding{}, patchwave.TierLab, false, 20},
		{"severity none, lab", patchwave.Finding{Severity: patchwave.SeverityNone}, patchwave.TierLab, false, 0},
		{"vendor critical", patchwave.Finding{Severity: patchwave.SeverityCritical}, patchwave.TierBusinessOperational, false, 43},
		{"vendor high, high exposure", patchwave.Finding{Severity: patchwave.SeverityHigh}, patchwave.TierBusinessOperational, true, 45},
		{"CVSS wins over vendor severity", patchwave.Finding{Severity: patchwave.SeverityCritical, CVSS: 4.0}, patchwave.TierLab, false, 16},
		{"ransomware", patchwave.Finding{CVSS: 7.5, KEV: ransom}, patchwave.TierBusinessCritical, false, 75},
		{"capped", patchwave.Finding{CVSS: 10, KEV: ransom, EPSS: 1}, patchwave.TierMissionCritical, true, 100},
		{"out of range and NaN inputs", patchwave.Finding{CVSS: 42, EPSS: math.NaN()}, patchwave.TierLab, false, 40},
		{"negative EPSS", patchwave.Finding{CVSS: 1, EPSS: -3}, patchwave.TierLab, false, 4},
		{"unknown tier scores as business-operational", patchwave.Finding{CVSS: 5}, "gold", false, 25},
		{"no fix is not lower", patchwave.Finding{CVSS: 5, State: patchwave.FindingNoFix}, patchwave.TierLab, false, 20},
	} {
		r := patchwave.RiskScore(tc.f, tc.tier, tc.high)
		if r.Score != tc.want {
			t.Errorf("%s: score %v, want %v (%+v)", tc.name, r.Score, tc.want, r.Parts)
		}
		checkParts(t, r)
	}
}

// checkParts checks the parts sum to the score (before the cap) and are
// named and explained.
func checkParts(t *testing.T, r patchwave.Risk) {
	t.Helper()
	var sum float64
	names := map[string]bool{}
	for _, p := range r.Parts {
		sum += p.Points
		names[p.Name] = true
		if p.Detail == "" || p.Points < 0 {
			t.Errorf("part %+v", p)
		}
	}
	if len(r.Parts) != 5 || !names["severity"] || !names["kev"] || !names["epss"] || !names["tier"] || !names["exposure"] {
		t.Errorf("parts %+v", r.Parts)
	}
	if math.Abs(math.Min(sum, 100)-r.Score) > 1e-9 {
		t.Errorf("parts sum to %v, score %v", sum, r.Score)
	}
	if r.Score < 0 || r.Score > 100 {
		t.Errorf("score %v out of range", r.Score)
	}
}

// riskInput is everything RiskScore reads.
type riskInput struct {
	cvss, epss   float64
	sev          int // index into riskSeverities
	tier         int // index into riskTiers, least critical first
	kev, ransom  bool
	highExposure bool
}

var (
	riskSeverities = []patchwave.Severity{patchwave.SeverityNone, patchwave.SeverityLow, patchwave.SeverityMedium, patchwave.SeverityHigh, patchwave.SeverityCritical}
	riskTiers      = []patchwave.Tier{patchwave.TierLab, patchwave.TierBusinessOperational, patchwave.TierBusinessCritical, patchwave.TierMissionCritical}
)

func (in riskInput) score(t *testing.T) float64 {
	f := patchwave.Finding{CVSS: in.cvss, EPSS: in.epss, Severity: riskSeverities[in.sev]}
	if in.kev {
		f.KEV = &patchwave.KEV{CVE: "CVE-2026-0001", DateAdded: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), Ransomware: in.ransom}
	}
	r := patchwave.RiskScore(f, riskTiers[in.tier], in.highExposure)
	checkParts(t, r)
	return r.Score
}

func TestRiskScoreMonotonic(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	randomInput := func() riskInput {
		in := riskInput{sev: rng.IntN(len(riskSeverities)), tier: rng.IntN(len(riskTiers)), kev: rng.IntN(2) == 0,
			highExposure: rng.IntN(2) == 0, epss: rng.Float64()}
		in.ransom = in.kev && rng.IntN(2) == 0
		if rng.IntN(3) > 0 {
			in.cvss = math.Round(rng.Float64()*100)/10 + 0.1 // 0.1–10.1, clamped to 10
		}
		return in
	}
	// Each raise returns a copy of in with one input raised, or false
	// when it cannot be raised.
	raises := map[string]func(in riskInput) (riskInput, bool){
		"cvss": func(in riskInput) (riskInput, bool) {
			if in.cvss == 0 {
				return in, false // 0 means "no score": the vendor severity counts instead
			}
			in.cvss += rng.Float64() * (10.5 - in.cvss)
			return in, true
		},
		"vendor severity": func(in riskInput) (riskInput, bool) {
			if in.sev == len(riskSeverities)-1 {
				return in, false
			}
			in.sev += 1 + rng.IntN(len(riskSeverities)-1-in.sev)
			return in, true
		},
		"epss": func(in riskInput) (riskInput, bool) {
			in.epss += rng.Float64() * (1 - in.epss)
			return in, true
		},
		"tier": func(in riskInput) (riskInput, bool) {
			if in.tier == len(riskTiers)-1 {
				return in, false
			}
			in.tier++
			return in, true
		},
		"kev": func(in riskInput) (riskInput, bool) {
			if in.kev {
				return in, false
			}
			in.kev = true
			return in, true
		},
		"ransomware": func(in riskInput) (riskInput, bool) {
			if !in.kev || in.ransom {
				return in, false
			}
			in.ransom = true
			return in, true
		},
		"exposure": func(in riskInput) (riskInput, bool) {
			if in.highExposure {
				return in, false
			}
			in.highExposure = true
			return in, true
		},
	}
	for i := 0; i < 20000; i++ {
		in := randomInput()
		before := in.score(t)
		for name, raise := range raises {
			up, ok := raise(in)
			if !ok {
				continue
			}
			if after := up.score(t); after < before {
				t.Fatalf("raising %s lowered the score from %v to %v: %+v → %+v", name, before, after, in, up)
			}
		}
	}
	// Every strict raise of a single factor, from the least risky finding,
	// raises the score.
	// (The vendor severity counts only without a CVSS score; EPSS raises
	// may be too small to show after rounding.)
	for _, base := range []riskInput{{cvss: 0.1}, {}} {
		for name, raise := range raises {
			if name == "epss" || (name == "vendor severity" && base.cvss > 0) {
				continue
			}
			if up, ok := raise(base); ok && up.score(t) <= base.score(t) {
				t.Errorf("raising %s from %+v did not raise the score", name, base)
			}
		}
	}
}
