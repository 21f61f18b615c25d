package web

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/patchwave/patchwave"
)

// UpdateHost applies the API's rules of who may change what, as the real
// backend does through the API, and records the changes it makes.
func (b *fakeBackend) UpdateHost(ctx context.Context, u patchwave.User, key string, upd patchwave.HostUpdate) (patchwave.Host, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := upd.Validate(); err != nil {
		return patchwave.Host{}, err
	}
	for i, h := range b.hosts {
		if h.Hostname != key && strconv.FormatInt(h.ID, 10) != key {
			continue
		}
		if !u.CanWrite(h.Site) {
			return h, patchwave.Errorf(patchwave.EForbidden, "host %s is at site %q: you may not change it", h.Hostname, h.Site)
		}
		if upd.Site != nil && *upd.Site != h.Site && !u.CanWrite(*upd.Site) {
			return h, patchwave.Errorf(patchwave.EForbidden, "site %q is not one of yours", *upd.Site)
		}
		if upd.Site != nil {
			h.Site = *upd.Site
		}
		if upd.Tier != nil {
			h.Tier, h.TierSource = *upd.Tier, "manual"
		}
		if upd.Owner != nil {
			h.Owner = *upd.Owner
		}
		if upd.Tags != nil {
			h.Tags = *upd.Tags
		}
		b.hosts[i] = h
		b.updates = append(b.updates, u.Name+" "+h.Hostname)
		return h, nil
	}
	return patchwave.Host{}, patchwave.Errorf(patchwave.ENotFound, "host %q not found", key)
}

// as sends a request with the session token tok ("" for none).
func (ui *testUI) as(t *testing.T, tok, method, target string, form url.Values, hdr ...string) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, target, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if tok != "" {
		r.AddCookie(&http.Cookie{Name: CookieName, Value: tok})
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	ui.h.ServeHTTP(w, r)
	b, _ := io.ReadAll(w.Result().Body)
	return w.Result(), string(b)
}

func newHostEditUI(t *testing.T) *testUI {
	ui := newTestUI(t, false)
	ui.b.sessions["tok-vi"] = patchwave.User{ID: 2, Name: "vi", Role: patchwave.RoleViewer}
	ui.b.sessions["tok-sa"] = patchwave.User{ID: 3, Name: "sa", Role: patchwave.RoleSiteAdmin, Sites: []string{"paris", "nice"}}
	ui.b.sessions["tok-op"] = patchwave.User{ID: 4, Name: "op", Role: patchwave.RoleOperator}
	return ui
}

func TestHostEditForm(t *testing.T) {
	ui := newHostEditUI(t)
	// Who sees the form: those who may change the host.
	for _, c := range []struct {
		tok, host string
		form      bool
	}{
		{"tok-alice", "/hosts/web01", true},
		{"tok-op", "/hosts/web01", true},
		{"tok-sa", "/hosts/web01", true},
		{"tok-sa", "/hosts/1234", false}, // lyon
		{"tok-vi", "/hosts/web01", false},
	} {
		resp, body := ui.as(t, c.tok, "GET", c.host, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("%s %s: %d", c.tok, c.host, resp.StatusCode)
		}
		if got := strings.Contains(body, `id="host-edit"`); got != c.form {
			t.Errorf("%s on %s: form shown %v, want %v", c.tok, c.host, got, c.form)
		}
	}
	// A site admin chooses among their sites; others may type one.
	_, body := ui.as(t, "tok-sa", "GET", "/hosts/web01", nil)
	checkPage(t, "site admin's form", body, `<select id="edit-site" name="site"`, `<option value="nice">nice</option>`,
		`<option value="paris" selected>paris</option>`, `action="/hosts/web01"`)
	_, body = ui.as(t, "tok-alice", "GET", "/hosts/web01", nil)
	checkPage(t, "admin's form", body, `<input id="edit-site" name="site" type="text" value="paris" list="edit-sites"`,
		`<option value="business-critical" selected>Business-critical</option>`, `id="edit-tags" name="tags" type="text" value="web"`)
}

func TestHostEditSaves(t *testing.T) {
	ui := newHostEditUI(t)
	form := url.Values{"site": {"nice"}, "tier": {"mission-critical"}, "owner": {"team-web"}, "tags": {"prod, web ,db"}}
	resp, _ := ui.as(t, "tok-sa", "POST", "/hosts/web01", form, "Origin", "http://example.com")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/hosts/web01?saved=1" {
		t.Fatalf("save: %d → %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	h, _ := ui.b.Host(context.Background(), "web01")
	if h.Site != "nice" || h.Tier != patchwave.TierMissionCritical || h.Owner != "team-web" || !slices.Equal(h.Tags, []string{"db", "prod", "web"}) {
		t.Errorf("after the save: %+v", h)
	}
	_, body := ui.as(t, "tok-sa", "GET", "/hosts/web01?saved=1", nil)
	checkPage(t, "after the save", body, `Your changes to web01 are saved.`, `team-web`)

	// Saving the form unchanged changes nothing, not even the tier's source.
	ui.b.updates = nil
	form = url.Values{"site": {"nice"}, "tier": {"mission-critical"}, "owner": {"team-web"}, "tags": {"db, prod, web"}}
	if resp, _ := ui.as(t, "tok-sa", "POST", "/hosts/web01", form); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("unchanged save: %d", resp.StatusCode)
	}
	// Only the owner changes: the tier is left to whatever set it.
	form.Set("owner", "team-ops")
	ui.as(t, "tok-sa", "POST", "/hosts/web01", form)
	if len(ui.b.updates) != 1 {
		t.Errorf("updates %v, want one", ui.b.updates)
	}
}

func TestHostEditRefused(t *testing.T) {
	ui := newHostEditUI(t)
	before := slices.Clone(ui.b.hosts)
	good := url.Values{"site": {"lyon"}, "tier": {"lab"}, "owner": {"mallory"}, "tags": {"x"}}
	for _, c := range []struct {
		name, tok, path string
		form            url.Values
		hdr             []string
		status          int
		want            string
	}{
		{"viewer", "tok-vi", "/hosts/web01", good, nil, 403, "you may not change it"},
		{"site admin, other site's host", "tok-sa", "/hosts/1234", good, nil, 403, "you may not change it"},
		{"site admin moving a host away", "tok-sa", "/hosts/web01", url.Values{"site": {"lyon"}, "tier": {"lab"}}, nil, 403,
			`site &#34;lyon&#34; is not one of yours`},
		{"bad tier", "tok-alice", "/hosts/web01", url.Values{"site": {"paris"}, "tier": {"gold"}}, nil, 400, "unknown tier"},
		{"bad tag", "tok-alice", "/hosts/web01", url.Values{"site": {"paris"}, "tier": {"lab"}, "tags": {"a b"}}, nil, 400, "space"},
		{"bad site", "tok-alice", "/hosts/web01", url.Values{"site": {"pa ris"}, "tier": {"lab"}}, nil, 400, "site"},
		{"unknown host", "tok-alice", "/hosts/nope", good, nil, 404, "There is no host"},
		{"cross-site", "tok-alice", "/hosts/web01", good, []string{"Sec-Fetch-Site", "cross-site"}, 403, "came from another site"},
		{"other origin", "tok-alice", "/hosts/web01", good, []string{"Origin", "https://evil.example"}, 403, "came from another site"},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body := ui.as(t, c.tok, "POST", c.path, c.form, c.hdr...)
			if resp.StatusCode != c.status || !strings.Contains(body, c.want) {
				t.Errorf("%d, want %d with %q:\n%.2000s", resp.StatusCode, c.status, c.want, body)
			}
		})
	}
	// Without a session: to the login page, nothing changed.
	if resp, _ := ui.as(t, "", "POST", "/hosts/web01", good); resp.StatusCode != http.StatusSeeOther ||
		!strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Errorf("without a session: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if len(ui.b.updates) != 0 || !slices.EqualFunc(before, ui.b.hosts, func(a, b patchwave.Host) bool {
		return a.Site == b.Site && a.Tier == b.Tier && a.Owner == b.Owner && slices.Equal(a.Tags, b.Tags)
	}) {
		t.Errorf("refused requests changed hosts: %v", ui.b.updates)
	}
	// A refusal of someone who may edit the host shows the form again, as typed.
	_, body := ui.as(t, "tok-sa", "POST", "/hosts/web01", url.Values{"site": {"lyon"}, "tier": {"lab"}, "owner": {"typed"}})
	checkPage(t, "refused form", body, `<details class="host-edit" id="host-edit" open>`, `id="host-edit-error"`,
		`value="typed"`, `<select id="edit-site" name="site" aria-invalid="true"`)
}
