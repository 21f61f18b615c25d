package patchwave

import (
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"
	"time"
)

func TestTaskSignature(t *testing.T) {
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	otherPub, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	now := time.Date(2026, 12, 9, 22, 5, 0, 0, time.UTC)
	task := AgentTask{ID: 7, Attempt: 1, HostID: 3, Kind: TaskInstall, Release: "2026-12", PatchSet: "abc",
		Patches: []TaskPatch{{Name: "openssl", Arch: "amd64", Version: "3.0.15-1~deb12u1"}}, Reboot: "if-needed",
		NotAfter: now.Add(time.Hour), Deadline: now.Add(2 * time.Hour)}
	task.Sign(key)
	if err := task.Verify(pub, 3, now); err != nil {
		t.Fatalf("a good task: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(t *AgentTask)
		pub  ed25519.PublicKey
		host int64
		at   time.Time
		want string
	}{
		{"unsigned", func(t *AgentTask) { t.Signature = nil }, pub, 3, now, "not signed"},
		{"version changed", func(t *AgentTask) { t.Patches[0].Version = "3.0.16-1" }, pub, 3, now, "bad signature"},
		{"package added", func(t *AgentTask) { t.Patches = append(t.Patches, TaskPatch{Name: "evil", Version: "1"}) }, pub, 3, now, "bad signature"},
		{"kind changed", func(t *AgentTask) { t.Kind = TaskReboot }, pub, 3, now, "bad signature"},
		{"expiry moved", func(t *AgentTask) { t.NotAfter = t.NotAfter.Add(24 * time.Hour) }, pub, 3, now, "bad signature"},
		{"attempt changed (replay as a new attempt)", func(t *AgentTask) { t.Attempt = 2 }, pub, 3, now, "bad signature"},
		{"hook added", func(t *AgentTask) { t.Hook = "wipe" }, pub, 3, now, "bad signature"},
		{"signature truncated", func(t *AgentTask) { t.Signature = t.Signature[:10] }, pub, 3, now, "bad signature"},
		{"another server's key", func(t *AgentTask) { t.Sign(otherKey) }, pub, 3, now, "bad signature"},
		{"no pinned key", func(t *AgentTask) {}, nil, 3, now, "no server key pinned"},
		{"another host", func(t *AgentTask) {}, pub, 4, now, "for host 3, not this host (4)"},
		{"expired", func(t *AgentTask) {}, pub, 3, now.Add(time.Hour), "expired"},
		{"unknown kind, signed", func(t *AgentTask) { t.Kind = "format-disk"; t.Sign(key) }, pub, 3, now, "unknown kind"},
	} {
		c := task
		c.Patches = append([]TaskPatch(nil), task.Patches...)
		c.Signature = append([]byte(nil), task.Signature...)
		tc.edit(&c)
		err := c.Verify(tc.pub, tc.host, tc.at)
		if err == nil || !strings.Contains(err.Error(), tc.want) || ErrorCode(err) != EUnauthorized {
			t.Errorf("%s: Verify = %v, want %q", tc.name, err, tc.want)
		}
	}
	_ = otherPub
}

func TestTaskResultValidate(t *testing.T) {
	ok := TaskResult{TaskID: 1, Attempt: 1, State: TaskCanceled, Details: &TaskDetails{Phase: "pre-install"}}
	if err := ok.Validate(); err != nil {
		t.Errorf("a canceled result: %v", err)
	}
	big := ok
	big.Details = &TaskDetails{Hooks: []StepResult{{Name: "h", Output: strings.Repeat("x", MaxTaskOutput)}}}
	if err := big.Validate(); err == nil || !strings.Contains(err.Error(), "details of") {
		t.Errorf("oversized details: %v", err)
	}
}

func FuzzTaskVerify(f *testing.F) {
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	now := time.Date(2026, 12, 9, 0, 0, 0, 0, time.UTC)
	base := AgentTask{ID: 1, Attempt: 1, HostID: 1, Kind: TaskInstall, NotAfter: now.Add(time.Hour)}
	base.Sign(key)
	f.Add("openssl", "1.0", int64(1), 1, []byte(base.Signature))
	f.Fuzz(func(t *testing.T, name, version string, id int64, attempt int, sig []byte) {
		c := base
		c.ID, c.Attempt, c.Signature = id, attempt, sig
		c.Patches = []TaskPatch{{Name: name, Version: version}}
		if c.Verify(pub, 1, now) == nil {
			t.Fatalf("a changed task verified: %+v", c)
		}
	})
}
