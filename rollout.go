package patchwave

import (
	"crypto/ed25519"
	"encoding/json"
	"slices"
	"time"
)

// RolloutState is where a release's rollout stands.
type RolloutState string

// The states of a rollout:
//
//	scheduled → running → completed
//	              ↕    ↘
//	     paused, halted  aborted
//
// A rollout is scheduled until its first wave may start, then running;
// people pause and resume it; the driver halts it when a wave's failures
// pass the error budget (people may halt it too); only resume leaves
// paused and halted. Completed and aborted are final.
const (
	RolloutScheduled RolloutState = "scheduled"
	RolloutRunning   RolloutState = "running"
	RolloutPaused    RolloutState = "paused"
	RolloutHalted    RolloutState = "halted"
	RolloutCompleted RolloutState = "completed"
	RolloutAborted   RolloutState = "aborted"
)

// Final reports whether s is completed or aborted.
func (s RolloutState) Final() bool { return s == RolloutCompleted || s == RolloutAborted }

// Active reports whether the driver creates tasks in state s.
func (s RolloutState) Active() bool { return s == RolloutScheduled || s == RolloutRunning }

// WaveState is where one wave of a rollout stands.
type WaveState string

// The states of a wave: waiting for its start (time, the previous wave's
// promotion, approvals), running, and promoted once its gate passed.
const (
	WaveWaiting  WaveState = "waiting"
	WaveRunning  WaveState = "running"
	WavePromoted WaveState = "promoted"
)

// TaskKind is what a task asks an agent to do.
type TaskKind string

// Task kinds.
const (
	// TaskInstall installs a release's frozen patch set: pre-checks and
	// pre-install hooks, the exact versions, post-install hooks,
	// verification, a reboot as the wave's policy says, and a rollback
	// when verification fails and the wave asks for one.
	TaskInstall TaskKind = "install"
	// TaskScan refreshes the package lists and reports the inventory.
	TaskScan TaskKind = "scan"
	// TaskVerify checks that a release's versions are installed and the
	// host's health checks pass.
	TaskVerify TaskKind = "verify"
	// TaskRollback goes back to the versions an install task found.
	TaskRollback TaskKind = "rollback"
	// TaskReboot reboots the host and reports when it is back.
	TaskReboot TaskKind = "reboot"
	// TaskRunHook runs one of the hooks the host's agent configuration
	// names (the server names the hook; it never sends a command).
	TaskRunHook TaskKind = "run-hook"
)

// TaskKinds lists every task kind.
var TaskKinds = []TaskKind{TaskInstall, TaskScan, TaskVerify, TaskRollback, TaskReboot, TaskRunHook}

// ParseTaskKind checks s names a task kind.
func ParseTaskKind(s string) (TaskKind, error) {
	if slices.Contains(TaskKinds, TaskKind(s)) {
		return TaskKind(s), nil
	}
	return "", Errorf(EInvalid, "unknown task kind %q (want install, scan, verify, rollback, reboot or run-hook)", s)
}

// TaskState is where a task stands.
type TaskState string

// The states of a task. Pending tasks wait for the agent's next check-in;
// dispatched ones were handed over; running ones the agent said it
// started. A pending task not picked up before its window's cut-off
// expires and is armed again at the host's next opening. Succeeded,
// failed and canceled are final for the attempt; a retry starts a new
// attempt of the same task.
const (
	TaskPending    TaskState = "pending"
	TaskDispatched TaskState = "dispatched"
	TaskRunning    TaskState = "running"
	TaskSucceeded  TaskState = "succeeded"
	TaskFailed     TaskState = "failed"
	TaskExpired    TaskState = "expired"
	TaskCanceled   TaskState = "canceled"
)

// Live reports whether a task in state s holds a place in its wave's
// concurrency budget.
func (s TaskState) Live() bool {
	return s == TaskPending || s == TaskDispatched || s == TaskRunning
}

// Finished reports whether s ends an attempt.
func (s TaskState) Finished() bool {
	return s == TaskSucceeded || s == TaskFailed || s == TaskCanceled
}

// TaskPatch is one package a task installs, at exactly this version.
type TaskPatch struct {
	Name    string `json:"name"`
	Arch    string `json:"arch,omitempty"`
	Version string `json:"version"`
}

// AgentTask is a task as an agent receives it at check-in, signed by the
// server: the agent checks the signature with the key it pinned at
// enrollment, that the task is for its host and not expired, and that it
// has not run this attempt before.
type AgentTask struct {
	ID      int64    `json:"id"`
	Attempt int      `json:"attempt"`
	HostID  int64    `json:"host_id"`
	Kind    TaskKind `json:"kind"`
	// Release is the release's name; PatchSet the content hash of the
	// frozen patch set the task installs.
	Release  string      `json:"release,omitempty"`
	PatchSet string      `json:"patch_set,omitempty"`
	Patches  []TaskPatch `json:"patches,omitempty"`
	// Reboot is the reboot policy: if-needed, never or always.
	Reboot string `json:"reboot,omitempty"`
	// RollbackOnFailure asks an install to go back to the versions it
	// found when verification fails.
	RollbackOnFailure bool `json:"rollback_on_failure,omitempty"`
	// RollbackOf is, for a rollback, the install task whose previous
	// versions to restore.
	RollbackOf int64 `json:"rollback_of,omitempty"`
	// Hook names the agent's configured hook a run-hook task runs.
	Hook string `json:"hook,omitempty"`
	// NotAfter is the last moment to start (the window's cut-off);
	// Deadline the moment by which the result must be reported.
	NotAfter time.Time `json:"not_after"`
	Deadline time.Time `json:"deadline"`
	// Signature is the server's Ed25519 signature of SigningBytes.
	Signature []byte `json:"signature,omitempty"`
}

// SigningBytes is what the server signs of t: a domain prefix and t's JSON
// without the signature.
func (t AgentTask) SigningBytes() []byte {
	t.Signature = nil
	b, _ := json.Marshal(t)
	return append([]byte("patchwave task v1\n"), b...)
}

// Sign sets t's signature with the server's key.
func (t *AgentTask) Sign(key ed25519.PrivateKey) {
	t.Signature = ed25519.Sign(key, t.SigningBytes())
}

// Verify checks that t is signed with pub, is for host, and may start at
// now. It does not know which tasks already ran: replays of a task the
// agent ran are the agent's to refuse.
func (t AgentTask) Verify(pub ed25519.PublicKey, host int64, now time.Time) error {
	switch {
	case len(pub) != ed25519.PublicKeySize:
		return Errorf(EUnauthorized, "task %d: no server key pinned to check its signature: enroll again", t.ID)
	case len(t.Signature) == 0:
		return Errorf(EUnauthorized, "task %d is not signed", t.ID)
	case !ed25519.Verify(pub, t.SigningBytes(), t.Signature):
		return Errorf(EUnauthorized, "task %d: bad signature: it was not signed by this host's server, or was changed", t.ID)
	case t.HostID != host:
		return Errorf(EUnauthorized, "task %d is for host %d, not this host (%d)", t.ID, t.HostID, host)
	case !now.Before(t.NotAfter):
		return Errorf(EUnauthorized, "task %d expired at %s", t.ID, t.NotAfter.Format(time.RFC3339))
	case !slices.Contains(TaskKinds, t.Kind):
		return Errorf(EUnauthorized, "task %d has unknown kind %q", t.ID, t.Kind)
	}
	return nil
}

// PackageChange is what a task did to one package.
type PackageChange struct {
	Name   string `json:"name"`
	Arch   string `json:"arch,omitempty"`
	Before string `json:"before,omitempty"` // empty: was not installed
	After  string `json:"after,omitempty"`  // empty: is not installed
	Target string `json:"target,omitempty"`
}

// StepResult is one step of a task: a hook, a health check, a package
// manager command.
type StepResult struct {
	Name     string        `json:"name"`
	OK       bool          `json:"ok"`
	ExitCode int           `json:"exit_code,omitempty"`
	Detail   string        `json:"detail,omitempty"`
	Output   string        `json:"output,omitempty"`
	Duration time.Duration `json:"duration_ns,omitempty"`
}

// TaskDetails is everything an agent reports about how a task went.
type TaskDetails struct {
	StartedAt  time.Time `json:"started_at,omitzero"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	// Phase is how far the task got: prechecks, pre-install, install,
	// post-install, verify, rebooting, post-reboot, rollback, done.
	Phase     string          `json:"phase,omitempty"`
	Packages  []PackageChange `json:"packages,omitempty"`
	PreChecks []StepResult    `json:"pre_checks,omitempty"`
	Hooks     []StepResult    `json:"hooks,omitempty"`
	Commands  []StepResult    `json:"commands,omitempty"`
	Checks    []StepResult    `json:"checks,omitempty"`
	// Rebooted says the host rebooted during the task; RolledBack that
	// the previous versions were restored.
	Rebooted   bool `json:"rebooted,omitempty"`
	RolledBack bool `json:"rolled_back,omitempty"`
	// Refused is set when the agent refused the task (signature, expiry,
	// replay) without running anything.
	Refused bool `json:"refused,omitempty"`
}

// TaskResult is what an agent reports about a task: that it started, or
// how it ended. Reports are idempotent by task and attempt.
type TaskResult struct {
	TaskID  int64     `json:"task_id"`
	Attempt int       `json:"attempt"`
	State   TaskState `json:"state"` // running, succeeded, failed or canceled (a pre-install hook said no)
	// Error is a one-line reason for a failure.
	Error string `json:"error,omitempty"`
	// Output is the package manager's output, kept for the report.
	Output         string `json:"output,omitempty"`
	RebootRequired bool   `json:"reboot_required,omitempty"`
	// Details tell the steps: versions before and after, hooks, checks,
	// reboot and rollback.
	Details *TaskDetails `json:"details,omitempty"`
}

// Limits on task results.
const (
	MaxTaskResults = 256
	MaxTaskOutput  = 256 << 10
	MaxTaskError   = 4096
)

// Validate checks a result as an agent sent it.
func (r TaskResult) Validate() error {
	if r.TaskID <= 0 || r.Attempt <= 0 {
		return Errorf(EInvalid, "task result: task_id and attempt must be positive (got %d, %d)", r.TaskID, r.Attempt)
	}
	if !slices.Contains([]TaskState{TaskRunning, TaskSucceeded, TaskFailed, TaskCanceled}, r.State) {
		return Errorf(EInvalid, "task %d result: state %q, want running, succeeded, failed or canceled", r.TaskID, r.State)
	}
	if r.Details != nil {
		if b, _ := json.Marshal(r.Details); len(b) > MaxTaskOutput {
			return Errorf(EInvalid, "task %d result: details of %d bytes, at most %d allowed", r.TaskID, len(b), MaxTaskOutput)
		}
	}
	if err := ValidText("task error", r.Error, MaxTaskError); err != nil {
		return err
	}
	if len(r.Output) > MaxTaskOutput {
		return Errorf(EInvalid, "task %d result: output of %d bytes, at most %d allowed", r.TaskID, len(r.Output), MaxTaskOutput)
	}
	return nil
}

// TaskResults is the body of an agent's results report.
type TaskResults struct {
	Results []TaskResult `json:"results"`
}

// TaskResultsResponse acknowledges the results the server now holds: the
// agent may forget them.
type TaskResultsResponse struct {
	Accepted []int64 `json:"accepted"`
}

// Task is a host's part of a release's rollout, as the server keeps it.
type Task struct {
	ID          int64     `json:"id"`
	ReleaseID   int64     `json:"release_id,omitempty"` // 0 for a task outside a rollout
	HostID      int64     `json:"host_id"`
	Hostname    string    `json:"hostname,omitempty"`
	Kind        TaskKind  `json:"kind"`
	Wave        int       `json:"wave"`
	PatchSet    string    `json:"patch_set,omitempty"`
	State       TaskState `json:"state"`
	Attempt     int       `json:"attempt"`
	FirstResult TaskState `json:"first_result,omitempty"`
	// Reason is why the driver created (or armed) the task.
	Reason         string    `json:"reason,omitempty"`
	Window         string    `json:"window,omitempty"`
	NotAfter       time.Time `json:"not_after"`
	Deadline       time.Time `json:"deadline"`
	Error          string    `json:"error,omitempty"`
	Output         string    `json:"output,omitempty"`
	RebootRequired bool      `json:"reboot_required,omitempty"`
	// Phase is the last step the agent reported; Details its report.
	Phase   string       `json:"phase,omitempty"`
	Details *TaskDetails `json:"details,omitempty"`
	// Hook and RollbackOf are those of run-hook and rollback tasks;
	// RequestedBy names who asked for a task outside a rollout.
	Hook         string     `json:"hook,omitempty"`
	RollbackOf   int64      `json:"rollback_of,omitempty"`
	RequestedBy  string     `json:"requested_by,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	DispatchedAt *time.Time `json:"dispatched_at,omitempty"`
	StartedAt    *time.Time `json:"started_at,omitempty"`
	FinishedAt   *time.Time `json:"finished_at,omitempty"`
	UpdatedAt    time.Time  `json:"updated_at"`
}

// Approval is a person's decision on a wave: to let it start (stage
// start) or to promote it (stage promote).
type Approval struct {
	ID        int64     `json:"id"`
	ReleaseID int64     `json:"-"`
	Wave      int       `json:"wave"`
	Stage     string    `json:"stage"` // start or promote
	Actor     string    `json:"actor"`
	Role      string    `json:"role"`
	Decision  string    `json:"decision"` // approve or reject
	Reason    string    `json:"reason,omitempty"`
	At        time.Time `json:"at"`
}

// RolloutEvent is a decision about a rollout, by the driver or a person, with
// its reason.
type RolloutEvent struct {
	ID     int64     `json:"id"`
	Wave   int       `json:"wave"`              // -1 for the whole rollout
	HostID int64     `json:"host_id,omitempty"` // 0 for a wave or the rollout
	Kind   string    `json:"kind"`
	Actor  string    `json:"actor"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}
