package pkgmgr

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/patchwave/patchwave"
)

func TestParseDpkgStatusTestdata(t *testing.T) {
	f, err := os.Open("testdata/dpkg/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := ParseDpkgStatus(f)
	if err != nil {
		t.Fatal(err)
	}
	want := []patchwave.Package{
		{Name: "bsdutils", Version: "1:2.38.1-5+deb12u3", Arch: "amd64", Source: "util-linux", SourceVersion: "2.38.1-5+deb12u3"},
		{Name: "libc6", Version: "2.36-9+deb12u9", Arch: "amd64", Source: "glibc"},
		{Name: "libc6", Version: "2.36-9+deb12u9", Arch: "i386", Source: "glibc"},
		{Name: "bash", Version: "5.2.15-2+b7", Arch: "amd64", Source: "bash", SourceVersion: "5.2.15-2"},
		{Name: "adduser", Version: "3.134", Arch: "all"},
		{Name: "libssl3", Version: "3.0.15-1~deb12u1", Arch: "amd64", Source: "openssl"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%v\nwant\n%v", got, want)
	}
	if err := patchwave.ValidatePackages(got); err != nil {
		t.Error(err)
	}
}

func TestParseDpkgStatusCases(t *testing.T) {
	const inst = "Status: install ok installed\n"
	tests := []struct {
		name, in string
		want     []patchwave.Package
		err      string // substring of the error, "" for none
	}{
		{name: "empty", in: ""},
		{name: "only blank lines", in: "\n \n\t\n"},
		{name: "no final newline", in: "Package: a\n" + inst + "Version: 1",
			want: []patchwave.Package{{Name: "a", Version: "1"}}},
		{name: "several blank lines and CRLF", in: "\n\nPackage: a\r\n" + inst + "Version: 1\r\n\r\n\r\n\nPackage: b\n" + inst + "Version: 2\n",
			want: []patchwave.Package{{Name: "a", Version: "1"}, {Name: "b", Version: "2"}}},
		{name: "whitespace-only separator", in: "Package: a\n" + inst + "Version: 1\n   \nPackage: b\n" + inst + "Version: 2\n",
			want: []patchwave.Package{{Name: "a", Version: "1"}, {Name: "b", Version: "2"}}},
		{name: "field names ignore case, values are trimmed", in: "package:  a \nSTATUS: install  ok  installed\nversion:\t1:1.0-1 \nsource: a-src ( 1.0-1 )\n",
			want: []patchwave.Package{{Name: "a", Version: "1:1.0-1", Source: "a-src", SourceVersion: "1.0-1"}}},
		{name: "field without space after colon", in: "Package:a\n" + inst + "Version:1\n",
			want: []patchwave.Package{{Name: "a", Version: "1"}}},
		{name: "hold", in: "Package: a\nStatus: hold ok installed\nVersion: 1\n",
			want: []patchwave.Package{{Name: "a", Version: "1"}}},
		{name: "not installed", in: "Package: a\nStatus: install ok unpacked\nVersion: 1\n\n" +
			"Package: b\nStatus: install ok triggers-pending\nVersion: 1\n\n" +
			"Package: c\nStatus: deinstall ok config-files\nVersion: 1\n\n" +
			"Package: d\nStatus: install reinstreq installed\nVersion: 1\n\n" +
			"Package: e\nVersion: 1\n\n" +
			"Package: f\nStatus: install ok installed extra\nVersion: 1\n"},
		{name: "continuation of a skipped field", in: "Package: a\n" + inst + "Description: x\n y\n .\n\tz\nVersion: 1\n",
			want: []patchwave.Package{{Name: "a", Version: "1"}}},
		{name: "colon in value", in: "Package: a\n" + inst + "Version: 1:2:3\nHomepage: https://example.org/\n",
			want: []patchwave.Package{{Name: "a", Version: "1:2:3"}}},
		{name: "uninstalled stanza may lack fields", in: "Status: purge ok not-installed\n"},
		{name: "continuation before any field", in: " continued\nPackage: a\n", err: "line 1: continuation line before any field"},
		{name: "continuation after blank line", in: "Package: a\n" + inst + "Version: 1\n\n continued\n", err: "line 5: continuation line before any field"},
		{name: "continuation of Version", in: "Package: a\n" + inst + "Version: 1\n 2\n", err: "line 4: field Version continues"},
		{name: "no colon", in: "Package: a\nStatus install ok installed\n", err: "line 2: no colon"},
		{name: "empty field name", in: "Package: a\n: x\n", err: "line 2: invalid field name"},
		{name: "space in field name", in: "Package: a\nBad Field: x\n", err: "line 2: invalid field name"},
		{name: "duplicate field", in: "Package: a\n" + inst + "Package: b\n", err: "line 3: duplicate field Package"},
		{name: "installed without Package", in: "\n\n" + inst + "Version: 1\n", err: "line 3: installed package without a Package field"},
		{name: "installed without Version", in: "Package: a\n" + inst, err: "line 1: installed package \"a\" has no Version"},
		{name: "malformed Source", in: "Package: a\n" + inst + "Version: 1\nSource: a (1.0\n", err: "line 1: package \"a\": malformed Source"},
		{name: "Source with two words", in: "Package: a\n" + inst + "Version: 1\nSource: a b\n", err: "malformed Source"},
		{name: "Source with empty version", in: "Package: a\n" + inst + "Version: 1\nSource: a ()\n", err: "malformed Source"},
		{name: "second stanza bad", in: "Package: a\n" + inst + "Version: 1\n\nPackage: b\n" + inst, err: "line 5: installed package \"b\" has no Version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDpkgStatus(strings.NewReader(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error = %v, want one containing %q", err, tt.err)
				}
				if !strings.HasPrefix(err.Error(), "parse dpkg status line ") {
					t.Errorf("error %q does not start with the operation and line", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got  %v\nwant %v", got, tt.want)
			}
		})
	}
}

// TestParseDpkgStatusThisMachine reads the test machine's own status file
// and checks it against what dpkg-query says about the same database.
func TestParseDpkgStatusThisMachine(t *testing.T) {
	const status = "/var/lib/dpkg/status"
	f, err := os.Open(status)
	if err != nil {
		t.Skipf("no dpkg database on this machine: %v", err)
	}
	defer f.Close()
	got, err := ParseDpkgStatus(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 {
		t.Fatal("no installed packages")
	}
	if err := patchwave.ValidatePackages(got); err != nil {
		t.Error(err)
	}
	t.Logf("%d installed packages", len(got))

	if _, err := exec.LookPath("dpkg-query"); err != nil {
		t.Skip("dpkg-query not installed: cannot cross-check")
	}
	out, err := exec.Command("dpkg-query", "--admindir=/var/lib/dpkg", "-W",
		"-f", `${Status}\t${Package}\t${Version}\t${Architecture}\t${source:Package}\t${source:Version}\n`).Output()
	if err != nil {
		t.Fatalf("dpkg-query: %v", err)
	}
	var want []patchwave.Package
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 6 {
			t.Fatalf("dpkg-query line %q", sc.Text())
		}
		if dpkgInstalled(f[0]) {
			want = append(want, patchwave.Package{Name: f[1], Version: f[2], Arch: f[3], Source: f[4], SourceVersion: f[5]})
		}
	}
	// dpkg-query fills in the source name and version from the binary
	// package's when the Source field lacks them; so do we, to compare.
	for i, p := range got {
		got[i].Source = cmpOr(p.Source, p.Name)
		got[i].SourceVersion = cmpOr(p.SourceVersion, p.Version)
	}
	got, want = patchwave.SortPackages(got), patchwave.SortPackages(want)
	if d := patchwave.DiffPackages(want, got); !d.Empty() {
		t.Errorf("differs from dpkg-query:\nmissing %v\nextra   %v", d.Removed, d.Added)
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func TestParseDpkgStatusLongLines(t *testing.T) {
	head := "Package: a\nStatus: install ok installed\nVersion: 1\n"
	t.Run("10 MB line", func(t *testing.T) {
		in := head + "Description: " + strings.Repeat("x", 10<<20) + "\n"
		_, err := ParseDpkgStatus(strings.NewReader(in))
		if err == nil || !strings.Contains(err.Error(), "line 4: line longer than") {
			t.Fatalf("error = %v, want line 4 too long", err)
		}
		if !errors.Is(err, bufio.ErrTooLong) {
			t.Errorf("error %v does not wrap bufio.ErrTooLong", err)
		}
	})
	t.Run("long but allowed", func(t *testing.T) {
		in := head + "Depends: " + strings.Repeat("libfoo (>= 1), ", 50_000) + "\n Description continues\n"
		got, err := ParseDpkgStatus(strings.NewReader(in))
		if err != nil || len(got) != 1 {
			t.Fatalf("got %v, %v", got, err)
		}
	})
}

func TestParseDpkgStatusReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	r := iotest.DataErrReader(&errAfter{data: "Package: a\nStatus: install ok installed\nVersion: 1\n\nPackage: b\n", err: boom})
	_, err := ParseDpkgStatus(r)
	if !errors.Is(err, boom) {
		t.Fatalf("error = %v, want it to wrap %v", err, boom)
	}
}

// errAfter returns its data, then err.
type errAfter struct {
	data string
	err  error
}

func (r *errAfter) Read(p []byte) (int, error) {
	if r.data == "" {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestParseDpkgStatusInvalidUTF8(t *testing.T) {
	in := "Package: bad\xffname\nStatus: install ok installed\nVersion: 1.0\xc3\nArchitecture: amd64\n"
	got, err := ParseDpkgStatus(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []patchwave.Package{{Name: "bad\xffname", Version: "1.0\xc3", Arch: "amd64"}}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if err := patchwave.ValidatePackages(got); err == nil {
		t.Error("ValidatePackages accepted invalid UTF-8")
	}
}

// TestParseDpkgStatusTruncated parses every prefix of the test file: each
// gives an error or a list no longer than the whole file's, never a panic.
func TestParseDpkgStatusTruncated(t *testing.T) {
	b, err := os.ReadFile("testdata/dpkg/status")
	if err != nil {
		t.Fatal(err)
	}
	full, err := ParseDpkgStatus(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		got, err := ParseDpkgStatus(bytes.NewReader(b[:i]))
		if err == nil && len(got) > len(full) {
			t.Fatalf("prefix of %d bytes gives %d packages, the whole file %d", i, len(got), len(full))
		}
	}
}

func FuzzParseDpkgStatus(f *testing.F) {
	addSeeds(f, "testdata/dpkg")
	f.Add([]byte("Package: a\nStatus: install ok installed\nVersion: 1\nSource: b (2)\n"))
	f.Add([]byte(" x\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ps, err := ParseDpkgStatus(bytes.NewReader(b))
		if err != nil {
			if ps != nil {
				t.Errorf("error %v with packages", err)
			}
			if !strings.HasPrefix(err.Error(), "parse dpkg status line ") {
				t.Errorf("error %q does not name a line", err)
			}
			return
		}
		for _, p := range ps {
			if p.Name == "" || p.Version == "" || (p.SourceVersion != "" && p.Source == "") {
				t.Errorf("incomplete package %+v", p)
			}
		}
	})
}
