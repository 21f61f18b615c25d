// Package agent is the endpoint agent behind `patchwave agent`: it enrolls
// with an enrollment token, keeps its identity and credential in a state
// directory, and checks in on an interval, reporting its facts and installed
// packages. After the first full report it sends only hashes when nothing
// changed, and only the change (a delta against the list the server last
// acknowledged) when packages were added, removed or upgraded.
//
// The agent keeps nothing large in memory between check-ins: the package
// list is collected, compared with the acknowledged copy on disk, sent and
// dropped.
package agent

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/client"
	"github.com/patchwave/patchwave/internal/osinfo"
	"github.com/patchwave/patchwave/internal/pkgmgr"
	"github.com/patchwave/patchwave/internal/tlsca"
)

// Config is how the agent is run; the command line fills it from its flags.
type Config struct {
	// Server is the server's base URL, e.g. https://patchwave.example.com.
	// It may be empty after enrollment: the URL saved in the state is used.
	// When given, it replaces the saved one (the server moved).
	Server string
	// EnrollToken is needed only for the first run, to enroll.
	EnrollToken string
	// StateDir holds the identity, credential and acknowledged inventory.
	StateDir string
	// Root is the root directory of the system to report on; "" means "/".
	Root string
	// Once makes Run check in a single time (enrolling first if needed) and return.
	Once bool
	// Interval is the check-in interval until the server gives one;
	// 0 means DefaultInterval.
	Interval time.Duration
	// HTTPClient is used for requests to the server (TLS settings,
	// timeouts); nil means a client with a 60-second timeout. The agent
	// wraps its transport and does not change the value passed in.
	HTTPClient *http.Client
	// Logger receives the agent's log; nil means slog.Default().
	Logger *slog.Logger
	// Version is the agent's version, reported in its facts.
	Version string
	// Settings say how tasks run here: hooks, health checks, limits,
	// the reboot command (LoadSettings; the zero value means defaults).
	Settings Settings
	// NoWait turns off the long poll between check-ins: new tasks then
	// wait for the next check-in.
	NoWait bool
	// CAFile and CAFingerprint say which CA the server's certificate
	// must chain to when the agent enrolls (a PEM file, or the SHA-256
	// the server logs with --tls-auto); that CA is pinned in the state,
	// and from then on no other is trusted. With neither, the system's
	// roots are trusted at enrollment, and nothing is pinned.
	CAFile, CAFingerprint string
}

// Report says what one check-in did.
type Report struct {
	// HostID is the host's id on the server.
	HostID int64
	// Enrolled is true when this run enrolled the host.
	Enrolled bool
	// FactsSent is true when the facts went in full.
	FactsSent bool
	// Packages says how the package list went: SendNone, SendDelta or SendFull.
	Packages Send
	// Added and Removed count the entries of the delta, when one was sent.
	Added, Removed int
	// PackageCount is the number of installed packages found.
	PackageCount int
	// Resent is true when the server asked for a full report and got it
	// in the same check-in.
	Resent bool
	// Interval is when to come back, as the server asked (0 if it did not say).
	Interval time.Duration
	// Tasks are the tasks the server handed over; Ran those run now.
	Tasks []patchwave.AgentTask
	Ran   int
	// Wait is how long the server invites long polls for, in seconds.
	Wait int
}

// Run runs the agent until ctx is done, or, with cfg.Once, for one check-in.
// It enrolls first when the state directory has no credential. It returns
// nil when ctx is cancelled, and an error when the agent cannot go on: no
// credential and no token (ErrNotEnrolled), a damaged state file, a refused
// enrollment token, or a credential the server refuses (the host was revoked
// or deleted; patchwave.ErrorCode gives patchwave.EUnauthorized). Other
// errors (network, server errors, 429) are retried with back-off.
func Run(ctx context.Context, cfg Config) error {
	a, err := newAgent(cfg)
	if err != nil {
		return err
	}
	defer a.hc.CloseIdleConnections()
	if cfg.Once {
		_, err := a.cycle(ctx)
		if errors.Is(err, errRebooting) {
			return nil
		}
		return err
	}
	return a.loop(ctx)
}

// CheckinOnce enrolls if needed, checks in once and returns what was sent.
func CheckinOnce(ctx context.Context, cfg Config) (Report, error) {
	a, err := newAgent(cfg)
	if err != nil {
		return Report{}, err
	}
	defer a.hc.CloseIdleConnections()
	rep, err := a.cycle(ctx)
	if errors.Is(err, errRebooting) {
		err = nil
	}
	return rep, err
}

// agent is one running agent: its configuration, its state and its
// connection to the server.
type agent struct {
	cfg   Config
	log   *slog.Logger
	hc    *http.Client
	retry *retryAfter
	state State // zero until loaded or enrolled

	settings Settings
	journal  journal
	exec     pkgmgr.Executor // made when a task first needs it
	resumed  bool            // the journal's interrupted tasks were taken up
	rescan   bool            // a task changed what is installed: check in again
	noWait   bool            // the server takes no long polls
	lastDue  time.Time       // when a long poll last said a task is due
	pin      *pin            // what the server's TLS certificate must chain to
}

// minDueGap is the least time between two check-ins a long poll asks for.
const minDueGap = time.Second

func newAgent(cfg Config) (*agent, error) {
	if cfg.StateDir == "" {
		return nil, errors.New("agent: no state directory given")
	}
	if cfg.Root == "" {
		cfg.Root = "/"
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	cfg.Server = strings.TrimRight(cfg.Server, "/")
	a := &agent{cfg: cfg, log: cfg.Logger, settings: cfg.Settings.withDefaults(), journal: journal{dir: cfg.StateDir}, noWait: cfg.NoWait}
	if a.log == nil {
		a.log = slog.Default()
	}
	var hc http.Client
	if cfg.HTTPClient != nil {
		hc = *cfg.HTTPClient
	} else {
		hc.Timeout = 60 * time.Second
	}
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport.(*http.Transport).Clone()
	}
	pin, err := newPin(cfg.CAFile, cfg.CAFingerprint)
	if err != nil {
		return nil, err
	}
	a.pin = pin
	if tr, ok := next.(*http.Transport); ok {
		tr = tr.Clone()
		tr.TLSClientConfig = pin.config(tr.TLSClientConfig)
		next = tr
	}
	a.retry = &retryAfter{next: next}
	hc.Transport = a.retry
	a.hc = &hc
	return a, nil
}

// fatal reports whether err means the agent cannot go on by retrying: the
// server refused the credential or the enrollment token, or the local state
// is missing or damaged.
func fatal(err error) bool {
	var p permanent
	if errors.As(err, &p) {
		return true
	}
	switch patchwave.ErrorCode(err) {
	case patchwave.EUnauthorized, patchwave.EForbidden:
		return true
	}
	return false
}

// permanent marks an error that retrying cannot fix.
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// ensureState loads the state or, when there is none, enrolls.
func (a *agent) ensureState(ctx context.Context) (enrolled bool, err error) {
	if a.state.HostID != 0 {
		return false, nil
	}
	s, err := LoadState(a.cfg.StateDir)
	if err == nil {
		if a.cfg.Server != "" && a.cfg.Server != s.Server {
			a.log.Info("using the server URL given, not the one saved at enrollment",
				"server", a.cfg.Server, "saved", s.Server)
			s.Server = a.cfg.Server
		}
		if s.Server == "" {
			return false, permanent{fmt.Errorf("agent: no server URL given and none in %s", StateFile)}
		}
		if len(s.CA) > 0 {
			if err := a.pin.setPinned(s.CA); err != nil {
				return false, permanent{err}
			}
		}
		a.state = s
		return false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return false, permanent{err}
	}
	if a.cfg.EnrollToken == "" {
		return false, permanent{ErrNotEnrolled}
	}
	if a.cfg.Server == "" {
		return false, permanent{errors.New("agent: no server URL given to enroll with (use --server)")}
	}
	if err := a.enroll(ctx); err != nil {
		return false, err
	}
	return true, nil
}

func (a *agent) client(token string) *client.Client {
	c := client.New(cmp.Or(a.state.Server, a.cfg.Server), token).WithHTTPClient(a.hc)
	c.UserAgent = "patchwave-agent/" + cmp.Or(a.cfg.Version, "dev")
	return c
}

// enroll trades the enrollment token for an identity and saves it.
func (a *agent) enroll(ctx context.Context) error {
	facts, err := osinfo.Collect(ctx, a.cfg.Root)
	if err != nil {
		return fmt.Errorf("enroll: %w", err)
	}
	facts.AgentVersion = a.cfg.Version
	resp, err := a.client("").Enroll(ctx, patchwave.EnrollRequest{Token: a.cfg.EnrollToken, Facts: facts})
	if err != nil {
		switch patchwave.ErrorCode(err) {
		case patchwave.EUnauthorized, patchwave.EForbidden, patchwave.ENotFound, patchwave.EInvalid, patchwave.EConflict:
			a.log.Error("the server refused the enrollment token: it may be wrong, expired, revoked or used up",
				"server", a.cfg.Server, "err", err)
			return permanent{fmt.Errorf("enroll: the enrollment token was refused: %w", err)}
		}
		return fmt.Errorf("enroll: %w", err)
	}
	if resp.HostID <= 0 || resp.Credential == "" {
		return fmt.Errorf("enroll: the server's answer has no host id or credential")
	}
	s := State{
		HostID:     resp.HostID,
		Server:     a.cfg.Server,
		Credential: resp.Credential,
		EnrolledAt: time.Now().UTC().Truncate(time.Second),
		Interval:   resp.CheckinInterval,
		ServerKey:  resp.ServerKey,
	}
	if ca := a.pin.toPin(); ca != nil && strings.HasPrefix(a.cfg.Server, "https://") {
		s.CA = ca.Raw
		_ = a.pin.setPinned(ca.Raw) // parsed already: cannot fail
		a.log.Info("pinned the server's CA", "ca", tlsca.Fingerprint(ca))
	}
	if len(s.ServerKey) == 0 {
		a.log.Warn("the server sent no task-signing key: this agent will refuse every task", "server", a.cfg.Server)
	}
	if err := SaveState(a.cfg.StateDir, s); err != nil {
		// The server has counted the token use; without the credential on
		// disk this identity is lost, so say so plainly.
		// Enrolling again would make a second host: stop.
		return permanent{fmt.Errorf("enroll: enrolled as host %d but could not save the credential: %w", resp.HostID, err)}
	}
	a.state = s
	a.log.Info("agent enrolled", "host_id", s.HostID, "server", s.Server, "hostname", facts.Hostname)
	return nil
}

// cycle is one round of the agent: enroll if needed, take up tasks a crash
// or a reboot interrupted, send the results the server lacks, check in,
// run the tasks the server handed over, send their results and, when they
// changed what is installed, check in again. It returns errRebooting when
// a task rebooted the host.
func (a *agent) cycle(ctx context.Context) (Report, error) {
	enrolled, err := a.ensureState(ctx)
	if err != nil {
		return Report{}, err
	}
	if !a.resumed {
		a.resumed = true
		if err := a.runTasks(ctx, a.resume()); err != nil {
			a.resumed = !errors.Is(err, errRebooting)
			return Report{Enrolled: enrolled}, err
		}
	}
	if err := a.sendResults(ctx); err != nil {
		a.log.Warn("task results kept for later", "err", err)
	}
	rep, err := a.checkin(ctx)
	rep.Enrolled = enrolled
	if err != nil {
		return rep, err
	}
	rs := a.accept(rep.Tasks)
	rep.Ran = len(rs)
	runErr := a.runTasks(ctx, rs)
	if err := a.sendResults(ctx); err != nil {
		a.log.Warn("task results kept for later", "err", err)
	}
	if runErr != nil {
		return rep, runErr
	}
	if len(rs) > 0 || a.rescan {
		a.rescan = false
		if _, err := a.checkin(ctx); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// checkin collects facts and packages and reports what changed since the
// server last acknowledged them. When the server asks for a full report (it
// lost the base, or its hashes do not match), it sends one at once.
func (a *agent) checkin(ctx context.Context) (Report, error) {
	rep := Report{HostID: a.state.HostID}
	facts, err := osinfo.Collect(ctx, a.cfg.Root)
	if err != nil {
		return rep, fmt.Errorf("checkin: %w", err)
	}
	facts.AgentVersion = a.cfg.Version
	pkgs, _, err := pkgmgr.Installed(ctx, a.cfg.Root)
	if err != nil {
		return rep, fmt.Errorf("checkin: %w", err)
	}
	pkgs = patchwave.SortPackages(pkgs)
	rep.PackageCount = len(pkgs)
	factsHash, pkgsHash := facts.Hash(), patchwave.HashPackages(pkgs)

	c := a.client(a.state.Credential)
	needFacts, needPackages := false, false
	for attempt := 0; ; attempt++ {
		// The base is assumed to be on disk; if it cannot be loaded the
		// delta below falls back to the full list.
		p := decide(factsHash, pkgsHash, a.state, true, needFacts, needPackages)
		req := patchwave.CheckinRequest{FactsHash: factsHash, PackagesHash: pkgsHash, Uptime: facts.UptimeSeconds}
		if p.facts {
			req.Facts = &facts
		}
		if p.packages == SendDelta {
			base, err := loadBase(a.cfg.StateDir, a.state.PackagesHash)
			if err != nil {
				a.log.Warn("sending the full package list", "reason", err)
				p.packages = SendFull
			} else if d, ok := delta(base, pkgs); ok {
				req.Delta, req.BaseHash = &d, a.state.PackagesHash
			} else {
				p.packages = SendFull
			}
		}
		if p.packages == SendFull {
			req.Packages = &pkgs
		}
		rep.FactsSent, rep.Packages = p.facts, p.packages
		rep.Added, rep.Removed = 0, 0
		if req.Delta != nil {
			rep.Added, rep.Removed = len(req.Delta.Added), len(req.Delta.Removed)
		}

		resp, err := c.Checkin(ctx, req)
		if err != nil {
			if patchwave.ErrorCode(err) == patchwave.EUnauthorized {
				a.log.Error("the server refused this host's credential: the host was revoked or deleted, or the credential is not this server's; enroll again with a new token",
					"host_id", a.state.HostID, "server", a.state.Server, "err", err)
			}
			return rep, fmt.Errorf("checkin: %w", err)
		}
		if resp.CheckinInterval > 0 {
			rep.Interval = time.Duration(resp.CheckinInterval) * time.Second
			a.state.Interval = resp.CheckinInterval
		}
		rep.Tasks, rep.Wait = append(rep.Tasks, resp.Tasks...), resp.Wait
		a.state.Wait = resp.Wait

		// Acknowledge what the server now holds.
		factsOK := resp.FactsHash == factsHash && !resp.NeedFacts
		pkgsOK := resp.PackagesHash == pkgsHash && !resp.NeedPackages
		if factsOK {
			a.state.FactsHash = factsHash
		} else {
			a.state.FactsHash = ""
		}
		if pkgsOK {
			if a.state.PackagesHash != pkgsHash {
				if err := saveBase(a.cfg.StateDir, pkgs); err != nil {
					return rep, fmt.Errorf("checkin: %w", err)
				}
				a.state.PackagesHash = pkgsHash
			}
		} else {
			a.state.PackagesHash = ""
		}
		if factsOK && pkgsOK {
			break
		}
		if attempt > 0 {
			// A full report was not enough: save what we know (the
			// next check-in reports in full) and give up for now.
			a.saveState()
			return rep, fmt.Errorf("checkin: the server did not acknowledge a full report (facts %v, packages %v)", factsOK, pkgsOK)
		}
		a.log.Info("the server asked for a full report", "facts", !factsOK, "packages", !pkgsOK,
			"need_facts", resp.NeedFacts, "need_packages", resp.NeedPackages)
		needFacts, needPackages = !factsOK, !pkgsOK
		rep.Resent = true
	}
	a.state.LastCheckin = time.Now().UTC().Truncate(time.Second)
	if len(a.state.CA) == 0 && strings.HasPrefix(a.state.Server, "https://") {
		// Enrolled before a CA was given: pin the one this check-in
		// verified against --ca-fingerprint or --ca-file.
		if ca := a.pin.toPin(); ca != nil {
			a.state.CA = ca.Raw
			_ = a.pin.setPinned(ca.Raw)
			a.log.Info("pinned the server's CA", "ca", tlsca.Fingerprint(ca))
		}
	}
	if err := SaveState(a.cfg.StateDir, a.state); err != nil {
		return rep, fmt.Errorf("checkin: %w", err)
	}
	a.log.Info("agent checked in", "host_id", a.state.HostID, "packages", rep.PackageCount,
		"sent_facts", rep.FactsSent, "sent_packages", string(rep.Packages), "added", rep.Added, "removed", rep.Removed)
	return rep, nil
}

// saveState saves the state, logging a failure: for paths that already
// return another error.
func (a *agent) saveState() {
	if err := SaveState(a.cfg.StateDir, a.state); err != nil {
		a.log.Error("could not save state", "err", err)
	}
}

// interval is the check-in interval now in force: the server's, else the
// configured one.
func (a *agent) interval() time.Duration {
	if a.state.Interval > 0 {
		return max(time.Duration(a.state.Interval)*time.Second, minInterval)
	}
	return max(a.cfg.Interval, minInterval)
}

// loop checks in on the interval until ctx is done or an error says the
// agent cannot go on.
func (a *agent) loop(ctx context.Context) error {
	failures := 0
	var delay time.Duration
	for {
		if delay > 0 && failures == 0 && a.state.Wait > 0 && !a.noWait {
			// Between check-ins, long-poll: a new task comes at once.
			delay = a.waitForTasks(ctx, delay, time.Duration(a.state.Wait)*time.Second)
		}
		if delay > 0 {
			t := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		wasEnrolled := a.state.HostID != 0
		justEnrolled, err := a.ensureState(ctx)
		if err == nil && !wasEnrolled && !justEnrolled && failures == 0 && !a.journalOpen() {
			// First start with an existing identity: wait for this host's
			// slot rather than check in together with every other
			// restarted agent, unless a check-in is overdue.
			if d := a.startDelay(time.Now()); d > 0 {
				a.log.Info("agent started", "host_id", a.state.HostID, "next_checkin_in", d.Round(time.Second))
				delay = d
				continue
			}
		}
		if err == nil {
			_, err = a.cycle(ctx)
		}
		if errors.Is(err, errRebooting) {
			// The host goes down; if it does not, look again in a minute.
			delay, failures = time.Minute, 0
			continue
		}
		a.hc.CloseIdleConnections()
		debug.FreeOSMemory()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			if fatal(err) {
				return err
			}
			failures++
			delay = a.failureDelay(failures, err)
			a.log.Warn("check-in failed; will retry", "err", err, "failures", failures,
				"retry_in", delay.Round(time.Second))
			continue
		}
		failures = 0
		iv := a.interval()
		delay = nextDelay(time.Now(), iv, Splay(a.state.HostID, iv), 2*rand.Float64()-1)
		a.log.Debug("next check-in", "in", delay.Round(time.Second))
	}
}

// waitForTasks long-polls the server for up to delay, in polls of at most
// each, and returns how long is left to wait before the next check-in:
// nothing when a task is due. When the server takes no long polls, or
// one fails, the rest of delay is left to sleep.
func (a *agent) waitForTasks(ctx context.Context, delay, each time.Duration) time.Duration {
	end := time.Now().Add(delay)
	c := a.client(a.state.Credential)
	for {
		left := time.Until(end)
		if left < time.Second || ctx.Err() != nil {
			return max(left, 0)
		}
		t := min(left, each)
		var resp patchwave.WaitResponse
		err := c.Do(ctx, "POST", "/api/v1/agent/wait", nil, patchwave.WaitRequest{Timeout: max(int(t/time.Second), 1)}, &resp)
		if err != nil {
			if code := patchwave.ErrorCode(err); code == patchwave.ENotFound || code == patchwave.ENotSupported {
				a.noWait = true
			}
			a.log.Debug("long poll", "err", err)
			return time.Until(end)
		}
		if resp.Due {
			// Should the server keep saying a task is due without
			// handing one over, check in at most every few seconds.
			if since := time.Since(a.lastDue); since < minDueGap {
				select {
				case <-ctx.Done():
					return 0
				case <-time.After(minDueGap - since):
				}
			}
			a.lastDue = time.Now()
			a.log.Info("a task is due: checking in now")
			return 0
		}
	}
}

// journalOpen reports whether a crash or reboot left tasks unfinished or
// results unsent: then the agent goes on with them at once.
func (a *agent) journalOpen() bool {
	rs, err := a.journal.load(false)
	return err == nil && len(rs) > 0
}

// startDelay is how long a freshly started agent with an existing identity
// waits before its first check-in: nothing when one is overdue, else until
// its slot.
func (a *agent) startDelay(now time.Time) time.Duration {
	iv := a.interval()
	if a.state.LastCheckin.IsZero() || now.Sub(a.state.LastCheckin) >= iv {
		return 0
	}
	d := nextDelay(now, iv, Splay(a.state.HostID, iv), 2*rand.Float64()-1)
	// Do not wait past the time the next check-in is due anyway.
	return min(d, a.state.LastCheckin.Add(iv+iv/10).Sub(now))
}

// failureDelay is the wait after the n-th consecutive failure: the server's
// Retry-After when it gave one, else exponential back-off capped at the
// interval.
func (a *agent) failureDelay(n int, err error) time.Duration {
	ra := a.retry.take()
	if code := patchwave.ErrorCode(err); ra > 0 && (code == patchwave.ETooMany || code == patchwave.EUnavailable) {
		// Spread the retries of agents told the same thing.
		return ra + time.Duration(rand.Float64()*float64(ra/10))
	}
	return backoff(n, min(a.interval(), maxBackoff), rand.Float64())
}
