package store

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/patchwave/patchwave/internal/store/storetest"
)

// TestUpgradeFromEveryVersion upgrades a database from each earlier
// schema version, holding data written at that version, to the newest,
// and reads the data back with today's code: no migration may leave old
// rows that the store cannot read.
func TestUpgradeFromEveryVersion(t *testing.T) {
	for _, d := range storetest.DSNs(t) {
		t.Run(d.Name, func(t *testing.T) {
			probe, err := Open(context.Background(), d.URL)
			if err != nil {
				t.Fatal(err)
			}
			ms, err := probe.migrations()
			probe.Close()
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range ms[:len(ms)-1] {
				t.Run(m.name, func(t *testing.T) {
					ctx := context.Background()
					dsn := filepath.Join(t.TempDir(), "patchwave.db")
					if d.Name == "postgres" {
						dsn = storetest.Postgres(t, true)
					}
					s, err := Open(ctx, dsn)
					if err != nil {
						t.Fatal(err)
					}
					defer s.Close()
					if err := s.MigrateTo(ctx, m.version); err != nil {
						t.Fatal(err)
					}
					if applied, _, _ := s.SchemaVersion(ctx); applied != m.version {
						t.Fatalf("at version %d, not %d", applied, m.version)
					}
					// A host written with the columns of the first schema.
					if _, err := s.wdb.ExecContext(ctx, rebind(s.dialect, `INSERT INTO hosts (hostname, site, tier, tags, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`),
						"old-host", "lyon", "lab", `["kept"]`, 1, 1); err != nil {
						t.Fatal(err)
					}
					if err := s.Migrate(ctx); err != nil {
						t.Fatalf("upgrade from %s: %v", m.name, err)
					}
					h, err := s.Host(ctx, "old-host")
					if err != nil {
						t.Fatalf("reading a host written at %s: %v", m.name, err)
					}
					if h.Site != "lyon" || string(h.Tier) != "lab" || len(h.Tags) != 1 || h.Tags[0] != "kept" {
						t.Errorf("host after the upgrade from %s: %+v", m.name, h)
					}
					if applied, known, _ := s.SchemaVersion(ctx); applied != known {
						t.Errorf("after the upgrade: version %d of %d", applied, known)
					}
				})
			}
		})
	}
}
