package pkgmgr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/osinfo"
	"github.com/patchwave/patchwave/internal/version"
)

// dnfExecutor runs dnf (4) and, for RebootRequired, needs-restarting.
//
// On the running system (Root "/") the commands are plain dnf with the
// system's configuration. In another root they add --installroot, take
// the root's own dnf.conf (when it has one) and repository directory, the
// root's release (--releasever from its os-release) and no plugins, which
// are the host's and would act on the host.
//
// dnf has no bounded wait for its locks: it waits for ever, or fails at
// once with exit_on_lock. So Install polls Locked for up to
// Options.LockWait before each transaction, then runs dnf with
// exit_on_lock, so that a lock taken in between fails clearly instead of
// hanging until the timeout.
type dnfExecutor struct {
	base
	lookPath func(string) (string, error)
	// kernelRelease returns the running kernel's release (uname -r).
	kernelRelease func() (string, error)
	root          dnfRoot
}

// dnfRoot is what the dnf command line needs to know about a root other
// than "/", found once by New.
type dnfRoot struct {
	config     bool   // the root has etc/dnf/dnf.conf
	releasever string // from the root's os-release VERSION_ID, "" when unknown
}

func newDnf(opts Options, run runFunc, lookPath func(string) (string, error)) *dnfExecutor {
	e := &dnfExecutor{base: base{opts: opts, run: run}, lookPath: lookPath, kernelRelease: runningKernel}
	if opts.inRoot() {
		if fi, err := os.Stat(filepath.Join(opts.Root, "etc/dnf/dnf.conf")); err == nil && fi.Mode().IsRegular() {
			e.root.config = true
		}
		e.root.releasever = rootReleasever(opts.Root)
	}
	return e
}

// rootReleasever is the major version of the root's os-release VERSION_ID
// ("9" for "9.4"), which is dnf's $releasever on RHEL-likes and Fedora.
func rootReleasever(root string) string {
	for _, p := range []string{"etc/os-release", "usr/lib/os-release"} {
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			continue
		}
		o, err := osinfo.ParseOSRelease(b)
		if err != nil || o.Version == "" {
			return ""
		}
		major, _, _ := strings.Cut(o.Version, ".")
		if validField(major) {
			return major
		}
		return ""
	}
	return ""
}

func runningKernel() (string, error) {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "", fmt.Errorf("running kernel: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

func (e *dnfExecutor) Kind() string { return "dnf" }

// dnfArgs is the start of every dnf command line: assume yes, no weak
// dependencies pulled in by a patch, every named package required
// (strict), fail instead of waiting for a lock, and the root options.
func dnfArgs(o Options, r dnfRoot) []string {
	args := []string{"dnf", "-y", "--setopt=install_weak_deps=False", "--setopt=strict=True", "--setopt=exit_on_lock=True"}
	if !o.inRoot() {
		return args
	}
	args = append(args, "--installroot="+o.Root)
	if r.config {
		args = append(args, "--config="+o.Root+"/etc/dnf/dnf.conf")
	}
	args = append(args, "--setopt=reposdir="+o.Root+"/etc/yum.repos.d")
	if r.releasever != "" {
		args = append(args, "--releasever="+r.releasever)
	}
	return append(args, "--noplugins")
}

func dnfEnv() []string { return []string{"LC_ALL=C"} }

// dnfSpec is a target as dnf names an exact package:
// name-[epoch:]version-release[.arch].
func dnfSpec(t Target) string {
	s := t.Name + "-" + t.Version
	if t.Arch != "" {
		s += "." + t.Arch
	}
	return s
}

func dnfRefreshCommand(o Options, r dnfRoot) command {
	return command{Args: append(dnfArgs(o, r), "--refresh", "makecache"), Env: dnfEnv()}
}

// dnfInstallCommand installs (or upgrades to) exact versions; verb
// "downgrade" goes the other way.
func dnfInstallCommand(o Options, r dnfRoot, verb string, ts []Target) command {
	args := append(dnfArgs(o, r), verb)
	for _, t := range ts {
		args = append(args, dnfSpec(t))
	}
	return command{Args: args, Env: dnfEnv()}
}

// DnfQueryFormat is the repoquery --queryformat ParseRepoquery reads.
const DnfQueryFormat = `%{name}\t%{epoch}\t%{version}\t%{release}\t%{arch}\t%{repoid}\n`

func dnfRepoqueryCommand(o Options, r dnfRoot, names []string) command {
	args := append(dnfArgs(o, r), "-q", "repoquery", "--available", "--queryformat", DnfQueryFormat)
	return command{Args: append(args, names...), Env: dnfEnv()}
}

func (e *dnfExecutor) Refresh(ctx context.Context) (Outcome, error) {
	op := e.begin()
	c := dnfRefreshCommand(e.opts, e.root)
	out, code, err := op.capture(ctx, c)
	if err == nil && code != 0 {
		err = exitError(c, code, out)
	}
	if err != nil {
		err = fmt.Errorf("dnf refresh: %w", err)
	}
	return op.finish(), err
}

func (e *dnfExecutor) Installed(ctx context.Context) ([]patchwave.Package, error) {
	ps, _, err := Installed(ctx, e.opts.Root)
	return ps, err
}

func (e *dnfExecutor) Available(ctx context.Context, t Target) (bool, error) {
	if err := checkTargets([]Target{t}); err != nil {
		return false, fmt.Errorf("dnf available: %w", err)
	}
	missing, _, err := e.unavailable(ctx, e.begin(), []Target{t})
	if err != nil {
		return false, fmt.Errorf("dnf available: %w", err)
	}
	return len(missing) == 0, nil
}

// unavailable returns the targets whose version no repository has, and
// the versions the repositories have of each name.
func (e *dnfExecutor) unavailable(ctx context.Context, op *op, ts []Target) ([]Target, map[string][]patchwave.Package, error) {
	var names []string
	for _, t := range ts {
		if !slices.Contains(names, t.Name) {
			names = append(names, t.Name)
		}
	}
	c := dnfRepoqueryCommand(e.opts, e.root, names)
	out, code, err := op.capture(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	if code != 0 {
		return nil, nil, exitError(c, code, out)
	}
	ps := ParseRepoquery(out)
	have := map[string][]patchwave.Package{}
	for _, p := range ps {
		have[p.Name] = append(have[p.Name], p)
	}
	var missing []Target
	for _, t := range ts {
		if !slices.ContainsFunc(have[t.Name], func(p patchwave.Package) bool {
			return rpmSameVersion(p.Version, t.Version) && (t.Arch == "" || p.Arch == t.Arch)
		}) {
			missing = append(missing, t)
		}
	}
	return missing, have, nil
}

// rpmSameVersion compares an available EVR with a target's; a target
// without a release matches any release of its version.
func rpmSameVersion(have, want string) bool {
	if version.CompareRPM(have, want) == 0 {
		return true
	}
	_, wv, _ := strings.Cut(want, ":")
	if !strings.Contains(want, ":") {
		wv = want
	}
	if strings.Contains(wv, "-") {
		return false
	}
	i := strings.LastIndexByte(have, '-')
	return i > 0 && version.CompareRPM(have[:i], want) == 0
}

func (e *dnfExecutor) Install(ctx context.Context, ts []Target, allowDowngrade bool) (Outcome, error) {
	op := e.begin()
	err := e.install(ctx, op, ts, allowDowngrade)
	if err != nil {
		err = fmt.Errorf("dnf install: %w", err)
	}
	return op.finish(), err
}

func (e *dnfExecutor) install(ctx context.Context, op *op, ts []Target, allowDowngrade bool) error {
	if err := checkTargets(ts); err != nil {
		return err
	}
	before, err := e.Installed(ctx)
	if err != nil {
		return err
	}
	up, down, err := plan(ts, versionsOf(before, version.CompareRPM), rpmCompareTarget, allowDowngrade)
	if err != nil {
		return err
	}
	todo := append(slices.Clone(down), up...)
	if len(todo) == 0 {
		return nil
	}
	// No availability check first: dnf's own (strict) check refuses a
	// transaction with a missing version as a whole, and a check costs a
	// second dnf start. Only when a transaction fails does repoquery say
	// whether missing versions were the reason.
	var runErr error
	for _, step := range []struct {
		verb string
		ts   []Target
	}{{"downgrade", down}, {"install", up}} {
		if len(step.ts) == 0 {
			continue
		}
		if runErr = e.waitUnlocked(ctx); runErr != nil {
			break
		}
		c := dnfInstallCommand(e.opts, e.root, step.verb, step.ts)
		out, code, err := op.capture(ctx, c)
		if err == nil && code != 0 {
			err = exitError(c, code, out)
			switch {
			case bytes.Contains(out, []byte("already locked by")):
				err = fmt.Errorf("%w: %w", ErrLocked, err)
			default:
				missing, have, qerr := e.unavailable(ctx, op, step.ts)
				op.oc.ExitCode = code // the transaction's, not the query's
				if qerr == nil && len(missing) > 0 {
					err = unavailableError(missing, func(t Target) []string {
						var vs []string
						for _, p := range have[t.Name] {
							vs = append(vs, p.Version+"."+p.Arch)
						}
						return vs
					})
				}
			}
		}
		if runErr = err; runErr != nil {
			break
		}
	}
	after, err := e.Installed(ctx)
	if err != nil {
		return errors.Join(runErr, err)
	}
	op.oc.Changes = diff(before, after, version.CompareRPM)
	if runErr != nil {
		return runErr
	}
	if bad := mismatches(todo, after, rpmCompareTarget); len(bad) > 0 {
		return fmt.Errorf("%w: %s", ErrMismatch, strings.Join(bad, "; "))
	}
	return nil
}

// rpmCompareTarget orders an installed EVR and a target's, treating a
// target without a release as matching every release of its version.
func rpmCompareTarget(a, b string) int {
	if rpmSameVersion(a, b) || rpmSameVersion(b, a) {
		return 0
	}
	return version.CompareRPM(a, b)
}

// lockPoll is how often waitUnlocked looks at the locks.
const lockPoll = 100 * time.Millisecond

// waitUnlocked waits up to Options.LockWait for the package manager's
// locks to be free.
func (e *dnfExecutor) waitUnlocked(ctx context.Context) error {
	deadline := time.Now().Add(e.opts.LockWait)
	for {
		held, detail, err := e.Locked(ctx)
		if err != nil || !held {
			return err
		}
		if !time.Now().Before(deadline) {
			return fmt.Errorf("%w: %s for longer than %v", ErrLocked, detail, e.opts.LockWait)
		}
		t := time.NewTimer(min(lockPoll, time.Until(deadline)))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (e *dnfExecutor) Locked(ctx context.Context) (bool, string, error) {
	if err := ctx.Err(); err != nil {
		return false, "", err
	}
	db := rpmDBPath(e.opts.Root)
	if db == "" {
		db = "/var/lib/rpm"
	}
	// rpm's transaction lock (%_rpmlock_path, fcntl), then dnf's own
	// process locks (pid files) on the rpm database and the metadata cache.
	return lockedBy(e.opts.Root, []string{strings.TrimPrefix(db, "/") + "/.rpm.lock"},
		[]string{"var/lib/dnf/rpmdb_lock.pid", "var/cache/dnf/metadata_lock.pid"})
}

// needsRestartingCommand asks dnf-utils whether a reboot is needed: exit 1
// when it is, 0 when not.
func needsRestartingCommand() command {
	return command{Args: []string{"needs-restarting", "-r"}, Env: dnfEnv()}
}

// RebootRequired runs needs-restarting -r on the running system when it is
// installed. Otherwise (and always in another root, where the running
// system says nothing about the root) it compares the newest installed
// kernel with the running one.
func (e *dnfExecutor) RebootRequired(ctx context.Context) (bool, string, error) {
	if !e.opts.inRoot() {
		if _, err := e.lookPath("needs-restarting"); err == nil {
			c := needsRestartingCommand()
			out, code, err := e.begin().capture(ctx, c)
			if err != nil {
				return false, "", fmt.Errorf("reboot required: %w", err)
			}
			switch code {
			case 0:
				return false, "", nil
			case 1:
				return true, "needs-restarting -r: " + ParseNeedsRestarting(out), nil
			}
			return false, "", fmt.Errorf("reboot required: %w", exitError(c, code, out))
		}
	}
	ps, err := e.Installed(ctx)
	if err != nil {
		return false, "", fmt.Errorf("reboot required: %w", err)
	}
	running, err := e.kernelRelease()
	if err != nil {
		return false, "", fmt.Errorf("reboot required: %w", err)
	}
	return NewerKernel(ps, running)
}

// kernelPackage matches the names of the packages that hold a kernel on
// RHEL-likes, Fedora and Oracle Linux.
var kernelPackage = regexp.MustCompile(`^kernel(-(rt|uek|64k|lt|ml|debug))?(-core)?$`)

// kernelArch is the architecture suffix of a kernel release, with the
// flavour that may follow it ("5.14.0-427.el9.x86_64+debug").
var kernelArch = regexp.MustCompile(`\.(x86_64|aarch64|ppc64le|s390x|i686|armv7hl|noarch)(\+\w+)?$`)

// NewerKernel reports whether a kernel package newer than the running
// kernel (uname -r, as "5.14.0-427.13.1.el9_4.x86_64") is installed, and
// says which. Without any kernel package it reports false.
func NewerKernel(installed []patchwave.Package, running string) (bool, string, error) {
	run := kernelArch.ReplaceAllString(strings.TrimSpace(running), "")
	if run == "" {
		return false, "", errors.New("reboot required: empty running kernel release")
	}
	var newest patchwave.Package
	for _, p := range installed {
		if kernelPackage.MatchString(p.Name) && (newest.Name == "" || version.CompareRPM(p.Version, newest.Version) > 0) {
			newest = p
		}
	}
	if newest.Name == "" {
		return false, "", nil
	}
	// Kernel packages carry no epoch in uname -r.
	v := newest.Version
	if _, rest, ok := strings.Cut(v, ":"); ok {
		v = rest
	}
	if version.CompareRPM(v, run) > 0 {
		return true, fmt.Sprintf("%s %s is installed but kernel %s is running", newest.Name, newest.Version, strings.TrimSpace(running)), nil
	}
	return false, "", nil
}

// ParseNeedsRestarting summarises the output of needs-restarting -r: the
// packages it lists ("  * kernel") or, without a list, its first line.
func ParseNeedsRestarting(b []byte) string {
	var pkgs []string
	first := ""
	for line := range strings.Lines(string(b)) {
		s := strings.TrimSpace(line)
		if name, ok := strings.CutPrefix(s, "* "); ok {
			if name = strings.TrimSpace(name); name != "" && !slices.Contains(pkgs, name) {
				pkgs = append(pkgs, name)
			}
			continue
		}
		if first == "" && s != "" {
			first = s
		}
	}
	if len(pkgs) > 0 {
		return "updated since boot: " + strings.Join(pkgs, ", ")
	}
	if len(first) > 200 {
		first = first[:200] + "…"
	}
	if first == "" {
		return "reboot required"
	}
	return first
}

// ParseRepoquery parses dnf repoquery output in DnfQueryFormat. Version is
// [epoch:]version-release, with the epoch only when it is not zero; the
// repository id goes to Source (it is the index the package comes from).
// Installed packages (@System) and malformed lines, such as warnings, are
// skipped.
func ParseRepoquery(b []byte) []patchwave.Package {
	var out []patchwave.Package
	for line := range strings.Lines(string(b)) {
		f := strings.Split(strings.TrimRight(line, "\r\n"), "\t")
		if len(f) != 6 {
			continue
		}
		name, epoch, ver, rel, arch, repo := f[0], f[1], f[2], f[3], f[4], f[5]
		if name == "" || ver == "" || strings.HasPrefix(repo, "@") {
			continue
		}
		e, err := strconv.ParseUint(cmpOrStr(epoch, "0"), 10, 32)
		if err != nil {
			continue
		}
		v := ver
		if rel != "" {
			v += "-" + rel
		}
		if e != 0 {
			v = strconv.FormatUint(e, 10) + ":" + v
		}
		out = append(out, patchwave.Package{Name: name, Version: v, Arch: arch, Source: repo})
	}
	return out
}

func cmpOrStr(s, def string) string {
	if s == "" || s == "(none)" {
		return def
	}
	return s
}
