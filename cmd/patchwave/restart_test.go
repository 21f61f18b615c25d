package main_test

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchwave/patchwave/internal/pkgmgr/pkgtest"
)

// TestServerKilledMidRollout kills the only server (SQLite) with SIGKILL
// in the middle of a rollout that patches one host at a time, and starts
// it again on the same data directory and address: the agents carry on,
// the rollout completes, and every host is patched exactly once.
func TestServerKilledMidRollout(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	pkgtest.RequireApt(t)
	bin := build(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	data := filepath.Join(t.TempDir(), "data")
	args := []string{"--data-dir", data, "--listen", addr, "--rollout-interval", "200ms", "--agent-wait", "2s", "--checkin-interval", "10s"}
	url, proc := startServerCmd(t, bin, args...)

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
	run("e2e-admin-password\n", "login", "--server", url, "--user", "admin", "--password-stdin")
	var tok struct{ Token string }
	json.Unmarshal([]byte(run("", "enroll-tokens", "create", "--max-uses", "3", "-o", "json")), &tok)
	settings := write("agent.json", `{"min_free_mb": 1, "hooks": {"pre_install": ["sleep 1"]}}`)
	type host struct{ name, root, state string }
	var hosts []host
	for i := range 3 {
		h := host{name: fmt.Sprintf("db-%02d", i+1), root: pkgtest.AptRoot(t, pkgtest.DemoDebs("1.0", "1.1")...), state: filepath.Join(dir, fmt.Sprintf("agent-%d", i))}
		pkgtest.InstallInitial(t, h.root, "demo=1.0")
		os.WriteFile(filepath.Join(h.root, "etc/hostname"), []byte(h.name+"\n"), 0o644)
		run("", "agent", "--server", url, "--enroll-token", tok.Token, "--state-dir", h.state, "--root", h.root, "--once")
		hosts = append(hosts, h)
	}
	run("", "feeds", "import", "--feed", "debian", "--kind", "osv", write("dsa.json", `{"id":"DSA-9004-1","modified":"2026-12-01T00:00:00Z","published":"2026-12-01T00:00:00Z",
	 "affected":[{"package":{"ecosystem":"Debian:12","name":"demo"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.1"}]}]}],
	 "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}`))
	run(`{"name":"all","rules":[{"min_severity":"low"}]}`, "baselines", "apply", "-")
	run("", "waves", "set", write("waves.json", `[{"order":0,"name":"all","max_concurrent":1,"reboot":"never"}]`))
	var rel struct{ Name string }
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		cmd := exec.Command(bin, "releases", "create", "--out-of-band", "--not-compressed", "--allow-no-window", "--reason", "DSA-9004-1", "-o", "json")
		cmd.Env = env
		out, err := cmd.Output()
		if err == nil {
			json.Unmarshal(out, &rel)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("releases create: %v %s", err, out)
		}
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
		cmd := exec.Command(bin, "rollouts", "tasks", rel.Name, "-o", "json")
		cmd.Env = env
		out, _ := cmd.Output()
		var ts []task
		json.Unmarshal(out, &ts)
		return ts
	}
	succeeded := func() (n int) {
		for _, tk := range tasks() {
			if tk.State == "succeeded" {
				n++
			}
		}
		return n
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(90 * time.Second); !ok(); time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s; tasks %+v", what, tasks())
			}
		}
	}
	waitFor("the first host", func() bool { return succeeded() >= 1 })
	if succeeded() == 3 {
		t.Fatal("the rollout ended before the server could be killed")
	}
	proc.Process.Signal(os.Kill)
	proc.Wait()
	time.Sleep(500 * time.Millisecond) // agents find it gone
	startServerArgs(t, bin, args...)
	waitFor("every host", func() bool { return succeeded() == 3 })
	for _, tk := range tasks() {
		if tk.Attempt != 1 || tk.FirstResult != "succeeded" {
			t.Errorf("task of %s: attempt %d, first result %q: want one successful attempt", tk.Hostname, tk.Attempt, tk.FirstResult)
		}
	}
	for _, h := range hosts {
		if v := strings.TrimSpace(pkgtest.ReadFile(t, h.root, "usr/share/demo/version")); v != "1.1" {
			t.Errorf("%s has demo %q", h.name, v)
		}
		if done, _ := filepath.Glob(filepath.Join(h.state, "tasks", "done", "*.json")); len(done) != 1 {
			t.Errorf("%s ran %d tasks, want exactly 1", h.name, len(done))
		}
	}
	waitFor("the rollout to complete", func() bool { return strings.Contains(run("", "rollouts", "show", rel.Name), "completed") })
}
