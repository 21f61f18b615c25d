package assess

// Benchmarks run only when selected, e.g.
//
//	go test -run '^$' -bench Fleet100k -benchtime 1x ./internal/assess/
//
// They print their figures as metrics (seconds, MB).

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/feed"
	"github.com/patchwave/patchwave/internal/version"
)

// benchRelease is one OS release of the synthetic fleet: its catalogue of
// installable packages, each with the versions hosts may have (oldest
// first).
type benchRelease struct {
	name     string
	os       patchwave.OS
	pkgs     []patchwave.Package // template: name, source, arch
	versions [][]string          // per package: installable versions, ascending
}

// almaRelease builds the catalogue of an AlmaLinux major release from the
// real records: every binary name, its fixed versions as the builds
// hosts run.
func almaRelease(advs []patchwave.Advisory, major string) *benchRelease {
	eco := "AlmaLinux:" + major
	byName := map[string][]string{}
	for _, a := range advs {
		for _, af := range a.Affected {
			if af.Package.Ecosystem != eco {
				continue
			}
			for _, r := range af.Ranges {
				for _, e := range r.Events {
					if e.Fixed != "" && !slices.Contains(byName[af.Package.Name], e.Fixed) {
						byName[af.Package.Name] = append(byName[af.Package.Name], e.Fixed)
					}
				}
			}
		}
	}
	r := &benchRelease{name: "alma" + major, os: patchwave.OS{ID: "almalinux", Version: major + ".4"}}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		vs := byName[n]
		slices.SortFunc(vs, version.CompareRPM)
		r.pkgs = append(r.pkgs, patchwave.Package{Name: n, Arch: "x86_64", Source: n})
		r.versions = append(r.versions, vs)
	}
	return r
}

// debRelease builds a synthetic Debian or Ubuntu release of nsrc source
// packages with one to three binaries each, and returns it with its
// advisories: nadv records, each fixing one or two sources in this
// release at one of their eight updates.
func debRelease(rng *rand.Rand, name string, os patchwave.OS, eco string, nsrc, nadv int) (*benchRelease, []patchwave.Advisory) {
	r := &benchRelease{name: name, os: os}
	suffix := "+deb12u"
	if os.ID == "ubuntu" {
		suffix = "ubuntu0." + os.Version + "."
	}
	var srcVersions [][]string
	for s := range nsrc {
		base := fmt.Sprintf("%d.%d.%d-%d", 1+s%7, s%13, s%5, 1+s%3)
		if s%9 == 0 {
			base = "1:" + base
		}
		vs := []string{base}
		for k := 1; k <= 8; k++ {
			vs = append(vs, base+suffix+fmt.Sprint(k))
		}
		srcVersions = append(srcVersions, vs)
		src := fmt.Sprintf("%s-src%04d", name, s)
		for b := range 1 + s%3 {
			bin := src
			if b > 0 {
				bin = fmt.Sprintf("lib%s-%d", src, b)
			}
			r.pkgs = append(r.pkgs, patchwave.Package{Name: bin, Arch: "amd64", Source: src})
			r.versions = append(r.versions, vs)
		}
	}
	var advs []patchwave.Advisory
	for i := range nadv {
		a := patchwave.Advisory{ID: fmt.Sprintf("%s-SA-%05d", strings.ToUpper(name), i), Modified: time.Now(),
			Aliases: []string{fmt.Sprintf("CVE-2026-%05d", i)}}
		for range 1 + rng.IntN(2) {
			s := rng.IntN(nsrc)
			fix := srcVersions[s][1+rng.IntN(8)]
			a.Affected = append(a.Affected, affected(eco, fmt.Sprintf("%s-src%04d", name, s), "i:0", "f:"+fix))
		}
		advs = append(advs, a)
	}
	return r, advs
}

// set fills buf with the packages of package set number n of a release:
// 700 packages every host has and 300 drawn from the rest, each at a
// version drawn towards the newest (version drift between cohorts).
func (r *benchRelease) set(buf []patchwave.Package, n int) []patchwave.Package {
	rng := rand.New(rand.NewPCG(uint64(n), 42))
	buf = buf[:0]
	core := min(700, len(r.pkgs))
	pick := func(i int) {
		p := r.pkgs[i]
		vs := r.versions[i]
		// Mostly the newest or one of the two before it, sometimes older.
		k := len(vs) - 1 - min(len(vs)-1, int(rng.ExpFloat64()*1.2))
		p.Version = vs[k]
		buf = append(buf, p)
	}
	for i := range core {
		pick(i)
	}
	seen := map[int]bool{}
	for len(buf) < 1000 && len(seen) < len(r.pkgs)-core {
		i := core + rng.IntN(len(r.pkgs)-core)
		if !seen[i] {
			seen[i] = true
			pick(i)
		}
	}
	// Stored sets are sorted (patchwave.HashPackages hashes sorted lists).
	return patchwave.SortPackages(buf)
}

func loadAlmaLinux(b *testing.B) []patchwave.Advisory {
	path := filepath.Join(sharedData(b), "almalinux-all", "all.zip")
	var advs []patchwave.Advisory
	if _, err := feed.ReadOSV(context.Background(), path, func(_ string, a patchwave.Advisory) error {
		advs = append(advs, a)
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	return advs
}

func memMB() (heap, sys float64) {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapInuse) / (1 << 20), float64(m.Sys) / (1 << 20)
}

// BenchmarkFleet100k assesses 100,000 hosts of about 1,000 packages each,
// 20,000 per release of AlmaLinux 8 and 9 (against every real AlmaLinux
// record), Debian 12, Ubuntu 22.04 and 24.04 (against as many generated
// records), in 2,000 package sets per release; then one new advisory is
// added and the fleet re-assessed.
func BenchmarkFleet100k(b *testing.B) {
	const hostsPerRelease, setsPerRelease = 20_000, 2_000
	t0 := time.Now()
	almaAdvs := loadAlmaLinux(b)
	rng := rand.New(rand.NewPCG(7, 7))
	releases := []*benchRelease{almaRelease(almaAdvs, "8"), almaRelease(almaAdvs, "9")}
	advs := slices.Clone(almaAdvs)
	for _, d := range []struct {
		name, eco string
		os        patchwave.OS
	}{
		{"deb12", "Debian:12", debian12},
		{"jammy", "Ubuntu:22.04:LTS", ubuntu2204},
		{"noble", "Ubuntu:24.04:LTS", patchwave.OS{ID: "ubuntu", Version: "24.04"}},
	} {
		r, a := debRelease(rng, d.name, d.os, d.eco, 1500, len(almaAdvs)/3)
		releases = append(releases, r)
		advs = append(advs, a...)
	}
	ix := NewIndex()
	for _, a := range advs {
		ix.Add(a)
	}
	almaAdvs, advs = nil, nil
	b.Logf("index: %d advisories, loaded and built in %v", ix.Len(), time.Since(t0).Round(time.Millisecond))

	for b.Loop() {
		fl := NewFleet(ix)
		var load time.Duration
		var buf []patchwave.Package
		id := int64(0)
		for _, r := range releases {
			for s := range setsPerRelease {
				buf = r.set(buf, s) // generating the set is not timed
				t1 := time.Now()
				fl.AddSet(fmt.Sprintf("%s-%d", r.name, s), buf)
				load += time.Since(t1)
			}
			t1 := time.Now()
			hr := rand.New(rand.NewPCG(1, uint64(len(r.name))))
			for range hostsPerRelease {
				id++
				if err := fl.AddHostSet(id, fmt.Sprintf("h%d", id), r.os, false, fmt.Sprintf("%s-%d", r.name, hr.IntN(setsPerRelease))); err != nil {
					b.Fatal(err)
				}
			}
			load += time.Since(t1)
		}

		t2 := time.Now()
		hosts, findings := 0, 0
		fl.Each(func(_ int64, fs []patchwave.Finding) error {
			hosts++
			findings += len(fs)
			return nil
		})
		assess := time.Since(t2)
		heap, sys := memMB()

		// One new advisory for a package every AlmaLinux 9 host has.
		name := ""
		for i, p := range releases[1].pkgs[:700] {
			if vs := releases[1].versions[i]; variantOf(vs[len(vs)-1]) == varPlain && !hasEpoch(vs[len(vs)-1]) {
				name = p.Name
				break
			}
		}
		a := osv("ALSA-BENCH-1", "AlmaLinux:9", name, "i:0", "f:9999-1.el9")
		ix.Add(a)
		t3 := time.Now()
		changed, _ := fl.Reassess(func(int64, []patchwave.Finding) error { return nil }, a.ID)
		reassess := time.Since(t3)
		ix.Remove(a.ID)
		fl.Reassess(func(int64, []patchwave.Finding) error { return nil }, a.ID)

		st := fl.Stats()
		b.Logf("%d hosts, %d sets, %d distinct packages, %d tuples; load %v, assess %v (%d hosts with %d findings), reassess %v (%d hosts); heap %.0f MB, sys %.0f MB",
			st.Hosts, st.Sets, st.Packages, st.Tuples, load.Round(time.Millisecond), assess.Round(time.Millisecond), hosts, findings,
			reassess.Round(time.Millisecond), changed, heap, sys)
		b.ReportMetric(load.Seconds(), "load-s")
		b.ReportMetric(assess.Seconds(), "assess-s")
		b.ReportMetric(reassess.Seconds()*1000, "reassess-ms")
		b.ReportMetric(heap, "heap-inuse-MB")
		b.ReportMetric(sys, "sys-MB")
		b.ReportMetric(float64(findings), "findings")
	}
}

// BenchmarkMatch matches one AlmaLinux 9 host of 1,000 packages against
// every AlmaLinux record.
func BenchmarkMatch(b *testing.B) {
	ix := NewIndex()
	advs := loadAlmaLinux(b)
	for _, a := range advs {
		ix.Add(a)
	}
	r := almaRelease(advs, "9")
	pkgs := r.set(nil, 1)
	ecos := Ecosystems(r.os, false)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n = len(ix.Match(ecos, pkgs))
	}
	b.ReportMetric(float64(n), "findings")
}

// BenchmarkEvaluate is the hot loop: one tuple against its advisories.
func BenchmarkEvaluate(b *testing.B) {
	ix := index(record(b, "ubuntu_osv/USN-6859-1.json"), record(b, "ubuntu_osv/UBUNTU-CVE-2024-6387.json"))
	ecos := normalizeList(Ecosystems(ubuntu2204, true))
	pr := probeFor(famDeb, deb("openssh-server", "1:8.9p1-3ubuntu0.10", "openssh", ""))
	b.ReportAllocs()
	for b.Loop() {
		ix.mu.RLock()
		ix.evaluate(ecos, pr)
		ix.mu.RUnlock()
	}
}
