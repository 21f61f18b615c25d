package version

import (
	"strings"
	"testing"
)

// comparison is one expected ordering: a is older than (-1), equal to (0)
// or newer than (+1) b.
type comparison struct {
	a, b string
	want int
}

// Every expectation below was checked against the real tool: dpkg 1.21
// (dpkg --compare-versions), rpm 4.18 (rpm.vercmp) and apk-tools 2.x's
// version.c (apk version -t), except where a comment says "beyond".

var dpkgCases = []comparison{
	// Tilde sorts before everything, even the end: pre-releases and
	// backports sort before the release they precede.
	{"1.0~rc1", "1.0", -1},
	{"1.0~rc1", "1.0~rc2", -1},
	{"1.0~~", "1.0~~a", -1},
	{"1.0~~a", "1.0~", -1},
	{"1.0~", "1.0", -1},
	{"1.0", "1.0a", -1},
	{"1.2.3-1~deb12u1", "1.2.3-1", -1},
	{"1.0-1~bpo12+1", "1.0-1", -1},
	// Letters sort before non-letters, so an Ubuntu revision sorts before
	// a Debian security update of the same revision.
	{"2.7.4+reloaded2-13ubuntu1", "2.7.4+reloaded2-13+deb9u1", -1},
	{"1.0a", "1.0+", -1},
	{"1.0a", "1.0.", -1},
	{"1.0Z", "1.0a", -1},
	// Digit runs compare as numbers, of any length.
	{"1.9", "1.10", -1},
	{"1.0", "1.00", 0},
	{"1.01", "1.1", 0},
	{"1.99999999999999999999999", "1.100000000000000000000000", -1},
	{"1.0000000000000000000000001", "1.1", 0},
	{"7.88.1-10+deb12u5", "7.88.1-10+deb12u12", -1},
	// Security updates and binary NMUs sort after their base.
	{"1.0-1", "1.0-1+deb12u1", -1},
	{"1.0", "1.0+b1", -1},
	// Epochs outweigh everything; a missing epoch is 0.
	{"1:1.0", "2.0", 1},
	{"0:1.0", "1.0", 0},
	{"1:2.38.1-5+deb12u3", "2.38.1-5+deb12u3", 1},
	{"99999999999999999999:1", "9:1", 1}, // beyond: dpkg refuses epochs above 2^31-1
	{"01:1", "1:1", 0},
	// A missing revision equals "0".
	{"1.0", "1.0-0", 0},
	{"0.0.0", "0.0.0-00", 0},
	{"1.0-0", "1.0-1", -1},
	// The revision is what follows the last hyphen.
	{"1.2-3-4", "1.2-4", 1},
	// Colons after the epoch belong to the upstream version.
	{"1:2:3", "1:2", 1},
	// dpkg trims surrounding blanks and reads the epoch with strtol.
	{" 1.0\t", "1.0", 0},
	{"+1:1.0", "1:1.0", 0},
	// Characters dpkg warns about still sort: above the letters and,
	// for bytes from 0x80 up, below ASCII punctuation.
	{"1.0é", "1.0z", 1},
	{"1.0é", "1.0+", -1},
	{"1.0_", "1.0+", 1},
	// The string ends at a NUL byte, as it does for dpkg.
	{"1.0\x00garbage", "1.0", 0},
}

var rpmCases = []comparison{
	// Tilde sorts before anything, even the end.
	{"1.0~rc1", "1.0", -1},
	{"1.0~rc1~git123", "1.0~rc1", -1},
	{"1.0~rc1", "1.0arc1", -1},
	// Caret sorts after the end but before anything else.
	{"1.0^", "1.0", 1},
	{"1.0^git1", "1.0", 1},
	{"1.0^git1", "1.0.1", -1},
	{"1.0^git1", "1.01", -1},
	{"1.0^20160102", "1.0^20160101^git1", 1},
	{"1.0^git1~pre", "1.0^git1", -1},
	// Digit segments beat letter segments; letters compare in ASCII order.
	{"1.0.1", "1.0.a", 1},
	{"2.0.1a", "2.0.1", 1},
	{"5.5p10", "5.5p2", 1},
	{"10b2", "10a1", 1},
	{"1.0aa", "1.0a", 1},
	{"1-1.ael7b", "1-1.el7", -1},
	{"xyz.4", "2", -1},
	// Leading zeros are ignored; digit runs compare as numbers of any length.
	{"10.0001", "10.1", 0},
	{"1.123456789012345678901234567890", "1.99999", 1},
	// Separators only separate: which one, or how many, does not matter.
	{"2_0", "2.0", 0},
	{"1.0el7", "1.0.el7", 0},
	{"1.", "1", 0},
	{"a+", "a_", 0},
	{"1.1.α", "1.1.β", 0},
	{"1.1.α", "1.1.a", -1},
	// Epochs: a leading number before ':'; missing means 0.
	{"1:1.0-1", "2.0-1", 1},
	{"0:1.0-1", "1.0-1", 0},
	{"3.5.5-4.el9_8", "1:3.5.5-4.el9_8", -1},
	{"01:2", "1:2", 0},
	{":1", "1", 0},
	{"a:1", "b:1", -1}, // not an epoch: part of the version
	// The release is what follows the last hyphen; a version without a
	// release sorts before any release, even an empty one.
	{"1", "1-0", -1},
	{"1", "1-", -1},
	{"1-", "1-0", -1},
	{"1-123", "1-2", 1},
	{"1-1-1", "1-2", 1},
	{"1.0-1.el9", "1.0-1.el9_1", -1},
	{"0:2.4.21-9.EL", "0:2.4.21-9.0.1.EL", -1},
	{"5.14.0-427.13.1.el9_4", "5.14.0-427.16.1.el9_4", -1},
	{"1.20.1-1.module_el8.6.0+2777+e6b2a7bf", "1:1.20.1-1.module_el8.6.0+2777+e6b2a7bf", -1},
	// The string ends at a NUL byte, as it does for rpm.
	{"1.0\x00garbage", "1.0", 0},
}

var apkCases = []comparison{
	// Revisions come last.
	{"1.2.3-r0", "1.2.3-r1", -1},
	{"1.2.3-r9", "1.2.3-r10", -1},
	{"1.2.3-r1", "1.2.4-r0", -1},
	{"1.2.3", "1.2.3-r0", -1},
	{"1-r1", "1-r01", 0},
	// Pre-release suffixes sort before the plain version, in this order;
	// post-release suffixes after it, in this order.
	{"1.2_alpha", "1.2_beta", -1},
	{"1.2_beta", "1.2_pre", -1},
	{"1.2_pre", "1.2_rc", -1},
	{"1.2_rc1", "1.2", -1},
	{"1.2", "1.2_cvs", -1},
	{"1.2_cvs", "1.2_svn", -1},
	{"1.2_svn", "1.2_git", -1},
	{"1.2_git", "1.2_hg", -1},
	{"1.2_hg", "1.2_p", -1},
	{"1.2_p1", "1.2_p2", -1},
	{"3.1_p16", "3.1_p17", -1},
	{"0.1.0_alpha_pre2", "0.1.0_alpha", -1},
	{"1.2_rc1", "1.1", 1},
	// A letter sorts after no letter.
	{"1.2", "1.2a", -1},
	{"1.2a", "1.2b", -1},
	{"2.5.1-r8", "2.5.1a-r1", -1},
	// Number components: numeric, except that a component after a dot
	// that starts with zeros sorts by its count of zeros first.
	{"1.9", "1.10", -1},
	{"1.05", "1.5", -1},
	{"1.001", "1.01", -1},
	{"1.02", "1.010", -1},
	{"1.0", "1.0.1", -1},
	{"006", "1.0.0", 1},
	{"2.01.01_alpha10", "0.94", 1},
	// Numbers of any length. Beyond: apk-tools 2.x overflows a C int and
	// gets the first one wrong; apk-tools 2.14 and later get it right.
	{"1.0.0_pre20191002222144-r0", "1.0.0_pre20210530193627-r0", -1},
	{"1.99999999999999999999999", "1.100000000000000000000000", -1},
	// Letters followed by digits: old openssh packages.
	{"5.7.1p1-r0", "5.7.1p1-r1", -1},
	{"6.6.2p1", "6.6.2p2", -1},
	{"6.6.2p1", "6.6.2_p1", 1},
	// Comparison stops at garbage, which sorts after the end.
	{"1-foo", "1", 1},
	{"1-foo", "1.2", 1},
	{"1.2.0A", "1.2.0d", 1},
	{"1-foo", "1-bar", 0},
	{"1_foo", "1", -1}, // an unknown suffix counts as a pre-release
	// The string ends at a NUL byte.
	{"1.0\x00garbage", "1.0", 0},
}

var semverCases = []comparison{
	// The precedence example of the SemVer 2.0.0 specification.
	{"1.0.0-alpha", "1.0.0-alpha.1", -1},
	{"1.0.0-alpha.1", "1.0.0-alpha.beta", -1},
	{"1.0.0-alpha.beta", "1.0.0-beta", -1},
	{"1.0.0-beta", "1.0.0-beta.2", -1},
	{"1.0.0-beta.2", "1.0.0-beta.11", -1},
	{"1.0.0-beta.11", "1.0.0-rc.1", -1},
	{"1.0.0-rc.1", "1.0.0", -1},
	{"1.0.0", "2.0.0", -1},
	{"2.0.0", "2.1.0", -1},
	{"2.1.0", "2.1.1", -1},
	// Numbers compare numerically, before alphanumeric identifiers.
	{"1.10.0", "1.9.0", 1},
	{"1.0.0-1", "1.0.0-a", -1},
	{"1.0.0-2", "1.0.0-10", -1},
	{"1.0.0-alpha-1", "1.0.0-alpha-2", -1},
	// Build metadata is ignored; a leading "v" too.
	{"1.0.0+build.1", "1.0.0+build.2", 0},
	{"1.0.0-rc.1+build", "1.0.0-rc.1", 0},
	{"v1.2.3", "1.2.3", 0},
	// Go pseudo-versions are pre-releases.
	{"0.0.0-20210101000000-abcdef123456", "0.1.0", -1},
	{"1.2.4-0.20210101000000-abcdef123456", "1.2.4", -1},
	{"1.2.4-0.20210101000000-abcdef123456", "1.2.3", 1},
	// Lenient with what is not SemVer.
	{"1.2", "1.2.0", 0},
	{"01.2.3", "1.2.3", 0},
	{"1.2.3.4", "1.2.3", 1},
	{"99999999999999999999.0.0", "9.0.0", 1},
}

func testCases(t *testing.T, cmp func(a, b string) int, cases []comparison) {
	t.Helper()
	for _, c := range cases {
		if got := cmp(c.a, c.b); got != c.want {
			t.Errorf("compare(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := cmp(c.b, c.a); got != -c.want {
			t.Errorf("compare(%q, %q) = %d, want %d", c.b, c.a, got, -c.want)
		}
	}
}

func TestCompareDpkg(t *testing.T)   { testCases(t, CompareDpkg, dpkgCases) }
func TestCompareRPM(t *testing.T)    { testCases(t, CompareRPM, rpmCases) }
func TestCompareAPK(t *testing.T)    { testCases(t, CompareAPK, apkCases) }
func TestCompareSemver(t *testing.T) { testCases(t, CompareSemver, semverCases) }

// TestLongDigitRuns checks that digit runs far beyond 64 bits neither
// overflow nor get slow.
func TestLongDigitRuns(t *testing.T) {
	long := strings.Repeat("9", 10000)
	longer := "1" + strings.Repeat("0", 10000)
	for _, s := range []Scheme{Dpkg, RPM, APK, Semver} {
		a, b := "1."+long, "1."+longer
		if s == Semver {
			a, b = "1.0."+long, "1.0."+longer
		}
		if got := s.Compare(a, b); got != -1 {
			t.Errorf("%v: 1.9…9 vs 1.10…0 = %d, want -1", s, got)
		}
		if got := s.Compare(a, a); got != 0 {
			t.Errorf("%v: 1.9…9 vs itself = %d, want 0", s, got)
		}
	}
}

// TestNoAllocs checks the comparators' promise not to allocate.
func TestNoAllocs(t *testing.T) {
	for _, s := range []Scheme{Dpkg, RPM, APK, Semver} {
		allocs := testing.AllocsPerRun(100, func() {
			s.Compare("1:2.38.1-5+deb12u3", "1:2.38.1-5+deb12u10")
			s.Compare("3.0.13-r0_p1~rc1^git", "3.0.13-r0_rc1~git")
		})
		if allocs != 0 {
			t.Errorf("%v: %v allocations per comparison, want 0", s, allocs)
		}
	}
}
