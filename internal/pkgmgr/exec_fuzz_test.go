package pkgmgr

import (
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzParseMadison(f *testing.F) {
	f.Add("      demo |        1.2 | file:/repo ./ Packages\n")
	f.Add("   openssl | 3.0.15-1~deb12u1 | http://deb.debian.org/debian bookworm/main amd64 Packages\n a | b | c Sources\n")
	f.Add("|||\n | | Packages\nx|y|z Packages")
	f.Fuzz(func(t *testing.T, in string) {
		for _, m := range ParseMadison([]byte(in)) {
			if m.Name == "" || m.Version == "" || strings.ContainsAny(m.Name+m.Version+m.Source, "|\n") {
				t.Fatalf("bad entry %+v from %q", m, in)
			}
			if !strings.HasSuffix(m.Source, "Packages") || strings.Contains(m.Arch, "/") {
				t.Fatalf("bad source or arch %+v", m)
			}
		}
	})
}

func FuzzParseRepoquery(f *testing.F) {
	f.Add("demo\t0\t1.0\t1\tnoarch\tpkgtest\ndemo\t1\t0.9\t1\tnoarch\tpkgtest\n")
	f.Add("a\t(none)\t1\t\tx86_64\t@System\r\nb\t99999999999\t1\t1\tnoarch\tr\n")
	f.Fuzz(func(t *testing.T, in string) {
		for _, p := range ParseRepoquery([]byte(in)) {
			if p.Name == "" || p.Version == "" || strings.HasPrefix(p.Source, "@") || strings.ContainsAny(p.Name+p.Version+p.Arch, "\t\n") {
				t.Fatalf("bad package %+v from %q", p, in)
			}
		}
	})
}

func FuzzParseNeedsRestarting(f *testing.F) {
	f.Add("Core libraries or services have been updated since boot-up:\n  * kernel\n  * glibc\n\nReboot is required.\n")
	f.Add("* \n*  *\n")
	f.Fuzz(func(t *testing.T, in string) {
		s := ParseNeedsRestarting([]byte(in))
		if s == "" {
			t.Fatalf("empty reason for %q", in)
		}
		if !strings.HasPrefix(s, "updated since boot: ") && len(s) > 200+len("…") {
			t.Fatalf("reason of %d bytes", len(s))
		}
	})
}

func FuzzErrorLines(f *testing.F) {
	f.Add("E: Version '9.9' for 'demo' was not found\n")
	f.Add("Error: \n Problem: conflicting requests\n  - nothing provides /bin/sh\n")
	f.Add("dpkg: error processing package x (--configure):\n reason\n")
	f.Fuzz(func(t *testing.T, in string) {
		s := errorLines([]byte(in))
		if len(s) > 1000+len("…") {
			t.Fatalf("%d bytes", len(s))
		}
		if utf8.ValidString(in) && !strings.HasSuffix(s, "…") && !utf8.ValidString(s) {
			t.Fatalf("invalid UTF-8 %q from valid input", s)
		}
	})
}

// FuzzCapWriter checks the head and tail it keeps against the whole.
func FuzzCapWriter(f *testing.F) {
	f.Add(10, "0123456789abcdef", 3)
	f.Add(1, "x", 1)
	f.Add(7, strings.Repeat("ab", 50), 9)
	f.Fuzz(func(t *testing.T, limit int, data string, chunk int) {
		limit = 2 + abs(limit)%300
		chunk = 1 + abs(chunk)%40
		w := newCapWriter(limit)
		for s := data; len(s) > 0; {
			n := min(chunk, len(s))
			w.Write([]byte(s[:n]))
			s = s[n:]
		}
		got := w.String()
		if len(data) <= limit {
			if got != data {
				t.Fatalf("limit %d: got %q, want all of %q", limit, got, data)
			}
			return
		}
		h := limit / 2
		want := data[:h] + "\n[… " + strconv.Itoa(len(data)-limit) + " bytes cut …]\n" + data[len(data)-(limit-h):]
		if got != want {
			t.Fatalf("limit %d, chunk %d: got %q, want %q", limit, chunk, got, want)
		}
	})
}

func abs(n int) int {
	if n < 0 {
		if n == -n { // the most negative int
			return 0
		}
		return -n
	}
	return n
}
