package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/patchwave/patchwave"
)

// verbFlags is the flag set of one verb together with what its usage shows:
// the synopsis, a description and an example. Flags and arguments may come in
// any order; "--" ends the flags.
type verbFlags struct {
	*flag.FlagSet
	path    string // the command words, e.g. "hosts set"
	args    string // the synopsis of the positional arguments, e.g. "HOST"
	nargs   int    // how many positional arguments the verb takes; -1 for any number
	summary string // what the verb does, in sentences
	example string // one or more example command lines
}

// newVerb returns the flag set of the verb at path (e.g. "hosts set") that
// takes nargs positional arguments, described by args (e.g. "HOST").
func newVerb(path, args string, nargs int, summary, example string) *verbFlags {
	fs := flag.NewFlagSet("patchwave "+path, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &verbFlags{FlagSet: fs, path: path, args: args, nargs: nargs, summary: summary, example: example}
}

// parse parses args and returns the positional arguments. -h or --help
// yields a *helpRequest, a wrong command line a *usageError.
func (v *verbFlags) parse(args []string) ([]string, error) {
	var pos []string
	for {
		if err := v.FlagSet.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, &helpRequest{usage: v.usage()}
			}
			return nil, v.usageErrorf("%s", flagError(err))
		}
		rest := v.Args()
		if len(rest) == 0 {
			break
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	switch {
	case v.nargs < 0: // any number
	case len(pos) < v.nargs:
		return nil, v.usageErrorf("missing %s", strings.Join(strings.Fields(v.args)[len(pos):], " "))
	case len(pos) > v.nargs:
		return nil, v.usageErrorf("unexpected argument %q", pos[v.nargs])
	}
	return pos, nil
}

// flagError rewords the flag package's errors with the flag spelled as
// the usage shows it: "--name", or "-o" for one letter.
func flagError(err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		return "unknown flag " + dashed(name)
	}
	if i := strings.Index(msg, " for flag -"); i >= 0 {
		rest := msg[i+len(" for flag -"):]
		name, tail, _ := strings.Cut(rest, ":")
		return msg[:i] + " for flag " + dashed(name) + ":" + tail
	}
	return msg
}

// dashed spells a flag name with its dashes.
func dashed(name string) string {
	name = strings.TrimLeft(name, "-")
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// usageErrorf returns a *usageError with this verb's usage.
func (v *verbFlags) usageErrorf(format string, args ...any) error {
	return &usageError{msg: v.path + ": " + fmt.Sprintf(format, args...), usage: v.usage()}
}

// given reports whether the flag name was set on the command line.
func (v *verbFlags) given(name string) bool {
	set := false
	v.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

// usage is the help text of the verb: synopsis, description, every flag,
// an example.
func (v *verbFlags) usage() string {
	var b strings.Builder
	b.WriteString("Usage:\n  patchwave " + v.path + " [flags]")
	if v.args != "" {
		b.WriteString(" " + v.args)
	}
	b.WriteString("\n\n" + v.summary + "\n\nFlags:\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	v.VisitAll(func(f *flag.Flag) {
		name, text := flag.UnquoteUsage(f)
		arg := dashed(f.Name)
		if name != "" {
			arg += " " + name
		}
		if !isZeroDefault(f) {
			text += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(tw, "  %s\t%s\n", arg, text)
	})
	fmt.Fprintf(tw, "  -h, --help\tshow this help\n")
	tw.Flush()
	b.WriteString("\nExample:\n")
	for _, line := range strings.Split(strings.TrimSpace(v.example), "\n") {
		b.WriteString("  " + strings.TrimSpace(line) + "\n")
	}
	return b.String()
}

func isZeroDefault(f *flag.Flag) bool {
	switch f.DefValue {
	case "", "0", "false", "0s", "[]":
		return true
	}
	return false
}

// format is how a command prints what it read: a table for people, or
// JSON for scripts.
type format string

const (
	formatTable format = "table"
	formatJSON  format = "json"
)

func (f *format) String() string { return string(*f) }

func (f *format) Set(s string) error {
	switch format(s) {
	case formatTable, formatJSON:
		*f = format(s)
		return nil
	}
	return fmt.Errorf("unknown output format %q (want table or json)", s)
}

// outputFlag adds -o to v and returns where its value goes.
func (v *verbFlags) outputFlag() *format {
	f := formatTable
	v.Var(&f, "o", "output `format`: table or json")
	return &f
}

// listFlag is a comma-separated list flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(s string) error {
	*l = patchwave.SplitList(s)
	return nil
}

// tierFlag is a criticality tier flag, checked when parsed.
type tierFlag patchwave.Tier

func (t *tierFlag) String() string { return string(*t) }

func (t *tierFlag) Set(s string) error {
	tier, err := patchwave.ParseTier(s)
	if err != nil {
		return errors.New(patchwave.ErrorMessage(err))
	}
	*t = tierFlag(tier)
	return nil
}

// roleFlag is a role flag, checked when parsed.
type roleFlag patchwave.Role

func (r *roleFlag) String() string { return string(*r) }

func (r *roleFlag) Set(s string) error {
	role, err := patchwave.ParseRole(s)
	if err != nil {
		return errors.New(patchwave.ErrorMessage(err))
	}
	*r = roleFlag(role)
	return nil
}

// durationFlag is a duration kept as the text given, for the API's
// expires_in fields, checked when parsed.
type durationFlag string

func (d *durationFlag) String() string { return string(*d) }

func (d *durationFlag) Set(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("not a duration like 720h or 30m: %q", s)
	}
	if v <= 0 {
		return fmt.Errorf("duration %q is not positive", s)
	}
	*d = durationFlag(s)
	return nil
}
