package agent_test

import (
	"bytes"
	"context"
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
	"testing"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/agent"
	"github.com/patchwave/patchwave/internal/client"
	"github.com/patchwave/patchwave/internal/pkgmgr/pkgtest"
	"github.com/patchwave/patchwave/internal/server"
)

// rolloutServer is a real server whose rollout driver runs every 200 ms
// and whose agents long-poll, behind an optional tamperer of check-in
// answers (a man in the middle).
type rolloutServer struct {
	url    string
	admin  *client.Client
	srv    *server.Server
	tamper func(*patchwave.CheckinResponse)
	mu     sync.Mutex
}

func newRolloutServer(t *testing.T) *rolloutServer {
	t.Helper()
	srv, err := server.New(t.Context(), server.Config{DataDir: t.TempDir(), AdminPassword: "pw-for-tests", Listen: "127.0.0.1:0",
		RolloutInterval: 200 * time.Millisecond, AgentWait: 5 * time.Second, NoFeedSync: true}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	rs := &rolloutServer{srv: srv}
	h := srv.Handler()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rs.mu.Lock()
		tamper := rs.tamper
		rs.mu.Unlock()
		if tamper == nil || r.URL.Path != "/api/v1/agent/checkin" {
			h.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		var resp patchwave.CheckinResponse
		if rec.Code == http.StatusOK && json.Unmarshal(rec.Body.Bytes(), &resp) == nil && len(resp.Tasks) > 0 {
			tamper(&resp)
			b, _ := json.Marshal(resp)
			rec.Body = bytes.NewBuffer(b)
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.Code)
		io.Copy(w, rec.Body)
	}))
	t.Cleanup(hs.Close)
	rs.url = hs.URL
	var login struct{ Token string }
	if err := client.New(hs.URL, "").Do(t.Context(), "POST", "/api/v1/login", nil, map[string]string{"user": "admin", "password": "pw-for-tests"}, &login); err != nil {
		t.Fatal(err)
	}
	rs.admin = client.New(hs.URL, login.Token)
	return rs
}

// demoAdvisory says demo before 1.1 is vulnerable.
const demoAdvisory = `{"id":"DSA-9001-1","modified":"2026-12-01T00:00:00Z","published":"2026-12-01T00:00:00Z","aliases":["CVE-2026-9001"],
 "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
 "affected":[{"package":{"ecosystem":"Debian:12","name":"demo"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.1"}]}]}]}`

// fleetHost is one agent on its own apt root.
type fleetHost struct {
	name, root, state string
	settings          agent.Settings
	cancel            context.CancelFunc
	done              chan error
}

func (h *fleetHost) start(t *testing.T, url, token string) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	h.cancel, h.done = cancel, make(chan error, 1)
	cfg := agent.Config{Server: url, EnrollToken: token, StateDir: h.state, Root: h.root, Logger: testLogger(t).With("agent", h.name),
		Settings: h.settings, Version: "test"}
	go func() { h.done <- agent.Run(ctx, cfg) }()
}

func (h *fleetHost) stop(t *testing.T) {
	t.Helper()
	if h.cancel == nil {
		return
	}
	h.cancel()
	select {
	case err := <-h.done:
		if err != nil {
			t.Errorf("agent %s: %v", h.name, err)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("agent %s did not stop", h.name)
	}
	h.cancel = nil
}

// TestRealRollout runs a release with one real patch through three
// agents, each on its own apt root: two install demo 1.1 and verify it;
// on the third a health check fails after the upgrade, so the task fails
// and the agent rolls back to 1.0 and verifies that; one agent is
// offline when the wave starts and catches up when it comes back. The
// repository also has demo 1.2, which nobody must get.
func TestRealRollout(t *testing.T) {
	pkgtest.RequireApt(t)
	ctx := t.Context()
	rs := newRolloutServer(t)
	debs := pkgtest.DemoDebs("1.0", "1.1", "1.2")
	var hosts []*fleetHost
	for _, name := range []string{"web-01", "web-02", "web-03"} {
		root := pkgtest.AptRoot(t, debs...)
		pkgtest.InstallInitial(t, root, "demo=1.0")
		if err := os.WriteFile(filepath.Join(root, "etc/hostname"), []byte(name+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		h := &fleetHost{name: name, root: root, state: t.TempDir()}
		h.settings.MinFreeMB = 1
		h.settings.Hooks.PreInstall = []string{"echo snapshot of $PATCHWAVE_ROOT for task $PATCHWAVE_TASK_ID > $PATCHWAVE_ROOT/tmp/snapshot"}
		if name == "web-03" {
			// The application breaks on demo 1.1.
			h.settings.Checks.Commands = []string{`test "$(cat $PATCHWAVE_ROOT/usr/share/demo/version)" != 1.1`}
		}
		hosts = append(hosts, h)
	}
	var tok patchwave.EnrollToken
	if err := rs.admin.Do(ctx, "POST", "/api/v1/enroll-tokens", nil, map[string]any{"max_uses": 3, "tier": "business-operational"}, &tok); err != nil {
		t.Fatal(err)
	}
	// All three enroll and report; web-02 then goes offline.
	for _, h := range hosts {
		if _, err := agent.CheckinOnce(ctx, agent.Config{Server: rs.url, EnrollToken: tok.Token, StateDir: h.state, Root: h.root, Logger: testLogger(t)}); err != nil {
			t.Fatalf("%s: %v", h.name, err)
		}
	}
	if _, err := rs.admin.ImportFeed(ctx, "debian", "osv", strings.NewReader(demoAdvisory)); err != nil {
		t.Fatal(err)
	}
	if _, err := rs.admin.PutBaseline(ctx, json.RawMessage(`{"name":"all","rules":[{"min_severity":"low"}]}`), ""); err != nil {
		t.Fatal(err)
	}
	if err := rs.srv.Reassess(ctx); err != nil {
		t.Fatal(err)
	}
	var ws []json.RawMessage
	json.Unmarshal([]byte(`[{"order":0,"name":"all","max_concurrent_pct":100,"max_errors":1,"gate_success_pct":50,"gate_min_hosts":3,"reboot":"never","rollback_on_failure":true}]`), &ws)
	if err := rs.admin.Do(ctx, "PUT", "/api/v1/waves", nil, map[string]any{"waves": ws}, nil); err != nil {
		t.Fatal(err)
	}
	for _, h := range hosts {
		if h.name != "web-02" {
			h.start(t, rs.url, "")
		}
	}
	defer func() {
		for _, h := range hosts {
			h.stop(t)
		}
	}()
	f := false
	rel, err := rs.admin.CreateRelease(ctx, client.ReleaseRequest{OutOfBand: true, Compressed: &f, AllowNoWindow: true, Reason: "DSA-9001-1"})
	if err != nil {
		t.Fatal(err)
	}

	task := func(host string) patchwave.Task {
		ts, _, err := rs.admin.Tasks(ctx, rel.Name, client.TaskQuery{Wave: -1, Host: host})
		if err != nil || len(ts) != 1 {
			return patchwave.Task{}
		}
		return ts[0]
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	start := time.Now()
	waitFor("web-01 and web-03 to finish", func() bool {
		return task("web-01").State.Finished() && task("web-03").State.Finished()
	})
	t.Logf("two agents patched %v after the release", time.Since(start).Round(time.Millisecond))

	t1 := task("web-01")
	if t1.State != patchwave.TaskSucceeded || t1.Details == nil || len(t1.Details.Packages) != 1 {
		t.Fatalf("web-01 task %+v", t1)
	}
	if p := t1.Details.Packages[0]; p.Name != "demo" || p.Before != "1.0" || p.After != "1.1" || p.Target != "1.1" {
		t.Errorf("web-01 package change %+v", p)
	}
	if v := strings.TrimSpace(pkgtest.ReadFile(t, hosts[0].root, "usr/share/demo/version")); v != "1.1" {
		t.Errorf("web-01 has demo %q, want exactly 1.1 (1.2 is in the repository too)", v)
	}
	if s := pkgtest.ReadFile(t, hosts[0].root, "tmp/snapshot"); !strings.Contains(s, fmt.Sprintf("for task %d", t1.ID)) {
		t.Errorf("the pre-install hook did not run: %q", s)
	}
	if len(t1.Details.Hooks) != 1 || !t1.Details.Hooks[0].OK || !strings.Contains(t1.Output, "demo") {
		t.Errorf("web-01 hooks %+v output %q", t1.Details.Hooks, t1.Output)
	}

	t3 := task("web-03")
	if t3.State != patchwave.TaskFailed || !strings.Contains(t3.Error, "verification failed") || !strings.Contains(t3.Error, "rolled back") ||
		t3.Details == nil || !t3.Details.RolledBack {
		t.Fatalf("web-03 task %+v", t3)
	}
	if v := strings.TrimSpace(pkgtest.ReadFile(t, hosts[2].root, "usr/share/demo/version")); v != "1.0" {
		t.Errorf("web-03 has demo %q after the rollback, want 1.0", v)
	}

	// web-02 was offline; it comes back and catches up.
	if st := task("web-02").State; st.Finished() {
		t.Fatalf("web-02 finished while offline: %s", st)
	}
	hosts[1].start(t, rs.url, "")
	waitFor("web-02 to catch up", func() bool { return task("web-02").State.Finished() })
	if t2 := task("web-02"); t2.State != patchwave.TaskSucceeded {
		t.Errorf("web-02 task %+v", t2)
	}
	waitFor("the rollout to complete", func() bool {
		ro, err := rs.admin.Rollout(ctx, rel.Name)
		return err == nil && ro.Release.State == patchwave.RolloutCompleted
	})
	// The inventory followed: web-01 and web-02 no longer miss the patch, web-03 still does.
	waitFor("the findings to follow", func() bool {
		rs.srv.Reassess(ctx)
		open, _, err := rs.admin.Findings(ctx, patchwave.FindingFilter{Package: "demo"})
		return err == nil && len(open) == 1 && open[0].Host == "web-03"
	})

	// Tasks asked for outside the rollout reach the online agents within
	// seconds: a rollback of web-01 to what the install found, a
	// verification of web-02, a hook web-02 has configured, and one it
	// has not.
	adhoc := func(host string, req client.HostTaskRequest) patchwave.Task {
		t.Helper()
		tk, err := rs.admin.CreateHostTask(ctx, host, req)
		if err != nil {
			t.Fatalf("%s %s: %v", host, req.Kind, err)
		}
		start := time.Now()
		waitFor(fmt.Sprintf("%s %s", host, req.Kind), func() bool {
			tk, err = rs.admin.Task(ctx, tk.ID)
			return err == nil && tk.State.Finished()
		})
		t.Logf("%s %s took %v", host, req.Kind, time.Since(start).Round(time.Millisecond))
		return tk
	}
	rb := adhoc("web-01", client.HostTaskRequest{Kind: "rollback", Release: rel.Name, Reason: "the application misbehaves"})
	if rb.State != patchwave.TaskSucceeded || rb.RollbackOf != t1.ID || rb.Details == nil || len(rb.Details.Packages) != 1 ||
		rb.Details.Packages[0].Before != "1.1" || rb.Details.Packages[0].After != "1.0" {
		t.Errorf("rollback of web-01: %+v %+v", rb, rb.Details)
	}
	if v := strings.TrimSpace(pkgtest.ReadFile(t, hosts[0].root, "usr/share/demo/version")); v != "1.0" {
		t.Errorf("web-01 has demo %q after its rollback, want 1.0", v)
	}
	if vf := adhoc("web-02", client.HostTaskRequest{Kind: "verify", Release: rel.Name, Reason: "audit"}); vf.State != patchwave.TaskSucceeded {
		t.Errorf("verify of web-02: %+v", vf)
	}
	if vf := adhoc("web-01", client.HostTaskRequest{Kind: "verify", Release: rel.Name, Reason: "after the rollback"}); vf.State != patchwave.TaskFailed ||
		!strings.Contains(vf.Error, "demo") {
		t.Errorf("verify of web-01 after its rollback should fail naming demo: %+v", vf)
	}
	if hk := adhoc("web-02", client.HostTaskRequest{Kind: "run-hook", Hook: "nope", Reason: "test"}); hk.State != patchwave.TaskFailed ||
		!strings.Contains(hk.Error, "nope") {
		t.Errorf("an unconfigured hook: %+v", hk)
	}
	if _, err := rs.admin.CreateHostTask(ctx, "web-02", client.HostTaskRequest{Kind: "install", Reason: "x"}); patchwave.ErrorCode(err) != patchwave.EInvalid {
		t.Errorf("an ad-hoc install: %v", err)
	}
	if _, err := rs.admin.CreateHostTask(ctx, "web-02", client.HostTaskRequest{Kind: "rollback", Reason: "x"}); patchwave.ErrorCode(err) != patchwave.EInvalid {
		t.Errorf("a rollback without a release: %v", err)
	}
	if _, err := rs.admin.CreateHostTask(ctx, "web-02", client.HostTaskRequest{Kind: "scan"}); patchwave.ErrorCode(err) != patchwave.EInvalid {
		t.Errorf("a task without a reason: %v", err)
	}
	if sc := adhoc("web-02", client.HostTaskRequest{Kind: "scan", Reason: "now"}); sc.State != patchwave.TaskSucceeded {
		t.Errorf("scan of web-02: %+v", sc)
	}
	if ts, _, err := rs.admin.HostTasks(ctx, "web-02", "", 0); err != nil || len(ts) != 4 {
		t.Errorf("web-02 tasks: %d, %v", len(ts), err)
	}
}

// TestTamperedTasksRefused puts a man in the middle between a server and
// its agent who changes the version of every task handed over: the agent
// refuses the task and reports it, and nothing is installed.
func TestTamperedTasksRefused(t *testing.T) {
	pkgtest.RequireApt(t)
	ctx := t.Context()
	rs := newRolloutServer(t)
	root := pkgtest.AptRoot(t, pkgtest.DemoDebs("1.0", "1.1", "1.2")...)
	pkgtest.InstallInitial(t, root, "demo=1.0")
	os.WriteFile(filepath.Join(root, "etc/hostname"), []byte("web-01\n"), 0o644)
	var tok patchwave.EnrollToken
	if err := rs.admin.Do(ctx, "POST", "/api/v1/enroll-tokens", nil, map[string]any{}, &tok); err != nil {
		t.Fatal(err)
	}
	h := &fleetHost{name: "web-01", root: root, state: t.TempDir()}
	h.settings.MinFreeMB = 1
	if _, err := agent.CheckinOnce(ctx, agent.Config{Server: rs.url, EnrollToken: tok.Token, StateDir: h.state, Root: root, Logger: testLogger(t)}); err != nil {
		t.Fatal(err)
	}
	if _, err := rs.admin.ImportFeed(ctx, "debian", "osv", strings.NewReader(demoAdvisory)); err != nil {
		t.Fatal(err)
	}
	if _, err := rs.admin.PutBaseline(ctx, json.RawMessage(`{"name":"all","rules":[{"min_severity":"low"}]}`), ""); err != nil {
		t.Fatal(err)
	}
	rs.srv.Reassess(ctx)
	if err := rs.admin.Do(ctx, "PUT", "/api/v1/waves", nil, json.RawMessage(`{"waves":[{"order":0,"name":"all","reboot":"never"}]}`), nil); err != nil {
		t.Fatal(err)
	}
	rs.mu.Lock()
	rs.tamper = func(r *patchwave.CheckinResponse) {
		for i := range r.Tasks {
			for j := range r.Tasks[i].Patches {
				r.Tasks[i].Patches[j].Version = "1.2"
			}
		}
	}
	rs.mu.Unlock()
	f := false
	rel, err := rs.admin.CreateRelease(ctx, client.ReleaseRequest{OutOfBand: true, Compressed: &f, AllowNoWindow: true, Reason: "test"})
	if err != nil {
		t.Fatal(err)
	}
	h.start(t, rs.url, "")
	defer h.stop(t)
	var tk patchwave.Task
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ts, _, err := rs.admin.Tasks(ctx, rel.Name, client.TaskQuery{Wave: -1})
		if err == nil && len(ts) == 1 && ts[0].State.Finished() {
			tk = ts[0]
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if tk.State != patchwave.TaskFailed || !strings.Contains(tk.Error, "refused: task") || !strings.Contains(tk.Error, "bad signature") ||
		tk.Details == nil || !tk.Details.Refused {
		t.Fatalf("tampered task: %+v", tk)
	}
	if v := strings.TrimSpace(pkgtest.ReadFile(t, root, "usr/share/demo/version")); v != "1.0" {
		t.Errorf("demo is %q after a refused task, want 1.0", v)
	}
}

// almaAdvisory says demo before 1.1-1 is vulnerable on AlmaLinux 9.
const almaAdvisory = `{"id":"ALSA-2026:9001","modified":"2026-12-01T00:00:00Z","published":"2026-12-01T00:00:00Z","aliases":["CVE-2026-9001"],
 "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
 "affected":[{"package":{"ecosystem":"AlmaLinux:9","name":"demo"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.1-1"}]}]}]}`

// TestRealRolloutDnf runs a release through an agent on a dnf root: it
// installs exactly demo 1.1-1 (1.2-1 is in the repository too), and a
// rollback asked for afterwards downgrades it to 1.0-1.
func TestRealRolloutDnf(t *testing.T) {
	pkgtest.RequireDnf(t)
	ctx := t.Context()
	rs := newRolloutServer(t)
	root := pkgtest.DnfRoot(t, pkgtest.DemoRPMs("1.0-1", "1.1-1", "1.2-1")...)
	pkgtest.InstallInitial(t, root, "demo=1.0-1")
	os.WriteFile(filepath.Join(root, "etc/hostname"), []byte("db-01\n"), 0o644)
	var tok patchwave.EnrollToken
	if err := rs.admin.Do(ctx, "POST", "/api/v1/enroll-tokens", nil, map[string]any{}, &tok); err != nil {
		t.Fatal(err)
	}
	h := &fleetHost{name: "db-01", root: root, state: t.TempDir()}
	h.settings.MinFreeMB = 1
	if _, err := agent.CheckinOnce(ctx, agent.Config{Server: rs.url, EnrollToken: tok.Token, StateDir: h.state, Root: root, Logger: testLogger(t)}); err != nil {
		t.Fatal(err)
	}
	if _, err := rs.admin.ImportFeed(ctx, "almalinux", "osv", strings.NewReader(almaAdvisory)); err != nil {
		t.Fatal(err)
	}
	if _, err := rs.admin.PutBaseline(ctx, json.RawMessage(`{"name":"all","rules":[{"min_severity":"low"}]}`), ""); err != nil {
		t.Fatal(err)
	}
	rs.srv.Reassess(ctx)
	if err := rs.admin.Do(ctx, "PUT", "/api/v1/waves", nil, json.RawMessage(`{"waves":[{"order":0,"name":"all","reboot":"never"}]}`), nil); err != nil {
		t.Fatal(err)
	}
	f := false
	rel, err := rs.admin.CreateRelease(ctx, client.ReleaseRequest{OutOfBand: true, Compressed: &f, AllowNoWindow: true, Reason: "ALSA-2026:9001"})
	if err != nil {
		t.Fatal(err)
	}
	h.start(t, rs.url, "")
	defer h.stop(t)
	wait := func(what string, get func() (patchwave.Task, bool)) patchwave.Task {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			if tk, ok := get(); ok && tk.State.Finished() {
				return tk
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("timed out waiting for %s", what)
		return patchwave.Task{}
	}
	inst := wait("the install", func() (patchwave.Task, bool) {
		ts, _, err := rs.admin.Tasks(ctx, rel.Name, client.TaskQuery{Wave: -1})
		if err != nil || len(ts) != 1 {
			return patchwave.Task{}, false
		}
		return ts[0], true
	})
	if inst.State != patchwave.TaskSucceeded || inst.Details == nil || len(inst.Details.Packages) != 1 ||
		inst.Details.Packages[0].Before != "1.0-1" || inst.Details.Packages[0].After != "1.1-1" {
		t.Fatalf("install on dnf: %+v %+v", inst, inst.Details)
	}
	rpmVersion := func() string {
		out, err := exec.Command("rpm", "--root", root, "--dbpath", "/var/lib/rpm", "-q", "--qf", "%{VERSION}-%{RELEASE}", "demo").Output()
		if err != nil {
			t.Fatalf("rpm -q: %v", err)
		}
		return string(out)
	}
	if v := rpmVersion(); v != "1.1-1" {
		t.Errorf("demo %s after the install, want exactly 1.1-1", v)
	}
	tk, err := rs.admin.CreateHostTask(ctx, "db-01", client.HostTaskRequest{Kind: "rollback", Release: rel.Name, Reason: "test"})
	if err != nil {
		t.Fatal(err)
	}
	rb := wait("the rollback", func() (patchwave.Task, bool) {
		tk, err := rs.admin.Task(ctx, tk.ID)
		return tk, err == nil
	})
	if rb.State != patchwave.TaskSucceeded || rb.Details == nil || !rb.Details.RolledBack || len(rb.Details.Packages) != 1 ||
		rb.Details.Packages[0].After != "1.0-1" {
		t.Errorf("rollback on dnf: %+v %+v", rb, rb.Details)
	}
	if v := rpmVersion(); v != "1.0-1" {
		t.Errorf("demo %s after the rollback, want 1.0-1", v)
	}
}
