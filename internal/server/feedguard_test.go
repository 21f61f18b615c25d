package server_test

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/client"
	"github.com/patchwave/patchwave/internal/server"
)

// bombZip is an archive of n entries of size bytes each that deflate
// shrinks a thousand times.
func bombZip(t *testing.T, n, size int) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	body := []byte(`{"id":"B","modified":"2024-01-02T03:04:05Z","details":"` + strings.Repeat("A", size) + `"}`)
	for i := range n {
		w, err := zw.Create(fmt.Sprintf("r%03d.json", i))
		if err != nil {
			t.Fatal(err)
		}
		w.Write(body)
	}
	zw.Close()
	return b.Bytes()
}

func TestFeedImportRefusesZipBombs(t *testing.T) {
	t.Parallel()
	ts := newServer(t, "")
	ctx := context.Background()
	for name, z := range map[string][]byte{
		"big entries": bombZip(t, 20, 6<<20),
		// A good record first: nothing of a refused archive is stored.
		"good then bomb": zipOf(t, map[string]string{
			"a.json": osvRecord("DSA-1", "2024-01-02T00:00:00Z", "openssl", "3.0.15-1~deb12u1"),
			"b.json": `{"id":"B","modified":"2024-01-02T03:04:05Z","details":"` + strings.Repeat(" ", 3<<20) + `"}`}),
	} {
		_, err := ts.Admin.ImportFeed(ctx, "debian", "osv", bytes.NewReader(z))
		msg := fmt.Sprint(err)
		if patchwave.ErrorCode(err) != patchwave.EInvalid || !strings.Contains(msg, "zip bomb") || !strings.Contains(msg, ".json") ||
			!strings.Contains(msg, "the uploaded file") || strings.Contains(msg, os.TempDir()) {
			t.Errorf("%s (%d bytes): %v", name, len(z), err)
		}
	}
	if n, _ := ts.Store().CountAdvisories(ctx); n != 0 {
		t.Errorf("%d records stored from refused archives", n)
	}
}

func TestFeedImportSkipsInvalidVersions(t *testing.T) {
	t.Parallel()
	ts := newServer(t, "")
	ctx := context.Background()
	bad := strings.Replace(osvRecord("DSA-2", "2024-01-02T00:00:00Z", "bash", "5.2-1"), `"fixed":"5.2-1"`, `"fixed":"1:::!!"`, 1)
	unknown := strings.Replace(osvRecord("X-1", "2024-01-02T00:00:00Z", "bash", "5.2-1"), "Debian:12", "Nonsense:1", 1)
	z := zipOf(t, map[string]string{
		"a.json": osvRecord("DSA-1", "2024-01-02T00:00:00Z", "openssl", "3.0.15-1~deb12u1"),
		"b.json": bad, "c.json": unknown,
	})
	f, err := ts.Admin.ImportFeed(ctx, "debian", "osv", bytes.NewReader(z))
	if err != nil || f.Records != 1 || f.Skipped != 2 || len(f.Warnings) != 2 ||
		!strings.Contains(f.Warnings[0], "b.json (DSA-2): affected[0] (Debian:12/bash) dropped: ranges[0].events[1].fixed: invalid dpkg version") ||
		!strings.Contains(f.Warnings[1], `c.json (X-1): affected[0] (Nonsense:1/bash) dropped: ecosystem "Nonsense:1"`) {
		t.Fatalf("import: %+v %v", f, err)
	}
	// The status keeps them, and the count is what the feed holds after a
	// second file.
	if _, err := ts.Admin.ImportFeed(ctx, "debian", "", strings.NewReader(osvRecord("DSA-3", "2024-01-02T00:00:00Z", "zlib", "1:1.2.13.dfsg-1"))); err != nil {
		t.Fatal(err)
	}
	fs, _ := ts.Admin.Feeds(ctx)
	if len(fs) != 1 || fs[0].Records != 2 || fs[0].Skipped != 0 {
		t.Errorf("status after a second file: %+v", fs)
	}
	if _, err := ts.Admin.ImportFeed(ctx, "debian", "", bytes.NewReader(z)); err != nil {
		t.Fatal(err)
	}
	if fs, _ = ts.Admin.Feeds(ctx); fs[0].Records != 2 || fs[0].Skipped != 2 || len(fs[0].Warnings) != 2 {
		t.Errorf("status: %+v", fs)
	}
	// A file of nothing but invalid records is an error.
	if _, err := ts.Admin.ImportFeed(ctx, "debian", "", strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "DSA-2") {
		t.Errorf("all invalid: %v", err)
	}
}

func epssCSV(n int) string {
	var b strings.Builder
	b.WriteString("#model_version:v2023.03.01,score_date:2025-01-02T00:00:00+0000\ncve,epss,percentile\n")
	for i := range n {
		fmt.Fprintf(&b, "CVE-2024-%05d,0.%03d,0.5\n", i+1000, i%1000)
	}
	return b.String()
}

func kevCatalog(n int) string {
	var vs []string
	for i := range n {
		vs = append(vs, fmt.Sprintf(`{"cveID":"CVE-2024-%05d","vendorProject":"V","product":"P","vulnerabilityName":"x","dateAdded":"2024-01-01","dueDate":"2024-01-22","knownRansomwareCampaignUse":"Unknown"}`, i+1000))
	}
	return `{"catalogVersion":"1","dateReleased":"2025-01-02T15:00:00.000Z","count":` + fmt.Sprint(n) + `,"vulnerabilities":[` + strings.Join(vs, ",") + `]}`
}

func TestFeedImportRefusesDrasticShrink(t *testing.T) {
	t.Parallel()
	ts := newServer(t, "")
	ctx := context.Background()
	for _, c := range []struct{ kind, full, part string }{
		{"epss", epssCSV(200), epssCSV(90)},
		{"kev", kevCatalog(200), kevCatalog(90)},
	} {
		if _, err := ts.Admin.ImportFeed(ctx, c.kind, c.kind, strings.NewReader(c.full)); err != nil {
			t.Fatal(err)
		}
		_, err := ts.Admin.ImportFeed(ctx, c.kind, "", strings.NewReader(c.part))
		if patchwave.ErrorCode(err) != patchwave.EConflict || !strings.Contains(err.Error(), "90") || !strings.Contains(err.Error(), "200 are stored") ||
			!strings.Contains(err.Error(), "--force") {
			t.Errorf("%s shrink: %v", c.kind, err)
		}
		if f, _ := ts.Store().Feed(ctx, c.kind); f.Records != 200 {
			t.Errorf("%s after a refused shrink: %+v", c.kind, f)
		}
		f, err := ts.Admin.ImportFeedWith(ctx, c.kind, client.ImportOptions{Force: true}, strings.NewReader(c.part))
		if err != nil || f.Records != 90 {
			t.Errorf("%s forced: %+v %v", c.kind, f, err)
		}
		// Half or more is a normal change.
		if f, err := ts.Admin.ImportFeed(ctx, c.kind, "", strings.NewReader(c.full)); err != nil || f.Records != 200 {
			t.Errorf("%s growth: %+v %v", c.kind, f, err)
		}
	}
	if scores, _ := ts.Store().EPSSScores(ctx); len(scores) != 200 {
		t.Errorf("%d scores", len(scores))
	}

	// A gzip file cut short is an error, not fewer scores.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(epssCSV(5000)))
	zw.Close()
	cut := gz.Bytes()[:gz.Len()*2/3]
	if _, err := ts.Admin.ImportFeedWith(ctx, "epss", client.ImportOptions{Force: true}, bytes.NewReader(cut)); err == nil ||
		!strings.Contains(err.Error(), "truncated") {
		t.Errorf("truncated gzip: %v", err)
	}
	if scores, _ := ts.Store().EPSSScores(ctx); len(scores) != 200 {
		t.Errorf("%d scores after a truncated gzip", len(scores))
	}
}

// TestFeedSyncPartialEPSS serves a CSV cut at a line boundary without a
// Content-Length, which no transport check can see: the shrink guard
// refuses it, and the cached copy stays the good one.
func TestFeedSyncPartialEPSS(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	ts := newServerIn(t, dataDir)
	ctx := context.Background()
	full := epssCSV(2000)
	var cut atomic.Bool
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := full
		if cut.Load() {
			w.Header().Set("ETag", `"v2"`)
			body = full[:strings.Index(full, "CVE-2024-01999")] // 999 rows: under half
		} else {
			w.Header().Set("ETag", `"v1"`)
		}
		w.(http.Flusher).Flush() // no Content-Length: chunked, ended cleanly
		w.Write([]byte(body))
	}))
	defer src.Close()
	if _, err := ts.Admin.PutFeed(ctx, client.FeedRequest{Name: "epss", Kind: "epss", URL: src.URL + "/epss.csv"}); err != nil {
		t.Fatal(err)
	}
	if f, err := ts.Admin.SyncFeed(ctx, "epss"); err != nil || f.Records != 2000 {
		t.Fatalf("first sync: %+v %v", f, err)
	}
	cached := filepath.Join(dataDir, "feeds", "epss")
	cut.Store(true)
	if _, err := ts.Admin.SyncFeed(ctx, "epss"); patchwave.ErrorCode(err) != patchwave.EConflict {
		t.Errorf("partial sync: %v", err)
	}
	if b, err := os.ReadFile(cached); err != nil || string(b) != full {
		t.Errorf("cached copy after a refused sync: %d bytes, %v", len(b), err)
	}
	if scores, _ := ts.Store().EPSSScores(ctx); len(scores) != 2000 {
		t.Errorf("%d scores after a partial sync", len(scores))
	}
	if ents, _ := os.ReadDir(filepath.Dir(cached)); len(ents) != 1 {
		t.Errorf("left in the cache: %v", ents)
	}
}

// TestMSRCFeedFollowsTheUpdateList serves MSRC's list of update documents
// and two documents: a sync fetches both, the next one neither, and a
// revised document is fetched again.
func TestMSRCFeedFollowsTheUpdateList(t *testing.T) {
	t.Parallel()
	ts := newServer(t, "")
	ctx := context.Background()
	doc := func(id, title, cve string) string {
		return `{"DocumentTitle":{"Value":"` + title + `"},"DocumentTracking":{"Identification":{"ID":{"Value":"` + id + `"}},
			"InitialReleaseDate":"2024-03-12T07:00:00Z","CurrentReleaseDate":"2024-03-12T07:00:00Z"},
			"ProductTree":{"Branch":[],"FullProductName":[{"ProductID":"1","Value":"Windows Server 2022"}]},
			"Vulnerability":[{"CVE":"` + cve + `","Title":{"Value":"x"},"Threats":[],"CVSSScoreSets":[],"Remediations":[]}]}`
	}
	var revised atomic.Bool
	var fetched atomic.Int32
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/updates":
			mar := "2024-03-12T07:00:00Z"
			if revised.Load() {
				mar = "2099-04-09T07:00:00Z"
			}
			fmt.Fprintf(w, `{"@odata.context":"x","value":[
				{"ID":"2024-Feb","Alias":"2024-Feb","DocumentTitle":"February 2024 Security Updates","InitialReleaseDate":"2024-02-13T08:00:00Z","CurrentReleaseDate":"2024-02-13T08:00:00Z","CvrfUrl":"%s/cvrf/2024-Feb"},
				{"ID":"2024-Mar","Alias":"2024-Mar","DocumentTitle":"March 2024 Security Updates","InitialReleaseDate":"2024-03-12T07:00:00Z","CurrentReleaseDate":"%s","CvrfUrl":"cvrf/2024-Mar"}]}`,
				srv.URL, mar)
		case "/cvrf/2024-Feb":
			fetched.Add(1)
			w.Write([]byte(doc("2024-Feb", "February 2024 Security Updates", "CVE-2024-0001")))
		case "/cvrf/2024-Mar":
			fetched.Add(1)
			w.Write([]byte(doc("2024-Mar", "March 2024 Security Updates", "CVE-2024-0002")))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	if _, err := ts.Admin.PutFeed(ctx, client.FeedRequest{Name: "msrc", Kind: "msrc", URL: srv.URL + "/updates"}); err != nil {
		t.Fatal(err)
	}
	f, err := ts.Admin.SyncFeed(ctx, "msrc")
	if err != nil || f.Records != 2 || fetched.Load() != 2 {
		t.Fatalf("first sync: %+v %v (%d fetched)", f, err, fetched.Load())
	}
	if ids, _ := ts.Store().MSRCReleases(ctx); strings.Join(ids, ",") != "2024-Mar,2024-Feb" {
		t.Errorf("stored %v", ids)
	}
	revised.Store(true) // the list changes: the sync reads it again, fetches March only
	if f, err := ts.Admin.SyncFeed(ctx, "msrc"); err != nil || f.Records != 2 || fetched.Load() != 3 {
		t.Errorf("after a revision: %+v %v (%d fetched)", f, err, fetched.Load())
	}
	// The list alone, imported as a file, cannot be followed.
	if _, err := ts.Admin.ImportFeed(ctx, "msrc", "", strings.NewReader(`{"@odata.context":"x","value":[]}`)); err == nil ||
		!strings.Contains(err.Error(), "list of update documents") {
		t.Errorf("update list imported: %v", err)
	}
}

// TestScheduledFeedSync lets the feed loop, ticking fast, sync a due feed
// on its own, and not again before its interval has passed.
func TestScheduledFeedSync(t *testing.T) {
	t.Parallel()
	defer server.SetFeedTick(20 * time.Millisecond)()
	ts := newServer(t, "")
	ctx := context.Background()
	var requests atomic.Int32
	body := zipOf(t, map[string]string{"DSA-1.json": osvRecord("DSA-1", "2024-01-02T00:00:00Z", "openssl", "3.0.15-1~deb12u1")})
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Write(body)
	}))
	defer src.Close()
	if _, err := ts.Admin.PutFeed(ctx, client.FeedRequest{Name: "debian", Kind: "osv", URL: src.URL + "/all.zip", Interval: "1m"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if n, _ := ts.Store().CountAdvisories(ctx); n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("feed not synced by the loop (%d requests)", requests.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // ten more ticks: not due again
	f, _ := ts.Store().Feed(ctx, "debian")
	if requests.Load() != 1 || f.Records != 1 || f.LastSuccess == nil {
		t.Errorf("%d requests, feed %+v", requests.Load(), f)
	}
}
