package pkgmgr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/version"
)

// aptExecutor runs apt-get and apt-cache (and through them dpkg).
//
// On the running system (Root "/") the commands are plain apt-get and
// apt-cache with the system's configuration, and locking as apt does it:
// DPkg::Lock::Timeout makes apt wait a bounded time for another process's
// dpkg lock.
//
// In another root, the commands carry the Dir options that point apt's
// state, cache, configuration and dpkg status into the root, and dpkg
// gets --root and --log there. APT_CONFIG names a file the executor keeps
// in the root (etc/apt/patchwave-root.conf) that sets Dir and reads no
// other configuration: neither the host's apt.conf.d, whose hooks (dpkg
// pre-configuration, cache cleaning, PackageKit) would act on the host, nor
// the root's, whose hooks would run host programs on host paths too.
// Downloads run as root (APT::Sandbox::User), because a root directory is
// often private to its owner and the _apt user could not write into it.
// Locking stays on: apt and dpkg lock the files inside the root.
type aptExecutor struct{ base }

func (e *aptExecutor) Kind() string { return "apt" }

// aptRootConfig is the APT_CONFIG file's path and content for a root.
func aptRootConfig(root string) (path, content string) {
	return filepath.Join(root, "etc/apt/patchwave-root.conf"),
		"// Written by patchwave: apt reads only this configuration for this root.\n" +
			"Dir " + strconv.Quote(root+"/") + ";\n" +
			"Dir::Etc::Parts \"/dev/null\";\n" +
			"Dir::Etc::Main \"/dev/null\";\n"
}

// prepare writes the root's APT_CONFIG file when it is missing or stale.
func (e *aptExecutor) prepare() error {
	if !e.opts.inRoot() {
		return nil
	}
	path, content := aptRootConfig(e.opts.Root)
	if b, err := os.ReadFile(path); err == nil && string(b) == content {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("apt configuration for %s: %w", e.opts.Root, err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		return fmt.Errorf("apt configuration for %s: %w", e.opts.Root, err)
	}
	return nil
}

// aptEnv is the environment of every apt command: no questions, no
// pagers, the C locale so that output parses, and APT_CONFIG in a root.
func aptEnv(o Options) []string {
	env := []string{"DEBIAN_FRONTEND=noninteractive", "APT_LISTCHANGES_FRONTEND=none", "UCF_FORCE_CONFFOLD=1", "LC_ALL=C"}
	if o.inRoot() {
		path, _ := aptRootConfig(o.Root)
		env = append(env, "APT_CONFIG="+path)
	}
	return env
}

// aptRootOptions are the options that point apt and dpkg into a root; none
// on the running system.
func aptRootOptions(o Options) []string {
	if !o.inRoot() {
		return nil
	}
	r := o.Root
	return []string{
		"-o", "Dir=" + r,
		"-o", "Dir::State::status=" + r + "/var/lib/dpkg/status",
		"-o", "Dir::Etc=" + r + "/etc/apt",
		"-o", "Dir::Cache=" + r + "/var/cache/apt",
		"-o", "DPkg::Options::=--root=" + r,
		"-o", "DPkg::Options::=--log=" + r + "/var/log/dpkg.log",
		"-o", "APT::Sandbox::User=root",
		"-o", "Acquire::Languages=none",
	}
}

// aptLockSeconds is Options.LockWait in whole seconds, at least 1.
func aptLockSeconds(o Options) int {
	return max(1, int((o.LockWait+999_999_999)/1_000_000_000))
}

// aptUpdateCommand is apt-get update, failing on any download error (old
// apt ignores the option and keeps its own rules).
func aptUpdateCommand(o Options) command {
	args := append([]string{"apt-get", "-q"}, aptRootOptions(o)...)
	args = append(args, "-o", "APT::Update::Error-Mode=any", "update")
	return command{Args: args, Env: aptEnv(o)}
}

// aptInstallCommand installs targets at exact versions: name=version, or
// name:arch=version when the target names an arch. Configuration files
// the administrator changed are kept (--force-confdef, --force-confold),
// recommended packages are not added, and downgrades pass only when
// allowed.
func aptInstallCommand(o Options, ts []Target, allowDowngrade bool) command {
	args := append([]string{"apt-get", "-q", "-y"}, aptRootOptions(o)...)
	args = append(args,
		"-o", "DPkg::Lock::Timeout="+strconv.Itoa(aptLockSeconds(o)),
		"-o", "DPkg::Options::=--force-confdef",
		"-o", "DPkg::Options::=--force-confold",
		"-o", "DPkg::Use-Pty=0",
		"install", "--no-install-recommends")
	if allowDowngrade {
		args = append(args, "--allow-downgrades")
	}
	for _, t := range ts {
		args = append(args, t.String())
	}
	return command{Args: args, Env: aptEnv(o)}
}

// aptMadisonCommand lists the versions the repositories have of packages.
func aptMadisonCommand(o Options, names []string) command {
	args := append([]string{"apt-cache"}, aptRootOptions(o)...)
	args = append(args, "madison")
	args = append(args, names...)
	return command{Args: args, Env: aptEnv(o)}
}

func (e *aptExecutor) Refresh(ctx context.Context) (Outcome, error) {
	op := e.begin()
	err := e.refresh(ctx, op)
	return op.finish(), err
}

func (e *aptExecutor) refresh(ctx context.Context, op *op) error {
	if err := e.prepare(); err != nil {
		return err
	}
	c := aptUpdateCommand(e.opts)
	out, code, err := op.capture(ctx, c)
	if err != nil {
		return fmt.Errorf("apt refresh: %w", err)
	}
	if code != 0 {
		return fmt.Errorf("apt refresh: %w", exitError(c, code, out))
	}
	return nil
}

func (e *aptExecutor) Installed(ctx context.Context) ([]patchwave.Package, error) {
	ps, _, err := Installed(ctx, e.opts.Root)
	return ps, err
}

func (e *aptExecutor) Available(ctx context.Context, t Target) (bool, error) {
	if err := checkTargets([]Target{t}); err != nil {
		return false, fmt.Errorf("apt available: %w", err)
	}
	missing, _, err := e.unavailable(ctx, e.begin(), []Target{t})
	if err != nil {
		return false, fmt.Errorf("apt available: %w", err)
	}
	return len(missing) == 0, nil
}

// unavailable returns the targets whose version no repository has, and
// what versions the repositories do have of each package.
func (e *aptExecutor) unavailable(ctx context.Context, op *op, ts []Target) ([]Target, map[string][]MadisonEntry, error) {
	if err := e.prepare(); err != nil {
		return nil, nil, err
	}
	var names []string
	for _, t := range ts {
		if !slices.Contains(names, t.Name) {
			names = append(names, t.Name)
		}
	}
	c := aptMadisonCommand(e.opts, names)
	out, code, err := op.capture(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	if code != 0 {
		return nil, nil, exitError(c, code, out)
	}
	byName := map[string][]MadisonEntry{}
	for _, m := range ParseMadison(out) {
		byName[m.Name] = append(byName[m.Name], m)
	}
	var missing []Target
	for _, t := range ts {
		if !slices.ContainsFunc(byName[t.Name], func(m MadisonEntry) bool {
			return version.CompareDpkg(m.Version, t.Version) == 0 && (t.Arch == "" || t.Arch == "all" || m.Arch == "" || m.Arch == t.Arch)
		}) {
			missing = append(missing, t)
		}
	}
	return missing, byName, nil
}

func (e *aptExecutor) Install(ctx context.Context, ts []Target, allowDowngrade bool) (Outcome, error) {
	op := e.begin()
	err := e.install(ctx, op, ts, allowDowngrade)
	if err != nil {
		err = fmt.Errorf("apt install: %w", err)
	}
	return op.finish(), err
}

func (e *aptExecutor) install(ctx context.Context, op *op, ts []Target, allowDowngrade bool) error {
	if err := checkTargets(ts); err != nil {
		return err
	}
	before, err := e.Installed(ctx)
	if err != nil {
		return err
	}
	up, down, err := plan(ts, versionsOf(before, version.CompareDpkg), version.CompareDpkg, allowDowngrade)
	if err != nil {
		return err
	}
	todo := append(up, down...)
	if len(todo) == 0 {
		return nil
	}
	missing, have, err := e.unavailable(ctx, op, todo)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		return unavailableError(missing, func(t Target) []string {
			var vs []string
			for _, m := range have[t.Name] {
				vs = append(vs, m.Version)
			}
			return vs
		})
	}
	c := aptInstallCommand(e.opts, todo, len(down) > 0)
	out, code, runErr := op.capture(ctx, c)
	after, err := e.Installed(ctx)
	if err != nil {
		return errors.Join(runErr, err)
	}
	op.oc.Changes = diff(before, after, version.CompareDpkg)
	if runErr != nil {
		return runErr
	}
	if code != 0 {
		err := exitError(c, code, out)
		if bytes.Contains(out, []byte("Could not get lock")) || bytes.Contains(out, []byte("Unable to acquire the dpkg frontend lock")) {
			err = fmt.Errorf("%w (waited %ds): %w", ErrLocked, aptLockSeconds(e.opts), err)
		}
		return err
	}
	if bad := mismatches(todo, after, version.CompareDpkg); len(bad) > 0 {
		return fmt.Errorf("%w: %s", ErrMismatch, strings.Join(bad, "; "))
	}
	return nil
}

// unavailableError names the targets that are not available and the
// versions that are.
func unavailableError(missing []Target, have func(Target) []string) error {
	var parts []string
	for _, t := range missing {
		vs := have(t)
		if len(vs) == 0 {
			parts = append(parts, fmt.Sprintf("%s (no version of %s is available)", t, t.Name))
		} else {
			parts = append(parts, fmt.Sprintf("%s (available: %s)", t, strings.Join(vs, ", ")))
		}
	}
	return fmt.Errorf("%w: %s", ErrUnavailable, strings.Join(parts, "; "))
}

// aptLocks are the files apt and dpkg lock, relative to the root.
var aptLocks = []string{"var/lib/dpkg/lock-frontend", "var/lib/dpkg/lock"}

func (e *aptExecutor) Locked(ctx context.Context) (bool, string, error) {
	return lockedBy(e.opts.Root, aptLocks, nil)
}

// lockedBy reports the first of the fcntl-locked files (and then of the
// pid files) under root that another process holds.
func lockedBy(root string, fcntlFiles, pidFiles []string) (bool, string, error) {
	for _, set := range []struct {
		files []string
		probe func(string) (bool, int, error)
	}{{fcntlFiles, fcntlHolder}, {pidFiles, pidFileHolder}} {
		for _, f := range set.files {
			path := filepath.Join(root, f)
			held, pid, err := set.probe(path)
			if err != nil {
				return false, "", fmt.Errorf("lock %s: %w", path, err)
			}
			if held {
				return true, path + " is locked by " + describeProcess(pid), nil
			}
		}
	}
	return false, "", nil
}

func describeProcess(pid int) string {
	if pid <= 0 {
		return "another process"
	}
	if name := processName(pid); name != "" {
		return fmt.Sprintf("process %d (%s)", pid, name)
	}
	return fmt.Sprintf("process %d", pid)
}

// The flag files that Debian and Ubuntu packages touch when a reboot is
// needed, relative to the root; /var/run is a link to /run on current
// systems.
var rebootFiles = []string{"run/reboot-required", "var/run/reboot-required"}

func (e *aptExecutor) RebootRequired(ctx context.Context) (bool, string, error) {
	if err := ctx.Err(); err != nil {
		return false, "", err
	}
	r, err := os.OpenRoot(e.opts.Root)
	if err != nil {
		return false, "", fmt.Errorf("reboot required: %w", err)
	}
	defer r.Close()
	for _, f := range rebootFiles {
		// os.Root keeps the lookup inside the root, also through links.
		// A missing file, or a link that leads out of the root, is no flag.
		if _, err := r.Stat(f); errors.Is(err, fs.ErrPermission) {
			return false, "", fmt.Errorf("reboot required: %w", err)
		} else if err != nil {
			continue
		}
		why := "/" + f + " exists"
		if b, err := r.ReadFile(f + ".pkgs"); err == nil {
			if pkgs := ParseRebootPkgs(b); len(pkgs) > 0 {
				why += "; packages: " + strings.Join(pkgs, ", ")
			}
		}
		return true, why, nil
	}
	return false, "", nil
}

// ParseRebootPkgs reads /var/run/reboot-required.pkgs: one package name a
// line, in the order the packages asked, each named once.
func ParseRebootPkgs(b []byte) []string {
	var out []string
	for line := range strings.Lines(string(b)) {
		name := strings.TrimSpace(line)
		if name != "" && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

// MadisonEntry is one line of apt-cache madison: a version of a package
// and the index that has it. Arch is the index's architecture when it
// names one ("bookworm/main amd64 Packages"), "" for a flat repository.
type MadisonEntry struct{ Name, Version, Arch, Source string }

// ParseMadison parses apt-cache madison output, lines of the form
//
//	demo |        1.1 | http://deb.debian.org/debian bookworm/main amd64 Packages
//
// keeping binary package indexes (Packages) and skipping source ones
// (Sources) and anything that is not such a line.
func ParseMadison(b []byte) []MadisonEntry {
	var out []MadisonEntry
	for line := range strings.Lines(string(b)) {
		f := strings.Split(line, "|")
		if len(f) != 3 {
			continue
		}
		name, ver, src := strings.TrimSpace(f[0]), strings.TrimSpace(f[1]), strings.TrimSpace(f[2])
		fields := strings.Fields(src)
		if name == "" || ver == "" || len(fields) < 2 || fields[len(fields)-1] != "Packages" {
			continue
		}
		m := MadisonEntry{Name: name, Version: ver, Source: src}
		if len(fields) >= 4 && !strings.Contains(fields[len(fields)-2], "/") {
			m.Arch = fields[len(fields)-2]
		}
		out = append(out, m)
	}
	return out
}
