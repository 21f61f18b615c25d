package web_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// TestBrowserFindings drives the assessment pages of a real server in
// headless chromium. Advisories (two OSV records for packages that the
// enrolled host has at lower versions), a KEV catalogue naming one of their
// CVEs and EPSS scores are imported through the API; once the server has
// assessed the fleet, the findings list shows the finding with its KEV
// badge, the host page lists it under "Missing patches", the advisory ids
// (one with a colon) open the advisories' pages, which list the host, and
// the feeds page shows every feed, a failing one highlighted.
func TestBrowserFindings(t *testing.T) {
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

	wctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := srv.WaitAssessed(wctx); err != nil {
		t.Fatalf("WaitAssessed: %v", err)
	}

	ctx := newBrowser(t)
	problems := watchConsole(t, ctx)
	b := &browser{t: t, ctx: ctx, base: ts.URL, dir: shots}
	b.do(chromedp.EmulateViewport(1280, 900))
	b.signIn()

	// The EOL filter of the host list agrees with the EOL badges, whatever
	// the end-of-life dates the server knows.
	b.navigate(chromedp.Navigate(ts.URL + "/hosts"))
	badged := b.strings(`table.hosts-table tbody tr:has(.badge-eol) a.host-link`)
	all := b.strings(`table.hosts-table tbody a.host-link`)
	b.navigate(chromedp.Navigate(ts.URL + "/hosts?eol=true"))
	var past []string
	if b.count("table.hosts-table") > 0 {
		past = b.strings(`table.hosts-table tbody a.host-link`)
	}
	if strings.Join(past, " ") != strings.Join(badged, " ") {
		t.Errorf("hosts?eol=true lists %q, but the EOL badges are on %q", past, badged)
	}
	b.navigate(chromedp.Navigate(ts.URL + "/hosts?eol=false"))
	var current []string
	if b.count("table.hosts-table") > 0 {
		current = b.strings(`table.hosts-table tbody a.host-link`)
	}
	if len(current)+len(past) != len(all) {
		t.Errorf("hosts?eol=false lists %q and eol=true %q, of %q", current, past, all)
	}

	// The fleet's findings, from the main navigation.
	b.navigate(chromedp.Click(chromedp.CSS(`.mainnav a[href="/findings"]`)))
	b.do(chromedp.WaitVisible(chromedp.CSS("#findings-table")))
	if cur := b.text(`.mainnav a[aria-current="page"]`); cur != "Findings" {
		t.Errorf("current navigation entry %q, want Findings", cur)
	}
	table := b.text("#findings-table tbody")
	for _, want := range []string{"paris-web01", "libssl3", "openssl", "3.0.15-1~deb12u1", "3.0.16-1~deb12u1",
		"Critical", "DSA-5999-1", "CVE-2026-21001", "KEV", "Ransomware", "due 2026-01-26", "94%",
		"nginx", "no fix yet", "DLA-2026:4100", "CVE-2026-30003", "Medium"} {
		if !strings.Contains(table, want) {
			t.Errorf("findings table lacks %q:\n%s", want, table)
		}
	}
	if n := b.count("#findings-table tbody tr"); n != 3 {
		t.Errorf("findings table has %d rows, want 3 (libssl3, openssl, nginx)", n)
	}
	if n := b.count("#findings-table tbody tr.is-kev .badge-kev"); n != 2 {
		t.Errorf("%d KEV badges, want 2", n)
	}
	if s := strings.Join(strings.Fields(b.text(".stat-kev dd")), " "); s != "2 2 ransomware" {
		t.Errorf("summary of known exploited findings: %q", s)
	}
	b.shot("21-findings")

	// Known exploited only.
	b.do(chromedp.Click(chromedp.ID("f-kev")))
	b.navigate(chromedp.Click(chromedp.CSS(".filters button[type=submit]")))
	if loc := b.location(); !strings.HasSuffix(loc, "/findings?kev=true") {
		t.Errorf("KEV filter went to %s, want /findings?kev=true", loc)
	}
	if table = b.text("#findings-table tbody"); strings.Contains(table, "nginx") || !strings.Contains(table, "libssl3") {
		t.Errorf("known exploited findings:\n%s", table)
	}
	b.shot("22-findings-kev")

	// The host page lists them under "Missing patches".
	b.navigate(chromedp.Click(chromedp.CSS(`#findings-table a.host-link[href="/hosts/paris-web01"]`)))
	b.do(chromedp.WaitVisible(chromedp.ID("missing-table")))
	if h := b.text("#missing-title"); !strings.HasPrefix(h, "Missing patches") || !strings.HasSuffix(h, "3") {
		t.Errorf("missing patches heading %q", h)
	}
	missing := b.text("#missing-table tbody")
	for _, want := range []string{"libssl3", "3.0.16-1~deb12u1", "DSA-5999-1", "KEV", "nginx", "no fix yet"} {
		if !strings.Contains(missing, want) {
			t.Errorf("missing patches lack %q:\n%s", want, missing)
		}
	}
	if facts := b.text("main .cards"); !strings.Contains(facts, "OS end of life") {
		t.Errorf("host facts lack the OS end of life:\n%s", facts)
	}
	b.shot("23-host-missing-patches")

	// Its advisory, and the hosts it affects.
	b.navigate(chromedp.Click(chromedp.CSS(`#missing-table a[href="/advisories/DSA-5999-1"]`)))
	b.do(chromedp.WaitVisible(chromedp.CSS("h1.adv-title")))
	if h1 := b.text("h1.adv-title"); h1 != "DSA-5999-1" {
		t.Errorf("advisory page title %q", h1)
	}
	page := b.text("main")
	for _, want := range []string{"openssl security update", "CVE-2026-21002", "Debian:12", "3.0.16-1~deb12u1",
		"https://security-tracker.debian.org/tracker/DSA-5999-1", "javascript:alert(document.domain)", "(not a web address)"} {
		if !strings.Contains(page, want) {
			t.Errorf("advisory page lacks %q", want)
		}
	}
	if hosts := b.text("#affected-hosts-table tbody"); !strings.Contains(hosts, "paris-web01") {
		t.Errorf("advisory's hosts:\n%s", hosts)
	}
	if n := b.count(`a[href^="javascript" i], a[href^="data" i]`); n != 0 {
		t.Errorf("advisory page has %d script links", n)
	}
	if rel := b.attr(`.refs a[href="https://security-tracker.debian.org/tracker/DSA-5999-1"]`, "rel"); rel != "noopener noreferrer" {
		t.Errorf("reference link rel=%q", rel)
	}
	if ws := b.style(".prose-plain", "white-space"); ws != "pre-wrap" {
		t.Errorf("details white-space %q, want pre-wrap", ws)
	}
	b.shot("24-advisory")

	// An advisory id with a colon routes to its page.
	b.navigate(chromedp.Navigate(ts.URL + "/hosts/paris-web01"))
	b.navigate(chromedp.Click(chromedp.CSS(`#missing-table a[href="/advisories/DLA-2026:4100"]`)))
	if loc := b.location(); !strings.HasSuffix(loc, "/advisories/DLA-2026:4100") {
		t.Errorf("advisory link went to %s", loc)
	}
	if h1 := b.text("h1.adv-title"); h1 != "DLA-2026:4100" {
		t.Errorf("advisory page title %q", h1)
	}
	if affected := b.text(".affected-table tbody"); !strings.Contains(affected, "nginx") || !strings.Contains(affected, "no fix yet") {
		t.Errorf("affected packages:\n%s", affected)
	}
	if hosts := b.text("#affected-hosts-table tbody"); !strings.Contains(hosts, "paris-web01") {
		t.Errorf("advisory's hosts:\n%s", hosts)
	}
	b.shot("25-advisory-no-fix")

	// An unknown advisory is a 404.
	if resp := b.navigate(chromedp.Navigate(ts.URL + "/advisories/DSA-0000-1")); resp == nil || resp.Status != http.StatusNotFound {
		t.Errorf("unknown advisory: response %+v, want 404", resp)
	}

	// The feeds.
	b.navigate(chromedp.Click(chromedp.CSS(`.mainnav a[href="/feeds"]`)))
	feeds := b.text(".feeds-table tbody")
	for _, want := range []string{"debian", "osv", "kev", "epss", "import only", "just now", "ubuntu", "Failing",
		"every 6 hours"} {
		if !strings.Contains(feeds, want) {
			t.Errorf("feeds table lacks %q:\n%s", want, feeds)
		}
	}
	if n := b.count(".feeds-table tbody tr"); n != 4 {
		t.Errorf("feeds table has %d rows, want 4", n)
	}
	if n := b.count(".feeds-table tr.is-failing .error-box"); n != 1 {
		t.Errorf("%d highlighted feed errors, want 1", n)
	}
	b.shot("26-feeds")

	// In the dark.
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}}); err != nil {
		t.Fatalf("dark scheme: %v", err)
	}
	b.navigate(chromedp.Navigate(ts.URL + "/findings"))
	b.shot("27-findings-dark")
	b.navigate(chromedp.Navigate(ts.URL + "/advisories/DSA-5999-1"))
	b.shot("28-advisory-dark")
	b.navigate(chromedp.Navigate(ts.URL + "/feeds"))
	b.shot("29-feeds-dark")
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{}); err != nil {
		t.Fatalf("light scheme: %v", err)
	}

	// On a phone.
	b.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	b.navigate(chromedp.Navigate(ts.URL + "/findings"))
	b.shot("30-findings-phone")
	b.navigate(chromedp.Navigate(ts.URL + "/hosts/paris-web01"))
	b.shot("31-host-phone")
	b.navigate(chromedp.Navigate(ts.URL + "/advisories/DSA-5999-1"))
	b.shot("32-advisory-phone")
	b.do(chromedp.EmulateViewport(1280, 900))

	for _, p := range problems() {
		t.Errorf("browser console: %s", p)
	}
}

// signIn signs the administrator in through the login page.
func (b *browser) signIn() {
	b.t.Helper()
	b.navigate(chromedp.Navigate(b.base + "/login"))
	b.do(chromedp.WaitVisible(chromedp.ID("login-name")),
		chromedp.SendKeys(chromedp.ID("login-name"), "admin"),
		chromedp.SendKeys(chromedp.ID("login-password"), adminPassword))
	b.navigate(chromedp.Submit(chromedp.ID("login-password")))
	if loc := b.location(); strings.Contains(loc, "/login") {
		b.t.Fatalf("sign-in failed: at %s", loc)
	}
}

// count returns how many elements the CSS selector sel matches.
func (b *browser) count(sel string) int {
	b.t.Helper()
	js, _ := json.Marshal(sel)
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+string(js)+`).length`))
	if err != nil {
		b.t.Fatalf("browser: count %s: %v", sel, err)
	}
	return n
}

// strings returns the text of every element that sel matches.
func (b *browser) strings(sel string) []string {
	b.t.Helper()
	js, _ := json.Marshal(sel)
	list, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll(`+string(js)+`), e => e.textContent.trim())`))
	if err != nil {
		b.t.Fatalf("browser: text of %s: %v", sel, err)
	}
	return list
}

// attr returns an attribute of the first element that sel matches.
func (b *browser) attr(sel, name string) string {
	b.t.Helper()
	js, _ := json.Marshal(sel)
	jn, _ := json.Marshal(name)
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(document.querySelector(`+string(js)+`) || {getAttribute: () => ""}).getAttribute(`+string(jn)+`) || ""`))
	if err != nil {
		b.t.Fatalf("browser: attribute %s of %s: %v", name, sel, err)
	}
	return s
}

// style returns a computed style property of the first element that sel matches.
func (b *browser) style(sel, prop string) string {
	b.t.Helper()
	js, _ := json.Marshal(sel)
	jp, _ := json.Marshal(prop)
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector(`+string(js)+`)).getPropertyValue(`+string(jp)+`)`))
	if err != nil {
		b.t.Fatalf("browser: style %s of %s: %v", prop, sel, err)
	}
	return s
}

// importFeeds loads advisories and enrichment through the API, as an
// air-gapped site would: a zip of two Debian 12 OSV records (openssl, fixed
// in a version above the enrolled host's, and nginx, with no fix yet), the
// KEV catalogue naming the openssl record's first CVE, and EPSS scores. A
// fourth feed points at a mirror that does not answer, so its sync fails.
func importFeeds(t *testing.T, base, token string) {
	t.Helper()
	records := map[string]string{
		"DSA-5999-1.json": `{
  "schema_version": "1.6.0",
  "id": "DSA-5999-1",
  "published": "2026-01-07T18:00:00Z",
  "modified": "2026-01-08T09:30:00Z",
  "aliases": ["CVE-2026-21001", "CVE-2026-21002"],
  "summary": "openssl security update",
  "details": "Multiple vulnerabilities were discovered in OpenSSL, a Secure Sockets Layer toolkit.\n\nCVE-2026-21001\n\n    A use-after-free in the TLS 1.3 handshake could let a remote\n    attacker execute code.\n\nCVE-2026-21002\n\n    A crafted certificate could exhaust memory.\n\nFor the stable distribution (bookworm), these problems have been fixed in\nversion 3.0.16-1~deb12u1.",
  "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
  "database_specific": {"severity": "critical"},
  "affected": [{
    "package": {"ecosystem": "Debian:12", "name": "openssl", "purl": "pkg:deb/debian/openssl?arch=source"},
    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.16-1~deb12u1"}]}]
  }],
  "references": [
    {"type": "ADVISORY", "url": "https://security-tracker.debian.org/tracker/DSA-5999-1"},
    {"type": "WEB", "url": "https://openssl-library.org/news/secadv/20260107.txt"},
    {"type": "WEB", "url": "javascript:alert(document.domain)"}
  ]
}`,
		"DLA-2026-4100.json": `{
  "schema_version": "1.6.0",
  "id": "DLA-2026:4100",
  "published": "2026-01-09T08:00:00Z",
  "modified": "2026-01-09T08:00:00Z",
  "aliases": ["CVE-2026-30003"],
  "summary": "nginx: request smuggling in the HTTP/2 module",
  "details": "A flaw in the HTTP/2 module of nginx allows request smuggling.\nNo fix is available yet.",
  "database_specific": {"urgency": "medium"},
  "affected": [{
    "package": {"ecosystem": "Debian:12", "name": "nginx"},
    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]
  }],
  "references": [{"type": "REPORT", "url": "https://bugs.debian.org/1100003"}]
}`,
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range records {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	var f struct{ Records int64 }
	apiCall(t, base, token, "POST", "/api/v1/feeds/debian/import?kind=osv", "application/zip", buf.String(), &f)
	if f.Records != 2 {
		t.Fatalf("OSV import: %d records, want 2", f.Records)
	}

	kev := `{
  "title": "CISA Catalog of Known Exploited Vulnerabilities",
  "catalogVersion": "2026.01.12",
  "dateReleased": "2026-01-12T17:00:00.000Z",
  "count": 1,
  "vulnerabilities": [{
    "cveID": "CVE-2026-21001", "vendorProject": "OpenSSL", "product": "OpenSSL",
    "vulnerabilityName": "OpenSSL Use-After-Free Vulnerability",
    "dateAdded": "2026-01-12", "dueDate": "2026-01-26",
    "knownRansomwareCampaignUse": "Known", "requiredAction": "Apply updates.", "notes": "", "cwes": ["CWE-416"]
  }]
}`
	apiCall(t, base, token, "POST", "/api/v1/feeds/kev/import?kind=kev", "application/json", kev, &f)
	if f.Records != 1 {
		t.Fatalf("KEV import: %d records, want 1", f.Records)
	}

	epss := "#model_version:v2025.03.14,score_date:2026-01-12T00:00:00+0000\ncve,epss,percentile\n" +
		"CVE-2026-21001,0.94321,0.99912\nCVE-2026-21002,0.01234,0.81000\nCVE-2026-30003,0.00056,0.12000\n"
	apiCall(t, base, token, "POST", "/api/v1/feeds/epss/import?kind=epss", "text/csv", epss, &f)

	// A feed whose mirror does not answer (nothing listens on port 1): its
	// sync fails, and the failure is what the feeds page should highlight.
	apiCall(t, base, token, "POST", "/api/v1/feeds", "application/json",
		map[string]string{"name": "ubuntu", "kind": "osv", "url": "http://127.0.0.1:1/osv/Ubuntu/all.zip", "interval": "6h"}, nil)
	req, err := http.NewRequestWithContext(t.Context(), "POST", base+"/api/v1/feeds/ubuntu/sync", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		t.Fatalf("sync of a missing mirror: %s, want an error", resp.Status)
	}
}
