package version

import "strings"

// Byte-level helpers shared by the comparators. They are ASCII-only on
// purpose: dpkg, rpm and apk classify characters with their own ASCII
// tables (c_isdigit, risalpha, ...), never with the C locale.

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func isAlnum(c byte) bool { return isDigit(c) || isAlpha(c) }

func isLower(c byte) bool { return 'a' <= c && c <= 'z' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// sign maps any int to -1, 0 or +1.
func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

// cString returns s up to its first NUL byte, which is where the C tools
// see a version string end.
func cString(s string) string {
	if i := strings.IndexByte(s, 0); i >= 0 {
		return s[:i]
	}
	return s
}

// trimBlanks removes leading and trailing spaces and tabs (C's isblank).
func trimBlanks(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// compareNumeric compares two strings of decimal digits as numbers of any
// length; the empty string counts as zero.
func compareNumeric(a, b string) int {
	return compareDigitRuns(strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0"))
}

// compareDigitRuns compares two digit strings without leading zeros as
// numbers: the longer one is larger, equal lengths compare bytewise.
func compareDigitRuns(a, b string) int {
	if len(a) != len(b) {
		return sign(len(a) - len(b))
	}
	return strings.Compare(a, b)
}
