package server_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchwave/patchwave/internal/api"
)

// TestSnapshotOncePerDay: the server's loop and any number of concurrent
// callers store exactly one compliance snapshot for the day.
func TestSnapshotOncePerDay(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, ts *testServer) {
		ctx := context.Background()
		st := ts.Store()
		var wg sync.WaitGroup
		took := make([]bool, 8)
		for i := range took {
			wg.Go(func() {
				ok, err := api.TakeSnapshot(ctx, st)
				if err != nil {
					t.Error(err)
				}
				took[i] = ok
			})
		}
		wg.Wait()
		day := st.Now().UTC().Format(time.DateOnly)
		sns, err := st.Snapshots(ctx, day, day)
		if err != nil || len(sns) != 1 {
			t.Fatalf("snapshots of %s: %+v %v", day, sns, err)
		}
		if ok, err := api.TakeSnapshot(ctx, st); ok || err != nil {
			t.Errorf("another snapshot the same day: %v %v", ok, err)
		}
		n := 0
		for _, ok := range took {
			if ok {
				n++
			}
		}
		if n > 1 {
			t.Errorf("%d callers stored a snapshot, want at most 1 (the loop may have been first)", n)
		}
	})
}

// TestReportRoutes serves the reports in each format, and refuses
// malformed, oversized and hostile parameters with errors that name them.
func TestReportRoutes(t *testing.T) {
	t.Parallel()
	ts := newServer(t, "")
	tok := login(t, ts.URL, "admin", adminPassword)
	month := ts.Store().Now().UTC().Format("2006-01")
	for _, c := range []struct {
		path, ctype, want string
	}{
		{"/api/v1/reports/compliance", "application/json", `"kind": "compliance"`},
		{"/api/v1/reports/compliance?month=" + month + "&format=json", "application/json", `"host_compliance"`},
		{"/api/v1/reports/compliance?month=" + month + "&format=csv", "text/csv", "section,key,value,numerator,denominator,percent,detail"},
		{"/api/v1/reports/compliance?month=" + month + "&format=html", "text/html", "<svg"},
		{"/api/v1/reports/compliance?month=" + month + "&format=pdf", "application/pdf", "%PDF-1.4"},
	} {
		req, _ := http.NewRequest("GET", ts.URL+c.path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), c.ctype) || !strings.Contains(string(b), c.want) {
			t.Errorf("GET %s: %d %s %.200s; want %s with %q", c.path, resp.StatusCode, resp.Header.Get("Content-Type"), b, c.ctype, c.want)
		}
	}
	for _, c := range []struct {
		path   string
		status int
		msg    string
	}{
		{"/api/v1/reports/compliance?month=2026-13", 400, `month "2026-13" is not like 2026-11`},
		{"/api/v1/reports/compliance?month=" + strings.Repeat("9", 5000), 400, "is not like 2026-11"},
		{"/api/v1/reports/compliance?month=%3Cscript%3E", 400, "is not like 2026-11"},
		{"/api/v1/reports/compliance?month=2999-01", 400, "has not begun"},
		{"/api/v1/reports/compliance?format=docx", 400, `format "docx" is not json, csv, html or pdf`},
		{"/api/v1/reports/compliance?format=csv&format=html", 400, "format"},
		{"/api/v1/reports/compliance?color=red", 400, "color"},
		{"/api/v1/reports/releases/nope", 404, "not found"},
		{"/api/v1/reports/releases/%00", 404, "not found"},
	} {
		st, _, b := call(t, "GET", ts.URL+c.path, tok, "", nil)
		if st != c.status || !strings.Contains(string(b), c.msg) {
			t.Errorf("GET %.80s: %d %s; want %d with %q", c.path, st, b, c.status, c.msg)
		}
	}
	if st, _, _ := call(t, "GET", ts.URL+"/api/v1/reports/compliance", "", "", nil); st != 401 {
		t.Errorf("without a token: %d", st)
	}
}
