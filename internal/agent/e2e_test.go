package agent_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/agent"
	"github.com/patchwave/patchwave/internal/client"
	"github.com/patchwave/patchwave/internal/pkgmgr"
	"github.com/patchwave/patchwave/internal/server"
)

// testServer is a real Patchwave server on an embedded database, with a
// recorder of the check-ins agents send it.
type testServer struct {
	url   string
	admin *client.Client

	mu   sync.Mutex
	reqs []patchwave.CheckinRequest
}

func newTestServer(t *testing.T) *testServer {
	t.Helper()
	srv, err := server.New(t.Context(), server.Config{DataDir: t.TempDir(), AdminPassword: "pw-for-tests",
		Listen: "127.0.0.1:0"}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ts := &testServer{}
	h := srv.Handler()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/agent/checkin" {
			ts.record(t, r)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	ts.url = hs.URL

	var login struct{ Token string }
	if err := client.New(hs.URL, "").Do(t.Context(), "POST", "/api/v1/login", nil,
		map[string]string{"user": "admin", "password": "pw-for-tests"}, &login); err != nil {
		t.Fatalf("login: %v", err)
	}
	ts.admin = client.New(hs.URL, login.Token)
	return ts
}

// record decodes a check-in on its way to the server and puts the body back.
func (ts *testServer) record(t *testing.T, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Errorf("read check-in: %v", err)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	var body io.Reader = bytes.NewReader(b)
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(body)
		if err != nil {
			t.Errorf("check-in: %v", err)
			return
		}
		body = zr
	}
	var req patchwave.CheckinRequest
	if err := json.NewDecoder(body).Decode(&req); err != nil {
		t.Errorf("decode check-in: %v", err)
		return
	}
	ts.mu.Lock()
	ts.reqs = append(ts.reqs, req)
	ts.mu.Unlock()
}

// last returns the check-ins recorded since the previous call.
func (ts *testServer) last() []patchwave.CheckinRequest {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	r := ts.reqs
	ts.reqs = nil
	return r
}

func (ts *testServer) enrollToken(t *testing.T, body map[string]any) string {
	t.Helper()
	return ts.newEnrollToken(t, body).Token
}

func (ts *testServer) newEnrollToken(t *testing.T, body map[string]any) patchwave.EnrollToken {
	t.Helper()
	var tok patchwave.EnrollToken
	if err := ts.admin.Do(t.Context(), "POST", "/api/v1/enroll-tokens", nil, body, &tok); err != nil {
		t.Fatalf("create enroll token: %v", err)
	}
	if tok.Token == "" {
		t.Fatal("enroll token without token")
	}
	return tok
}

// checkPackages compares the server's package list of host with what the
// agent's package reader finds under root.
func (ts *testServer) checkPackages(t *testing.T, host int64, root *fakeRoot) {
	t.Helper()
	want, _, err := pkgmgr.Installed(t.Context(), root.dir)
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Packages []patchwave.Package }
	if err := ts.admin.Do(t.Context(), "GET", fmt.Sprintf("/api/v1/hosts/%d/packages", host), nil, nil, &got); err != nil {
		t.Fatal(err)
	}
	g := patchwave.SortPackages(got.Packages)
	if patchwave.HashPackages(g) != patchwave.HashPackages(want) {
		d := patchwave.DiffPackages(want, g)
		t.Errorf("server's package list differs from the host's: extra %v, missing %v", d.Added, d.Removed)
	}
}

func (ts *testServer) host(t *testing.T, id int64) patchwave.Host {
	t.Helper()
	var h patchwave.Host
	if err := ts.admin.Do(t.Context(), "GET", fmt.Sprintf("/api/v1/hosts/%d", id), nil, nil, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestEndToEnd(t *testing.T) {
	ts := newTestServer(t)
	root := newFakeRoot(t, "web1", basePackages())
	stateDir := t.TempDir() + "/state"
	cfg := agent.Config{Server: ts.url, EnrollToken: ts.enrollToken(t, map[string]any{"site": "paris", "tier": "lab"}),
		StateDir: stateDir, Root: root.dir, Logger: testLogger(t), Version: "1.2.3"}

	// First run: enroll, report everything.
	rep, err := agent.CheckinOnce(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Enrolled || !rep.FactsSent || rep.Packages != agent.SendFull || rep.PackageCount != len(basePackages()) {
		t.Errorf("first check-in: %+v, want enrollment and a full report of %d packages", rep, len(basePackages()))
	}
	st, err := agent.LoadState(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	if st.HostID != rep.HostID || st.Server != ts.url || st.Credential == "" || st.PackagesHash == "" || st.FactsHash == "" {
		t.Errorf("state after the first check-in: %+v", st)
	}
	ts.checkPackages(t, rep.HostID, root)
	h := ts.host(t, rep.HostID)
	if h.Hostname != "web1" || h.Site != "paris" || h.OS.ID != "debian" || h.AgentVersion != "1.2.3" || !h.Managed {
		t.Errorf("host after enrollment: %+v", h)
	}
	ts.last()

	// Nothing changed, and no token needed any more: only hashes.
	cfg.EnrollToken = ""
	rep, err = agent.CheckinOnce(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Enrolled || rep.FactsSent || rep.Packages != agent.SendNone {
		t.Errorf("unchanged check-in: %+v, want only hashes", rep)
	}
	for _, r := range ts.last() {
		if r.Facts != nil || r.Packages != nil || r.Delta != nil {
			t.Errorf("unchanged check-in sent %+v", r)
		}
	}

	// Add one package, remove one, upgrade one: a delta of +2 -2.
	ps := basePackages()
	oldHash := st.PackagesHash
	ps = append(ps, patchwave.Package{Name: "curl", Version: "7.88.1-10+deb12u5", Arch: "amd64"})
	ps = append(ps[:5], ps[6:]...)     // tzdata gone
	ps[3].Version = "3.0.13-1~deb12u1" // libssl3 upgraded
	root.setPackages(t, ps)
	rep, err = agent.CheckinOnce(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.FactsSent || rep.Packages != agent.SendDelta || rep.Added != 2 || rep.Removed != 2 || rep.Resent {
		t.Errorf("check-in after a change: %+v, want a delta of +2 -2", rep)
	}
	reqs := ts.last()
	if len(reqs) != 1 {
		t.Fatalf("%d check-in requests, want 1", len(reqs))
	}
	if r := reqs[0]; r.Packages != nil || r.Delta == nil || r.BaseHash != oldHash || r.Facts != nil {
		t.Errorf("check-in after a change sent %+v, want only a delta against %.12s", r, oldHash)
	}
	ts.checkPackages(t, rep.HostID, root)

	// A facts change sends the facts and no packages.
	root.setHostname(t, "web1-renamed")
	rep, err = agent.CheckinOnce(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.FactsSent || rep.Packages != agent.SendNone {
		t.Errorf("check-in after a rename: %+v, want facts only", rep)
	}
	if h := ts.host(t, rep.HostID); h.Hostname != "web1-renamed" {
		t.Errorf("host name on the server: %q", h.Hostname)
	}

	// A large change goes as a full list (cheaper than a delta).
	root.setPackages(t, manyPackages(50))
	rep, err = agent.CheckinOnce(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Packages != agent.SendFull {
		t.Errorf("check-in after replacing everything: %+v, want a full list", rep)
	}
	ts.checkPackages(t, rep.HostID, root)
}

// TestLostBase makes the agent believe the server acknowledged a list it
// never saw: the delta cannot apply, the server asks for the full list, and
// the agent sends it in the same run.
func TestLostBase(t *testing.T) {
	ts := newTestServer(t)
	root := newFakeRoot(t, "db1", basePackages())
	stateDir := t.TempDir()
	cfg := agent.Config{Server: ts.url, EnrollToken: ts.enrollToken(t, map[string]any{}), StateDir: stateDir,
		Root: root.dir, Logger: testLogger(t)}
	if _, err := agent.CheckinOnce(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	// Swap the agent's acknowledged base for a list the server never saw.
	other := newFakeRoot(t, "db1", manyPackages(30))
	otherDir := t.TempDir()
	f := &fakeServer{t: t, interval: 3600}
	if _, err := agent.CheckinOnce(t.Context(), agent.Config{Server: "http://fake", EnrollToken: "good-token",
		StateDir: otherDir, Root: other.dir, HTTPClient: f.client(), Logger: testLogger(t)}); err != nil {
		t.Fatal(err)
	}
	fake, err := agent.LoadState(otherDir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := agent.LoadState(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	st.PackagesHash = fake.PackagesHash
	if err := agent.SaveState(stateDir, st); err != nil {
		t.Fatal(err)
	}
	copyFile(t, otherDir+"/"+agent.BaseFile, stateDir+"/"+agent.BaseFile)

	root.setPackages(t, manyPackages(31))
	ts.last()
	rep, err := agent.CheckinOnce(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	reqs := ts.last()
	if !rep.Resent || rep.Packages != agent.SendFull || len(reqs) != 2 {
		t.Fatalf("report %+v after %d requests, want a delta then a full resend", rep, len(reqs))
	}
	if reqs[0].Delta == nil || reqs[1].Packages == nil {
		t.Errorf("sent %+v then %+v, want a delta then the full list", reqs[0], reqs[1])
	}
	ts.checkPackages(t, rep.HostID, root)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestRevoked checks that an agent whose host was revoked, or whose
// credential is forged, stops with a clear error instead of retrying.
func TestRevoked(t *testing.T) {
	ts := newTestServer(t)
	root := newFakeRoot(t, "app1", basePackages())
	stateDir := t.TempDir()
	cfg := agent.Config{Server: ts.url, EnrollToken: ts.enrollToken(t, map[string]any{}), StateDir: stateDir,
		Root: root.dir, Logger: testLogger(t)}
	rep, err := agent.CheckinOnce(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.admin.Do(t.Context(), "POST", fmt.Sprintf("/api/v1/hosts/%d/revoke", rep.HostID), nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	// The loop, not just one check-in, must give up. Forget the last
	// check-in time so that it checks in at once rather than at its slot.
	st, err := agent.LoadState(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	st.LastCheckin = time.Time{}
	if err := agent.SaveState(stateDir, st); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- agent.Run(t.Context(), cfg) }()
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the agent of a revoked host is still running")
	}
	if patchwave.ErrorCode(err) != patchwave.EUnauthorized {
		t.Errorf("Run of a revoked host = %v, want unauthorized", err)
	}

	// A forged credential.
	st.Credential = "forged-" + strings.Repeat("x", 32)
	if err := agent.SaveState(stateDir, st); err != nil {
		t.Fatal(err)
	}
	cfg.Once = true
	if err := agent.Run(t.Context(), cfg); patchwave.ErrorCode(err) != patchwave.EUnauthorized {
		t.Errorf("Run with a forged credential = %v, want unauthorized", err)
	}
}

// TestEnrollTokenRefused checks that a used-up, revoked or expired
// enrollment token fails clearly and saves nothing.
func TestEnrollTokenRefused(t *testing.T) {
	ts := newTestServer(t)
	root := newFakeRoot(t, "app1", basePackages())
	enroll := func(token string) error {
		t.Helper()
		dir := t.TempDir()
		err := agent.Run(t.Context(), agent.Config{Server: ts.url, EnrollToken: token, StateDir: dir, Root: root.dir,
			Logger: testLogger(t), Once: true})
		if err != nil {
			if _, lerr := agent.LoadState(dir); lerr == nil {
				t.Errorf("a refused enrollment saved a state")
			}
		}
		return err
	}
	refused := func(what, reason string, err error) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: enrollment succeeded", what)
			return
		}
		if !strings.Contains(err.Error(), "enroll") || !strings.Contains(err.Error(), "refused") {
			t.Errorf("%s: error %q does not say the enrollment token was refused", what, err)
		}
		if !strings.Contains(err.Error(), reason) {
			t.Errorf("%s: error %q does not say %q", what, err, reason)
		}
		if patchwave.ErrorCode(err) == patchwave.EInternal {
			t.Errorf("%s: error %q has no server code", what, err)
		}
	}

	once := ts.enrollToken(t, map[string]any{"max_uses": 1})
	if err := enroll(once); err != nil {
		t.Fatal(err)
	}
	refused("reused token", "used", enroll(once))

	refused("unknown token", "not valid", enroll("pwe_not-a-token"))

	revoked := ts.newEnrollToken(t, map[string]any{})
	if err := ts.admin.Do(t.Context(), "DELETE", fmt.Sprintf("/api/v1/enroll-tokens/%d", revoked.ID), nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	refused("revoked token", "revoked", enroll(revoked.Token))

	expiring := ts.enrollToken(t, map[string]any{"expires_in": "1s"})
	time.Sleep(1100 * time.Millisecond)
	refused("expired token", "expired", enroll(expiring))
}
