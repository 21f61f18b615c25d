package version

import "strings"

// CompareSemver orders two Semantic Versioning 2.0 versions by precedence,
// returning -1, 0 or +1. A leading "v" is ignored ("v1.2.3" as in Go
// module versions); build metadata after '+' is ignored.
//
// MAJOR.MINOR.PATCH compare numerically; a version with a pre-release
// ("1.0.0-rc.1") sorts before the same version without one; pre-release
// identifiers compare one by one, numeric ones as numbers and before
// alphanumeric ones, which compare in ASCII order; a longer list of
// identifiers sorts after its prefix.
//
// Any string is accepted and ordered as leniently as it can be: missing
// core components count as 0 ("1.2" equals "1.2.0"), leading zeros are
// ignored, and identifiers that are not numbers compare in ASCII order
// after all numbers.
func CompareSemver(a, b string) int {
	ac, ap, aHasPre := splitSemver(a)
	bc, bp, bHasPre := splitSemver(b)
	if c := compareSemverCore(ac, bc); c != 0 {
		return c
	}
	switch {
	case aHasPre && bHasPre:
		return compareSemverPre(ap, bp)
	case aHasPre:
		return -1
	case bHasPre:
		return 1
	}
	return 0
}

// splitSemver drops a leading "v" and build metadata and splits what is
// left into the core version and the pre-release.
func splitSemver(v string) (core, pre string, hasPre bool) {
	v = strings.TrimPrefix(v, "v")
	if i := strings.IndexByte(v, '+'); i >= 0 {
		v = v[:i]
	}
	core, pre, hasPre = strings.Cut(v, "-")
	return core, pre, hasPre
}

// compareSemverCore compares dot-separated core versions, the shorter
// padded with zeros.
func compareSemverCore(a, b string) int {
	fa, fb := fields{s: a, done: a == ""}, fields{s: b, done: b == ""}
	for {
		x, xok := fa.next()
		y, yok := fb.next()
		switch {
		case !xok && !yok:
			return 0
		case !xok:
			x = "0"
		case !yok:
			y = "0"
		}
		if c := compareSemverIdent(x, y); c != 0 {
			return c
		}
	}
}

// compareSemverPre compares dot-separated pre-release identifiers; a list
// that is a prefix of the other sorts first.
func compareSemverPre(a, b string) int {
	fa, fb := fields{s: a}, fields{s: b}
	for {
		x, xok := fa.next()
		y, yok := fb.next()
		switch {
		case !xok && !yok:
			return 0
		case !xok:
			return -1
		case !yok:
			return 1
		}
		if c := compareSemverIdent(x, y); c != 0 {
			return c
		}
	}
}

// fields iterates over the dot-separated fields of s.
type fields struct {
	s    string
	done bool
}

func (f *fields) next() (field string, ok bool) {
	if f.done {
		return "", false
	}
	field, f.s, ok = strings.Cut(f.s, ".")
	f.done = !ok
	return field, true
}

// compareSemverIdent compares two identifiers: numbers numerically and
// before everything else, everything else in ASCII order.
func compareSemverIdent(a, b string) int {
	an, bn := a != "" && allDigits(a), b != "" && allDigits(b)
	switch {
	case an && bn:
		return compareNumeric(a, b)
	case an:
		return -1
	case bn:
		return 1
	}
	return strings.Compare(a, b)
}
