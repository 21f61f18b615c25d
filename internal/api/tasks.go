package api

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/store"
)

// TaskKeySetting is the settings key of the server's task-signing key
// (an Ed25519 seed, base64). Every replica signs with the same key; an
// agent pins its public half at enrollment.
const TaskKeySetting = "task-signing-key"

// LoadTaskKey returns the server's task-signing key, making one on the
// first start.
func LoadTaskKey(ctx context.Context, s *store.Store) (ed25519.PrivateKey, error) {
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return nil, err
	}
	v, err := s.SettingOnce(ctx, TaskKeySetting, []byte(`"`+base64.StdEncoding.EncodeToString(seed)+`"`))
	if err != nil {
		return nil, err
	}
	b, err := base64.StdEncoding.DecodeString(strings.Trim(string(v), `"`))
	if err != nil || len(b) != ed25519.SeedSize {
		return nil, fmt.Errorf("stored task-signing key is damaged")
	}
	return ed25519.NewKeyFromSeed(b), nil
}

// Waiters lets agents long-poll for tasks: a check-in handler of any
// replica answers a waiting agent as soon as a task is pending for its
// host. One query a second per replica finds the hosts with new tasks,
// however many agents wait.
type Waiters struct {
	store *store.Store
	mu    sync.Mutex
	m     map[int64][]chan struct{}
}

// NewWaiters returns an empty set of waiting agents.
func NewWaiters(s *store.Store) *Waiters {
	return &Waiters{store: s, m: map[int64][]chan struct{}{}}
}

// wait returns a channel closed when host has a task; cancel stops waiting.
func (w *Waiters) wait(host int64) (<-chan struct{}, func()) {
	ch := make(chan struct{})
	w.mu.Lock()
	w.m[host] = append(w.m[host], ch)
	w.mu.Unlock()
	return ch, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		list := w.m[host]
		for i, c := range list {
			if c == ch {
				w.m[host] = append(list[:i:i], list[i+1:]...)
				break
			}
		}
		if len(w.m[host]) == 0 {
			delete(w.m, host)
		}
	}
}

// Wake answers the agents of hosts waiting.
func (w *Waiters) Wake(hosts ...int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, h := range hosts {
		for _, ch := range w.m[h] {
			close(ch)
		}
		delete(w.m, h)
	}
}

// Waiting is how many agents wait now.
func (w *Waiters) Waiting() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, l := range w.m {
		n += len(l)
	}
	return n
}

// Run wakes waiting agents of hosts with new tasks, every interval, until
// ctx is done.
func (w *Waiters) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	since := w.store.Now().Add(-interval)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if w.Waiting() == 0 {
			since = w.store.Now().Add(-interval)
			continue
		}
		now := w.store.Now()
		hosts, err := w.store.HostsWithNewTasks(ctx, since.Add(-interval))
		if err != nil {
			continue
		}
		since = now
		w.Wake(hosts...)
	}
}

// waitForTasks is an agent's long poll: it answers due when the host has a
// task to pick up, at once or as soon as one is armed, and not due after
// the timeout.
func (a *API) waitForTasks(w http.ResponseWriter, r *http.Request) error {
	st := agent(r)
	var req patchwave.WaitRequest
	if err := decode(w, r, MaxBody, &req); err != nil {
		return err
	}
	if req.Timeout < 1 || req.Timeout > patchwave.MaxWait {
		return patchwave.Errorf(patchwave.EInvalid, "timeout %d: want 1 to %d seconds", req.Timeout, patchwave.MaxWait)
	}
	if a.waiters == nil {
		return patchwave.Errorf(patchwave.ENotSupported, "this server does not take long polls")
	}
	ch, cancel := a.waiters.wait(st.HostID)
	defer cancel()
	due, err := a.store.HasDueTasks(r.Context(), st.HostID)
	if err != nil {
		return err
	}
	if !due {
		t := time.NewTimer(time.Duration(req.Timeout) * time.Second)
		defer t.Stop()
		select {
		case <-ch:
			due = true
		case <-t.C:
		case <-r.Context().Done():
			return nil
		}
	}
	writeJSON(w, http.StatusOK, patchwave.WaitResponse{Due: due})
	return nil
}

// signTasks signs the tasks handed to an agent.
func (a *API) signTasks(ts []patchwave.AgentTask) {
	for i := range ts {
		if a.taskKey != nil {
			ts[i].Sign(a.taskKey)
		}
	}
}

type hostTaskRequest struct {
	Kind string `json:"kind"`
	// Release is the release whose patches a verify or rollback task is
	// about.
	Release string `json:"release,omitempty"`
	// Hook names the agent's configured hook a run-hook task runs.
	Hook string `json:"hook,omitempty"`
	// Within is how long the agent has to start the task (default 1h,
	// at most 7 days).
	Within string `json:"within,omitempty"`
	Reason string `json:"reason"`
}

// createHostTask asks a host's agent for a task outside a rollout: scan,
// verify or roll back a release's patches, reboot, run a hook.
func (a *API) createHostTask(w http.ResponseWriter, r *http.Request) error {
	u := user(r)
	ctx := r.Context()
	h, err := a.store.Host(ctx, r.PathValue("host"))
	if err != nil {
		return err
	}
	if err := canWrite(u, h.Site, "tasks for host "+h.Hostname); err != nil {
		return err
	}
	var in hostTaskRequest
	if err := decode(w, r, MaxBody, &in); err != nil {
		return err
	}
	kind, err := patchwave.ParseTaskKind(in.Kind)
	if err != nil {
		return err
	}
	if kind == patchwave.TaskInstall {
		return patchwave.Errorf(patchwave.EInvalid, "installs are planned through releases: patchwave releases create")
	}
	if err := patchwave.ValidText("reason", in.Reason, 1000); err != nil {
		return err
	}
	if strings.TrimSpace(in.Reason) == "" {
		return patchwave.Errorf(patchwave.EInvalid, "a task needs a reason")
	}
	if !h.Managed || h.Revoked {
		return patchwave.Errorf(patchwave.EConflict, "host %s has no agent to run tasks", h.Hostname)
	}
	within := time.Hour
	if in.Within != "" {
		if within, err = time.ParseDuration(in.Within); err != nil || within < time.Minute || within > 7*24*time.Hour {
			return patchwave.Errorf(patchwave.EInvalid, "within %q: want a duration from 1m to 168h", in.Within)
		}
	}
	now := a.store.Now()
	req := store.HostTaskRequest{HostID: h.ID, Kind: kind, Reason: in.Reason, RequestedBy: u.Name, NotAfter: now.Add(within), Deadline: now.Add(within + time.Hour)}
	switch kind {
	case patchwave.TaskRunHook:
		if err := patchwave.ValidLabel("hook", in.Hook); err != nil {
			return err
		}
		req.Hook = in.Hook
	case patchwave.TaskVerify, patchwave.TaskRollback:
		if in.Release == "" {
			return patchwave.Errorf(patchwave.EInvalid, "a %s task names the release whose patches it is about", kind)
		}
		rel, err := a.store.Release(ctx, in.Release)
		if err != nil {
			return err
		}
		rh, ok, err := a.store.ReleaseHost(ctx, rel.ID, h.ID)
		if err != nil {
			return err
		}
		if !ok || rh.PatchSet == "" {
			return patchwave.Errorf(patchwave.EConflict, "host %s has no patches in release %s", h.Hostname, rel.Name)
		}
		req.ReleaseID, req.PatchSet = rel.ID, rh.PatchSet
		if kind == patchwave.TaskRollback {
			inst, ok, err := a.store.HostTask(ctx, rel.ID, h.ID)
			if err != nil {
				return err
			}
			if !ok || !inst.State.Finished() || inst.State == patchwave.TaskCanceled {
				return patchwave.Errorf(patchwave.EConflict, "host %s has no finished install of release %s to roll back", h.Hostname, rel.Name)
			}
			req.RollbackOf = inst.ID
		}
	}
	if in.Hook != "" && kind != patchwave.TaskRunHook {
		return patchwave.Errorf(patchwave.EInvalid, "hook goes with run-hook tasks")
	}
	if in.Release != "" && kind != patchwave.TaskVerify && kind != patchwave.TaskRollback {
		return patchwave.Errorf(patchwave.EInvalid, "release goes with verify and rollback tasks")
	}
	var id int64
	err = a.store.Write(ctx, func(tx *store.Tx) error {
		var err error
		if id, err = tx.CreateHostTask(req); err != nil {
			return err
		}
		return tx.Audit(u.Name, "task.create", fmt.Sprintf("task:%d", id), map[string]any{"before": nil, "after": map[string]any{
			"host": h.Hostname, "kind": kind, "release": in.Release, "hook": in.Hook, "reason": in.Reason, "not_after": req.NotAfter}})
	})
	if err != nil {
		return err
	}
	if a.waiters != nil {
		a.waiters.Wake(h.ID)
	}
	t, err := a.store.TaskByID(ctx, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, t)
	return nil
}

func (a *API) hostTasks(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	h, err := a.store.Host(ctx, r.PathValue("host"))
	if err != nil {
		return err
	}
	after, err := queryInt(r, "after", 0)
	if err != nil {
		return err
	}
	limit, err := queryInt(r, "limit", 100)
	if err != nil {
		return err
	}
	ts, next, err := a.store.ListTasks(ctx, store.TaskFilter{HostID: h.ID, After: after, Limit: int(min(limit, 1000))})
	if err != nil {
		return err
	}
	out := taskList{Tasks: ts}
	if out.Tasks == nil {
		out.Tasks = []patchwave.Task{}
	}
	if next > 0 {
		out.Next = fmt.Sprint(next)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) getTask(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	t, err := a.store.TaskByID(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}
