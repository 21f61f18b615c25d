package feed

import (
	"math"
	"strings"
	"testing"

	"github.com/patchwave/patchwave"
)

func TestCVSSScore(t *testing.T) {
	for _, tc := range []struct {
		vector string
		score  float64
		from   string // where the published score comes from
	}{
		// Vector and base score pairs published together in shared/data.
		{"CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H", 8.8, "suse/csaf-opensuse-su-2016_1623-1.json"},
		{"CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H/E:U/RL:O/RC:C", 7.8, "msrc/csaf-msrc_cve-2025-29795.json"},
		{"CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:N/I:N/A:H", 5.3, "redhat/csaf-rhsa-2024_6163.json"},
		{"CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:C/C:N/I:H/A:N", 6.8, "redhat/csaf-rhsa-2025_23414.json"},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:N/I:H/A:N", 8.6, "redhat/csaf-rhsa-2025_23414.json"},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H", 8.8, "redhat/vex-cve-2023-6212.json"},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:N/A:N/E:P/RL:O/RC:C", 6.5, "msrc/csaf-msrc_cve-2025-29806.json"},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H/E:P/RL:O/RC:C", 7.5, "msrc/cvrf-2024-Mar.trimmed.xml"},
		// Well-known published scores (NVD).
		{"CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H", 8.1, "CVE-2024-6387 (regreSSHion)"},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0, "CVE-2021-44228 (Log4Shell)"},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, "CVE-2014-0160 class"},
		{"CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N", 5.5, "NVD"},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0, "no impact"},
		{"CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:L/I:L/A:H", 6.6, "UBUNTU-CVE-2022-24823 family"},
		{"CVSS:3.1/AV:L/AC:H/PR:H/UI:N/S:C/C:H/I:H/A:H", 7.5, "NVD"},
		{"AV:N/AC:L/Au:N/C:P/I:P/A:P", 7.5, "CVSS v2 guide"},
		{"AV:N/AC:L/Au:N/C:C/I:C/A:C", 10.0, "CVSS v2 guide"},
		{"AV:N/AC:M/Au:N/C:N/I:P/A:N", 4.3, "CVSS v2 guide"},
		{"AV:L/AC:L/Au:N/C:C/I:C/A:C", 7.2, "CVSS v2 guide"},
		{"(AV:N/AC:L/Au:N/C:N/I:N/A:P)", 5.0, "NVD v2 form"},
		{"CVSS:2.0/AV:N/AC:L/Au:S/C:P/I:P/A:P/E:POC/RL:OF/RC:C", 6.5, "prefixed v2 with temporal"},
		{"AV:N/AC:L/Au:N/C:N/I:N/A:N", 0, "v2 no impact"},
	} {
		got, err := CVSSScore(tc.vector)
		if err != nil || got != tc.score {
			t.Errorf("%s (%s): %v %v, want %v", tc.vector, tc.from, got, err, tc.score)
		}
	}
}

func TestCVSSScoreInvalid(t *testing.T) {
	for _, tc := range []struct{ vector, code, want string }{
		{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", patchwave.ENotSupported, "version 4"},
		{"", patchwave.EInvalid, "unknown version"},
		{"CVSS:3.2/AV:N", patchwave.EInvalid, "unknown version"},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H", patchwave.EInvalid, "missing: A"},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/A:L", patchwave.EInvalid, "repeated"},
		{"CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", patchwave.EInvalid, "AV:X"},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/ZZ:1", patchwave.EInvalid, "unknown metric"},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/", patchwave.EInvalid, "metric:value"},
		{"AV:N/AC:L/Au:N/C:P/I:P", patchwave.EInvalid, "missing: A"},
		{"AV:N/AC:L/Au:N/C:P/I:P/A:H", patchwave.EInvalid, "A:H"},
	} {
		_, err := CVSSScore(tc.vector)
		if err == nil || patchwave.ErrorCode(err) != tc.code || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %s %q", tc.vector, err, tc.code, tc.want)
		}
	}
}

func TestSeverityFromCVSS(t *testing.T) {
	for score, want := range map[float64]patchwave.Severity{
		0: patchwave.SeverityNone, 0.1: patchwave.SeverityLow, 3.9: patchwave.SeverityLow, 4: patchwave.SeverityMedium,
		6.9: patchwave.SeverityMedium, 7: patchwave.SeverityHigh, 8.9: patchwave.SeverityHigh, 9: patchwave.SeverityCritical,
		10: patchwave.SeverityCritical, -1: patchwave.SeverityUnknown, 10.1: patchwave.SeverityUnknown, math.NaN(): patchwave.SeverityUnknown,
	} {
		if got := SeverityFromCVSS(score); got != want {
			t.Errorf("SeverityFromCVSS(%v) = %s, want %s", score, got, want)
		}
	}
}

// TestCVSSSharedRecords scores every CVSS vector the shared OSV records
// carry: each must compute (or be v4, refused) and land in [0, 10].
func TestCVSSSharedRecords(t *testing.T) {
	dir := sharedData(t, "ubuntu_osv")
	n := 0
	_, err := Options{SkipInvalid: true}.ReadOSV(t.Context(), dir, func(name string, a patchwave.Advisory) error {
		sev := a.Severity
		for _, af := range a.Affected {
			sev = append(sev, af.Severity...)
		}
		for _, s := range sev {
			if !strings.HasPrefix(s.Type, "CVSS_") {
				continue
			}
			n++
			score, err := CVSSScore(s.Score)
			if s.Type == "CVSS_V4" && patchwave.ErrorCode(err) == patchwave.ENotSupported {
				continue
			}
			if err != nil || score < 0 || score > 10 {
				t.Errorf("%s: %s: %v %v", name, s.Score, score, err)
			}
		}
		return nil
	})
	if err != nil || n == 0 {
		t.Errorf("%d vectors, %v", n, err)
	}
}

func FuzzCVSSScore(f *testing.F) {
	for _, v := range []string{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "CVSS:3.0/AV:L/AC:H/PR:H/UI:R/S:C/C:L/I:N/A:N/E:X",
		"AV:N/AC:L/Au:N/C:P/I:P/A:P", "(AV:L/AC:M/Au:S/C:N/I:N/A:C/E:ND)", "CVSS:4.0/AV:N"} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		s, err := CVSSScore(v)
		if err == nil && !(s >= 0 && s <= 10) {
			t.Fatalf("%q scored %v", v, s)
		}
	})
}
