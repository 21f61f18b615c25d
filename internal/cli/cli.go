// Package cli is the patchwave command line: the nouns and verbs over the
// HTTP API (hosts, enroll-tokens, tokens, users, audit), login and logout,
// and the entry points of the server, agent and bench commands. Main takes
// its arguments and streams and returns an exit code, so that tests and
// cmd/patchwave run exactly the same code.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/patchwave/patchwave"
)

// Exit codes of Main.
const (
	exitOK    = 0 // success, or help that was asked for
	exitError = 1 // the command failed
	exitUsage = 2 // the command line is wrong
)

// env is what every command gets from its surroundings: streams, the
// process environment and where to keep the configuration. Tests inject
// their own.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// getenv looks up an environment variable ("" when unset).
	getenv func(string) string
	// configDir is the user's configuration directory (os.UserConfigDir).
	configDir func() (string, error)
}

// command is one entry of a command table: a noun with verbs, or a verb.
type command struct {
	name    string
	summary string // one line, lower case, no full stop
	// run runs the command with the arguments after its name.
	run func(ctx context.Context, e env, args []string) error
}

// Main runs the patchwave command line with args (without the program
// name) and returns the process exit code: 0 on success, 1 when the command
// failed (the error is printed on stderr as "patchwave: <message>"), 2 when
// the command line is wrong (with the usage on stderr).
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv, configDir: os.UserConfigDir}
	return run(ctx, e, args)
}

// run is Main with an injected environment.
func run(ctx context.Context, e env, args []string) int {
	cmds := []command{
		{"login", "sign in to a server and save the credential", runLogin},
		{"logout", "forget the saved credential and revoke it on the server", runLogout},
		{"hosts", "list, show, change, import, revoke and delete hosts", nounRunner("hosts", hostVerbs())},
		{"enroll-tokens", "create, list and revoke the tokens agents enroll with", nounRunner("enroll-tokens", enrollTokenVerbs())},
		{"tokens", "create, list and revoke API tokens for scripts", nounRunner("tokens", tokenVerbs())},
		{"users", "create, list and change users", nounRunner("users", userVerbs())},
		{"audit", "show the audit log", runAudit},
		{"feeds", "advisory feeds: status, add, sync, import", nounRunner("feeds", feedVerbs())},
		{"findings", "missing patches and vulnerabilities across the fleet", nounRunner("findings", findingVerbs())},
		{"compliance", "hosts' compliance state under the patch policy", runCompliance},
		{"sla", "remediation deadlines by tier and severity", nounRunner("sla", slaVerbs())},
		{"baselines", "patch approval baselines: list, show, apply, preview, delete", nounRunner("baselines", baselineVerbs())},
		{"exceptions", "exclusions, restrictions and risk acceptances", nounRunner("exceptions", exceptionVerbs())},
		{"tier-rules", "rules that set hosts' criticality tiers", nounRunner("tier-rules", tierRuleVerbs())},
		{"service-baselines", "services expected to run on hosts", nounRunner("service-baselines", serviceBaselineVerbs())},
		{"cycles", "release cycles and the dates of their phases", nounRunner("cycles", cycleVerbs())},
		{"windows", "maintenance windows and change freezes", nounRunner("windows", windowVerbs())},
		{"waves", "the wave plan releases roll out in", nounRunner("waves", waveVerbs())},
		{"releases", "frozen patch sets and their schedules", nounRunner("releases", releaseVerbs())},
		{"plan", "show which hosts get which patches when, before a release runs", runPlan},
		{"rollouts", "drive and watch releases moving through their waves", nounRunner("rollouts", rolloutVerbs())},
		{"approvals", "approve or reject waves", nounRunner("approvals", approvalVerbs())},
		{"tasks", "ask a host's agent for a scan, verify, rollback, reboot or hook; show task reports", nounRunner("tasks", taskVerbs())},
		{"tickets", "follow-up tickets of failed tasks: list, show, ack, resolve, wont-fix, comment", nounRunner("tickets", ticketVerbs())},
		{"notifications", "where ticket notices go (webhook, Slack, Teams, e-mail) and the outbox", nounRunner("notifications", notificationVerbs())},
		{"reports", "compliance and release reports: JSON, CSV, HTML with charts", nounRunner("reports", reportVerbs())},
		{"evidence", "signed evidence bundles of releases: export, key, verify offline", nounRunner("evidence", evidenceVerbs())},
		{"server", "run the Patchwave server (API, web UI, schedulers)", runServer},
		{"backup", "copy the server's embedded database to a file, online", runBackup},
		{"restore", "put a backup in place of the server's embedded database", runRestore},
		{"agent", "run the agent on a host: enroll, check in, run tasks", runAgent},
		{"bench", "load-test a server with simulated agents", runBench},
		{"demo", "run a server with a simulated fleet and a release rolling out", runDemo},
		{"assess", "match an inventory against advisories offline, without a server", runAssess},
		{"version", "print the version of this program", runVersion},
	}
	// help is in the table too, and needs the table to describe it.
	cmds = append(cmds, command{"help", "show help for a command", func(ctx context.Context, e env, args []string) error {
		if len(args) == 0 {
			return &helpRequest{usage: topUsage(cmds)}
		}
		return dispatch(ctx, e, cmds, slices.Concat(args, []string{"--help"}))
	}})
	return exitCode(e, dispatch(ctx, e, cmds, args))
}

// dispatch runs the command args[0] names.
func dispatch(ctx context.Context, e env, cmds []command, args []string) error {
	if len(args) == 0 {
		return &usageError{msg: "no command given", usage: topUsage(cmds)}
	}
	switch args[0] {
	case "-h", "-help", "--help":
		return &helpRequest{usage: topUsage(cmds)}
	case "-version", "--version":
		return runVersion(ctx, e, nil)
	}
	for _, c := range cmds {
		if c.name == args[0] {
			return c.run(ctx, e, args[1:])
		}
	}
	if strings.HasPrefix(args[0], "-") {
		return &usageError{msg: fmt.Sprintf("unknown flag %s: flags go after the command", args[0]), usage: topUsage(cmds)}
	}
	return &usageError{msg: fmt.Sprintf("unknown command %q", args[0]), usage: topUsage(cmds)}
}

// nounRunner returns the run function of a noun: it dispatches to one of
// its verbs.
func nounRunner(noun string, verbs []command) func(context.Context, env, []string) error {
	return func(ctx context.Context, e env, args []string) error {
		if len(args) == 0 {
			return &usageError{msg: fmt.Sprintf("%s: no verb given", noun), usage: nounUsage(noun, verbs)}
		}
		switch args[0] {
		case "-h", "-help", "--help", "help":
			if len(args) > 1 && args[0] == "help" {
				return nounRunner(noun, verbs)(ctx, e, []string{args[1], "--help"})
			}
			return &helpRequest{usage: nounUsage(noun, verbs)}
		}
		for _, v := range verbs {
			if v.name == args[0] {
				return v.run(ctx, e, args[1:])
			}
		}
		return &usageError{msg: fmt.Sprintf("%s: unknown verb %q", noun, args[0]), usage: nounUsage(noun, verbs)}
	}
}

// topUsage is the usage of the whole program.
func topUsage(cmds []command) string {
	var b strings.Builder
	b.WriteString("Patchwave keeps a fleet of hosts patched.\n\nUsage:\n  patchwave <command> [verb] [flags] [arguments]\n\nCommands:\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, c := range cmds {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	tw.Flush()
	b.WriteString("\nThe commands over the API use the server and token saved by \"patchwave login\";\n" +
		"the environment variables " + envServer + " and " + envToken + " override them.\n" +
		"Read commands take -o table (the default) or -o json.\n\n" +
		"Run \"patchwave help <command>\" or \"patchwave <command> --help\" for details.\n")
	return b.String()
}

// nounUsage is the usage of a noun: its verbs.
func nounUsage(noun string, verbs []command) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage:\n  patchwave %s <verb> [flags] [arguments]\n\nVerbs:\n", noun)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, v := range verbs {
		fmt.Fprintf(tw, "  %s\t%s\n", v.name, v.summary)
	}
	tw.Flush()
	fmt.Fprintf(&b, "\nRun \"patchwave %s <verb> --help\" for the flags of a verb.\n", noun)
	return b.String()
}

// usageError is a wrong command line: Main prints the message and the
// usage on stderr and exits with 2.
type usageError struct {
	msg   string
	usage string
}

func (e *usageError) Error() string { return e.msg }

// helpRequest is help that was asked for: Main prints the usage on stdout
// and exits with 0.
type helpRequest struct {
	usage string
}

func (h *helpRequest) Error() string { return "help requested" }

// exitCode reports err the way its kind asks for and returns the exit code.
func exitCode(e env, err error) int {
	if err == nil {
		return exitOK
	}
	var exit *exitStatus
	if errors.As(err, &exit) {
		if exit.err != nil {
			fmt.Fprintf(e.stderr, "patchwave: %s\n", errorMessage(exit.err))
		}
		return exit.code
	}
	var help *helpRequest
	if errors.As(err, &help) {
		io.WriteString(e.stdout, help.usage)
		return exitOK
	}
	var usage *usageError
	if errors.As(err, &usage) {
		fmt.Fprintf(e.stderr, "patchwave: %s\n\n%s", usage.msg, usage.usage)
		return exitUsage
	}
	fmt.Fprintf(e.stderr, "patchwave: %s\n", errorMessage(err))
	return exitError
}

// errorMessage is what a user is told about err: the server's message, with
// a hint where one helps.
func errorMessage(err error) string {
	msg := err.Error()
	var pe *patchwave.Error
	if !errors.As(err, &pe) {
		return msg
	}
	switch pe.Code {
	case patchwave.EUnauthorized:
		return msg + " (run \"patchwave login\" again, or check " + envToken + ")"
	case patchwave.EForbidden:
		if !strings.Contains(strings.ToLower(msg), "forbidden") && !strings.Contains(strings.ToLower(msg), "permission") {
			return "permission denied: " + msg
		}
	}
	return msg
}
