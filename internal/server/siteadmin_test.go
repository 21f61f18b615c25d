package server_test

import (
	"context"
	"strings"
	"testing"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/client"
)

// TestSiteAdminWrites checks what a site admin may import and revoke: hosts
// and enrollment tokens of their sites, judged by the stored host's site
// when a CSV row has none.
func TestSiteAdminWrites(t *testing.T) {
	t.Parallel()
	ts := newServer(t, "")
	ctx := context.Background()
	if _, err := ts.Admin.ImportHosts(ctx, strings.NewReader("hostname,site\nparis-1,paris\nberlin-1,berlin\nnosite-1,\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Admin.CreateUser(ctx, client.NewUser{Name: "sa", Password: "password-sa", Role: patchwave.RoleSiteAdmin, Sites: []string{"paris"}}); err != nil {
		t.Fatal(err)
	}
	sa := client.New(ts.URL, login(t, ts.URL, "sa", "password-sa"))

	for _, c := range []struct{ name, csv, err string }{
		{"own host, no site column", "hostname,owner\nparis-1,alice\n", ""},
		{"own host, empty site", "hostname,site,owner\nparis-1,,alice\n", ""},
		{"new host of own site", "hostname,site\nparis-2,paris\n", ""},
		{"other site's host, no site column", "hostname,owner\nparis-1,alice\nberlin-1,alice\n", `CSV row 3: host berlin-1 is at site "berlin"`},
		{"move own host away", "hostname,site\nparis-1,berlin\n", `CSV row 2: site "berlin" of host paris-1 is not one of yours (paris)`},
		{"take another site's host", "hostname,site\nberlin-1,paris\n", `CSV row 2: host berlin-1 is at site "berlin"`},
		{"host of no site", "hostname,owner\nnosite-1,alice\n", "belongs to no site"},
		{"new host without site", "hostname\nparis-3\n", "CSV row 2: host paris-3 belongs to no site: give it one of yours (paris)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := sa.ImportHosts(ctx, strings.NewReader(c.csv))
			if c.err == "" && err != nil {
				t.Errorf("refused: %v", err)
			}
			if c.err != "" && (patchwave.ErrorCode(err) != patchwave.EForbidden || !strings.Contains(err.Error(), c.err)) {
				t.Errorf("%v; want forbidden with %q", err, c.err)
			}
		})
	}
	if h, _ := ts.Admin.Host(ctx, "paris-1"); h.Owner != "alice" || h.Site != "paris" {
		t.Errorf("paris-1 after the site admin's imports: %+v", h)
	}
	for _, name := range []string{"berlin-1", "nosite-1"} {
		if h, _ := ts.Admin.Host(ctx, name); h.Owner != "" {
			t.Errorf("%s changed by a refused import: %+v", name, h)
		}
	}
	if _, err := ts.Admin.Host(ctx, "paris-3"); patchwave.ErrorCode(err) != patchwave.ENotFound {
		t.Errorf("refused import created paris-3: %v", err)
	}

	// Enrollment tokens: their own, and an admin's for their site; not others.
	own, err := sa.CreateEnrollToken(ctx, client.EnrollTokenRequest{Site: "paris"})
	if err != nil {
		t.Fatal(err)
	}
	adminParis := enrollToken(t, ts.Admin, map[string]any{"site": "paris"})
	adminBerlin := enrollToken(t, ts.Admin, map[string]any{"site": "berlin"})
	adminNone := enrollToken(t, ts.Admin, map[string]any{})
	for _, id := range []int64{own.ID, adminParis.ID} {
		if err := sa.RevokeEnrollToken(ctx, id); err != nil {
			t.Errorf("revoke paris token %d: %v", id, err)
		}
	}
	for _, id := range []int64{adminBerlin.ID, adminNone.ID} {
		if err := sa.RevokeEnrollToken(ctx, id); patchwave.ErrorCode(err) != patchwave.EForbidden {
			t.Errorf("revoke token %d of another site: %v", id, err)
		}
	}
	toks, _ := ts.Admin.ListEnrollTokens(ctx)
	for _, tk := range toks {
		if want := tk.Site == "paris"; tk.Revoked != want {
			t.Errorf("token %d of site %q: revoked %v", tk.ID, tk.Site, tk.Revoked)
		}
	}
	// Viewers still may not.
	if _, err := ts.Admin.CreateUser(ctx, client.NewUser{Name: "vi", Password: "password-vi", Role: patchwave.RoleViewer}); err != nil {
		t.Fatal(err)
	}
	vi := client.New(ts.URL, login(t, ts.URL, "vi", "password-vi"))
	if err := vi.RevokeEnrollToken(ctx, adminNone.ID); patchwave.ErrorCode(err) != patchwave.EForbidden {
		t.Errorf("viewer revoking a token: %v", err)
	}
	evs, _ := ts.Admin.Audit(ctx, 0, 100)
	n := 0
	for _, e := range evs {
		if e.Action == "enroll_token.revoke" {
			n++
			if e.Actor != "sa" || !strings.Contains(e.Detail, `"site":"paris"`) {
				t.Errorf("revocation event %+v", e)
			}
		}
	}
	if n != 2 {
		t.Errorf("%d revocation events, want 2", n)
	}
}
