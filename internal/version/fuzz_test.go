package version

import "testing"

// The fuzz targets check that a comparator never panics, returns only -1,
// 0 or +1, is reflexive and antisymmetric on any input, and is transitive
// on the triple (a, b, a+b); and that Validate never panics.

func FuzzCompareDpkg(f *testing.F)   { fuzzCompare(f, Dpkg, dpkgCases) }
func FuzzCompareRPM(f *testing.F)    { fuzzCompare(f, RPM, rpmCases) }
func FuzzCompareAPK(f *testing.F)    { fuzzCompare(f, APK, apkCases) }
func FuzzCompareSemver(f *testing.F) { fuzzCompare(f, Semver, semverCases) }

func fuzzCompare(f *testing.F, s Scheme, seeds []comparison) {
	for _, c := range seeds {
		f.Add(c.a, c.b)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ab, ba := s.Compare(a, b), s.Compare(b, a)
		if ab < -1 || ab > 1 {
			t.Fatalf("compare(%q, %q) = %d, not -1, 0 or +1", a, b, ab)
		}
		if ab != -ba {
			t.Fatalf("compare(%q, %q) = %d but compare(%q, %q) = %d", a, b, ab, b, a, ba)
		}
		if aa := s.Compare(a, a); aa != 0 {
			t.Fatalf("compare(%q, itself) = %d", a, aa)
		}
		c := a + b
		ac, bc := s.Compare(a, c), s.Compare(b, c)
		if ab <= 0 && bc <= 0 && ac > 0 || ab >= 0 && bc >= 0 && ac < 0 {
			t.Fatalf("not transitive: %q %q %q: %d %d %d", a, b, c, ab, bc, ac)
		}
		_ = s.Validate(a)
	})
}
