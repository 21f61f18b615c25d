package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/store"
)

// TestAuditVerifyFindsTampering damages a trail of five events directly
// in the database, one way per case, and checks that verification points
// at the first broken link.
func TestAuditVerifyFindsTampering(t *testing.T) {
	cases := []struct {
		name   string
		damage []string
		first  int64
		msg    string
	}{
		{"intact", nil, 0, ""},
		{"edited", []string{`UPDATE audit_events SET detail = '{"i":99}' WHERE id = 3`}, 3, "event 3 does not match its hash"},
		{"edited hash too", []string{`UPDATE audit_events SET actor = 'mallory', hash = 'x' WHERE id = 2`}, 2, "event 2 does not match"},
		{"deleted", []string{`DELETE FROM audit_events WHERE id = 2`}, 2, "events 2 to 2 are missing"},
		{"deleted and renumbered", []string{`DELETE FROM audit_events WHERE id = 2`, `UPDATE audit_events SET id = id - 1 WHERE id > 2`}, 2, "event 2 does not match"},
		{"reordered", []string{
			`UPDATE audit_events SET id = 100 WHERE id = 3`,
			`UPDATE audit_events SET id = 3 WHERE id = 4`,
			`UPDATE audit_events SET id = 4 WHERE id = 100`}, 3, "event 3 does not match"},
		{"first deleted", []string{`DELETE FROM audit_events WHERE id = 1`}, 1, "events 1 to 1 are missing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			each(t, func(t *testing.T, s *store.Store) {
				ctx := context.Background()
				for i := range 5 {
					if err := s.Write(ctx, func(tx *store.Tx) error {
						return tx.Audit("admin", "host.update", fmt.Sprint("host:", i), map[string]int{"i": i})
					}); err != nil {
						t.Fatal(err)
					}
				}
				if err := s.Write(ctx, func(tx *store.Tx) error {
					for _, q := range c.damage {
						if err := tx.ExecForTest(q); err != nil {
							return err
						}
					}
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				v, err := s.VerifyAuditChain(ctx, 0, "")
				if err != nil {
					t.Fatal(err)
				}
				if v.OK != (c.first == 0) || v.FirstBroken != c.first || !strings.Contains(v.Problem, c.msg) {
					t.Errorf("verification %+v; want first broken %d with %q", v, c.first, c.msg)
				}
				if c.first == 0 && (v.HeadID != 5 || v.Events != 5 || len(v.Head) != 64) {
					t.Errorf("intact head %+v", v)
				}
				if err := s.VerifyAudit(ctx); (err == nil) != (c.first == 0) || (err != nil && patchwave.ErrorCode(err) != patchwave.EConflict) {
					t.Errorf("VerifyAudit: %v", err)
				}
			})
		})
	}
}

// TestAuditVerifyHead: a recorded head shows events cut off the end, and
// a rewritten trail, which the chain alone cannot.
func TestAuditVerifyHead(t *testing.T) {
	each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		for i := range 4 {
			if err := s.Write(ctx, func(tx *store.Tx) error { return tx.Audit("admin", "x", fmt.Sprint(i), nil) }); err != nil {
				t.Fatal(err)
			}
		}
		v, err := s.VerifyAuditChain(ctx, 0, "")
		if err != nil || !v.OK {
			t.Fatal(v, err)
		}
		if err := s.Write(ctx, func(tx *store.Tx) error { return tx.ExecForTest(`DELETE FROM audit_events WHERE id >= 3`) }); err != nil {
			t.Fatal(err)
		}
		if plain, _ := s.VerifyAuditChain(ctx, 0, ""); !plain.OK {
			t.Errorf("the chain alone cannot see a cut end: %+v", plain)
		}
		got, err := s.VerifyAuditChain(ctx, v.HeadID, v.Head)
		if err != nil || got.OK || got.FirstBroken != 3 || !strings.Contains(got.Problem, "cut off the end") {
			t.Errorf("with the head: %+v %v", got, err)
		}
		got, _ = s.VerifyAuditChain(ctx, 2, strings.Repeat("0", 64))
		if got.OK || got.FirstBroken != 2 || !strings.Contains(got.Problem, "rewritten") {
			t.Errorf("another head hash: %+v", got)
		}
	})
}

func TestEachAudit(t *testing.T) {
	each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		for i := range 5 {
			s.SetClock(func() time.Time { return base.AddDate(0, 0, i) })
			if err := s.Write(ctx, func(tx *store.Tx) error { return tx.Audit("admin", "x", fmt.Sprint(i), nil) }); err != nil {
				t.Fatal(err)
			}
		}
		var ids []int64
		err := s.EachAudit(ctx, base.AddDate(0, 0, 1), base.AddDate(0, 0, 3), func(e patchwave.AuditEvent) error { ids = append(ids, e.ID); return nil })
		if err != nil || fmt.Sprint(ids) != "[2 3]" {
			t.Errorf("days 2 and 3: %v %v", ids, err)
		}
		ids = nil
		_ = s.EachAudit(ctx, time.Time{}, time.Time{}, func(e patchwave.AuditEvent) error { ids = append(ids, e.ID); return nil })
		if len(ids) != 5 {
			t.Errorf("everything: %v", ids)
		}
	})
}
