package web_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/patchwave/patchwave"
)

// TestBrowserPolicy drives the policy pages of a real server in headless
// chromium. On top of the findings of TestBrowserFindings, a baseline that
// approves every patch, a service baseline and a risk acceptance for the
// nginx finding (requested by the administrator, approved by a second user
// with the approver role) are created through the API; once the server has
// judged the fleet again, the policy page shows the baseline and the SLA
// table, the exceptions page the approved exception, and the host page its
// compliance and each finding's due date, SLA status, risk and approval.
func TestBrowserPolicy(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		missingTool(t, "skipping the browser test: %s is missing (apt-get install chromium): %v", chromiumPath, err)
	}
	if testing.Short() {
		t.Skip("skipping the browser test in short mode")
	}
	shots := artifactsDir(t)
	srv, ts := startServer(t)
	seedHosts(t, ts.URL)
	token := apiLogin(t, ts.URL)
	importFeeds(t, ts.URL, token)
	exc := seedPolicy(t, ts.URL, token)

	wctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := srv.Reassess(wctx); err != nil {
		t.Fatalf("Reassess: %v", err)
	}

	ctx := newBrowser(t)
	problems := watchConsole(t, ctx)
	b := &browser{t: t, ctx: ctx, base: ts.URL, dir: shots}
	b.do(chromedp.EmulateViewport(1280, 900))
	b.signIn()

	// The policy page, from the main navigation.
	b.navigate(chromedp.Click(chromedp.CSS(`.mainnav a[href="/policy"]`)))
	b.do(chromedp.WaitVisible(chromedp.ID("sla-table")))
	if cur := b.text(`.mainnav a[aria-current="page"]`); cur != "Policy" {
		t.Errorf("current navigation entry %q, want Policy", cur)
	}
	sla := b.text("#sla-table tbody")
	for _, want := range []string{"Mission-critical", "7 days", "15 days", "Lab", "365 days"} {
		if !strings.Contains(sla, want) {
			t.Errorf("SLA table lacks %q:\n%s", want, sla)
		}
	}
	if n := b.count("#sla-table tbody tr"); n != len(patchwave.Tiers) {
		t.Errorf("SLA table has %d rows, want %d", n, len(patchwave.Tiers))
	}
	if got := b.strings("#sla-table tbody tr:first-child td"); strings.Join(got, " ") != "7 days 15 days 30 days 90 days" {
		t.Errorf("mission-critical windows %q", got)
	}
	baselines := b.text("ol.baselines")
	for _, want := range []string{"all", "Global", "every host", "Approve patches of low severity or higher, as soon as they are published.",
		"lab-first", "Scoped", "tier=lab", "7 days after publication", "pinned by the shop team"} {
		if !containsFold(baselines, want) { // innerText follows text-transform
			t.Errorf("baselines lack %q:\n%s", want, baselines)
		}
	}
	if names := b.strings(".baseline-name"); strings.Join(names, " ") != "lab-first all" {
		t.Errorf("baselines in order %q, want the scoped one first", names)
	}
	if svc := b.text(".services-table tbody"); !strings.Contains(svc, "nginx.service") || !strings.Contains(svc, "tag=web") {
		t.Errorf("service baselines:\n%s", svc)
	}
	if note := b.text(".callout"); !strings.Contains(note, "read-only") || !strings.Contains(note, "patchwave baselines apply") {
		t.Errorf("policy page does not say how to change it:\n%s", note)
	}
	b.shot("41-policy")

	// The exceptions: the approved risk acceptance.
	b.navigate(chromedp.Click(chromedp.CSS(`.mainnav a[href="/exceptions"]`)))
	row := fmt.Sprintf("#exception-%d", exc)
	b.do(chromedp.WaitVisible(chromedp.CSS(row)))
	text := b.text(row)
	for _, want := range []string{"#" + strconv.FormatInt(exc, 10), "Risk acceptance", "Approved", "paris-web01", "CVE-2026-30003",
		"admin", "approver", "nginx does not serve HTTP/2", "Compensating control", "HTTP/2 is turned off", "in 29 days"} {
		if !containsFold(text, want) {
			t.Errorf("exception row lacks %q:\n%s", want, text)
		}
	}
	if s := b.text(row + " .badge-ok"); s != "Approved" {
		t.Errorf("exception state badge %q", s)
	}
	if s := b.text(".exceptions-table tr.is-pending"); !containsFold(s, "openssl") || !containsFold(s, "pending") {
		t.Errorf("exceptions page lacks the pending restriction")
	}
	if n := b.count("#exceptions-table tbody tr"); n != 3 {
		t.Errorf("exceptions table has %d rows, want 3", n)
	}
	b.shot("42-exceptions")
	b.do(chromedp.SetValue(chromedp.ID("f-state"), "approved"))
	b.navigate(chromedp.Click(chromedp.CSS(".filters button[type=submit]")))
	if loc := b.location(); !strings.HasSuffix(loc, "/exceptions?state=approved") {
		t.Errorf("state filter went to %s", loc)
	}
	if n := b.count("#exceptions-table tbody tr"); n != 2 {
		t.Errorf("%d approved exceptions, want 2 (the risk acceptance and the exclusion)", n)
	}

	// The host: breached, since the KEV due date of its openssl finding has
	// passed; the nginx finding is excepted.
	b.navigate(chromedp.Navigate(ts.URL + "/hosts/paris-web01"))
	b.do(chromedp.WaitVisible(chromedp.CSS(".compliance-box")))
	if c := b.text(".compliance-box .compliance"); c != "SLA breached" {
		t.Errorf("host compliance %q, want SLA breached", c)
	}
	if when := b.text(".compliance-when"); !strings.HasPrefix(when, "assessed ") {
		t.Errorf("host assessed at %q", when)
	}
	if src := b.text(".host-head .tier-source"); src != "tier from the enrollment token" {
		t.Errorf("tier source %q", src)
	}
	rows := b.strings("#missing-table tbody tr")
	var ssl, nginx string
	for _, r := range rows {
		switch {
		case strings.Contains(r, "libssl3"):
			ssl = r
		case strings.Contains(r, "nginx"):
			nginx = r
		}
	}
	for _, want := range []string{"2026-01-26", "Breached", "Approved"} {
		if !strings.Contains(ssl, want) {
			t.Errorf("libssl3 row lacks %q:\n%s", want, ssl)
		}
	}
	for _, want := range []string{"On track", "Excepted"} {
		if !strings.Contains(nginx, want) {
			t.Errorf("nginx row lacks %q:\n%s", want, nginx)
		}
	}
	// Risk, highest first, each explained.
	scores := b.strings("#missing-table .risk-details summary .risk")
	if len(scores) != 3 {
		t.Fatalf("risk scores %q, want 3", scores)
	}
	var prev float64 = 101
	for _, s := range scores {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || v > prev || v <= 0 || v > 100 {
			t.Errorf("risk scores %q not a falling list of scores", scores)
			break
		}
		prev = v
	}
	b.do(chromedp.Click(chromedp.CSS("#missing-table .risk-details summary")))
	parts := b.text("#missing-table .risk-details[open] .risk-parts")
	for _, want := range []string{"Severity", "CVSS base score 9.8", "Known exploited", "ransomware", "Exploit probability", "Host tier",
		"business-critical", "Exposure"} {
		if !strings.Contains(parts, want) {
			t.Errorf("risk explanation lacks %q:\n%s", want, parts)
		}
	}
	b.shot("43-host-policy")

	// Findings by risk, and the excepted ones.
	b.navigate(chromedp.Navigate(ts.URL + "/findings"))
	b.do(chromedp.SetValue(chromedp.ID("f-sort"), "risk"), chromedp.SetValue(chromedp.ID("f-sla"), "breached"))
	b.navigate(chromedp.Click(chromedp.CSS(".filters button[type=submit]")))
	if loc := b.location(); !strings.HasSuffix(loc, "/findings?sla=breached&sort=risk") {
		t.Errorf("filters went to %s", loc)
	}
	table := b.text("#findings-table tbody")
	if n := b.count("#findings-table tbody tr"); n != 2 || strings.Contains(table, "nginx") {
		t.Errorf("breached findings (%d rows):\n%s", n, table)
	}
	if s := strings.Join(strings.Fields(b.text(".stat-breached dd")), " "); s != "2" {
		t.Errorf("past-due findings %q, want 2", s)
	}
	b.shot("44-findings-breached-by-risk")
	b.navigate(chromedp.Navigate(ts.URL + "/findings?excepted=true"))
	if table = b.text("#findings-table tbody"); !strings.Contains(table, "nginx") || strings.Contains(table, "libssl3") {
		t.Errorf("excepted findings:\n%s", table)
	}
	b.navigate(chromedp.Click(chromedp.CSS("#findings-table a.appr-excepted")))
	if loc := b.location(); !strings.HasSuffix(loc, fmt.Sprintf("/exceptions#exception-%d", exc)) {
		t.Errorf("the excepted marker went to %s", loc)
	}

	// The host list has a compliance column.
	b.navigate(chromedp.Navigate(ts.URL + "/hosts"))
	if c := b.text(`table.hosts-table tbody tr:has(a[href="/hosts/paris-web01"]) .compliance`); c != "SLA breached" {
		t.Errorf("host list compliance of paris-web01 %q", c)
	}
	b.shot("45-hosts-compliance")

	// In the dark.
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}}); err != nil {
		t.Fatalf("dark scheme: %v", err)
	}
	b.navigate(chromedp.Navigate(ts.URL + "/policy"))
	b.shot("46-policy-dark")
	b.navigate(chromedp.Navigate(ts.URL + "/exceptions"))
	b.shot("47-exceptions-dark")
	b.navigate(chromedp.Navigate(ts.URL + "/hosts/paris-web01"))
	b.do(chromedp.Click(chromedp.CSS("#missing-table .risk-details summary")))
	b.shot("48-host-policy-dark")
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{}); err != nil {
		t.Fatalf("light scheme: %v", err)
	}

	// On a phone.
	b.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	b.navigate(chromedp.Navigate(ts.URL + "/policy"))
	b.shot("49-policy-phone")
	b.navigate(chromedp.Navigate(ts.URL + "/exceptions"))
	b.shot("50-exceptions-phone")
	b.navigate(chromedp.Navigate(ts.URL + "/hosts/paris-web01"))
	b.shot("51-host-policy-phone")
	b.navigate(chromedp.Navigate(ts.URL + "/findings?sort=risk"))
	b.shot("52-findings-phone")
	b.do(chromedp.EmulateViewport(1280, 900))

	for _, p := range problems() {
		t.Errorf("browser console: %s", p)
	}
}

// seedPolicy creates, through the API, a global baseline that approves every
// patch of low severity or higher at once, a scoped one for the lab, a
// service baseline, a user with the approver role, and a risk acceptance for
// the nginx finding of paris-web01, which the administrator requests and
// the approver approves. It returns the exception's id.
func seedPolicy(t *testing.T, base, token string) int64 {
	t.Helper()
	apiCall(t, base, token, "POST", "/api/v1/baselines", "application/json",
		`{"name":"all","rules":[{"min_severity":"low","approve_after_days":0}]}`, nil)
	apiCall(t, base, token, "POST", "/api/v1/baselines", "application/json",
		`{"name":"lab-first","selector":"tier=lab","description":"Lab hosts take high and critical patches a week early.",
		  "rules":[{"min_severity":"high","approve_after_days":7}],
		  "reject":[{"package":"nginx","mode":"dependency-only","reason":"pinned by the shop team"}]}`, nil)
	apiCall(t, base, token, "POST", "/api/v1/service-baselines", "application/json",
		`{"name":"web","selector":"tag=web","expected":["ssh.service","nginx.service","cron.service"]}`, nil)

	const approverPassword = "browser-test-approver-pw"
	apiCall(t, base, token, "POST", "/api/v1/users", "application/json",
		map[string]string{"name": "approver", "password": approverPassword, "role": "approver"}, nil)
	var login struct{ Token string }
	apiCall(t, base, "", "POST", "/api/v1/login", "application/json",
		map[string]string{"user": "approver", "password": approverPassword}, &login)

	// Two more: an exclusion from next month's cycle, sent well before its
	// deadline and so in effect at once, and a restriction that waits for
	// an approver.
	next := time.Now().AddDate(0, 1, 0)
	apiCall(t, base, token, "POST", "/api/v1/exceptions", "application/json", map[string]any{
		"kind": "exclusion", "site": "lyon", "cycle": patchwave.CycleAt(next, time.UTC),
		"justification": "Trade show: the Lyon office demo systems stay frozen.",
		"expires_at":    next.AddDate(0, 0, 20).UTC().Format(time.RFC3339),
	}, nil)
	apiCall(t, base, token, "POST", "/api/v1/exceptions", "application/json", map[string]any{
		"kind": "restriction", "package": "openssl", "selector": "tag=legacy",
		"justification": "The billing application breaks with OpenSSL 3.0.16; the vendor fix ships in March.",
		"expires_at":    time.Now().AddDate(0, 3, 0).UTC().Format(time.RFC3339),
	}, nil)

	var e patchwave.Exception
	apiCall(t, base, token, "POST", "/api/v1/exceptions", "application/json", map[string]any{
		"kind": "risk-acceptance", "host": "paris-web01", "cve": "CVE-2026-30003",
		"justification":        "No fix is published yet, and nginx does not serve HTTP/2 on this host.",
		"compensating_control": "HTTP/2 is turned off in nginx.conf; the WAF drops smuggled requests.",
		"expires_at":           time.Now().AddDate(0, 0, 30).UTC().Format(time.RFC3339),
	}, &e)
	if e.State != patchwave.ExceptionPending {
		t.Fatalf("new risk acceptance is %s, want pending", e.State)
	}
	apiCall(t, base, login.Token, "POST", fmt.Sprintf("/api/v1/exceptions/%d/approve", e.ID), "application/json",
		`{"comment":"reviewed with the web team"}`, &e)
	if e.State != patchwave.ExceptionApproved || e.Approver != "approver" {
		t.Fatalf("approved exception: state %s, approver %q", e.State, e.Approver)
	}
	return e.ID
}

// containsFold reports whether s contains substr, ignoring case.
func containsFold(s, substr string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(substr))
}
