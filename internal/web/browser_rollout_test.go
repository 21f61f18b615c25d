package web_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/client"
	"github.com/patchwave/patchwave/internal/server"
)

// TestBrowserRollout drives the release pages of a real server in
// headless chromium. Ten agents report an OpenSSL that an advisory fixes,
// a baseline approves the fix, and an out-of-band release (three hours
// old) starts on compressed waves; the test ticks the rollout driver
// itself, and plays the agents: two lab hosts install the patch, a third
// is still at it. An approver signs in, finds the release from the list,
// sees the lab wave's progress, and signs the lab tests off; the live
// view picks up the third lab host's result without a reload. An
// operator pauses the rollout. The calendar shows the cycles, the
// windows and the change freeze.
func TestBrowserRollout(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		missingTool(t, "skipping the browser test: %s is missing (apt-get install chromium): %v", chromiumPath, err)
	}
	if testing.Short() {
		t.Skip("skipping the browser test in short mode")
	}
	shots := artifactsDir(t)
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := server.New(t.Context(), server.Config{DataDir: t.TempDir(), AdminPassword: adminPassword, Listen: "127.0.0.1:0",
		NoRollouts: true, NoFeedSync: true}, logger)
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
	})
	ctx := t.Context()
	token := apiLogin(t, ts.URL)
	agents := seedRollout(t, srv, ts.URL, token)
	tick := func() {
		t.Helper()
		if err := srv.Driver().Tick(ctx); err != nil {
			t.Fatalf("driver tick: %v", err)
		}
	}
	var rel struct {
		Name    string
		Summary struct{ Hosts int }
	}
	apiCall(t, ts.URL, token, "POST", "/api/v1/releases", "application/json", map[string]any{
		"out_of_band": true, "released_at": time.Now().Add(-3 * time.Hour).UTC().Format(time.RFC3339),
		"reason": "KEV entry for CVE-2026-21001", "cves": []string{"CVE-2026-21001"}, "allow_no_window": true,
	}, &rel)
	if rel.Summary.Hosts != len(agents) {
		t.Fatalf("release %s holds %d hosts, want %d", rel.Name, rel.Summary.Hosts, len(agents))
	}
	next := time.Now().AddDate(0, 1, 0)
	apiCall(t, ts.URL, token, "POST", "/api/v1/releases", "application/json",
		map[string]any{"cycle": next.Format("2006-01")}, nil)

	// The lab wave starts; two lab hosts install the patch, the third
	// starts and has not finished.
	tick()
	for _, name := range []string{"lab-01", "lab-02", "lab-03"} {
		if n := agents[name].run(t, name != "lab-03"); n != 1 {
			t.Fatalf("%s got %d tasks, want 1", name, n)
		}
	}
	tick()

	bctx := newBrowser(t)
	problems := watchConsole(t, bctx)
	b := &browser{t: t, ctx: bctx, base: ts.URL, dir: shots}
	b.do(chromedp.EmulateViewport(1280, 900))
	b.signInAs("ann", approverPW)

	// The releases, from the main navigation.
	b.navigate(chromedp.Click(chromedp.CSS(`.mainnav a[href="/releases"]`)))
	b.do(chromedp.WaitVisible(chromedp.ID("releases-table")))
	if cur := b.text(`.mainnav a[aria-current="page"]`); cur != "Releases" {
		t.Errorf("current navigation entry %q, want Releases", cur)
	}
	if n := b.count("#releases-table tbody tr"); n != 2 {
		t.Errorf("%d releases listed, want 2", n)
	}
	row := b.text(`#releases-table tbody tr:has(a[href="/releases/` + url.PathEscape(rel.Name) + `"])`)
	for _, want := range []string{rel.Name, "Out of band", "KEV entry for CVE-2026-21001", "Running", "10", "admin"} {
		if !strings.Contains(row, want) {
			t.Errorf("release row lacks %q:\n%s", want, row)
		}
	}
	b.shot("61-releases")

	// The live view.
	b.navigate(chromedp.Click(chromedp.CSS(`a.release-link[href="/releases/` + url.PathEscape(rel.Name) + `"]`)))
	b.do(chromedp.WaitVisible(chromedp.ID("wave-0")))
	if h1 := b.text("h1"); h1 != "Release "+rel.Name {
		t.Errorf("release page title %q", h1)
	}
	lab := b.text("#wave-0")
	for _, want := range []string{"lab", "Running", "2 of 3 hosts done", "100% first-pass success", "1 running", "100%",
		"gate 95% of ≥ 1, soak 2 hours", "Lab sign-off", "awaits approver"} {
		if !strings.Contains(lab, want) {
			t.Errorf("lab wave row lacks %q:\n%s", want, lab)
		}
	}
	if n := b.count("#wave-0 svg.progress rect.seg-ok"); n != 1 {
		t.Errorf("lab progress bar has %d success segments, want 1", n)
	}
	if w := b.attr("#wave-0 svg.progress rect.seg-ok", "width"); !strings.HasPrefix(w, "66.6") {
		t.Errorf("lab success segment is %s%% wide, want 2 of 3", w)
	}
	if n := b.count("#waves-table tbody tr"); n != 5 {
		t.Errorf("%d waves, want 5", n)
	}
	if s := b.text("#wave-1"); !strings.Contains(s, "Waiting") {
		t.Errorf("pilot wave:\n%s", s)
	}
	if n := b.count("#wave-timeline .chart-bars g.bar"); n != 5 {
		t.Errorf("timeline has %d wave bars, want 5", n)
	}
	if n := b.count("#wave-timeline line.mark-now"); n != 1 {
		t.Errorf("timeline has %d now marks, want 1", n)
	}
	plan := b.text("#plan-table tbody")
	for _, want := range []string{"lab-01", "Patched", "lab-03", "Installing", "app-01", "evening", "No task yet"} {
		if !strings.Contains(plan, want) {
			t.Errorf("hosts' plan lacks %q:\n%s", want, plan)
		}
	}
	if s := b.text(".events"); !strings.Contains(s, "wave.start") || !strings.Contains(s, "release.create") {
		t.Errorf("recent decisions:\n%s", s)
	}
	if b.count("#steer") != 0 {
		t.Errorf("an approver may pause the rollout")
	}
	b.shot("62-rollout-live")

	// Sign the lab tests off.
	b.do(chromedp.SendKeys(chromedp.ID("approve-promote-0-reason"), "lab tests passed on all three hosts"))
	b.navigate(chromedp.Click(chromedp.CSS("#approve-promote-0 .btn-approve")))
	if msg := b.text("#release-notice"); msg != "Your approval of wave 0 (lab) is recorded." {
		t.Errorf("after approving: notice %q", msg)
	}
	if loc := b.location(); !strings.HasSuffix(loc, "#wave-0") {
		t.Errorf("after approving at %s", loc)
	}
	approvals := b.text(".approvals")
	for _, want := range []string{"Approved", "wave 0 · lab", "promotion", "ann (approver)", "lab tests passed on all three hosts"} {
		if !strings.Contains(approvals, want) {
			t.Errorf("approvals lack %q:\n%s", want, approvals)
		}
	}
	if s := b.text("#wave-0 .wave-note"); !strings.Contains(s, "Lab signed off") {
		t.Errorf("lab wave after the sign-off:\n%s", s)
	}
	if b.count("#approve-promote-0") != 0 {
		t.Errorf("the sign-off form is still offered")
	}
	var ro struct {
		Approvals []patchwave.Approval
	}
	apiCall(t, ts.URL, token, "GET", "/api/v1/rollouts/"+url.PathEscape(rel.Name), "", nil, &ro)
	if len(ro.Approvals) != 1 || ro.Approvals[0].Actor != "ann" || ro.Approvals[0].Stage != "promote" || ro.Approvals[0].Wave != 0 {
		t.Errorf("API approvals %+v", ro.Approvals)
	}
	b.shot("63-rollout-approved")

	// The third lab host finishes: the live view shows it by itself.
	agents["lab-03"].finish(t)
	tick()
	b.waitTextWithin("#wave-0 .progress-text", "3 of 3 hosts done: 100% first-pass success", 25*time.Second)
	if loc := b.location(); !strings.HasSuffix(loc, "#wave-0") {
		t.Errorf("the live view reloaded the page: at %s", loc)
	}

	// The plan of one wave.
	b.navigate(chromedp.Navigate(ts.URL + "/releases/" + url.PathEscape(rel.Name) + "?wave=2#plan"))
	if rows := b.strings("#plan-table tbody tr"); len(rows) != 3 || !strings.Contains(strings.Join(rows, "\n"), "app-02") {
		t.Errorf("the early wave's plan: %q", rows)
	}

	// An operator pauses the rollout.
	b.navigate(chromedp.Click(chromedp.CSS(".signout button")))
	b.signInAs("otto", operatorPW)
	b.navigate(chromedp.Navigate(ts.URL + "/releases/" + url.PathEscape(rel.Name)))
	b.do(chromedp.SendKeys(chromedp.ID("steer-reason"), "web-02 reports TLS errors after the update"))
	b.navigate(chromedp.Click(chromedp.ID("pause-button")))
	if msg := b.text("#release-notice"); !strings.Contains(msg, "paused") {
		t.Errorf("after pausing: notice %q", msg)
	}
	if s := b.text("#state-reason"); !strings.Contains(s, "pause by otto: web-02 reports TLS errors after the update") {
		t.Errorf("paused rollout's reason %q", s)
	}
	if b.count("#resume-button") != 1 {
		t.Errorf("no resume button on a paused rollout")
	}
	b.shot("64-rollout-paused")

	// The calendar.
	b.navigate(chromedp.Click(chromedp.CSS(`.mainnav a[href="/calendar"]`)))
	b.do(chromedp.WaitVisible(chromedp.ID("cycle-calendar")))
	if n := b.count(".cycles .cycle"); n != 4 {
		t.Errorf("calendar shows %d cycles, want 4", n)
	}
	windows := b.text("#windows-table tbody")
	for _, want := range []string{"evening", "FREQ=DAILY", "Europe/Paris", "4 hours", "30 minutes", "year-end", "Change freeze", "14 days"} {
		if !strings.Contains(windows, want) {
			t.Errorf("windows lack %q:\n%s", want, windows)
		}
	}
	if n := b.count("#cycle-calendar .phase"); n < 12 {
		t.Errorf("calendar chart has %d phase bars", n)
	}
	if s := b.text(".cycles"); !strings.Contains(s, next.Format("2006-01")) {
		t.Errorf("calendar lacks next month's release:\n%s", s)
	}
	b.shot("65-calendar")

	// In the dark, and on a phone.
	if _, err := chromedp.Call(bctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}}); err != nil {
		t.Fatalf("dark scheme: %v", err)
	}
	b.navigate(chromedp.Navigate(ts.URL + "/releases/" + url.PathEscape(rel.Name)))
	b.shot("66-rollout-dark")
	b.navigate(chromedp.Navigate(ts.URL + "/calendar"))
	b.shot("67-calendar-dark")
	if _, err := chromedp.Call(bctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{}); err != nil {
		t.Fatalf("light scheme: %v", err)
	}
	b.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	b.navigate(chromedp.Navigate(ts.URL + "/releases"))
	b.shot("68-releases-phone")
	b.navigate(chromedp.Navigate(ts.URL + "/releases/" + url.PathEscape(rel.Name)))
	b.shot("69-rollout-phone")
	b.navigate(chromedp.Navigate(ts.URL + "/calendar"))
	b.shot("70-calendar-phone")
	b.do(chromedp.EmulateViewport(1280, 900))

	for _, p := range problems() {
		t.Errorf("browser console: %s", p)
	}
}

const (
	approverPW = "browser-test-approver-pw"
	operatorPW = "browser-test-operator-pw"
)

// rolloutAgent is an agent the test plays: it checks in, and installs
// what its tasks say by reporting the new versions.
type rolloutAgent struct {
	c     *client.Client
	facts patchwave.Facts
	pkgs  []patchwave.Package
	task  *patchwave.AgentTask // started, not finished
}

func (a *rolloutAgent) checkin(t *testing.T) patchwave.CheckinResponse {
	t.Helper()
	resp, err := a.c.Checkin(t.Context(), patchwave.CheckinRequest{FactsHash: a.facts.Hash(), PackagesHash: patchwave.HashPackages(a.pkgs),
		Facts: &a.facts, Packages: &a.pkgs})
	if err != nil {
		t.Fatalf("%s checkin: %v", a.facts.Hostname, err)
	}
	return resp
}

// run checks in and starts the tasks it gets, finishing them when finish
// is set; it returns how many it got.
func (a *rolloutAgent) run(t *testing.T, finish bool) int {
	t.Helper()
	resp := a.checkin(t)
	for _, task := range resp.Tasks {
		if _, err := a.c.TaskResults(t.Context(), []patchwave.TaskResult{{TaskID: task.ID, Attempt: task.Attempt, State: patchwave.TaskRunning}}); err != nil {
			t.Fatal(err)
		}
		a.task = &task
		if finish {
			a.finish(t)
		}
	}
	return len(resp.Tasks)
}

// finish installs the started task's patches and reports success.
func (a *rolloutAgent) finish(t *testing.T) {
	t.Helper()
	task := a.task
	a.pkgs = slices.Clone(a.pkgs)
	for i, p := range a.pkgs {
		for _, tp := range task.Patches {
			if p.Name == tp.Name {
				a.pkgs[i].Version, a.pkgs[i].SourceVersion = tp.Version, ""
			}
		}
	}
	a.checkin(t)
	if _, err := a.c.TaskResults(t.Context(), []patchwave.TaskResult{{TaskID: task.ID, Attempt: task.Attempt, State: patchwave.TaskSucceeded,
		Output: "Setting up libssl3:amd64 (3.0.16-1~deb12u1) ..."}}); err != nil {
		t.Fatal(err)
	}
	a.task = nil
}

// seedRollout makes, through the API, an approver and an operator; ten
// enrolled Debian hosts over four tiers with the OpenSSL of
// importFeeds's advisory; a baseline that approves its fix; an evening
// maintenance window for the Paris hosts (the lab hosts have none) and
// a year-end change freeze. It returns the agents by hostname.
func seedRollout(t *testing.T, srv *server.Server, base, token string) map[string]*rolloutAgent {
	t.Helper()
	for _, u := range []struct{ name, pw, role string }{{"ann", approverPW, "approver"}, {"otto", operatorPW, "operator"}} {
		apiCall(t, base, token, "POST", "/api/v1/users", "application/json", map[string]string{"name": u.name, "password": u.pw, "role": u.role}, nil)
	}
	importFeeds(t, base, token)
	agents := map[string]*rolloutAgent{}
	for _, g := range []struct {
		prefix, site string
		tier         patchwave.Tier
		tags         []string
		n            int
	}{
		{"lab", "lyon", patchwave.TierLab, []string{"lab"}, 3},
		{"pilot", "paris", patchwave.TierBusinessOperational, []string{"pilot"}, 2},
		{"app", "paris", patchwave.TierBusinessOperational, nil, 3},
		{"web", "paris", patchwave.TierBusinessCritical, []string{"web"}, 1},
		{"erp", "paris", patchwave.TierMissionCritical, nil, 1},
	} {
		var tok patchwave.EnrollToken
		apiCall(t, base, token, "POST", "/api/v1/enroll-tokens", "application/json",
			map[string]any{"site": g.site, "tier": g.tier, "tags": g.tags, "max_uses": g.n, "expires_in": "1h"}, &tok)
		for i := range g.n {
			name := fmt.Sprintf("%s-%02d", g.prefix, i+1)
			facts := patchwave.Facts{Hostname: name, FQDN: name + ".example.net", Kernel: "6.1.0-28-amd64", Arch: "amd64",
				OS:           patchwave.OS{Family: "debian", ID: "debian", Name: "Debian GNU/Linux 12 (bookworm)", Version: "12", Codename: "bookworm"},
				AgentVersion: "0.9.0-test"}
			var e patchwave.EnrollResponse
			apiCall(t, base, "", "POST", "/api/v1/agent/enroll", "application/json", patchwave.EnrollRequest{Token: tok.Token, Facts: facts}, &e)
			a := &rolloutAgent{c: client.New(base, e.Credential), facts: facts, pkgs: patchwave.SortPackages([]patchwave.Package{
				{Name: "libssl3", Version: "3.0.15-1~deb12u1", Arch: "amd64", Source: "openssl"},
				{Name: "openssl", Version: "3.0.15-1~deb12u1", Arch: "amd64"},
				{Name: "base-files", Version: "12.4+deb12u8", Arch: "amd64"},
			})}
			a.checkin(t)
			agents[name] = a
		}
	}
	apiCall(t, base, token, "POST", "/api/v1/baselines", "application/json",
		`{"name":"all","rules":[{"min_severity":"low","approve_after_days":0}]}`, nil)
	apiCall(t, base, token, "POST", "/api/v1/windows", "application/json", map[string]any{"name": "evening", "rrule": "FREQ=DAILY",
		"start": "2026-01-01T18:00", "time_zone": "Europe/Paris", "duration": "4h", "cut_off": "30m", "selector": "site=paris"}, nil)
	apiCall(t, base, token, "POST", "/api/v1/windows", "application/json", map[string]any{"name": "year-end", "rrule": "FREQ=YEARLY",
		"start": "2026-12-21T00:00", "time_zone": "Europe/Paris", "duration": "336h", "blocking": true}, nil)
	wctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := srv.Reassess(wctx); err != nil {
		t.Fatalf("Reassess: %v", err)
	}
	return agents
}

// signInAs signs in as the user name.
func (b *browser) signInAs(name, password string) {
	b.t.Helper()
	b.navigate(chromedp.Navigate(b.base + "/login"))
	b.do(chromedp.WaitVisible(chromedp.ID("login-name")),
		chromedp.SendKeys(chromedp.ID("login-name"), name),
		chromedp.SendKeys(chromedp.ID("login-password"), password))
	b.navigate(chromedp.Submit(chromedp.ID("login-password")))
	if loc := b.location(); strings.Contains(loc, "/login") {
		b.t.Fatalf("sign-in as %s failed: at %s", name, loc)
	}
}

// waitTextWithin waits up to d until the element's text is want.
func (b *browser) waitTextWithin(sel, want string, d time.Duration) {
	b.t.Helper()
	var got string
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if got = b.text(sel); got == want {
			return
		}
	}
	b.t.Errorf("text of %s is %q after %s, want %q", sel, got, d, want)
}
