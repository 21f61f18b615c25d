package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/plan"
)

const taskCols = `t.id, COALESCE(t.release_id, 0), t.host_id, COALESCE(h.hostname, ''), t.kind, t.wave, t.patch_set, t.state, t.attempt, t.first_result, t.reason,
	t.window_name, t.not_after, t.deadline_at, t.error, t.output, t.reboot_required, t.phase, t.details, t.hook, t.rollback_of, t.requested_by,
	t.created_at, t.dispatched_at, t.started_at, t.finished_at, t.updated_at`

const taskFrom = ` FROM tasks t LEFT JOIN hosts h ON h.id = t.host_id`

func scanTask(sc interface{ Scan(...any) error }) (patchwave.Task, error) {
	var t patchwave.Task
	var kind, state, first string
	var notAfter, deadline, created, updated int64
	var dispatched, started, finished sql.NullInt64
	var reboot int
	var details string
	err := sc.Scan(&t.ID, &t.ReleaseID, &t.HostID, &t.Hostname, &kind, &t.Wave, &t.PatchSet, &state, &t.Attempt, &first, &t.Reason,
		&t.Window, &notAfter, &deadline, &t.Error, &t.Output, &reboot, &t.Phase, &details, &t.Hook, &t.RollbackOf, &t.RequestedBy,
		&created, &dispatched, &started, &finished, &updated)
	if err == nil && details != "" {
		var d patchwave.TaskDetails
		if json.Unmarshal([]byte(details), &d) == nil {
			t.Details = &d
		}
	}
	t.Kind, t.State, t.FirstResult = patchwave.TaskKind(kind), patchwave.TaskState(state), patchwave.TaskState(first)
	t.NotAfter, t.Deadline, t.CreatedAt, t.UpdatedAt = fromMS(notAfter), fromMS(deadline), fromMS(created), fromMS(updated)
	t.DispatchedAt, t.StartedAt, t.FinishedAt, t.RebootRequired = fromNullMS(dispatched), fromNullMS(started), fromNullMS(finished), reboot != 0
	return t, err
}

// TaskBriefs returns what the rollout rules need of every task of a
// release, in id order.
func (s *Store) TaskBriefs(ctx context.Context, releaseID int64) ([]plan.TaskInfo, error) {
	rows, err := s.query(ctx, `SELECT id, host_id, wave, state, attempt, first_result FROM tasks WHERE release_id = ? AND kind = 'install' ORDER BY id`, releaseID)
	if err != nil {
		return nil, fmt.Errorf("release %d tasks: %w", releaseID, err)
	}
	defer rows.Close()
	var out []plan.TaskInfo
	for rows.Next() {
		var t plan.TaskInfo
		var state, first string
		if err := rows.Scan(&t.ID, &t.HostID, &t.Wave, &state, &t.Attempt, &first); err != nil {
			return nil, err
		}
		t.State, t.FirstResult = patchwave.TaskState(state), patchwave.TaskState(first)
		out = append(out, t)
	}
	return out, rows.Err()
}

// NewTask is a task the driver wants to run now.
type NewTask struct {
	HostID   int64
	Wave     int
	PatchSet string
	Reason   string
	Window   string
	NotAfter time.Time
	Deadline time.Time
	// Rearm says the host has an expired task to arm again rather than
	// none.
	Rearm bool
}

// ArmTasks creates install tasks of a release in state pending, or arms
// again the expired ones of the hosts marked Rearm (keeping their
// attempt). A host whose task is in any other state is left alone: tasks
// are idempotent by release and host, so a driver that runs twice (or on
// two replicas) creates no duplicate. It returns how many tasks it armed.
func (tx *Tx) ArmTasks(releaseID int64, ts []NewTask) (int, error) {
	armed := 0
	var fresh []NewTask
	for _, t := range ts {
		if !t.Rearm {
			fresh = append(fresh, t)
			continue
		}
		res, err := tx.exec(`UPDATE tasks SET state = 'pending', reason = ?, window_name = ?, not_after = ?, deadline_at = ?, dispatched_at = NULL, updated_at = ?
			WHERE release_id = ? AND host_id = ? AND kind = ? AND state = 'expired'`,
			t.Reason, t.Window, ms_(t.NotAfter), ms_(t.Deadline), ms_(tx.now), releaseID, t.HostID, string(patchwave.TaskInstall))
		if err != nil {
			return armed, fmt.Errorf("arm task for host %d: %w", t.HostID, err)
		}
		n, _ := res.RowsAffected()
		armed += int(n)
	}
	const batch = 500 // 12 values a row: within both databases' limits
	for i := 0; i < len(fresh); i += batch {
		part := fresh[i:min(i+batch, len(fresh))]
		args := make([]any, 0, len(part)*12)
		for _, t := range part {
			args = append(args, releaseID, t.HostID, string(patchwave.TaskInstall), t.Wave, t.PatchSet, "pending", t.Reason, t.Window,
				ms_(t.NotAfter), ms_(t.Deadline), ms_(tx.now), ms_(tx.now))
		}
		res, err := tx.exec(`INSERT INTO tasks (release_id, host_id, kind, wave, patch_set, state, reason, window_name, not_after, deadline_at, created_at, updated_at) VALUES `+
			strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?),", len(part)), ",")+` ON CONFLICT (release_id, host_id, kind) DO NOTHING`, args...)
		if err != nil {
			return armed, fmt.Errorf("arm %d tasks: %w", len(part), err)
		}
		n, _ := res.RowsAffected()
		armed += int(n)
	}
	return armed, nil
}

// ExpireTasks lets pending tasks of a release that no agent picked up
// before their cut-off expire (to be armed again at the host's next
// opening), and fails dispatched or running ones whose result did not
// come by their deadline. It returns how many of each. With releaseID 0
// it does so for the tasks outside rollouts, whose pending ones are
// canceled instead: nothing arms them again.
func (tx *Tx) ExpireTasks(releaseID int64) (expired, timedOut int, err error) {
	now := ms_(tx.now)
	which, args := `release_id = ? AND kind = 'install'`, []any{releaseID}
	expire := `UPDATE tasks SET state = 'expired', updated_at = ? WHERE release_id = ? AND kind = 'install' AND state = 'pending' AND not_after <= ?`
	if releaseID == 0 {
		which, args = adHocTask, nil
		expire = `UPDATE tasks SET state = 'canceled', error = 'the agent did not pick the task up in time', finished_at = ?, updated_at = ?
			WHERE ` + adHocTask + ` AND state = 'pending' AND not_after <= ?`
	}
	eargs := []any{now}
	if releaseID == 0 {
		eargs = append(eargs, now)
	} else {
		eargs = append(eargs, releaseID)
	}
	res, err := tx.exec(expire, append(eargs, now)...)
	if err != nil {
		return 0, 0, fmt.Errorf("expire tasks: %w", err)
	}
	n, _ := res.RowsAffected()
	expired = int(n)
	res, err = tx.exec(`UPDATE tasks SET state = 'failed', finished_at = ?, updated_at = ?,
		error = CASE WHEN phase = 'rebooting' THEN 'the host did not come back after its reboot by the deadline' ELSE 'no result from the agent by the deadline' END,
		first_result = CASE WHEN attempt = 1 THEN 'failed' ELSE first_result END
		WHERE `+which+` AND state IN ('dispatched', 'running') AND deadline_at <= ?`, append(append([]any{now, now}, args...), now)...)
	if err != nil {
		return expired, 0, fmt.Errorf("time out tasks: %w", err)
	}
	n, _ = res.RowsAffected()
	return expired, int(n), nil
}

// CancelTasks cancels the pending and expired tasks of a release (of one
// wave when wave >= 0): nobody picked them up and none will start. It
// returns how many.
func (tx *Tx) CancelTasks(releaseID int64, wave int, reason string) (int, error) {
	q := `UPDATE tasks SET state = 'canceled', error = ?, finished_at = ?, updated_at = ? WHERE release_id = ? AND kind = 'install' AND state IN ('pending', 'expired')`
	args := []any{reason, ms_(tx.now), ms_(tx.now), releaseID}
	if wave >= 0 {
		q += ` AND wave = ?`
		args = append(args, wave)
	}
	res, err := tx.exec(q, args...)
	if err != nil {
		return 0, fmt.Errorf("cancel tasks: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// RetryTasks starts a new attempt of failed (or canceled) tasks of a
// release: of the hosts named, or every failed one when hostIDs is empty.
// They become expired, so that the driver arms them at the hosts' next
// openings. It returns how many.
func (tx *Tx) RetryTasks(releaseID int64, hostIDs []int64) (int, error) {
	q := `UPDATE tasks SET state = 'expired', attempt = attempt + 1, error = '', output = '', finished_at = NULL, started_at = NULL, dispatched_at = NULL, updated_at = ?
		WHERE release_id = ? AND kind = 'install'`
	args := []any{ms_(tx.now), releaseID}
	if len(hostIDs) == 0 {
		q += ` AND state = 'failed'`
	} else {
		q += ` AND state IN ('failed', 'canceled') AND host_id IN (` + placeholders(len(hostIDs)) + `)`
		for _, id := range hostIDs {
			args = append(args, id)
		}
	}
	res, err := tx.exec(q, args...)
	if err != nil {
		return 0, fmt.Errorf("retry tasks: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// TaskFilter selects tasks in a list.
type TaskFilter struct {
	ReleaseID int64
	HostID    int64
	Wave      *int
	State     patchwave.TaskState
	After     int64 // id
	Limit     int
}

// ListTasks returns tasks in id order, and the id to continue after (0
// at the end).
func (s *Store) ListTasks(ctx context.Context, f TaskFilter) ([]patchwave.Task, int64, error) {
	var where []string
	var args []any
	if f.ReleaseID != 0 {
		where, args = append(where, "t.release_id = ?"), append(args, f.ReleaseID)
	}
	if f.HostID != 0 {
		where, args = append(where, "t.host_id = ?"), append(args, f.HostID)
	}
	if f.Wave != nil {
		where, args = append(where, "t.wave = ?"), append(args, *f.Wave)
	}
	if f.State != "" {
		where, args = append(where, "t.state = ?"), append(args, string(f.State))
	}
	if f.After > 0 {
		where, args = append(where, "t.id > ?"), append(args, f.After)
	}
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	q := `SELECT ` + taskCols + taskFrom
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	rows, err := s.query(ctx, q+` ORDER BY t.id LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return nil, 0, fmt.Errorf("tasks: %w", err)
	}
	defer rows.Close()
	var out []patchwave.Task
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("tasks: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	var next int64
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}

// HostTask returns a host's task in a release, and false when it has none.
func (s *Store) HostTask(ctx context.Context, releaseID, hostID int64) (patchwave.Task, bool, error) {
	t, err := scanTask(s.queryRow(ctx, `SELECT `+taskCols+taskFrom+` WHERE t.release_id = ? AND t.host_id = ? AND t.kind = ?`,
		releaseID, hostID, string(patchwave.TaskInstall)))
	if errors.Is(err, sql.ErrNoRows) {
		return t, false, nil
	}
	if err != nil {
		return t, false, fmt.Errorf("release %d host %d task: %w", releaseID, hostID, err)
	}
	return t, true, nil
}

// Tasks of two sorts share the table: a rollout's installs, one per
// release and host, which the driver arms, expires and retries; and the
// tasks people ask for (scan, verify, rollback, reboot, run-hook), with
// or without a release, which live on their own.
const (
	// adHocTask selects the tasks people asked for.
	adHocTask = `(release_id IS NULL OR kind <> 'install')`
	// dispatchable selects, in a query joining tasks t and releases r,
	// the tasks that may go to agents: a rollout's installs only while
	// it runs, the others always.
	dispatchable = `(t.release_id IS NULL OR t.kind <> 'install' OR r.state = 'running')`
)

// HasDueTasks reports whether a host has a task to hand over: cheap, for
// every check-in.
func (s *Store) HasDueTasks(ctx context.Context, hostID int64) (bool, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM tasks t LEFT JOIN releases r ON r.id = t.release_id
		WHERE t.host_id = ? AND t.state IN ('pending', 'dispatched') AND t.not_after > ? AND `+dispatchable, hostID, ms_(s.now())).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("host %d due tasks: %w", hostID, err)
	}
	return n > 0, nil
}

// DispatchTasks hands a host its due tasks: pending ones whose cut-off
// has not come, and dispatched ones the agent has not reported started
// (it may have missed the answer). Pending ones become dispatched. Tasks
// of rollouts that are not running are held back. The tasks are not
// signed: the caller signs them.
func (tx *Tx) DispatchTasks(hostID int64) ([]patchwave.AgentTask, error) {
	rows, err := tx.queryRows(`SELECT t.id, t.attempt, t.kind, t.state, COALESCE(r.name, ''), COALESCE(r.waves, ''), t.wave, t.patch_set, ps.patches,
		t.not_after, t.deadline_at, t.hook, t.rollback_of
		FROM tasks t LEFT JOIN releases r ON r.id = t.release_id
		LEFT JOIN release_patch_sets ps ON ps.release_id = t.release_id AND ps.hash = t.patch_set
		WHERE t.host_id = ? AND t.state IN ('pending', 'dispatched') AND t.not_after > ? AND `+dispatchable+` ORDER BY t.id`, hostID, ms_(tx.now))
	if err != nil {
		return nil, fmt.Errorf("host %d tasks: %w", hostID, err)
	}
	defer rows.Close()
	var out []patchwave.AgentTask
	var pending []int64
	for rows.Next() {
		t := patchwave.AgentTask{HostID: hostID}
		var kind, state, waves string
		var wave int
		var patches sql.NullString
		var notAfter, deadline int64
		if err := rows.Scan(&t.ID, &t.Attempt, &kind, &state, &t.Release, &waves, &wave, &t.PatchSet, &patches, &notAfter, &deadline, &t.Hook, &t.RollbackOf); err != nil {
			return nil, err
		}
		t.Kind, t.NotAfter, t.Deadline = patchwave.TaskKind(kind), fromMS(notAfter), fromMS(deadline)
		if patches.Valid {
			var targets []plan.PatchTarget
			if err := json.Unmarshal([]byte(patches.String), &targets); err != nil {
				return nil, fmt.Errorf("task %d patch set: %w", t.ID, err)
			}
			for _, p := range targets {
				t.Patches = append(t.Patches, patchwave.TaskPatch{Name: p.Package, Arch: p.Arch, Version: p.Version})
			}
		}
		if waves != "" {
			if ws, err := plan.ParseWaves([]byte(waves)); err == nil {
				for _, w := range ws {
					if w.Order == wave {
						t.Reboot, t.RollbackOnFailure = w.Reboot, w.RollbackOnFailure
					}
				}
			}
		}
		if t.Reboot == "" {
			t.Reboot = plan.RebootIfNeeded
			if t.Kind != patchwave.TaskInstall {
				t.Reboot = plan.RebootNever
			}
		}
		if state == string(patchwave.TaskPending) {
			pending = append(pending, t.ID)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	for _, id := range pending {
		if _, err := tx.exec(`UPDATE tasks SET state = 'dispatched', dispatched_at = ?, updated_at = ? WHERE id = ? AND state = 'pending'`, ms_(tx.now), ms_(tx.now), id); err != nil {
			return nil, fmt.Errorf("dispatch task %d: %w", id, err)
		}
	}
	return out, nil
}

// HostTaskRequest is a task people ask for outside a rollout: a scan, a
// verification or a rollback of a release's patches, a reboot, a hook.
type HostTaskRequest struct {
	HostID      int64
	Kind        patchwave.TaskKind
	ReleaseID   int64 // for verify and rollback: the release; 0 otherwise
	PatchSet    string
	Hook        string
	RollbackOf  int64
	Reason      string
	RequestedBy string
	NotAfter    time.Time
	Deadline    time.Time
}

// CreateHostTask stores a task asked for by a person. Tasks of a release
// (verify, rollback) are one per release, host and kind: asking again
// while one is pending or running is a conflict, and a finished one gets
// a new attempt.
func (tx *Tx) CreateHostTask(r HostTaskRequest) (int64, error) {
	var rel any
	if r.ReleaseID != 0 {
		rel = r.ReleaseID
		var id int64
		var state string
		err := tx.queryRow(`SELECT id, state FROM tasks WHERE release_id = ? AND host_id = ? AND kind = ?`, r.ReleaseID, r.HostID, string(r.Kind)).Scan(&id, &state)
		switch {
		case err == nil && patchwave.TaskState(state).Live():
			return 0, patchwave.Errorf(patchwave.EConflict, "a %s task for this host and release is %s already (task %d)", r.Kind, state, id)
		case err == nil:
			_, err = tx.exec(`UPDATE tasks SET state = 'pending', attempt = attempt + 1, reason = ?, requested_by = ?, hook = ?, rollback_of = ?, patch_set = ?,
				not_after = ?, deadline_at = ?, error = '', output = '', phase = '', details = '', dispatched_at = NULL, started_at = NULL, finished_at = NULL, updated_at = ?
				WHERE id = ?`, r.Reason, r.RequestedBy, r.Hook, r.RollbackOf, r.PatchSet, ms_(r.NotAfter), ms_(r.Deadline), ms_(tx.now), id)
			if err != nil {
				return 0, fmt.Errorf("task %d: %w", id, err)
			}
			return id, nil
		case !errors.Is(err, sql.ErrNoRows):
			return 0, fmt.Errorf("host task: %w", err)
		}
	}
	id, err := tx.insert(`INSERT INTO tasks (release_id, host_id, kind, wave, patch_set, state, reason, not_after, deadline_at, hook, rollback_of, requested_by, created_at, updated_at)
		VALUES (?, ?, ?, -1, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?)`, rel, r.HostID, string(r.Kind), r.PatchSet, r.Reason, ms_(r.NotAfter), ms_(r.Deadline),
		r.Hook, r.RollbackOf, r.RequestedBy, ms_(tx.now), ms_(tx.now))
	if err != nil {
		return 0, fmt.Errorf("create %s task: %w", r.Kind, err)
	}
	return id, nil
}

// TaskByID returns a task.
func (s *Store) TaskByID(ctx context.Context, id int64) (patchwave.Task, error) {
	t, err := scanTask(s.queryRow(ctx, `SELECT `+taskCols+taskFrom+` WHERE t.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return t, patchwave.Errorf(patchwave.ENotFound, "task %d not found", id)
	}
	if err != nil {
		return t, fmt.Errorf("task %d: %w", id, err)
	}
	return t, nil
}

// HostsWithNewTasks returns the hosts that have a pending task updated
// at or after since: whom to wake from a long poll.
func (s *Store) HostsWithNewTasks(ctx context.Context, since time.Time) ([]int64, error) {
	rows, err := s.query(ctx, `SELECT DISTINCT host_id FROM tasks WHERE state = 'pending' AND updated_at >= ?`, ms_(since))
	if err != nil {
		return nil, fmt.Errorf("new tasks: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// ReportTask stores an agent's result for one of its host's tasks. A
// result for another attempt than the current one, or for an attempt
// already finished, changes nothing (reports are idempotent); so does a
// "running" report after the end. It reports whether the task exists for
// the host (the agent may forget the result either way) and whether the
// result changed it.
func (tx *Tx) ReportTask(hostID int64, r patchwave.TaskResult) (known, changed bool, err error) {
	var state string
	var attempt int
	err = tx.queryRow(`SELECT state, attempt FROM tasks WHERE id = ? AND host_id = ?`, r.TaskID, hostID).Scan(&state, &attempt)
	if errors.Is(err, sql.ErrNoRows) {
		return false, false, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("task %d: %w", r.TaskID, err)
	}
	st := patchwave.TaskState(state)
	if attempt != r.Attempt || st.Finished() || st == patchwave.TaskExpired {
		return true, false, nil
	}
	now := ms_(tx.now)
	out := strings.ToValidUTF8(r.Output, "\uFFFD")
	details, phase := "", ""
	if r.Details != nil {
		b, _ := json.Marshal(r.Details)
		details, phase = strings.ToValidUTF8(string(b), "\uFFFD"), r.Details.Phase
	}
	switch r.State {
	case patchwave.TaskRunning:
		if st == patchwave.TaskRunning && phase == "" {
			return true, false, nil
		}
		_, err = tx.exec(`UPDATE tasks SET state = 'running', started_at = COALESCE(started_at, ?), dispatched_at = COALESCE(dispatched_at, ?),
			phase = CASE WHEN ? = '' THEN phase ELSE ? END, details = CASE WHEN ? = '' THEN details ELSE ? END, updated_at = ? WHERE id = ?`,
			now, now, phase, phase, details, details, now, r.TaskID)
	default:
		_, err = tx.exec(`UPDATE tasks SET state = ?, error = ?, output = ?, reboot_required = ?, finished_at = ?, updated_at = ?, phase = ?, details = ?,
			started_at = COALESCE(started_at, ?), first_result = CASE WHEN attempt = 1 THEN ? ELSE first_result END WHERE id = ?`,
			string(r.State), r.Error, truncate(out, patchwave.MaxTaskOutput), b2i(r.RebootRequired), now, now, phase, details, now, string(r.State), r.TaskID)
	}
	if err != nil {
		return true, false, fmt.Errorf("task %d result: %w", r.TaskID, err)
	}
	return true, true, nil
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// TaskCount is how many tasks of a live rollout's wave are in a state.
type TaskCount struct {
	Release string
	Wave    int
	State   patchwave.TaskState
	Count   int
}

// LiveTaskCounts counts the install tasks of the releases whose rollout
// is not over (running, paused or halted), by release, wave and state:
// for metrics.
func (s *Store) LiveTaskCounts(ctx context.Context) ([]TaskCount, error) {
	rows, err := s.query(ctx, `SELECT r.name, t.wave, t.state, COUNT(*) FROM tasks t JOIN releases r ON r.id = t.release_id
		WHERE t.kind = 'install' AND r.state IN ('running', 'paused', 'halted') GROUP BY r.name, t.wave, t.state ORDER BY r.name, t.wave, t.state`)
	if err != nil {
		return nil, fmt.Errorf("task counts: %w", err)
	}
	defer rows.Close()
	var out []TaskCount
	for rows.Next() {
		var c TaskCount
		var st string
		if err := rows.Scan(&c.Release, &c.Wave, &st, &c.Count); err != nil {
			return nil, fmt.Errorf("task counts: %w", err)
		}
		c.State = patchwave.TaskState(st)
		out = append(out, c)
	}
	return out, rows.Err()
}
