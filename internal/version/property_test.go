package version

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// schemeSamples describes, for one scheme, where to find versions to test
// the order's properties on: its hand-written cases, the shared data's
// version_compare files and a generator of random versions.
type schemeSamples struct {
	scheme Scheme
	cases  []comparison
	files  []string
	gen    func(r *rand.Rand) string
}

var samples = []schemeSamples{
	{Dpkg, dpkgCases, []string{"debian-versions.txt", "debian-versions-generated.txt"}, genDpkg},
	{RPM, rpmCases, []string{"redhat-versions.txt"}, genRPM},
	{APK, apkCases, []string{"alpine-versions.txt", "alpine-versions-generated.txt"}, genAPK},
	{Semver, semverCases, nil, genSemver},
}

// versions returns the sample versions of s: its cases, n generated ones
// and, when present, those of the shared data.
func (s schemeSamples) versions(t *testing.T, n int) []string {
	var vs []string
	for _, c := range s.cases {
		vs = append(vs, c.a, c.b)
	}
	r := rand.New(rand.NewPCG(uint64(s.scheme), 1))
	for range n {
		vs = append(vs, s.gen(r))
	}
	vs = append(vs, sharedVersions(t, s.files...)...)
	slices.Sort(vs)
	return slices.Compact(vs)
}

func TestReflexive(t *testing.T) {
	for _, s := range samples {
		for _, v := range s.versions(t, 2000) {
			// A copy, so that no comparator can get away with comparing
			// pointers.
			w := strings.Clone(v)
			if got := s.scheme.Compare(v, w); got != 0 {
				t.Errorf("%v: compare(%q, itself) = %d", s.scheme, v, got)
			}
		}
	}
}

func TestAntisymmetric(t *testing.T) {
	for _, s := range samples {
		vs := s.versions(t, 2000)
		r := rand.New(rand.NewPCG(2, uint64(s.scheme)))
		for range 200000 {
			a, b := vs[r.IntN(len(vs))], vs[r.IntN(len(vs))]
			if ab, ba := s.scheme.Compare(a, b), s.scheme.Compare(b, a); ab != -ba {
				t.Errorf("%v: compare(%q, %q) = %d but compare(%q, %q) = %d", s.scheme, a, b, ab, b, a, ba)
			}
		}
	}
}

// TestTransitive sorts each sample and checks that the sorted order agrees
// with the comparator on every pair of a small sample and on random pairs
// of the large one, and checks random triples of related versions.
func TestTransitive(t *testing.T) {
	for _, s := range samples {
		cmp := s.scheme.Compare
		vs := s.versions(t, 3000)
		slices.SortStableFunc(vs, cmp)
		checkSorted(t, s.scheme, vs, 300)

		r := rand.New(rand.NewPCG(3, uint64(s.scheme)))
		for range 100000 {
			base := s.gen(r)
			a, b, c := mutate(r, base, s.gen), mutate(r, base, s.gen), mutate(r, base, s.gen)
			ab, bc, ac := cmp(a, b), cmp(b, c), cmp(a, c)
			if ab <= 0 && bc <= 0 && ac > 0 || ab >= 0 && bc >= 0 && ac < 0 {
				t.Errorf("%v: not transitive: %q %q %q: %d %d %d", s.scheme, a, b, c, ab, bc, ac)
			}
		}
	}
}

// checkSorted checks cmp(vs[i], vs[j]) <= 0 for i < j: all pairs among
// the first n versions spread over vs, and random pairs of the rest.
func checkSorted(t *testing.T, s Scheme, vs []string, n int) {
	t.Helper()
	step := max(1, len(vs)/n)
	for i := 0; i < len(vs); i += step {
		for j := i + step; j < len(vs); j += step {
			if c := s.Compare(vs[i], vs[j]); c > 0 {
				t.Errorf("%v: sorted %q before %q, yet compare = %d", s, vs[i], vs[j], c)
				return
			}
		}
	}
	r := rand.New(rand.NewPCG(4, uint64(s)))
	for range 100000 {
		i, j := r.IntN(len(vs)), r.IntN(len(vs))
		if i > j {
			i, j = j, i
		}
		if c := s.Compare(vs[i], vs[j]); c > 0 {
			t.Errorf("%v: sorted %q before %q, yet compare = %d", s, vs[i], vs[j], c)
			return
		}
	}
}

// mutate returns a version that shares a prefix with base, so that
// comparisons reach deep into the strings.
func mutate(r *rand.Rand, base string, gen func(*rand.Rand) string) string {
	v := base[:r.IntN(len(base)+1)]
	switch r.IntN(3) {
	case 0:
		return v + gen(r)
	case 1:
		return v + pick(r, "0", "1", "00", "9", "a", "z", "~", "^", "-", ".", "_", "+", ":", "-r1", "_p", "_rc")
	}
	return v
}

func pick(r *rand.Rand, xs ...string) string { return xs[r.IntN(len(xs))] }

// repeat joins n results of f.
func repeat(r *rand.Rand, n int, f func() string) string {
	var b strings.Builder
	for range n {
		b.WriteString(f())
	}
	return b.String()
}

func number(r *rand.Rand) string {
	switch r.IntN(8) {
	case 0:
		return "0" + strconv.Itoa(r.IntN(100))
	case 1:
		return strconv.FormatUint(r.Uint64(), 10) + strconv.Itoa(r.IntN(1000))
	}
	return strconv.Itoa(r.IntN(30))
}

func genDpkg(r *rand.Rand) string {
	piece := func() string {
		return pick(r, number(r), ".", "+", "~", "a", "b", "z", "A", "deb", "ubuntu", "+deb12u", "~rc", ".", "-")
	}
	v := number(r) + repeat(r, r.IntN(6), piece)
	if r.IntN(4) == 0 {
		v = strconv.Itoa(r.IntN(3)) + ":" + v
	}
	if r.IntN(2) == 0 {
		v += "-" + number(r) + repeat(r, r.IntN(4), func() string {
			return pick(r, number(r), ".", "+", "~", "a", "deb", "ubuntu", "bpo")
		})
	}
	return v
}

func genRPM(r *rand.Rand) string {
	piece := func() string {
		return pick(r, number(r), ".", "_", "+", "~", "^", "a", "b", "p", "rc", "git", "el", "EL", "module", "α")
	}
	v := number(r) + repeat(r, r.IntN(6), piece)
	if r.IntN(4) == 0 {
		v = strconv.Itoa(r.IntN(3)) + ":" + v
	}
	if r.IntN(3) != 0 {
		v += "-" + repeat(r, r.IntN(5), piece)
	}
	return v
}

func genAPK(r *rand.Rand) string {
	v := number(r) + repeat(r, r.IntN(4), func() string { return "." + number(r) })
	if r.IntN(4) == 0 {
		v += pick(r, "a", "b", "p", "z")
		if r.IntN(2) == 0 {
			v += number(r)
		}
	}
	v += repeat(r, r.IntN(3), func() string {
		return "_" + pick(r, "alpha", "beta", "pre", "rc", "cvs", "svn", "git", "hg", "p", "foo") + pick(r, "", number(r))
	})
	if r.IntN(2) == 0 {
		v += "-r" + number(r)
	}
	if r.IntN(10) == 0 {
		v += pick(r, "-", "-foo", "A", ".", "..1", "~abc", "-r")
	}
	return v
}

func genSemver(r *rand.Rand) string {
	ident := func() string {
		return pick(r, number(r), "alpha", "beta", "rc", "x-y", "A", "0a")
	}
	v := number(r) + "." + number(r) + "." + number(r)
	if r.IntN(8) == 0 {
		v = number(r) + pick(r, "", "."+number(r), ".x.y")
	}
	if r.IntN(2) == 0 {
		v += "-" + ident() + repeat(r, r.IntN(3), func() string { return "." + ident() })
	}
	if r.IntN(4) == 0 {
		v += "+build." + number(r)
	}
	if r.IntN(4) == 0 {
		v = "v" + v
	}
	return v
}
