package web

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchwave/patchwave"
)

// fakeBackend is an in-memory Backend for handler tests.
type fakeBackend struct {
	mu         sync.Mutex
	users      map[string]string // name → password
	sessions   map[string]patchwave.User
	hosts      []patchwave.Host
	packages   map[int64][]patchwave.Package
	lastFilter patchwave.HostFilter
	loggedOut  []string
	failList   error // returned by ListHosts when set
	next       int64 // returned by ListHosts
}

func newFakeBackend() *fakeBackend {
	seen := time.Now().Add(-5 * time.Minute)
	old := time.Now().Add(-30 * 24 * time.Hour)
	return &fakeBackend{
		users:    map[string]string{"alice": "correct horse"},
		sessions: map[string]patchwave.User{"tok-alice": {ID: 1, Name: "alice", Role: patchwave.RoleAdmin}},
		hosts: []patchwave.Host{
			{ID: 1, Hostname: "web01", FQDN: "web01.example.net", Site: "paris", Tier: patchwave.TierBusinessCritical,
				Tags: []string{"web"}, OS: patchwave.OS{ID: "debian", Name: "Debian GNU/Linux 12 (bookworm)", Version: "12"},
				Kernel: "6.1.0-18-amd64", Arch: "amd64", Uptime: 3*86400 + 7200, Managed: true, AgentVersion: "1.2.3",
				Interfaces: []patchwave.Interface{{Name: "eth0", MAC: "52:54:00:12:34:56", IPs: []string{"10.0.0.5/24", "fe80::1/64"}}},
				Services:   []string{"nginx.service", "sshd.service"},
				EnrolledAt: &old, LastSeenAt: &seen, PackageCount: 2},
			{ID: 2, Hostname: `<script>alert("host")</script>`, Site: "lyon", Tier: patchwave.TierLab, Tags: []string{},
				Managed: true, Stale: true, LastSeenAt: &old, PackageCount: 1},
			{ID: 3, Hostname: "1234", Site: "lyon", Tier: patchwave.TierLab, Tags: []string{}},
		},
		packages: map[int64][]patchwave.Package{
			1: {{Name: "libssl3", Version: "3.0.11-1~deb12u2", Arch: "amd64", Source: "openssl"},
				{Name: "nginx", Version: "1.22.1-9", Arch: "amd64"}},
			2: {{Name: `<img src=x onerror=alert(1)>`, Version: "1.0", Arch: "all"}},
		},
	}
}

func (b *fakeBackend) Login(ctx context.Context, name, password string) (string, patchwave.User, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if pw, ok := b.users[name]; !ok || pw != password {
		return "", patchwave.User{}, patchwave.Errorf(patchwave.EUnauthorized, "bad credentials for %s", name)
	}
	u := patchwave.User{ID: 7, Name: name, Role: patchwave.RoleViewer}
	tok := "tok-" + strconv.Itoa(len(b.sessions)+1) + "-" + name
	b.sessions[tok] = u
	return tok, u, nil
}

func (b *fakeBackend) Session(ctx context.Context, token string) (patchwave.User, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	u, ok := b.sessions[token]
	if !ok {
		return patchwave.User{}, patchwave.Errorf(patchwave.EUnauthorized, "no session")
	}
	return u, nil
}

func (b *fakeBackend) Logout(ctx context.Context, token string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.sessions, token)
	b.loggedOut = append(b.loggedOut, token)
	return nil
}

func (b *fakeBackend) ListHosts(ctx context.Context, f patchwave.HostFilter) ([]patchwave.Host, int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lastFilter = f
	if b.failList != nil {
		return nil, 0, b.failList
	}
	var out []patchwave.Host
	for _, h := range b.hosts {
		if h.ID > f.After && (f.Site == "" || h.Site == f.Site) && (f.Tier == "" || h.Tier == f.Tier) &&
			(f.Query == "" || strings.Contains(h.Hostname, f.Query)) {
			out = append(out, h)
		}
	}
	return out, b.next, nil
}

func (b *fakeBackend) Host(ctx context.Context, key string) (patchwave.Host, error) {
	for _, h := range b.hosts {
		if h.Hostname == key || strconv.FormatInt(h.ID, 10) == key {
			return h, nil
		}
	}
	return patchwave.Host{}, patchwave.Errorf(patchwave.ENotFound, "host %q not found", key)
}

func (b *fakeBackend) HostPackages(ctx context.Context, id int64) ([]patchwave.Package, error) {
	return b.packages[id], nil
}

func (b *fakeBackend) Facets(ctx context.Context) ([]string, []string, error) {
	return []string{"lyon", "paris"}, []string{"db", "web"}, nil
}

// testUI is a web UI over a fake backend, with a log the test can read.
type testUI struct {
	h   *Handler
	b   *fakeBackend
	log *bytes.Buffer
}

func newTestUI(t *testing.T, secure bool) *testUI {
	t.Helper()
	var buf bytes.Buffer
	b := newFakeBackend()
	return &testUI{h: New(b, slog.New(slog.NewTextHandler(&buf, nil)), secure), b: b, log: &buf}
}

// do sends a request, with alice's session when signedIn, and returns the answer.
func (ui *testUI) do(t *testing.T, method, target string, body io.Reader, signedIn bool, hdr ...string) (*http.Response, string) {
	t.Helper()
	r := httptest.NewRequest(method, target, body)
	if body != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if signedIn {
		r.AddCookie(&http.Cookie{Name: CookieName, Value: "tok-alice"})
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	ui.h.ServeHTTP(w, r)
	resp := w.Result()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestRootRedirectsToHosts(t *testing.T) {
	ui := newTestUI(t, false)
	resp, _ := ui.do(t, "GET", "/", nil, true)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/hosts" {
		t.Fatalf("GET / = %d to %q, want 303 to /hosts", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestPagesNeedSession(t *testing.T) {
	ui := newTestUI(t, false)
	for _, tc := range []struct{ path, location string }{
		{"/hosts", "/login"},
		{"/hosts?site=paris", "/login?next=" + url.QueryEscape("/hosts?site=paris")},
		{"/hosts/web01", "/login?next=%2Fhosts%2Fweb01"},
	} {
		resp, _ := ui.do(t, "GET", tc.path, nil, false)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != tc.location {
			t.Errorf("GET %s without session = %d to %q, want 303 to %q", tc.path, resp.StatusCode,
				resp.Header.Get("Location"), tc.location)
		}
	}
	// A session that ended is cleared and sent to the login page too.
	r := httptest.NewRequest("GET", "/hosts", nil)
	r.AddCookie(&http.Cookie{Name: CookieName, Value: "expired"})
	w := httptest.NewRecorder()
	ui.h.ServeHTTP(w, r)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/login" {
		t.Fatalf("expired session: %d to %q, want 303 to /login", w.Code, w.Header().Get("Location"))
	}
	if c := w.Result().Cookies(); len(c) != 1 || c[0].Name != CookieName || c[0].MaxAge >= 0 {
		t.Fatalf("expired session: cookies %v, want the session cookie deleted", c)
	}
}

func TestLogin(t *testing.T) {
	for _, secure := range []bool{false, true} {
		ui := newTestUI(t, secure)
		resp, body := ui.do(t, "GET", "/login?next=/hosts/web01", nil, false)
		if resp.StatusCode != 200 || !strings.Contains(body, `<label for="login-name">User name</label>`) ||
			!strings.Contains(body, `name="next" value="/hosts/web01"`) {
			t.Fatalf("GET /login = %d:\n%s", resp.StatusCode, body)
		}
		form := url.Values{"name": {"alice"}, "password": {"correct horse"}, "next": {"/hosts/web01"}}
		resp, _ = ui.do(t, "POST", "/login", strings.NewReader(form.Encode()), false)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/hosts/web01" {
			t.Fatalf("POST /login = %d to %q, want 303 to /hosts/web01", resp.StatusCode, resp.Header.Get("Location"))
		}
		cs := resp.Cookies()
		if len(cs) != 1 {
			t.Fatalf("POST /login set cookies %v, want one", cs)
		}
		c := cs[0]
		if c.Name != CookieName || c.Value == "" || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" ||
			c.Secure != secure {
			t.Errorf("secure=%v: session cookie %+v, want HttpOnly, SameSite=Lax, Path=/, Secure=%v", secure, c, secure)
		}
		if _, err := ui.b.Session(context.Background(), c.Value); err != nil {
			t.Errorf("cookie value is not a session: %v", err)
		}
	}
}

func TestLoginRedirectStaysOnSite(t *testing.T) {
	for next, want := range map[string]string{
		"":                     "/hosts",
		"/hosts?site=paris":    "/hosts?site=paris",
		"//evil.example/":      "/hosts",
		"/\\evil.example":      "/hosts",
		"https://evil.example": "/hosts",
		"javascript:alert(1)":  "/hosts",
		"/login":               "/hosts",
	} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, want)
		}
	}
}

func TestLoginFailure(t *testing.T) {
	ui := newTestUI(t, false)
	var bodies []string
	for _, form := range []url.Values{
		{"name": {"alice"}, "password": {"wrong"}},
		{"name": {"alice"}, "password": {"wrong"}, "next": {"/hosts"}},
	} {
		resp, body := ui.do(t, "POST", "/login", strings.NewReader(form.Encode()), false)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("bad password: status %d, want 401", resp.StatusCode)
		}
		if len(resp.Cookies()) != 0 {
			t.Fatalf("bad password set cookies %v", resp.Cookies())
		}
		bodies = append(bodies, body)
	}
	// An unknown user gets the very same page as a wrong password.
	resp, body := ui.do(t, "POST", "/login", strings.NewReader(url.Values{"name": {"mallory"}, "password": {"x"}}.Encode()), false)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unknown user: status %d, want 401", resp.StatusCode)
	}
	if strings.ReplaceAll(body, "mallory", "alice") != bodies[1] {
		t.Errorf("unknown user and wrong password pages differ:\n%s\n---\n%s", body, bodies[1])
	}
	if !strings.Contains(body, "The user name or password is not right.") || !strings.Contains(body, `role="alert"`) {
		t.Errorf("login failure page lacks its message:\n%s", body)
	}
	if strings.Contains(strings.ToLower(body), "exist") || strings.Contains(body, "bad credentials") {
		t.Errorf("login failure page tells too much:\n%s", body)
	}
	// Empty fields are a different, but still generic, message.
	resp, body = ui.do(t, "POST", "/login", strings.NewReader("name=alice"), false)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Enter your user name and your password.") {
		t.Errorf("empty password: %d\n%s", resp.StatusCode, body)
	}
}

func TestLogout(t *testing.T) {
	ui := newTestUI(t, false)
	resp, _ := ui.do(t, "POST", "/logout", strings.NewReader(""), true, "Sec-Fetch-Site", "same-origin")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Fatalf("POST /logout = %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if len(ui.b.loggedOut) != 1 || ui.b.loggedOut[0] != "tok-alice" {
		t.Errorf("backend logged out %v, want [tok-alice]", ui.b.loggedOut)
	}
	if c := resp.Cookies(); len(c) != 1 || c[0].MaxAge >= 0 {
		t.Errorf("logout cookies %v, want the session cookie deleted", c)
	}
	_, body := ui.do(t, "GET", "/login?signed_out=1", nil, false)
	if !strings.Contains(body, "You have signed out.") {
		t.Errorf("login page after logout lacks notice:\n%s", body)
	}
}

func TestCrossOriginPostRefused(t *testing.T) {
	ui := newTestUI(t, false)
	for _, hdr := range [][]string{
		{"Sec-Fetch-Site", "cross-site"},
		{"Origin", "https://evil.example"},
	} {
		resp, body := ui.do(t, "POST", "/logout", strings.NewReader(""), true, hdr...)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("cross-origin POST /logout with %s = %d, want 403", hdr, resp.StatusCode)
		}
		if !strings.Contains(body, "came from another site") {
			t.Errorf("cross-origin refusal page:\n%s", body)
		}
		form := url.Values{"name": {"alice"}, "password": {"correct horse"}}
		resp, _ = ui.do(t, "POST", "/login", strings.NewReader(form.Encode()), false, hdr...)
		if resp.StatusCode != http.StatusForbidden || len(resp.Cookies()) != 0 {
			t.Errorf("cross-origin POST /login with %s = %d, cookies %v; want 403 and none", hdr, resp.StatusCode, resp.Cookies())
		}
	}
	if len(ui.b.loggedOut) != 0 {
		t.Errorf("a cross-origin POST logged out %v", ui.b.loggedOut)
	}
	// The same request from the site itself works.
	resp, _ := ui.do(t, "POST", "/logout", strings.NewReader(""), true, "Origin", "http://example.com")
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("same-origin POST /logout = %d, want 303", resp.StatusCode)
	}
}

func TestSecurityHeaders(t *testing.T) {
	ui := newTestUI(t, false)
	for _, tc := range []struct {
		method, path string
		signedIn     bool
	}{
		{"GET", "/login", false}, {"GET", "/hosts", true}, {"GET", "/hosts/web01", true},
		{"GET", "/hosts/nope", true}, {"GET", "/nowhere", false}, {"GET", "/static/style.css", false},
		{"GET", "/hosts", false}, {"POST", "/logout", true},
	} {
		resp, _ := ui.do(t, tc.method, tc.path, nil, tc.signedIn)
		for k, want := range map[string]string{
			"Content-Security-Policy": "default-src 'self'", "X-Content-Type-Options": "nosniff",
			"Referrer-Policy": "same-origin", "X-Frame-Options": "DENY",
		} {
			if got := resp.Header.Get(k); !strings.Contains(got, want) {
				t.Errorf("%s %s: %s = %q, want %q", tc.method, tc.path, k, got, want)
			}
		}
	}
}

// The pages must work under the CSP: no inline script, style or handlers.
var inlineRE = regexp.MustCompile(`(?i)<script(?:[^>]*)>\s*[^<\s]|\sstyle=|\son[a-z]+=|javascript:`)

func TestHostList(t *testing.T) {
	ui := newTestUI(t, false)
	resp, body := ui.do(t, "GET", "/hosts", nil, true)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /hosts = %d\n%s", resp.StatusCode, body)
	}
	for _, want := range []string{
		`<a class="host-link" href="/hosts/web01">web01</a>`,
		`paris`, `Business-critical`, `Debian GNU/Linux 12 (bookworm)`, `10.0.0.5`,
		`<span class="badge badge-stale">Stale</span>`, `Imported`,
		`href="/hosts/3">1234</a>`, // an all-digit hostname links by id
		`Signed in as </span><span class="who-name">alice</span>`,
		`<form method="post" action="/logout"`,
		`&lt;script&gt;alert(&#34;host&#34;)&lt;/script&gt;`,
		`href="/hosts/%3Cscript%3Ealert%28%22host%22%29%3C%2Fscript%3E"`,
		`<option value="paris">paris</option>`, `<option value="web">web</option>`,
		`5 minutes ago`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("host list lacks %s", want)
		}
	}
	if strings.Contains(body, `<script>alert`) {
		t.Errorf("host list has an unescaped hostile hostname")
	}
	if m := inlineRE.FindString(body); m != "" {
		t.Errorf("host list has inline code the CSP would block: %q", m)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("host list Cache-Control = %q, want no-store", resp.Header.Get("Cache-Control"))
	}
}

func TestHostListFilters(t *testing.T) {
	ui := newTestUI(t, false)
	ui.b.next = 42
	resp, body := ui.do(t, "GET", "/hosts?site=paris&tier=business-critical&tag=web&os=debian:12&stale=false&q=web&limit=20", nil, true)
	if resp.StatusCode != 200 {
		t.Fatalf("filtered list = %d\n%s", resp.StatusCode, body)
	}
	f := ui.b.lastFilter
	if f.Site != "paris" || f.Tier != patchwave.TierBusinessCritical || f.Tag != "web" || f.OS != "debian:12" ||
		f.Stale == nil || *f.Stale || f.Query != "web" || f.Limit != 20 || f.After != 0 {
		t.Errorf("backend got filter %+v", f)
	}
	for _, want := range []string{
		`<option value="paris" selected>paris</option>`,
		`<option value="business-critical" selected>Business-critical</option>`,
		`<option value="web" selected>web</option>`,
		`<option value="false" selected>Not stale</option>`,
		`name="os" value="debian:12"`, `name="q" value="web"`,
		`<input type="hidden" name="limit" value="20">`,
		`href="/hosts?after=42&amp;limit=20&amp;os=debian%3A12&amp;q=web&amp;site=paris&amp;stale=false&amp;tag=web&amp;tier=business-critical" rel="next"`,
		`>Clear</a>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("filtered list lacks %s", want)
		}
	}
	if strings.Contains(body, "lyon</td>") {
		t.Errorf("filtered list shows a host of another site")
	}

	// The second page links back to the first, and passes the cursor on.
	ui.b.next = 0
	_, body = ui.do(t, "GET", "/hosts?site=lyon&after=1", nil, true)
	if ui.b.lastFilter.After != 1 || ui.b.lastFilter.Limit != PageSize {
		t.Errorf("second page: filter %+v", ui.b.lastFilter)
	}
	if !strings.Contains(body, `href="/hosts?site=lyon">← First page</a>`) || strings.Contains(body, `rel="next"`) {
		t.Errorf("last page pager wrong:\n%s", body)
	}

	// A site typed into the address that the facets do not know is kept.
	_, body = ui.do(t, "GET", "/hosts?site=berlin", nil, true)
	if !strings.Contains(body, `<option value="berlin" selected>berlin</option>`) || !strings.Contains(body, "No hosts match these filters") {
		t.Errorf("unknown site: form or empty state wrong:\n%s", body)
	}

	for _, bad := range []string{"tier=gold", "stale=maybe", "after=x", "limit=0", "limit=100000"} {
		resp, body := ui.do(t, "GET", "/hosts?"+bad, nil, true)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "That request did not make sense") {
			t.Errorf("GET /hosts?%s = %d, want 400 page", bad, resp.StatusCode)
		}
	}
}

func TestHostPage(t *testing.T) {
	ui := newTestUI(t, false)
	resp, body := ui.do(t, "GET", "/hosts/web01", nil, true)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /hosts/web01 = %d\n%s", resp.StatusCode, body)
	}
	for _, want := range []string{
		`<h1 class="host-title">web01</h1>`, `web01.example.net`, `Debian GNU/Linux 12 (bookworm)`,
		`6.1.0-18-amd64`, `amd64`, `3 days, 2 hours`, `eth0`, `52:54:00:12:34:56`, `10.0.0.5/24`, `fe80::1/64`,
		`nginx.service`, `sshd.service`, `paris`, `Business-critical`, `href="/hosts?tag=web"`, `1.2.3`,
		`>libssl3</th>`, `3.0.11-1~deb12u2`, `openssl`, `>nginx</th>`, `Showing 2 of 2 packages`,
		`<label for="pkg-q">Filter packages</label>`, `Reporting`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("host page lacks %s", want)
		}
	}
	if m := inlineRE.FindString(body); m != "" {
		t.Errorf("host page has inline code the CSP would block: %q", m)
	}

	// The server-side package filter hides what does not match.
	_, body = ui.do(t, "GET", "/hosts/web01?pkg=SSL", nil, true)
	if !strings.Contains(body, `Showing 1 of 2 packages`) || !strings.Contains(body, `<tr data-search="nginx  1.22.1-9" hidden>`) ||
		!strings.Contains(body, `<tr data-search="libssl3 openssl 3.0.11-1~deb12u2">`) {
		t.Errorf("filtered package table wrong:\n%s", body)
	}

	// Hostile names are escaped, by id or by name.
	for _, path := range []string{"/hosts/2", "/hosts/" + url.PathEscape(`<script>alert("host")</script>`)} {
		resp, body := ui.do(t, "GET", path, nil, true)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s = %d", path, resp.StatusCode)
		}
		if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") {
			t.Errorf("GET %s: hostile name not escaped", path)
		}
		if !strings.Contains(body, `&lt;img src=x onerror=alert(1)&gt;`) || !strings.Contains(body, `&lt;script&gt;alert(&#34;host&#34;)&lt;/script&gt;`) {
			t.Errorf("GET %s: escaped names missing", path)
		}
	}
}

func TestNotFound(t *testing.T) {
	ui := newTestUI(t, false)
	resp, body := ui.do(t, "GET", "/hosts/nosuchhost", nil, true)
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, `There is no host &#34;nosuchhost&#34;`) ||
		!strings.Contains(body, "<h1 id=\"error-title\">Not found</h1>") || !strings.Contains(body, `class="who-name">alice<`) {
		t.Errorf("unknown host = %d\n%s", resp.StatusCode, body)
	}
	resp, body = ui.do(t, "GET", "/no/such/page", nil, false)
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "There is no page at /no/such/page.") {
		t.Errorf("unknown page = %d\n%s", resp.StatusCode, body)
	}
	resp, body = ui.do(t, "GET", "/logout", nil, true)
	if resp.StatusCode != http.StatusMethodNotAllowed || !strings.Contains(resp.Header.Get("Allow"), "POST") ||
		!strings.Contains(body, "does not accept GET") {
		t.Errorf("GET /logout = %d, Allow %q\n%s", resp.StatusCode, resp.Header.Get("Allow"), body)
	}
	resp, _ = ui.do(t, "GET", "/static/nope.css", nil, false)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown static file = %d", resp.StatusCode)
	}
}

func TestInternalErrorIsLoggedNotShown(t *testing.T) {
	ui := newTestUI(t, false)
	ui.b.failList = errors.New("database is on fire at /var/lib/secret")
	resp, body := ui.do(t, "GET", "/hosts", nil, true, "X-Request-Id", "req-123")
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("failing backend: %d", resp.StatusCode)
	}
	if strings.Contains(body, "fire") || !strings.Contains(body, "<code>req-123</code>") {
		t.Errorf("internal error page:\n%s", body)
	}
	if log := ui.log.String(); !strings.Contains(log, "database is on fire") || !strings.Contains(log, "req-123") {
		t.Errorf("internal error not logged with its request id: %s", log)
	}
	// A coded error shows its message and status.
	ui.b.failList = patchwave.Errorf(patchwave.EUnavailable, "The database is migrating.")
	resp, body = ui.do(t, "GET", "/hosts", nil, true)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "The database is migrating.") {
		t.Errorf("unavailable backend: %d\n%s", resp.StatusCode, body)
	}
}

func TestStatic(t *testing.T) {
	ui := newTestUI(t, false)
	_, page := ui.do(t, "GET", "/login", nil, false)
	m := regexp.MustCompile(`href="(/static/style\.css\?v=[0-9a-f]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("login page links no versioned stylesheet:\n%s", page)
	}
	resp, body := ui.do(t, "GET", m[1], nil, false)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") ||
		!strings.Contains(resp.Header.Get("Cache-Control"), "immutable") || !strings.Contains(body, ":root") {
		t.Errorf("GET %s = %d %q %q", m[1], resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"))
	}
	resp, _ = ui.do(t, "GET", "/static/app.js", nil, false, "If-None-Match", resp.Header.Get("ETag"))
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "javascript") {
		t.Errorf("GET app.js = %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	etag := resp.Header.Get("ETag")
	resp, _ = ui.do(t, "GET", "/static/app.js", nil, false, "If-None-Match", etag)
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("conditional GET app.js = %d, want 304", resp.StatusCode)
	}
	resp, _ = ui.do(t, "GET", "/favicon.ico", nil, false)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/svg+xml" {
		t.Errorf("GET /favicon.ico = %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

func TestSignedInLoginPageRedirects(t *testing.T) {
	ui := newTestUI(t, false)
	resp, _ := ui.do(t, "GET", "/login?next=/hosts/web01", nil, true)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/hosts/web01" {
		t.Errorf("GET /login when signed in = %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestFormatting(t *testing.T) {
	for sec, want := range map[int64]string{0: "", 42: "42 seconds", 60: "1 minute", 3700: "1 hour, 1 minute",
		86400: "1 day", 90000: "1 day, 1 hour", 10 * 86400: "10 days"} {
		if got := uptime(sec); got != want {
			t.Errorf("uptime(%d) = %q, want %q", sec, got, want)
		}
	}
	for d, want := range map[time.Duration]string{10 * time.Second: "just now", 2 * time.Minute: "2 minutes ago",
		time.Hour: "1 hour ago", 72 * time.Hour: "3 days ago", 400 * 24 * time.Hour: "13 months ago",
		-(5*time.Minute + 30*time.Second): "in 5 minutes"} {
		if got := ago(time.Now().Add(-d)); got != want {
			t.Errorf("ago(now-%v) = %q, want %q", d, got, want)
		}
	}
	ifs := func(ips ...string) patchwave.Host {
		return patchwave.Host{Interfaces: []patchwave.Interface{{Name: "lo", IPs: ips[:1]}, {Name: "eth0", IPs: ips[1:]}}}
	}
	for _, tc := range []struct {
		h    patchwave.Host
		want ipSummary
	}{
		{ifs("127.0.0.1/8", "fe80::1/64", "10.0.0.5/24", "2001:db8::5/64"), ipSummary{"10.0.0.5", 1}},
		{ifs("127.0.0.1/8", "fe80::1/64"), ipSummary{"127.0.0.1", 1}},
		{patchwave.Host{}, ipSummary{}},
	} {
		if got := firstIP(tc.h); got != tc.want {
			t.Errorf("firstIP(%v) = %+v, want %+v", tc.h.Interfaces, got, tc.want)
		}
	}
	for _, tc := range []struct {
		h    patchwave.Host
		want string
	}{
		{patchwave.Host{ID: 5, Hostname: "db01.example"}, "/hosts/db01.example"},
		{patchwave.Host{ID: 5, Hostname: "007"}, "/hosts/5"},
		{patchwave.Host{ID: 5, Hostname: "a?b#c"}, "/hosts/a%3Fb%23c"},
	} {
		if got := hostURL(tc.h); got != tc.want {
			t.Errorf("hostURL(%q) = %q, want %q", tc.h.Hostname, got, tc.want)
		}
	}
}
