// Package version orders package versions the way each ecosystem's own
// tool does: dpkg for Debian and Ubuntu, rpm for the Red Hat family and
// SUSE, apk-tools for Alpine and its relatives, and Semantic Versioning
// for language ecosystems such as npm, Go and crates.io.
//
// Deciding whether an installed version is older than a fixed one is the
// heart of vulnerability matching, and every scheme has traps: dpkg's '~'
// sorts before the end of the string, rpm's '^' after it, rpm compares
// digit runs above letter runs while dpkg does the opposite, an epoch
// outweighs everything else. The comparators here are checked against the
// real tools (dpkg --compare-versions, rpm's rpm.vercmp, apk version -t)
// on tens of thousands of version pairs.
//
// Each Compare function accepts any string, returns -1, 0 or +1, never
// panics and does not allocate; use [Valid] to reject malformed versions at
// ingest. [For] and [Lookup] map an OSV ecosystem name such as "Debian:12",
// "Ubuntu:Pro:18.04:LTS" or "Alpine:v3.19" to its ordering.
package version

import (
	"errors"
	"fmt"
	"strings"
)

// Scheme is one way of ordering versions: the rules of one package
// manager. The zero Scheme is not valid.
type Scheme int

// The version schemes, each named after the tool whose order it follows.
const (
	Dpkg   Scheme = iota + 1 // Debian packages: dpkg --compare-versions; see CompareDpkg
	RPM                      // RPM packages, [epoch:]version-release: rpmvercmp; see CompareRPM
	APK                      // Alpine packages: apk version -t; see CompareAPK
	Semver                   // Semantic Versioning 2.0; see CompareSemver
)

// String returns the scheme's lower-case name: dpkg, rpm, apk or semver.
func (s Scheme) String() string {
	switch s {
	case Dpkg:
		return "dpkg"
	case RPM:
		return "rpm"
	case APK:
		return "apk"
	case Semver:
		return "semver"
	}
	return fmt.Sprintf("Scheme(%d)", int(s))
}

// Compare orders a and b by the scheme's rules, returning -1, 0 or +1.
// It panics if s is not one of the defined schemes.
func (s Scheme) Compare(a, b string) int {
	return s.compareFunc()(a, b)
}

// compareFunc returns the comparison function of s.
func (s Scheme) compareFunc() func(a, b string) int {
	switch s {
	case Dpkg:
		return CompareDpkg
	case RPM:
		return CompareRPM
	case APK:
		return CompareAPK
	case Semver:
		return CompareSemver
	}
	panic(fmt.Sprintf("version: Compare on invalid %v", s))
}

// Validate reports whether v is a well-formed version in scheme s. The
// error, if any, is a *SyntaxError that matches ErrInvalid.
func (s Scheme) Validate(v string) error {
	var reason string
	switch s {
	case Dpkg:
		reason = validateDpkg(v)
	case RPM:
		reason = validateRPM(v)
	case APK:
		reason = validateAPK(v)
	case Semver:
		reason = validateSemver(v)
	default:
		return fmt.Errorf("version: Validate on invalid %v", s)
	}
	if reason != "" {
		return &SyntaxError{Scheme: s, Version: v, Reason: reason}
	}
	return nil
}

// ErrInvalid is matched (with errors.Is) by every error that reports a
// malformed version.
var ErrInvalid = errors.New("invalid version")

// ErrUnknownEcosystem is matched by the errors of Lookup, For and Valid
// for an ecosystem whose version ordering this package does not know.
var ErrUnknownEcosystem = errors.New("unknown ecosystem")

// SyntaxError describes a version string that its scheme does not accept.
type SyntaxError struct {
	Scheme  Scheme
	Version string // the version as given
	Reason  string // what is wrong with it, e.g. "epoch is not a number"
}

// Error returns the error message, with the version quoted and cut to 64
// characters.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid %v version %.64q: %s", e.Scheme, e.Version, e.Reason)
}

// Unwrap returns ErrInvalid.
func (e *SyntaxError) Unwrap() error { return ErrInvalid }

// ecosystems maps the OSV ecosystem names (the part before any ':') whose
// version ordering is known to their scheme. The names are those of the
// OSV schema's ecosystems.json and are case-sensitive.
var ecosystems = map[string]Scheme{
	"Debian": Dpkg,
	"Ubuntu": Dpkg,

	"AlmaLinux":   RPM,
	"Azure Linux": RPM,
	"Mageia":      RPM,
	"openEuler":   RPM,
	"openSUSE":    RPM,
	"Photon OS":   RPM,
	"Red Hat":     RPM,
	"Rocky Linux": RPM,
	"SUSE":        RPM,

	"Alpaquita":  APK,
	"Alpine":     APK,
	"Chainguard": APK,
	"MinimOS":    APK,
	"Wolfi":      APK,

	"Bitnami":   Semver,
	"crates.io": Semver,
	"Go":        Semver,
	"Hex":       Semver,
	"npm":       Semver,
	"SwiftURL":  Semver,
}

// Lookup returns the version scheme of an OSV ecosystem. The ecosystem may
// carry a release or stream after a colon ("Debian:12", "Ubuntu:22.04:LTS",
// "Ubuntu:Pro:18.04:LTS", "Alpine:v3.19", "AlmaLinux:9", "Rocky Linux:9",
// "Red Hat:rhel_aus:8.4::appstream", "SUSE:Linux Enterprise Server 15 SP5");
// only the name before it decides. An ecosystem this package does not know
// yields an error that matches ErrUnknownEcosystem.
func Lookup(ecosystem string) (Scheme, error) {
	name, _, _ := strings.Cut(ecosystem, ":")
	if s, ok := ecosystems[name]; ok {
		return s, nil
	}
	if name == "" {
		return 0, fmt.Errorf("version: %w: empty ecosystem name in %q", ErrUnknownEcosystem, ecosystem)
	}
	for known := range ecosystems {
		if strings.EqualFold(known, name) {
			return 0, fmt.Errorf("version: %w %q (ecosystem names are case-sensitive: did you mean %q?)",
				ErrUnknownEcosystem, ecosystem, known)
		}
	}
	return 0, fmt.Errorf("version: %w %q: no known version ordering", ErrUnknownEcosystem, ecosystem)
}

// For returns the comparison function of an OSV ecosystem's versions (see
// Lookup), such as CompareDpkg for "Debian:12".
func For(ecosystem string) (Compare func(a, b string) int, err error) {
	s, err := Lookup(ecosystem)
	if err != nil {
		return nil, err
	}
	return s.compareFunc(), nil
}

// Valid reports whether v is a well-formed version in an OSV ecosystem
// (see Lookup). A malformed version yields a *SyntaxError that matches
// ErrInvalid; an unknown ecosystem an error that matches
// ErrUnknownEcosystem. What each scheme accepts:
//
//   - dpkg: what dpkg accepts without an error or a warning, except that
//     an upstream version that does not start with a digit is accepted
//     (dpkg only warns), while blanks around the version (which dpkg
//     trims) and a signed epoch ("+1:2.0", which dpkg's strtol reads but
//     dpkg-source refuses) are refused.
//   - rpm: [epoch:]version[-release] where the epoch is a number that fits
//     in 32 bits, and version and release are non-empty and made of ASCII
//     letters, digits and "._+~^" (what rpmbuild allows).
//   - apk: what apk-tools 2.x accepts, starting with a digit, without
//     empty number components ("1..2", "1.", "1-r") and with at most one
//     revision. Letters followed by digits ("6.6.2p1"), which apk-tools
//     2.14 and later refuse, are accepted: older Alpine releases have them.
//   - semver: Semantic Versioning 2.0.0 exactly, with an optional
//     leading "v".
func Valid(ecosystem, v string) error {
	s, err := Lookup(ecosystem)
	if err != nil {
		return err
	}
	return s.Validate(v)
}
