package pkgmgr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/patchwave/patchwave"
)

// RPMQueryFormat is the --queryformat that ParseRPMQuery reads: one line
// per package with six tab-separated fields.
const RPMQueryFormat = `%{NAME}\t%{EPOCHNUM}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\t%{SOURCERPM}\n`

// rpmTimeout bounds one run of the rpm command by RPMInstalled's default
// runner.
const rpmTimeout = 2 * time.Minute

// rpmDBPaths are where distributions keep the rpm database, relative to the
// root: /usr/lib/sysimage/rpm on Fedora 36+, openSUSE and RHEL 10,
// /var/lib/rpm before that (often a symbolic link to the other).
var rpmDBPaths = []string{"/usr/lib/sysimage/rpm", "/var/lib/rpm"}

// rpmDBFiles are the files of the rpm database back-ends: sqlite (rpm ≥
// 4.16), ndb (SUSE) and Berkeley DB (older releases).
var rpmDBFiles = []string{"rpmdb.sqlite", "Packages.db", "Packages"}

// rpmDBPath returns the database directory under root (as an absolute path
// inside root, for rpm --dbpath), or "" when root has no rpm database. A
// directory counts only if it holds database files, so the empty
// /var/lib/rpm that Debian's rpm package creates is no database. A real
// directory is preferred to a symbolic link, which may point outside root.
func rpmDBPath(root string) string {
	for _, followLinks := range []bool{false, true} {
		for _, p := range rpmDBPaths {
			dir := filepath.Join(root, filepath.FromSlash(p))
			if fi, err := os.Lstat(dir); err != nil || (!fi.IsDir() && !followLinks) {
				continue
			}
			for _, f := range rpmDBFiles {
				if fi, err := os.Stat(filepath.Join(dir, f)); err == nil && fi.Mode().IsRegular() {
					return p
				}
			}
		}
	}
	return ""
}

// RPMInstalled lists the packages in the rpm database under root, sorted
// with patchwave.SortPackages, by running
//
//	rpm --root ROOT --dbpath DBPATH -qa --queryformat RPMQueryFormat
//
// through run (nil means exec with a two-minute timeout). DBPATH is the
// directory that holds the database, so that a root is read correctly even
// on a machine whose own rpm looks elsewhere by default (Debian's looks in
// ~/.rpmdb). When the rpm command is missing, the error says so.
func RPMInstalled(ctx context.Context, root string, run func(ctx context.Context, name string, args ...string) ([]byte, error)) ([]patchwave.Package, error) {
	if run == nil {
		run = runRPMCommand
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("rpm inventory: %w", err)
	}
	args := []string{"--root", abs}
	if db := rpmDBPath(abs); db != "" {
		args = append(args, "--dbpath", db)
	}
	args = append(args, "-qa", "--queryformat", RPMQueryFormat)
	out, err := run(ctx, "rpm", args...)
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("rpm inventory of %s: found an rpm database but the rpm command is not installed: %w", abs, err)
	}
	if err != nil {
		return nil, fmt.Errorf("rpm inventory of %s: %w", abs, err)
	}
	ps, err := ParseRPMQuery(out)
	if err != nil {
		return nil, fmt.Errorf("rpm inventory of %s: %w", abs, err)
	}
	return patchwave.SortPackages(ps), nil
}

// runRPMCommand runs a command with a timeout and returns its standard
// output; on failure the error includes the start of its standard error.
func runRPMCommand(ctx context.Context, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, rpmTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 500 {
			msg = msg[:500] + "…"
		}
		if msg != "" {
			return nil, fmt.Errorf("%s: %w: %s", name, err, msg)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// ParseRPMQuery parses the output of rpm -qa --queryformat RPMQueryFormat.
// Version is [epoch:]version-release, with the epoch only when it is not
// zero. Source is the name of the source rpm (util-linux for
// util-linux-2.37.4-18.el9.src.rpm) and SourceVersion its version-release
// (the file name carries no epoch). The gpg-pubkey entries that stand for
// imported signing keys are skipped, and an architecture of "(none)" is
// left empty. A malformed line is an error that names it.
func ParseRPMQuery(b []byte) ([]patchwave.Package, error) {
	var out []patchwave.Package
	for n := 1; len(b) > 0; n++ {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte{'\n'})
		if isBlank(line) {
			continue
		}
		p, err := parseRPMLine(string(line))
		if err != nil {
			return nil, fmt.Errorf("parse rpm query line %d: %w", n, err)
		}
		if p.Name == "gpg-pubkey" {
			continue
		}
		if len(out) >= patchwave.MaxPackages {
			return nil, fmt.Errorf("parse rpm query line %d: more than %d installed packages", n, patchwave.MaxPackages)
		}
		out = append(out, p)
	}
	return out, nil
}

func parseRPMLine(line string) (patchwave.Package, error) {
	f := strings.Split(strings.TrimSuffix(line, "\r"), "\t")
	if len(f) != 6 {
		return patchwave.Package{}, fmt.Errorf("%d tab-separated fields, want 6 (name, epoch, version, release, arch, source rpm)", len(f))
	}
	name, epoch, version, release, arch, srpm := f[0], f[1], f[2], f[3], f[4], f[5]
	if name == "" || version == "" {
		return patchwave.Package{}, fmt.Errorf("package %.64q with version %.64q: name and version are required", name, version)
	}
	if name == "gpg-pubkey" {
		return patchwave.Package{Name: name}, nil
	}
	if epoch == "(none)" || epoch == "" {
		epoch = "0"
	}
	if e, err := strconv.ParseUint(epoch, 10, 32); err != nil {
		return patchwave.Package{}, fmt.Errorf("package %.64q: epoch %.20q is not a number", name, epoch)
	} else if e != 0 {
		version = strconv.FormatUint(e, 10) + ":" + version
	}
	if release != "" && release != "(none)" {
		version += "-" + release
	}
	p := patchwave.Package{Name: name, Version: version}
	if arch != "(none)" {
		p.Arch = arch
	}
	if srpm != "" && srpm != "(none)" {
		var ok bool
		if p.Source, p.SourceVersion, ok = parseSourceRPM(srpm); !ok {
			return patchwave.Package{}, fmt.Errorf("package %.64q: source rpm %.80q is not NAME-VERSION-RELEASE.src.rpm", name, srpm)
		}
	}
	return p, nil
}

// parseSourceRPM splits a source rpm file name, NAME-VERSION-RELEASE.src.rpm
// (or .nosrc.rpm), into its name and VERSION-RELEASE.
func parseSourceRPM(s string) (name, versionRelease string, ok bool) {
	base, ok := strings.CutSuffix(s, ".src.rpm")
	if !ok {
		if base, ok = strings.CutSuffix(s, ".nosrc.rpm"); !ok {
			return "", "", false
		}
	}
	i := strings.LastIndexByte(base, '-')
	if i <= 0 || i == len(base)-1 {
		return "", "", false
	}
	j := strings.LastIndexByte(base[:i], '-')
	if j <= 0 || j == i-1 {
		return "", "", false
	}
	return base[:j], base[j+1:], true
}
