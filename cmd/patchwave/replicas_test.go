package main_test

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patchwave/patchwave/internal/pkgmgr/pkgtest"
	"github.com/patchwave/patchwave/internal/store/storetest"
)

// balancer spreads requests over server replicas in turn, and sends a
// request to the next replica when one does not answer, like any load
// balancer with health checks.
type balancer struct {
	mu       sync.Mutex
	backends []string
	next     atomic.Int64
}

func (b *balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	b.mu.Lock()
	backends := append([]string(nil), b.backends...)
	b.mu.Unlock()
	start := int(b.next.Add(1))
	for i := range backends {
		base := backends[(start+i)%len(backends)]
		req, err := http.NewRequestWithContext(r.Context(), r.Method, base+r.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			continue
		}
		req.Header = r.Header.Clone()
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			continue // that replica is down: try the next
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
		resp.Body.Close()
		return
	}
	http.Error(w, "no replica answers", http.StatusBadGateway)
}

// TestReplicasSurviveAKill runs two server replicas on one PostgreSQL
// behind a load balancer, three real agents on apt roots, and a release
// whose wave patches one host at a time. In the middle of the rollout one
// replica is killed with SIGKILL: the other takes over the rollout driver
// once the lease lapses, sessions made on one replica work on the other,
// and every host is patched exactly once.
func TestReplicasSurviveAKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	pkgtest.RequireApt(t)
	pg := storetest.Postgres(t, true)
	bin := build(t)
	common := []string{"--database", pg, "--rollout-interval", "200ms", "--agent-wait", "2s", "--checkin-interval", "10s"}
	db, err := sql.Open("pgx", pg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	holder := func() string {
		var h string
		db.QueryRow(`SELECT holder FROM leases WHERE name = 'rollout-driver'`).Scan(&h)
		return h
	}
	// Replica A starts first and takes the rollout driver's lease.
	urlA, procA := startServerCmd(t, bin, common...)
	for deadline := time.Now().Add(30 * time.Second); holder() == ""; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("replica A took no lease")
		}
	}
	holderA := holder()
	urlB, _ := startServerCmd(t, bin, common...)
	lb := &balancer{backends: []string{urlA, urlB}}
	front := httptest.NewServer(lb)
	t.Cleanup(front.Close)

	c := newCLI(t, bin)
	c.run("e2e-admin-password\n", "login", "--server", front.URL, "--user", "admin", "--password-stdin")
	hosts := c.enrollAptHosts(front.URL, "app", 3)
	rel := c.oneAtATimeRelease("DSA-9003-1")
	c.startAgents(hosts, c.write("agent.json", `{"min_free_mb": 1, "hooks": {"pre_install": ["sleep 1"]}}`))
	c.waitFor(rel, "the first host", func() bool { return c.succeeded(rel) >= 1 })
	if c.succeeded(rel) == 3 {
		t.Fatal("the rollout ended before a replica could be killed")
	}
	// A token made now, on either replica, must work on the survivor.
	var apiTok struct{ Token string }
	json.Unmarshal([]byte(c.run("", "tokens", "create", "--name", "ci", "-o", "json")), &apiTok)
	if h := holder(); h != holderA {
		t.Fatalf("the lease moved from A (%s) to %s while A was alive", holderA, h)
	}
	procA.Process.Signal(os.Kill)
	procA.Wait()
	killed := time.Now()
	for deadline := time.Now().Add(30 * time.Second); holder() == holderA; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("replica B did not take over the rollout driver")
		}
	}
	t.Logf("replica B took the rollout driver over %v after A was killed", time.Since(killed).Round(time.Millisecond))

	cmd := exec.Command(bin, "hosts", "list", "-o", "json")
	cmd.Env = append(c.env, "PATCHWAVE_SERVER="+urlB, "PATCHWAVE_TOKEN="+apiTok.Token)
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "app-03") {
		t.Errorf("hosts list on replica B: %v\n%s", err, out)
	}

	c.waitFor(rel, "every host", func() bool { return c.succeeded(rel) == 3 })
	t.Logf("the rollout finished %v after a replica was killed", time.Since(killed).Round(time.Millisecond))
	c.patchedOnce(rel, hosts)
}
