package main_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/patchwave/patchwave/internal/pkgmgr/pkgtest"
)

// startServerArgs is startServer with extra flags.
func startServerArgs(tb testing.TB, bin string, extra ...string) string {
	tb.Helper()
	url, _ := startServerCmd(tb, bin, extra...)
	return url
}

// startServerCmd is startServerArgs returning the process as well.
func startServerCmd(tb testing.TB, bin string, extra ...string) (string, *exec.Cmd) {
	tb.Helper()
	cmd := exec.Command(bin, append([]string{"server", "--data-dir", filepath.Join(tb.TempDir(), "data"), "--listen", "127.0.0.1:0"}, extra...)...)
	cmd.Env = append(os.Environ(), "PATCHWAVE_ADMIN_PASSWORD=e2e-admin-password")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var log bytes.Buffer
	sc := bufio.NewScanner(stderr)
	urlRE := regexp.MustCompile(`url=(https?://\S+)`)
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		if m := urlRE.FindStringSubmatch(sc.Text()); m != nil {
			go func() {
				for sc.Scan() {
				}
			}()
			return m[1], cmd
		}
	}
	tb.Fatalf("server did not start:\n%s", log.String())
	return "", nil
}

// TestAgentSurvivesCrashAndReboot kills the real agent in the middle of
// an install (during its post-install hook) and starts it again: it
// resumes the same attempt, verifies, reboots as the wave says, and once
// "the host" is back (a new boot id) finishes the task, which the server
// records as one successful first attempt with the reboot.
func TestAgentSurvivesCrashAndReboot(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	pkgtest.RequireApt(t)
	bin := build(t)
	url := startServerArgs(t, bin, "--rollout-interval", "200ms", "--agent-wait", "2s")
	env := append(os.Environ(), "XDG_CONFIG_HOME="+t.TempDir(), "HOME="+t.TempDir(), "PATCHWAVE_SERVER=", "PATCHWAVE_TOKEN=")
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
	json.Unmarshal([]byte(run("", "enroll-tokens", "create", "-o", "json")), &tok)
	root := pkgtest.AptRoot(t, pkgtest.DemoDebs("1.0", "1.1")...)
	pkgtest.InstallInitial(t, root, "demo=1.0")
	os.WriteFile(filepath.Join(root, "etc/hostname"), []byte("app-01\n"), 0o644)
	state := filepath.Join(dir, "agent")
	run("", "agent", "--server", url, "--enroll-token", tok.Token, "--state-dir", state, "--root", root, "--once")

	run("", "feeds", "import", "--feed", "debian", "--kind", "osv", write("dsa.json", `{"id":"DSA-9002-1","modified":"2026-12-01T00:00:00Z","published":"2026-12-01T00:00:00Z",
	 "affected":[{"package":{"ecosystem":"Debian:12","name":"demo"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.1"}]}]}],
	 "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}`))
	run(`{"name":"all","rules":[{"min_severity":"low"}]}`, "baselines", "apply", "-")
	run("", "waves", "set", write("waves.json", `[{"order":0,"name":"all","reboot":"always"}]`))
	bootID := filepath.Join(dir, "boot_id")
	os.WriteFile(bootID, []byte("boot-1\n"), 0o644)
	settings := func(postInstall string) string {
		return write("agent.json", `{"min_free_mb": 1, "boot_id_file": "`+bootID+`",
		 "hooks": {"post_install": ["`+postInstall+`"]},
		 "reboot_command": ["sh", "-c", "echo boot-2 > `+bootID+`"]}`)
	}
	var rel struct{ Name string }
	// The assessment runs in the background: retry until the finding is approved.
	deadline := time.Now().Add(20 * time.Second)
	for {
		cmd := exec.Command(bin, "releases", "create", "--out-of-band", "--not-compressed", "--allow-no-window", "--reason", "DSA-9002-1", "-o", "json")
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
	startAgent := func(cfg string) *exec.Cmd {
		cmd := exec.Command(bin, "agent", "--state-dir", state, "--root", root, "--config", cfg)
		cmd.Env = env
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd
	}
	waitFile := func(path string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			if _, err := os.Stat(path); err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", path)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	type task struct {
		ID, Attempt         int
		State, Phase, Error string
		FirstResult         string `json:"first_result"`
		Details             struct {
			Rebooted bool
			Packages []struct{ Name, Before, After string }
		}
	}
	tasks := func() []task {
		var ts []task
		json.Unmarshal([]byte(run("", "rollouts", "tasks", rel.Name, "-o", "json")), &ts)
		return ts
	}

	// 1. The agent installs, and is killed in its post-install hook.
	a := startAgent(settings("touch $PATCHWAVE_ROOT/tmp/in-hook; sleep 60"))
	waitFile(filepath.Join(root, "tmp/in-hook"))
	a.Process.Kill()
	a.Wait()
	if v := strings.TrimSpace(pkgtest.ReadFile(t, root, "usr/share/demo/version")); v != "1.1" {
		t.Fatalf("demo %q when killed, want 1.1 installed", v)
	}
	if ts := tasks(); len(ts) != 1 || ts[0].State != "running" || ts[0].Phase != "post-install" {
		t.Fatalf("tasks after the crash: %+v", ts)
	}

	// 2. Started again, it resumes the same attempt and reboots.
	a = startAgent(settings("true"))
	deadline = time.Now().Add(30 * time.Second)
	for {
		b, _ := os.ReadFile(bootID)
		if strings.TrimSpace(string(b)) == "boot-2" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no reboot; tasks %+v", tasks())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	if ts := tasks(); len(ts) != 1 || ts[0].State != "running" || ts[0].Phase != "rebooting" {
		t.Fatalf("tasks while rebooting: %+v", ts)
	}
	a.Process.Kill() // the reboot takes the agent down
	a.Wait()

	// 3. After the "reboot" the agent finishes the task and checks in.
	startAgent(settings("true"))
	deadline = time.Now().Add(30 * time.Second)
	var ts []task
	for {
		ts = tasks()
		if len(ts) == 1 && ts[0].State == "succeeded" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tasks after the reboot: %+v", ts)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if ts[0].Attempt != 1 || ts[0].FirstResult != "succeeded" || !ts[0].Details.Rebooted || len(ts[0].Details.Packages) != 1 ||
		ts[0].Details.Packages[0].Before != "1.0" || ts[0].Details.Packages[0].After != "1.1" {
		t.Errorf("task %+v", ts[0])
	}
	done, _ := filepath.Glob(filepath.Join(state, "tasks", "done", "*.json"))
	open, _ := filepath.Glob(filepath.Join(state, "tasks", "*.json"))
	if len(done) != 1 || len(open) != 0 {
		t.Errorf("journal: done %v, open %v", done, open)
	}

	// 4. People roll the host back from the command line and read the report.
	out := run("", "tasks", "create", "app-01", "--kind", "rollback", "--release", rel.Name, "--reason", "the app misbehaves", "--wait")
	for _, want := range []string{"rollback on app-01, attempt 1: succeeded", "demo 1.1 -> 1.0 (target 1.0)", "The previous versions were restored."} {
		if !strings.Contains(out, want) {
			t.Errorf("tasks create --wait lacks %q:\n%s", want, out)
		}
	}
	if v := strings.TrimSpace(pkgtest.ReadFile(t, root, "usr/share/demo/version")); v != "1.0" {
		t.Errorf("demo %q after the rollback, want 1.0", v)
	}
	if out := run("", "tasks", "list", "app-01"); !strings.Contains(out, "install") || !strings.Contains(out, "rollback") || !strings.Contains(out, "admin") {
		t.Errorf("tasks list:\n%s", out)
	}
	cmd := exec.Command(bin, "tasks", "create", "app-01", "--kind", "run-hook", "--hook", "missing", "--reason", "x", "--wait")
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "missing") {
		t.Errorf("an unconfigured hook should fail naming it: %v\n%s", err, out)
	}
}
