package version

import "strings"

// CompareRPM orders two RPM versions written as [epoch:]version[-release]
// (an EVR) as rpm ≥ 4.16 does (rpmverCmp; rpm.vercmp in rpm's Lua),
// returning -1, 0 or +1.
//
// The string is split as rpm's parseEVR splits it: the epoch is a leading
// run of digits followed by ':' (absent or empty means 0), the release is
// whatever follows the last '-', and the version is what lies between.
// Epoch, version and release are then compared in turn with rpmvercmp: runs
// of ASCII letters or digits are compared segment by segment, everything
// else only separates segments; digit runs compare as numbers of any length
// and beat letter runs; '~' sorts before anything, even the end of the
// string; '^' sorts after the end of the string but before anything else.
// A version without a release sorts before the same version with any
// release, even an empty one ("1" < "1-" < "1-0").
//
// Any string is accepted, and the result is a total preorder on all
// strings. As in rpm, the string ends at its first NUL byte.
func CompareRPM(a, b string) int {
	ae, av, ar, aHasR := splitEVR(a)
	be, bv, br, bHasR := splitEVR(b)
	if c := rpmvercmp(ae, be); c != 0 {
		return c
	}
	if c := rpmvercmp(av, bv); c != 0 {
		return c
	}
	switch {
	case aHasR && bHasR:
		return rpmvercmp(ar, br)
	case aHasR:
		return 1
	case bHasR:
		return -1
	}
	return 0
}

// splitEVR splits an EVR string as rpm's parseEVR does. The epoch is "0"
// when absent or empty.
func splitEVR(evr string) (epoch, version, release string, hasRelease bool) {
	evr = cString(evr)
	epoch, version = "0", evr
	s := 0
	for s < len(evr) && isDigit(evr[s]) {
		s++
	}
	if s < len(evr) && evr[s] == ':' {
		if s > 0 {
			epoch = evr[:s]
		}
		version = evr[s+1:]
	}
	if i := strings.LastIndexByte(version, '-'); i >= 0 {
		return epoch, version[:i], version[i+1:], true
	}
	return epoch, version, "", false
}

// rpmvercmp compares one epoch, version or release as rpm's rpmvercmp.
func rpmvercmp(a, b string) int {
	if a == b {
		return 0
	}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		for i < len(a) && !isAlnum(a[i]) && a[i] != '~' && a[i] != '^' {
			i++
		}
		for j < len(b) && !isAlnum(b[j]) && b[j] != '~' && b[j] != '^' {
			j++
		}
		aEnd, bEnd := i == len(a), j == len(b)

		// Tilde sorts before everything else, even the end.
		aTilde, bTilde := !aEnd && a[i] == '~', !bEnd && b[j] == '~'
		if aTilde || bTilde {
			if !aTilde {
				return 1
			}
			if !bTilde {
				return -1
			}
			i++
			j++
			continue
		}

		// Caret sorts after the end but before everything else.
		aCaret, bCaret := !aEnd && a[i] == '^', !bEnd && b[j] == '^'
		if aCaret || bCaret {
			switch {
			case aEnd:
				return -1
			case bEnd:
				return 1
			case !aCaret:
				return 1
			case !bCaret:
				return -1
			}
			i++
			j++
			continue
		}

		if aEnd || bEnd {
			break
		}

		// One segment: all digits or all letters, as a[i] decides.
		si, sj := i, j
		isNum := isDigit(a[i])
		if isNum {
			for si < len(a) && isDigit(a[si]) {
				si++
			}
			for sj < len(b) && isDigit(b[sj]) {
				sj++
			}
		} else {
			for si < len(a) && isAlpha(a[si]) {
				si++
			}
			for sj < len(b) && isAlpha(b[sj]) {
				sj++
			}
		}
		if sj == j {
			// Different kinds of segment: numbers are newer.
			if isNum {
				return 1
			}
			return -1
		}
		if isNum {
			for i < si && a[i] == '0' {
				i++
			}
			for j < sj && b[j] == '0' {
				j++
			}
			if c := compareDigitRuns(a[i:si], b[j:sj]); c != 0 {
				return c
			}
		} else if c := strings.Compare(a[i:si], b[j:sj]); c != 0 {
			return c
		}
		i, j = si, sj
	}
	switch {
	case i == len(a) && j == len(b):
		return 0
	case i == len(a):
		return -1
	}
	return 1
}
