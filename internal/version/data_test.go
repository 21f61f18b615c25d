package version

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sharedData returns the directory of the project's shared test data, or
// skips the test when it is absent. PATCHWAVE_SHARED_DATA overrides the
// default, which is relative to this package's directory.
func sharedData(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("PATCHWAVE_SHARED_DATA")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "data")
	}
	if _, err := os.Stat(filepath.Join(dir, "version_compare")); err != nil {
		t.Skipf("shared test data not found (set PATCHWAVE_SHARED_DATA to the shared/data directory): %v", err)
	}
	return dir
}

// pairFile is one version_compare file: "A op B" lines, op one of < = >,
// and '#' comments. See its SOURCES.txt: the *-generated files were
// produced by running the real dpkg and apk (apk-tools 2.10, Alpine 3.10)
// on every version in the osv.dev Debian and Alpine exports; the others
// were written by hand by osv-scalibr's authors.
type pairFile struct {
	name string
	cmp  func(a, b string) int
	// divergent lists the lines, as written, where the comparator gives
	// a different answer from the file, with its answer. Each one was
	// checked against the real tool the comparator follows.
	divergent map[string]int
}

var pairFiles = []pairFile{
	{name: "debian-versions.txt", cmp: CompareDpkg},
	{name: "debian-versions-generated.txt", cmp: CompareDpkg},
	{name: "redhat-versions.txt", cmp: CompareRPM},
	{name: "alpine-versions-generated.txt", cmp: CompareAPK},
	{
		name: "alpine-versions.txt",
		cmp:  CompareAPK,
		// These lines expect the comparison of apk-tools 2.14 or 3, which
		// rewrote it, on versions that apk itself calls invalid (upper-case
		// letters, garbage after -r, a letter after a dot). CompareAPK
		// follows apk-tools 2.x here, as does the generated file.
		divergent: map[string]int{
			"1-r-0 < 1-r0":         1,  // apk 2.x: garbage after the end sorts last
			"1-r-1 < 1-r0":         1,  // same
			"0.r1 < 0r2":           1,  // apk 2.x and 2.14 both say >; only apk 3 says <
			"0.8.21.r2 < 0.8.21r2": 1,  // same
			"1.2.0A < 1.2.0d":      1,  // apk 2.x: 'A' is garbage, which sorts last
			"1.2.0D < 1.2.0d":      1,  // same
			"1 > 1-ruff":           -1, // apk 2.x and 2.14: garbage sorts last; apk 3: first
			"1-ruff2 = 1--ruff1":   -1, // apk 2.x <, apk 2.14 >, apk 3 =
		},
	},
}

// TestSharedPairs checks every pair of every version_compare file.
func TestSharedPairs(t *testing.T) {
	dir := filepath.Join(sharedData(t), "version_compare")
	for _, pf := range pairFiles {
		t.Run(pf.name, func(t *testing.T) {
			lines, err := readPairs(filepath.Join(dir, pf.name))
			if err != nil {
				t.Fatal(err)
			}
			agree, divergent := 0, 0
			for _, l := range lines {
				got := pf.cmp(l.a, l.b)
				if want, ok := pf.divergent[l.text]; ok {
					divergent++
					if got != want {
						t.Errorf("line %d: %s: got %d, the tool followed says %d", l.no, l.text, got, want)
					}
					continue
				}
				if got != l.want {
					t.Errorf("line %d: %s: got %d", l.no, l.text, got)
					continue
				}
				if back := pf.cmp(l.b, l.a); back != -got {
					t.Errorf("line %d: %s: reversed comparison gives %d", l.no, l.text, back)
					continue
				}
				agree++
			}
			if divergent != len(pf.divergent) {
				t.Errorf("%d documented divergences found in the file, %d listed", divergent, len(pf.divergent))
			}
			if len(lines) == 0 {
				t.Fatal("no pairs in file")
			}
			t.Logf("%s: %d pairs: %d agree, %d documented divergences", pf.name, len(lines), agree, divergent)
		})
	}
}

// pairLine is one "A op B" line.
type pairLine struct {
	no, want int
	a, b     string
	text     string
}

func readPairs(path string) ([]pairLine, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var lines []pairLine
	sc := bufio.NewScanner(f)
	for no := 1; sc.Scan(); no++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Fields(text)
		want, ok := map[string]int{"<": -1, "=": 0, ">": 1}[fieldAt(fields, 1)]
		if len(fields) != 3 || !ok {
			return nil, fmt.Errorf("%s:%d: not \"A op B\": %q", path, no, text)
		}
		lines = append(lines, pairLine{no: no, want: want, a: fields[0], b: fields[2], text: text})
	}
	return lines, sc.Err()
}

func fieldAt(fields []string, i int) string {
	if i < len(fields) {
		return fields[i]
	}
	return ""
}

// sharedVersions returns every distinct version in the named
// version_compare files, or nil when the shared data is absent.
func sharedVersions(t testing.TB, names ...string) []string {
	t.Helper()
	dir := os.Getenv("PATCHWAVE_SHARED_DATA")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "data")
	}
	seen := map[string]bool{}
	var out []string
	for _, name := range names {
		lines, err := readPairs(filepath.Join(dir, "version_compare", name))
		if os.IsNotExist(err) {
			return nil
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range lines {
			for _, v := range [...]string{l.a, l.b} {
				if !seen[v] {
					seen[v] = true
					out = append(out, v)
				}
			}
		}
	}
	return out
}
