package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/client"
)

// taskVerbs is the verb table of "patchwave tasks".
func taskVerbs() []command {
	return []command{
		{"create", "ask a host's agent for a scan, verify, rollback, reboot or configured hook", runTasksCreate},
		{"list", "list a host's tasks, of rollouts and asked for", runTasksList},
		{"show", "show a task with the agent's report: versions, hooks, checks, output", runTasksShow},
	}
}

func runTasksCreate(ctx context.Context, e env, args []string) error {
	v := newVerb("tasks create", "HOST", 1, `Ask a host's agent for a task outside a rollout. The agent gets it within
seconds when online (or at its next check-in), checks the server's signature,
runs it and reports. Kinds:
  scan      refresh the inventory now
  verify    check the host has the versions a release gave it, and that its health checks pass
  rollback  restore the versions a release's install found (--release)
  reboot    reboot the host and confirm it came back
  run-hook  run a hook configured on the agent under a name (--hook); the server
            can only name a hook, never send a command
Installs are planned through releases (patchwave releases create).`,
		`patchwave tasks create web-01 --kind scan --reason "after the manual fix"
patchwave tasks create web-01 --kind rollback --release 2026-12 --reason "INC-4711: app broken" --wait`)
	var req client.HostTaskRequest
	v.StringVar(&req.Kind, "kind", "", "the `kind` of task: scan, verify, rollback, reboot or run-hook (required)")
	v.StringVar(&req.Release, "release", "", "verify and rollback: the `release` whose patches")
	v.StringVar(&req.Hook, "hook", "", "run-hook: the `name` of a hook configured on the agent")
	v.StringVar(&req.Within, "within", "", "how long the agent has to start it, e.g. 30m (default 1h)")
	v.StringVar(&req.Reason, "reason", "", "why, for the audit log (required)")
	wait := v.Bool("wait", false, "wait until the task ends, and fail when it fails")
	timeout := v.Duration("timeout", 30*time.Minute, "with --wait, give up after this long")
	out := v.outputFlag()
	pos, err := v.parse(args)
	if err != nil {
		return err
	}
	if req.Kind == "" {
		return v.usageErrorf("--kind is required")
	}
	if strings.TrimSpace(req.Reason) == "" {
		return v.usageErrorf("--reason is required")
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	t, err := c.CreateHostTask(ctx, pos[0], req)
	if err != nil {
		return fmt.Errorf("task for %s: %w", pos[0], err)
	}
	if *wait {
		ctx, cancel := context.WithTimeout(ctx, *timeout)
		defer cancel()
		for !t.State.Finished() {
			select {
			case <-ctx.Done():
				return fmt.Errorf("task %d on %s is still %s after %s", t.ID, pos[0], t.State, *timeout)
			case <-time.After(500 * time.Millisecond):
			}
			if t, err = c.Task(ctx, t.ID); err != nil {
				return fmt.Errorf("task %d: %w", t.ID, err)
			}
		}
	}
	if *out == formatJSON {
		if err := writeJSON(e.stdout, t); err != nil {
			return err
		}
	} else if *wait {
		if err := taskReport(e.stdout, t); err != nil {
			return err
		}
	} else if _, err := fmt.Fprintf(e.stdout, "Task %d (%s) for %s: %s; the agent has until %s to start it.\n",
		t.ID, t.Kind, t.Hostname, t.State, t.NotAfter.Local().Format(time.DateTime)); err != nil {
		return err
	}
	if *wait && t.State != patchwave.TaskSucceeded {
		return fmt.Errorf("task %d on %s %s: %s", t.ID, pos[0], t.State, t.Error)
	}
	return nil
}

func runTasksList(ctx context.Context, e env, args []string) error {
	v := newVerb("tasks list", "HOST", 1, "List a host's tasks, of rollouts and asked for, oldest first.",
		"patchwave tasks list web-01\npatchwave tasks list web-01 --all -o json")
	all := v.Bool("all", false, "every page, not only the first 100")
	out := v.outputFlag()
	pos, err := v.parse(args)
	if err != nil {
		return err
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	var tasks []patchwave.Task
	after := ""
	for {
		ts, next, err := c.HostTasks(ctx, pos[0], after, 0)
		if err != nil {
			return fmt.Errorf("tasks of %s: %w", pos[0], err)
		}
		tasks = append(tasks, ts...)
		if next == "" || !*all {
			break
		}
		after = next
	}
	if *out == formatJSON {
		return writeJSON(e.stdout, tasks)
	}
	t := newTable(e.stdout, "ID", "KIND", "RELEASE", "STATE", "PHASE", "ATTEMPT", "BY", "FINISHED", "ERROR")
	for _, tk := range tasks {
		rel := "-"
		if tk.ReleaseID != 0 {
			rel = fmt.Sprint(tk.ReleaseID)
		}
		t.row(fmt.Sprint(tk.ID), string(tk.Kind), rel, string(tk.State), tk.Phase, fmt.Sprint(tk.Attempt),
			tk.RequestedBy, whenPtr(tk.FinishedAt, "-"), tk.Error)
	}
	return t.flush()
}

func runTasksShow(ctx context.Context, e env, args []string) error {
	v := newVerb("tasks show", "ID", 1, "Show one task with the agent's report: the versions before and after, pre-checks, hooks, health checks, reboot, rollback and output.",
		"patchwave tasks show 42\npatchwave tasks show 42 -o json")
	out := v.outputFlag()
	pos, err := v.parse(args)
	if err != nil {
		return err
	}
	id, err := parseID(v, pos[0])
	if err != nil {
		return err
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	t, err := c.Task(ctx, id)
	if err != nil {
		return fmt.Errorf("task %d: %w", id, err)
	}
	if *out == formatJSON {
		return writeJSON(e.stdout, t)
	}
	return taskReport(e.stdout, t)
}

// taskReport writes a task and the agent's report for people.
func taskReport(w io.Writer, t patchwave.Task) error {
	b := &strings.Builder{}
	fmt.Fprintf(b, "Task %d: %s on %s, attempt %d: %s", t.ID, t.Kind, t.Hostname, t.Attempt, t.State)
	if t.Phase != "" {
		fmt.Fprintf(b, " (phase %s)", t.Phase)
	}
	b.WriteString("\n")
	if t.Error != "" {
		fmt.Fprintf(b, "Error: %s\n", t.Error)
	}
	if t.Reason != "" {
		fmt.Fprintf(b, "Reason: %s\n", t.Reason)
	}
	if t.RequestedBy != "" {
		fmt.Fprintf(b, "Asked for by: %s\n", t.RequestedBy)
	}
	if t.Hook != "" {
		fmt.Fprintf(b, "Hook: %s\n", t.Hook)
	}
	if t.RollbackOf != 0 {
		fmt.Fprintf(b, "Rolls back: task %d\n", t.RollbackOf)
	}
	fmt.Fprintf(b, "Started: %s  Finished: %s\n", whenPtr(t.StartedAt, "-"), whenPtr(t.FinishedAt, "-"))
	if d := t.Details; d != nil {
		if len(d.Packages) > 0 {
			b.WriteString("Packages:\n")
			for _, p := range d.Packages {
				fmt.Fprintf(b, "  %s %s -> %s (target %s)\n", p.Name, dash(p.Before), dash(p.After), dash(p.Target))
			}
		}
		for _, s := range []struct {
			name  string
			steps []patchwave.StepResult
		}{{"Pre-checks", d.PreChecks}, {"Hooks", d.Hooks}, {"Commands", d.Commands}, {"Checks", d.Checks}} {
			if len(s.steps) == 0 {
				continue
			}
			fmt.Fprintf(b, "%s:\n", s.name)
			for _, st := range s.steps {
				mark := "ok"
				if !st.OK {
					mark = "FAILED"
				}
				fmt.Fprintf(b, "  %-6s %s", mark, st.Name)
				if st.ExitCode != 0 {
					fmt.Fprintf(b, " (exit %d)", st.ExitCode)
				}
				if st.Detail != "" {
					fmt.Fprintf(b, ": %s", st.Detail)
				}
				b.WriteString("\n")
			}
		}
		if d.Rebooted {
			b.WriteString("The host rebooted.\n")
		}
		if d.RolledBack {
			b.WriteString("The previous versions were restored.\n")
		}
		if d.Refused {
			b.WriteString("The agent refused the task.\n")
		}
	}
	if t.Output != "" {
		fmt.Fprintf(b, "Output:\n%s\n", strings.TrimRight(t.Output, "\n"))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
