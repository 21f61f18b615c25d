package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/store"
	"github.com/patchwave/patchwave/internal/store/storetest"
)

// each runs fn against a fresh, migrated store of every available dialect.
func each(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	for _, d := range storetest.DSNs(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			s, err := store.Open(ctx, d.URL)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			if err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			fn(t, s)
		})
	}
}

func TestMigrateTwiceAndRefuseNewer(t *testing.T) {
	each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if err := s.Migrate(ctx); err != nil {
			t.Fatalf("second migrate: %v", err)
		}
		applied, known, err := s.SchemaVersion(ctx)
		if err != nil || applied != known || known < 1 {
			t.Fatalf("schema version %d of %d, %v", applied, known, err)
		}
		if err := s.Write(ctx, func(tx *store.Tx) error {
			return tx.ExecForTest(`INSERT INTO schema_migrations (version, applied_at) VALUES (9999, 0)`)
		}); err != nil {
			t.Fatal(err)
		}
		err = s.Migrate(ctx)
		if patchwave.ErrorCode(err) != patchwave.EConflict || !strings.Contains(err.Error(), "newer than this build") {
			t.Fatalf("migrate over a newer schema: %v", err)
		}
	})
}

func TestSameSchemaInBothDialects(t *testing.T) {
	pg := storetest.Postgres(t, true)
	ctx := context.Background()
	cols := func(dsn string) map[string][]string {
		s, err := store.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		m, err := s.Columns(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	lite := cols(t.TempDir() + "/x.db")
	post := cols(pg)
	if fmt.Sprint(lite) != fmt.Sprint(post) {
		t.Errorf("schemas differ:\nsqlite:   %v\npostgres: %v", lite, post)
	}
	if len(lite) < 7 {
		t.Errorf("only %d tables: %v", len(lite), lite)
	}
}

func enrollToken(t *testing.T, s *store.Store, site string, maxUses int, ttl time.Duration) (patchwave.EnrollToken, string) {
	t.Helper()
	var tok patchwave.EnrollToken
	hash := fmt.Sprintf("hash-%d-%s", time.Now().UnixNano(), site)
	err := s.Write(context.Background(), func(tx *store.Tx) error {
		var err error
		tok, err = tx.CreateEnrollToken(patchwave.EnrollToken{Prefix: "pwe_x", Site: site, Tier: patchwave.TierLab,
			Tags: []string{"qa"}, MaxUses: maxUses, ExpiresAt: time.Now().Add(ttl), CreatedBy: "admin"}, hash)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return tok, hash
}

func TestEnrollTokenUses(t *testing.T) {
	each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		_, hash := enrollToken(t, s, "bangalore", 2, time.Hour)
		use := func() error {
			return s.Write(ctx, func(tx *store.Tx) error { _, err := tx.UseEnrollToken(hash); return err })
		}
		for i := 0; i < 2; i++ {
			if err := use(); err != nil {
				t.Fatalf("use %d: %v", i, err)
			}
		}
		if err := use(); patchwave.ErrorCode(err) != patchwave.EUnauthorized || !strings.Contains(err.Error(), "used 2 of 2") {
			t.Fatalf("third use: %v", err)
		}
		_, hash = enrollToken(t, s, "x", 0, -time.Minute)
		if err := use(); err == nil {
			t.Fatal("expired token reused")
		}
		err := s.Write(ctx, func(tx *store.Tx) error { _, err := tx.UseEnrollToken(hash); return err })
		if patchwave.ErrorCode(err) != patchwave.EUnauthorized || !strings.Contains(err.Error(), "expired") {
			t.Fatalf("expired token: %v", err)
		}
		err = s.Write(ctx, func(tx *store.Tx) error { _, err := tx.UseEnrollToken("nope"); return err })
		if patchwave.ErrorCode(err) != patchwave.EUnauthorized {
			t.Fatalf("unknown token: %v", err)
		}
	})
}

func TestHostLifecycle(t *testing.T) {
	each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		tok, hash := enrollToken(t, s, "bangalore", 0, time.Hour)
		facts := patchwave.Facts{Hostname: "web-01", OS: patchwave.OS{ID: "debian", Version: "12", Family: "debian"},
			Interfaces: []patchwave.Interface{{Name: "eth0", MAC: "52:54:00:12:34:56", IPs: []string{"10.1.2.3/24"}}}}
		var h patchwave.Host
		err := s.Write(ctx, func(tx *store.Tx) error {
			t, err := tx.UseEnrollToken(hash)
			if err != nil {
				return err
			}
			h, _, err = tx.EnrollHost(facts, t, "cred-hash")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		_ = tok
		pkgs := patchwave.SortPackages([]patchwave.Package{{Name: "openssl", Version: "3.0.15-1~deb12u1", Arch: "amd64"},
			{Name: "bash", Version: "5.2.15-2+b7", Arch: "amd64", Source: "bash", SourceVersion: "5.2.15-2"}})
		var hash1 string
		if err := s.Write(ctx, func(tx *store.Tx) error { var err error; hash1, err = tx.SetPackages(h.ID, pkgs); return err }); err != nil {
			t.Fatal(err)
		}
		a, err := s.AgentByCredential(ctx, "cred-hash")
		if err != nil || a.HostID != h.ID || a.PackagesHash != hash1 || a.FactsHash != facts.Hash() {
			t.Fatalf("agent state %+v, %v", a, err)
		}
		got, err := s.Host(ctx, "web-01")
		if err != nil {
			t.Fatal(err)
		}
		if got.Site != "bangalore" || got.Tier != patchwave.TierLab || !slices.Equal(got.Tags, []string{"qa"}) || got.PackageCount != 2 ||
			len(got.Interfaces) != 1 || got.Interfaces[0].IPs[0] != "10.1.2.3/24" || !got.Managed {
			t.Errorf("host %+v", got)
		}
		back, err := s.HostPackages(ctx, h.ID)
		if err != nil || !slices.Equal(back, pkgs) {
			t.Errorf("packages %v, %v", back, err)
		}
		for _, f := range []patchwave.HostFilter{{Site: "bangalore"}, {Tier: patchwave.TierLab}, {Tag: "qa"}, {OS: "debian:12"}, {OS: "debian"}, {Query: "10.1.2"}, {Query: "WEB"}} {
			hs, _, err := s.ListHosts(ctx, f)
			if err != nil || len(hs) != 1 {
				t.Errorf("filter %+v: %d hosts, %v", f, len(hs), err)
			}
		}
		for _, f := range []patchwave.HostFilter{{Site: "frankfurt"}, {Tag: "q"}, {OS: "debian:11"}, {Query: "%"}, {Query: "_"}} {
			hs, _, err := s.ListHosts(ctx, f)
			if err != nil || len(hs) != 0 {
				t.Errorf("filter %+v: %d hosts, %v", f, len(hs), err)
			}
		}
		site, tier, tags := "frankfurt", patchwave.TierMissionCritical, []string{"db", "prod"}
		err = s.Write(ctx, func(tx *store.Tx) error {
			_, _, err := tx.UpdateHost("web-01", patchwave.HostUpdate{Site: &site, Tier: &tier, Tags: &tags})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		got, _ = s.Host(ctx, fmt.Sprint(h.ID))
		if got.Site != "frankfurt" || got.Tier != tier || !slices.Equal(got.Tags, tags) {
			t.Errorf("after update %+v", got)
		}
		if err := s.Write(ctx, func(tx *store.Tx) error { _, err := tx.RevokeHost("web-01"); return err }); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AgentByCredential(ctx, "cred-hash"); patchwave.ErrorCode(err) != patchwave.EUnauthorized {
			t.Errorf("revoked host's credential: %v", err)
		}
		if _, err := s.Host(ctx, "nope"); patchwave.ErrorCode(err) != patchwave.ENotFound {
			t.Errorf("missing host: %v", err)
		}
	})
}

func TestPackageSetsAreShared(t *testing.T) {
	each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		pkgs := []patchwave.Package{{Name: "a", Version: "1"}, {Name: "b", Version: "2"}}
		err := s.Write(ctx, func(tx *store.Tx) error {
			created, _, err := tx.ImportAssets([]store.Asset{{Hostname: "h1"}, {Hostname: "h2"}})
			if err != nil || created != 2 {
				return fmt.Errorf("import: %d %v", created, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		hs, _, _ := s.ListHosts(ctx, patchwave.HostFilter{})
		for _, h := range hs {
			if err := s.Write(ctx, func(tx *store.Tx) error { _, err := tx.SetPackages(h.ID, pkgs); return err }); err != nil {
				t.Fatal(err)
			}
		}
		n, err := s.CountPackageSets(ctx)
		if err != nil || n != 1 {
			t.Errorf("%d package sets for identical hosts, %v", n, err)
		}
		// One host moves to a new set; the old one is still used by the other.
		if err := s.Write(ctx, func(tx *store.Tx) error { _, err := tx.SetPackages(hs[0].ID, pkgs[:1]); return err }); err != nil {
			t.Fatal(err)
		}
		if pruned, err := s.PrunePackageSets(ctx, time.Now().Add(time.Hour)); err != nil || pruned != 0 {
			t.Errorf("pruned %d sets in use, %v", pruned, err)
		}
		if err := s.Write(ctx, func(tx *store.Tx) error { _, err := tx.SetPackages(hs[1].ID, pkgs[:1]); return err }); err != nil {
			t.Fatal(err)
		}
		if pruned, err := s.PrunePackageSets(ctx, time.Now().Add(-time.Hour)); err != nil || pruned != 0 {
			t.Errorf("pruned %d young sets, %v", pruned, err)
		}
		if pruned, err := s.PrunePackageSets(ctx, time.Now().Add(time.Hour)); err != nil || pruned != 1 {
			t.Errorf("pruned %d unused sets, want 1, %v", pruned, err)
		}
		if ps, err := s.HostPackages(ctx, hs[0].ID); err != nil || len(ps) != 1 {
			t.Errorf("packages after prune: %v %v", ps, err)
		}
	})
}

func TestImportUpdatesAndKeepsAgentFacts(t *testing.T) {
	each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		err := s.Write(ctx, func(tx *store.Tx) error {
			_, _, err := tx.ImportAssets([]store.Asset{{Hostname: "db-01", IP: "10.0.0.9", OS: "ubuntu 22.04", Site: "paris", Tier: patchwave.TierBusinessCritical, Owner: "bob"}})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		err = s.Write(ctx, func(tx *store.Tx) error {
			c, u, err := tx.ImportAssets([]store.Asset{{Hostname: "db-01", Owner: "carol"}})
			if c != 0 || u != 1 {
				return fmt.Errorf("created %d updated %d", c, u)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		h, err := s.Host(ctx, "db-01")
		if err != nil || h.Owner != "carol" || h.Site != "paris" || h.OS.ID != "ubuntu" || h.OS.Version != "22.04" || h.IPs()[0] != "10.0.0.9" || h.Managed {
			t.Errorf("host %+v, %v", h, err)
		}
	})
}

func TestAuditChain(t *testing.T) {
	each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		for i := 0; i < 3; i++ {
			if err := s.Write(ctx, func(tx *store.Tx) error {
				return tx.Audit("admin", "host.update", fmt.Sprint("host:", i), map[string]int{"i": i})
			}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.VerifyAudit(ctx); err != nil {
			t.Fatal(err)
		}
		evs, err := s.ListAudit(ctx, 0, 10)
		if err != nil || len(evs) != 3 || evs[0].Object != "host:2" {
			t.Fatalf("events %+v, %v", evs, err)
		}
		if err := s.Write(ctx, func(tx *store.Tx) error {
			return tx.ExecForTest(`UPDATE audit_events SET actor = 'mallory' WHERE id = 2`)
		}); err != nil {
			t.Fatal(err)
		}
		if err := s.VerifyAudit(ctx); err == nil || !strings.Contains(err.Error(), "event 2") {
			t.Fatalf("tampering not detected: %v", err)
		}
	})
}

func TestUsersAndTokens(t *testing.T) {
	each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		u, err := s.CreateUser(ctx, patchwave.User{Name: "alice", Role: patchwave.RoleSiteAdmin, Sites: []string{"paris"}}, "h")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateUser(ctx, patchwave.User{Name: "alice", Role: patchwave.RoleViewer}, "h"); patchwave.ErrorCode(err) != patchwave.EConflict {
			t.Fatalf("duplicate user: %v", err)
		}
		exp := time.Now().Add(time.Hour)
		var tok patchwave.APIToken
		if err := s.Write(ctx, func(tx *store.Tx) error {
			var err error
			tok, err = tx.CreateToken(u.ID, store.KindAPI, "ci", "pwt_abc", "th", &exp)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		got, _, err := s.UserByToken(ctx, "th", store.KindAPI)
		if err != nil || got.Name != "alice" || !slices.Equal(got.Sites, []string{"paris"}) {
			t.Fatalf("user by token %+v %v", got, err)
		}
		if _, _, err := s.UserByToken(ctx, "th", store.KindWeb); patchwave.ErrorCode(err) != patchwave.EUnauthorized {
			t.Errorf("api token used as session: %v", err)
		}
		if err := s.Write(ctx, func(tx *store.Tx) error { return tx.RevokeToken(tok.ID, 0, store.KindAPI) }); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.UserByToken(ctx, "th", store.KindAPI); patchwave.ErrorCode(err) != patchwave.EUnauthorized {
			t.Errorf("revoked token: %v", err)
		}
		if err := s.Write(ctx, func(tx *store.Tx) error { return tx.RevokeToken(999, 0, store.KindAPI) }); patchwave.ErrorCode(err) != patchwave.ENotFound {
			t.Errorf("revoke missing: %v", err)
		}
	})
}

func TestOpenErrors(t *testing.T) {
	_, err := store.Open(context.Background(), "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=1")
	if err == nil {
		t.Fatal("open of an unreachable server succeeded")
	}
	if _, err := store.Open(context.Background(), "/nonexistent-dir/x/y.db"); err == nil {
		t.Fatal("open in a missing directory succeeded")
	}
	if errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}
