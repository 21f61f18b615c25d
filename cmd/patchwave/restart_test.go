package main_test

import (
	"net"
	"os"
	"path/filepath"
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
	args := []string{"--data-dir", filepath.Join(t.TempDir(), "data"), "--listen", addr, "--rollout-interval", "200ms", "--agent-wait", "2s", "--checkin-interval", "10s"}
	url, proc := startServerCmd(t, bin, args...)

	c := newCLI(t, bin)
	c.run("e2e-admin-password\n", "login", "--server", url, "--user", "admin", "--password-stdin")
	hosts := c.enrollAptHosts(url, "db", 3)
	rel := c.oneAtATimeRelease("DSA-9004-1")
	c.startAgents(hosts, c.write("agent.json", `{"min_free_mb": 1, "hooks": {"pre_install": ["sleep 1"]}}`))

	c.waitFor(rel, "the first host", func() bool { return c.succeeded(rel) >= 1 })
	if c.succeeded(rel) == 3 {
		t.Fatal("the rollout ended before the server could be killed")
	}
	proc.Process.Signal(os.Kill)
	proc.Wait()
	time.Sleep(500 * time.Millisecond) // agents find it gone
	startServerArgs(t, bin, args...)
	c.waitFor(rel, "every host", func() bool { return c.succeeded(rel) == 3 })
	c.patchedOnce(rel, hosts)
}
