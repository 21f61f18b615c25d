package osinfo

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/patchwave/patchwave"
)

// Limits on what Collect reads and waits for.
const (
	maxFileBytes   = 1 << 20 // os-release, hostname, hosts and /proc files
	lookupTimeout  = 300 * time.Millisecond
	commandTimeout = 10 * time.Second
)

// env is what Collect needs from the world, as values so that tests can
// replace the parts that only exist on a live machine.
type env struct {
	root        string // read files under this directory
	live        bool   // root is the running system: ask the kernel and network too
	goarch      string
	hostname    func() (string, error)
	lookupCNAME func(ctx context.Context, host string) (string, error)
	interfaces  func() ([]patchwave.Interface, error)
	run         func(ctx context.Context, name string, args ...string) ([]byte, error)
}

// Collect gathers the facts of the system whose root directory is root.
//
// The operating system comes from root/etc/os-release (or
// root/usr/lib/os-release); a missing file leaves it empty, a malformed one
// is an error. When root is "/", the running system is asked too: host name,
// FQDN (from /etc/hosts, else a DNS lookup bounded to a fraction of a
// second), kernel release, architecture, uptime, network interfaces other
// than loopback, and running systemd services. Those facts are best effort:
// one that cannot be read is left empty. For any other root the host name
// comes from root/etc/hostname, the FQDN only from root/etc/hosts, the
// kernel from the newest directory in root/lib/modules or
// root/usr/lib/modules, and the facts of a running system are left empty.
func Collect(ctx context.Context, root string) (patchwave.Facts, error) {
	e := env{root: root}
	if filepath.Clean(root) == "/" {
		e = env{
			root:        "/",
			live:        true,
			goarch:      runtime.GOARCH,
			hostname:    os.Hostname,
			lookupCNAME: net.DefaultResolver.LookupCNAME,
			interfaces:  liveInterfaces,
			run:         runCommand,
		}
	}
	return e.collect(ctx)
}

func (e env) collect(ctx context.Context) (patchwave.Facts, error) {
	var f patchwave.Facts
	osr, err := e.readFirst("etc/os-release", "usr/lib/os-release")
	if err != nil {
		return patchwave.Facts{}, fmt.Errorf("collect facts: %w", err)
	}
	if f.OS, err = ParseOSRelease(osr); err != nil {
		return patchwave.Facts{}, fmt.Errorf("collect facts: %w", err)
	}
	f.Pro = Pro(e.root)

	if e.live {
		if f.Hostname, err = e.hostname(); err != nil {
			return patchwave.Facts{}, fmt.Errorf("collect facts: hostname: %w", err)
		}
	} else {
		b, err := e.readFirst("etc/hostname")
		if err != nil {
			return patchwave.Facts{}, fmt.Errorf("collect facts: %w", err)
		}
		f.Hostname = ParseHostname(b)
	}

	hosts, _ := e.readFirst("etc/hosts")
	f.FQDN = FQDNFromHosts(hosts, f.Hostname)
	if f.FQDN == "" && e.live {
		f.FQDN = e.lookupFQDN(ctx, f.Hostname)
	}

	if !e.live {
		f.Kernel = newestKernel(e.path("lib/modules"), e.path("usr/lib/modules"))
		return f, nil
	}
	if b, err := e.readFirst("proc/sys/kernel/osrelease"); err == nil {
		f.Kernel = strings.TrimSpace(string(b))
	}
	f.Arch = Machine(e.goarch)
	if b, err := e.readFirst("proc/uptime"); err == nil {
		f.UptimeSeconds, _ = ParseUptime(b)
	}
	if ifs, err := e.interfaces(); err == nil {
		f.Interfaces = ifs
	}
	if err := ctx.Err(); err != nil {
		return patchwave.Facts{}, fmt.Errorf("collect facts: %w", err)
	}
	if fi, err := os.Stat(e.path("run/systemd/system")); err == nil && fi.IsDir() {
		ctx, cancel := context.WithTimeout(ctx, commandTimeout)
		out, err := e.run(ctx, "systemctl", "list-units", "--type=service", "--state=running", "--no-legend", "--plain")
		cancel()
		if err == nil {
			f.Services = ParseSystemctlUnits(out)
		}
	}
	return f, nil
}

func (e env) path(name string) string { return filepath.Join(e.root, filepath.FromSlash(name)) }

// readFirst returns the contents of the first of names (relative to the
// root) that exists, at most maxFileBytes of it, or nil when none exists.
func (e env) readFirst(names ...string) ([]byte, error) {
	for _, name := range names {
		f, err := os.Open(e.path(name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(io.LimitReader(f, maxFileBytes))
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		return b, nil
	}
	return nil, nil
}

// lookupFQDN asks the resolver for the canonical name of host, giving up
// after lookupTimeout. It returns "" unless the answer is host's own name
// with a domain.
func (e env) lookupFQDN(ctx context.Context, host string) string {
	if host == "" || e.lookupCNAME == nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	name, err := e.lookupCNAME(ctx, host)
	if name = strings.TrimSuffix(name, "."); err != nil || !isFQDNOf(name, host) {
		return ""
	}
	return name
}

// ParseHostname returns the host name in an /etc/hostname file: the first
// line that is not blank or a comment, trimmed.
func ParseHostname(b []byte) string {
	for line := range strings.Lines(string(b)) {
		if s := strings.TrimSpace(line); s != "" && s[0] != '#' {
			return s
		}
	}
	return ""
}

// FQDNFromHosts finds the fully qualified name of host in an /etc/hosts
// file: a name on a line that mentions host whose first label is host and
// that has a domain. A host name that already has a dot is its own FQDN.
// It returns "" when there is none.
func FQDNFromHosts(hosts []byte, host string) string {
	if host == "" {
		return ""
	}
	if strings.Contains(host, ".") {
		return host
	}
	for line := range strings.Lines(string(hosts)) {
		line, _, _ = strings.Cut(line, "#")
		f := strings.Fields(line)
		if len(f) < 2 || !slices.Contains(f[1:], host) {
			continue
		}
		for _, name := range f[1:] {
			if isFQDNOf(name, host) {
				return name
			}
		}
	}
	return ""
}

func isFQDNOf(name, host string) bool {
	rest, ok := strings.CutPrefix(name, host+".")
	return ok && rest != "" && !strings.HasSuffix(rest, ".")
}

// ParseUptime returns the whole seconds since boot from /proc/uptime
// ("350735.47 234388.90").
func ParseUptime(b []byte) (int64, error) {
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, fmt.Errorf("parse uptime: empty")
	}
	secs, _, _ := strings.Cut(f[0], ".")
	n, err := strconv.ParseInt(secs, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("parse uptime %.40q: not a number of seconds", f[0])
	}
	return n, nil
}

// ParseSystemctlUnits returns the sorted service names, without the
// ".service" suffix, in the output of
//
//	systemctl list-units --type=service --state=running --no-legend --plain
//
// Lines that do not name a service unit (legends, hints) are skipped, as are
// units whose SUB state is present and not "running".
func ParseSystemctlUnits(b []byte) []string {
	var out []string
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) > 0 && (f[0] == "●" || f[0] == "*") { // failed-unit marker without --plain
			f = f[1:]
		}
		if len(f) == 0 {
			continue
		}
		name, ok := strings.CutSuffix(f[0], ".service")
		if !ok || name == "" {
			continue
		}
		if len(f) >= 4 && f[3] != "running" {
			continue
		}
		out = append(out, name)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// machines maps Go's GOARCH to the kernel's machine name (uname -m), which
// is also what rpm and apk call the architecture.
var machines = map[string]string{
	"amd64":    "x86_64",
	"386":      "i686",
	"arm64":    "aarch64",
	"arm":      "armv7l",
	"ppc64le":  "ppc64le",
	"ppc64":    "ppc64",
	"s390x":    "s390x",
	"riscv64":  "riscv64",
	"loong64":  "loongarch64",
	"mips64le": "mips64",
	"mips64":   "mips64",
	"mipsle":   "mips",
	"mips":     "mips",
}

// Machine returns the kernel's name (uname -m) for a Go architecture:
// "x86_64" for "amd64", "aarch64" for "arm64". Unknown names are returned
// as they are.
func Machine(goarch string) string {
	if m, ok := machines[goarch]; ok {
		return m
	}
	return goarch
}

// newestKernel returns the highest-versioned directory name found in the
// module directories dirs, or "".
func newestKernel(dirs ...string) string {
	var best string
	for _, dir := range dirs {
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, ent := range ents {
			if ent.IsDir() && (best == "" || compareNatural(ent.Name(), best) > 0) {
				best = ent.Name()
			}
		}
	}
	return best
}

// compareNatural compares strings with runs of digits compared as numbers,
// so that "6.10.0" sorts after "6.9.0".
func compareNatural(a, b string) int {
	for a != "" && b != "" {
		if isDigit(a[0]) && isDigit(b[0]) {
			da, db := digitRun(a), digitRun(b)
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if c := cmp.Or(cmp.Compare(len(na), len(nb)), strings.Compare(na, nb)); c != 0 {
				return c
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return cmp.Compare(a[0], b[0])
		}
		a, b = a[1:], b[1:]
	}
	return cmp.Compare(len(a), len(b))
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func digitRun(s string) int {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i
}

// liveInterfaces lists the machine's network interfaces other than
// loopback, sorted by name, with addresses in CIDR notation (sorted), and
// at most patchwave.MaxInterfaces of them.
func liveInterfaces() ([]patchwave.Interface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	var out []patchwave.Interface
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		i := patchwave.Interface{Name: ifc.Name, MAC: ifc.HardwareAddr.String()}
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				i.IPs = append(i.IPs, n.String())
			}
		}
		slices.Sort(i.IPs)
		out = append(out, i)
	}
	slices.SortFunc(out, func(a, b patchwave.Interface) int { return strings.Compare(a.Name, b.Name) })
	if len(out) > patchwave.MaxInterfaces {
		out = out[:patchwave.MaxInterfaces]
	}
	return out, nil
}

// runCommand runs a command and returns its standard output; on failure
// the error includes the start of its standard error.
func runCommand(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C", "SYSTEMD_PAGER=", "SYSTEMD_COLORS=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 200 {
			msg = msg[:200]
		}
		return nil, fmt.Errorf("%s: %w: %s", name, err, msg)
	}
	return out, nil
}
