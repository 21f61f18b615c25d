package pkgmgr

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/patchwave/patchwave"
)

// TestParseApkInstalledReal reads an excerpt of a real Alpine database.
func TestParseApkInstalledReal(t *testing.T) {
	f, err := os.Open("testdata/apk/installed")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := ParseApkInstalled(f)
	if err != nil {
		t.Fatal(err)
	}
	pkg := func(name, version, origin string) patchwave.Package {
		return patchwave.Package{Name: name, Version: version, Arch: "x86_64", Source: origin}
	}
	want := []patchwave.Package{
		pkg("musl", "1.1.14-r10", "musl"),
		pkg("busybox", "1.24.2-r9", "busybox"),
		pkg("alpine-keys", "1.1-r0", "alpine-keys"),
		pkg("zlib", "1.2.8-r2", "zlib"),
		pkg("libssl1.0", "1.0.2h-r1", "openssl"),
		pkg("apk-tools", "2.6.7-r0", "apk-tools"),
		pkg("scanelf", "1.1.6-r0", "pax-utils"),
		pkg("musl-utils", "1.1.14-r10", "musl"),
		pkg("libc-utils", "0.7-r0", "libc-dev"),
		pkg("pkgconf", "1.6.0-r0", "pkgconf"),
		pkg("sqlite-libs", "3.26.0-r3", "sqlite"),
		pkg("ada-libs", "2.7.4-r0", "ada"),
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%v\nwant\n%v", got, want)
	}
	if err := patchwave.ValidatePackages(got); err != nil {
		t.Error(err)
	}
}

func TestParseApkInstalledCases(t *testing.T) {
	tests := []struct {
		name, in string
		want     []patchwave.Package
		err      string
	}{
		{name: "empty", in: ""},
		{name: "blank lines only", in: "\n\n  \n"},
		{name: "minimal", in: "P:a\nV:1-r0\n", want: []patchwave.Package{{Name: "a", Version: "1-r0"}}},
		{name: "no final newline, CRLF", in: "C:Q1x=\r\nP:a\r\nV:1-r0\r\nA:aarch64\r\no:a-src",
			want: []patchwave.Package{{Name: "a", Version: "1-r0", Arch: "aarch64", Source: "a-src"}}},
		{name: "many blank lines between records", in: "\n\nP:a\nV:1\n\n\n\nP:b\nV:2\n\n",
			want: []patchwave.Package{{Name: "a", Version: "1"}, {Name: "b", Version: "2"}}},
		{name: "repeated other keys", in: "P:a\nV:1\nF:usr\nR:x\nF:etc\nR:y\nZ:Q1=\n",
			want: []patchwave.Package{{Name: "a", Version: "1"}}},
		{name: "colon in value", in: "P:a\nV:1\nD:so:libc.musl-x86_64.so.1\n", want: []patchwave.Package{{Name: "a", Version: "1"}}},
		{name: "no version", in: "P:invalidPackageWithoutAVersion\n\nP:b\nV:1\n", err: "line 1: package \"invalidPackageWithoutAVersion\" has no version"},
		{name: "no name", in: "P:a\nV:1\n\nC:Q1=\nV:2\n", err: "line 4: record without a package name"},
		{name: "not a key line", in: "P:a\nversion 1\n", err: "line 2: \"version 1\" is not a \"K:value\" line"},
		{name: "one character", in: "P:a\nV:1\nx\n", err: "line 3:"},
		{name: "duplicate name", in: "P:a\nV:1\nP:b\n", err: "line 3: duplicate P: line"},
		{name: "empty name", in: "P:\nV:1\n", err: "record without a package name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseApkInstalled(strings.NewReader(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error = %v, want one containing %q", err, tt.err)
				}
				if !strings.HasPrefix(err.Error(), "parse apk database line ") {
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

func TestParseApkInstalledBadInput(t *testing.T) {
	t.Run("10 MB line", func(t *testing.T) {
		in := "P:a\nV:1\nT:" + strings.Repeat("x", 10<<20) + "\n"
		_, err := ParseApkInstalled(strings.NewReader(in))
		if err == nil || !strings.Contains(err.Error(), "line 3: line longer than") || !errors.Is(err, bufio.ErrTooLong) {
			t.Fatalf("error = %v, want line 3 too long", err)
		}
	})
	t.Run("invalid UTF-8", func(t *testing.T) {
		got, err := ParseApkInstalled(strings.NewReader("P:a\xff\nV:1\xfe\n"))
		if err != nil || len(got) != 1 || got[0].Name != "a\xff" {
			t.Fatalf("got %q, %v", got, err)
		}
		if patchwave.ValidatePackages(got) == nil {
			t.Error("ValidatePackages accepted invalid UTF-8")
		}
	})
	t.Run("read error", func(t *testing.T) {
		boom := errors.New("io error")
		_, err := ParseApkInstalled(&errAfter{data: "P:a\nV:1\n", err: boom})
		if !errors.Is(err, boom) {
			t.Fatalf("error = %v, want %v", err, boom)
		}
	})
	t.Run("truncated", func(t *testing.T) {
		b, err := os.ReadFile("testdata/apk/installed")
		if err != nil {
			t.Fatal(err)
		}
		for i := range b {
			got, err := ParseApkInstalled(bytes.NewReader(b[:i]))
			if err == nil && len(got) > 12 {
				t.Fatalf("prefix of %d bytes gives %d packages", i, len(got))
			}
		}
	})
}

func FuzzParseApkInstalled(f *testing.F) {
	addSeeds(f, "testdata/apk")
	f.Add([]byte("P:a\nV:1\n\nP:b\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ps, err := ParseApkInstalled(bytes.NewReader(b))
		if err != nil {
			if ps != nil || !strings.HasPrefix(err.Error(), "parse apk database line ") {
				t.Errorf("error %q (with %d packages)", err, len(ps))
			}
			return
		}
		for _, p := range ps {
			if p.Name == "" || p.Version == "" {
				t.Errorf("incomplete package %+v", p)
			}
		}
	})
}
