package feed

import (
	"errors"
	"fmt"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/version"
)

// CheckVersions removes from a the affected entries that matching could
// only get wrong: those of an ecosystem without a known version ordering
// ("Nonsense:1"), and those with a version their ordering refuses (a
// fixed "1:::!!" in a Debian entry) in a range event or the versions
// list. It returns one *RecordError per entry removed, naming the
// record, the entry and the field. Withdrawn records are left alone (they
// are kept only to retract what they said), and so are entries without a
// package (commit ranges only), GIT ranges, OSV's introduced "0" and a
// limit "*".
//
// ReadOSV applies it to every record it reads; a record that loses all
// its affected entries is skipped and counted in Stats.Skipped.
func CheckVersions(a *patchwave.Advisory) []error {
	if a.Withdrawn != nil {
		return nil
	}
	var errs []error
	kept := a.Affected[:0]
	for i, af := range a.Affected {
		if err := checkAffected(&af); err != nil {
			errs = append(errs, &RecordError{ID: a.ID, Err: fmt.Errorf("affected[%d] (%s/%s) dropped: %w", i, af.Package.Ecosystem, af.Package.Name, err)})
			continue
		}
		kept = append(kept, af)
	}
	if len(errs) > 0 {
		clear(a.Affected[len(kept):])
		a.Affected = kept
	}
	return errs
}

func checkAffected(af *patchwave.Affected) error {
	eco := af.Package.Ecosystem
	if eco == "" && af.Package.Name == "" {
		return nil // commit ranges only
	}
	scheme, err := version.Lookup(eco)
	if err != nil {
		if errors.Is(err, version.ErrUnknownEcosystem) {
			return invalid("ecosystem %.64q has no known version ordering", eco)
		}
		return invalid("%v", err)
	}
	for j, r := range af.Ranges {
		s := scheme
		switch r.Type {
		case "GIT":
			continue
		case "SEMVER":
			s = version.Semver
		}
		for k, e := range r.Events {
			field, v := "introduced", e.Introduced
			switch {
			case e.Fixed != "":
				field, v = "fixed", e.Fixed
			case e.LastAffected != "":
				field, v = "last_affected", e.LastAffected
			case e.Limit != "":
				field, v = "limit", e.Limit
			}
			if v == "0" && field == "introduced" || v == "*" && field == "limit" || v == "" {
				continue
			}
			if err := s.Validate(v); err != nil {
				return invalid("ranges[%d].events[%d].%s: %v", j, k, field, err)
			}
		}
	}
	for j, v := range af.Versions {
		if err := scheme.Validate(v); err != nil {
			return invalid("versions[%d]: %v", j, err)
		}
	}
	return nil
}

// checkRecord applies CheckVersions to a decoded record and says whether
// anything of it is left to pass on.
func checkRecord(a *patchwave.Advisory) (errs []error, keep bool) {
	had := len(a.Affected)
	errs = CheckVersions(a)
	return errs, had == 0 || len(a.Affected) > 0
}
