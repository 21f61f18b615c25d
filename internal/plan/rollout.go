package plan

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/patchwave/patchwave"
)

// Approval stages: an approval lets a wave start, or promotes it.
const (
	StageStart   = "start"
	StagePromote = "promote"
)

// Approval decisions.
const (
	Approve = "approve"
	Reject  = "reject"
)

// ApprovalInfo is one person's decision on a wave.
type ApprovalInfo struct {
	Wave     int
	Stage    string
	Actor    string
	Role     patchwave.Role
	Decision string
	At       time.Time
}

// Approvals returns the names that approvals of stage for wave satisfy,
// to compare with a wave's Approvers or StartApprovers (need): the actor
// and the role of each approval given after the last rejection; an
// admin's approval also satisfies every role named in need.
func Approvals(all []ApprovalInfo, wave int, stage string, need []string) []string {
	var out []string
	for _, a := range all {
		if a.Wave != wave || a.Stage != stage {
			continue
		}
		if a.Decision == Reject {
			out = out[:0]
			continue
		}
		out = append(out, a.Actor, string(a.Role))
		if a.Role == patchwave.RoleAdmin {
			for _, n := range need {
				if _, err := patchwave.ParseRole(n); err == nil {
					out = append(out, n)
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// CanApprove reports whether a user may give an approval that one of need
// asks for: by name, by role, or as an admin for a role. It returns the
// entries the user would satisfy.
func CanApprove(u patchwave.User, need []string) []string {
	var out []string
	for _, n := range need {
		_, isRole := patchwave.ParseRole(n)
		if n == u.Name || n == string(u.Role) || (u.Role == patchwave.RoleAdmin && isRole == nil) {
			out = append(out, n)
		}
	}
	return out
}

// TaskInfo is what the rollout rules need of a task.
type TaskInfo struct {
	ID          int64
	HostID      int64
	Wave        int
	State       patchwave.TaskState
	Attempt     int
	FirstResult patchwave.TaskState
}

// WaveProgress is the stored state of one wave of a rollout.
type WaveProgress struct {
	Wave       int                 `json:"wave"`
	State      patchwave.WaveState `json:"state"`
	Hosts      int                 `json:"hosts"`
	StartedAt  *time.Time          `json:"started_at,omitempty"`
	PromotedAt *time.Time          `json:"promoted_at,omitempty"`
	// Note is the driver's latest word on the wave: why it waits, why it
	// was promoted.
	Note string `json:"note,omitempty"`
}

// PastDeadline reports whether wave w, in progress p, started and its
// deadline has passed at now.
func PastDeadline(w Wave, p WaveProgress, now time.Time) bool {
	return w.Deadline > 0 && p.StartedAt != nil && !now.Before(p.StartedAt.Add(w.Deadline))
}

// Stats counts a wave's tasks (see WaveStats). skipped is the number of
// its hosts that will get no task (excluded since the release was
// frozen, revoked, gone); past the deadline every host without a finished
// first attempt or a live task is missed too.
func Stats(w Wave, p WaveProgress, tasks []TaskInfo, skipped int, now time.Time) WaveStats {
	s := WaveStats{Hosts: p.Hosts}
	if p.StartedAt != nil {
		s.StartedAt = *p.StartedAt
	}
	for _, t := range tasks {
		if t.Wave != w.Order {
			continue
		}
		switch {
		case t.State.Live():
			s.Running++
		case t.State == patchwave.TaskFailed:
			s.Failed++
		}
		if t.FirstResult != "" {
			s.Done++
			if t.FirstResult == patchwave.TaskSucceeded {
				s.Succeeded++
			}
		}
	}
	s.Missed = min(skipped, max(s.Hosts-s.Done-s.Running, 0))
	if PastDeadline(w, p, now) {
		s.Missed = max(s.Hosts-s.Done-s.Running, 0)
	}
	return s
}

// HostCheck is why a host without a live task gets one now or not. The
// checks run in this order; the first that fails is the answer.
type HostCheck struct {
	OK bool
	// Opening is the opening the task would run in (OK), or the next one
	// (when the host waits for its window).
	Opening *Interval
	Why     string
}

// CheckHost decides whether host h (nil when gone), at its place rh in a
// rollout in state state with its wave w in progress p, may get a task at
// now: the rollout runs, the host is in the release and a wave, not
// excluded by an exclusion active now (exclusions), its wave runs and its
// deadline has not passed, and it is inside an opening of its windows
// (idx) before the cut-off. The concurrency budget is the caller's.
func CheckHost(state patchwave.RolloutState, rh ReleaseHost, h *patchwave.Host, w *Wave, p *WaveProgress, exclusions []patchwave.Exception, idx *WindowIndex, now time.Time) HostCheck {
	no := func(format string, args ...any) HostCheck { return HostCheck{Why: fmt.Sprintf(format, args...)} }
	switch {
	case state.Final():
		return no("the rollout is %s", state)
	case rh.Excluded != "":
		return no("left out of the release: %s", rh.Excluded)
	case rh.Wave == NoWave || w == nil || p == nil:
		return no("no wave of the release takes the host")
	case h == nil:
		return no("the host was deleted")
	case h.Revoked:
		return no("the host's agent credential is revoked")
	}
	for _, e := range exclusions {
		if e.Covers(*h, patchwave.Finding{}) {
			return no("excluded by exclusion %d (%s): %s", e.ID, e.Owner, e.Justification)
		}
	}
	switch {
	case state == patchwave.RolloutPaused || state == patchwave.RolloutHalted:
		return no("the rollout is %s", state)
	case p.State == patchwave.WaveWaiting:
		return no("wave %d %q has not started: %s", w.Order, w.Name, cmp.Or(strings.TrimSpace(p.Note), "the driver has not looked at it yet"))
	case PastDeadline(*w, *p, now):
		return no("wave %d %q passed its deadline at %s: the host was missed and waits for the next release", w.Order, w.Name,
			p.StartedAt.Add(w.Deadline).Format(time.RFC3339))
	case state != patchwave.RolloutRunning:
		return no("the rollout is %s", state)
	}
	if iv, ok := idx.InWindow(*h, now); ok {
		return HostCheck{OK: true, Opening: &iv, Why: fmt.Sprintf("wave %d %q runs and the host is in window %s until its cut-off at %s",
			w.Order, w.Name, iv.Window, iv.CutOff.Format(time.RFC3339))}
	}
	if !idx.HasWindow(*h) {
		return no("no maintenance window matches the host, and the release does not allow patching outside windows")
	}
	if iv, ok := idx.NextOpening(*h, now); ok {
		return HostCheck{Opening: &iv, Why: fmt.Sprintf("outside its maintenance windows: the next opening is %s from %s (cut-off %s)",
			iv.Window, iv.Start.Format(time.RFC3339), iv.CutOff.Format(time.RFC3339))}
	}
	return no("none of its maintenance windows opens in the next two years")
}
