package feed

import (
	"math"
	"slices"
	"strings"

	"github.com/patchwave/patchwave"
)

// CVSSScore computes the base score of a CVSS vector: v3.0 and v3.1
// ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H") and v2
// ("AV:N/AC:L/Au:N/C:P/I:P/A:P", optionally "CVSS:2.0/"-prefixed or in
// parentheses). Temporal and environmental metrics are checked and
// ignored: the result is the base score, as advisories publish it. Each
// base metric must appear exactly once. CVSS v4.0 vectors are refused with
// an ENotSupported error (their score needs FIRST's macro-vector table);
// anything else malformed is EInvalid.
func CVSSScore(vector string) (float64, error) {
	v := strings.TrimSpace(vector)
	switch {
	case strings.HasPrefix(v, "CVSS:3.0/"), strings.HasPrefix(v, "CVSS:3.1/"):
		return cvss3(v)
	case strings.HasPrefix(v, "CVSS:4"):
		return 0, patchwave.Errorf(patchwave.ENotSupported, "CVSS vector %.80q: version 4 scores are not computed", vector)
	case strings.HasPrefix(v, "CVSS:2.0/"):
		return cvss2(v[len("CVSS:2.0/"):], vector)
	case strings.HasPrefix(v, "(") && strings.HasSuffix(v, ")"):
		return cvss2(v[1:len(v)-1], vector)
	case strings.HasPrefix(v, "AV:"):
		return cvss2(v, vector)
	}
	return 0, patchwave.Errorf(patchwave.EInvalid, "CVSS vector %.80q: unknown version", vector)
}

// SeverityFromCVSS maps a base score to a severity by CVSS's qualitative
// scale: 0 none, below 4 low, below 7 medium, below 9 high, else
// critical. Scores outside [0, 10] (or NaN) are unknown.
func SeverityFromCVSS(score float64) patchwave.Severity {
	switch {
	case !(score >= 0 && score <= 10):
		return patchwave.SeverityUnknown
	case score == 0:
		return patchwave.SeverityNone
	case score < 4:
		return patchwave.SeverityLow
	case score < 7:
		return patchwave.SeverityMedium
	case score < 9:
		return patchwave.SeverityHigh
	}
	return patchwave.SeverityCritical
}

// cvssMetric is one metric a vector may hold: its allowed values and,
// for base metrics, their weights.
type cvssMetric struct {
	base   bool
	values string // allowed value letters
}

// The metrics of CVSS v3 vectors: base, temporal, environmental.
var cvss3Metrics = map[string]cvssMetric{
	"AV": {true, "NALP"}, "AC": {true, "LH"}, "PR": {true, "NLH"}, "UI": {true, "NR"}, "S": {true, "UC"},
	"C": {true, "HLN"}, "I": {true, "HLN"}, "A": {true, "HLN"},
	"E": {false, "XHFPU"}, "RL": {false, "XUWTO"}, "RC": {false, "XCRU"},
	"CR": {false, "XHML"}, "IR": {false, "XHML"}, "AR": {false, "XHML"},
	"MAV": {false, "XNALP"}, "MAC": {false, "XLH"}, "MPR": {false, "XNLH"}, "MUI": {false, "XNR"}, "MS": {false, "XUC"},
	"MC": {false, "XHLN"}, "MI": {false, "XHLN"}, "MA": {false, "XHLN"},
}

// The metrics of CVSS v2 vectors.
var cvss2Metrics = map[string]cvssMetric{
	"AV": {true, "LAN"}, "AC": {true, "HML"}, "Au": {true, "MSN"}, "C": {true, "NPC"}, "I": {true, "NPC"}, "A": {true, "NPC"},
	"E": {false, "UPOHFND"}, "RL": {false, "OTWUND"}, "RC": {false, "UCNRD"},
	"CDP": {false, "NLHND"}, "TD": {false, "NLMHND"}, "CR": {false, "LMHND"}, "IR": {false, "LMHND"}, "AR": {false, "LMHND"},
}

// parseMetrics splits "K:V/K:V…" checking names, values and repeats, and
// returns the base metrics' values.
func parseMetrics(s, vector string, metrics map[string]cvssMetric, nbase int) (map[string]string, error) {
	bad := func(format string, args ...any) error {
		return patchwave.Errorf(patchwave.EInvalid, "CVSS vector %.80q: "+format, append([]any{vector}, args...)...)
	}
	base := make(map[string]string, nbase)
	seen := make(map[string]bool, 8)
	for _, part := range strings.Split(s, "/") {
		k, val, ok := strings.Cut(part, ":")
		if !ok {
			return nil, bad("%.20q is not metric:value", part)
		}
		m, known := metrics[k]
		if !known {
			return nil, bad("unknown metric %.10q", k)
		}
		if seen[k] {
			return nil, bad("metric %s repeated", k)
		}
		seen[k] = true
		// v2 temporal/environmental values are words ("ND", "POC"): accept
		// them by their first letters; base values are single letters.
		if m.base && (len(val) != 1 || !strings.Contains(m.values, val)) ||
			!m.base && (val == "" || !strings.Contains(m.values, val[:1])) {
			return nil, bad("%s:%.10s is not a valid value", k, val)
		}
		if m.base {
			base[k] = val
		}
	}
	if len(base) != nbase {
		var missing []string
		for k, m := range metrics {
			if m.base && base[k] == "" {
				missing = append(missing, k)
			}
		}
		return nil, bad("base metrics missing: %s", strings.Join(slices.Sorted(slices.Values(missing)), ", "))
	}
	return base, nil
}

func cvss3(vector string) (float64, error) {
	version := vector[len("CVSS:") : len("CVSS:")+3]
	m, err := parseMetrics(vector[len("CVSS:3.x/"):], vector, cvss3Metrics, 8)
	if err != nil {
		return 0, err
	}
	changed := m["S"] == "C"
	av := map[string]float64{"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2}[m["AV"]]
	ac := map[string]float64{"L": 0.77, "H": 0.44}[m["AC"]]
	var pr float64
	switch m["PR"] {
	case "N":
		pr = 0.85
	case "L":
		pr = 0.62
		if changed {
			pr = 0.68
		}
	case "H":
		pr = 0.27
		if changed {
			pr = 0.5
		}
	}
	ui := map[string]float64{"N": 0.85, "R": 0.62}[m["UI"]]
	cia := map[string]float64{"H": 0.56, "L": 0.22, "N": 0}
	iss := 1 - (1-cia[m["C"]])*(1-cia[m["I"]])*(1-cia[m["A"]])
	var impact float64
	if changed {
		impact = 7.52*(iss-0.029) - 3.25*math.Pow(iss-0.02, 15)
	} else {
		impact = 6.42 * iss
	}
	exploitability := 8.22 * av * ac * pr * ui
	if impact <= 0 {
		return 0, nil
	}
	score := impact + exploitability
	if changed {
		score *= 1.08
	}
	score = math.Min(score, 10)
	if version == "3.0" {
		return math.Ceil(score*10) / 10, nil
	}
	return roundUp31(score), nil
}

// roundUp31 is CVSS v3.1's Roundup: the smallest number with one decimal
// at least x, computed so that floating-point noise (4.000000000000001)
// does not bump a score.
func roundUp31(x float64) float64 {
	i := int64(math.Round(x * 100000))
	if i%10000 == 0 {
		return float64(i) / 100000
	}
	return float64(i/10000+1) / 10
}

func cvss2(s, vector string) (float64, error) {
	m, err := parseMetrics(s, vector, cvss2Metrics, 6)
	if err != nil {
		return 0, err
	}
	av := map[string]float64{"L": 0.395, "A": 0.646, "N": 1.0}[m["AV"]]
	ac := map[string]float64{"H": 0.35, "M": 0.61, "L": 0.71}[m["AC"]]
	au := map[string]float64{"M": 0.45, "S": 0.56, "N": 0.704}[m["Au"]]
	cia := map[string]float64{"N": 0, "P": 0.275, "C": 0.660}
	impact := 10.41 * (1 - (1-cia[m["C"]])*(1-cia[m["I"]])*(1-cia[m["A"]]))
	exploitability := 20 * av * ac * au
	f := 1.176
	if impact == 0 {
		f = 0
	}
	score := (0.6*impact + 0.4*exploitability - 1.5) * f
	return math.Round(score*10+1e-9) / 10, nil
}
