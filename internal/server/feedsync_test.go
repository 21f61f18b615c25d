package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/patchwave/patchwave/internal/client"
)

func TestFeedSyncOverHTTP(t *testing.T) {
	t.Parallel()
	ts := newServer(t, "")
	ctx := context.Background()
	body := zipOf(t, map[string]string{"DSA-1.json": osvRecord("DSA-1", "2024-01-02T00:00:00Z", "openssl", "3.0.15-1~deb12u1")})
	var requests, notModified atomic.Int32
	var truncate atomic.Bool
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if r.Header.Get("If-None-Match") == `"v1"` && !truncate.Load() {
			notModified.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"v1"`)
		if truncate.Load() {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.Write(body[:len(body)/2]) // the connection closes short
			return
		}
		w.Write(body)
	}))
	defer src.Close()
	if _, err := ts.Admin.PutFeed(ctx, client.FeedRequest{Name: "debian", Kind: "osv", URL: src.URL + "/all.zip", Interval: "6h"}); err != nil {
		t.Fatal(err)
	}
	f, err := ts.Admin.SyncFeed(ctx, "debian")
	if err != nil || f.Records != 1 {
		t.Fatalf("first sync: %+v %v", f, err)
	}
	if f, err = ts.Admin.SyncFeed(ctx, "debian"); err != nil || notModified.Load() != 1 || f.Records != 1 {
		t.Fatalf("second sync: %+v %v (304s: %d)", f, err, notModified.Load())
	}
	truncate.Store(true)
	if _, err := ts.Admin.SyncFeed(ctx, "debian"); err == nil {
		t.Fatal("truncated download accepted")
	}
	fs, _ := ts.Admin.Feeds(ctx)
	if len(fs) != 1 || fs[0].Error == "" || fs[0].Records != 1 || fs[0].LastSuccess == nil {
		t.Errorf("feed after a failed sync: %+v", fs)
	}
	if n, _ := ts.Store().CountAdvisories(ctx); n != 1 {
		t.Errorf("records after a failed sync: %d", n)
	}
	if _, err := ts.Admin.SyncFeed(ctx, "nope"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("sync of an unknown feed: %v", err)
	}
}
