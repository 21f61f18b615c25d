package store_test

import (
	"context"
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
