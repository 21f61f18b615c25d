package server_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/patchwave/patchwave/internal/client"
	"github.com/patchwave/patchwave/internal/server"
	"github.com/patchwave/patchwave/internal/store/storetest"
)

// cutter is a TCP proxy to PostgreSQL that can drop every connection and
// refuse new ones, as a database restart or a network cut does.
type cutter struct {
	ln       net.Listener
	upstream string
	mu       sync.Mutex
	conns    []net.Conn
	down     bool
}

func newCutter(t *testing.T, upstream string) *cutter {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &cutter{ln: ln, upstream: upstream}
	t.Cleanup(func() { ln.Close(); c.cut() })
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			c.mu.Lock()
			down := c.down
			c.mu.Unlock()
			if down {
				in.Close()
				continue
			}
			out, err := net.Dial("tcp", upstream)
			if err != nil {
				in.Close()
				continue
			}
			c.mu.Lock()
			c.conns = append(c.conns, in, out)
			c.mu.Unlock()
			go func() { io.Copy(out, in); out.Close() }()
			go func() { io.Copy(in, out); in.Close() }()
		}
	}()
	return c
}

// cut drops every connection and refuses new ones until restore.
func (c *cutter) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.down = true
	for _, cn := range c.conns {
		cn.Close()
	}
	c.conns = nil
}

func (c *cutter) restore() {
	c.mu.Lock()
	c.down = false
	c.mu.Unlock()
}

// TestDatabaseOutage cuts the server off PostgreSQL while it runs: it
// reports not ready, writes fail with an error rather than hang or half
// happen, and once the database is back it is ready again by itself and
// holds exactly what it acknowledged.
func TestDatabaseOutage(t *testing.T) {
	t.Parallel()
	pg := storetest.Postgres(t, true)
	u, err := url.Parse(pg)
	if err != nil {
		t.Fatal(err)
	}
	cut := newCutter(t, u.Host)
	u.Host = cut.ln.Addr().String()
	srv, err := server.New(context.Background(), server.Config{Database: u.String(), AdminPassword: adminPassword, Listen: "127.0.0.1:0",
		NoFeedSync: true, NoRollouts: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := &http.Server{Handler: srv.Handler()}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go hs.Serve(ln)
	defer hs.Close()
	base := "http://" + ln.Addr().String()
	admin := client.New(base, login(t, base, "admin", adminPassword))
	ctx := context.Background()
	if _, err := admin.CreateEnrollToken(ctx, client.EnrollTokenRequest{Site: "before"}); err != nil {
		t.Fatal(err)
	}
	ready := func() int {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := ready(); st != http.StatusOK {
		t.Fatalf("ready before the cut: %d", st)
	}

	cut.cut()
	if st := ready(); st != http.StatusServiceUnavailable {
		t.Errorf("ready during the cut: %d, want 503", st)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	_, err = admin.CreateEnrollToken(wctx, client.EnrollTokenRequest{Site: "during"})
	cancel()
	if err == nil {
		t.Error("a write succeeded while the database was cut off")
	}

	cut.restore()
	deadline := time.Now().Add(30 * time.Second)
	for ready() != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("not ready again after the database came back")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := admin.CreateEnrollToken(ctx, client.EnrollTokenRequest{Site: "after"}); err != nil {
		t.Fatalf("a write after the database came back: %v", err)
	}
	toks, err := admin.ListEnrollTokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var sites []string
	for _, tk := range toks {
		sites = append(sites, tk.Site)
	}
	if len(toks) != 2 || !slices.Contains(sites, "before") || !slices.Contains(sites, "after") {
		t.Errorf("tokens after the outage: %v; want before and after only", sites)
	}
	if err := srv.Store().VerifyAudit(ctx); err != nil {
		t.Errorf("audit chain after the outage: %v", err)
	}
}
