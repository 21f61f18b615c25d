// Package feed reads advisory sources: OSV records (single files,
// directories and osv.dev-style all.zip archives), the CISA KEV catalogue,
// FIRST EPSS score files, Microsoft's CVRF security update documents and
// end-of-life tables, and fetches any of them over HTTP or from a local
// path for air-gapped sites.
//
// Parsers work on []byte or io.Reader, never panic on bad input, bound the
// memory they use, and return errors that name the offending record. The
// I/O around them is thin.
package feed

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/patchwave/patchwave"
)

// MaxRecordBytes is the largest OSV record accepted, in bytes. The largest
// real records (Linux kernel notices) are a few hundred KiB.
const MaxRecordBytes = 4 << 20

// maxIDBytes bounds an advisory id.
const maxIDBytes = 256

// RecordError is the error for one malformed record: Name is the file or
// archive entry it came from, ID the record's id when it could be read.
type RecordError struct {
	Name string
	ID   string
	Err  error
}

// Error says which record is malformed and why.
func (e *RecordError) Error() string {
	switch {
	case e.Name != "" && e.ID != "":
		return fmt.Sprintf("%s (%s): %v", e.Name, e.ID, e.Err)
	case e.Name != "":
		return fmt.Sprintf("%s: %v", e.Name, e.Err)
	case e.ID != "":
		return fmt.Sprintf("%s: %v", e.ID, e.Err)
	}
	return e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *RecordError) Unwrap() error { return e.Err }

// ParseOSV decodes one OSV record and validates what the matcher relies
// on: an id and a modified time; every affected entry names a package
// (ecosystem and name) unless all its ranges are GIT ranges; every range
// has a known type (ECOSYSTEM, SEMVER, GIT), at least one "introduced"
// event, and events with exactly one field set; GIT ranges name their repo.
// Unknown fields are ignored, as OSV grows new ones. Records over
// MaxRecordBytes are refused. Errors are *RecordError (with the id when
// known) wrapping a patchwave.EInvalid error.
func ParseOSV(b []byte) (patchwave.Advisory, error) {
	if len(b) > MaxRecordBytes {
		return patchwave.Advisory{}, &RecordError{ID: peekID(b), Err: patchwave.Errorf(patchwave.EInvalid,
			"OSV record is %d bytes, at most %d allowed", len(b), MaxRecordBytes)}
	}
	a, ok := decodeOSVFast(b)
	if !ok {
		// The unusual or broken: encoding/json decodes it, or says why not.
		a = patchwave.Advisory{}
		if err := json.Unmarshal(b, &a); err != nil {
			return patchwave.Advisory{}, &RecordError{ID: peekID(b), Err: patchwave.Errorf(patchwave.EInvalid,
				"OSV record: %s", jsonError(b, err))}
		}
	}
	if err := validateOSV(&a); err != nil {
		return patchwave.Advisory{}, &RecordError{ID: a.ID, Err: err}
	}
	return a, nil
}

// jsonError describes a decoding error with its byte offset when known.
func jsonError(b []byte, err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("invalid JSON at byte %d of %d: %v", se.Offset, len(b), err)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("field %q: JSON %s where %s is expected (byte %d)", te.Field, te.Value, te.Type, te.Offset)
	}
	return err.Error()
}

// peekID finds the record's top-level id without decoding the whole
// record, for messages about records that do not decode. It returns ""
// when it finds none.
func peekID(b []byte) string {
	if len(b) > MaxRecordBytes {
		b = b[:MaxRecordBytes]
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	depth, key := 0, true
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		switch tok := tok.(type) {
		case json.Delim:
			if tok == '{' || tok == '[' {
				depth++
			} else {
				depth--
			}
			if depth == 0 {
				return ""
			}
			key = true
			continue
		case string:
			if depth == 1 && key && tok == "id" {
				if id, err := dec.Token(); err == nil {
					if s, ok := id.(string); ok && len(s) <= maxIDBytes && utf8.ValidString(s) {
						return s
					}
				}
				return ""
			}
		}
		// In an object, keys and values alternate; Token hides the colons.
		key = depth == 1 && !key
		if depth > 1 {
			key = false
		}
	}
}

func invalid(format string, args ...any) error {
	return patchwave.Errorf(patchwave.EInvalid, format, args...)
}

func validateOSV(a *patchwave.Advisory) error {
	if a.ID == "" {
		return invalid("OSV record has no id")
	}
	if len(a.ID) > maxIDBytes {
		return invalid("OSV id %.64q… is %d bytes long, at most %d allowed", a.ID, len(a.ID), maxIDBytes)
	}
	if !utf8.ValidString(a.ID) || strings.ContainsFunc(a.ID, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return invalid("OSV id %q contains a space, control character or invalid UTF-8", a.ID)
	}
	if a.Modified.IsZero() {
		return invalid("OSV record has no modified time")
	}
	for i := range a.Affected {
		if err := validateAffected(&a.Affected[i]); err != nil {
			return fmt.Errorf("affected[%d]: %w", i, err)
		}
	}
	return nil
}

func validateAffected(af *patchwave.Affected) error {
	p := af.Package
	if p.Ecosystem == "" || p.Name == "" {
		// OSV allows an entry without a package when it gives only
		// commit ranges (GIT): keep it, it matches no installed package.
		gitOnly := p.Ecosystem == "" && p.Name == "" && len(af.Ranges) > 0
		for _, r := range af.Ranges {
			gitOnly = gitOnly && r.Type == "GIT"
		}
		if !gitOnly {
			switch {
			case p.Ecosystem == "" && p.Name == "":
				return invalid("no package")
			case p.Ecosystem == "":
				return invalid("package %q has no ecosystem", p.Name)
			default:
				return invalid("package in %q has no name", p.Ecosystem)
			}
		}
	}
	for j := range af.Ranges {
		if err := validateRange(&af.Ranges[j]); err != nil {
			return fmt.Errorf("package %s/%s: ranges[%d]: %w", p.Ecosystem, p.Name, j, err)
		}
	}
	return nil
}

func validateRange(r *patchwave.Range) error {
	switch r.Type {
	case "ECOSYSTEM", "SEMVER":
	case "GIT":
		if r.Repo == "" {
			return invalid("GIT range has no repo")
		}
	case "":
		return invalid("range has no type")
	default:
		return invalid("unknown range type %.32q", r.Type)
	}
	introduced := false
	for k, e := range r.Events {
		n := 0
		for _, v := range [...]string{e.Introduced, e.Fixed, e.LastAffected, e.Limit} {
			if v != "" {
				n++
			}
		}
		if n != 1 {
			return invalid("events[%d] has %d fields set, want exactly one of introduced, fixed, last_affected, limit", k, n)
		}
		introduced = introduced || e.Introduced != ""
	}
	if !introduced {
		return invalid("%s range has no introduced event", r.Type)
	}
	return nil
}
