// Package pkgmgr reads and changes the packages installed on a host,
// through its package manager: dpkg/apt, rpm/dnf/zypper or apk. Everything
// takes a root directory, "/" for the running system, so that tests and
// offline assessment run the same code on a directory tree.
package pkgmgr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/patchwave/patchwave"
)

// The inventory formats Installed reports.
const (
	FormatDpkg = "dpkg"
	FormatRPM  = "rpm"
	FormatApk  = "apk"
)

// Where each package database lives, relative to the root, in the order
// Installed looks for them.
var (
	dpkgStatusPaths   = []string{"var/lib/dpkg/status"}
	apkInstalledPaths = []string{"lib/apk/db/installed", "usr/lib/apk/db/installed"}
)

// Installed lists the packages installed under root, sorted with
// patchwave.SortPackages, and names the database it read: FormatDpkg
// (root/var/lib/dpkg/status), FormatApk (root/lib/apk/db/installed) or
// FormatRPM (an rpm database in root/usr/lib/sysimage/rpm or
// root/var/lib/rpm, read with the rpm command). The first database found in
// that order wins. A root with none of them has no packages and format "".
func Installed(ctx context.Context, root string) ([]patchwave.Package, string, error) {
	return installed(ctx, root, runRPMCommand)
}

// rpmRunner runs a command and returns its standard output.
type rpmRunner = func(ctx context.Context, name string, args ...string) ([]byte, error)

func installed(ctx context.Context, root string, run rpmRunner) ([]patchwave.Package, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	for _, db := range []struct {
		format string
		paths  []string
		parse  func(io.Reader) ([]patchwave.Package, error)
	}{
		{FormatDpkg, dpkgStatusPaths, ParseDpkgStatus},
		{FormatApk, apkInstalledPaths, ParseApkInstalled},
	} {
		path, err := findFile(root, db.paths)
		if err != nil {
			return nil, db.format, err
		}
		if path != "" {
			ps, err := readInventory(path, db.parse)
			return ps, db.format, err
		}
	}
	if rpmDBPath(root) != "" {
		ps, err := RPMInstalled(ctx, root, run)
		return ps, FormatRPM, err
	}
	return nil, "", nil
}

// findFile returns the first of names (relative to root) that exists, ""
// when none exists, or an error when one exists but is not a regular file
// or cannot be examined.
func findFile(root string, names []string) (string, error) {
	for _, name := range names {
		p := filepath.Join(root, filepath.FromSlash(name))
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		if !fi.Mode().IsRegular() {
			return "", fmt.Errorf("%s is not a regular file", p)
		}
		return p, nil
	}
	return "", nil
}

// readInventory parses the package database file at path and sorts the
// packages.
func readInventory(path string, parse func(io.Reader) ([]patchwave.Package, error)) ([]patchwave.Package, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ps, err := parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return patchwave.SortPackages(ps), nil
}
