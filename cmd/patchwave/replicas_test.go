package main_test

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
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

	home := t.TempDir()
	env := append(os.Environ(), "XDG_CONFIG_HOME="+home, "HOME="+home, "PATCHWAVE_SERVER=", "PATCHWAVE_TOKEN=", "PATCHWAVE_DATABASE=")
	run := func(stdin string, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env, cmd.Stdin = env, strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("patchwave %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	run("e2e-admin-password\n", "login", "--server", front.URL, "--user", "admin", "--password-stdin")
	var tok struct{ Token string }
	json.Unmarshal([]byte(run("", "enroll-tokens", "create", "--max-uses", "3", "-o", "json")), &tok)
	settings := write("agent.json", `{"min_free_mb": 1, "hooks": {"pre_install": ["sleep 1"]}}`)
	type host struct{ name, root, state string }
	var hosts []host
	for i := range 3 {
		h := host{name: fmt.Sprintf("app-%02d", i+1), root: pkgtest.AptRoot(t, pkgtest.DemoDebs("1.0", "1.1")...), state: filepath.Join(dir, fmt.Sprintf("agent-%d", i))}
		pkgtest.InstallInitial(t, h.root, "demo=1.0")
		os.WriteFile(filepath.Join(h.root, "etc/hostname"), []byte(h.name+"\n"), 0o644)
		run("", "agent", "--server", front.URL, "--enroll-token", tok.Token, "--state-dir", h.state, "--root", h.root, "--once")
		hosts = append(hosts, h)
	}
	run("", "feeds", "import", "--feed", "debian", "--kind", "osv", write("dsa.json", `{"id":"DSA-9003-1","modified":"2026-12-01T00:00:00Z","published":"2026-12-01T00:00:00Z",
	 "affected":[{"package":{"ecosystem":"Debian:12","name":"demo"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.1"}]}]}],
	 "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}`))
	run(`{"name":"all","rules":[{"min_severity":"low"}]}`, "baselines", "apply", "-")
	run("", "waves", "set", write("waves.json", `[{"order":0,"name":"all","max_concurrent":1,"reboot":"never"}]`))
	var rel struct{ Name string }
	deadline := time.Now().Add(30 * time.Second)
	for {
		cmd := exec.Command(bin, "releases", "create", "--out-of-band", "--not-compressed", "--allow-no-window", "--reason", "DSA-9003-1", "-o", "json")
		cmd.Env = env
		out, err := cmd.Output()
		if err == nil {
			json.Unmarshal(out, &rel)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("releases create: %v %s", err, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, h := range hosts {
		cmd := exec.Command(bin, "agent", "--state-dir", h.state, "--root", h.root, "--config", settings)
		cmd.Env = env
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	}
	type task struct {
		Hostname, State string
		Attempt         int
		FirstResult     string `json:"first_result"`
	}
	tasks := func() []task {
		var ts []task
		json.Unmarshal([]byte(run("", "rollouts", "tasks", rel.Name, "-o", "json")), &ts)
		return ts
	}
	succeeded := func(ts []task) (n int) {
		for _, tk := range ts {
			if tk.State == "succeeded" {
				n++
			}
		}
		return n
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(90 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s; tasks %+v", what, tasks())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitFor("the first host", func() bool { return succeeded(tasks()) >= 1 })
	if n := succeeded(tasks()); n == 3 {
		t.Fatal("the rollout ended before a replica could be killed")
	}
	var apiTok struct{ Token string }
	json.Unmarshal([]byte(run("", "tokens", "create", "--name", "ci", "-o", "json")), &apiTok)
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

	// A token made on either replica works on the surviving one alone.
	cmd := exec.Command(bin, "hosts", "list", "-o", "json")
	cmd.Env = append(env, "PATCHWAVE_SERVER="+urlB, "PATCHWAVE_TOKEN="+apiTok.Token)
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "app-03") {
		t.Errorf("hosts list on replica B: %v\n%s", err, out)
	}

	waitFor("every host", func() bool { return succeeded(tasks()) == 3 })
	t.Logf("the rollout finished %v after a replica was killed", time.Since(killed).Round(time.Millisecond))
	for _, tk := range tasks() {
		if tk.Attempt != 1 || tk.FirstResult != "succeeded" {
			t.Errorf("task of %s: attempt %d, first result %q: want one successful attempt", tk.Hostname, tk.Attempt, tk.FirstResult)
		}
	}
	for _, h := range hosts {
		if v := strings.TrimSpace(pkgtest.ReadFile(t, h.root, "usr/share/demo/version")); v != "1.1" {
			t.Errorf("%s has demo %q", h.name, v)
		}
		done, _ := filepath.Glob(filepath.Join(h.state, "tasks", "done", "*.json"))
		if len(done) != 1 {
			t.Errorf("%s ran %d tasks, want exactly 1: %v", h.name, len(done), done)
		}
	}
	waitFor("the rollout to complete", func() bool {
		return strings.Contains(run("", "rollouts", "show", rel.Name), "completed")
	})
}
