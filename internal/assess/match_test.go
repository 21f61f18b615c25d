package assess

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/version"
)

// TestOSVRanges pins the OSV evaluation
// (https://ossf.github.io/osv-schema/#evaluation) on Debian versions.
func TestOSVRanges(t *testing.T) {
	type c struct {
		v     string
		state patchwave.FindingState // "" for no finding
		fixed string
	}
	tests := []struct {
		name     string
		ranges   [][]string
		versions []string
		cases    []c
	}{
		{"introduced 0, no fix", [][]string{{"i:0"}}, nil,
			[]c{{"0.1", patchwave.FindingNoFix, ""}, {"99", patchwave.FindingNoFix, ""}}},
		{"introduced 0, fixed", [][]string{{"i:0", "f:2.0-1"}}, nil,
			[]c{{"1.0-1", patchwave.FindingMissing, "2.0-1"}, {"2.0-1", "", ""}, {"2.0-1+b1", "", ""}, {"2.0~rc1-1", patchwave.FindingMissing, "2.0-1"}, {"3", "", ""}}},
		{"introduced later", [][]string{{"i:1.5", "f:2.0"}}, nil,
			[]c{{"1.4", "", ""}, {"1.5", patchwave.FindingMissing, "2.0"}, {"1.9", patchwave.FindingMissing, "2.0"}, {"2.0", "", ""}}},
		{"two intervals in one range, unsorted", [][]string{{"f:4.0", "i:3.0", "f:2.0", "i:1.0"}}, nil,
			[]c{{"0.5", "", ""}, {"1.5", patchwave.FindingMissing, "2.0"}, {"2.5", "", ""}, {"3.0", patchwave.FindingMissing, "4.0"}, {"4.1", "", ""}}},
		{"two ranges", [][]string{{"i:0", "f:1.2"}, {"i:2.0", "f:2.3"}}, nil,
			[]c{{"1.1", patchwave.FindingMissing, "1.2"}, {"1.5", "", ""}, {"2.1", patchwave.FindingMissing, "2.3"}, {"2.3", "", ""}}},
		{"last_affected", [][]string{{"i:0", "l:1.5"}}, nil,
			[]c{{"1.5", patchwave.FindingNoFix, ""}, {"1.4", patchwave.FindingNoFix, ""}, {"1.6", "", ""}}},
		{"limit", [][]string{{"i:0", "m:2.0"}}, nil,
			[]c{{"1.9", patchwave.FindingNoFix, ""}, {"2.0", "", ""}, {"5", "", ""}}},
		{"limit star", [][]string{{"i:1.0", "m:*"}}, nil,
			[]c{{"0.9", "", ""}, {"9", patchwave.FindingNoFix, ""}}},
		{"fixed 0 means never affected", [][]string{{"i:0", "f:0"}}, nil,
			[]c{{"0.1", "", ""}, {"1.0", "", ""}}},
		{"versions only", nil, []string{"1.0-1", "1.1-1"},
			[]c{{"1.0-1", patchwave.FindingNoFix, ""}, {"1.0-2", "", ""}, {"1.1-1", patchwave.FindingNoFix, ""}}},
		{"versions beyond the range", [][]string{{"i:0", "f:1.2"}}, []string{"1.5"},
			[]c{{"1.5", patchwave.FindingNoFix, ""}, {"1.1", patchwave.FindingMissing, "1.2"}, {"1.4", "", ""}}},
		{"versions below a fix", [][]string{{"i:1.3", "f:1.6"}}, []string{"1.0"},
			[]c{{"1.0", patchwave.FindingMissing, "1.6"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := patchwave.Advisory{ID: "T", Modified: time.Now()}
			af := patchwave.Affected{Package: patchwave.AffectedPackage{Ecosystem: "Debian:12", Name: "p"}, Versions: tt.versions}
			for _, r := range tt.ranges {
				af.Ranges = append(af.Ranges, affected("Debian:12", "p", r...).Ranges...)
			}
			a.Affected = []patchwave.Affected{af}
			ix := index(a)
			for _, c := range tt.cases {
				fs := match(ix, debian12, false, deb("p", c.v, "", ""))
				switch {
				case c.state == "" && len(fs) != 0:
					t.Errorf("%s: want no finding, got %s", c.v, dump(fs))
				case c.state != "" && (len(fs) != 1 || fs[0].State != c.state || fs[0].Fixed != c.fixed):
					t.Errorf("%s: want %s fixed %q, got %s", c.v, c.state, c.fixed, dump(fs))
				}
			}
		})
	}
}

// TestNeverAtOrAboveFix: a package at or above every fixed version of a
// record of introduced/fixed ranges is never reported, and a missing
// finding's fixed version is above the installed one, for real version
// pairs of each scheme.
func TestNeverAtOrAboveFix(t *testing.T) {
	dir := sharedData(t)
	for _, tc := range []struct {
		file, eco string
		s         version.Scheme
		os        patchwave.OS
	}{
		{"debian-versions-generated.txt", "Debian:12", version.Dpkg, debian12},
		{"redhat-versions.txt", "AlmaLinux:9", version.RPM, alma9},
		{"alpine-versions-generated.txt", "Alpine:v3.19", version.APK, patchwave.OS{ID: "alpine", Version: "3.19"}},
	} {
		vs := readVersions(t, filepath.Join(dir, "version_compare", tc.file))
		r := rand.New(rand.NewPCG(1, uint64(len(vs))))
		for n := 0; n < 3000; n++ {
			// A random record: introduced 0 or a version, then a fix.
			k := 1 + r.IntN(3)
			var events []string
			var fixes []string
			for range k {
				in, f := vs[r.IntN(len(vs))], vs[r.IntN(len(vs))]
				if tc.s.Compare(in, f) >= 0 {
					continue // a well-formed interval: introduced below fixed
				}
				if r.IntN(2) == 0 {
					in = "0"
				}
				fixes = append(fixes, f)
				events = append(events, "i:"+in, "f:"+f)
			}
			if len(events) == 0 {
				continue
			}
			ix := index(osv("P", tc.eco, "p", events...))
			v := vs[r.IntN(len(vs))]
			fs := match(ix, tc.os, false, patchwave.Package{Name: "p", Version: v, Source: "p"})
			above := true
			for _, f := range fixes {
				above = above && tc.s.Compare(v, f) >= 0
			}
			if above && len(fs) > 0 {
				t.Fatalf("%s %s at or above every fix of %v: %s", tc.eco, v, events, dump(fs))
			}
			for _, f := range fs {
				if f.State == patchwave.FindingMissing && compareMode(tc.s, v, f.Fixed, true) >= 0 {
					t.Fatalf("%s %s: reported fixed %s is not above it (%v)", tc.eco, v, f.Fixed, events)
				}
			}
		}
	}
}

// readVersions reads the distinct versions of an "A op B" file.
func readVersions(t *testing.T, path string) []string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[string]bool{}
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) != 3 || strings.HasPrefix(fs[0], "#") {
			continue
		}
		for _, v := range []string{fs[0], fs[2]} {
			if !seen[v] && !strings.Contains(v, "*") {
				seen[v] = true
				out = append(out, v)
			}
		}
	}
	if len(out) < 10 {
		t.Fatalf("%s: %d versions", path, len(out))
	}
	return out
}

// TestDebian12Inventory runs the real Debian 12 inventory against the
// real Debian records and, for every source package it has, a record
// fixed at exactly its installed source version (no finding) and one
// fixed just above it (a finding for every binary of that source).
func TestDebian12Inventory(t *testing.T) {
	inv := readInventory(t)
	ix := index(record(t, "alpine/CVE-2024-10524.json"), record(t, "debian/DSA-3029-1.osv-schema-example.json"),
		record(t, "debian/DSA-135.json"), record(t, "debian/DLA-0010-1.json"))
	type src struct{ name, version string }
	sources := map[src]int{}
	for _, p := range inv {
		sources[src{cmpOr(p.Source, p.Name), cmpOr(p.SourceVersion, p.Version)}]++
	}
	for s := range sources {
		ix.Add(osv("EQ-"+s.name+"-"+s.version, "Debian:12", s.name, "i:0", "f:"+s.version))
		ix.Add(osv("UP-"+s.name+"-"+s.version, "Debian:12", s.name, "i:0", "f:"+s.version+"+deb12u99"))
	}
	os, err := os.ReadFile(filepath.Join(sharedData(t), "endpoint_inventory", "debian12-os-release"))
	if err != nil || !strings.Contains(string(os), "VERSION_ID=\"12\"") {
		t.Fatalf("os-release: %v %q", err, os)
	}
	fs := match(ix, debian12, false, inv...)
	// The real records: CVE-2024-10524 affects Debian 12's wget, unfixed.
	byName := map[string][]patchwave.Finding{}
	for _, f := range fs {
		byName[f.Package] = append(byName[f.Package], f)
	}
	for _, p := range inv {
		s := src{cmpOr(p.Source, p.Name), cmpOr(p.SourceVersion, p.Version)}
		got := byName[p.Name]
		want := 1
		if p.Name == "wget" {
			want = 2
			wantFinding(t, got[1], patchwave.FindingNoFix, "", "CVE-2024-10524")
		}
		if len(got) != want {
			t.Errorf("%s: %d findings, want %d: %s", p.Name, len(got), want, dump(got))
			continue
		}
		f := got[0]
		if f.Installed != p.Version || f.State != patchwave.FindingMissing ||
			!slices.Equal(f.Advisories, []string{"UP-" + s.name + "-" + s.version}) || f.Fixed != s.version+"+deb12u99" {
			t.Errorf("%s %s (source %s %s): %+v", p.Name, p.Version, s.name, s.version, f)
		}
	}
	if len(fs) != len(inv)+1 {
		t.Errorf("%d findings for %d packages", len(fs), len(inv))
	}
}

// TestIndexReplace checks Add's replacement by modified time and Remove.
func TestIndexReplace(t *testing.T) {
	old := osv("A-1", "Debian:12", "p", "i:0", "f:1.0")
	newer := osv("A-1", "Debian:12", "p", "i:0", "f:2.0")
	newer.Modified = old.Modified.Add(time.Hour)
	ix := index(old, newer, old)
	if ix.Len() != 1 {
		t.Fatalf("len %d", ix.Len())
	}
	wantFinding(t, one(t, match(ix, debian12, false, deb("p", "1.5", "", "")), "p"), patchwave.FindingMissing, "2.0", "A-1")
	if !ix.Remove("A-1") || ix.Remove("A-1") || ix.Len() != 0 {
		t.Fatal("Remove")
	}
	none(t, match(ix, debian12, false, deb("p", "1.5", "", "")))
	ix.Add(old) // accepted again after Remove
	if ix.Len() != 1 {
		t.Fatal("Add after Remove")
	}
}

// TestFleet checks that a fleet's findings are those of Match per host,
// that identical hosts share their work, and that Reassess reports only
// the hosts a new or withdrawn advisory changes.
func TestFleet(t *testing.T) {
	ix := index(record(t, "ubuntu_osv/USN-6859-1.json"), record(t, "almalinux_osv/ALSA-2026_25239.json"),
		osv("T-1", "Ubuntu:22.04:LTS", "zlib", "i:0", "f:1:1.2.11.dfsg-2ubuntu9.3"))
	fl := NewFleet(ix)
	ubuntuPkgs := []patchwave.Package{deb("openssh-server", "1:8.9p1-3ubuntu0.6", "openssh", ""),
		deb("openssh-client", "1:8.9p1-3ubuntu0.6", "openssh", ""), deb("zlib1g", "1:1.2.11.dfsg-2ubuntu9.2", "zlib", "")}
	almaPkgs := []patchwave.Package{rpm("openssl-libs", "1:3.5.1-3.el9"), rpm("bash", "5.1.8-9.el9")}
	for i := range 10 {
		fl.AddHost(int64(i+1), fmt.Sprintf("u%d", i+1), ubuntu2204, false, ubuntuPkgs)
	}
	fl.AddHost(11, "a1", alma9, false, almaPkgs)
	fl.AddHost(12, "clean", ubuntu2204, false, []patchwave.Package{deb("bash", "5.1-6ubuntu1", "", "")})
	fl.AddHost(13, "unknown-os", patchwave.OS{ID: "plan9"}, false, ubuntuPkgs)
	if err := fl.AddHostSet(14, "x", ubuntu2204, false, "nope"); err == nil {
		t.Error("AddHostSet with an unknown set")
	}
	got := fl.Assess()
	if len(got) != 11 {
		t.Fatalf("%d hosts with findings, want 11", len(got))
	}
	want := ix.Match(Ecosystems(ubuntu2204, false), patchwave.SortPackages(slices.Clone(ubuntuPkgs)))
	for i := range want {
		want[i].HostID, want[i].Host = 3, "u3"
	}
	if dump(got[3]) != dump(want) {
		t.Errorf("fleet:\n%s\nMatch:\n%s", dump(got[3]), dump(want))
	}
	if st := fl.Stats(); st.Hosts != 13 || st.Sets != 3 || st.Tuples != 5 {
		t.Errorf("stats %+v", st)
	}

	// A new advisory for openssh reaches the ten Ubuntu hosts only.
	b := osv("T-2", "Ubuntu:22.04:LTS", "openssh", "i:0", "f:1:8.9p1-3ubuntu0.11")
	b.Aliases = []string{"CVE-2026-0001"}
	ix.Add(b)
	reported := map[int64][]patchwave.Finding{}
	n, err := fl.Reassess(func(id int64, fs []patchwave.Finding) error {
		reported[id] = slices.Clone(fs)
		return nil
	}, "T-2")
	if err != nil || n != 10 || len(reported) != 10 || reported[11] != nil {
		t.Fatalf("reassess: %d hosts, %v", n, err)
	}
	f := one(t, reported[7], "openssh-server")
	wantFinding(t, f, patchwave.FindingMissing, "1:8.9p1-3ubuntu0.11", "T-2", "USN-6859-1")
	if f.Host != "u7" || f.HostID != 7 {
		t.Errorf("host %d %q", f.HostID, f.Host)
	}
	// Removing an advisory reaches the hosts it affected.
	ix.Remove("T-1")
	clear(reported)
	n, _ = fl.Reassess(func(id int64, fs []patchwave.Finding) error {
		reported[id] = slices.Clone(fs)
		return nil
	}, "T-1")
	if n != 10 || len(reported[1]) != 2 {
		t.Errorf("after removing T-1: %d hosts, host 1 has %s", n, dump(reported[1]))
	}
	// Nothing changed, nothing reported.
	if n, _ := fl.Reassess(func(int64, []patchwave.Finding) error { return nil }, "T-404"); n != 0 {
		t.Errorf("reassess of an unknown id reported %d hosts", n)
	}
	if !fl.RemoveHost(11) || fl.RemoveHost(11) || len(fl.Assess()) != 10 {
		t.Error("RemoveHost")
	}
}

// TestExplainSplitsWhatMatchMerges: two advisories with different fixes
// and one without make one missing and one no-fix finding, and Explain
// gives each advisory with its own fixed version, CVEs and severity.
func TestExplainSplitsWhatMatchMerges(t *testing.T) {
	ix := NewIndex()
	a := osv("DSA-1", "Debian:12", "openssl", "i:0", "f:3.0.11-1~deb12u1")
	a.Aliases = []string{"CVE-2024-0001"}
	b := osv("DSA-2", "Debian:12", "openssl", "i:0", "f:3.0.15-1~deb12u1")
	b.Aliases = []string{"CVE-2024-0002"}
	b.Severity = []patchwave.AdvisorySeverity{{Type: "CVSS_V3", Score: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}}
	c := osv("DEBIAN-CVE-2024-0003", "Debian:12", "openssl", "i:0")
	for _, adv := range []patchwave.Advisory{a, b, c} {
		ix.Add(adv)
	}
	p := patchwave.Package{Name: "libssl3", Version: "3.0.9-1", Source: "openssl", SourceVersion: "3.0.9-1"}
	fs := ix.Match([]string{"Debian:12"}, []patchwave.Package{p})
	if len(fs) != 2 || fs[0].Fixed != "3.0.15-1~deb12u1" || len(fs[0].Advisories) != 2 || fs[1].State != patchwave.FindingNoFix {
		t.Fatalf("match: %+v", fs)
	}
	hits := ix.Explain([]string{"Debian:12"}, p)
	want := []Hit{
		{Advisory: "DEBIAN-CVE-2024-0003", CVEs: []string{"CVE-2024-0003"}, Severity: patchwave.SeverityUnknown},
		{Advisory: "DSA-1", Fixed: "3.0.11-1~deb12u1", CVEs: []string{"CVE-2024-0001"}, Severity: patchwave.SeverityUnknown},
		{Advisory: "DSA-2", Fixed: "3.0.15-1~deb12u1", CVEs: []string{"CVE-2024-0002"}, Severity: patchwave.SeverityCritical, CVSS: 9.8},
	}
	if !reflect.DeepEqual(hits, want) {
		t.Errorf("explain:\n got %+v\nwant %+v", hits, want)
	}
	if hits := ix.Explain([]string{"Debian:12"}, patchwave.Package{Name: "libssl3", Version: "3.0.16-1", Source: "openssl", SourceVersion: "3.0.16-1"}); len(hits) != 1 {
		t.Errorf("patched: %+v", hits)
	}
}
