package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/client"
)

// webSession signs user in through the web UI's form and returns the
// session cookie's value.
func webSession(t *testing.T, base, user, password string) string {
	t.Helper()
	resp := webPost(t, base, "", "/login", url.Values{"name": {user}, "password": {password}})
	for _, c := range resp.Cookies() {
		if c.Name == "patchwave_session" && c.Value != "" {
			return c.Value
		}
	}
	t.Fatalf("web login of %s: %s, no session cookie", user, resp.Status)
	return ""
}

// webPost posts a form as a browser on the same site would, without
// following redirects.
func webPost(t *testing.T, base, session, path string, form url.Values) *http.Response {
	t.Helper()
	req, err := http.NewRequest("POST", base+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	if session != "" {
		req.AddCookie(&http.Cookie{Name: "patchwave_session", Value: session})
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// TestWebHostEdit changes hosts through the web UI's form on a real server:
// the API's rules apply (viewers and other sites' admins are refused, a
// site admin does not move a host away), and each change is audited.
func TestWebHostEdit(t *testing.T) {
	t.Parallel()
	ts := newServer(t, "")
	ctx := context.Background()
	if _, err := ts.Admin.ImportHosts(ctx, strings.NewReader("hostname,site,tier\nparis-1,paris,lab\nberlin-1,berlin,lab\n")); err != nil {
		t.Fatal(err)
	}
	for _, u := range []client.NewUser{{Name: "sa", Password: "password-sa", Role: patchwave.RoleSiteAdmin, Sites: []string{"paris"}},
		{Name: "vi", Password: "password-vi", Role: patchwave.RoleViewer}} {
		if _, err := ts.Admin.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	sa := webSession(t, ts.URL, "sa", "password-sa")
	vi := webSession(t, ts.URL, "vi", "password-vi")
	edit := url.Values{"site": {"paris"}, "tier": {"mission-critical"}, "owner": {"alice"}, "tags": {"db, prod"}}

	for _, c := range []struct {
		name, session, host string
		form                url.Values
		status              int
	}{
		{"viewer", vi, "paris-1", edit, 403},
		{"site admin, another site's host", sa, "berlin-1", url.Values{"site": {"berlin"}, "tier": {"lab"}, "owner": {"x"}}, 403},
		{"site admin moving a host away", sa, "paris-1", url.Values{"site": {"berlin"}, "tier": {"lab"}}, 403},
		{"no session", "", "paris-1", edit, 303}, // to the login page
	} {
		if resp := webPost(t, ts.URL, c.session, "/hosts/"+c.host, c.form); resp.StatusCode != c.status {
			t.Errorf("%s: %s, want %d", c.name, resp.Status, c.status)
		}
	}
	for _, name := range []string{"paris-1", "berlin-1"} {
		if h, _ := ts.Admin.Host(ctx, name); h.Owner != "" || h.Tier != patchwave.TierLab || len(h.Tags) != 0 {
			t.Errorf("refused web edits changed %s: %+v", name, h)
		}
	}

	resp := webPost(t, ts.URL, sa, "/hosts/paris-1", edit)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/hosts/paris-1?saved=1" {
		t.Fatalf("site admin's edit: %s → %s", resp.Status, resp.Header.Get("Location"))
	}
	h, _ := ts.Admin.Host(ctx, "paris-1")
	if h.Owner != "alice" || h.Tier != patchwave.TierMissionCritical || strings.Join(h.Tags, ",") != "db,prod" || h.TierSource != "manual" {
		t.Errorf("after the web edit: %+v", h)
	}
	evs, err := ts.Admin.Audit(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if e := evs[0]; e.Action != "host.update" || e.Actor != "sa" || e.Object != "host:paris-1" || !strings.Contains(e.Detail, `"owner":"alice"`) {
		t.Errorf("newest audit event %+v", e)
	}
}
