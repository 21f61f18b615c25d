package web_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserReportsAndTickets opens the Reports page and the ticket
// queue of a real server with a small assessed fleet in headless
// chromium: the month's figures, the charts (inline SVG, allowed by the
// Content-Security-Policy) and the export links are there, the CSV export
// downloads, and the ticket queue answers, with nothing in the console.
func TestBrowserReportsAndTickets(t *testing.T) {
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
	if err := srv.Reassess(wctx); err != nil {
		t.Fatalf("Reassess: %v", err)
	}

	ctx := newBrowser(t)
	problems := watchConsole(t, ctx)
	b := &browser{t: t, ctx: ctx, base: ts.URL, dir: shots}
	b.do(chromedp.EmulateViewport(1280, 900))
	b.signIn()

	b.navigate(chromedp.Click(chromedp.CSS(`.mainnav a[href="/reports"]`)))
	b.do(chromedp.WaitVisible(chromedp.ID("summary-caption")))
	if cur := b.text(`.mainnav a[aria-current="page"]`); cur != "Reports" {
		t.Errorf("current navigation entry %q, want Reports", cur)
	}
	summary := b.text("table.table tbody")
	if !strings.Contains(summary, "/") {
		t.Errorf("summary table without figures:\n%s", summary)
	}
	if svgs := b.count("section.card svg"); svgs < 3 {
		t.Errorf("%d charts on the reports page, want the trend, the heat-map and the time-to-patch histogram", svgs)
	}
	links, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("a")).map(a => a.getAttribute("href")).filter(h => h && h.includes("format="))`))
	if err != nil {
		t.Fatal(err)
	}
	var csv string
	for _, l := range links {
		if strings.Contains(l, "format=csv") {
			csv = l
		}
	}
	if csv == "" {
		t.Fatalf("no CSV export link among %v", links)
	}
	b.shot("60-reports")

	// The CSV export, fetched by the page's own session.
	body, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`fetch(`+strconvQuote(csv)+`).then(r => r.ok ? r.text() : "HTTP " + r.status)`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(body, "HTTP ") || !strings.Contains(body, ",") {
		t.Errorf("CSV export: %.200s", body)
	}

	b.navigate(chromedp.Click(chromedp.CSS(`.mainnav a[href="/tickets"]`)))
	if cur := b.text(`.mainnav a[aria-current="page"]`); cur != "Tickets" {
		t.Errorf("current navigation entry %q, want Tickets", cur)
	}
	b.shot("61-tickets")

	b.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	b.navigate(chromedp.Navigate(ts.URL + "/reports"))
	b.shot("62-reports-phone")
	b.do(chromedp.EmulateViewport(1280, 900))

	for _, p := range problems() {
		t.Errorf("browser console: %s", p)
	}
}

func strconvQuote(s string) string { return strconv.Quote(s) }
