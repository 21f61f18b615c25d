package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/server"
)

// chromiumPath is Debian's chromium, the browser the UI is tested with.
const chromiumPath = "/usr/bin/chromium"

const adminPassword = "browser-test-admin-pw"

// TestBrowser drives the web UI of a real server, with real storage and
// authentication, in headless chromium: sign in, list hosts, filter by
// site, open a host, filter its packages, sign out. It saves a screenshot of
// every step into $PATCHWAVE_ARTIFACTS/web-browser, or a temporary directory.
func TestBrowser(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		missingTool(t, "skipping the browser test: %s is missing (apt-get install chromium): %v", chromiumPath, err)
	}
	if testing.Short() {
		t.Skip("skipping the browser test in short mode")
	}
	shots := artifactsDir(t)
	_, ts := startServer(t)
	seedHosts(t, ts.URL)

	ctx := newBrowser(t)
	problems := watchConsole(t, ctx)
	b := &browser{t: t, ctx: ctx, base: ts.URL, dir: shots}

	// Signing in: a wrong password first, then the right one.
	b.do(chromedp.EmulateViewport(1280, 900), chromedp.Navigate(ts.URL+"/hosts"))
	if loc := b.location(); !strings.Contains(loc, "/login") {
		t.Fatalf("without a session /hosts went to %s, want the login page", loc)
	}
	b.do(chromedp.WaitVisible(chromedp.ID("login-name")))
	b.shot("01-login")
	b.do(chromedp.SendKeys(chromedp.ID("login-name"), "admin"),
		chromedp.SendKeys(chromedp.ID("login-password"), "not the password"))
	b.navigate(chromedp.Submit(chromedp.ID("login-password")))
	if msg := b.text("#login-error"); !strings.Contains(msg, "user name or password is not right") {
		t.Errorf("wrong password: message %q", msg)
	}
	b.shot("02-login-failed")
	if v, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("login-name"))); err != nil || v != "admin" {
		t.Errorf("after a failed sign-in the user name is %q (%v), want it kept", v, err)
	}
	b.do(chromedp.SendKeys(chromedp.ID("login-password"), adminPassword)) // the page never echoes a password
	b.navigate(chromedp.Submit(chromedp.ID("login-password")))

	// The host list.
	b.do(chromedp.WaitVisible(chromedp.CSS("table.hosts-table")))
	if loc := b.location(); !strings.HasSuffix(loc, "/hosts") {
		t.Errorf("after sign-in at %s, want /hosts", loc)
	}
	list := b.text("table.hosts-table tbody")
	for _, want := range []string{"paris-web01", "paris-db01", "lyon-app01", "Debian GNU/Linux 12 (bookworm)",
		"Mission-critical", "10.20.0.31"} {
		if !strings.Contains(list, want) {
			t.Errorf("host list lacks %q:\n%s", want, list)
		}
	}
	if who := b.text(".who-name"); who != "admin" {
		t.Errorf("top bar names %q, want admin", who)
	}
	b.shot("03-hosts")

	// The keyboard: the first Tab reaches the skip link, which moves focus to
	// the main content; "/" jumps to the search box.
	b.do(chromedp.KeyEvent(kb.Tab))
	if f := b.focused(); f != "A skip-link Skip to content" {
		t.Errorf("first Tab focused %q, want the skip link", f)
	}
	b.do(chromedp.KeyEvent(kb.Enter))
	if f := b.focused(); !strings.HasPrefix(f, "MAIN ") {
		t.Errorf("the skip link moved focus to %q, want main", f)
	}
	b.do(chromedp.KeyEvent("/"))
	if f := b.focused(); f != "INPUT f-q " {
		t.Errorf(`"/" focused %q, want the search box`, f)
	}
	// The protocol sends the key's character separately, so the page
	// cannot cancel it as it does for a real key press: clear it.
	b.do(chromedp.Evaluate[chromedp.Void](`document.getElementById("f-q").value = ""`))

	// Filter by site.
	b.do(chromedp.SetValue(chromedp.ID("f-site"), "lyon"))
	b.navigate(chromedp.Click(chromedp.CSS(".filters button[type=submit]")))
	if loc := b.location(); !strings.HasSuffix(loc, "/hosts?site=lyon") {
		t.Errorf("site filter went to %s, want /hosts?site=lyon", loc)
	}
	list = b.text("table.hosts-table tbody")
	if !strings.Contains(list, "lyon-app01") || strings.Contains(list, "paris-") {
		t.Errorf("hosts of site lyon:\n%s", list)
	}
	b.shot("04-hosts-site-lyon")

	// Search, then back to everything.
	b.navigate(chromedp.Navigate(ts.URL + "/hosts?q=db01"))
	list = b.text("table.hosts-table tbody")
	if !strings.Contains(list, "paris-db01") || strings.Contains(list, "paris-web01") {
		t.Errorf("hosts matching db01:\n%s", list)
	}
	b.navigate(chromedp.Click(chromedp.CSS(".filters a.btn"))) // Clear

	// Open the enrolled host.
	b.navigate(chromedp.Click(chromedp.CSS(`a.host-link[href="/hosts/paris-web01"]`)))
	b.do(chromedp.WaitVisible(chromedp.CSS("h1.host-title")))
	if h1 := b.text("h1.host-title"); h1 != "paris-web01" {
		t.Errorf("host page title %q", h1)
	}
	page := b.text("main")
	for _, want := range []string{"paris-web01.example.net", "Debian GNU/Linux 12 (bookworm)", "6.1.0-28-amd64",
		"amd64", "eth0", "52:54:00:0a:00:01", "10.10.0.21/24", "nginx.service", "paris", "Business-critical",
		"web", "0.9.0-test", "5 days", "openssl", "3.0.15-1~deb12u1", "nginx", "Showing 4 of 4 packages"} {
		if !strings.Contains(page, want) {
			t.Errorf("host page lacks %q", want)
		}
	}
	b.shot("05-host")

	// Filter the packages as you type.
	b.do(chromedp.SendKeys(chromedp.ID("pkg-q"), "ssl"))
	b.waitText("#pkg-count", "Showing 2 of 4 packages")
	visible := b.text("#pkg-table tbody")
	if !strings.Contains(visible, "libssl3") || strings.Contains(visible, "nginx") {
		t.Errorf("packages matching ssl:\n%s", visible)
	}
	b.shot("06-host-packages-ssl")

	// Edit the host's site, tier, owner and tags.
	b.do(chromedp.Click(chromedp.CSS("#host-edit > summary")), chromedp.WaitVisible(chromedp.ID("edit-owner")))
	b.do(chromedp.SetValue(chromedp.ID("edit-site"), "frankfurt"),
		chromedp.SetValue(chromedp.ID("edit-tier"), "mission-critical"),
		chromedp.SendKeys(chromedp.ID("edit-owner"), "alice"),
		chromedp.SetValue(chromedp.ID("edit-tags"), "prod, db"))
	b.shot("06b-host-edit")
	b.navigate(chromedp.Submit(chromedp.ID("edit-tags")))
	if loc := b.location(); !strings.HasSuffix(loc, "/hosts/paris-web01?saved=1") {
		t.Errorf("after saving the host at %s", loc)
	}
	if msg := b.text("#host-notice"); msg != "Your changes to paris-web01 are saved." {
		t.Errorf("after saving the host: notice %q", msg)
	}
	owned := b.text("section[aria-labelledby=own-title] dl")
	for _, want := range []string{"frankfurt", "Mission-critical", "alice", "db", "prod"} {
		if !strings.Contains(owned, want) {
			t.Errorf("ownership after the edit lacks %q:\n%s", want, owned)
		}
	}
	if strings.Contains(owned, "web") {
		t.Errorf("the web tag survived the edit:\n%s", owned)
	}
	b.shot("06c-host-edited")
	var stored patchwave.Host
	apiCall(t, ts.URL, apiLogin(t, ts.URL), "GET", "/api/v1/hosts/paris-web01", "", nil, &stored)
	if stored.Site != "frankfurt" || stored.Tier != patchwave.TierMissionCritical || stored.Owner != "alice" || strings.Join(stored.Tags, ",") != "db,prod" {
		t.Errorf("stored host after the edit: site %q tier %q owner %q tags %v", stored.Site, stored.Tier, stored.Owner, stored.Tags)
	}

	// In the dark.
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}}); err != nil {
		t.Fatalf("dark scheme: %v", err)
	}
	b.shot("07-host-dark")
	b.navigate(chromedp.Navigate(ts.URL + "/hosts"))
	b.shot("08-hosts-dark")
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{}); err != nil {
		t.Fatalf("light scheme: %v", err)
	}

	// The same pages on a phone.
	b.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	b.navigate(chromedp.Navigate(ts.URL + "/hosts"))
	b.shot("09-hosts-phone")
	b.navigate(chromedp.Navigate(ts.URL + "/hosts/paris-web01"))
	b.shot("10-host-phone")
	b.do(chromedp.EmulateViewport(1280, 900))

	// An unknown host is a friendly 404.
	resp := b.navigate(chromedp.Navigate(ts.URL + "/hosts/no-such-host"))
	if resp == nil || resp.Status != http.StatusNotFound {
		t.Errorf("unknown host: response %+v, want 404", resp)
	}
	if h1 := b.text("#error-title"); h1 != "Not found" {
		t.Errorf("unknown host page says %q", h1)
	}
	b.shot("11-not-found")

	// Sign out.
	b.navigate(chromedp.Click(chromedp.CSS(".signout button")))
	if msg := b.text(".alert-info"); msg != "You have signed out." {
		t.Errorf("after sign-out: %q", msg)
	}
	b.shot("12-signed-out")
	b.navigate(chromedp.Navigate(ts.URL + "/hosts"))
	if loc := b.location(); !strings.Contains(loc, "/login") {
		t.Errorf("after sign-out /hosts went to %s, want the login page", loc)
	}

	for _, p := range problems() {
		t.Errorf("browser console: %s", p)
	}
}

// startServer starts a real server over embedded SQLite, serving on a
// local test listener; both stop when the test ends.
func startServer(t *testing.T) (*server.Server, *httptest.Server) {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := server.New(t.Context(), server.Config{DataDir: t.TempDir(), AdminPassword: adminPassword,
		Listen: "127.0.0.1:0"}, logger)
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
	})
	return srv, ts
}

// artifactsDir is where screenshots go: $PATCHWAVE_ARTIFACTS/web-browser when
// that is set, a test temporary directory otherwise.
func artifactsDir(t *testing.T) string {
	dir := t.TempDir()
	if a := os.Getenv("PATCHWAVE_ARTIFACTS"); a != "" {
		dir = filepath.Join(a, "web-browser")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// newBrowser starts headless chromium with a throw-away profile.
func newBrowser(t *testing.T) context.Context {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancelTab()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start %s: %v", chromiumPath, err)
	}
	return ctx
}

// watchConsole collects the page's errors: uncaught exceptions, console
// errors, and resources the Content-Security-Policy blocked.
func watchConsole(t *testing.T, ctx context.Context) func() []string {
	var mu sync.Mutex
	var got []string
	add := func(s string) {
		mu.Lock()
		got = append(got, s)
		mu.Unlock()
	}
	entries := chromedp.Events(ctx, cdplog.EntryAdded)
	exceptions := chromedp.Events(ctx, runtime.ExceptionThrown)
	go func() {
		for ev, err := range entries {
			if err != nil {
				return
			}
			if ev.Entry != nil && (ev.Entry.Level == cdplog.EntryLevelError || ev.Entry.Level == cdplog.EntryLevelWarning) &&
				!strings.Contains(ev.Entry.URL, "favicon") && !isStatusError(ev.Entry.Text) {
				add(fmt.Sprintf("%s %s: %s (%s)", ev.Entry.Level, ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
			}
		}
	}()
	go func() {
		for ev, err := range exceptions {
			if err != nil {
				return
			}
			if ev.ExceptionDetails != nil {
				add("exception: " + ev.ExceptionDetails.Text)
			}
		}
	}()
	return func() []string {
		time.Sleep(100 * time.Millisecond) // let the last events arrive
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), got...)
	}
}

// isStatusError reports whether a console message is chromium noting an
// error status, which the test asks for on purpose (401, 404).
func isStatusError(text string) bool {
	return strings.Contains(text, "Failed to load resource: the server responded with a status of")
}

// browser runs steps in one tab and fails the test at the first error.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string
	dir  string
}

func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

// navigate runs a step that loads a page, and waits for it.
func (b *browser) navigate(step chromedp.Action[chromedp.Void]) *network.Response {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, step)
	if err != nil {
		b.t.Fatalf("browser: %v", err)
	}
	b.do(chromedp.WaitReady(chromedp.CSS("body")))
	return resp
}

func (b *browser) location() string {
	b.t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatalf("browser: %v", err)
	}
	return loc
}

// focused describes the element that has the keyboard focus: its tag, its
// id or class, and the start of its text.
func (b *browser) focused() string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(() => { const e = document.activeElement;
		return e.tagName + " " + (e.id || e.className) + " " + (e.innerText || "").trim().slice(0, 40); })()`))
	if err != nil {
		b.t.Fatalf("browser: focused element: %v", err)
	}
	return s
}

// text returns the text of the first element that the CSS selector sel matches.
func (b *browser) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("browser: text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// waitText waits until the element's text is want.
func (b *browser) waitText(sel string, want string) {
	b.t.Helper()
	var got string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if got = b.text(sel); got == want {
			return
		}
	}
	b.t.Errorf("text of %s is %q, want %q", sel, got, want)
}

// shot saves a screenshot of the whole page.
func (b *browser) shot(name string) {
	b.t.Helper()
	buf, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(b.dir, name+".png"), buf, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// apiLogin signs the administrator in to the API and returns the token.
func apiLogin(t *testing.T, base string) string {
	t.Helper()
	var login struct {
		Token string `json:"token"`
	}
	apiCall(t, base, "", "POST", "/api/v1/login", "application/json",
		map[string]string{"user": "admin", "password": adminPassword}, &login)
	if login.Token == "" {
		t.Fatal("API login returned no token")
	}
	return login.Token
}

// seedHosts creates hosts through the real API: three imported from a CSV,
// and one enrolled agent that reports its facts and packages.
func seedHosts(t *testing.T, base string) {
	t.Helper()
	var login struct{ Token string }
	login.Token = apiLogin(t, base)

	csv := "hostname,ip,os,site,tier,owner,tags,fqdn,mac\n" +
		"paris-db01,10.10.0.31,Debian GNU/Linux 12 (bookworm),paris,mission-critical,team-db,\"db,prod\",paris-db01.example.net,52:54:00:0a:00:31\n" +
		"lyon-app01,10.20.0.31,Ubuntu 24.04.1 LTS,lyon,business-operational,team-apps,app,lyon-app01.example.net,52:54:00:14:00:31\n" +
		"lyon-lab07,10.20.9.7,AlmaLinux 9.4,lyon,lab,,lab,,\n"
	var imported struct{ Created int }
	apiCall(t, base, login.Token, "POST", "/api/v1/hosts/import", "text/csv", csv, &imported)
	if imported.Created != 3 {
		t.Fatalf("CSV import created %d hosts, want 3", imported.Created)
	}

	var tok patchwave.EnrollToken
	apiCall(t, base, login.Token, "POST", "/api/v1/enroll-tokens", "application/json",
		map[string]any{"site": "paris", "tier": "business-critical", "tags": []string{"web"}, "max_uses": 1,
			"expires_in": "1h"}, &tok)
	facts := patchwave.Facts{
		Hostname: "paris-web01", FQDN: "paris-web01.example.net",
		OS:     patchwave.OS{Family: "debian", ID: "debian", Name: "Debian GNU/Linux 12 (bookworm)", Version: "12", Codename: "bookworm"},
		Kernel: "6.1.0-28-amd64", Arch: "amd64", UptimeSeconds: 5*86400 + 3*3600,
		Interfaces: []patchwave.Interface{{Name: "eth0", MAC: "52:54:00:0a:00:01", IPs: []string{"10.10.0.21/24", "fe80::5054:ff:fe0a:1/64"}},
			{Name: "lo", IPs: []string{"127.0.0.1/8"}}},
		Services:     []string{"nginx.service", "ssh.service"},
		AgentVersion: "0.9.0-test",
	}
	var enrolled patchwave.EnrollResponse
	apiCall(t, base, "", "POST", "/api/v1/agent/enroll", "application/json",
		patchwave.EnrollRequest{Token: tok.Token, Facts: facts}, &enrolled)
	pkgs := patchwave.SortPackages([]patchwave.Package{
		{Name: "libssl3", Version: "3.0.15-1~deb12u1", Arch: "amd64", Source: "openssl"},
		{Name: "openssl", Version: "3.0.15-1~deb12u1", Arch: "amd64"},
		{Name: "nginx", Version: "1.22.1-9+deb12u1", Arch: "amd64"},
		{Name: "base-files", Version: "12.4+deb12u8", Arch: "amd64"},
	})
	req := patchwave.CheckinRequest{FactsHash: facts.Hash(), PackagesHash: patchwave.HashPackages(pkgs),
		Uptime: facts.UptimeSeconds, Facts: &facts, Packages: &pkgs}
	for range 3 {
		var resp patchwave.CheckinResponse
		apiCall(t, base, enrolled.Credential, "POST", "/api/v1/agent/checkin", "application/json", req, &resp)
		if resp.PackagesHash == req.PackagesHash && resp.FactsHash == req.FactsHash && !resp.NeedFacts && !resp.NeedPackages {
			return
		}
	}
	t.Fatal("the server did not take the agent's facts and packages")
}

// apiCall sends one API request and decodes its JSON answer into out.
func apiCall(t *testing.T, base, token, method, path, ctype string, body, out any) {
	t.Helper()
	var r io.Reader
	if s, ok := body.(string); ok {
		r = strings.NewReader(s)
	} else {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, base+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %s: %s", method, path, resp.Status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
}
