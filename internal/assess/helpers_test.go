package assess

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/feed"
)

// sharedData returns the directory of the data shared between the
// project's repositories, or skips the test when it is absent.
func sharedData(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("PATCHWAVE_SHARED_DATA")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "data")
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("shared data not found at %s (set PATCHWAVE_SHARED_DATA): %v", dir, err)
	}
	return dir
}

// record reads one real OSV record from the shared data.
func record(t testing.TB, rel string) patchwave.Advisory {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sharedData(t), filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	a, err := feed.ParseOSV(b)
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return a
}

// osv builds a small advisory of our own: one affected package per
// (ecosystem, name) with one range of the given events ("i:0", "f:1.2",
// "l:1.3", "m:2.0" for introduced, fixed, last_affected, limit).
func osv(id, eco, name string, events ...string) patchwave.Advisory {
	return patchwave.Advisory{ID: id, Modified: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		Affected: []patchwave.Affected{affected(eco, name, events...)}}
}

func affected(eco, name string, events ...string) patchwave.Affected {
	r := patchwave.Range{Type: "ECOSYSTEM"}
	for _, e := range events {
		k, v, _ := strings.Cut(e, ":")
		switch k {
		case "i":
			r.Events = append(r.Events, patchwave.Event{Introduced: v})
		case "f":
			r.Events = append(r.Events, patchwave.Event{Fixed: v})
		case "l":
			r.Events = append(r.Events, patchwave.Event{LastAffected: v})
		case "m":
			r.Events = append(r.Events, patchwave.Event{Limit: v})
		default:
			panic("bad event " + e)
		}
	}
	return patchwave.Affected{Package: patchwave.AffectedPackage{Ecosystem: eco, Name: name}, Ranges: []patchwave.Range{r}}
}

func index(advs ...patchwave.Advisory) *Index {
	ix := NewIndex()
	for _, a := range advs {
		ix.Add(a)
	}
	return ix
}

// deb is a Debian package; source fields empty mean "same as binary".
func deb(name, ver, src, srcVer string) patchwave.Package {
	return patchwave.Package{Name: name, Version: ver, Arch: "amd64", Source: src, SourceVersion: srcVer}
}

func rpm(name, ver string) patchwave.Package {
	return patchwave.Package{Name: name, Version: ver, Arch: "x86_64", Source: name, SourceVersion: ver}
}

var (
	ubuntu2204 = patchwave.OS{ID: "ubuntu", Version: "22.04", Family: "debian"}
	ubuntu1604 = patchwave.OS{ID: "ubuntu", Version: "16.04", Family: "debian"}
	debian12   = patchwave.OS{ID: "debian", Version: "12", Family: "debian"}
	alma9      = patchwave.OS{ID: "almalinux", Version: "9.4", Family: "rhel"}
)

// match matches pkgs of a host running os against ix.
func match(ix *Index, os patchwave.OS, pro bool, pkgs ...patchwave.Package) []patchwave.Finding {
	return ix.Match(Ecosystems(os, pro), pkgs)
}

// one returns the only finding for binary package name, failing when
// there is not exactly one.
func one(t *testing.T, fs []patchwave.Finding, name string) patchwave.Finding {
	t.Helper()
	var got []patchwave.Finding
	for _, f := range fs {
		if f.Package == name {
			got = append(got, f)
		}
	}
	if len(got) != 1 {
		t.Fatalf("%d findings for %s, want 1: %s", len(got), name, dump(fs))
	}
	return got[0]
}

func none(t *testing.T, fs []patchwave.Finding) {
	t.Helper()
	if len(fs) != 0 {
		t.Fatalf("want no findings, got %s", dump(fs))
	}
}

func dump(fs []patchwave.Finding) string {
	b, _ := json.MarshalIndent(fs, "", " ")
	return string(b)
}

func wantFinding(t *testing.T, f patchwave.Finding, state patchwave.FindingState, fixed string, ids ...string) {
	t.Helper()
	if f.State != state || f.Fixed != fixed || !slices.Equal(f.Advisories, ids) {
		t.Errorf("%s %s: state %s fixed %q advisories %v; want %s %q %v", f.Package, f.Installed, f.State, f.Fixed, f.Advisories, state, fixed, ids)
	}
}
