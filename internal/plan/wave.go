package plan

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/patchwave/patchwave"
)

// Reboot policies of a wave.
const (
	RebootIfNeeded = "if-needed"
	RebootNever    = "never"
	RebootAlways   = "always"
)

// Wave is one ring of a rollout: the hosts its selector matches get the
// release from StartOffset after the release on, a limited number at a
// time; too many failures halt the rollout; the next wave starts only
// once this one's promotion gate passes.
type Wave struct {
	Order    int
	Name     string
	Selector patchwave.Selector
	// Hosts names hosts the wave takes whatever their attributes (by
	// hostname, ignoring case); with Hosts set, a zero Selector matches
	// nobody else.
	Hosts []string
	// StartOffset is when the wave may start, after the release.
	StartOffset time.Duration
	// MaxConcurrent and MaxConcurrentPct (of the wave's hosts) bound the
	// tasks running at once; 0 means no bound of that kind; with both,
	// the smaller holds.
	MaxConcurrent    int
	MaxConcurrentPct float64
	// MaxErrors and MaxErrorsPct (of the wave's hosts) are the failures
	// the wave tolerates; one more halts the rollout. With both zero,
	// the first failure halts it; with both set, the smaller holds.
	MaxErrors    int
	MaxErrorsPct float64
	// Soak is the least time between the wave's start and its promotion.
	Soak time.Duration
	// GateSuccessPct is the first-pass success, in percent of the
	// finished tasks, needed for promotion, over at least GateMinHosts
	// finished tasks (or all of the wave's hosts, if fewer).
	GateSuccessPct float64
	GateMinHosts   int
	// GateReports, when set, also holds the promotion while the wave's
	// hosts have more than GateMaxReports problem reports (people's
	// feedback on the release's patches) against them.
	GateReports    bool
	GateMaxReports int
	// Approvers must all approve before the wave is promoted (for wave 0:
	// the lab sign-off); StartApprovers before it starts (e.g. a business
	// owner, for mission-critical systems). Each entry is a user name or
	// a role; the caller resolves them.
	Approvers      []string
	StartApprovers []string
	// Reboot is RebootIfNeeded (the default, ""), RebootNever or
	// RebootAlways.
	Reboot string
	// Deadline is how long after its start the wave should be done.
	Deadline time.Duration
	// RollbackOnFailure makes an agent whose verification fails after
	// installing go back to the versions it had, at once.
	RollbackOnFailure bool
}

// Validate checks w: a name; no negative counts or durations;
// percentages from 0 to 100; a known reboot policy. Errors have code
// EInvalid.
func (w Wave) Validate() error {
	bad := func(format string, args ...any) error {
		return patchwave.Errorf(patchwave.EInvalid, "wave %d %q: %s", w.Order, w.Name, fmt.Sprintf(format, args...))
	}
	switch {
	case w.Name == "":
		return patchwave.Errorf(patchwave.EInvalid, "wave %d: name is empty", w.Order)
	case w.StartOffset < 0 || w.Soak < 0 || w.Deadline < 0:
		return bad("start offset, soak and deadline must not be negative")
	case w.MaxConcurrent < 0 || w.MaxErrors < 0 || w.GateMinHosts < 0:
		return bad("max concurrent, max errors and gate minimum must not be negative")
	case w.StartOffset > 366*24*time.Hour || w.Soak > 366*24*time.Hour || w.Deadline > 366*24*time.Hour:
		return bad("start offset, soak and deadline must be at most a year")
	case len(w.Hosts) > 10000 || len(w.Approvers)+len(w.StartApprovers) > 64:
		return bad("at most 10000 hosts and 64 approvers")
	}
	for _, h := range w.Hosts {
		if err := patchwave.ValidHostname(h); err != nil {
			return bad("hosts: %s", patchwave.ErrorMessage(err))
		}
	}
	for _, a := range append(slices.Clone(w.Approvers), w.StartApprovers...) {
		if err := patchwave.ValidLabel("approver", a); err != nil {
			return bad("%s", patchwave.ErrorMessage(err))
		}
	}
	for _, p := range []struct {
		name string
		v    float64
	}{{"max concurrent %", w.MaxConcurrentPct}, {"max errors %", w.MaxErrorsPct}, {"gate success %", w.GateSuccessPct}} {
		if !(p.v >= 0 && p.v <= 100) {
			return bad("%s %v, want 0 to 100", p.name, p.v)
		}
	}
	if !slices.Contains([]string{"", RebootIfNeeded, RebootNever, RebootAlways}, w.Reboot) {
		return bad("reboot %q, want if-needed, never or always", w.Reboot)
	}
	return nil
}

// Matches reports whether the wave's selector or host list takes h.
func (w Wave) Matches(h patchwave.Host) bool {
	for _, n := range w.Hosts {
		if strings.EqualFold(n, h.Hostname) {
			return true
		}
	}
	if len(w.Hosts) > 0 && w.Selector.IsZero() {
		return false
	}
	return w.Selector.Matches(h)
}

// DefaultWaves returns the common five rings, least critical first. The
// first matching wave takes a host, so the tags come before the tiers,
// and the last wave takes every host left.
//
//	0 lab               tier=lab, tag=it-pilot: lab test servers and IT members' machines
//	1 pilot             tag=pilot|dev: development and low-risk servers, some engineering machines
//	2 early             tier=business-operational, tag=qa: QA and medium-risk servers
//	3 broad             tier=business-critical: production high-risk servers
//	4 mission-critical  everything left: mission-critical servers and the remaining hosts,
//	                    started only with an approver's consent
//
// Tag the machines of selected IT members it-pilot and a site's
// workstations qa (or edit the waves) to follow the usual practice. Wave 0
// starts the day after the release (the evaluation phase) and needs the
// lab sign-off of an approver; the others start from the production phase
// (day 8), five days apart.
func DefaultWaves() []Wave {
	day := 24 * time.Hour
	return []Wave{
		{Order: 0, Name: "lab", Selector: patchwave.MustParseSelector("tier=lab"), StartOffset: 1 * day,
			MaxConcurrentPct: 100, MaxErrorsPct: 20, Soak: 2 * day, GateSuccessPct: 95, GateMinHosts: 1,
			Approvers: []string{"approver"}, Reboot: RebootIfNeeded, Deadline: 5 * day},
		{Order: 1, Name: "pilot", Selector: patchwave.MustParseSelector("tag=pilot|dev"), StartOffset: 8 * day,
			MaxConcurrentPct: 25, MaxErrors: 5, MaxErrorsPct: 10, Soak: 2 * day, GateSuccessPct: 95, GateMinHosts: 5,
			Reboot: RebootIfNeeded, Deadline: 5 * day},
		{Order: 2, Name: "early", Selector: patchwave.MustParseSelector("tier=business-operational"), StartOffset: 13 * day,
			MaxConcurrentPct: 20, MaxErrors: 20, MaxErrorsPct: 5, Soak: 2 * day, GateSuccessPct: 97, GateMinHosts: 20,
			Reboot: RebootIfNeeded, Deadline: 5 * day},
		{Order: 3, Name: "broad", Selector: patchwave.MustParseSelector("tier=business-critical"), StartOffset: 18 * day,
			MaxConcurrentPct: 10, MaxErrors: 20, MaxErrorsPct: 3, Soak: 2 * day, GateSuccessPct: 98, GateMinHosts: 20,
			Reboot: RebootIfNeeded, Deadline: 5 * day},
		{Order: 4, Name: "mission-critical", StartOffset: 23 * day,
			MaxConcurrentPct: 5, MaxConcurrent: 10, MaxErrors: 1, Soak: 0, GateSuccessPct: 99, GateMinHosts: 1,
			StartApprovers: []string{"approver"}, Reboot: RebootIfNeeded, Deadline: 5 * day},
	}
}

// AssignWaves puts each host in the first wave (by Order) whose selector
// matches it. It returns the host ids per wave Order, in the order of
// hosts, and the ids of the hosts no wave matches.
func AssignWaves(waves []Wave, hosts []patchwave.Host) (byWave map[int][]int64, unmatched []int64) {
	ws := slices.Clone(waves)
	slices.SortStableFunc(ws, func(a, b Wave) int { return a.Order - b.Order })
	byWave = make(map[int][]int64, len(ws))
	for _, h := range hosts {
		i := slices.IndexFunc(ws, func(w Wave) bool { return w.Matches(h) })
		if i < 0 {
			unmatched = append(unmatched, h.ID)
			continue
		}
		byWave[ws[i].Order] = append(byWave[ws[i].Order], h.ID)
	}
	return byWave, unmatched
}

// WaveStats is the progress of a wave's tasks. Done counts hosts whose
// first attempt finished, Succeeded those whose first attempt succeeded
// (first-pass success); Failed the tasks failed now (a retry that
// succeeds takes its host out); Running the live tasks. Missed counts
// the hosts given up on when the wave's deadline passed with no result
// (offline, or no window in time): they do not hold up the gate.
type WaveStats struct {
	Hosts, Done, Succeeded, Failed, Running, Missed int
	// Reports are the problem reports against the wave's hosts.
	Reports   int
	StartedAt time.Time
}

// pctOf returns pct percent of n, rounded up.
func pctOf(pct float64, n int) int {
	return int(math.Ceil(pct * float64(n) / 100))
}

// Budget returns how many more tasks may start in a wave of total hosts
// with running tasks running: MaxConcurrent and MaxConcurrentPct of total
// (rounded up, so at least one when total > 0), the smaller of the two if
// both are set, all hosts if neither is; minus running; never negative.
func (w Wave) Budget(total, running int) int {
	limit := total
	if w.MaxConcurrent > 0 {
		limit = min(limit, w.MaxConcurrent)
	}
	if w.MaxConcurrentPct > 0 {
		limit = min(limit, max(pctOf(w.MaxConcurrentPct, total), 1))
	}
	return max(limit-running, 0)
}

// ErrorBudget returns the failures a wave of total hosts tolerates:
// MaxErrors, MaxErrorsPct of total rounded down, the smaller if both are
// set, 0 if neither is.
func (w Wave) ErrorBudget(total int) int {
	budget := -1
	if w.MaxErrors > 0 {
		budget = w.MaxErrors
	}
	if w.MaxErrorsPct > 0 {
		p := int(math.Floor(w.MaxErrorsPct * float64(total) / 100))
		if budget < 0 || p < budget {
			budget = p
		}
	}
	return max(budget, 0)
}

// Halted reports whether the wave's failures exceed its error budget.
func (w Wave) Halted(s WaveStats) bool {
	return s.Failed > w.ErrorBudget(s.Hosts)
}

// GatePasses reports whether the wave may be promoted at now, given the
// approvals received (names, compared with Approvers), and if not, why
// (the first unmet condition, in the order below).
// It needs: the wave started, not halted, no task running, every host
// done; no more problem reports than GateMaxReports (when GateReports);
// first-pass success of at least GateSuccessPct over at least
// GateMinHosts finished tasks (or all hosts, if fewer); the soak time
// over; every approver's approval. A wave without hosts passes on its
// approvals alone.
func (w Wave) GatePasses(s WaveStats, now time.Time, approvals []string) (bool, string) {
	approved := func() (bool, string) { return allApproved(w.Approvers, approvals, "promotion") }
	if s.Hosts == 0 {
		return approved()
	}
	switch {
	case s.StartedAt.IsZero():
		return false, "the wave has not started"
	case w.Halted(s):
		return false, fmt.Sprintf("halted: %d failures, %d allowed", s.Failed, w.ErrorBudget(s.Hosts))
	case w.GateReports && s.Reports > w.GateMaxReports:
		return false, fmt.Sprintf("%d problem reports against the wave's hosts, %d allowed", s.Reports, w.GateMaxReports)
	case s.Running > 0:
		return false, fmt.Sprintf("%d tasks still running", s.Running)
	case s.Done+s.Missed < s.Hosts:
		return false, fmt.Sprintf("%d of %d hosts done", s.Done, s.Hosts)
	}
	if need := min(w.GateMinHosts, s.Hosts); s.Done < need {
		return false, fmt.Sprintf("%d hosts done, at least %d needed", s.Done, need)
	}
	if s.Done > 0 && float64(s.Succeeded)*100 < w.GateSuccessPct*float64(s.Done) {
		return false, fmt.Sprintf("first-pass success %.1f%%, %.1f%% needed", float64(s.Succeeded)*100/float64(s.Done), w.GateSuccessPct)
	}
	if end := s.StartedAt.Add(w.Soak); now.Before(end) {
		return false, fmt.Sprintf("soaking until %s", end.Format(time.RFC3339))
	}
	return approved()
}

// allApproved reports whether every entry of need is among approvals,
// and if not, names the first one missing.
func allApproved(need, approvals []string, what string) (bool, string) {
	for _, a := range need {
		if !slices.Contains(approvals, a) {
			return false, fmt.Sprintf("waiting for the %s approval of %s", what, a)
		}
	}
	return true, ""
}

// CanStart reports whether the wave may start at now, in a release
// released at released, given whether the wave before it was promoted (or
// there is none) and the approvals received for this wave; if not, why.
func (w Wave) CanStart(released time.Time, prevPromoted bool, now time.Time, approvals []string) (bool, string) {
	if at := released.Add(w.StartOffset); now.Before(at) {
		return false, fmt.Sprintf("starts at %s", at.Format(time.RFC3339))
	}
	if !prevPromoted {
		return false, "waiting for the previous wave's promotion"
	}
	return allApproved(w.StartApprovers, approvals, "start")
}

// Compressed returns waves for an urgent out-of-band release: the same
// rings, selectors, budgets and gates, but wave 0 starts at once, each
// later wave 12 hours after the one before (the gates still hold them
// back), with soak times of at most 2 hours and deadlines of at most 2
// days.
func Compressed(waves []Wave) []Wave {
	out := slices.Clone(waves)
	slices.SortStableFunc(out, func(a, b Wave) int { return a.Order - b.Order })
	for i := range out {
		out[i].StartOffset = time.Duration(i) * 12 * time.Hour
		out[i].Soak = min(out[i].Soak, 2*time.Hour)
		if out[i].Deadline == 0 || out[i].Deadline > 48*time.Hour {
			out[i].Deadline = 48 * time.Hour
		}
	}
	return out
}

// ValidWaves checks a wave plan: at least one wave and at most 20, each
// valid (Validate), with unique orders and names.
func ValidWaves(ws []Wave) error {
	if len(ws) == 0 {
		return patchwave.Errorf(patchwave.EInvalid, "waves: none given")
	}
	if len(ws) > 20 {
		return patchwave.Errorf(patchwave.EInvalid, "waves: %d given, at most 20 allowed", len(ws))
	}
	orders, names := map[int]bool{}, map[string]bool{}
	for _, w := range ws {
		if err := w.Validate(); err != nil {
			return err
		}
		if w.Order < 0 || w.Order > 99 {
			return patchwave.Errorf(patchwave.EInvalid, "wave %q: order %d, want 0 to 99", w.Name, w.Order)
		}
		if orders[w.Order] || names[w.Name] {
			return patchwave.Errorf(patchwave.EInvalid, "wave %d %q: order or name used twice", w.Order, w.Name)
		}
		orders[w.Order], names[w.Name] = true, true
	}
	return nil
}
