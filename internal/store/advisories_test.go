package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/store"
)

func TestAdvisoriesIncremental(t *testing.T) {
	each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		put := func(recs ...store.RawAdvisory) []string {
			var changed []string
			if err := s.Write(ctx, func(tx *store.Tx) error {
				var err error
				changed, err = tx.PutAdvisories("ubuntu", recs)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return changed
		}
		if c := put(store.RawAdvisory{ID: "USN-1", Modified: t0, Body: []byte(`{"v":1}`)}, store.RawAdvisory{ID: "USN-2", Modified: t0, Body: []byte(`{}`)}); len(c) != 2 {
			t.Fatalf("first import changed %v", c)
		}
		if c := put(store.RawAdvisory{ID: "USN-1", Modified: t0, Body: []byte(`{"v":2}`)}); len(c) != 0 {
			t.Errorf("same modified time replaced a record: %v", c)
		}
		if c := put(store.RawAdvisory{ID: "USN-1", Modified: t0.Add(time.Hour), Body: []byte(`{"v":3}`)}); !slices.Equal(c, []string{"USN-1"}) {
			t.Errorf("newer record not taken: %v", c)
		}
		if c := put(store.RawAdvisory{ID: "USN-1", Modified: t0, Body: []byte(`{"v":0}`)}); len(c) != 0 {
			t.Errorf("older record replaced a newer one: %v", c)
		}
		got, err := s.AdvisoriesByID(ctx, []string{"USN-1", "nope"})
		if err != nil || string(got["USN-1"]) != `{"v":3}` || len(got) != 1 {
			t.Errorf("by id: %q %v", got, err)
		}
		n := 0
		s.EachAdvisory(ctx, func(string, []byte) error { n++; return nil })
		if n != 2 {
			t.Errorf("each: %d", n)
		}
		// A failed import in one transaction leaves nothing behind.
		err = s.Write(ctx, func(tx *store.Tx) error {
			if _, err := tx.PutAdvisories("ubuntu", []store.RawAdvisory{{ID: "USN-3", Modified: t0, Body: []byte(`{}`)}}); err != nil {
				return err
			}
			return patchwave.Errorf(patchwave.EInvalid, "record 2 is broken")
		})
		if err == nil {
			t.Fatal("expected error")
		}
		if c, _ := s.CountAdvisories(ctx); c != 2 {
			t.Errorf("partial import stored: %d records", c)
		}
	})
}

func TestFeedsKEVEPSSEOL(t *testing.T) {
	each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		err := s.Write(ctx, func(tx *store.Tx) error {
			if err := tx.PutFeed(patchwave.Feed{Name: "kev", Kind: patchwave.FeedKEV, URL: "https://example.org/kev.json", Interval: 3600}); err != nil {
				return err
			}
			if err := tx.FeedAttempt("kev", patchwave.FeedKEV, 2, `"abc"`, "Mon", nil); err != nil {
				return err
			}
			if err := tx.FeedAttempt("kev", patchwave.FeedKEV, 0, "", "", patchwave.Errorf(patchwave.EInvalid, "truncated")); err != nil {
				return err
			}
			if err := tx.ReplaceKEV([]patchwave.KEV{{CVE: "CVE-2024-1", DateAdded: time.Now(), DueDate: time.Now(), Ransomware: true}}); err != nil {
				return err
			}
			if err := tx.ReplaceEPSS([]patchwave.EPSS{{CVE: "CVE-2024-1", Probability: 0.5, Percentile: 0.9, Date: time.Now()}}); err != nil {
				return err
			}
			return tx.ReplaceEOL([]patchwave.EOL{{Product: "debian", Cycle: "12", EOL: time.Date(2026, 6, 10, 0, 0, 0, 0, time.UTC)}})
		})
		if err != nil {
			t.Fatal(err)
		}
		f, err := s.Feed(ctx, "kev")
		if err != nil || f.Records != 2 || f.ETag != `"abc"` || f.Error != "truncated" || f.LastSuccess == nil || f.URL == "" {
			t.Errorf("feed %+v %v", f, err)
		}
		kev, _ := s.KEVs(ctx)
		epss, _ := s.EPSSScores(ctx)
		eol, _ := s.EOLs(ctx)
		if !kev["CVE-2024-1"].Ransomware || epss["CVE-2024-1"] != 0.5 || len(eol) != 1 {
			t.Errorf("kev %v epss %v eol %v", kev, epss, eol)
		}
	})
}

func TestApplyFindings(t *testing.T) {
	each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		s.Write(ctx, func(tx *store.Tx) error {
			_, _, err := tx.ImportAssets([]store.Asset{{Hostname: "web-01", Site: "paris"}})
			return err
		})
		h, _ := s.Host(ctx, "web-01")
		f1 := patchwave.Finding{Package: "openssl", Arch: "amd64", Ecosystem: "Debian:12", Installed: "3.0.1", Fixed: "3.0.2", State: patchwave.FindingMissing,
			Advisories: []string{"DSA-1"}, CVEs: []string{"CVE-2024-1"}, Severity: patchwave.SeverityHigh}
		f2 := patchwave.Finding{Package: "zlib1g", Ecosystem: "Debian:12", Installed: "1.2", State: patchwave.FindingNoFix, Severity: patchwave.SeverityLow}
		apply := func(fs ...patchwave.Finding) (int, int) {
			var o, c int
			if err := s.Write(ctx, func(tx *store.Tx) error { var err error; o, c, err = tx.ApplyFindings(h.ID, fs, nil); return err }); err != nil {
				t.Fatal(err)
			}
			return o, c
		}
		if o, c := apply(f1, f2); o != 2 || c != 0 {
			t.Errorf("opened %d closed %d", o, c)
		}
		list, _, _ := s.ListFindings(ctx, patchwave.FindingFilter{})
		first := *list[0].FirstSeen
		if o, c := apply(f1, f2); o != 0 || c != 0 {
			t.Errorf("re-apply opened %d closed %d", o, c)
		}
		if o, c := apply(f2); o != 0 || c != 1 {
			t.Errorf("fix opened %d closed %d", o, c)
		}
		fixed, _, _ := s.ListFindings(ctx, patchwave.FindingFilter{State: patchwave.FindingFixed})
		if len(fixed) != 1 || fixed[0].FixedAt == nil || !fixed[0].FirstSeen.Equal(first) {
			t.Errorf("fixed %+v", fixed)
		}
		yes, no := true, false
		for _, c := range []struct {
			f    patchwave.FindingFilter
			want int
		}{
			{patchwave.FindingFilter{}, 1},
			{patchwave.FindingFilter{Host: "web-01"}, 1},
			{patchwave.FindingFilter{Site: "paris"}, 1},
			{patchwave.FindingFilter{Severity: patchwave.SeverityHigh}, 0},
			{patchwave.FindingFilter{Severity: patchwave.SeverityLow}, 1},
			{patchwave.FindingFilter{HasFix: &no}, 1},
			{patchwave.FindingFilter{HasFix: &yes}, 0},
			{patchwave.FindingFilter{Package: "zlib1g"}, 1},
			{patchwave.FindingFilter{CVE: "CVE-2024-1", State: patchwave.FindingFixed}, 1},
			{patchwave.FindingFilter{KEV: &yes}, 0},
		} {
			got, _, err := s.ListFindings(ctx, c.f)
			if err != nil || len(got) != c.want {
				t.Errorf("filter %+v: %d findings, want %d (%v)", c.f, len(got), c.want, err)
			}
		}
		if o, c := apply(f1, f2); o != 1 || c != 0 {
			t.Errorf("reopen opened %d closed %d", o, c)
		}
	})
}
