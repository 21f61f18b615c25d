package plan

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/patchwave/patchwave"
)

func missing(host int64, pkg, fixed string, cves ...string) patchwave.Finding {
	return patchwave.Finding{HostID: host, Ecosystem: "Debian:12", Package: pkg, Source: pkg, Installed: "1.0-1", Fixed: fixed,
		State: patchwave.FindingMissing, Severity: patchwave.SeverityHigh, CVEs: cves, Advisories: []string{"DSA-" + pkg}}
}

func TestBuildRelease(t *testing.T) {
	now := time.Date(2026, 12, 9, 12, 0, 0, 0, time.UTC)
	hosts := []patchwave.Host{
		{ID: 1, Hostname: "lab-01", Tier: patchwave.TierLab, Site: "paris"},
		{ID: 2, Hostname: "web-01", Tier: patchwave.TierBusinessOperational, Site: "paris"},
		{ID: 3, Hostname: "web-02", Tier: patchwave.TierBusinessOperational, Site: "paris"},
		{ID: 4, Hostname: "erp-01", Tier: patchwave.TierMissionCritical, Site: "berlin"},
		{ID: 5, Hostname: "db-01", Tier: patchwave.TierBusinessCritical, Site: "berlin"},
		{ID: 6, Hostname: "clean-01", Tier: patchwave.TierBusinessOperational},
		{ID: 7, Hostname: "held-01", Tier: patchwave.TierBusinessOperational},
	}
	approved := map[int64][]patchwave.Finding{
		1: {missing(1, "openssl", "3.0.15-1"), missing(1, "curl", "7.88.1-10+deb12u8")},
		2: {missing(2, "curl", "7.88.1-10+deb12u8"), missing(2, "openssl", "3.0.15-1")}, // same as 1, other order
		3: {missing(3, "openssl", "3.0.15-1")},
		4: {missing(4, "openssl", "3.0.15-1")},
		5: {missing(5, "openssl", "3.0.15-1"), {HostID: 5, Package: "nofix", State: patchwave.FindingNoFix}},
		7: {missing(7, "glibc", "2.36-9+deb12u9", "CVE-2026-0001")},
	}
	exceptions := []patchwave.Exception{
		{ID: 10, Kind: patchwave.ExceptionExclusion, Site: "berlin", Cycle: "2026-12", Justification: "month-end closing", Owner: "olga",
			State: patchwave.ExceptionApproved, ExpiresAt: now.AddDate(0, 0, 10)},
		{ID: 11, Kind: patchwave.ExceptionExclusion, Host: "web-02", Cycle: "2027-01", Justification: "next month only",
			State: patchwave.ExceptionApproved, ExpiresAt: now.AddDate(0, 2, 0)},
		{ID: 12, Kind: patchwave.ExceptionRestriction, CVE: "CVE-2026-0001", Justification: "breaks the ERP client",
			State: patchwave.ExceptionApproved, ExpiresAt: now.AddDate(0, 1, 0)},
		{ID: 13, Kind: patchwave.ExceptionExclusion, Host: "web-01", Justification: "expired", State: patchwave.ExceptionApproved,
			ExpiresAt: now.Add(-time.Hour)},
	}
	in := ReleaseInput{Cycle: "2026-12", Hosts: hosts, Approved: approved, Exceptions: exceptions, Waves: DefaultWaves(), Now: now}
	c, err := BuildRelease(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.PatchSets) != 2 {
		t.Fatalf("%d patch sets, want 2 (openssl+curl, openssl): %+v", len(c.PatchSets), c.PatchSets)
	}
	byHost := map[string]ReleaseHost{}
	for _, h := range c.Hosts {
		byHost[h.Hostname] = h
	}
	if byHost["lab-01"].PatchSet == "" || byHost["lab-01"].PatchSet != byHost["web-01"].PatchSet {
		t.Errorf("lab-01 and web-01 have the same patches but sets %q and %q", byHost["lab-01"].PatchSet, byHost["web-01"].PatchSet)
	}
	if byHost["web-02"].PatchSet == byHost["web-01"].PatchSet || byHost["web-02"].Excluded != "" {
		t.Errorf("web-02: %+v (an exclusion for another cycle must not apply)", byHost["web-02"])
	}
	for _, name := range []string{"erp-01", "db-01"} {
		if h := byHost[name]; h.PatchSet != "" || !strings.Contains(h.Excluded, "exclusion 10 by olga") {
			t.Errorf("%s: %+v, want excluded by exclusion 10", name, h)
		}
	}
	if _, ok := byHost["clean-01"]; ok {
		t.Error("a host without approved patches is in the release")
	}
	if _, ok := byHost["held-01"]; ok {
		t.Error("a host whose only patch is restricted is in the release")
	}
	if byHost["lab-01"].Wave != 0 || byHost["web-01"].Wave != 2 {
		t.Errorf("waves: lab-01 %d, web-01 %d", byHost["lab-01"].Wave, byHost["web-01"].Wave)
	}
	for _, ps := range c.PatchSets {
		if PatchSetHash(ps) != ps.Hash {
			t.Errorf("patch set %s does not hash to itself", ps.Hash)
		}
		if ps.Ecosystem != "Debian:12" || ps.Patches[0].Package > ps.Patches[len(ps.Patches)-1].Package {
			t.Errorf("patch set %+v", ps)
		}
	}
	if ContentHash(c) != c.Hash || len(c.Hash) != 64 {
		t.Errorf("content hash %q does not recompute", c.Hash)
	}
	// Waves pilot and broad and mission-critical have no host: warned.
	if w := strings.Join(c.Warnings, "\n"); !strings.Contains(w, `wave 1 "pilot": no host`) || strings.Contains(w, `"lab"`) {
		t.Errorf("warnings %q", c.Warnings)
	}
	byWave, excluded := c.Counts()
	if byWave[0] != 1 || byWave[2] != 2 || excluded != 2 {
		t.Errorf("counts %v, excluded %d", byWave, excluded)
	}

	// The same input gives the same content; any change of content another hash.
	again, _ := BuildRelease(in)
	if again.Hash != c.Hash {
		t.Error("the same input hashed differently")
	}
	in.Approved = map[int64][]patchwave.Finding{1: approved[1], 2: approved[2], 3: {missing(3, "openssl", "3.0.16-1")}, 4: approved[4], 5: approved[5]}
	if other, _ := BuildRelease(in); other.Hash == c.Hash {
		t.Error("a changed target version kept the hash")
	}

	// Hosts no wave takes are listed in a warning.
	in.Waves = []Wave{{Order: 0, Name: "lab", Selector: patchwave.MustParseSelector("tier=lab")}}
	c, _ = BuildRelease(in)
	if w := strings.Join(c.Warnings, "\n"); !strings.Contains(w, "2 hosts with approved patches match no wave") {
		t.Errorf("warnings %q", c.Warnings)
	}

	// Nothing to install is an error.
	in.Approved = map[int64][]patchwave.Finding{7: approved[7]}
	if _, err := BuildRelease(in); patchwave.ErrorCode(err) != patchwave.EInvalid || !strings.Contains(err.Error(), "would install nothing") {
		t.Errorf("empty release: %v", err)
	}
}

func TestProjectWaves(t *testing.T) {
	rel := time.Date(2026, 12, 8, 18, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	ws := []Wave{
		{Order: 0, Name: "lab", StartOffset: day, Soak: 3 * day},
		{Order: 1, Name: "pilot", StartOffset: 2 * day, Soak: day},
		{Order: 2, Name: "prod", StartOffset: 8 * day},
	}
	got := ProjectWaves(ws, rel, nil)
	want := []time.Time{rel.Add(day), rel.Add(4 * day), rel.Add(8 * day)}
	for i := range want {
		if !got[i].Start.Equal(want[i]) || got[i].Started {
			t.Errorf("wave %d starts %v (started %v), want %v", i, got[i].Start, got[i].Started, want[i])
		}
	}
	late := rel.Add(9 * day)
	got = ProjectWaves(ws, rel, map[int]time.Time{0: rel.Add(day), 1: late})
	if !got[1].Started || !got[1].Start.Equal(late) || !got[2].Start.Equal(late.Add(day)) {
		t.Errorf("with actual starts: %+v", got)
	}
}

func TestSchedule(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone data:", err)
	}
	rel := time.Date(2026, 12, 8, 18, 0, 0, 0, berlin)
	hosts := map[int64]patchwave.Host{
		1: {ID: 1, Hostname: "lab-01", Tier: patchwave.TierLab},
		2: {ID: 2, Hostname: "web-01", Tier: patchwave.TierBusinessOperational},
		3: {ID: 3, Hostname: "nowin-01", Tier: patchwave.TierBusinessOperational, Site: "nowhere"},
	}
	c := ReleaseContent{
		PatchSets: []PatchSet{{Hash: "a", Patches: []PatchTarget{{Package: "openssl"}, {Package: "curl"}}}},
		Hosts: []ReleaseHost{
			{HostID: 1, Hostname: "lab-01", Wave: 0, PatchSet: "a"},
			{HostID: 2, Hostname: "web-01", Wave: 2, PatchSet: "a"},
			{HostID: 3, Hostname: "nowin-01", Wave: 2, PatchSet: "a"},
			{HostID: 4, Hostname: "erp-01", Wave: 4, Excluded: "exclusion 1"},
			{HostID: 5, Hostname: "gone-01", Wave: 2, PatchSet: "a"},
		},
	}
	windows := []Window{
		{Name: "nightly", RRule: MustParseRRule("FREQ=DAILY;BYHOUR=22"), Start: time.Date(2026, 1, 1, 22, 0, 0, 0, berlin), Duration: 4 * time.Hour,
			CutOff: 30 * time.Minute, Selector: patchwave.MustParseSelector("site!=nowhere")},
		// The week before Christmas is frozen for business systems.
		{Name: "freeze", RRule: MustParseRRule("FREQ=YEARLY"), Start: time.Date(2026, 12, 19, 0, 0, 0, 0, berlin), Duration: 7 * 24 * time.Hour,
			Selector: patchwave.MustParseSelector("tier=business-operational"), Blocking: true},
	}
	wp, slots := Schedule(c, DefaultWaves(), rel, nil, hosts, windows, false)
	if len(wp) != 5 || wp[0].Hosts != 1 || wp[2].Hosts != 1 {
		t.Errorf("wave plans %+v", wp)
	}
	by := map[string]HostSlot{}
	for _, s := range slots {
		by[s.Hostname] = s
	}
	// lab-01: wave 0 starts 9 Dec 18:00; the first nightly opening is 22:00.
	if s := by["lab-01"]; s.Opening == nil || !s.Opening.Start.Equal(time.Date(2026, 12, 9, 22, 0, 0, 0, berlin)) || s.Patches != 2 || s.Opening.Window != "nightly" {
		t.Errorf("lab-01: %+v", s)
	}
	// web-01: wave 2 starts 21 Dec 18:00 (day 13), inside the freeze: the first opening is what
	// the freeze leaves of the night of the 25th, from midnight to 02:00 (cut-off 01:30).
	if s := by["web-01"]; s.Opening == nil || !s.Opening.Start.Equal(time.Date(2026, 12, 26, 0, 0, 0, 0, berlin)) ||
		!s.Opening.CutOff.Equal(time.Date(2026, 12, 26, 1, 30, 0, 0, berlin)) {
		t.Errorf("web-01: %+v %v", s, s.Opening)
	}
	for name, want := range map[string]string{"nowin-01": "no maintenance window", "erp-01": "excluded: exclusion 1", "gone-01": "gone"} {
		if s := by[name]; s.Opening != nil || !strings.Contains(s.Reason, want) {
			t.Errorf("%s: %+v, want reason %q", name, s, want)
		}
	}

	// Allowed at any time: nowin-01 gets the wave's start, outside the freeze.
	_, slots = Schedule(c, DefaultWaves(), rel, nil, hosts, windows, true)
	for _, s := range slots {
		if s.Hostname == "nowin-01" {
			want := time.Date(2026, 12, 26, 0, 0, 0, 0, berlin)
			if s.Opening == nil || !s.Opening.Start.Equal(want) || s.Opening.Window != AnyTime {
				t.Errorf("nowin-01 at any time: %+v, want opening %v", s, want)
			}
		}
	}
}

func TestWindowIndexAgreesWithNextOpening(t *testing.T) {
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no time zone data:", err)
	}
	var windows []Window
	for i := range 12 {
		windows = append(windows, Window{Name: fmt.Sprintf("w%d", i), RRule: MustParseRRule(fmt.Sprintf("FREQ=WEEKLY;BYDAY=%s;BYHOUR=%d", []string{"MO", "TU", "WE", "TH", "FR", "SA"}[i%6], 18+i%5)),
			Start: time.Date(2026, 1, 1, 0, 0, 0, 0, loc), Duration: time.Duration(1+i%3) * time.Hour, CutOff: 10 * time.Minute,
			Selector: patchwave.MustParseSelector(fmt.Sprintf("site=s%d", i%4)), Blocking: i%5 == 4})
	}
	idx := NewWindowIndex(windows, false)
	at := time.Date(2026, 3, 7, 12, 0, 0, 0, loc) // the weekend before the DST change
	for i := range 40 {
		h := patchwave.Host{ID: int64(i), Site: fmt.Sprintf("s%d", i%5)}
		for _, after := range []time.Time{at, at.Add(37 * time.Hour), at.Add(24 * 7 * time.Hour)} {
			want, wok := NextOpening(windows, h, after)
			got, gok := idx.NextOpening(h, after)
			if wok != gok || !got.Start.Equal(want.Start) || !got.CutOff.Equal(want.CutOff) || got.Window != want.Window {
				t.Errorf("host %d after %v: index %v %v, direct %v %v", i, after, got, gok, want, wok)
			}
			_, win := InWindow(windows, h, after)
			_, gin := idx.InWindow(h, after)
			if win != gin {
				t.Errorf("host %d at %v: InWindow %v, index %v", i, after, win, gin)
			}
		}
	}
}
