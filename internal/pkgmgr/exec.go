package pkgmgr

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/patchwave/patchwave"
)

// Target is a package to install at exactly this version (epoch included
// where the ecosystem has one: "1:2.3-4"). Arch "" matches the package's
// only installed or available architecture.
type Target struct{ Name, Arch, Version string }

func (t Target) String() string {
	if t.Arch != "" {
		return t.Name + ":" + t.Arch + "=" + t.Version
	}
	return t.Name + "=" + t.Version
}

// Change is what an operation did to one package; Before or After "" means
// not installed. When several versions of one name and architecture are
// installed (rpm's install-only packages, such as kernels), Before and
// After list them in ascending order, separated by ", ".
type Change struct{ Name, Arch, Before, After string }

// Outcome is what an operation did and printed.
type Outcome struct {
	Changes  []Change
	Commands [][]string // every command line run, in order
	// Output is the commands' combined standard output and error, each
	// command's part preceded by a line "$ command line". Past
	// Options.OutputLimit bytes the middle is cut: the head and the tail
	// are kept, with a line saying how much is missing between them.
	Output   string
	ExitCode int // of the last command; -1 when it was killed or never started
	Duration time.Duration
}

// Executor runs one package manager over a root ("/" in production).
type Executor interface {
	// Kind is "apt" or "dnf".
	Kind() string
	// Refresh updates the package lists: apt-get update, dnf makecache.
	Refresh(ctx context.Context) (Outcome, error)
	// Install brings every target to exactly its version, never to
	// "latest": upgrading, installing or (with allowDowngrade) downgrading.
	// Targets already at their version are left alone; when all are, no
	// command runs. A version not available from the repositories, a
	// refused downgrade, a failing command or a package that ends at
	// another version than its target is an error naming the packages (see
	// ErrUnavailable, ErrDowngrade, ErrLocked, ErrMismatch); Outcome is
	// filled in all the same.
	Install(ctx context.Context, ts []Target, allowDowngrade bool) (Outcome, error)
	// Installed lists the packages installed in the root (see Installed).
	Installed(ctx context.Context) ([]patchwave.Package, error)
	// Available reports whether this exact version is installable from
	// the configured repositories (as of the last Refresh, for apt).
	Available(ctx context.Context, t Target) (bool, error)
	// Locked reports whether another process holds the package manager's
	// lock, and which lock and process.
	Locked(ctx context.Context) (held bool, detail string, err error)
	// RebootRequired reports whether the system needs a reboot to use
	// what was installed, and why.
	RebootRequired(ctx context.Context) (bool, string, error)
}

// Options configure an Executor.
type Options struct {
	Root        string        // "/" (or "") for the running system, or a root directory
	Timeout     time.Duration // per command; default DefaultTimeout
	OutputLimit int           // bytes of Outcome.Output; default DefaultOutputLimit
	Env         []string      // extra environment, KEY=value, after the executor's own
	// LockWait bounds how long Install waits for another process's package
	// manager lock before it fails with ErrLocked: apt's
	// DPkg::Lock::Timeout (whole seconds, at least 1), and for dnf a poll
	// of Locked before each transaction. Default DefaultLockWait.
	LockWait time.Duration
}

// Defaults for Options.
const (
	DefaultTimeout     = 30 * time.Minute
	DefaultOutputLimit = 256 << 10
	DefaultLockWait    = 5 * time.Minute
)

// Errors that Install wraps, for errors.Is.
var (
	// ErrUnavailable: a target version is not in the configured repositories.
	ErrUnavailable = errors.New("version not available from the configured repositories")
	// ErrDowngrade: a target is older than the installed version and
	// downgrades were not allowed.
	ErrDowngrade = errors.New("downgrade not allowed")
	// ErrLocked: another process held the package manager's lock for
	// longer than Options.LockWait.
	ErrLocked = errors.New("package manager locked by another process")
	// ErrMismatch: after the operation a package is not at its target version.
	ErrMismatch = errors.New("not at the target version")
	// ErrNoPackageManager: New found no package manager it supports for the root.
	ErrNoPackageManager = errors.New("no supported package manager")
)

// New returns the executor for the root's package manager: apt when the
// root has var/lib/dpkg/status and apt-get is installed, dnf when it has an
// rpm database and dnf is installed. Otherwise the error (ErrNoPackageManager)
// says what was found and what is missing.
func New(opts Options) (Executor, error) {
	return newExecutor(opts, exec.LookPath, runCommand)
}

func newExecutor(opts Options, lookPath func(string) (string, error), run runFunc) (Executor, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	status, err := findFile(opts.Root, dpkgStatusPaths)
	if err != nil {
		return nil, fmt.Errorf("package manager of %s: %w", opts.Root, err)
	}
	var missing []string
	if status != "" {
		if _, err := lookPath("apt-get"); err == nil {
			return &aptExecutor{base{opts: opts, run: run}}, nil
		}
		missing = append(missing, "it has a dpkg database but apt-get is not installed")
	}
	if rpmDBPath(opts.Root) != "" {
		if _, err := lookPath("dnf"); err == nil {
			return newDnf(opts, run, lookPath), nil
		}
		missing = append(missing, "it has an rpm database but dnf is not installed")
	}
	if len(missing) == 0 {
		missing = append(missing, "it has neither var/lib/dpkg/status nor an rpm database")
	}
	return nil, fmt.Errorf("package manager of %s: %w: %s", opts.Root, ErrNoPackageManager, strings.Join(missing, "; "))
}

// withDefaults fills in the defaults and makes Root absolute.
func (o Options) withDefaults() (Options, error) {
	if o.Root == "" {
		o.Root = "/"
	}
	root, err := filepath.Abs(o.Root)
	if err != nil {
		return o, fmt.Errorf("package manager root: %w", err)
	}
	o.Root = root
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.OutputLimit <= 0 {
		o.OutputLimit = DefaultOutputLimit
	}
	if o.LockWait <= 0 {
		o.LockWait = DefaultLockWait
	}
	o.Env = slices.Clone(o.Env)
	return o, nil
}

// inRoot reports whether the executor works on a root directory other
// than the running system's.
func (o Options) inRoot() bool { return o.Root != "/" }

// command is one program to run: Args[0] is the program, Env is added to
// the environment (after the inherited one, before Options.Env).
type command struct {
	Args []string
	Env  []string
}

// runFunc runs c, writing its standard output and error to out, and
// returns its exit code (-1 when it did not exit by itself). err is nil
// when the program ran and exited, whatever its code; it is set when the
// program could not be started or was stopped by ctx.
type runFunc func(ctx context.Context, c command, out io.Writer) (exitCode int, err error)

// runCommand is the runFunc that executes programs. On cancellation the
// command's process group gets SIGTERM, and SIGKILL 10 seconds later.
func runCommand(ctx context.Context, c command, out io.Writer) (int, error) {
	cmd := exec.CommandContext(ctx, c.Args[0], c.Args[1:]...)
	cmd.Env = append(os.Environ(), c.Env...)
	cmd.Stdout, cmd.Stderr = out, out
	configureProcess(cmd)
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) && ctx.Err() == nil {
		return exit.ExitCode(), nil
	}
	if err != nil {
		if ctx.Err() != nil {
			return -1, ctx.Err()
		}
		return -1, err
	}
	return 0, nil
}

// base is what the executors share: options, the runner and the record of
// one operation.
type base struct {
	opts Options
	run  runFunc
}

// op records the commands of one operation and their capped output.
type op struct {
	b     *base
	start time.Time
	out   *capWriter
	oc    Outcome
}

func (b *base) begin() *op {
	return &op{b: b, start: time.Now(), out: newCapWriter(b.opts.OutputLimit)}
}

// exec runs one command with the per-command timeout and records it;
// its output also goes to also when that is not nil. The error is set when
// the command could not run, timed out or was canceled; a non-zero exit is
// not an error here (see exitError).
func (o *op) exec(ctx context.Context, c command, also io.Writer) (int, error) {
	c.Env = append(slices.Clone(c.Env), o.b.opts.Env...)
	o.oc.Commands = append(o.oc.Commands, slices.Clone(c.Args))
	fmt.Fprintf(o.out, "$ %s\n", strings.Join(c.Args, " "))
	var out io.Writer = o.out
	if also != nil {
		out = io.MultiWriter(o.out, also)
	}
	cctx, cancel := context.WithTimeout(ctx, o.b.opts.Timeout)
	defer cancel()
	code, err := o.b.run(cctx, c, out)
	o.oc.ExitCode = code
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			err = fmt.Errorf("%s: timed out after %v: %w", c.name(), o.b.opts.Timeout, err)
		} else {
			err = fmt.Errorf("%s: %w", c.name(), err)
		}
		fmt.Fprintf(o.out, "[%v]\n", err)
	}
	return code, err
}

// capture runs a command like exec and also returns its own output (up to
// 16 MiB), for the commands whose output is parsed.
func (o *op) capture(ctx context.Context, c command) ([]byte, int, error) {
	own := &limitedBuffer{limit: 16 << 20}
	code, err := o.exec(ctx, c, own)
	return own.Bytes(), code, err
}

func (o *op) finish() Outcome {
	o.oc.Output = o.out.String()
	o.oc.Duration = time.Since(o.start)
	return o.oc
}

// exitError explains a command's non-zero exit, with the error lines of
// its output when there are any.
func exitError(c command, code int, out []byte) error {
	if msg := errorLines(out); msg != "" {
		return fmt.Errorf("%s exited with status %d: %s", c.name(), code, msg)
	}
	return fmt.Errorf("%s exited with status %d", c.name(), code)
}

// verbs are the subcommands the executors run, for command.name.
var verbs = []string{"install", "update", "madison", "downgrade", "makecache", "repoquery"}

// name is the program and its subcommand: "apt-get install".
func (c command) name() string {
	for _, a := range c.Args[1:] {
		if slices.Contains(verbs, a) {
			return c.Args[0] + " " + a
		}
	}
	return c.Args[0]
}

// errorLines picks the lines of a package manager's output that say what
// went wrong: apt's "E: ", dnf's "Error: " and "No match for argument",
// dpkg's "dpkg: error", rpm's "error: ", and the indented lines that
// follow a header ending in ':' (dnf's "Problem: …" explanations, the
// reason under dpkg's "error processing package …:"). At most 6 lines,
// 1000 bytes.
func errorLines(out []byte) string {
	var lines []string
	more := false // the previous kept line announced details
	for line := range strings.Lines(string(out)) {
		indented := strings.HasPrefix(line, " ")
		line = strings.TrimSpace(line)
		switch {
		case line == "":
			more = false
			continue
		case strings.HasPrefix(line, "E: "), strings.HasPrefix(line, "Error: "), strings.HasPrefix(line, "error: "),
			strings.HasPrefix(line, "dpkg: error"), strings.HasPrefix(line, "No match for argument"),
			strings.HasPrefix(line, "Problem: "), strings.HasPrefix(line, "Problem "), strings.HasPrefix(line, "Error in "),
			line == "Error:":
			more = strings.HasSuffix(line, ":") || strings.HasPrefix(line, "Problem")
			if line == "Error:" {
				continue
			}
		case more && indented:
		default:
			more = false
			continue
		}
		lines = append(lines, line)
		if len(lines) == 6 {
			break
		}
	}
	s := strings.Join(lines, "; ")
	if len(s) > 1000 {
		s = s[:1000] + "…"
	}
	return s
}

// limitedBuffer keeps the first limit bytes written to it.
type limitedBuffer struct {
	bytes.Buffer
	limit int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.limit - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// capWriter keeps the head and the tail of what is written to it, at most
// limit bytes in all. It is safe for concurrent use.
type capWriter struct {
	mu    sync.Mutex
	limit int
	head  []byte
	tail  []byte // a ring of len cap(tail) once full
	pos   int    // next write position in tail once full
	total int64
}

func newCapWriter(limit int) *capWriter {
	limit = max(limit, 2)
	h := limit / 2
	return &capWriter{limit: limit, head: make([]byte, 0, h), tail: make([]byte, 0, limit-h)}
}

func (w *capWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
	w.total += int64(n)
	if room := cap(w.head) - len(w.head); room > 0 {
		k := min(room, len(p))
		w.head = append(w.head, p[:k]...)
		p = p[k:]
	}
	c := cap(w.tail)
	if len(p) >= c {
		w.tail = append(w.tail[:0], p[len(p)-c:]...)
		w.pos = 0
		return n, nil
	}
	for len(p) > 0 {
		if len(w.tail) < c {
			k := min(c-len(w.tail), len(p))
			w.tail = append(w.tail, p[:k]...)
			p = p[k:]
			continue
		}
		k := copy(w.tail[w.pos:], p)
		w.pos = (w.pos + k) % c
		p = p[k:]
	}
	return n, nil
}

// String returns what was kept: everything when it fit, else the head, a
// line saying how many bytes were cut, and the tail.
func (w *capWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	tail := append(slices.Clone(w.tail[w.pos:]), w.tail[:w.pos]...)
	kept := int64(len(w.head) + len(tail))
	if w.total <= kept {
		return string(w.head) + string(tail)
	}
	return fmt.Sprintf("%s\n[… %d bytes cut …]\n%s", w.head, w.total-kept, tail)
}

// checkTargets refuses targets that are empty or could be read as options
// or several arguments by the package manager.
func checkTargets(ts []Target) error {
	if len(ts) == 0 {
		return errors.New("no targets")
	}
	seen := map[string]bool{}
	for _, t := range ts {
		for _, f := range []struct{ what, v string }{{"name", t.Name}, {"version", t.Version}, {"arch", t.Arch}} {
			if f.v == "" && f.what != "arch" {
				return fmt.Errorf("target %q: empty %s", t, f.what)
			}
			if f.v != "" && !validField(f.v) {
				return fmt.Errorf("target %q: invalid %s %q", t, f.what, f.v)
			}
		}
		if strings.ContainsAny(t.Name, ":=") || strings.ContainsAny(t.Arch, ":=.") || strings.Contains(t.Version, "=") {
			return fmt.Errorf("target %q: invalid name, arch or version", t)
		}
		key := t.Name + "\x00" + t.Arch
		if seen[key] {
			return fmt.Errorf("target %q: the package appears twice", t)
		}
		seen[key] = true
	}
	return nil
}

// validField accepts the characters of package names, versions and
// architectures in dpkg and rpm, and refuses a leading '-'.
func validField(s string) bool {
	if s == "" || s[0] == '-' || len(s) > 256 {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune(".+-~:_^=", r):
		default:
			return false
		}
	}
	return true
}

// versionsOf indexes packages by name and arch: the installed versions,
// in ascending order per compare.
func versionsOf(ps []patchwave.Package, compare func(a, b string) int) map[[2]string][]string {
	m := map[[2]string][]string{}
	for _, p := range ps {
		k := [2]string{p.Name, p.Arch}
		m[k] = append(m[k], p.Version)
	}
	for _, vs := range m {
		slices.SortFunc(vs, compare)
	}
	return m
}

// diff lists what changed between two inventories, sorted by name and arch.
func diff(before, after []patchwave.Package, compare func(a, b string) int) []Change {
	b, a := versionsOf(before, compare), versionsOf(after, compare)
	var out []Change
	for k, bv := range b {
		if av := a[k]; !slices.Equal(bv, av) {
			out = append(out, Change{Name: k[0], Arch: k[1], Before: strings.Join(bv, ", "), After: strings.Join(av, ", ")})
		}
	}
	for k, av := range a {
		if _, ok := b[k]; !ok {
			out = append(out, Change{Name: k[0], Arch: k[1], After: strings.Join(av, ", ")})
		}
	}
	slices.SortFunc(out, func(x, y Change) int {
		return cmp.Or(strings.Compare(x.Name, y.Name), strings.Compare(x.Arch, y.Arch))
	})
	return out
}

// installedVersions returns the installed versions of a target's package:
// of its arch, or of any arch when the target names none.
func installedVersions(m map[[2]string][]string, t Target) []string {
	if t.Arch != "" {
		return m[[2]string{t.Name, t.Arch}]
	}
	var vs []string
	for k, v := range m {
		if k[0] == t.Name {
			vs = append(vs, v...)
		}
	}
	return vs
}

// plan splits targets by what Install must do with each, given the
// installed versions: nothing (already there, perhaps spelled with an
// explicit zero epoch), install or upgrade, or downgrade (older than the
// newest installed version). A downgrade without allowDowngrade is an
// ErrDowngrade naming every refused target.
func plan(ts []Target, installed map[[2]string][]string, compare func(a, b string) int, allowDowngrade bool) (up, down []Target, err error) {
	var refused []string
	for _, t := range ts {
		vs := installedVersions(installed, t)
		slices.SortFunc(vs, compare)
		switch {
		case slices.ContainsFunc(vs, func(v string) bool { return compare(v, t.Version) == 0 }):
		case len(vs) > 0 && compare(t.Version, vs[len(vs)-1]) < 0:
			if !allowDowngrade {
				refused = append(refused, fmt.Sprintf("%s (installed %s)", t, vs[len(vs)-1]))
				continue
			}
			down = append(down, t)
		default:
			up = append(up, t)
		}
	}
	if len(refused) > 0 {
		return nil, nil, fmt.Errorf("%w: %s", ErrDowngrade, strings.Join(refused, ", "))
	}
	return up, down, nil
}

// mismatches lists the targets not at their version in an inventory.
func mismatches(ts []Target, after []patchwave.Package, compare func(a, b string) int) []string {
	m := versionsOf(after, compare)
	var bad []string
	for _, t := range ts {
		vs := installedVersions(m, t)
		if !slices.ContainsFunc(vs, func(v string) bool { return compare(v, t.Version) == 0 }) {
			got := "not installed"
			if len(vs) > 0 {
				got = "at " + strings.Join(vs, ", ")
			}
			bad = append(bad, fmt.Sprintf("%s is %s", t, got))
		}
	}
	return bad
}
