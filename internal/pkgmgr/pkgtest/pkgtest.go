// Package pkgtest builds tiny real packages, local repositories and empty
// package-manager roots for tests that run the real apt/dpkg and dnf/rpm
// inside a directory, never on the machine's own packages.
//
// Packages and repositories are built once and kept in a cache directory
// keyed by their content ($PATCHWAVE_TEST_CACHE, else
// os.UserCacheDir()/patchwave-test), so repeated runs are fast; roots are
// made per test in t.TempDir() and take milliseconds:
//
//	root := pkgtest.AptRoot(t, pkgtest.DemoDebs("1.0", "1.1", "1.2")...)
//	pkgtest.InstallInitial(t, root, "demo=1.0")
//	ex, err := pkgmgr.New(pkgmgr.Options{Root: root})
//	// ex.Refresh, then ex.Install(ctx, []pkgmgr.Target{{Name: "demo", Version: "1.1"}}, false)
//
// The helpers skip the calling test, naming the missing tool, when the
// tools are not installed or the test does not run as root (dpkg and rpm
// change a root only with superuser privileges).
package pkgtest

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// formatVersion is part of every cache key: bump it when the way packages
// or repositories are built changes.
const formatVersion = "pkgtest-1"

// CacheDir returns the directory that holds built packages and
// repositories: $PATCHWAVE_TEST_CACHE, else os.UserCacheDir()/patchwave-test,
// else a directory of the test's own.
func CacheDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("PATCHWAVE_TEST_CACHE")
	if dir == "" {
		if d, err := os.UserCacheDir(); err == nil {
			dir = filepath.Join(d, "patchwave-test")
		}
	}
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("pkgtest: cache directory: %v", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatalf("pkgtest: cache directory: %v", err)
	}
	return abs
}

// require skips the test unless it runs as root with every tool installed.
// tools maps a command to the Debian package that provides it.
func require(t testing.TB, tools [][2]string) {
	t.Helper()
	var missing []string
	for _, tool := range tools {
		if _, err := exec.LookPath(tool[0]); err != nil {
			missing = append(missing, fmt.Sprintf("%s (Debian package %s)", tool[0], tool[1]))
		}
	}
	if len(missing) > 0 {
		MissingTool(t, "pkgtest: not installed: %s", strings.Join(missing, ", "))
	}
	if os.Geteuid() != 0 {
		t.Skipf("pkgtest: %s change a root only as the superuser; run the test as root", tools[0][0])
	}
}

// MissingTool skips the test for want of a tool, or fails it when
// PATCHWAVE_TEST_REQUIRE_TOOLS is set: where every tool is meant to be
// installed, a skip would hide that the test did not run.
func MissingTool(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("PATCHWAVE_TEST_REQUIRE_TOOLS") != "" {
		t.Fatalf(format+" (PATCHWAVE_TEST_REQUIRE_TOOLS is set)", args...)
	}
	t.Skipf(format, args...)
}

// key hashes a value into a cache key.
func key(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	h := sha256.Sum256(append([]byte(formatVersion+"\n"), b...))
	return hex.EncodeToString(h[:12])
}

// cached returns cache/kind/key, building it with build(dir) into a
// temporary directory first when it is missing. Concurrent builders (tests
// of several packages run in parallel) each build; the first rename wins.
func cached(t testing.TB, kind, k string, build func(dir string) error) string {
	t.Helper()
	final := filepath.Join(CacheDir(t), kind, k)
	if _, err := os.Stat(filepath.Join(final, ".done")); err == nil {
		return final
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		t.Fatalf("pkgtest: %v", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(final), "."+k+".tmp-")
	if err != nil {
		t.Fatalf("pkgtest: %v", err)
	}
	defer os.RemoveAll(tmp)
	if err := build(tmp); err != nil {
		t.Fatalf("pkgtest: build %s %s: %v", kind, k, err)
	}
	if err := os.WriteFile(filepath.Join(tmp, ".done"), nil, 0o644); err != nil {
		t.Fatalf("pkgtest: %v", err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		t.Fatalf("pkgtest: %v", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		if _, err2 := os.Stat(filepath.Join(final, ".done")); err2 != nil {
			// A half-built leftover from a killed run: replace it.
			os.RemoveAll(final)
			if err := os.Rename(tmp, final); err != nil {
				t.Fatalf("pkgtest: %v", err)
			}
		}
	}
	return final
}

// run runs a command and fails with its output when it fails.
func run(dir string, env []string, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "LC_ALL=C"), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

// writeFiles writes a payload under dir; paths are relative to the root,
// slash-separated, without spaces.
func writeFiles(dir string, files map[string]string) error {
	for p, content := range files {
		clean := filepath.Clean("/" + p)
		if clean == "/" || strings.ContainsAny(clean, " \t\n\"'%") {
			return fmt.Errorf("payload path %q: want a file path without spaces, quotes or %%", p)
		}
		full := filepath.Join(dir, clean)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, filepath.Clean("/"+k))
	}
	slices.Sort(ks)
	return ks
}

// indexFile lists a repository's packages for InstallInitial: one line per
// package, "name<TAB>version<TAB>file".
const indexFile = "pkgtest-index.tsv"

type indexEntry struct{ name, version, file string }

func writeIndex(dir string, es []indexEntry) error {
	var b strings.Builder
	for _, e := range es {
		fmt.Fprintf(&b, "%s\t%s\t%s\n", e.name, e.version, e.file)
	}
	return os.WriteFile(filepath.Join(dir, indexFile), []byte(b.String()), 0o644)
}

func readIndex(dir string) ([]indexEntry, error) {
	b, err := os.ReadFile(filepath.Join(dir, indexFile))
	if err != nil {
		return nil, err
	}
	var es []indexEntry
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) == 3 {
			es = append(es, indexEntry{f[0], f[1], f[2]})
		}
	}
	return es, sc.Err()
}

// copyFile links or copies src to dst.
func copyFile(src, dst string) error {
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}

// InstallInitial installs packages of the root's repository directly with
// dpkg or rpm (not through the code under test), so that a test starts
// from a known state. Each spec is "name=version", the version as the
// package manager shows it (with the epoch where there is one:
// "demo=1:0.9-1"). The root is one that AptRoot or DnfRoot made.
func InstallInitial(t testing.TB, root string, specs ...string) {
	t.Helper()
	kind, repo, err := rootRepo(root)
	if err != nil {
		t.Fatalf("pkgtest: InstallInitial: %v", err)
	}
	index, err := readIndex(repo)
	if err != nil {
		t.Fatalf("pkgtest: InstallInitial: repository of %s: %v", root, err)
	}
	var files []string
	for _, spec := range specs {
		name, ver, ok := strings.Cut(spec, "=")
		if !ok {
			t.Fatalf("pkgtest: InstallInitial: %q is not name=version", spec)
		}
		i := slices.IndexFunc(index, func(e indexEntry) bool { return e.name == name && e.version == ver })
		if i < 0 {
			var have []string
			for _, e := range index {
				have = append(have, e.name+"="+e.version)
			}
			t.Fatalf("pkgtest: InstallInitial: %s is not in the repository (it has %s)", spec, strings.Join(have, ", "))
		}
		files = append(files, filepath.Join(repo, index[i].file))
	}
	switch kind {
	case "apt":
		args := append([]string{"--root=" + root, "--log=" + root + "/var/log/dpkg.log",
			"--force-confdef", "--force-confold", "-i"}, files...)
		err = run("", []string{"DEBIAN_FRONTEND=noninteractive"}, "dpkg", args...)
	case "dnf":
		args := append([]string{"--root", root, "--dbpath", "/var/lib/rpm", "-i"}, files...)
		err = run("", nil, "rpm", args...)
	}
	if err != nil {
		t.Fatalf("pkgtest: InstallInitial: %v", err)
	}
}

// rootRepo finds the local repository a root made by AptRoot or DnfRoot
// points at.
func rootRepo(root string) (kind, repo string, err error) {
	if b, err := os.ReadFile(filepath.Join(root, aptSourcesFile)); err == nil {
		for f := range strings.FieldsSeq(string(b)) {
			if p, ok := strings.CutPrefix(f, "file:"); ok {
				return "apt", p, nil
			}
		}
		return "", "", fmt.Errorf("%s has no file: repository", filepath.Join(root, aptSourcesFile))
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", "", err
	}
	b, err := os.ReadFile(filepath.Join(root, dnfRepoFile))
	if err != nil {
		return "", "", fmt.Errorf("%s was not made by pkgtest.AptRoot or DnfRoot: %w", root, err)
	}
	for line := range strings.Lines(string(b)) {
		if p, ok := strings.CutPrefix(strings.TrimSpace(line), "baseurl=file://"); ok {
			return "dnf", p, nil
		}
	}
	return "", "", fmt.Errorf("%s has no file:// baseurl", filepath.Join(root, dnfRepoFile))
}

// ReadFile returns the content of a file in a root, "" when it is missing:
// a short way to check a package's payload.
func ReadFile(t testing.TB, root, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, filepath.Clean("/"+path)))
	if errors.Is(err, fs.ErrNotExist) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// RequireReboot makes the root's package manager report a pending
// reboot, as Debian packages do (var/run/reboot-required and its .pkgs
// list). It is for apt roots; dnf roots report one when a kernel package
// newer than the running kernel is installed.
func RequireReboot(t testing.TB, root string, pkgs ...string) {
	t.Helper()
	dir := filepath.Join(root, "var/run")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "reboot-required"), []byte("*** System restart required ***\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if len(pkgs) > 0 {
		if err := os.WriteFile(filepath.Join(dir, "reboot-required.pkgs"), []byte(strings.Join(pkgs, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
