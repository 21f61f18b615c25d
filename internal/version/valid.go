package version

import (
	"fmt"
	"strings"
)

// The validators return "" for a valid version or the reason it is not.

// validateDpkg follows dpkg's parseversion: its errors and its "invalid
// character" warnings are refused, its "does not start with a digit"
// warning is not. Unlike dpkg it refuses blanks around the version.
func validateDpkg(v string) string {
	switch {
	case v == "":
		return "version string is empty"
	case strings.TrimLeft(v, " \t") == "":
		return "version string is blank"
	case trimBlanks(v) != v:
		return "version string has leading or trailing blanks"
	case strings.ContainsAny(v, " \t"):
		return "version string has embedded spaces"
	}
	rest := v
	if i := strings.IndexByte(v, ':'); i >= 0 {
		epoch := v[:i]
		switch {
		case epoch == "":
			return "epoch in version is empty"
		case !allDigits(epoch):
			return "epoch in version is not a number"
		case compareNumeric(epoch, "2147483647") > 0:
			return "epoch in version is too big"
		case i == len(v)-1:
			return "nothing after colon in version number"
		}
		rest = v[i+1:]
	}
	upstream, revision, hasRevision := rest, "", false
	if i := strings.LastIndexByte(rest, '-'); i >= 0 {
		upstream, revision, hasRevision = rest[:i], rest[i+1:], true
	}
	if hasRevision && revision == "" {
		return "revision number is empty"
	}
	if upstream == "" {
		return "upstream version is empty"
	}
	if i := strings.IndexFunc(upstream, func(r rune) bool {
		return r > 0x7f || !isAlnum(byte(r)) && !strings.ContainsRune(".-+~:", r)
	}); i >= 0 {
		return fmt.Sprintf("invalid character %q in upstream version", upstream[i:i+1])
	}
	if i := strings.IndexFunc(revision, func(r rune) bool {
		return r > 0x7f || !isAlnum(byte(r)) && !strings.ContainsRune(".+~", r)
	}); i >= 0 {
		return fmt.Sprintf("invalid character %q in revision number", revision[i:i+1])
	}
	return ""
}

// validateRPM accepts [epoch:]version[-release] as rpm's parseEVR splits
// it, with a 32-bit epoch and the characters rpmbuild allows in Version
// and Release.
func validateRPM(v string) string {
	if v == "" {
		return "version string is empty"
	}
	rest := v
	if i := strings.IndexByte(v, ':'); i >= 0 && allDigits(v[:i]) {
		switch {
		case i == 0:
			return "epoch is empty"
		case compareNumeric(v[:i], "4294967295") > 0:
			return "epoch is too big"
		}
		rest = v[i+1:]
	}
	version, release, hasRelease := rest, "", false
	if i := strings.LastIndexByte(rest, '-'); i >= 0 {
		version, release, hasRelease = rest[:i], rest[i+1:], true
	}
	switch {
	case version == "":
		return "version is empty"
	case hasRelease && release == "":
		return "release is empty"
	}
	for _, part := range [...]struct{ name, s string }{{"version", version}, {"release", release}} {
		if i := strings.IndexFunc(part.s, func(r rune) bool {
			return r > 0x7f || !isAlnum(byte(r)) && !strings.ContainsRune("._+~^", r)
		}); i >= 0 {
			return fmt.Sprintf("invalid character %q in %s", part.s[i:i+1], part.name)
		}
	}
	return ""
}

// validateAPK accepts what apk-tools 2.x's apk_version_validate accepts,
// provided the version starts with a digit and has no empty number
// component and at most one revision, which apk-tools 2.x tolerates.
func validateAPK(v string) string {
	if v == "" {
		return "version string is empty"
	}
	if !isDigit(v[0]) {
		return "version does not start with a digit"
	}
	s := apkScanner{s: v, typ: apkDigit}
	for s.typ != apkEnd && s.typ != apkInvalid {
		at := len(v) - len(s.s)
		if (s.typ == apkDigitOrZero || s.typ == apkRevisionNo) && (s.s == "" || !isDigit(s.s[0])) {
			return fmt.Sprintf("missing number at byte %d", at)
		}
		typ := s.typ
		s.token()
		if typ == apkRevisionNo && s.typ == apkRevisionNo {
			// apk-tools 2.x lets "-r1-r2" through; 2.14 and later do not.
			return fmt.Sprintf("second revision at byte %d", len(v)-len(s.s)-2)
		}
		if s.typ == apkInvalid {
			return fmt.Sprintf("unexpected %.16q at byte %d: not number{.number}{letter}{_suffix{number}}{-rN}",
				v[at:], at)
		}
	}
	return ""
}

// validateSemver accepts Semantic Versioning 2.0.0 versions with an
// optional leading "v".
func validateSemver(v string) string {
	s := strings.TrimPrefix(v, "v")
	if s == "" {
		return "version string is empty"
	}
	s, build, hasBuild := strings.Cut(s, "+")
	core, pre, hasPre := strings.Cut(s, "-")
	parts := 0
	for f := (fields{s: core}); ; {
		p, ok := f.next()
		if !ok {
			break
		}
		if parts++; parts > 3 {
			break
		}
		if reason := semverNumber(p); reason != "" {
			return "core version: " + reason
		}
	}
	if parts != 3 {
		return "core version is not MAJOR.MINOR.PATCH"
	}
	if hasPre {
		for f := (fields{s: pre}); ; {
			id, ok := f.next()
			if !ok {
				break
			}
			if reason := semverIdent(id); reason != "" {
				return "pre-release: " + reason
			}
			if allDigits(id) {
				if reason := semverNumber(id); reason != "" {
					return "pre-release: " + reason
				}
			}
		}
	}
	if hasBuild {
		for f := (fields{s: build}); ; {
			id, ok := f.next()
			if !ok {
				break
			}
			if reason := semverIdent(id); reason != "" {
				return "build metadata: " + reason
			}
		}
	}
	return ""
}

// semverNumber checks a numeric identifier.
func semverNumber(s string) string {
	switch {
	case s == "":
		return "empty number"
	case !allDigits(s):
		return fmt.Sprintf("%q is not a number", s)
	case len(s) > 1 && s[0] == '0':
		return fmt.Sprintf("number %q has a leading zero", s)
	}
	return ""
}

// semverIdent checks a pre-release or build identifier.
func semverIdent(s string) string {
	if s == "" {
		return "empty identifier"
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) && s[i] != '-' {
			return fmt.Sprintf("invalid character %q in identifier", s[i:i+1])
		}
	}
	return ""
}
