package agent

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/pkgmgr"
)

// errRebooting stops the agent after it asked for a reboot: the host is
// going down, the task goes on when the agent starts again.
var errRebooting = errors.New("agent: rebooting the host")

// maxHookOutput bounds the output kept of one hook or check.
const maxHookOutput = 16 << 10

// executor returns the package manager of the agent's root.
func (a *agent) executor() (pkgmgr.Executor, error) {
	if a.exec != nil {
		return a.exec, nil
	}
	ex, err := pkgmgr.New(pkgmgr.Options{Root: a.cfg.Root, Timeout: time.Duration(a.settings.CommandTimeout)})
	if err != nil {
		return nil, err
	}
	a.exec = ex
	return ex, nil
}

// accept takes the tasks of a check-in: each is checked (signature, host,
// expiry, replay) and, when good, journalled to run. Refused tasks get a
// result saying why, sent like any other.
func (a *agent) accept(tasks []patchwave.AgentTask) []*record {
	var run []*record
	now := time.Now()
	for _, t := range tasks {
		if a.journal.seen(t.ID, t.Attempt) {
			continue // a redelivery of what we run or ran: the journal has it
		}
		r := &record{Task: t, Phase: PhaseReceived}
		if err := t.Verify(ed25519.PublicKey(a.state.ServerKey), a.state.HostID, now); err != nil {
			a.log.Warn("refused a task", "task", t.ID, "attempt", t.Attempt, "kind", t.Kind, "err", err)
			r.Details.Refused = true
			a.finish(r, patchwave.TaskFailed, "refused: "+patchwave.ErrorMessage(err), "")
			continue
		}
		if err := a.journal.save(r); err != nil {
			a.log.Error("could not journal a task: not running it", "task", t.ID, "err", err)
			continue
		}
		run = append(run, r)
	}
	return run
}

// resume takes up the tasks a crash or reboot interrupted, and returns
// them to run; records whose result the server lacks are sent later.
func (a *agent) resume() []*record {
	rs, err := a.journal.load(false)
	if err != nil {
		a.log.Error("could not read the task journal", "err", err)
		return nil
	}
	var run []*record
	for _, r := range rs {
		if r.Result != nil {
			continue // ended; sendResults has it
		}
		a.log.Info("resuming a task", "task", r.Task.ID, "kind", r.Task.Kind, "phase", r.Phase)
		run = append(run, r)
	}
	return run
}

// runTasks runs journalled tasks one after the other. It stops with
// errRebooting when a task asked for a reboot.
func (a *agent) runTasks(ctx context.Context, rs []*record) error {
	for _, r := range rs {
		if err := a.run(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

// report tells the server, best effort, that a task is at a phase.
func (a *agent) report(ctx context.Context, r *record) {
	d := r.Details
	d.Phase = r.Phase
	_, err := a.client(a.state.Credential).TaskResults(ctx, []patchwave.TaskResult{{TaskID: r.Task.ID, Attempt: r.Task.Attempt,
		State: patchwave.TaskRunning, Details: &d}})
	if err != nil {
		a.log.Debug("could not report progress", "task", r.Task.ID, "err", err)
	}
}

// setPhase moves r to phase, journals it and reports it.
func (a *agent) setPhase(ctx context.Context, r *record, phase string) {
	r.Phase = phase
	r.Details.Phase = phase
	if err := a.journal.save(r); err != nil {
		a.log.Error("could not journal a task", "task", r.Task.ID, "err", err)
	}
	a.report(ctx, r)
}

// finish ends r with a result and journals it for sending.
func (a *agent) finish(r *record, state patchwave.TaskState, why, output string) {
	r.Details.FinishedAt = time.Now().UTC()
	if r.Phase != PhaseReceived || !r.Details.Refused {
		r.Details.Phase = r.Phase
	}
	d := r.Details
	res := &patchwave.TaskResult{TaskID: r.Task.ID, Attempt: r.Task.Attempt, State: state, Error: oneLine(why, patchwave.MaxTaskError),
		Output: capText(output, patchwave.MaxTaskOutput/2), Details: &d}
	for _, c := range d.Checks {
		if strings.HasPrefix(c.Name, "reboot required") {
			res.RebootRequired = c.OK
		}
	}
	r.Result = res
	r.Phase = PhaseDone
	if err := a.journal.save(r); err != nil {
		a.log.Error("could not journal a task result", "task", r.Task.ID, "err", err)
	}
	a.log.Info("task ended", "task", r.Task.ID, "kind", r.Task.Kind, "state", state, "error", res.Error)
}

// sendResults sends every result the server has not acknowledged.
func (a *agent) sendResults(ctx context.Context) error {
	rs, err := a.journal.load(false)
	if err != nil {
		return err
	}
	var pending []*record
	var results []patchwave.TaskResult
	for _, r := range rs {
		if r.Result != nil && !r.Sent {
			pending, results = append(pending, r), append(results, *r.Result)
		}
	}
	for len(results) > 0 {
		n := min(len(results), patchwave.MaxTaskResults)
		acc, err := a.client(a.state.Credential).TaskResults(ctx, results[:n])
		if err != nil {
			return fmt.Errorf("send task results: %w", err)
		}
		for _, r := range pending[:n] {
			if slices.Contains(acc, r.Task.ID) {
				r.Sent = true
				if err := a.journal.save(r); err != nil {
					return err
				}
			}
		}
		pending, results = pending[n:], results[n:]
	}
	return nil
}

// run runs one task from the phase its record is at.
func (a *agent) run(ctx context.Context, r *record) error {
	if r.Details.StartedAt.IsZero() {
		r.Details.StartedAt = time.Now().UTC()
	}
	switch r.Task.Kind {
	case patchwave.TaskInstall:
		return a.runInstall(ctx, r)
	case patchwave.TaskVerify:
		ok, why := a.verify(ctx, r, targets(r.Task.Patches))
		if ok {
			a.finish(r, patchwave.TaskSucceeded, "", "")
		} else {
			a.finish(r, patchwave.TaskFailed, why, "")
		}
	case patchwave.TaskRollback:
		inst, ok := a.journal.install(r.Task.RollbackOf)
		if !ok {
			a.finish(r, patchwave.TaskFailed, fmt.Sprintf("cannot roll back: this agent has no record of the versions install task %d found", r.Task.RollbackOf), "")
			return nil
		}
		r.Before = inst.Before
		if err := a.rollback(ctx, r); err != nil {
			a.finish(r, patchwave.TaskFailed, err.Error(), "")
		} else {
			a.finish(r, patchwave.TaskSucceeded, "", "")
		}
	case patchwave.TaskScan:
		ex, err := a.executor()
		if err != nil {
			a.finish(r, patchwave.TaskFailed, err.Error(), "")
			return nil
		}
		out, err := ex.Refresh(ctx)
		r.Details.Commands = append(r.Details.Commands, step("refresh package lists", out, err))
		if err != nil {
			a.finish(r, patchwave.TaskFailed, err.Error(), out.Output)
			return nil
		}
		a.rescan = true
		a.finish(r, patchwave.TaskSucceeded, "", out.Output)
	case patchwave.TaskRunHook:
		cmd, ok := a.settings.Hooks.Named[r.Task.Hook]
		if !ok {
			a.finish(r, patchwave.TaskFailed, fmt.Sprintf("no hook named %q in this agent's settings", r.Task.Hook), "")
			return nil
		}
		res := a.shell(ctx, r, "hook "+r.Task.Hook, cmd)
		r.Details.Hooks = append(r.Details.Hooks, res)
		if res.OK {
			a.finish(r, patchwave.TaskSucceeded, "", res.Output)
		} else {
			a.finish(r, patchwave.TaskFailed, fmt.Sprintf("hook %s failed: %s", r.Task.Hook, res.Detail), res.Output)
		}
	case patchwave.TaskReboot:
		if r.Phase == PhaseRebooting {
			return a.afterReboot(ctx, r, nil)
		}
		return a.reboot(ctx, r)
	default:
		a.finish(r, patchwave.TaskFailed, fmt.Sprintf("this agent does not know task kind %q", r.Task.Kind), "")
	}
	return nil
}

func targets(ps []patchwave.TaskPatch) []pkgmgr.Target {
	out := make([]pkgmgr.Target, len(ps))
	for i, p := range ps {
		out[i] = pkgmgr.Target{Name: p.Name, Arch: p.Arch, Version: p.Version}
	}
	return out
}

// runInstall installs a release's patch set: pre-checks, pre-install
// hooks, the exact versions, post-install hooks, verification, reboot and,
// when verification fails and the wave asks, rollback. It resumes at the
// record's phase.
func (a *agent) runInstall(ctx context.Context, r *record) error {
	ts := targets(r.Task.Patches)
	ex, err := a.executor()
	if err != nil {
		a.finish(r, patchwave.TaskFailed, err.Error(), "")
		return nil
	}
	switch r.Phase {
	case PhaseReceived, PhasePreChecks, PhasePreInstall:
		if !time.Now().Before(r.Task.NotAfter) {
			a.finish(r, patchwave.TaskFailed, fmt.Sprintf("not started: its window closed at %s", r.Task.NotAfter.Format(time.RFC3339)), "")
			return nil
		}
		a.setPhase(ctx, r, PhasePreChecks)
		if why := a.preChecks(ctx, r, ex); why != "" {
			a.finish(r, patchwave.TaskFailed, why, "")
			return nil
		}
		a.setPhase(ctx, r, PhasePreInstall)
		for i, h := range a.settings.Hooks.PreInstall {
			res := a.shell(ctx, r, fmt.Sprintf("pre-install hook %d", i+1), h)
			r.Details.Hooks = append(r.Details.Hooks, res)
			if !res.OK {
				a.finish(r, patchwave.TaskCanceled, fmt.Sprintf("canceled: pre-install hook %d failed: %s", i+1, res.Detail), res.Output)
				return nil
			}
		}
		before, err := ex.Installed(ctx)
		if err != nil {
			a.finish(r, patchwave.TaskFailed, fmt.Sprintf("reading the installed packages: %v", err), "")
			return nil
		}
		r.Before = beforeVersions(before, ts)
		a.setPhase(ctx, r, PhaseInstall)
		fallthrough
	case PhaseInstall:
		out, err := ex.Refresh(ctx)
		r.Details.Commands = append(r.Details.Commands, step("refresh package lists", out, err))
		output := out.Output
		if err == nil {
			out, err = ex.Install(ctx, ts, false)
			r.Details.Commands = append(r.Details.Commands, step("install", out, err))
			output += out.Output
			a.changes(r, out.Changes, ts)
		}
		if err != nil {
			why := fmt.Sprintf("install failed: %v", err)
			if r.Task.RollbackOnFailure && len(r.Details.Packages) > 0 {
				return a.rollbackAfter(ctx, r, why, output)
			}
			a.finish(r, patchwave.TaskFailed, why, output)
			return nil
		}
		r.Output = capText(output, patchwave.MaxTaskOutput/4)
		a.setPhase(ctx, r, PhasePostInstall)
		fallthrough
	case PhasePostInstall, PhaseVerify:
		for i, h := range a.settings.Hooks.PostInstall {
			res := a.shell(ctx, r, fmt.Sprintf("post-install hook %d", i+1), h)
			r.Details.Hooks = append(r.Details.Hooks, res)
			if !res.OK {
				return a.verifyFailed(ctx, r, fmt.Sprintf("post-install hook %d failed: %s", i+1, res.Detail))
			}
		}
		a.setPhase(ctx, r, PhaseVerify)
		if ok, why := a.verify(ctx, r, ts); !ok {
			return a.verifyFailed(ctx, r, why)
		}
		need, why, err := ex.RebootRequired(ctx)
		if err != nil {
			need, why = false, "cannot tell: "+err.Error()
		}
		r.Details.Checks = append(r.Details.Checks, patchwave.StepResult{Name: "reboot required", OK: need, Detail: why})
		if r.Task.Reboot == "always" || (need && (r.Task.Reboot == "" || r.Task.Reboot == "if-needed")) {
			return a.reboot(ctx, r)
		}
		a.finish(r, patchwave.TaskSucceeded, "", r.Output)
	case PhaseRebooting, PhasePostReboot:
		return a.afterReboot(ctx, r, ts)
	case PhaseRollback:
		return a.rollbackAfter(ctx, r, "interrupted during its rollback", "")
	}
	return nil
}

// verifyFailed ends an install whose verification failed: rolled back
// when the wave asks for it.
func (a *agent) verifyFailed(ctx context.Context, r *record, why string) error {
	why = "verification failed: " + why
	if r.Task.RollbackOnFailure {
		return a.rollbackAfter(ctx, r, why, r.Output)
	}
	a.finish(r, patchwave.TaskFailed, why, r.Output)
	return nil
}

// rollbackAfter rolls back a failed install and ends the task as failed,
// saying whether the rollback worked.
func (a *agent) rollbackAfter(ctx context.Context, r *record, why, output string) error {
	if err := a.rollback(ctx, r); err != nil {
		a.finish(r, patchwave.TaskFailed, why+"; rollback failed: "+err.Error(), output)
		return nil
	}
	a.finish(r, patchwave.TaskFailed, why+"; rolled back to the previous versions", output)
	return nil
}

// rollback restores r.Before: the versions an install found, if they are
// still installable, and verifies them.
func (a *agent) rollback(ctx context.Context, r *record) error {
	r.Phase = PhaseRollback
	r.Details.Phase = PhaseRollback
	_ = a.journal.save(r)
	ex, err := a.executor()
	if err != nil {
		return err
	}
	var ts []pkgmgr.Target
	for _, b := range r.Before {
		if b.Before == "" {
			continue // it was not installed: a rollback does not remove packages
		}
		ts = append(ts, pkgmgr.Target{Name: b.Name, Arch: b.Arch, Version: b.Before})
	}
	if len(ts) == 0 {
		return errors.New("no previous versions recorded")
	}
	if out, err := ex.Refresh(ctx); err != nil {
		r.Details.Commands = append(r.Details.Commands, step("refresh package lists", out, err))
		return fmt.Errorf("refreshing the package lists: %w", err)
	}
	var gone []string
	for _, t := range ts {
		ok, err := ex.Available(ctx, t)
		if err != nil {
			return fmt.Errorf("checking %s: %w", t, err)
		}
		if !ok {
			gone = append(gone, t.String())
		}
	}
	if len(gone) > 0 {
		return fmt.Errorf("the previous versions are no longer installable from the configured repositories: %s", strings.Join(gone, ", "))
	}
	out, err := ex.Install(ctx, ts, true)
	r.Details.Commands = append(r.Details.Commands, step("rollback", out, err))
	// An install rolled back keeps its targets; a rollback task's are the
	// versions it restores.
	var targets []pkgmgr.Target
	if r.Task.Kind == patchwave.TaskRollback {
		targets = ts
	}
	a.changes(r, out.Changes, targets)
	if err != nil {
		return err
	}
	if ok, why := a.verify(ctx, r, ts); !ok {
		return fmt.Errorf("after the rollback: %s", why)
	}
	r.Details.RolledBack = true
	return nil
}

// beforeVersions notes the installed versions of the targets' packages.
func beforeVersions(installed []patchwave.Package, ts []pkgmgr.Target) []patchwave.PackageChange {
	var out []patchwave.PackageChange
	for _, t := range ts {
		c := patchwave.PackageChange{Name: t.Name, Arch: t.Arch, Target: t.Version}
		for _, p := range installed {
			if p.Name == t.Name && (t.Arch == "" || p.Arch == t.Arch || p.Arch == "all" || p.Arch == "noarch") {
				c.Before, c.Arch = p.Version, p.Arch
				break
			}
		}
		out = append(out, c)
	}
	return out
}

// changes records what an operation changed, with the targets.
func (a *agent) changes(r *record, cs []pkgmgr.Change, ts []pkgmgr.Target) {
	for _, c := range cs {
		pc := patchwave.PackageChange{Name: c.Name, Arch: c.Arch, Before: c.Before, After: c.After}
		for _, t := range ts {
			if t.Name == c.Name {
				pc.Target = t.Version
			}
		}
		i := slices.IndexFunc(r.Details.Packages, func(p patchwave.PackageChange) bool { return p.Name == c.Name && p.Arch == c.Arch })
		if i >= 0 {
			pc.Before = r.Details.Packages[i].Before
			if pc.Target == "" {
				pc.Target = r.Details.Packages[i].Target
			}
			r.Details.Packages[i] = pc
		} else {
			r.Details.Packages = append(r.Details.Packages, pc)
		}
	}
}

// preChecks checks the package manager's lock, free space and a pending
// reboot; it returns why the install cannot go on, or "".
func (a *agent) preChecks(ctx context.Context, r *record, ex pkgmgr.Executor) string {
	add := func(name string, ok bool, detail string) {
		r.Details.PreChecks = append(r.Details.PreChecks, patchwave.StepResult{Name: name, OK: ok, Detail: detail})
	}
	held, detail, err := ex.Locked(ctx)
	switch {
	case err != nil:
		add("package manager lock", false, err.Error())
		return "pre-check: cannot tell whether the package manager is locked: " + err.Error()
	case held:
		add("package manager lock", false, detail)
		return "pre-check: the package manager is locked by another process: " + detail
	}
	add("package manager lock", true, "free")
	var st syscall.Statfs_t
	dir := a.cfg.Root
	if err := syscall.Statfs(dir, &st); err != nil {
		add("free space", false, err.Error())
		return "pre-check: cannot read the free space: " + err.Error()
	}
	free := int64(st.Bavail) * int64(st.Bsize) >> 20
	if free < int64(a.settings.MinFreeMB) {
		add("free space", false, fmt.Sprintf("%d MB free, %d MB needed", free, a.settings.MinFreeMB))
		return fmt.Sprintf("pre-check: only %d MB free on %s, %d MB needed", free, dir, a.settings.MinFreeMB)
	}
	add("free space", true, fmt.Sprintf("%d MB free", free))
	need, why, err := ex.RebootRequired(ctx)
	if err == nil && need {
		add("pending reboot", !a.settings.RefusePendingReboot, why)
		if a.settings.RefusePendingReboot {
			return "pre-check: a reboot is pending: " + why
		}
	} else {
		add("pending reboot", true, "none")
	}
	return ""
}

// verify checks that the targets' versions are installed and the
// configured health checks pass; it returns why not.
func (a *agent) verify(ctx context.Context, r *record, ts []pkgmgr.Target) (bool, string) {
	var problems []string
	ex, err := a.executor()
	if err != nil {
		return false, err.Error()
	}
	installed, err := ex.Installed(ctx)
	if err != nil {
		return false, "reading the installed packages: " + err.Error()
	}
	for _, t := range ts {
		found := ""
		for _, p := range installed {
			if p.Name == t.Name && (t.Arch == "" || p.Arch == t.Arch) {
				found = p.Version
				if p.Version == t.Version {
					break
				}
			}
		}
		ok := found == t.Version
		detail := "installed " + found
		if found == "" {
			detail = "not installed"
		}
		r.Details.Checks = append(r.Details.Checks, patchwave.StepResult{Name: "version " + t.Name, OK: ok, Detail: detail + ", want " + t.Version})
		if !ok {
			problems = append(problems, fmt.Sprintf("%s is %s, not %s", t.Name, strings.TrimPrefix(detail, "installed "), t.Version))
		}
	}
	for _, s := range a.settings.Checks.Services {
		res := a.serviceCheck(ctx, s)
		r.Details.Checks = append(r.Details.Checks, res)
		if !res.OK {
			problems = append(problems, res.Name+": "+res.Detail)
		}
	}
	for _, u := range a.settings.Checks.HTTP {
		res := a.httpCheck(ctx, u)
		r.Details.Checks = append(r.Details.Checks, res)
		if !res.OK {
			problems = append(problems, res.Name+": "+res.Detail)
		}
	}
	for i, c := range a.settings.Checks.Commands {
		res := a.shell(ctx, r, fmt.Sprintf("check %d", i+1), c)
		r.Details.Checks = append(r.Details.Checks, res)
		if !res.OK {
			problems = append(problems, fmt.Sprintf("check %d (%s): %s", i+1, c, res.Detail))
		}
	}
	if len(problems) > 0 {
		return false, strings.Join(problems, "; ")
	}
	return true, ""
}

func (a *agent) serviceCheck(ctx context.Context, name string) patchwave.StepResult {
	res := patchwave.StepResult{Name: "service " + name}
	if a.cfg.Root != "/" {
		res.Detail = "services cannot be checked in a root other than /"
		return res
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "systemctl", "is-active", "--", name).CombinedOutput()
	state := strings.TrimSpace(string(out))
	res.OK, res.Detail = err == nil && state == "active", state
	if res.Detail == "" && err != nil {
		res.Detail = err.Error()
	}
	return res
}

func (a *agent) httpCheck(ctx context.Context, url string) patchwave.StepResult {
	res := patchwave.StepResult{Name: "http " + url}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		res.Detail = err.Error()
		return res
	}
	resp, err := http.DefaultClient.Do(req)
	res.Duration = time.Since(start)
	if err != nil {
		res.Detail = err.Error()
		return res
	}
	resp.Body.Close()
	res.OK, res.Detail = resp.StatusCode < 400, resp.Status
	return res
}

// shell runs a configured command with /bin/sh, with the task in its
// environment and the hook timeout.
func (a *agent) shell(ctx context.Context, r *record, name, command string) patchwave.StepResult {
	res := patchwave.StepResult{Name: name}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(a.settings.HookTimeout))
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", command)
	var pk []string
	for _, p := range r.Task.Patches {
		pk = append(pk, p.Name+"="+p.Version)
	}
	cmd.Env = append(os.Environ(), "PATCHWAVE_TASK_ID="+strconv.FormatInt(r.Task.ID, 10), "PATCHWAVE_TASK_KIND="+string(r.Task.Kind),
		"PATCHWAVE_RELEASE="+r.Task.Release, "PATCHWAVE_PHASE="+r.Phase, "PATCHWAVE_ROOT="+a.cfg.Root, "PATCHWAVE_PACKAGES="+strings.Join(pk, " "))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err := cmd.Run()
	res.Duration, res.Output = time.Since(start), capText(out.String(), maxHookOutput)
	res.ExitCode = cmd.ProcessState.ExitCode()
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		res.Detail = fmt.Sprintf("timed out after %s", time.Duration(a.settings.HookTimeout))
	case err != nil:
		res.Detail = fmt.Sprintf("exit %d: %s", res.ExitCode, lastLine(out.String()))
	default:
		res.OK, res.Detail = true, "exit 0"
	}
	return res
}

// bootID reads the identity of the current boot.
func (a *agent) bootID() string {
	b, err := os.ReadFile(a.settings.BootIDFile)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// reboot records that r reboots the host, reports it, and runs the
// reboot command: the agent stops (errRebooting) and picks the task up
// when it starts again.
func (a *agent) reboot(ctx context.Context, r *record) error {
	r.BootID = a.bootID()
	r.Details.Rebooted = false
	a.setPhase(ctx, r, PhaseRebooting)
	cmd := a.settings.RebootCommand
	ctx2, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx2, cmd[0], cmd[1:]...).CombinedOutput()
	r.Details.Commands = append(r.Details.Commands, patchwave.StepResult{Name: "reboot", OK: err == nil, Output: capText(string(out), maxHookOutput), Detail: strings.Join(cmd, " ")})
	if err != nil {
		a.finish(r, patchwave.TaskFailed, fmt.Sprintf("the reboot command %q failed: %v: %s", strings.Join(cmd, " "), err, lastLine(string(out))), r.Output)
		return nil
	}
	_ = a.journal.save(r)
	a.log.Info("rebooting the host", "task", r.Task.ID)
	return errRebooting
}

// afterReboot carries on after the reboot r asked for: post-reboot hooks
// and verification. When the boot did not change, the reboot never came.
func (a *agent) afterReboot(ctx context.Context, r *record, ts []pkgmgr.Target) error {
	if id := a.bootID(); r.Phase == PhaseRebooting && (id == "" || id == r.BootID) {
		if time.Since(r.Updated) < time.Duration(a.settings.RebootTimeout) {
			a.log.Info("waiting for the reboot", "task", r.Task.ID)
			return errRebooting
		}
		a.finish(r, patchwave.TaskFailed, fmt.Sprintf("the host did not reboot within %s of the reboot command", time.Duration(a.settings.RebootTimeout)), r.Output)
		return nil
	}
	r.Details.Rebooted = true
	a.setPhase(ctx, r, PhasePostReboot)
	for i, h := range a.settings.Hooks.PostReboot {
		res := a.shell(ctx, r, fmt.Sprintf("post-reboot hook %d", i+1), h)
		r.Details.Hooks = append(r.Details.Hooks, res)
		if !res.OK {
			return a.verifyFailed(ctx, r, fmt.Sprintf("post-reboot hook %d failed: %s", i+1, res.Detail))
		}
	}
	if ok, why := a.verify(ctx, r, ts); !ok {
		if r.Task.Kind == patchwave.TaskInstall {
			return a.verifyFailed(ctx, r, "after the reboot: "+why)
		}
		a.finish(r, patchwave.TaskFailed, "after the reboot: "+why, "")
		return nil
	}
	a.finish(r, patchwave.TaskSucceeded, "", r.Output)
	return nil
}

// step is a package manager command's StepResult.
func step(name string, o pkgmgr.Outcome, err error) patchwave.StepResult {
	s := patchwave.StepResult{Name: name, OK: err == nil, ExitCode: o.ExitCode, Duration: o.Duration}
	var lines []string
	for _, c := range o.Commands {
		lines = append(lines, strings.Join(c, " "))
	}
	s.Detail = strings.Join(lines, "; ")
	if err != nil {
		s.Detail = err.Error()
	}
	return s
}

// capText keeps at most n bytes of s: its head and tail.
func capText(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	half := n/2 - 32
	return strings.ToValidUTF8(s[:half], "") + fmt.Sprintf("\n… %d bytes cut …\n", len(s)-2*half) + strings.ToValidUTF8(s[len(s)-half:], "")
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return oneLine(s, 300)
}

// oneLine makes s fit a one-line error of at most n bytes.
func oneLine(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
	if len(s) > n {
		s = strings.ToValidUTF8(s[:n-3], "") + "..."
	}
	return s
}
