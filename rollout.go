package patchwave

import (
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
	TaskInstall TaskKind = "install" // install a release's patches on the host
)

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

// AgentTask is a task as an agent receives it at check-in.
type AgentTask struct {
	ID      int64    `json:"id"`
	Attempt int      `json:"attempt"`
	Kind    TaskKind `json:"kind"`
	// Release is the release's name; PatchSet the content hash of the
	// frozen patch set the task installs.
	Release  string      `json:"release,omitempty"`
	PatchSet string      `json:"patch_set,omitempty"`
	Patches  []TaskPatch `json:"patches,omitempty"`
	// Reboot is the wave's reboot policy: if-needed, never or always.
	Reboot string `json:"reboot,omitempty"`
	// NotAfter is the last moment to start (the window's cut-off);
	// Deadline the moment by which the result must be reported.
	NotAfter time.Time `json:"not_after"`
	Deadline time.Time `json:"deadline"`
}

// TaskResult is what an agent reports about a task: that it started, or
// how it ended. Reports are idempotent by task and attempt.
type TaskResult struct {
	TaskID  int64     `json:"task_id"`
	Attempt int       `json:"attempt"`
	State   TaskState `json:"state"` // running, succeeded or failed
	// Error is a one-line reason for a failure.
	Error string `json:"error,omitempty"`
	// Output is the package manager's output, kept for the report.
	Output         string `json:"output,omitempty"`
	RebootRequired bool   `json:"reboot_required,omitempty"`
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
	if !slices.Contains([]TaskState{TaskRunning, TaskSucceeded, TaskFailed}, r.State) {
		return Errorf(EInvalid, "task %d result: state %q, want running, succeeded or failed", r.TaskID, r.State)
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
	ReleaseID   int64     `json:"release_id"`
	HostID      int64     `json:"host_id"`
	Hostname    string    `json:"hostname,omitempty"`
	Kind        TaskKind  `json:"kind"`
	Wave        int       `json:"wave"`
	PatchSet    string    `json:"patch_set,omitempty"`
	State       TaskState `json:"state"`
	Attempt     int       `json:"attempt"`
	FirstResult TaskState `json:"first_result,omitempty"`
	// Reason is why the driver created (or armed) the task.
	Reason         string     `json:"reason,omitempty"`
	Window         string     `json:"window,omitempty"`
	NotAfter       time.Time  `json:"not_after"`
	Deadline       time.Time  `json:"deadline"`
	Error          string     `json:"error,omitempty"`
	Output         string     `json:"output,omitempty"`
	RebootRequired bool       `json:"reboot_required,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	DispatchedAt   *time.Time `json:"dispatched_at,omitempty"`
	StartedAt      *time.Time `json:"started_at,omitempty"`
	FinishedAt     *time.Time `json:"finished_at,omitempty"`
	UpdatedAt      time.Time  `json:"updated_at"`
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
