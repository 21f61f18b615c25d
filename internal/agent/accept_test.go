package agent

import (
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/patchwave/patchwave"
)

// TestAcceptRefuses hands the agent tasks as a hostile network or server
// could: each bad one is refused, journalled with a result that says why
// (so that it is reported), and never run; a redelivered or replayed
// attempt is not taken again.
func TestAcceptRefuses(t *testing.T) {
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	a := &agent{log: slog.New(slog.NewTextHandler(io.Discard, nil)), journal: journal{dir: t.TempDir()},
		state: State{HostID: 3, ServerKey: pub}}
	now := time.Now()
	good := func(id int64) patchwave.AgentTask {
		t := patchwave.AgentTask{ID: id, Attempt: 1, HostID: 3, Kind: patchwave.TaskInstall, Release: "2026-12", PatchSet: "abc",
			Patches: []patchwave.TaskPatch{{Name: "demo", Version: "1.1"}}, Reboot: "never",
			NotAfter: now.Add(time.Hour), Deadline: now.Add(2 * time.Hour)}
		t.Sign(key)
		return t
	}
	cases := []struct {
		name string
		task func() patchwave.AgentTask
		want string
	}{
		{"unsigned", func() patchwave.AgentTask { t := good(11); t.Signature = nil; return t }, "not signed"},
		{"tampered version", func() patchwave.AgentTask { t := good(12); t.Patches[0].Version = "1.2"; return t }, "bad signature"},
		{"signed by another key", func() patchwave.AgentTask { t := good(13); t.Sign(otherKey); return t }, "bad signature"},
		{"expired", func() patchwave.AgentTask {
			t := good(14)
			t.NotAfter = now.Add(-time.Minute)
			t.Sign(key)
			return t
		}, "expired"},
		{"for another host", func() patchwave.AgentTask {
			t := good(15)
			t.HostID = 4
			t.Sign(key)
			return t
		}, "not this host"},
		{"unknown kind", func() patchwave.AgentTask {
			t := good(16)
			t.Kind = "format-disk"
			t.Sign(key)
			return t
		}, "unknown kind"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			task := tc.task()
			if run := a.accept([]patchwave.AgentTask{task}); len(run) != 0 {
				t.Fatalf("accepted %+v", run[0].Task)
			}
			rs, err := a.journal.load(false)
			if err != nil {
				t.Fatal(err)
			}
			var r *record
			for _, x := range rs {
				if x.Task.ID == task.ID {
					r = x
				}
			}
			if r == nil || r.Result == nil || r.Sent {
				t.Fatalf("no result journalled to report: %+v", r)
			}
			if r.Result.State != patchwave.TaskFailed || !r.Details.Refused || !strings.Contains(r.Result.Error, "refused: ") ||
				!strings.Contains(r.Result.Error, tc.want) {
				t.Errorf("result %+v, want refused with %q", r.Result, tc.want)
			}
			// Delivered again, it is neither run nor refused a second time.
			if run := a.accept([]patchwave.AgentTask{task}); len(run) != 0 {
				t.Errorf("redelivery accepted")
			}
		})
	}

	// A good task runs once: a replay of the same attempt, even after its
	// record moved to done/, is ignored.
	task := good(20)
	run := a.accept([]patchwave.AgentTask{task})
	if len(run) != 1 || run[0].Task.ID != 20 {
		t.Fatalf("good task not accepted: %+v", run)
	}
	r := run[0]
	a.finish(r, patchwave.TaskSucceeded, "", "")
	r.Sent = true
	if err := a.journal.save(r); err != nil {
		t.Fatal(err)
	}
	if done, _ := a.journal.load(true); len(done) != 1 {
		t.Fatalf("done records: %d", len(done))
	}
	if run := a.accept([]patchwave.AgentTask{task}); len(run) != 0 {
		t.Errorf("a replayed attempt was accepted again")
	}
	// The next attempt of the same task, signed as such, is a new run.
	next := good(20)
	next.Attempt = 2
	next.Sign(key)
	if run := a.accept([]patchwave.AgentTask{next}); len(run) != 1 {
		t.Errorf("attempt 2 not accepted")
	}
}
