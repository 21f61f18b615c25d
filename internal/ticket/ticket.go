// Package ticket holds the rules of follow-up tickets, with no I/O: their
// state machine, the key that deduplicates failures, how a failure is
// classified, how severe it is and who gets it, which troubleshooting
// guide matches it, and when an unacknowledged ticket escalates.
package ticket

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/patchwave/patchwave"
)

// State is where a ticket is in its life.
type State string

// The states of a ticket: open → acknowledged → resolved | wont-fix. A
// resolved ticket opens again when its failure comes back.
const (
	Open         State = "open"
	Acknowledged State = "acknowledged"
	Resolved     State = "resolved"
	WontFix      State = "wont-fix"
)

// ParseState checks s names a state.
func ParseState(s string) (State, error) {
	switch st := State(s); st {
	case Open, Acknowledged, Resolved, WontFix:
		return st, nil
	}
	return "", patchwave.Errorf(patchwave.EInvalid, "ticket state %q: want open, acknowledged, resolved or wont-fix", s)
}

// Closed reports whether nobody needs to act on a ticket in state s.
func (s State) Closed() bool { return s == Resolved || s == WontFix }

// transitions are the moves people may make.
var transitions = map[State][]State{
	Open:         {Acknowledged, Resolved, WontFix},
	Acknowledged: {Resolved, WontFix},
	Resolved:     {Open},
	WontFix:      {Open},
}

// Transition checks a person may move a ticket from one state to another.
func Transition(from, to State) error {
	if slices.Contains(transitions[from], to) {
		return nil
	}
	if from == to {
		return patchwave.Errorf(patchwave.EConflict, "the ticket is %s already", from)
	}
	return patchwave.Errorf(patchwave.EConflict, "a ticket that is %s cannot become %s", from, to)
}

// Reason classifies a failure: failures of one host, patch and reason are
// one ticket.
type Reason string

// The reasons of failed tasks.
const (
	ReasonRebootTimeout Reason = "reboot-timeout" // the host did not come back after its reboot
	ReasonNoResult      Reason = "no-result"      // the agent never reported
	ReasonVerify        Reason = "verify-failed"  // a verification (health check, versions) failed
	ReasonSignature     Reason = "task-signature" // the agent refused the task's signature
	ReasonFailed        Reason = "task-failed"    // anything else the agent reported
	ReasonUserReport    Reason = "user-report"    // a person reported a problem with the patches
)

// Classify returns the reason of a failed task from its kind and error.
func Classify(kind patchwave.TaskKind, errText string) Reason {
	e := strings.ToLower(errText)
	switch {
	case strings.Contains(e, "did not come back after its reboot"), strings.Contains(e, "did not reboot within"), strings.Contains(e, "reboot timed out"):
		return ReasonRebootTimeout
	case strings.Contains(e, "no result from the agent"):
		return ReasonNoResult
	case strings.HasPrefix(e, "refused:"), strings.Contains(e, "task signature"):
		return ReasonSignature
	case kind == patchwave.TaskVerify, strings.Contains(e, "verification failed"), strings.Contains(e, "health check"):
		return ReasonVerify
	}
	return ReasonFailed
}

// Failure is what the ticket rules need of a failed task.
type Failure struct {
	TaskID    int64
	Attempt   int
	ReleaseID int64
	HostID    int64
	Hostname  string
	Site      string
	Tier      patchwave.Tier
	Kind      patchwave.TaskKind
	Release   string // the release's name, "" outside rollouts
	PatchSet  string // the release patch set's hash, "" for tasks without patches
	Error     string
}

// Patch names what failed to land for the dedup key: the release patch
// set, or the kind of task when it has none (a reboot, a hook).
func (f Failure) Patch() string {
	if f.PatchSet != "" {
		return f.PatchSet
	}
	return "kind:" + string(f.Kind)
}

// Key is the dedup key of a failure: host, patch and reason.
func Key(hostID int64, patch string, r Reason) string {
	return fmt.Sprintf("%d|%s|%s", hostID, patch, r)
}

// Severity is how urgent a ticket is.
type Severity string

// The severities, most urgent first.
const (
	SevCritical Severity = "critical"
	SevHigh     Severity = "high"
	SevMedium   Severity = "medium"
	SevLow      Severity = "low"
)

var sevOrder = []Severity{SevLow, SevMedium, SevHigh, SevCritical}

// ParseSeverity checks s names a severity.
func ParseSeverity(s string) (Severity, error) {
	if slices.Contains(sevOrder, Severity(s)) {
		return Severity(s), nil
	}
	return "", patchwave.Errorf(patchwave.EInvalid, "severity %q: want critical, high, medium or low", s)
}

// SeverityOf rates a failure: by the host's tier, one step up when the
// host may be down (it did not come back from its reboot).
func SeverityOf(tier patchwave.Tier, r Reason) Severity {
	i := 1 // unknown tiers: medium
	switch tier {
	case patchwave.TierMissionCritical:
		i = 3
	case patchwave.TierBusinessCritical:
		i = 2
	case patchwave.TierBusinessOperational:
		i = 1
	case patchwave.TierLab:
		i = 0
	}
	if r == ReasonRebootTimeout && i < 3 {
		i++
	}
	return sevOrder[i]
}

// Route sends tickets of a site and tier to an assignee or a queue. Empty
// Site and Tier match every ticket; the first matching route wins.
type Route struct {
	Site     string         `json:"site,omitempty"`
	Tier     patchwave.Tier `json:"tier,omitempty"`
	Assignee string         `json:"assignee,omitempty"`
	Queue    string         `json:"queue,omitempty"`
}

// DefaultQueue takes the tickets no route matches.
const DefaultQueue = "patching"

// Assign returns the assignee and queue of a ticket at site with tier.
func Assign(routes []Route, site string, tier patchwave.Tier) (assignee, queue string) {
	for _, r := range routes {
		if (r.Site == "" || r.Site == site) && (r.Tier == "" || r.Tier == tier) {
			q := r.Queue
			if q == "" && r.Assignee == "" {
				q = DefaultQueue
			}
			return r.Assignee, q
		}
	}
	return "", DefaultQueue
}

// Escalation hands a ticket of a severity (and tier, when set) that
// nobody acknowledged After it opened to To, a person or a queue.
type Escalation struct {
	Severity Severity       `json:"severity,omitempty"` // empty: every severity
	Tier     patchwave.Tier `json:"tier,omitempty"`     // empty: every tier
	After    Duration       `json:"after"`
	To       string         `json:"to"`
}

// Duration is a time.Duration written as "4h" in JSON.
type Duration time.Duration

// MarshalText writes d as a Go duration.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads a Go duration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return patchwave.Errorf(patchwave.EInvalid, "duration %q: %v", b, err)
	}
	*d = Duration(v)
	return nil
}

// Policy is how tickets are routed and escalated.
type Policy struct {
	Routes      []Route      `json:"routes"`
	Escalations []Escalation `json:"escalations"`
}

// DefaultPolicy is the policy until someone sets one: everything to the
// patching queue; unacknowledged critical and high tickets go to the
// on-call after 4 hours and to the head of operations after 24.
func DefaultPolicy() Policy {
	return Policy{
		Routes: []Route{{Queue: DefaultQueue}},
		Escalations: []Escalation{
			{Severity: SevCritical, After: Duration(4 * time.Hour), To: "on-call"},
			{Severity: SevCritical, After: Duration(24 * time.Hour), To: "head-of-operations"},
			{Severity: SevHigh, After: Duration(4 * time.Hour), To: "on-call"},
			{Severity: SevHigh, After: Duration(24 * time.Hour), To: "head-of-operations"},
		},
	}
}

// Validate checks a policy, naming what is wrong.
func (p Policy) Validate() error {
	if len(p.Routes) > 200 || len(p.Escalations) > 200 {
		return patchwave.Errorf(patchwave.EInvalid, "a policy has at most 200 routes and 200 escalations")
	}
	for i, r := range p.Routes {
		if r.Tier != "" {
			if _, err := patchwave.ParseTier(string(r.Tier)); err != nil {
				return patchwave.Errorf(patchwave.EInvalid, "route %d: %v", i+1, err)
			}
		}
		for _, f := range []struct{ n, v string }{{"site", r.Site}, {"assignee", r.Assignee}, {"queue", r.Queue}} {
			if f.v != "" {
				if err := patchwave.ValidLabel(fmt.Sprintf("route %d %s", i+1, f.n), f.v); err != nil {
					return err
				}
			}
		}
	}
	for i, e := range p.Escalations {
		if e.Severity != "" {
			if _, err := ParseSeverity(string(e.Severity)); err != nil {
				return patchwave.Errorf(patchwave.EInvalid, "escalation %d: %v", i+1, err)
			}
		}
		if e.Tier != "" {
			if _, err := patchwave.ParseTier(string(e.Tier)); err != nil {
				return patchwave.Errorf(patchwave.EInvalid, "escalation %d: %v", i+1, err)
			}
		}
		if time.Duration(e.After) < time.Minute || time.Duration(e.After) > 90*24*time.Hour {
			return patchwave.Errorf(patchwave.EInvalid, "escalation %d: after %s: want 1m to 2160h", i+1, time.Duration(e.After))
		}
		if err := patchwave.ValidLabel(fmt.Sprintf("escalation %d to", i+1), e.To); err != nil {
			return err
		}
	}
	return nil
}

// Ladder returns the escalations that apply to a ticket of severity and
// tier, in the order they fire (by After). A ticket's escalation level is
// how many of them it has had.
func (p Policy) Ladder(sev Severity, tier patchwave.Tier) []Escalation {
	var out []Escalation
	for _, e := range p.Escalations {
		if (e.Severity == "" || e.Severity == sev) && (e.Tier == "" || e.Tier == tier) {
			out = append(out, e)
		}
	}
	slices.SortStableFunc(out, func(a, b Escalation) int { return int(a.After - b.After) })
	return out
}

// Due returns the escalation a ticket has next, and its level (1 for the
// first), when it is due at now: the ticket is open (not acknowledged)
// and opened at least its After ago. ok is false when none is due.
func (p Policy) Due(sev Severity, tier patchwave.Tier, state State, level int, openedAt, now time.Time) (e Escalation, next int, ok bool) {
	if state != Open {
		return e, 0, false
	}
	ladder := p.Ladder(sev, tier)
	// Several steps may be overdue (a server that was down): take the
	// last one due, skipping those in between.
	for i := len(ladder) - 1; i >= level; i-- {
		if !now.Before(openedAt.Add(time.Duration(ladder[i].After))) {
			return ladder[i], i + 1, true
		}
	}
	return e, 0, false
}

// Guide is a troubleshooting guide: a failure pattern and the steps that
// remedy it.
type Guide struct {
	Name    string   `json:"name"`
	Title   string   `json:"title"`
	Pattern string   `json:"pattern"`
	Steps   []string `json:"steps"`
	BuiltIn bool     `json:"built_in,omitempty"`
	re      *regexp.Regexp
}

// Limits on operators' guides.
const (
	MaxPattern = 512
	MaxSteps   = 30
	MaxStep    = 1000
	// MaxScan is how much of a task's error and output a pattern reads.
	MaxScan = 64 << 10
)

var guideName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// Compile checks a guide and compiles its pattern (Go's regexps run in
// linear time, so a hostile pattern cannot stall the server).
func (g *Guide) Compile() error {
	if !guideName.MatchString(g.Name) {
		return patchwave.Errorf(patchwave.EInvalid, "guide name %q: want 1 to 63 lower-case letters, digits and dashes", g.Name)
	}
	if strings.TrimSpace(g.Title) == "" {
		return patchwave.Errorf(patchwave.EInvalid, "guide %s has no title", g.Name)
	}
	if err := patchwave.ValidText("guide title", g.Title, 200); err != nil {
		return err
	}
	if g.Pattern == "" || len(g.Pattern) > MaxPattern {
		return patchwave.Errorf(patchwave.EInvalid, "guide %s: pattern must be 1 to %d bytes", g.Name, MaxPattern)
	}
	re, err := regexp.Compile(g.Pattern)
	if err != nil {
		return patchwave.Errorf(patchwave.EInvalid, "guide %s: pattern: %v", g.Name, err)
	}
	if len(g.Steps) == 0 || len(g.Steps) > MaxSteps {
		return patchwave.Errorf(patchwave.EInvalid, "guide %s: want 1 to %d steps", g.Name, MaxSteps)
	}
	for i, s := range g.Steps {
		if strings.TrimSpace(s) == "" {
			return patchwave.Errorf(patchwave.EInvalid, "guide %s: step %d is empty", g.Name, i+1)
		}
		if err := patchwave.ValidText(fmt.Sprintf("guide %s step %d", g.Name, i+1), s, MaxStep); err != nil {
			return err
		}
	}
	g.re = re
	return nil
}

// Matches reports whether the guide's pattern matches a task's error or
// output (their first MaxScan bytes).
func (g *Guide) Matches(errText, output string) bool {
	if g.re == nil {
		if g.Compile() != nil {
			return false
		}
	}
	return g.re.MatchString(clip(errText)) || g.re.MatchString(clip(output))
}

func clip(s string) string {
	if len(s) > MaxScan {
		return s[:MaxScan]
	}
	return s
}

// Match returns the first guide that matches, operators' guides before
// the built-in ones.
func Match(custom []Guide, errText, output string) (Guide, bool) {
	for _, list := range [][]Guide{custom, BuiltIn()} {
		for i := range list {
			if list[i].Matches(errText, output) {
				return list[i], true
			}
		}
	}
	return Guide{}, false
}

// BuiltIn returns the knowledge base Patchwave ships with.
func BuiltIn() []Guide {
	gs := []Guide{
		{Name: "task-signature", Title: "The agent refused the task's signature",
			Pattern: `(?i)(^refused:|task signature|signed by an unknown key)`,
			Steps: []string{"The agent pins the server's task-signing key at enrollment: a server restored from another backup or a new key makes it refuse tasks.",
				"Check the agent's logs for the key it expects; re-enroll the agent with a fresh token if the server's key changed on purpose.",
				"If nobody changed the key, treat it as a security incident: someone may be sending forged tasks."}},
		{Name: "pkg-lock", Title: "The package manager's lock is held",
			Pattern: `(?i)(could not get lock|unable to (acquire|lock) the (dpkg|administration directory)|dpkg frontend lock|waiting for process with pid|rpmdb.*lock|another app is currently holding the yum lock|lock held)`,
			Steps: []string{"Find who holds it: `fuser -v /var/lib/dpkg/lock-frontend` (apt) or `ps aux | grep -E 'dnf|yum|rpm'` (dnf).",
				"Wait for unattended-upgrades or another package run to finish; do not delete lock files while a process holds them.",
				"If the holder is dead, run `dpkg --configure -a` (apt) or `rpm --rebuilddb` (dnf), then retry the task."}},
		{Name: "disk-full", Title: "Not enough free disk space",
			Pattern: `(?i)(no space left on device|not enough (free )?(disk )?space|you don't have enough free space|free space pre-?check|disk full|needs \d+\s?[KMG]B more space)`,
			Steps: []string{"Check space: `df -h / /var /boot`.",
				"Free space: `apt-get clean` or `dnf clean all`; remove old kernels (`apt autoremove --purge`, `dnf remove --oldinstallonly`).",
				"/boot full: remove kernels that are not running, then retry the task."}},
		{Name: "dependency-conflict", Title: "A dependency conflict blocks the upgrade",
			Pattern: `(?i)(unmet dependencies|depends: .* but it is not (going to be installed|installable)|held broken packages|conflicting requests|conflicts with|nothing provides|problem with installed package|cannot install both)`,
			Steps: []string{"Show the conflict: `apt-get -s install PACKAGE` or `dnf install --assumeno PACKAGE`.",
				"Look for packages on hold (`apt-mark showhold`, `dnf versionlock list`) and third-party repositories pinning old versions.",
				"If a patch needs a newer dependency that the release lacks, add a restriction exception and let the next release carry both."}},
		{Name: "repo-unreachable", Title: "A package repository is unreachable",
			Pattern: `(?i)(failed to fetch|could not resolve|temporary failure resolving|connection timed out|cannot download repomd|failed to download metadata|curl error|unable to connect to|no route to host|404\s+not found)`,
			Steps: []string{"From the host, fetch the repository URL (`curl -I URL`); check DNS, proxy settings and firewall rules.",
				"Check the mirror serves the release's versions; a mirror that lags must catch up first.",
				"Retry the task once the repository answers."}},
		{Name: "gpg-signature", Title: "A repository or package signature is rejected",
			Pattern: `(?i)(NO_PUBKEY|EXPKEYSIG|BADSIG|gpg (check|error)|public key .* is not installed|signature (could not be verified|verification failed|is invalid)|repomd\.xml signature|not signed)`,
			Steps: []string{"Find the key id in the error; refresh the repository's key (the vendor's keyring package, or `rpm --import KEY`).",
				"An expired key (EXPKEYSIG) needs the vendor's new key; never disable signature checks.",
				"Retry the task."}},
		{Name: "service-failed", Title: "A service or health check failed after the install",
			Pattern: `(?i)(health ?check|service .* (failed|is not running|inactive)|job for .* failed|post-install check|verification failed|systemctl .* failed)`,
			Steps: []string{"Look at the service: `systemctl status NAME` and `journalctl -u NAME -b`.",
				"Compare the versions before and after in the task report; a configuration file prompt or a changed default is a common cause.",
				"If the service cannot be fixed quickly, roll the host back: `patchwave tasks create HOST --kind rollback --release RELEASE --reason ...`."}},
		{Name: "reboot-timeout", Title: "The host did not come back after its reboot",
			Pattern: `(?i)(did not come back after its reboot|did not reboot within|reboot timed out)`,
			Steps: []string{"Reach the host's console (IPMI, hypervisor) and look at the boot: a kernel panic, a file system check, a stuck unit.",
				"Boot the previous kernel from the boot menu if the new one fails, and open an exception for the host.",
				"Once the agent checks in again, verify the host: `patchwave tasks create HOST --kind verify --release RELEASE --reason ...`."}},
		{Name: "no-result", Title: "The agent did not report a result in time",
			Pattern: `(?i)no result from the agent`,
			Steps: []string{"Check the agent runs (`systemctl status patchwave-agent`) and reaches the server.",
				"Look at the agent's journal: a hung package manager leaves the task running past its deadline.",
				"Retry the task when the agent is back."}},
	}
	for i := range gs {
		gs[i].BuiltIn = true
		if err := gs[i].Compile(); err != nil {
			panic(err) // a bug in the table above, caught by the tests
		}
	}
	return gs
}

// Ticket is the follow-up of one host's failure to take one patch for
// one reason.
type Ticket struct {
	ID              int64              `json:"id"`
	HostID          int64              `json:"host_id"`
	Hostname        string             `json:"hostname"`
	Site            string             `json:"site,omitempty"`
	Tier            patchwave.Tier     `json:"tier,omitempty"`
	ReleaseID       int64              `json:"release_id,omitempty"`
	Release         string             `json:"release,omitempty"`
	Kind            patchwave.TaskKind `json:"kind"`
	Patch           string             `json:"patch"`
	Reason          Reason             `json:"reason"`
	Severity        Severity           `json:"severity"`
	State           State              `json:"state"`
	Assignee        string             `json:"assignee,omitempty"`
	Queue           string             `json:"queue,omitempty"`
	TaskID          int64              `json:"task_id"`
	Error           string             `json:"error,omitempty"`
	Occurrences     int                `json:"occurrences"`
	EscalationLevel int                `json:"escalation_level"`
	EscalatedTo     string             `json:"escalated_to,omitempty"`
	OpenedAt        time.Time          `json:"opened_at"`
	LastSeenAt      time.Time          `json:"last_seen_at"`
	AcknowledgedAt  *time.Time         `json:"acknowledged_at,omitempty"`
	ClosedAt        *time.Time         `json:"closed_at,omitempty"`
	UpdatedAt       time.Time          `json:"updated_at"`

	// Filled in when one ticket is shown.
	Output string  `json:"output,omitempty"` // the task's output
	Guide  *Guide  `json:"guide,omitempty"`  // the troubleshooting guide that matches
	Events []Event `json:"events,omitempty"`
}

// Event is a step in a ticket's history.
type Event struct {
	ID    int64     `json:"id"`
	Kind  string    `json:"kind"` // opened, occurred, reopened, acknowledged, resolved, wont-fix, comment, escalated
	Actor string    `json:"actor"`
	Body  string    `json:"body,omitempty"`
	At    time.Time `json:"at"`
}

// Notice is what a channel is told about a ticket.
type Notice struct {
	Event  string `json:"event"` // ticket.opened, ticket.reopened, ticket.escalated, ticket.resolved, wave.reboot-notice…
	Ticket Ticket `json:"ticket"`
	Text   string `json:"text"` // one line for people
	// Of a wave.reboot-notice: the release, the wave, when it may start,
	// and the hosts it may reboot (their owners, when known).
	Release  string     `json:"release,omitempty"`
	Wave     string     `json:"wave,omitempty"`
	StartsAt *time.Time `json:"starts_at,omitempty"`
	Hosts    []string   `json:"hosts,omitempty"`
}

// Summary is the one line a notice shows.
func (t Ticket) Summary() string {
	s := fmt.Sprintf("[%s] ticket %d: %s %s failed on %s (%s)", t.Severity, t.ID, t.Kind, t.Release, t.Hostname, t.Reason)
	if t.Occurrences > 1 {
		s += fmt.Sprintf(", %d times", t.Occurrences)
	}
	return strings.Join(strings.Fields(s), " ")
}
