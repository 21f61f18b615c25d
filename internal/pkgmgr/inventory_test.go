package pkgmgr

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/patchwave/patchwave"
)

// writeFiles creates files (path → contents) under dir; a path ending in
// "/" is created as an empty directory.
func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// addSeeds adds every test data file in dir, other than READMEs, to the
// fuzz corpus.
func addSeeds(f *testing.F, dir string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range ents {
		if e.IsDir() || strings.HasPrefix(e.Name(), "README") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func readFile(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestInstalled(t *testing.T) {
	noRPM := func(ctx context.Context, name string, args ...string) ([]byte, error) {
		return nil, errors.New("rpm must not run")
	}
	fakeRPM := func(ctx context.Context, name string, args ...string) ([]byte, error) {
		return []byte("zlib\t0\t1.2.11\t40.el9\tx86_64\tzlib-1.2.11-40.el9.src.rpm\nbash\t0\t5.1.8\t9.el9\tx86_64\tbash-5.1.8-9.el9.src.rpm\n"), nil
	}
	tests := []struct {
		name       string
		files      map[string]string
		run        func(ctx context.Context, name string, args ...string) ([]byte, error)
		wantFormat string
		wantNames  []string // sorted
		err        string
	}{
		{name: "empty root", run: noRPM},
		{name: "dpkg", files: map[string]string{"var/lib/dpkg/status": readFile(t, "testdata/dpkg/status")}, run: noRPM,
			wantFormat: FormatDpkg, wantNames: []string{"adduser", "bash", "bsdutils", "libc6", "libc6", "libssl3"}},
		{name: "dpkg with no packages", files: map[string]string{"var/lib/dpkg/status": ""}, run: noRPM, wantFormat: FormatDpkg},
		{name: "apk", files: map[string]string{"lib/apk/db/installed": "P:zlib\nV:1.3.1-r0\n\nP:musl\nV:1.2.4-r2\n"}, run: noRPM,
			wantFormat: FormatApk, wantNames: []string{"musl", "zlib"}},
		{name: "apk under usr", files: map[string]string{"usr/lib/apk/db/installed": "P:zlib\nV:1.3.1-r0\n"}, run: noRPM,
			wantFormat: FormatApk, wantNames: []string{"zlib"}},
		{name: "rpm", files: map[string]string{"var/lib/rpm/rpmdb.sqlite": ""}, run: fakeRPM,
			wantFormat: FormatRPM, wantNames: []string{"bash", "zlib"}},
		{name: "empty rpm directory is no database", files: map[string]string{"var/lib/rpm/": ""}, run: noRPM},
		{name: "dpkg wins", files: map[string]string{"var/lib/dpkg/status": "Package: a\nStatus: install ok installed\nVersion: 1\n",
			"lib/apk/db/installed": "P:b\nV:1\n", "var/lib/rpm/Packages": ""}, run: noRPM,
			wantFormat: FormatDpkg, wantNames: []string{"a"}},
		{name: "status is a directory", files: map[string]string{"var/lib/dpkg/status/": ""}, run: noRPM,
			wantFormat: FormatDpkg, err: "not a regular file"},
		{name: "malformed dpkg", files: map[string]string{"var/lib/dpkg/status": "Package: a\nDescription: x\n continued\n oops\nno colon\n"}, run: noRPM,
			wantFormat: FormatDpkg, err: "var/lib/dpkg/status: parse dpkg status line 5: no colon"},
		{name: "malformed apk", files: map[string]string{"lib/apk/db/installed": "P:a\n"}, run: noRPM,
			wantFormat: FormatApk, err: "has no version"},
		{name: "rpm fails", files: map[string]string{"var/lib/rpm/rpmdb.sqlite": ""},
			run: func(ctx context.Context, name string, args ...string) ([]byte, error) {
				return nil, errors.New("rpm: exit status 1: error: db5 error")
			},
			wantFormat: FormatRPM, err: "db5 error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeFiles(t, root, tt.files)
			ps, format, err := installed(context.Background(), root, tt.run)
			if format != tt.wantFormat {
				t.Errorf("format = %q, want %q", format, tt.wantFormat)
			}
			if tt.err != "" {
				if err == nil || !strings.Contains(filepath.ToSlash(err.Error()), tt.err) {
					t.Fatalf("error = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, p := range ps {
				names = append(names, p.Name)
			}
			if !slices.Equal(names, tt.wantNames) {
				t.Errorf("packages %q, want %q", names, tt.wantNames)
			}
			if !slices.IsSortedFunc(ps, patchwave.Package.Compare) {
				t.Errorf("not sorted: %v", ps)
			}
		})
	}
}

func TestInstalledRPMCommandMissing(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"usr/lib/sysimage/rpm/rpmdb.sqlite": ""})
	t.Setenv("PATH", t.TempDir())
	_, format, err := Installed(context.Background(), root)
	if format != FormatRPM || err == nil || !strings.Contains(err.Error(), "the rpm command is not installed") {
		t.Fatalf("format %q, error %v; want rpm and a missing-command error", format, err)
	}
}

func TestInstalledCancelled(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"var/lib/dpkg/status": ""})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := Installed(ctx, root); !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
}

// TestInstalledThisMachine takes the inventory of the machine running the
// test, whatever its package manager.
func TestInstalledThisMachine(t *testing.T) {
	ps, format, err := Installed(context.Background(), "/")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d packages", format, len(ps))
	if format != "" && len(ps) == 0 {
		t.Errorf("%s database without packages", format)
	}
	if err := patchwave.ValidatePackages(ps); err != nil {
		t.Error(err)
	}
}

// writeSyntheticDpkgStatus writes a dpkg status file of n installed
// packages shaped like Debian's: long dependency lines, conffiles and
// multi-line descriptions, some epochs, binNMUs and multiarch pairs, and a
// few packages that are removed but keep their configuration.
func writeSyntheticDpkgStatus(t testing.TB, root string, n int) {
	var b strings.Builder
	words := []string{"ssl", "xml", "curl", "python3", "perl", "gtk", "glib", "systemd", "x11", "pam"}
	for i := range n {
		w := words[i%len(words)]
		name := fmt.Sprintf("lib%s%d-%d", w, i/len(words), i%7)
		status, arch, version, source := "install ok installed", "amd64", fmt.Sprintf("%d.%d.%d-%d", i%9, i%13, i%31, 1+i%5), ""
		switch {
		case i%50 == 0:
			status = "deinstall ok config-files"
		case i%40 == 0:
			arch = "i386"
		case i%17 == 0:
			version = "1:" + version
			source = fmt.Sprintf("Source: %s-src (%s)\n", w, strings.TrimPrefix(version, "1:"))
		case i%11 == 0:
			source = fmt.Sprintf("Source: %s-src (%s)\n", w, version)
			version += "+b1"
		case i%3 == 0:
			source = fmt.Sprintf("Source: %s-src\n", w)
		}
		fmt.Fprintf(&b, "Package: %s\nStatus: %s\nPriority: optional\nSection: libs\nInstalled-Size: %d\n", name, status, 100+i%9000)
		fmt.Fprintf(&b, "Maintainer: Debian %s Maintainers <pkg-%s@lists.alioth.debian.org>\nArchitecture: %s\nMulti-Arch: same\n", w, w, arch)
		fmt.Fprintf(&b, "%sVersion: %s\n", source, version)
		fmt.Fprintf(&b, "Depends: libc6 (>= 2.34), libgcc-s1 (>= 3.0), libstdc++6 (>= 12), zlib1g (>= 1:1.2.0), lib%s-common (= %s)\n", w, version)
		fmt.Fprintf(&b, "Breaks: lib%s-dev (<< 1.0~), lib%s-old (<< 2.0)\n", w, w)
		if i%4 == 0 {
			fmt.Fprintf(&b, "Conffiles:\n /etc/%s/%s.conf 0123456789abcdef0123456789abcdef\n /etc/%s/defaults d41d8cd98f00b204e9800998ecf8427e\n", w, name, w)
		}
		fmt.Fprintf(&b, "Description: %s library, part %d\n This package contains the shared library of %s, used by many programs\n on the system to do what %s does best.\n .\n It is a synthetic package written for a benchmark.\n", w, i, w, w)
		fmt.Fprintf(&b, "Homepage: https://%s.example.org/\n\n", w)
	}
	writeFiles(t, root, map[string]string{"var/lib/dpkg/status": b.String()})
}

func TestSyntheticDpkgStatus(t *testing.T) {
	root := t.TempDir()
	writeSyntheticDpkgStatus(t, root, 3000)
	ps, format, err := Installed(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	if format != FormatDpkg || len(ps) != 3000-60 {
		t.Errorf("format %q, %d packages; want dpkg, 2940", format, len(ps))
	}
	if err := patchwave.ValidatePackages(ps); err != nil {
		t.Error(err)
	}
}

// BenchmarkInventoryDpkg3000 takes the inventory of a root whose dpkg
// status file lists 3,000 packages: the agent does this on every check-in.
func BenchmarkInventoryDpkg3000(b *testing.B) {
	root := b.TempDir()
	writeSyntheticDpkgStatus(b, root, 3000)
	fi, err := os.Stat(filepath.Join(root, "var/lib/dpkg/status"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(fi.Size())
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Installed(ctx, root); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
}
