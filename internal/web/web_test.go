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
	"slices"
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
	updates    []string // "user host" of each UpdateHost that changed a host
	hosts      []patchwave.Host
	packages   map[int64][]patchwave.Package
	lastFilter patchwave.HostFilter
	loggedOut  []string
	failList   error // returned by ListHosts when set
	next       int64 // returned by ListHosts

	findings      []patchwave.Finding
	lastFindings  patchwave.FindingFilter
	findingsNext  int64 // returned by Findings
	advisories    map[string]patchwave.Advisory
	advisoryAsked []string
	feeds         []patchwave.Feed

	sla              patchwave.SLAPolicy
	baselines        []patchwave.Baseline
	exceptions       []patchwave.Exception
	serviceBaselines []patchwave.ServiceBaseline
	failPolicy       error // returned by the policy methods when set
	created          []patchwave.Exception
	decisions        []string

	ro *fakeRollouts // the release pages' data: see rollouts_test.go
}

func newFakeBackend() *fakeBackend {
	seen := time.Now().Add(-5 * time.Minute)
	old := time.Now().Add(-30 * 24 * time.Hour)
	eolPast := time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC)
	eolFuture := time.Now().AddDate(2, 0, 0).Truncate(24 * time.Hour)
	firstSeen := time.Now().Add(-3 * 24 * time.Hour)
	due := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)
	published := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)
	b := &fakeBackend{
		users:    map[string]string{"alice": "correct horse"},
		sessions: map[string]patchwave.User{"tok-alice": {ID: 1, Name: "alice", Role: patchwave.RoleAdmin}},
		hosts: []patchwave.Host{
			{ID: 1, Hostname: "web01", FQDN: "web01.example.net", Site: "paris", Tier: patchwave.TierBusinessCritical,
				Tags: []string{"web"}, OS: patchwave.OS{ID: "debian", Name: "Debian GNU/Linux 12 (bookworm)", Version: "12"},
				Kernel: "6.1.0-18-amd64", Arch: "amd64", Uptime: 3*86400 + 7200, Managed: true, AgentVersion: "1.2.3",
				Interfaces: []patchwave.Interface{{Name: "eth0", MAC: "52:54:00:12:34:56", IPs: []string{"10.0.0.5/24", "fe80::1/64"}}},
				Services:   []string{"nginx.service", "sshd.service"},
				EnrolledAt: &old, LastSeenAt: &seen, PackageCount: 2, OSEOL: &eolFuture},
			{ID: 2, Hostname: `<script>alert("host")</script>`, Site: "lyon", Tier: patchwave.TierLab, Tags: []string{},
				Managed: true, Stale: true, LastSeenAt: &old, PackageCount: 1, OSEOL: &eolPast, PastEOL: true},
			{ID: 3, Hostname: "1234", Site: "lyon", Tier: patchwave.TierLab, Tags: []string{}},
		},
		packages: map[int64][]patchwave.Package{
			1: {{Name: "libssl3", Version: "3.0.11-1~deb12u2", Arch: "amd64", Source: "openssl"},
				{Name: "nginx", Version: "1.22.1-9", Arch: "amd64"}},
			2: {{Name: `<img src=x onerror=alert(1)>`, Version: "1.0", Arch: "all"}},
		},
		findings: []patchwave.Finding{
			{ID: 10, HostID: 1, Host: "web01", Ecosystem: "Debian:12", Package: "libssl3", Source: "openssl", Arch: "amd64",
				Installed: "3.0.11-1~deb12u2", Fixed: "3.0.16-1~deb12u1", State: patchwave.FindingMissing,
				Advisories: []string{"DSA-5900-1", "ALSA-2026:7343"},
				CVEs:       []string{"CVE-2026-0001", "CVE-2026-0002", "CVE-2026-0003", "CVE-2026-0004", "CVE-2026-0005"},
				Severity:   patchwave.SeverityCritical, CVSS: 9.8, EPSS: 0.97312, FirstSeen: &firstSeen,
				KEV: &patchwave.KEV{CVE: "CVE-2026-0001", DueDate: due, Ransomware: true}},
			{ID: 11, HostID: 1, Host: "web01", Ecosystem: "Debian:12", Package: "nginx", Arch: "amd64",
				Installed: "1.22.1-9", State: patchwave.FindingNoFix, Advisories: []string{"DLA-4000-1"},
				CVEs: []string{"CVE-2025-1111"}, Severity: patchwave.SeverityMedium, CVSS: 5.3, EPSS: 0.0004, FirstSeen: &firstSeen},
			{ID: 12, HostID: 2, Host: `<script>alert("host")</script>`, Ecosystem: "Debian:12", Package: `<img src=x onerror=alert(1)>`,
				Installed: "1.0", Fixed: `2.0"><script>alert(2)</script>`, State: patchwave.FindingMissing,
				Advisories: []string{`GHSA/../x?y#z`, "ALSA-2026:7343"}, CVEs: []string{`CVE-<i>1</i>`},
				Severity: `"><b>bad`, FirstSeen: &firstSeen},
		},
		advisories: map[string]patchwave.Advisory{
			"ALSA-2026:7343": {ID: "ALSA-2026:7343", Modified: published.Add(48 * time.Hour), Published: &published,
				Aliases: []string{"CVE-2026-0001", "GHSA-abcd-1234"}, Upstream: []string{"CVE-2026-0002"},
				Summary:  `Important: <b>openssl</b> security update`,
				Details:  "An update for openssl is now available.\n\n<script>alert('details')</script>\nSecurity Fix(es):\n* a bug",
				Severity: []patchwave.AdvisorySeverity{{Type: "CVSS_V3", Score: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}},
				Affected: []patchwave.Affected{{Package: patchwave.AffectedPackage{Ecosystem: "AlmaLinux:9", Name: "openssl"},
					Ranges: []patchwave.Range{{Type: "ECOSYSTEM", Events: []patchwave.Event{{Introduced: "0"}, {Fixed: "1:3.0.7-27.el9_4"}}}}},
					{Package: patchwave.AffectedPackage{Ecosystem: "AlmaLinux:9", Name: "openssl-libs"},
						Ranges: []patchwave.Range{{Type: "ECOSYSTEM", Events: []patchwave.Event{{Introduced: "0"}, {LastAffected: "1:3.0.7-26.el9"}}}}}},
				References: []patchwave.Reference{
					{Type: "ADVISORY", URL: "https://errata.almalinux.org/9/ALSA-2026-7343.html"},
					{Type: "WEB", URL: "javascript:alert(document.cookie)"},
					{Type: "REPORT", URL: `https://example.org/x" onmouseover="alert(1)`},
					{Type: "<b>EVIL</b>", URL: "data:text/html,<script>alert(1)</script>"},
				}},
			`GHSA/../x?y#z`: {ID: `GHSA/../x?y#z`, Modified: published},
		},
		feeds: []patchwave.Feed{
			{Name: "kev", Kind: patchwave.FeedKEV, LastAttempt: &seen, LastSuccess: &seen, Records: 1432},
			{Name: "debian", Kind: patchwave.FeedOSV, URL: "https://mirror:s3cret@example.org/osv/Debian/all.zip",
				Interval: 6 * 3600, LastAttempt: &seen, LastSuccess: &old, Records: 123456},
			{Name: "epss", Kind: patchwave.FeedEPSS, URL: "https://example.org/epss.csv.gz", Interval: 86400,
				LastAttempt: &seen, Error: `fetch: 503 <b>Service Unavailable</b>`},
		},
	}
	addPolicy(b)
	return b
}

func (b *fakeBackend) Login(ctx context.Context, name, password, client string) (string, patchwave.User, error) {
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

func (b *fakeBackend) Findings(ctx context.Context, f patchwave.FindingFilter) ([]patchwave.Finding, int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lastFindings = f
	var out []patchwave.Finding
	for _, x := range b.findings {
		if x.ID > f.After && (f.Host == "" || x.Host == f.Host || strconv.FormatInt(x.HostID, 10) == f.Host) &&
			(f.KEV == nil || *f.KEV == (x.KEV != nil)) &&
			(f.State == "" && x.State != patchwave.FindingFixed || f.State == x.State) &&
			(f.Advisory == "" || slices.Contains(x.Advisories, f.Advisory)) {
			out = append(out, x)
		}
	}
	return out, b.findingsNext, nil
}

func (b *fakeBackend) HostFindings(ctx context.Context, id int64) ([]patchwave.Finding, error) {
	fs, _, err := b.Findings(ctx, patchwave.FindingFilter{Host: strconv.FormatInt(id, 10)})
	return fs, err
}

func (b *fakeBackend) Advisory(ctx context.Context, id string) (patchwave.Advisory, []patchwave.Finding, error) {
	b.mu.Lock()
	b.advisoryAsked = append(b.advisoryAsked, id)
	a, ok := b.advisories[id]
	b.mu.Unlock()
	if !ok {
		return a, nil, patchwave.Errorf(patchwave.ENotFound, "advisory %q not found", id)
	}
	fs, _, err := b.Findings(ctx, patchwave.FindingFilter{Advisory: id})
	return a, fs, err
}

func (b *fakeBackend) Feeds(ctx context.Context) ([]patchwave.Feed, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.feeds), nil
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
		{"/findings?kev=true", "/login?next=" + url.QueryEscape("/findings?kev=true")},
		{"/advisories/ALSA-2026:7343", "/login?next=" + url.QueryEscape("/advisories/ALSA-2026:7343")},
		{"/feeds", "/login?next=%2Ffeeds"},
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
		{"GET", "/findings", true}, {"GET", "/advisories/ALSA-2026:7343", true}, {"GET", "/advisories/nope", true},
		{"GET", "/feeds", true},
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

func TestFindingsPage(t *testing.T) {
	ui := newTestUI(t, false)
	resp, body := ui.do(t, "GET", "/findings", nil, true)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /findings = %d\n%s", resp.StatusCode, body)
	}
	if f := ui.b.lastFindings; f.State != "" || f.Limit != PageSize || f.After != 0 || f.KEV != nil || f.HasFix != nil {
		t.Errorf("default filter %+v, want open findings, first page", f)
	}
	for _, want := range []string{
		`<a href="/findings" aria-current="page">Findings</a>`, `<a href="/feeds">Feeds</a>`,
		`3 open findings on 2 hosts`,
		`<div class="stat stat-critical"><dt>Critical</dt><dd>1</dd></div>`,
		`<div class="stat stat-medium"><dt>Medium</dt><dd>1</dd></div>`,
		`<dt>Known exploited</dt><dd>1 <span class="stat-sub">1 ransomware</span></dd>`,
		`<dt>No fix yet</dt><dd>1</dd>`,
		`<a class="host-link" href="/hosts/web01">web01</a>`,
		`<span class="pkg-name mono">libssl3</span>`, `Debian:12 · source openssl · amd64`,
		`<span class="ver mono">3.0.11-1~deb12u2</span>`, `<span class="ver-fixed mono">3.0.16-1~deb12u1</span>`,
		`<span class="sev sev-critical">Critical</span>`, `>9.8</td>`, `>97%</td>`, `>0.04%</td>`,
		`<span class="badge badge-kev" title="Known exploited: CVE-2026-0001">KEV</span>`,
		`<span class="badge badge-ransom">Ransomware</span>`, `due <time datetime="2026-01-15">2026-01-15</time>`,
		`<a class="mono" href="/advisories/DSA-5900-1">DSA-5900-1</a>`,
		`<a class="mono" href="/advisories/ALSA-2026:7343">ALSA-2026:7343</a>`,
		`<li>CVE-2026-0003</li></ul><details class="more"><summary>2 more</summary>`,
		`<span class="badge badge-nofix">no fix yet</span>`,
		`3 days ago`,
		// Hostile values from agents and feeds are escaped; an advisory id
		// cannot break out of its path.
		`href="/hosts/%3Cscript%3Ealert%28%22host%22%29%3C%2Fscript%3E">&lt;script&gt;alert(&#34;host&#34;)&lt;/script&gt;</a>`,
		`&lt;img src=x onerror=alert(1)&gt;`, `2.0&#34;&gt;&lt;script&gt;alert(2)&lt;/script&gt;`,
		`href="/advisories/GHSA%2F..%2Fx%3Fy%23z"`, `<li>CVE-&lt;i&gt;1&lt;/i&gt;</li>`,
		`<span class="sev sev-unknown">Unknown</span>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("findings page lacks %s", want)
		}
	}
	for _, bad := range []string{"<script>alert", "<img src=x", "<i>1</i>", `"><b>bad`} {
		if strings.Contains(body, bad) {
			t.Errorf("findings page has unescaped %s", bad)
		}
	}
	// The CSP check, with the hostile package name, which is text, left out.
	if m := inlineRE.FindString(strings.ReplaceAll(body, "&lt;img src=x onerror=alert(1)&gt;", "")); m != "" {
		t.Errorf("findings page has inline code the CSP would block: %q", m)
	}

	// No findings at all: say what that may mean.
	ui.b.findings = nil
	_, body = ui.do(t, "GET", "/findings", nil, true)
	if !strings.Contains(body, "No missing patches known") || !strings.Contains(body, `<a href="/feeds">Feeds</a>.`) {
		t.Errorf("empty findings page:\n%s", body)
	}
}

func TestFindingsFilters(t *testing.T) {
	ui := newTestUI(t, false)
	ui.b.findingsNext = 77
	resp, body := ui.do(t, "GET", "/findings?host=web01&site=paris&tier=business-critical&severity=high&kev=true"+
		"&cve=cve-2026-0001&package=openssl&has_fix=yes&limit=20", nil, true)
	if resp.StatusCode != 200 {
		t.Fatalf("filtered findings = %d\n%s", resp.StatusCode, body)
	}
	f := ui.b.lastFindings
	if f.Host != "web01" || f.Site != "paris" || f.Tier != patchwave.TierBusinessCritical || f.Severity != patchwave.SeverityHigh ||
		f.KEV == nil || !*f.KEV || f.CVE != "CVE-2026-0001" || f.Package != "openssl" || f.HasFix == nil || !*f.HasFix ||
		f.State != "" || f.Limit != 20 || f.After != 0 {
		t.Errorf("backend got filter %+v", f)
	}
	for _, want := range []string{
		`name="host" value="web01"`, `name="cve" value="CVE-2026-0001"`, `name="package" value="openssl"`,
		`<option value="paris" selected>paris</option>`,
		`<option value="business-critical" selected>Business-critical</option>`,
		`<option value="high" selected>High or higher</option>`,
		`<option value="true" selected>Fix available</option>`,
		`name="kev" value="true" checked`,
		`<input type="hidden" name="limit" value="20">`,
		`on this page matching the filters`,
		`href="/findings?after=77&amp;cve=CVE-2026-0001&amp;has_fix=true&amp;host=web01&amp;kev=true&amp;limit=20&amp;package=openssl&amp;severity=high&amp;site=paris&amp;tier=business-critical" rel="next"`,
		`>Clear</a>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("filtered findings lack %s", want)
		}
	}

	// Fixed findings, the second page, and the advisory filter.
	ui.b.findingsNext = 0
	ui.b.findings[0].State, ui.b.findings[0].FixedAt = patchwave.FindingFixed, ui.b.findings[0].FirstSeen
	resp, body = ui.do(t, "GET", "/findings?state=fixed&has_fix=false&kev=no&advisory=ALSA-2026:7343&after=5", nil, true)
	if resp.StatusCode != 200 {
		t.Fatalf("fixed findings = %d\n%s", resp.StatusCode, body)
	}
	f = ui.b.lastFindings
	if f.State != patchwave.FindingFixed || f.HasFix == nil || *f.HasFix || f.KEV == nil || *f.KEV ||
		f.Advisory != "ALSA-2026:7343" || f.After != 5 || f.Limit != PageSize {
		t.Errorf("backend got filter %+v", f)
	}
	for _, want := range []string{
		`<h1>Fixed findings</h1>`, `<option value="fixed" selected>Fixed</option>`,
		`<option value="false" selected>No fix yet</option>`,
		`<input type="hidden" name="advisory" value="ALSA-2026:7343">`,
		`advisory <a class="mono" href="/advisories/ALSA-2026:7343">ALSA-2026:7343</a>`,
		`href="/findings?advisory=ALSA-2026%3A7343&amp;has_fix=false&amp;kev=false&amp;state=fixed">← First page</a>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("fixed findings lack %s", want)
		}
	}
	if strings.Contains(body, `rel="next"`) {
		t.Errorf("last page has a next link")
	}

	// state=open is the default and is left out of links.
	ui.b.findingsNext = 9
	_, body = ui.do(t, "GET", "/findings?state=open", nil, true)
	if ui.b.lastFindings.State != "" || !strings.Contains(body, `href="/findings?after=9" rel="next"`) {
		t.Errorf("state=open: filter %+v\n%s", ui.b.lastFindings, body)
	}

	for _, bad := range []string{"tier=gold", "severity=urgent", "severity=none", "kev=maybe", "has_fix=2",
		"state=missing", "after=x", "limit=0", "limit=100000", "cve=" + url.QueryEscape("CVE\x00")} {
		resp, body := ui.do(t, "GET", "/findings?"+bad, nil, true)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "That request did not make sense") {
			t.Errorf("GET /findings?%s = %d, want 400 page", bad, resp.StatusCode)
		}
	}
}

func TestHostPageFindings(t *testing.T) {
	ui := newTestUI(t, false)
	_, body := ui.do(t, "GET", "/hosts/web01", nil, true)
	if f := ui.b.lastFindings; f.Host != "1" {
		t.Errorf("host findings asked with filter %+v", f)
	}
	missing := body[strings.Index(body, `id="missing-title"`):strings.Index(body, `id="net-title"`)]
	for _, want := range []string{
		`Missing patches <span class="count">2</span>`,
		`href="/findings?host=web01">Open in findings</a>`,
		`<span class="sev sev-critical">1 critical</span>`, `<span class="badge badge-kev">1 known exploited</span>`,
		`<span class="badge badge-nofix">1 without a fix yet</span>`,
		`<th scope="row" class="pkg-cell">`, `<span class="pkg-name mono">libssl3</span>`,
		`<span class="ver-fixed mono">3.0.16-1~deb12u1</span>`, `<span class="badge badge-ransom">Ransomware</span>`,
		`href="/advisories/ALSA-2026:7343"`,
	} {
		if !strings.Contains(missing, want) {
			t.Errorf("missing patches section lacks %s", want)
		}
	}
	if strings.Contains(missing, "host-link") {
		t.Errorf("the host's own findings link to hosts")
	}
	// Known exploited first, then by severity.
	if i, j := strings.Index(missing, "libssl3"), strings.Index(missing, ">nginx<"); i < 0 || j < 0 || i > j {
		t.Errorf("findings not in order of risk")
	}
	if strings.Index(body, `id="missing-title"`) > strings.Index(body, `id="pkg-title"`) {
		t.Errorf("missing patches come after the packages")
	}
	// The OS end of life, not yet reached.
	eol := ui.b.hosts[0].OSEOL.UTC().Format("2006-01-02")
	if !strings.Contains(body, `<dt>OS end of life</dt><dd><time datetime="`+eol+`">`+eol+`</time>`) ||
		strings.Contains(body, "badge-eol") {
		t.Errorf("host page end of life wrong:\n%s", body)
	}

	// A host past its end of life; its finding is from hostile data.
	_, body = ui.do(t, "GET", "/hosts/2", nil, true)
	for _, want := range []string{`<span class="badge badge-eol">End of life</span>`,
		`<span class="badge badge-eol">End of life</span><span class="fact-sub">since <time datetime="2024-06-30">2024-06-30</time></span>`,
		`Missing patches <span class="count">1</span>`, `href="/advisories/GHSA%2F..%2Fx%3Fy%23z"`} {
		if !strings.Contains(body, want) {
			t.Errorf("EOL host page lacks %s", want)
		}
	}
	if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src") {
		t.Errorf("host page has unescaped hostile text")
	}

	// No findings: the empty state says that it cannot tell "none known"
	// from "no advisories".
	ui.b.findings = nil
	_, body = ui.do(t, "GET", "/hosts/web01", nil, true)
	if !strings.Contains(body, "No missing patches known") || !strings.Contains(body, "When none are loaded for this system, this list is empty too.") ||
		!strings.Contains(body, `Missing patches <span class="count">0</span>`) {
		t.Errorf("host page without findings:\n%s", body)
	}
	_, body = ui.do(t, "GET", "/hosts/1234", nil, true)
	if !strings.Contains(body, "Imported assets have no package inventory, so their missing patches cannot be known") ||
		!strings.Contains(body, `<dt>OS end of life</dt><dd><span class="muted">unknown</span>`) {
		t.Errorf("imported host without findings:\n%s", body)
	}
}

func TestHostListEOL(t *testing.T) {
	ui := newTestUI(t, false)
	_, body := ui.do(t, "GET", "/hosts", nil, true)
	for _, want := range []string{
		`<span class="badge badge-eol" title="The OS release is past its end of life (2024-06-30)">EOL</span>`,
		`<span class="badge badge-eol">1 end of life</span>`,
		`<select id="f-eol" name="eol">`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("host list lacks %s", want)
		}
	}
	if strings.Count(body, `>EOL</span>`) != 1 {
		t.Errorf("host list: %d EOL badges, want 1", strings.Count(body, `>EOL</span>`))
	}
	for q, want := range map[string]bool{"eol=true": true, "eol=yes": true, "eol=no": false, "eol=false": false} {
		resp, body := ui.do(t, "GET", "/hosts?"+q, nil, true)
		if f := ui.b.lastFilter; resp.StatusCode != 200 || f.EOL == nil || *f.EOL != want {
			t.Errorf("GET /hosts?%s = %d, filter EOL %v, want %v", q, resp.StatusCode, f.EOL, want)
		}
		if opt := `<option value="` + strconv.FormatBool(want) + `" selected>`; !strings.Contains(body, opt) {
			t.Errorf("GET /hosts?%s: form lacks %s", q, opt)
		}
	}
	_, _ = ui.do(t, "GET", "/hosts", nil, true)
	if ui.b.lastFilter.EOL != nil {
		t.Errorf("no eol filter, but backend got %v", *ui.b.lastFilter.EOL)
	}
	if resp, _ := ui.do(t, "GET", "/hosts?eol=sometimes", nil, true); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("GET /hosts?eol=sometimes = %d, want 400", resp.StatusCode)
	}
}

func TestAdvisoryPage(t *testing.T) {
	ui := newTestUI(t, false)
	resp, body := ui.do(t, "GET", "/advisories/ALSA-2026:7343", nil, true)
	if resp.StatusCode != 200 {
		t.Fatalf("GET advisory = %d\n%s", resp.StatusCode, body)
	}
	if got := ui.b.advisoryAsked; len(got) != 1 || got[0] != "ALSA-2026:7343" {
		t.Errorf("backend asked for %q", got)
	}
	for _, want := range []string{
		`<title>ALSA-2026:7343 · Patchwave</title>`,
		`<h1 class="adv-title">ALSA-2026:7343</h1>`,
		`<p class="lead">Important: &lt;b&gt;openssl&lt;/b&gt; security update</p>`,
		`<div class="prose-plain">An update for openssl is now available.` + "\n\n" + `&lt;script&gt;alert(&#39;details&#39;)&lt;/script&gt;` + "\n",
		`<time datetime="2026-01-02T10:00:00Z">2026-01-02</time>`, `2026-01-04`,
		`<a class="chip mono" href="/findings?cve=CVE-2026-0001" title="Findings with CVE-2026-0001">CVE-2026-0001</a>`,
		`<span class="chip chip-static mono">GHSA-abcd-1234</span>`,
		`href="/findings?cve=CVE-2026-0002"`,
		`<span class="sev-type">CVSS_V3</span> <span class="mono">CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H</span>`,
		`<th scope="row" class="mono">openssl</th>`, `AlmaLinux:9`, `<li>1:3.0.7-27.el9_4</li>`,
		`<span class="badge badge-nofix">no fix yet</span> <span class="muted">last affected <span class="mono">1:3.0.7-26.el9</span></span>`,
		`<a class="ref-link" href="https://errata.almalinux.org/9/ALSA-2026-7343.html" rel="noopener noreferrer">`,
		`<span class="ref-type">Advisory</span>`, `<span class="ref-type">&lt;b&gt;EVIL&lt;/b&gt;</span>`,
		`Affected hosts <span class="count">2</span>`,
		`href="/findings?advisory=ALSA-2026%3A7343">Open in findings</a>`,
		`<a class="host-link" href="/hosts/web01">web01</a>`,
		`<span class="badge badge-kev">Known exploited</span>`,
		`<a href="/findings" aria-current="page">Findings</a>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("advisory page lacks %s", want)
		}
	}
	// Links other than http(s) are shown as text, never as live links.
	for _, dead := range []string{"javascript:alert(document.cookie)", `https://example.org/x&#34; onmouseover=&#34;alert(1)`,
		"data:text/html,&lt;script&gt;alert(1)&lt;/script&gt;"} {
		if !strings.Contains(body, `<span class="ref-link ref-dead mono">`+dead+`</span> <span class="muted">(not a web address)</span>`) {
			t.Errorf("advisory page does not show %s as dead text", dead)
		}
	}
	if regexp.MustCompile(`(?i)href="\s*(javascript|data)|href="[^"]*onmouseover|#ZgotmplZ`).MatchString(body) {
		t.Errorf("advisory page has a hostile link")
	}
	for _, bad := range []string{"<script>alert", "<b>"} {
		if strings.Contains(body, bad) {
			t.Errorf("advisory page has unescaped %s", bad)
		}
	}
	// The CSP check, with the references that are text on purpose left out.
	text := strings.NewReplacer("javascript:alert(document.cookie)", "", `&#34; onmouseover=&#34;`, "",
		"&lt;img src=x onerror=alert(1)&gt;", "").Replace(body)
	if m := inlineRE.FindString(text); m != "" {
		t.Errorf("advisory page has inline code the CSP would block: %q", m)
	}

	// An id with a slash and a query in it routes to its own page.
	resp, body = ui.do(t, "GET", "/advisories/GHSA%2F..%2Fx%3Fy%23z", nil, true)
	if resp.StatusCode != 200 || !strings.Contains(body, `<h1 class="adv-title">GHSA/../x?y#z</h1>`) ||
		!strings.Contains(body, "The advisory gives no details.") || !strings.Contains(body, "No references.") {
		t.Errorf("GET hostile advisory id = %d\n%s", resp.StatusCode, body)
	}

	// Unknown ids are a friendly 404.
	resp, body = ui.do(t, "GET", "/advisories/DSA-0000-1", nil, true)
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, `There is no advisory &#34;DSA-0000-1&#34;`) {
		t.Errorf("unknown advisory = %d\n%s", resp.StatusCode, body)
	}

	// An advisory without affected hosts says so.
	ui.b.findings = nil
	_, body = ui.do(t, "GET", "/advisories/ALSA-2026:7343", nil, true)
	if !strings.Contains(body, "No host is affected") || !strings.Contains(body, `Affected hosts <span class="count">0</span>`) {
		t.Errorf("advisory without findings:\n%s", body)
	}
}

func TestFeedsPage(t *testing.T) {
	ui := newTestUI(t, false)
	resp, body := ui.do(t, "GET", "/feeds", nil, true)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /feeds = %d\n%s", resp.StatusCode, body)
	}
	for _, want := range []string{
		`<a href="/feeds" aria-current="page">Feeds</a>`,
		`3 feeds · 124,888 records`, `<span class="badge badge-error">1 failing</span>`,
		`<span class="mono">debian</span> <span class="badge badge-ok">OK</span>`,
		`<span class="kind kind-osv">osv</span>`,
		`https://mirror:xxxxx@example.org/osv/Debian/all.zip`, `every 6 hours`, `30 days ago`, `123,456`,
		`<span class="mono">kev</span> <span class="badge badge-ok">OK</span>`, `<span class="muted">import only</span>`,
		`5 minutes ago`, `1,432`,
		`<tr class="is-failing">`, `<span class="mono">epss</span> <span class="badge badge-error">Failing</span>`,
		`every day`, `<span class="muted">never</span>`,
		`<div class="error-box" role="note"><span class="error-text">fetch: 503 &lt;b&gt;Service Unavailable&lt;/b&gt;</span>`,
		`failed <time`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("feeds page lacks %s", want)
		}
	}
	if strings.Contains(body, "s3cret") || strings.Contains(body, "<b>") {
		t.Errorf("feeds page shows a password or unescaped text")
	}
	// Sorted by name.
	if i, j, k := strings.Index(body, ">debian<"), strings.Index(body, ">epss<"), strings.Index(body, ">kev<"); !(i < j && j < k) {
		t.Errorf("feeds not sorted by name")
	}
	if m := inlineRE.FindString(body); m != "" {
		t.Errorf("feeds page has inline code the CSP would block: %q", m)
	}
	ui.b.feeds = nil
	_, body = ui.do(t, "GET", "/feeds", nil, true)
	if !strings.Contains(body, "No feeds yet") || !strings.Contains(body, "patchwave feeds add") {
		t.Errorf("feeds page without feeds:\n%s", body)
	}
}

func TestFindingFormatting(t *testing.T) {
	for id, want := range map[string]string{"ALSA-2026:7343": "/advisories/ALSA-2026:7343", "DSA-5900-1": "/advisories/DSA-5900-1",
		"a/b?c#d e": "/advisories/a%2Fb%3Fc%23d%20e", "..": "/advisories/.."} {
		if got := advisoryURL(id); got != want {
			t.Errorf("advisoryURL(%q) = %q, want %q", id, got, want)
		}
	}
	for p, want := range map[float64]string{0: "", 0.00000001: "<0.01%", 0.0004: "0.04%", 0.0123: "1.2%", 0.97312: "97%", 1: "100%"} {
		if got := epss(p); got != want {
			t.Errorf("epss(%v) = %q, want %q", p, got, want)
		}
	}
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 123456: "123,456", 1234567: "1,234,567", -4321: "-4,321"} {
		if got := number(n); got != want {
			t.Errorf("number(%d) = %q, want %q", n, got, want)
		}
	}
	for sec, want := range map[int64]string{0: "", 90: "every 90 seconds", 1800: "every 30 minutes", 3600: "every hour",
		6 * 3600: "every 6 hours", 86400: "every day", 2 * 86400: "every 2 days", 7 * 86400: "every week"} {
		if got := interval(sec); got != want {
			t.Errorf("interval(%d) = %q, want %q", sec, got, want)
		}
	}
	for u, want := range map[string]string{"https://example.org/a.zip": "https://example.org/a.zip",
		"https://u:pw@example.org/a": "https://u:xxxxx@example.org/a", "https://token@example.org/a": "https://xxxxx@example.org/a",
		"/srv/feeds/osv.zip": "/srv/feeds/osv.zip"} {
		if got := redactURL(u); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", u, got, want)
		}
	}
	for u, want := range map[string]bool{"https://example.org/x": true, "http://example.org": true, "HTTPS://example.org/": true,
		"javascript:alert(1)": false, "JavaScript:alert(1)": false, "//example.org/x": false, "/local": false,
		"https://": false, "data:text/html,x": false, "https://example.org/\"x": false, "ftp://example.org/": false} {
		if got := webLink(u); got != want {
			t.Errorf("webLink(%q) = %v, want %v", u, got, want)
		}
	}
}
