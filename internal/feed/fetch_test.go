package feed

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/patchwave/patchwave"
)

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// noLeftovers checks that no temporary file stayed next to dst.
func noLeftovers(t *testing.T, dir string) {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, ".*.part-*"))
	if len(m) > 0 {
		t.Errorf("temporary files left: %v", m)
	}
}

func TestFetchHTTPConditional(t *testing.T) {
	body := "version 1"
	etag := `"v1"`
	var gets atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gets.Add(1)
		if r.Header.Get("User-Agent") != "patchwave" {
			t.Errorf("User-Agent %q", r.Header.Get("User-Agent"))
		}
		w.Header().Set("ETag", etag)
		w.Header().Set("Last-Modified", "Tue, 12 Mar 2024 07:00:00 GMT")
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Write([]byte(body))
	}))
	defer srv.Close()
	dir := t.TempDir()
	dst := filepath.Join(dir, "all.zip")
	f := &Fetcher{Client: srv.Client()}
	ctx := context.Background()

	r, err := f.Fetch(ctx, srv.URL+"/all.zip", Validators{}, dst)
	if err != nil {
		t.Fatal(err)
	}
	if r.NotModified || r.Bytes != 9 || r.ETag != `"v1"` || r.LastModified != "Tue, 12 Mar 2024 07:00:00 GMT" || readFile(t, dst) != body {
		t.Errorf("first fetch %+v", r)
	}
	if fi, _ := os.Stat(dst); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v", fi.Mode())
	}
	r2, err := f.Fetch(ctx, srv.URL+"/all.zip", r.Validators, dst)
	if err != nil || !r2.NotModified || r2.Validators != r.Validators || r2.Bytes != 0 {
		t.Errorf("second fetch %+v %v", r2, err)
	}
	body, etag = "version 2!", `"v2"`
	r3, err := f.Fetch(ctx, srv.URL+"/all.zip", r.Validators, dst)
	if err != nil || r3.NotModified || r3.ETag != `"v2"` || readFile(t, dst) != "version 2!" {
		t.Errorf("third fetch %+v %v", r3, err)
	}
	if gets.Load() != 3 {
		t.Errorf("%d requests", gets.Load())
	}
	noLeftovers(t, dir)
}

func TestFetchHTTPFailuresKeepGoodData(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/lie", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.Write([]byte("only a little"))
	})
	mux.HandleFunc("/hijack", func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
		buf.WriteString(strings.Repeat("x", 5000))
		buf.Flush()
		conn.Close()
	})
	mux.HandleFunc("/chunked-cut", func(w http.ResponseWriter, r *http.Request) {
		conn, buf, _ := http.NewResponseController(w).Hijack()
		buf.WriteString("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
		buf.Flush()
		conn.Close()
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Write(bytes.Repeat([]byte("x"), 5000))
	})
	mux.HandleFunc("/big-chunked", func(w http.ResponseWriter, r *http.Request) {
		for range 10 {
			w.Write(bytes.Repeat([]byte("x"), 1000))
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/500", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "database on fire\x00", http.StatusInternalServerError)
	})
	mux.HandleFunc("/429", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "slow down", http.StatusTooManyRequests)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	dir := t.TempDir()
	dst := filepath.Join(dir, "feed.json")
	if err := os.WriteFile(dst, []byte("good data"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := &Fetcher{Client: srv.Client(), MaxBytes: 4096}
	for _, tc := range []struct{ path, code, want string }{
		{"/lie", patchwave.EUnavailable, "truncated"},
		{"/hijack", patchwave.ETooLarge, "announced"},
		{"/chunked-cut", patchwave.EUnavailable, "truncated"},
		{"/big", patchwave.ETooLarge, "4096"},
		{"/big-chunked", patchwave.ETooLarge, "over 4096 bytes"},
		{"/500", patchwave.EUnavailable, "HTTP 500 Internal Server Error: database on fire"},
		{"/429", patchwave.ETooMany, "429"},
		{"/nothing", patchwave.ENotFound, "404"},
	} {
		_, err := f.Fetch(context.Background(), srv.URL+tc.path, Validators{}, dst)
		if err == nil || patchwave.ErrorCode(err) != tc.code || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v (code %s), want %s %q", tc.path, err, patchwave.ErrorCode(err), tc.code, tc.want)
		}
		if got := readFile(t, dst); got != "good data" {
			t.Fatalf("%s replaced the good data with %q", tc.path, got)
		}
	}
	// The hijacked response again, under a limit it fits: still truncated.
	f.MaxBytes = 1 << 20
	if _, err := f.Fetch(context.Background(), srv.URL+"/hijack", Validators{}, dst); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("hijack: %v", err)
	}
	noLeftovers(t, dir)

	// A cancelled context.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.Fetch(ctx, srv.URL+"/big", Validators{}, dst); err == nil {
		t.Error("cancelled: no error")
	}
	if _, err := f.Fetch(context.Background(), "ftp://example.com/x", Validators{}, dst); err == nil || !strings.Contains(err.Error(), "unsupported scheme") {
		t.Errorf("ftp: %v", err)
	}
	if readFile(t, dst) != "good data" {
		t.Error("good data lost")
	}
}

func TestFetchLocal(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src.json")
	dst := filepath.Join(dir, "out", "dst.json")
	os.Mkdir(filepath.Dir(dst), 0o755)
	os.WriteFile(src, []byte("local feed"), 0o600)
	f := &Fetcher{}
	ctx := context.Background()
	r, err := f.Fetch(ctx, src, Validators{}, dst)
	if err != nil || r.Bytes != 10 || r.ETag == "" || r.LastModified == "" || readFile(t, dst) != "local feed" {
		t.Fatalf("plain path: %+v %v", r, err)
	}
	fileURL := (&url.URL{Scheme: "file", Path: filepath.ToSlash(src)}).String()
	r2, err := f.Fetch(ctx, fileURL, r.Validators, dst)
	if err != nil || !r2.NotModified {
		t.Errorf("file URL, unchanged: %+v %v", r2, err)
	}
	// The source is the destination: nothing to do.
	if r, err := f.Fetch(ctx, dst, Validators{}, dst); err != nil || r.Bytes != 10 {
		t.Errorf("same file: %+v %v", r, err)
	}
	// Too large, a directory, missing: errors, dst kept.
	f.MaxBytes = 5
	os.WriteFile(src, []byte("a changed, longer local feed"), 0o600)
	if _, err := f.Fetch(ctx, src, r.Validators, dst); patchwave.ErrorCode(err) != patchwave.ETooLarge {
		t.Errorf("too large: %v", err)
	}
	f.MaxBytes = 0
	if _, err := f.Fetch(ctx, dir, Validators{}, dst); err == nil {
		t.Error("directory: no error")
	}
	if _, err := f.Fetch(ctx, filepath.Join(dir, "missing"), Validators{}, dst); err == nil {
		t.Error("missing: no error")
	}
	if _, err := f.Fetch(ctx, "file://otherhost/x", Validators{}, dst); err == nil {
		t.Error("remote file URL: no error")
	}
	if readFile(t, dst) != "local feed" {
		t.Error("dst changed")
	}
	r3, err := f.Fetch(ctx, src, r.Validators, dst)
	if err != nil || r3.NotModified || readFile(t, dst) != "a changed, longer local feed" || r3.Bytes != 28 {
		t.Errorf("changed: %+v %v", r3, err)
	}
	noLeftovers(t, filepath.Dir(dst))
}
