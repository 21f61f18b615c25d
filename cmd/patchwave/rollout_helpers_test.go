package main_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchwave/patchwave/internal/pkgmgr/pkgtest"
)

// cli runs the binary as a user would, with its own config directory.
type cli struct {
	t   *testing.T
	bin string
	env []string
	dir string // for files the test writes
}

func newCLI(t *testing.T, bin string, env ...string) *cli {
	home := t.TempDir()
	return &cli{t: t, bin: bin, dir: t.TempDir(),
		env: append(append(os.Environ(), "XDG_CONFIG_HOME="+home, "HOME="+home, "PATCHWAVE_SERVER=", "PATCHWAVE_TOKEN=", "PATCHWAVE_DATABASE="), env...)}
}

// run runs the binary with args and stdin, and fails the test when it fails.
func (c *cli) run(stdin string, args ...string) string {
	c.t.Helper()
	out, err := c.try(stdin, args...)
	if err != nil {
		c.t.Fatalf("patchwave %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// try runs the binary and returns its output and error.
func (c *cli) try(stdin string, args ...string) (string, error) {
	cmd := exec.Command(c.bin, args...)
	cmd.Env, cmd.Stdin = c.env, strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// write writes a file for the test and returns its path.
func (c *cli) write(name, body string) string {
	c.t.Helper()
	p := filepath.Join(c.dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		c.t.Fatal(err)
	}
	return p
}

// demoAdvisory is an OSV record saying demo before 1.1 is vulnerable.
func demoAdvisory(id string) string {
	return `{"id":"` + id + `","modified":"2026-12-01T00:00:00Z","published":"2026-12-01T00:00:00Z",
	 "affected":[{"package":{"ecosystem":"Debian:12","name":"demo"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.1"}]}]}],
	 "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}`
}

// aptHost is a real agent's host: an apt root with demo 1.0 installed.
type aptHost struct{ name, root, state string }

// enrollAptHosts makes n apt roots named prefix-01… and enrolls each
// with a one-off check-in at url.
func (c *cli) enrollAptHosts(url, prefix string, n int) []aptHost {
	c.t.Helper()
	var tok struct{ Token string }
	json.Unmarshal([]byte(c.run("", "enroll-tokens", "create", "--max-uses", fmt.Sprint(n), "-o", "json")), &tok)
	var hosts []aptHost
	for i := range n {
		h := aptHost{name: fmt.Sprintf("%s-%02d", prefix, i+1), root: pkgtest.AptRoot(c.t, pkgtest.DemoDebs("1.0", "1.1")...),
			state: filepath.Join(c.dir, fmt.Sprintf("agent-%d", i))}
		pkgtest.InstallInitial(c.t, h.root, "demo=1.0")
		os.WriteFile(filepath.Join(h.root, "etc/hostname"), []byte(h.name+"\n"), 0o644)
		c.run("", "agent", "--server", url, "--enroll-token", tok.Token, "--state-dir", h.state, "--root", h.root, "--once")
		hosts = append(hosts, h)
	}
	return hosts
}

// oneAtATimeRelease loads an advisory for demo, a baseline approving it
// and one wave patching one host at a time, and creates an out-of-band
// release once the assessment has approved the patch. It returns the
// release's name.
func (c *cli) oneAtATimeRelease(id string) string {
	c.t.Helper()
	c.run("", "feeds", "import", "--feed", "debian", "--kind", "osv", c.write(id+".json", demoAdvisory(id)))
	c.run(`{"name":"all","rules":[{"min_severity":"low"}]}`, "baselines", "apply", "-")
	c.run("", "waves", "set", c.write("waves.json", `[{"order":0,"name":"all","max_concurrent":1,"reboot":"never"}]`))
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		out, err := c.try("", "releases", "create", "--out-of-band", "--not-compressed", "--allow-no-window", "--reason", id, "-o", "json")
		if err == nil {
			var rel struct{ Name string }
			if err := json.Unmarshal([]byte(out), &rel); err != nil {
				c.t.Fatalf("releases create: %v %s", err, out)
			}
			return rel.Name
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("releases create: %v %s", err, out)
		}
	}
}

// startAgents runs a long-lived agent for each host, with the settings file.
func (c *cli) startAgents(hosts []aptHost, settings string) {
	for _, h := range hosts {
		cmd := exec.Command(c.bin, "agent", "--state-dir", h.state, "--root", h.root, "--config", settings)
		cmd.Env = c.env
		if err := cmd.Start(); err != nil {
			c.t.Fatal(err)
		}
		c.t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	}
}

// rolloutTask is a task as "rollouts tasks -o json" lists it.
type rolloutTask struct {
	Hostname, State string
	Attempt         int
	FirstResult     string `json:"first_result"`
}

func (c *cli) tasks(release string) []rolloutTask {
	out, _ := c.try("", "rollouts", "tasks", release, "-o", "json")
	var ts []rolloutTask
	json.Unmarshal([]byte(out), &ts)
	return ts
}

func (c *cli) succeeded(release string) (n int) {
	for _, tk := range c.tasks(release) {
		if tk.State == "succeeded" {
			n++
		}
	}
	return n
}

func (c *cli) waitFor(release, what string, ok func() bool) {
	c.t.Helper()
	for deadline := time.Now().Add(90 * time.Second); !ok(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out waiting for %s; tasks %+v", what, c.tasks(release))
		}
	}
}

// patchedOnce checks every task had one successful attempt, and each host
// has demo 1.1 and one task in its journal.
func (c *cli) patchedOnce(release string, hosts []aptHost) {
	c.t.Helper()
	for _, tk := range c.tasks(release) {
		if tk.Attempt != 1 || tk.FirstResult != "succeeded" {
			c.t.Errorf("task of %s: attempt %d, first result %q: want one successful attempt", tk.Hostname, tk.Attempt, tk.FirstResult)
		}
	}
	for _, h := range hosts {
		if v := strings.TrimSpace(pkgtest.ReadFile(c.t, h.root, "usr/share/demo/version")); v != "1.1" {
			c.t.Errorf("%s has demo %q", h.name, v)
		}
		if done, _ := filepath.Glob(filepath.Join(h.state, "tasks", "done", "*.json")); len(done) != 1 {
			c.t.Errorf("%s ran %d tasks, want exactly 1: %v", h.name, len(done), done)
		}
	}
	c.waitFor(release, "the rollout to complete", func() bool { return strings.Contains(c.run("", "rollouts", "show", release), "completed") })
}
