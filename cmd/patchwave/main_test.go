package main_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// build compiles the real binary once per test binary run.
func build(tb testing.TB) string {
	tb.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		tb.Skip("go command not found")
	}
	bin := filepath.Join(tb.TempDir(), "patchwave")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// startServer runs `patchwave server` and returns its URL.
func startServer(tb testing.TB, bin string) (string, *exec.Cmd, *bytes.Buffer) {
	tb.Helper()
	cmd := exec.Command(bin, "server", "--data-dir", filepath.Join(tb.TempDir(), "data"), "--listen", "127.0.0.1:0")
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
	urlRE := regexp.MustCompile(`url=(http://\S+)`)
	deadline := time.Now().Add(30 * time.Second)
	for sc.Scan() && time.Now().Before(deadline) {
		log.WriteString(sc.Text() + "\n")
		if m := urlRE.FindStringSubmatch(sc.Text()); m != nil {
			go func() {
				for sc.Scan() {
				}
			}()
			return m[1], cmd, &log
		}
	}
	tb.Fatalf("server did not start:\n%s", log.String())
	return "", nil, nil
}

// fakeRoot writes a small system root: os-release, hostname and a dpkg database.
func fakeRoot(tb testing.TB, hostname string, packages int) string {
	tb.Helper()
	root := tb.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.MkdirAll(filepath.Join(root, "var/lib/dpkg"), 0o755)
	os.WriteFile(filepath.Join(root, "etc/os-release"), []byte("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nID=debian\n"), 0o644)
	os.WriteFile(filepath.Join(root, "etc/hostname"), []byte(hostname+"\n"), 0o644)
	var b strings.Builder
	for i := 0; i < packages; i++ {
		fmt.Fprintf(&b, "Package: pkg%04d\nStatus: install ok installed\nArchitecture: amd64\nSource: src%04d (1.%d-1)\nVersion: 1.%d-1+b1\nDescription: test\n\n", i, i/3, i, i)
	}
	os.WriteFile(filepath.Join(root, "var/lib/dpkg/status"), []byte(b.String()), 0o644)
	return root
}

// TestBinaryEndToEnd drives the real binary as a user would: server, login,
// enrollment token, agent, and the hosts verbs.
func TestBinaryEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := build(t)
	url, srv, srvLog := startServer(t, bin)
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
	run("e2e-admin-password\n", "login", "--server", url, "--user", "admin", "--password-stdin")
	var tok struct{ Token string }
	if err := json.Unmarshal([]byte(run("", "enroll-tokens", "create", "--site", "bangalore", "--tier", "business-operational", "--tags", "qa,web", "-o", "json")), &tok); err != nil || tok.Token == "" {
		t.Fatalf("enroll token: %v", err)
	}
	root := fakeRoot(t, "web-01", 300)
	state := filepath.Join(t.TempDir(), "agent")
	run("", "agent", "--server", url, "--enroll-token", tok.Token, "--state-dir", state, "--root", root, "--once")
	if fi, err := os.Stat(filepath.Join(state, "agent.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("agent state: %v %v", fi, err)
	}
	// A second run needs no token and sends nothing new.
	run("", "agent", "--state-dir", state, "--root", root, "--once")

	list := run("", "hosts", "list")
	if !strings.Contains(list, "web-01") || !strings.Contains(list, "bangalore") {
		t.Errorf("hosts list:\n%s", list)
	}
	var show struct {
		Host struct {
			Hostname, Site, Tier string
			Tags                 []string
		}
		Packages []struct{ Name, Version, Source string }
	}
	if err := json.Unmarshal([]byte(run("", "hosts", "show", "web-01", "-o", "json")), &show); err != nil {
		t.Fatal(err)
	}
	if show.Host.Site != "bangalore" || len(show.Packages) != 300 || show.Packages[0].Version != "1.0-1+b1" || show.Packages[0].Source != "src0000" {
		t.Errorf("hosts show: %+v (%d packages)", show.Host, len(show.Packages))
	}
	run("", "hosts", "set", "web-01", "--tier", "mission-critical", "--site", "frankfurt", "--owner", "alice", "--tags", "prod,db")
	csv := filepath.Join(t.TempDir(), "assets.csv")
	os.WriteFile(csv, []byte("hostname,ip,os,site,tier,owner\nfs-01,10.0.0.5,Windows Server 2022,paris,business-operational,bob\n"), 0o644)
	run("", "hosts", "import", csv)
	list = run("", "hosts", "list", "--site", "frankfurt", "-o", "json")
	if !strings.Contains(list, `"mission-critical"`) || !strings.Contains(list, `"alice"`) || strings.Contains(list, "fs-01") {
		t.Errorf("filtered list:\n%s", list)
	}
	if !strings.Contains(run("", "hosts", "list"), "fs-01") {
		t.Error("imported host missing")
	}
	// The server stops cleanly on SIGTERM.
	srv.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- srv.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("server exit: %v\n%s", err, srvLog)
		}
	case <-time.After(15 * time.Second):
		t.Error("server did not stop on SIGTERM")
	}
}

// BenchmarkAgentIdleRSS runs the real agent against the real server and
// reports its resident memory once it is idle between check-ins.
func BenchmarkAgentIdleRSS(b *testing.B) {
	bin := build(b)
	url, _, _ := startServer(b, bin)
	env := append(os.Environ(), "XDG_CONFIG_HOME="+b.TempDir(), "PATCHWAVE_SERVER=", "PATCHWAVE_TOKEN=")
	login := exec.Command(bin, "login", "--server", url, "--user", "admin", "--password-stdin")
	login.Env, login.Stdin = env, strings.NewReader("e2e-admin-password\n")
	if out, err := login.CombinedOutput(); err != nil {
		b.Fatalf("login: %v %s", err, out)
	}
	mk := exec.Command(bin, "enroll-tokens", "create", "-o", "json")
	mk.Env = env
	out, err := mk.Output()
	if err != nil {
		b.Fatal(err)
	}
	var tok struct{ Token string }
	json.Unmarshal(out, &tok)
	root := fakeRoot(b, "idle-01", 3000)
	for b.Loop() {
		agent := exec.Command(bin, "agent", "--server", url, "--enroll-token", tok.Token, "--state-dir", b.TempDir(), "--root", root, "--interval", "1h")
		stderr, err := agent.StderrPipe()
		if err != nil {
			b.Fatal(err)
		}
		if err := agent.Start(); err != nil {
			b.Fatal(err)
		}
		checkedIn := make(chan bool, 1)
		go func() {
			sc := bufio.NewScanner(stderr)
			for sc.Scan() {
				if strings.Contains(sc.Text(), "checked in") {
					select {
					case checkedIn <- true:
					default:
					}
				}
			}
		}()
		select {
		case <-checkedIn:
		case <-time.After(30 * time.Second):
			b.Fatal("agent did not check in")
		}
		time.Sleep(2 * time.Second) // idle
		rss := vmRSS(b, agent.Process.Pid)
		agent.Process.Kill()
		agent.Wait()
		b.ReportMetric(rss, "idle-RSS-MB")
	}
}

func vmRSS(b *testing.B, pid int) float64 {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Skipf("no /proc: %v", err)
	}
	m := regexp.MustCompile(`VmRSS:\s+(\d+) kB`).FindSubmatch(st)
	if m == nil {
		b.Fatal("no VmRSS")
	}
	kb, _ := strconv.Atoi(string(m[1]))
	return float64(kb) / 1024
}
