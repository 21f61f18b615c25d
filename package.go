package patchwave

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"unicode/utf8"
)

// Package is one installed package on a host.
type Package struct {
	Name          string `json:"name"`
	Version       string `json:"version"` // with epoch where the format has one: 1:2.38-5
	Arch          string `json:"arch,omitempty"`
	Source        string `json:"source,omitempty"`         // source package name, when it differs
	SourceVersion string `json:"source_version,omitempty"` // source version, when it differs
}

// Key identifies a package within a set: one name may be installed for
// several architectures (multiarch) or versions (rpm kernels).
func (p Package) Key() string { return p.Name + "\x00" + p.Arch + "\x00" + p.Version }

// Compare orders packages by name, arch and version (bytewise).
func (p Package) Compare(q Package) int {
	return cmp.Or(strings.Compare(p.Name, q.Name), strings.Compare(p.Arch, q.Arch),
		strings.Compare(p.Version, q.Version), strings.Compare(p.Source, q.Source),
		strings.Compare(p.SourceVersion, q.SourceVersion))
}

// Validate checks one package entry.
func (p Package) Validate() error {
	if p.Name == "" {
		return Errorf(EInvalid, "package with version %q has no name", p.Version)
	}
	if p.Version == "" {
		return Errorf(EInvalid, "package %q has no version", p.Name)
	}
	if n := len(p.Name) + len(p.Version) + len(p.Arch) + len(p.Source) + len(p.SourceVersion); n > MaxPackageBytes {
		return Errorf(EInvalid, "package %.64q is %d bytes long, at most %d allowed", p.Name, n, MaxPackageBytes)
	}
	for _, f := range []struct{ name, v string }{{"name", p.Name}, {"version", p.Version}, {"arch", p.Arch},
		{"source", p.Source}, {"source_version", p.SourceVersion}} {
		if !utf8.ValidString(f.v) {
			return Errorf(EInvalid, "package %s %q is not valid UTF-8", f.name, f.v)
		}
		for _, r := range f.v {
			if r <= ' ' || r == 0x7f {
				return Errorf(EInvalid, "package %s %q contains %U", f.name, f.v, r)
			}
		}
	}
	return nil
}

// SortPackages sorts ps in place and drops exact duplicates.
func SortPackages(ps []Package) []Package {
	slices.SortFunc(ps, Package.Compare)
	return slices.Compact(ps)
}

// ValidatePackages checks a whole package list against the limits.
func ValidatePackages(ps []Package) error {
	if len(ps) > MaxPackages {
		return Errorf(EInvalid, "package list has %d entries, at most %d allowed", len(ps), MaxPackages)
	}
	for _, p := range ps {
		if err := p.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// HashPackages returns the content hash of a sorted package list. Hosts
// with identical lists share one stored package set under this hash.
func HashPackages(sorted []Package) string {
	return hashBytes(EncodePackages(sorted))
}

func hashBytes(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// EncodePackages writes a sorted package list in the compact stored form:
// one line per package, tab-separated fields.
func EncodePackages(sorted []Package) []byte {
	n := 0
	for _, p := range sorted {
		n += len(p.Name) + len(p.Version) + len(p.Arch) + len(p.Source) + len(p.SourceVersion) + 5
	}
	b := make([]byte, 0, n)
	for _, p := range sorted {
		b = append(b, p.Name...)
		b = append(b, '\t')
		b = append(b, p.Version...)
		b = append(b, '\t')
		b = append(b, p.Arch...)
		b = append(b, '\t')
		b = append(b, p.Source...)
		b = append(b, '\t')
		b = append(b, p.SourceVersion...)
		b = append(b, '\n')
	}
	return b
}

// DecodePackages reads what EncodePackages wrote, in one pass over b.
func DecodePackages(b []byte) ([]Package, error) {
	if len(b) > 0 && b[len(b)-1] != '\n' {
		return nil, Errorf(EInternal, "package set: last line is not terminated")
	}
	s := string(b) // one copy; every field below is a substring of it
	ps := make([]Package, 0, bytes.Count(b, []byte{'\n'}))
	for len(s) > 0 {
		i := strings.IndexByte(s, '\n')
		line := s[:i]
		s = s[i+1:]
		var f [5]string
		n := 0
		for n < 4 {
			j := strings.IndexByte(line, '\t')
			if j < 0 {
				break
			}
			f[n], line = line[:j], line[j+1:]
			n++
		}
		if n != 4 || strings.IndexByte(line, '\t') >= 0 {
			return nil, Errorf(EInternal, "package set: a line has %d fields, want 5", n+1+strings.Count(line, "\t"))
		}
		f[4] = line
		ps = append(ps, Package{Name: f[0], Version: f[1], Arch: f[2], Source: f[3], SourceVersion: f[4]})
	}
	return ps, nil
}

// PackageDelta is the change from one package list to another.
type PackageDelta struct {
	Added   []Package `json:"added,omitempty"`
	Removed []Package `json:"removed,omitempty"`
}

// Empty reports whether d changes nothing.
func (d PackageDelta) Empty() bool { return len(d.Added) == 0 && len(d.Removed) == 0 }

// DiffPackages returns the delta from sorted list a to sorted list b.
func DiffPackages(a, b []Package) PackageDelta {
	var d PackageDelta
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i].Compare(b[j]) < 0):
			d.Removed = append(d.Removed, a[i])
			i++
		case i == len(a) || a[i].Compare(b[j]) > 0:
			d.Added = append(d.Added, b[j])
			j++
		default:
			i++
			j++
		}
	}
	return d
}

// ApplyDelta returns sorted list a with d applied.
func ApplyDelta(a []Package, d PackageDelta) []Package {
	removed := make(map[Package]bool, len(d.Removed))
	for _, p := range d.Removed {
		removed[p] = true
	}
	out := make([]Package, 0, len(a)+len(d.Added))
	for _, p := range a {
		if !removed[p] {
			out = append(out, p)
		}
	}
	out = append(out, d.Added...)
	return SortPackages(out)
}
