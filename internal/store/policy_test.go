package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/store"
)

func TestPolicyObjects(t *testing.T) {
	each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if v, err := s.Setting(ctx, "sla"); err != nil || v != nil {
			t.Fatalf("unset setting: %q %v", v, err)
		}
		exp := time.Now().Add(time.Hour)
		var id int64
		err := s.Write(ctx, func(tx *store.Tx) error {
			if err := tx.PutSetting("sla", []byte(`{"at_risk":0.8}`)); err != nil {
				return err
			}
			if err := tx.PutSetting("sla", []byte(`{"at_risk":0.7}`)); err != nil {
				return err
			}
			var err error
			id, err = tx.CreatePolicy(store.PolicyObject{Kind: store.PolicyBaseline, Name: "servers", Body: []byte(`{"name":"servers"}`), CreatedBy: "admin"})
			if err != nil {
				return err
			}
			_, err = tx.CreatePolicy(store.PolicyObject{Kind: store.PolicyException, State: "pending", Site: "paris", ExpiresAt: &exp, Body: []byte(`{}`)})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if v, _ := s.Setting(ctx, "sla"); string(v) != `{"at_risk":0.7}` {
			t.Errorf("setting %q", v)
		}
		err = s.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.CreatePolicy(store.PolicyObject{Kind: store.PolicyBaseline, Name: "servers", Body: []byte(`{}`)})
			return err
		})
		if patchwave.ErrorCode(err) != patchwave.EConflict {
			t.Errorf("duplicate baseline name: %v", err)
		}
		p, err := s.PolicyByName(ctx, store.PolicyBaseline, "servers")
		if err != nil || p.ID != id || p.CreatedBy != "admin" {
			t.Fatalf("by name %+v %v", p, err)
		}
		if p2, err := s.PolicyByName(ctx, store.PolicyBaseline, "1"); err != nil || p2.ID != id {
			t.Errorf("by id %+v %v", p2, err)
		}
		p.Body = []byte(`{"name":"servers","description":"x"}`)
		if err := s.Write(ctx, func(tx *store.Tx) error { return tx.UpdatePolicy(p) }); err != nil {
			t.Fatal(err)
		}
		list, _ := s.ListPolicy(ctx, store.PolicyException)
		if len(list) != 1 || list[0].Site != "paris" || list[0].ExpiresAt == nil {
			t.Errorf("exceptions %+v", list)
		}
		if err := s.Write(ctx, func(tx *store.Tx) error { return tx.DeletePolicy(store.PolicyBaseline, id) }); err != nil {
			t.Fatal(err)
		}
		if err := s.Write(ctx, func(tx *store.Tx) error { return tx.DeletePolicy(store.PolicyBaseline, id) }); patchwave.ErrorCode(err) != patchwave.ENotFound {
			t.Errorf("second delete: %v", err)
		}
	})
}

// TestFindingPublication: a finding's publication date and classification
// are stored with it, and a change to them is written.
func TestFindingPublication(t *testing.T) {
	each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		var h patchwave.Host
		err := s.Write(ctx, func(tx *store.Tx) error {
			if _, _, err := tx.ImportAssets([]store.Asset{{Hostname: "web-01"}}); err != nil {
				return err
			}
			var err error
			h, err = tx.HostRef("web-01")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		pub := time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)
		f := patchwave.Finding{Ecosystem: "AlmaLinux:9", Package: "tzdata", Installed: "1", Fixed: "2", State: patchwave.FindingMissing,
			Advisories: []string{"ALBA-1"}, Published: &pub, Classification: patchwave.ClassBugfix}
		apply := func(f patchwave.Finding) {
			t.Helper()
			if err := s.Write(ctx, func(tx *store.Tx) error { _, _, err := tx.ApplyFindings(h.ID, []patchwave.Finding{f}, nil); return err }); err != nil {
				t.Fatal(err)
			}
		}
		apply(f)
		fs, _, err := s.ListFindings(ctx, patchwave.FindingFilter{})
		if err != nil || len(fs) != 1 || fs[0].Published == nil || !fs[0].Published.Equal(pub) || fs[0].Classification != patchwave.ClassBugfix {
			t.Fatalf("stored %+v %v", fs, err)
		}
		f.Published, f.Classification = nil, patchwave.ClassSecurity
		apply(f)
		if fs, _, _ = s.ListFindings(ctx, patchwave.FindingFilter{}); fs[0].Published != nil || fs[0].Classification != patchwave.ClassSecurity {
			t.Errorf("changed to %v, %q", fs[0].Published, fs[0].Classification)
		}
	})
}

// TestNextFindingChange: the next moment a stored finding's outcome moves
// with the clock: at risk, breached, or approved after some days.
func TestNextFindingChange(t *testing.T) {
	each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		start := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
		now := start
		s.SetClock(func() time.Time { return start })
		var h patchwave.Host
		err := s.Write(ctx, func(tx *store.Tx) error {
			if _, _, err := tx.ImportAssets([]store.Asset{{Hostname: "web-01"}}); err != nil {
				return err
			}
			var err error
			h, err = tx.HostRef("web-01")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		pub := start.AddDate(0, 0, -1)
		fs := []patchwave.Finding{
			{Package: "a", Fixed: "2", State: patchwave.FindingMissing, Published: &pub},
			{Package: "b", Fixed: "2", State: patchwave.FindingMissing},
		}
		due := map[string]time.Time{"a": start.AddDate(0, 0, 10), "b": start.AddDate(0, 0, 30)}
		err = s.Write(ctx, func(tx *store.Tx) error {
			_, _, err := tx.ApplyFindings(h.ID, fs, func(f *patchwave.Finding, first time.Time) {
				f.Policy = &patchwave.FindingPolicy{Due: due[f.Package], SLA: patchwave.SLAOnTrack}
			})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name string
			at   time.Time
			days []int
			want *time.Time
		}{
			{"a at risk", now, nil, tp(start.AddDate(0, 0, 8))},
			{"a approved after 3 days", now, []int{14, 3}, tp(pub.AddDate(0, 0, 3))},
			{"approvals in the past do not count", now, []int{1}, tp(start.AddDate(0, 0, 8))},
			{"a breached", start.AddDate(0, 0, 9), nil, tp(start.AddDate(0, 0, 10))},
			{"b at risk", start.AddDate(0, 0, 11), nil, tp(start.AddDate(0, 0, 24))},
			{"nothing left", start.AddDate(0, 0, 31), []int{7}, nil},
		} {
			got, err := s.NextFindingChange(ctx, tc.at, 0.8, tc.days)
			if err != nil || (got == nil) != (tc.want == nil) || (got != nil && !got.Equal(*tc.want)) {
				t.Errorf("%s: %v %v, want %v", tc.name, got, err, tc.want)
			}
		}
	})
}

func tp(t time.Time) *time.Time { return &t }

// TestTierRuleSources: tier rules set only default tiers and their own,
// never one set by hand or by the enrollment token; reverting gives back
// the token's tier and exposure, or the default; each change is audited.
func TestTierRuleSources(t *testing.T) {
	each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		ids := map[string]int64{}
		high := true
		err := s.Write(ctx, func(tx *store.Tx) error {
			tok, err := tx.CreateEnrollToken(patchwave.EnrollToken{Prefix: "pwe_a", Tier: patchwave.TierLab, HighExposure: true, ExpiresAt: time.Now().Add(time.Hour)}, "hash-a")
			if err != nil {
				return err
			}
			h, _, err := tx.EnrollHost(patchwave.Facts{Hostname: "tok-01"}, tok, "cred-1")
			if err != nil {
				return err
			}
			ids[h.Hostname] = h.ID
			if _, _, err := tx.ImportAssets([]store.Asset{{Hostname: "plain-01"}, {Hostname: "hand-01", Tier: patchwave.TierBusinessCritical}}); err != nil {
				return err
			}
			for _, n := range []string{"plain-01", "hand-01"} {
				h, err := tx.HostRef(n)
				if err != nil {
					return err
				}
				ids[n] = h.ID
			}
			for _, n := range []string{"tok-01", "plain-01", "hand-01"} {
				if _, err := tx.ApplyTierRule("patchwave", ids[n], 5, patchwave.TierMissionCritical, &high); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		host := func(name string) patchwave.Host {
			t.Helper()
			h, err := s.Host(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			return h
		}
		if h := host("tok-01"); h.Tier != patchwave.TierLab || h.TierSource != "token" || !h.HighExposure || h.ExposureSource != "token" {
			t.Errorf("token host %s/%s exposure %t/%s", h.Tier, h.TierSource, h.HighExposure, h.ExposureSource)
		}
		if h := host("hand-01"); h.Tier != patchwave.TierBusinessCritical || h.TierSource != "manual" || !h.HighExposure || h.ExposureRule != 5 {
			t.Errorf("manual host %+v", h)
		}
		if h := host("plain-01"); h.Tier != patchwave.TierMissionCritical || h.TierSource != "rule" || h.TierRule != 5 || !h.HighExposure || h.ExposureSource != "rule" {
			t.Errorf("plain host %+v", h)
		}
		var n int
		err = s.Write(ctx, func(tx *store.Tx) error {
			// Applying the same rule again changes nothing.
			if changed, err := tx.ApplyTierRule("patchwave", ids["plain-01"], 5, patchwave.TierMissionCritical, &high); err != nil || changed {
				t.Errorf("second application: %t %v", changed, err)
			}
			var err error
			n, err = tx.RevertTierRule("admin", 5)
			return err
		})
		if err != nil || n != 2 {
			t.Fatalf("reverted %d hosts: %v", n, err)
		}
		if h := host("plain-01"); h.Tier != patchwave.TierBusinessOperational || h.TierSource != "default" || h.TierRule != 0 || h.HighExposure || h.ExposureSource != "default" {
			t.Errorf("plain host after revert %+v", h)
		}
		if h := host("hand-01"); h.Tier != patchwave.TierBusinessCritical || h.TierSource != "manual" || h.HighExposure {
			t.Errorf("manual host after revert %+v", h)
		}
		evs, err := s.ListAudit(ctx, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		count := 0
		for _, e := range evs {
			if e.Action == "host.tier-rule" {
				count++
				if !strings.Contains(e.Detail, `"before":{`) || !strings.Contains(e.Detail, `"after":{`) {
					t.Errorf("audit detail %s", e.Detail)
				}
			}
		}
		if count != 4 { // plain-01 and hand-01 (exposure), each set and reverted
			t.Errorf("%d tier audit events, want 4", count)
		}
	})
}
