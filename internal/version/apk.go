package version

// CompareAPK orders two Alpine package versions as apk-tools 2.x does
// (apk version -t, apk_version_compare), returning -1, 0 or +1.
//
// A version is number{.number}...{letter}{_suffix{number}}...{-rN}: number
// components compare numerically, except that a component after a dot that
// starts with zeros sorts by its count of zeros first ("1.05" < "1.5",
// "1.001" < "1.01"); a single lower-case letter sorts after no letter
// ("1.2" < "1.2a" < "1.2b"); the suffixes _alpha, _beta, _pre and _rc sort
// before the plain version and _cvs, _svn, _git, _hg and _p after it, each
// followed by an optional number; the -rN package revision comes last.
//
// Numbers of any length compare exactly, where apk-tools 2.x overflows a
// C int past 2^31 and sorts "_pre20210530193627" before
// "_pre20191002222144".
//
// Any string is accepted, and the result is a total preorder on all
// strings. As in apk, comparison stops at the first thing that is not part
// of the grammar, and a version that goes on with such garbage sorts after
// any version that ends or goes on validly at that point ("1-foo" > "1.2").
// The string ends at its first NUL byte.
//
// This is the comparison of apk-tools up to 2.12, which produced the
// project's reference data. apk-tools 2.14 and 3 rewrote it. On versions
// the rewrite accepts, the two agree but for number components with
// leading zeros, which the rewrite compares as strings ("1.02" vs
// "1.010"), and for 3's commit hashes ("1.0~abc"), which 2.x stops at.
// The rewrite refuses a letter followed by digits ("6.6.2p1") and then
// stops comparing, so that it sees "5.7.1p1-r0" and "5.7.1p1-r1" as
// equal; older Alpine releases have such versions, and this comparator
// orders them as their apk did.
func CompareAPK(a, b string) int {
	sa := apkScanner{s: cString(a), typ: apkDigit}
	sb := apkScanner{s: cString(b), typ: apkDigit}
	var av, bv apkValue
	for sa.typ == sb.typ && sa.typ != apkEnd && sa.typ != apkInvalid {
		av, bv = sa.token(), sb.token()
		if c := av.cmp(bv); c != 0 {
			return c
		}
	}
	if sa.typ == sb.typ {
		return 0
	}
	// One version goes on where the other stops or differs in kind. The
	// one that goes on is newer, unless it goes on with a pre-release
	// suffix (or a suffix apk does not know, which it also takes as one).
	if sa.typ == apkSuffix {
		if t := sa; t.token().small < 0 {
			return -1
		}
	}
	if sb.typ == apkSuffix {
		if t := sb; t.token().small < 0 {
			return 1
		}
	}
	// Token types are ranked so that a larger type is older: the end of
	// the string sorts before a revision, a revision before a suffix
	// number, and so on; garbage (apkInvalid) sorts last.
	return sign(sb.typ - sa.typ)
}

// Token types of apk-tools 2.x, in its order: the comparison of two
// versions that differ in the type of a token depends on it.
const (
	apkInvalid     = iota - 1 // garbage: comparison stops here
	apkDigitOrZero            // a number after a dot: leading zeros count
	apkDigit                  // a number
	apkLetter                 // one lower-case letter
	apkSuffix                 // _alpha, _p, ...
	apkSuffixNo               // the number after a suffix
	apkRevisionNo             // the number after -r
	apkEnd
)

// apkScanner walks a version as apk-tools 2.x's get_token does: typ is
// the type of the token at the start of s, which token consumes.
type apkScanner struct {
	s   string
	typ int
}

// apkValue is the value of one token: a small integer (a letter, a suffix
// rank, minus a count of leading zeros, or a number below 10^18) or, in
// big, the digits of a larger number without leading zeros.
type apkValue struct {
	small int
	big   string
}

func (a apkValue) cmp(b apkValue) int {
	switch {
	case a.big != "" && b.big != "":
		return compareDigitRuns(a.big, b.big)
	case a.big != "":
		return 1
	case b.big != "":
		return -1
	}
	return sign(a.small - b.small)
}

// apkNumber is the value of a run of digits.
func apkNumber(digits string) apkValue {
	for len(digits) > 0 && digits[0] == '0' {
		digits = digits[1:]
	}
	if len(digits) > 18 {
		return apkValue{big: digits}
	}
	n := 0
	for i := 0; i < len(digits); i++ {
		n = n*10 + int(digits[i]-'0')
	}
	return apkValue{small: n}
}

// apkPreSuffixes sort before the plain version, apkPostSuffixes after it.
// apk matches them as prefixes, in this order.
var (
	apkPreSuffixes  = [...]string{"alpha", "beta", "pre", "rc"}
	apkPostSuffixes = [...]string{"cvs", "svn", "git", "hg", "p"}
)

// token consumes the token of type s.typ, returns its value and sets
// s.typ to the type of the next one (get_token and next_token).
func (s *apkScanner) token() apkValue {
	if len(s.s) == 0 {
		s.typ = apkEnd
		return apkValue{}
	}
	var v apkValue
	i, next := 0, apkInvalid
	switch s.typ {
	case apkDigitOrZero:
		if s.s[0] == '0' {
			for i < len(s.s) && s.s[i] == '0' {
				i++
			}
			v, next = apkValue{small: -i}, apkDigit
			break
		}
		fallthrough
	case apkDigit, apkSuffixNo, apkRevisionNo:
		for i < len(s.s) && isDigit(s.s[i]) {
			i++
		}
		v = apkNumber(s.s[:i])
	case apkLetter:
		v, i = apkValue{small: int(s.s[0])}, 1
	case apkSuffix:
		if r, n := apkSuffixRank(s.s); n > 0 {
			v, i = apkValue{small: r}, n
			break
		}
		s.typ = apkInvalid
		return apkValue{small: -1}
	default:
		s.typ = apkInvalid
		return apkValue{small: -1}
	}
	s.s = s.s[i:]
	switch {
	case len(s.s) == 0:
		s.typ = apkEnd
	case next != apkInvalid:
		s.typ = next
	default:
		s.nextType()
	}
	return v
}

// apkSuffixRank matches a suffix name at the start of s and returns its
// rank (negative for pre-release suffixes) and length; length 0 means none.
func apkSuffixRank(s string) (rank, n int) {
	for i, p := range apkPreSuffixes {
		if len(s) >= len(p) && s[:len(p)] == p {
			return i - len(apkPreSuffixes), len(p)
		}
	}
	for i, p := range apkPostSuffixes {
		if len(s) >= len(p) && s[:len(p)] == p {
			return i, len(p)
		}
	}
	return 0, 0
}

// nextType determines the type of the token at the start of s from its
// first character and the type of the token before it, consuming any
// separator (next_token). s is not empty.
func (s *apkScanner) nextType() {
	n := apkInvalid
	c := s.s[0]
	switch {
	case (s.typ == apkDigit || s.typ == apkDigitOrZero) && isLower(c):
		n = apkLetter
	case s.typ == apkLetter && isDigit(c):
		n = apkDigit
	case s.typ == apkSuffix && isDigit(c):
		n = apkSuffixNo
	default:
		switch c {
		case '.':
			n = apkDigitOrZero
		case '_':
			n = apkSuffix
		case '-':
			if len(s.s) > 1 && s.s[1] == 'r' {
				n = apkRevisionNo
				s.s = s.s[1:]
			}
		}
		s.s = s.s[1:]
	}
	// Tokens come in grammar order; going back is allowed only for
	// another number component, suffix or letter-number pair.
	if n < s.typ && !(n == apkDigitOrZero && s.typ == apkDigit ||
		n == apkSuffix && s.typ == apkSuffixNo ||
		n == apkDigit && s.typ == apkLetter) {
		n = apkInvalid
	}
	s.typ = n
}
