package feed

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patchwave/patchwave"
)

const minimalOSV = `{"id":"TEST-1","modified":"2024-01-02T03:04:05Z","affected":[{"package":{"ecosystem":"Debian:12","name":"openssl"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"3.0.11-1~deb12u2"}]}]}]}`

func TestParseOSVMinimal(t *testing.T) {
	a, err := ParseOSV([]byte(minimalOSV))
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != "TEST-1" || !a.Modified.Equal(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)) ||
		len(a.Affected) != 1 || a.Affected[0].Ranges[0].Events[1].Fixed != "3.0.11-1~deb12u2" {
		t.Errorf("got %+v", a)
	}
}

func TestParseOSVUnknownFieldsAndGitOnly(t *testing.T) {
	rec := `{"id":"GHSA-xxxx","modified":"2024-01-02T03:04:05.123456Z","new_field":{"x":[1,2]},
	"affected":[{"ranges":[{"type":"GIT","repo":"https://github.com/a/b","events":[{"introduced":"abc"},{"fixed":"def"}]}]},
	{"package":{"ecosystem":"Go","name":"example.com/x"},"ranges":[{"type":"SEMVER","events":[{"introduced":"1.0.0"},{"last_affected":"1.2.0"}]}]}]}`
	a, err := ParseOSV([]byte(rec))
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Affected) != 2 || a.Affected[0].Package.Name != "" || a.Affected[0].Ranges[0].Type != "GIT" {
		t.Errorf("got %+v", a.Affected)
	}
}

func TestParseOSVInvalid(t *testing.T) {
	const mod = `"modified":"2024-01-02T03:04:05Z"`
	rng := func(r string) string {
		return `{"id":"T-1",` + mod + `,"affected":[{"package":{"ecosystem":"Debian:12","name":"x"},"ranges":[` + r + `]}]}`
	}
	for _, tc := range []struct{ name, in, want string }{
		{"empty", ``, "invalid JSON"},
		{"not json", `hello`, "invalid JSON"},
		{"truncated", `{"id":"T-1",` + mod, "invalid JSON"},
		{"trailing", `{"id":"T-1",` + mod + `} {}`, "invalid JSON"},
		{"null", `null`, "no id"},
		{"array", `[]`, "JSON array"},
		{"no id", `{` + mod + `}`, "no id"},
		{"id space", `{"id":"T 1",` + mod + `}`, "contains a space"},
		{"long id", `{"id":"` + strings.Repeat("x", 300) + `",` + mod + `}`, "at most 256"},
		{"no modified", `{"id":"T-1"}`, "T-1: OSV record has no modified time"},
		{"bad modified", `{"id":"T-1","modified":"yesterday"}`, "T-1: OSV record"},
		{"wrong type", `{"id":"T-1",` + mod + `,"aliases":"CVE-1"}`, `field "aliases"`},
		{"no package", `{"id":"T-1",` + mod + `,"affected":[{"versions":["1"]}]}`, "affected[0]: no package"},
		{"no ecosystem", `{"id":"T-1",` + mod + `,"affected":[{"package":{"name":"x"}}]}`, `package "x" has no ecosystem`},
		{"no name", `{"id":"T-1",` + mod + `,"affected":[{"package":{"ecosystem":"Debian:12"}}]}`, `package in "Debian:12" has no name`},
		{"git without package mixed", `{"id":"T-1",` + mod + `,"affected":[{"ranges":[{"type":"GIT","repo":"r","events":[{"introduced":"0"}]},{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}]}]}`, "no package"},
		{"git no repo", `{"id":"T-1",` + mod + `,"affected":[{"ranges":[{"type":"GIT","events":[{"introduced":"0"}]}]}]}`, "GIT range has no repo"},
		{"unknown type", rng(`{"type":"RPM","events":[{"introduced":"0"}]}`), `unknown range type "RPM"`},
		{"no type", rng(`{"events":[{"introduced":"0"}]}`), "range has no type"},
		{"no introduced", rng(`{"type":"ECOSYSTEM","events":[{"fixed":"1"}]}`), "no introduced event"},
		{"no events", rng(`{"type":"ECOSYSTEM","events":[]}`), "no introduced event"},
		{"two fields", rng(`{"type":"ECOSYSTEM","events":[{"introduced":"0","fixed":"1"}]}`), "events[0] has 2 fields set"},
		{"zero fields", rng(`{"type":"ECOSYSTEM","events":[{"introduced":"0"},{}]}`), "events[1] has 0 fields set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseOSV([]byte(tc.in))
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
			if patchwave.ErrorCode(err) != patchwave.EInvalid {
				t.Errorf("code %q, want invalid", patchwave.ErrorCode(err))
			}
			var re *RecordError
			if !errors.As(err, &re) {
				t.Errorf("%T is not a *RecordError", err)
			}
		})
	}
}

func TestParseOSVTooLarge(t *testing.T) {
	b := make([]byte, MaxRecordBytes+1)
	copy(b, `{"id":"BIG-1",`)
	_, err := ParseOSV(b)
	if err == nil || !strings.Contains(err.Error(), "BIG-1") || !strings.Contains(err.Error(), "at most") {
		t.Errorf("got %v", err)
	}
}

func TestPeekID(t *testing.T) {
	for in, want := range map[string]string{
		`{"details":{"id":"nested"},"id":"TOP-1","x":`: "TOP-1",
		`{"a":[{"id":"n"}],"id":"TOP-2"`:               "TOP-2",
		`{"a":"id","b":"id","id":"TOP-3"`:              "TOP-3",
		`{"details":{"id":"nested"}}`:                  "",
		`{"id":7}`:                                     "",
		`garbage`:                                      "",
	} {
		if got := peekID([]byte(in)); got != want {
			t.Errorf("peekID(%s) = %q, want %q", in, got, want)
		}
	}
}

// TestParseOSVSharedRecords decodes every OSV sample in shared/data and
// checks the facts the matcher relies on.
func TestParseOSVSharedRecords(t *testing.T) {
	dir := sharedData(t, "ubuntu_osv")
	root := filepath.Dir(dir)
	var files []string
	for _, pat := range []string{"ubuntu_osv/*.json", "almalinux_osv/*.json", "rocky_osv/*.json", "alpine/*CVE-*.json",
		"debian/D*.json", "redhat/osv-*.json", "suse/osv-*.json"} {
		m, _ := filepath.Glob(filepath.Join(root, pat))
		files = append(files, m...)
	}
	if len(files) < 45 {
		t.Fatalf("found only %d OSV files", len(files))
	}
	ids := map[string]patchwave.Advisory{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		a, err := ParseOSV(b)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
			continue
		}
		ids[a.ID] = a
	}
	if a := ids["UBUNTU-CVE-2014-2901"]; a.Withdrawn == nil {
		t.Error("UBUNTU-CVE-2014-2901 should be withdrawn")
	}
	if _, ok := ids["DLA-0001-1"]; !ok { // DLA-0010-1.json holds DLA-0001-1
		t.Error("DLA-0001-1 (from DLA-0010-1.json) missing")
	}
	if a := ids["UBUNTU-CVE-2024-6387"]; len(a.Affected) != 2 || a.Affected[0].Package.Ecosystem != "Ubuntu:22.04:LTS" {
		t.Errorf("UBUNTU-CVE-2024-6387 affected = %+v", a.Affected)
	}
	// Not OSV: the secdb, tracker and CSAF files are refused with a reason.
	for _, f := range []string{"alpine/secdb-v3.16-main.json", "debian/security-tracker-sample.json", "redhat/csaf-rhsa-2024_6163.json"} {
		if _, err := ParseOSV(readShared(t, f)); err == nil {
			t.Errorf("%s: not OSV, but no error", f)
		}
	}
}

func TestReadOSVUbuntuZip(t *testing.T) {
	path := sharedData(t, "ubuntu-cve-tracker-osv/all.zip")
	var names []string
	var affected, fixed, want int // want: records naming Ubuntu:18.04, for the prefilter below
	ecos := map[string]int{}
	st, err := ReadOSV(context.Background(), path, func(name string, a patchwave.Advisory) error {
		if name != a.ID+".json" {
			return fmt.Errorf("entry %s holds %s", name, a.ID)
		}
		names = append(names, name)
		if slices.ContainsFunc(a.Affected, func(af patchwave.Affected) bool { return af.Package.Ecosystem == "Ubuntu:18.04:LTS" }) {
			want++
		}
		for _, af := range a.Affected {
			affected++
			ecos[af.Package.Ecosystem]++
			for _, r := range af.Ranges {
				for _, e := range r.Events {
					if e.Fixed != "" {
						fixed++
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The counts SOURCES.txt gives for this archive.
	if st.Records != 15062 || len(names) != 15062 || affected != 54749 || fixed != 45082 {
		t.Errorf("records %d (%d names), affected %d, fixed %d; want 15062, 54749, 45082", st.Records, len(names), affected, fixed)
	}
	if !slices.IsSorted(names) {
		t.Error("records not delivered in name order")
	}
	if st.Skipped != 0 || st.Withdrawn != 0 || st.Filtered != 0 {
		t.Errorf("stats %+v", st)
	}
	t.Logf("ecosystems: %v", ecos)

	// The prefilter keeps exactly the records naming the ecosystem.
	got := 0
	st2, err := Options{Ecosystems: []string{"Ubuntu:18.04"}}.ReadOSV(context.Background(), path, func(name string, a patchwave.Advisory) error {
		got++
		if !slices.ContainsFunc(a.Affected, func(af patchwave.Affected) bool { return af.Package.Ecosystem == "Ubuntu:18.04:LTS" }) {
			return fmt.Errorf("%s passed the prefilter without Ubuntu:18.04", a.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got != want || st2.Records != want || st2.Records+st2.Filtered != 15062 {
		t.Errorf("prefilter kept %d (stats %+v), want %d", got, st2, want)
	}
}

func TestReadOSVAlmaLinuxZip(t *testing.T) {
	path := sharedData(t, "almalinux-all/all.zip")
	ecos := map[string]int{}
	st, err := ReadOSV(context.Background(), path, func(name string, a patchwave.Advisory) error {
		if strings.ReplaceAll(name, ":", "_") != strings.ReplaceAll(a.ID, ":", "_")+".json" {
			return fmt.Errorf("entry %s holds %s", name, a.ID)
		}
		for _, af := range a.Affected {
			ecos[af.Package.Ecosystem]++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// SOURCES.txt says 5,680 records; the archive holds 5,637 entries.
	if st.Records != 5637 || st.Skipped != 0 {
		t.Errorf("stats %+v", st)
	}
	for _, e := range []string{"AlmaLinux:8", "AlmaLinux:9", "AlmaLinux:10"} {
		if ecos[e] == 0 {
			t.Errorf("no affected entry in %s", e)
		}
	}
}

func TestReadOSVDirAndFile(t *testing.T) {
	dir := sharedData(t, "ubuntu_osv")
	var names []string
	st, err := ReadOSV(context.Background(), dir, func(name string, a patchwave.Advisory) error {
		names = append(names, name)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Records != 16 || st.Withdrawn != 3 || !slices.IsSorted(names) || names[0] != "LSN-0108-1.json" {
		t.Errorf("stats %+v, names %v", st, names)
	}
	st, err = ReadOSV(context.Background(), filepath.Join(dir, "USN-6859-1.json"), func(name string, a patchwave.Advisory) error {
		if name != "USN-6859-1.json" || a.ID != "USN-6859-1" {
			return fmt.Errorf("got %s %s", name, a.ID)
		}
		return nil
	})
	if err != nil || st.Records != 1 {
		t.Errorf("single file: %+v %v", st, err)
	}
}

func TestReadOSVDirStrictAndSkip(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a/1.json", strings.Replace(minimalOSV, "TEST-1", "A-1", 1))
	write("a/2.json", `{"id":"A-2","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"name":"x"}}]}`)
	write("b.json", strings.Replace(minimalOSV, "TEST-1", "B-1", 1))
	write("c.json", `{"id":"C-1",`)
	write("readme.txt", "not a record")

	var got []string
	fn := func(name string, a patchwave.Advisory) error { got = append(got, name+"="+a.ID); return nil }
	st, err := ReadOSV(context.Background(), dir, fn)
	var re *RecordError
	if !errors.As(err, &re) || re.Name != "a/2.json" || re.ID != "A-2" || !strings.Contains(err.Error(), "has no ecosystem") {
		t.Errorf("strict: err %v", err)
	}
	if st.Records != 1 || !slices.Equal(got, []string{"a/1.json=A-1"}) {
		t.Errorf("strict: stats %+v, got %v", st, got)
	}

	got = nil
	st, err = Options{SkipInvalid: true, Workers: 3}.ReadOSV(context.Background(), dir, fn)
	if err != nil {
		t.Fatal(err)
	}
	if st.Records != 2 || st.Skipped != 2 || len(st.Errors) != 2 || !slices.Equal(got, []string{"a/1.json=A-1", "b.json=B-1"}) {
		t.Errorf("skip: stats %+v, got %v", st, got)
	}
	if !strings.Contains(st.Errors[1].Error(), "c.json (C-1): OSV record: invalid JSON") {
		t.Errorf("skip: second error %q", st.Errors[1])
	}
	st, _ = Options{SkipInvalid: true, MaxErrors: 1}.ReadOSV(context.Background(), dir, fn)
	if st.Skipped != 2 || len(st.Errors) != 1 {
		t.Errorf("MaxErrors 1: %+v", st)
	}
}

// zipOf builds an archive of name → content, in the given order.
func zipOf(t testing.TB, entries ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := 0; i < len(entries); i += 2 {
		w, err := zw.Create(entries[i])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(entries[i+1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// noise returns n bytes of base64-like text that deflate compresses
// about as little as it does real text.
func noise(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = alphabet[x%64]
	}
	return string(b)
}

func record(id string) string { return strings.Replace(minimalOSV, "TEST-1", id, 1) }

func TestReadOSVZipOrderAndCallback(t *testing.T) {
	var entries []string
	for i := range 500 {
		id := fmt.Sprintf("R-%04d", (i*7919)%500) // stored out of order
		entries = append(entries, id+".json", record(id))
	}
	entries = append(entries, "dir/", "", "README", "not json")
	z := zipOf(t, entries...)
	for _, workers := range []int{1, 2, 7} {
		var got []string
		st, err := Options{Workers: workers}.ReadOSVZip(context.Background(), bytes.NewReader(z), int64(len(z)),
			func(name string, a patchwave.Advisory) error { got = append(got, a.ID); return nil })
		if err != nil || st.Records != 500 || !slices.IsSorted(got) || len(got) != 500 {
			t.Errorf("workers %d: %+v %v sorted=%v", workers, st, err, slices.IsSorted(got))
		}
	}
	// An error from the callback stops the read and comes back as it is.
	stop := errors.New("stop here")
	n := 0
	st, err := ReadOSVZip(context.Background(), bytes.NewReader(z), int64(len(z)), func(string, patchwave.Advisory) error {
		n++
		if n == 10 {
			return stop
		}
		return nil
	})
	if err != stop || st.Records != 10 {
		t.Errorf("callback error: %v, stats %+v", err, st)
	}
	// So does the context's.
	ctx, cancel := context.WithCancel(context.Background())
	n = 0
	_, err = ReadOSVZip(ctx, bytes.NewReader(z), int64(len(z)), func(string, patchwave.Advisory) error {
		if n++; n == 5 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || n != 5 {
		t.Errorf("cancel: %v after %d", err, n)
	}
}

func TestReadOSVZipHostile(t *testing.T) {
	ctx := context.Background()
	nop := func(string, patchwave.Advisory) error { return nil }
	read := func(o Options, z []byte) (Stats, error) {
		return o.ReadOSVZip(ctx, bytes.NewReader(z), int64(len(z)), nop)
	}
	for _, name := range []string{"../evil.json", "a/../../evil.json", "/etc/evil.json", `..\evil.json`, `C:\evil.json`} {
		if _, err := read(Options{SkipInvalid: true}, zipOf(t, "ok.json", record("A"), name, record("B"))); err == nil ||
			!strings.Contains(err.Error(), "refused") {
			t.Errorf("entry %q: %v", name, err)
		}
	}

	// An oversized record that compresses only as well as real data:
	// refused by name, or skipped under SkipInvalid.
	big := zipOf(t, "a.json", record("A"), "big.json", `{"id":"BIG","details":"`+noise(MaxRecordBytes)+`"}`, "c.json", record("C"))
	_, err := read(Options{}, big)
	if err == nil || !strings.Contains(err.Error(), "big.json") || !strings.Contains(err.Error(), "at most 4194304") {
		t.Errorf("oversized record: %v", err)
	}
	st, err := read(Options{SkipInvalid: true}, big)
	if err != nil || st.Records != 2 || st.Skipped != 1 {
		t.Errorf("oversized record skipped: %+v %v", st, err)
	}

	// A header that lies about the size: the bytes are counted, not the header.
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	liar := []byte(`{"id":"LIAR"` + strings.Repeat(" ", 1<<20) + `}`)
	hdr := &zip.FileHeader{Name: "liar.json", Method: zip.Store, CompressedSize64: uint64(len(liar)), UncompressedSize64: 10}
	w, err := zw.CreateRaw(hdr)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(liar)
	zw.Close()
	if _, err := read(Options{SkipInvalid: true}, buf.Bytes()); err == nil {
		t.Error("lying header: no error")
	}

	// An entry that expands more than MaxCompressionRatio times ends the
	// read, even under SkipInvalid, before it is decompressed whole.
	bomb := zipOf(t, "a.json", record("A"), "bomb.json", `{"id":"BOMB"`+strings.Repeat(" ", 3<<20)+`}`)
	for _, o := range []Options{{}, {SkipInvalid: true}} {
		if st, err := read(o, bomb); err == nil || !strings.Contains(err.Error(), "bomb.json") || !strings.Contains(err.Error(), "zip bomb") {
			t.Errorf("bomb %+v: %+v %v", o, st, err)
		}
	}

	// Caps on entries and on the total.
	many := zipOf(t, "1.json", record("A"), "2.json", record("B"), "3.json", record("C"))
	if _, err := read(Options{MaxEntries: 2}, many); err == nil || !strings.Contains(err.Error(), "3 entries") {
		t.Errorf("entries cap: %v", err)
	}
	if _, err := read(Options{MaxTotalBytes: int64(2 * len(record("A")))}, many); err == nil || !strings.Contains(err.Error(), "zip bomb") {
		t.Errorf("total cap: %v", err)
	}
	// Garbage is an error, not a panic.
	if _, err := read(Options{}, []byte("PK\x03\x04garbage")); err == nil {
		t.Error("garbage zip: no error")
	}
}

// BenchmarkReadOSVUbuntuZip loads the 15,062-record Ubuntu archive.
func BenchmarkReadOSVUbuntuZip(b *testing.B) {
	path := sharedData(b, "ubuntu-cve-tracker-osv/all.zip")
	for _, bc := range []struct {
		name string
		o    Options
	}{
		{"all", Options{}},
		{"workers=1", Options{Workers: 1}},
		{"prefilter=Ubuntu:18.04", Options{Ecosystems: []string{"Ubuntu:18.04"}}}, // keeps 5,213
		{"prefilter=nomatch", Options{Ecosystems: []string{"Ubuntu:22.04"}}},      // keeps none: the cost of decompressing alone
	} {
		b.Run(bc.name, func(b *testing.B) {
			var n int
			for b.Loop() {
				st, err := bc.o.ReadOSV(context.Background(), path, func(string, patchwave.Advisory) error { return nil })
				if err != nil {
					b.Fatal(err)
				}
				n = st.Records + st.Filtered
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "procs")
		})
	}
}

// bombZip writes n entries of size bytes of spaces each, deflated, with
// headers that tell the truth or, when lie, claim 100 bytes.
func bombZip(t testing.TB, n, size int, lie bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	body := []byte(`{"id":"B","modified":"2024-01-02T03:04:05Z","details":"` + strings.Repeat(" ", size) + `"}`)
	var deflated bytes.Buffer
	fw, _ := flate.NewWriter(&deflated, flate.BestCompression)
	fw.Write(body)
	fw.Close()
	for i := range n {
		hdr := &zip.FileHeader{Name: fmt.Sprintf("r%03d.json", i), Method: zip.Deflate,
			CompressedSize64: uint64(deflated.Len()), UncompressedSize64: uint64(len(body)), CRC32: crc32.ChecksumIEEE(body)}
		if lie {
			hdr.UncompressedSize64, hdr.CRC32 = 100, 0
		}
		w, err := zw.CreateRaw(hdr)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(deflated.Bytes())
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestReadOSVZipBombs reads generated zip bombs like the ones that once
// made an import hold gigabytes: many entries just under the record cap,
// entries whose headers lie about their size, and an archive of many
// small, very compressible entries. Each ends the read with an error
// naming the entry, after little work.
func TestReadOSVZipBombs(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name        string
		z           []byte
		want, want2 string
	}{
		{"many entries of 3 MiB", bombZip(t, 300, 3<<20, false), "r000.json", "zip bomb"},
		{"lying headers", bombZip(t, 50, 3<<20, true), "r000.json", "zip bomb"},
		// 1,000 entries of 900 KiB, each under the per-entry floor: the
		// archive as a whole expands far more than 100 times.
		{"many small entries", bombZip(t, 1000, 900<<10, false), ".json", "zip bomb"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got int
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			st, err := Options{SkipInvalid: true}.ReadOSVZip(ctx, bytes.NewReader(tc.z), int64(len(tc.z)),
				func(string, patchwave.Advisory) error { got++; return nil })
			runtime.ReadMemStats(&m1)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.want2) {
				t.Fatalf("%d bytes: %+v, %v", len(tc.z), st, err)
			}
			// What the workers had in flight when the limit was reached may
			// come on top.
			if st.Bytes > ratioFloorTotal+MaxCompressionRatio*int64(len(tc.z))+64<<20 {
				t.Errorf("decompressed %d bytes of a %d-byte archive before refusing it", st.Bytes, len(tc.z))
			}
			if alloc := m1.TotalAlloc - m0.TotalAlloc; alloc > 512<<20 {
				t.Errorf("allocated %d MiB", alloc>>20)
			}
			t.Logf("%d-byte archive: %v", len(tc.z), err)
		})
	}
}
