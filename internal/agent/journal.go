package agent

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/patchwave/patchwave"
)

// The journal keeps every task the agent accepted on disk, one file per
// task attempt, rewritten at each step: after a crash or a reboot the
// agent resumes where it was (or reports how far it got), and a result
// stays on disk until the server has acknowledged it. Finished records
// move to done/, where they prove an attempt ran (a replayed task is
// refused) and keep the versions an install found, for rollbacks.
const (
	journalDir = "tasks"
	doneDir    = "done"
	// keepDone is how many finished records are kept.
	keepDone = 500
)

// Phases of a task, in the order they happen.
const (
	PhaseReceived    = "received"
	PhasePreChecks   = "prechecks"
	PhasePreInstall  = "pre-install"
	PhaseInstall     = "install"
	PhasePostInstall = "post-install"
	PhaseVerify      = "verify"
	PhaseRebooting   = "rebooting"
	PhasePostReboot  = "post-reboot"
	PhaseRollback    = "rollback"
	PhaseDone        = "done"
)

// record is one task attempt in the journal.
type record struct {
	Task  patchwave.AgentTask `json:"task"`
	Phase string              `json:"phase"`
	// Before holds, for installs, the versions the task found of each
	// package it changes ("" when not installed): what a rollback restores.
	Before []patchwave.PackageChange `json:"before,omitempty"`
	// BootID is the boot the reboot was asked in.
	BootID string `json:"boot_id,omitempty"`
	// Output is the install's output, kept for the result across a reboot.
	Output  string                `json:"output,omitempty"`
	Details patchwave.TaskDetails `json:"details"`
	// Result is set when the task ended; Sent when the server has it.
	Result  *patchwave.TaskResult `json:"result,omitempty"`
	Sent    bool                  `json:"sent,omitempty"`
	Updated time.Time             `json:"updated"`
}

func (r *record) name() string { return fmt.Sprintf("%d.%d.json", r.Task.ID, r.Task.Attempt) }

// journal is the agent's task journal under StateDir/tasks.
type journal struct{ dir string }

func (j journal) save(r *record) error {
	r.Updated = time.Now().UTC()
	b, err := json.MarshalIndent(r, "", " ")
	if err != nil {
		return err
	}
	dir := filepath.Join(j.dir, journalDir)
	if r.Result != nil && r.Sent {
		dir = filepath.Join(dir, doneDir)
	}
	if err := writeFileAtomic(dir, r.name(), b); err != nil {
		return fmt.Errorf("task journal: %w", err)
	}
	if r.Result != nil && r.Sent {
		if err := os.Remove(filepath.Join(j.dir, journalDir, r.name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("task journal: %w", err)
		}
		j.prune()
	}
	return nil
}

// load reads the records of one directory of the journal.
func (j journal) load(done bool) ([]*record, error) {
	dir := filepath.Join(j.dir, journalDir)
	if done {
		dir = filepath.Join(dir, doneDir)
	}
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("task journal: %w", err)
	}
	var out []*record
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("task journal: %w", err)
		}
		var r record
		if err := json.Unmarshal(b, &r); err != nil || r.Task.ID == 0 {
			// A damaged record cannot be resumed; keep it aside for
			// people to look at rather than lose it or trip on it.
			_ = os.Rename(filepath.Join(dir, e.Name()), filepath.Join(dir, e.Name()+".damaged"))
			continue
		}
		out = append(out, &r)
	}
	slices.SortFunc(out, func(a, b *record) int {
		return cmp.Or(cmp.Compare(a.Task.ID, b.Task.ID), cmp.Compare(a.Task.Attempt, b.Task.Attempt))
	})
	return out, nil
}

// seen reports whether the journal holds this task attempt, open or done.
func (j journal) seen(id int64, attempt int) bool {
	name := fmt.Sprintf("%d.%d.json", id, attempt)
	for _, p := range []string{filepath.Join(j.dir, journalDir, name), filepath.Join(j.dir, journalDir, doneDir, name)} {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return false
}

// install returns the newest finished record of install task id: what a
// rollback restores.
func (j journal) install(id int64) (*record, bool) {
	var best *record
	for _, done := range []bool{true, false} {
		rs, _ := j.load(done)
		for _, r := range rs {
			if r.Task.ID == id && r.Task.Kind == patchwave.TaskInstall && len(r.Before) > 0 && (best == nil || r.Task.Attempt > best.Task.Attempt) {
				best = r
			}
		}
	}
	return best, best != nil
}

// prune keeps the newest keepDone finished records.
func (j journal) prune() {
	dir := filepath.Join(j.dir, journalDir, doneDir)
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) <= keepDone {
		return
	}
	type entry struct {
		name string
		id   int64
	}
	var es []entry
	for _, e := range ents {
		id, _ := strconv.ParseInt(strings.SplitN(e.Name(), ".", 2)[0], 10, 64)
		es = append(es, entry{e.Name(), id})
	}
	slices.SortFunc(es, func(a, b entry) int { return cmp.Compare(a.id, b.id) })
	for _, e := range es[:len(es)-keepDone] {
		os.Remove(filepath.Join(dir, e.name))
	}
}
