package version

import "strings"

// CompareDpkg orders two Debian package versions ([epoch:]upstream[-revision])
// as dpkg --compare-versions does, returning -1, 0 or +1.
//
// The epoch is compared as a number (absent means 0), then the upstream
// version and the revision with dpkg's verrevcmp: alternating runs of
// non-digits and digits; in the non-digit runs '~' sorts before everything,
// even the end of the string, letters sort before all other characters, and
// other characters by their byte value; digit runs are compared as numbers
// of any length (leading zeros ignored, no overflow). A missing revision
// is the same as "0": "1.0" equals "1.0-0".
//
// Any string is accepted, and the result is a total preorder on all strings.
// As in dpkg, surrounding blanks (space, tab) are ignored and the string ends
// at its first NUL byte. Where dpkg would refuse a version (see [Valid]) the
// comparison is lenient: an epoch that is not a number (dpkg's strtol
// reading, so "+1:" is epoch 1) makes the whole string the upstream
// version, and an empty revision counts as absent.
func CompareDpkg(a, b string) int {
	ae, au, ar := splitDpkg(a)
	be, bu, br := splitDpkg(b)
	if c := compareNumeric(ae, be); c != 0 {
		return c
	}
	if c := verrevcmp(au, bu); c != 0 {
		return c
	}
	return verrevcmp(ar, br)
}

// splitDpkg splits a Debian version into its epoch digits (possibly empty,
// meaning 0), upstream version and revision, without allocating.
func splitDpkg(v string) (epoch, upstream, revision string) {
	v = trimBlanks(cString(v))
	if i := strings.IndexByte(v, ':'); i >= 0 {
		if e, ok := dpkgEpoch(v[:i]); ok {
			epoch, v = e, v[i+1:]
		}
	}
	if i := strings.LastIndexByte(v, '-'); i >= 0 {
		return epoch, v[:i], v[i+1:]
	}
	return epoch, v, ""
}

// dpkgEpoch returns the digits of an epoch as dpkg's strtol reads it: an
// optional sign and at least one digit. A negative epoch is not one.
func dpkgEpoch(s string) (digits string, ok bool) {
	switch {
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	case strings.HasPrefix(s, "-"):
		s = s[1:]
		if strings.Trim(s, "0") != "" {
			return "", false
		}
	}
	return s, s != "" && allDigits(s)
}

// dpkgOrder is dpkg's order(): the weight of one non-digit character in
// verrevcmp. End of string and digits weigh 0, '~' weighs -1, letters their
// ASCII code and everything else its code plus 256. Bytes from 0x80 up are
// weighed as dpkg does where C's char is signed (amd64, i386): 128 to 255,
// above the letters and below ASCII punctuation.
func dpkgOrder(s string, i int) int {
	if i >= len(s) {
		return 0
	}
	c := s[i]
	switch {
	case isDigit(c):
		return 0
	case isAlpha(c):
		return int(c)
	case c == '~':
		return -1
	case c >= 0x80:
		return int(int8(c)) + 256
	default:
		return int(c) + 256
	}
}

// verrevcmp compares an upstream version or a revision as dpkg does.
func verrevcmp(a, b string) int {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		// Non-digit prefix, character by character.
		for (i < len(a) && !isDigit(a[i])) || (j < len(b) && !isDigit(b[j])) {
			ac, bc := dpkgOrder(a, i), dpkgOrder(b, j)
			if ac != bc {
				return sign(ac - bc)
			}
			// Equal weights here mean both are the same non-digit
			// character: neither is at its end nor at a digit.
			i++
			j++
		}
		// Digit run, compared as a number.
		for i < len(a) && a[i] == '0' {
			i++
		}
		for j < len(b) && b[j] == '0' {
			j++
		}
		si, sj := i, j
		for i < len(a) && isDigit(a[i]) {
			i++
		}
		for j < len(b) && isDigit(b[j]) {
			j++
		}
		if c := compareDigitRuns(a[si:i], b[sj:j]); c != 0 {
			return c
		}
	}
	return 0
}
