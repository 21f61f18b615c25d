package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchwave/patchwave"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// sample is the report of the hand-built fleet, with a trend.
func sample() Report {
	m := Compute(fleet())
	prev := Snapshot{Day: "2026-10-31", Hosts: 6, Compliant: 1}
	return Report{Kind: KindCompliance, Title: "Compliance report 2026-11", Period: "2026-11", Metrics: m, Previous: &prev,
		Notes: []string{"Point-in-time figures are as of the report time; the trend shows each day as recorded (a note, with <markup> & a long tail of words to wrap over the width of the page in the PDF rendering, which cuts lines of about 150 bytes)."},
		Trend: []Snapshot{{Day: "2026-11-01", Hosts: 7, Compliant: 1}, {Day: "2026-11-15", Hosts: 7, Compliant: 2, Breaches: 3}, SnapshotOf(m)}}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it); got:\n%s", name, got)
	}
}

func TestGolden(t *testing.T) {
	r := sample()
	for _, f := range []string{FormatJSON, FormatCSV, FormatHTML} {
		var b bytes.Buffer
		if err := r.Write(&b, f); err != nil {
			t.Fatal(err)
		}
		golden(t, "compliance."+f, b.Bytes())
	}
}

func TestCSVReadsBack(t *testing.T) {
	var b bytes.Buffer
	if err := sample().WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range rows {
		if len(r) != len(CSVHeader) {
			t.Fatalf("row %q has %d cells, want %d", r, len(r), len(CSVHeader))
		}
		if r[0] == "metric" && r[1] == "host compliance" {
			found = r[3] == "2" && r[4] == "7" && r[5] == "28.57"
		}
	}
	if !found {
		t.Error("no host compliance row 2/7 = 28.57")
	}
}

// TestHostileNames: names that come from agents and people cannot run as
// spreadsheet formulas, nor as script in the page.
func TestHostileNames(t *testing.T) {
	in := fleet()
	in.Hosts[2].Hostname = `=HYPERLINK("http://evil")`
	in.Hosts[2].Owner = `<script>alert(1)</script>`
	in.Tasks[3].Error = "@SUM(A1)\n"
	r := Report{Kind: KindCompliance, Title: `<b>x</b>`, Metrics: Compute(in), Trend: []Snapshot{{Day: `"><script>`, Hosts: 1}}}
	var c, h bytes.Buffer
	if err := r.WriteCSV(&c); err != nil {
		t.Fatal(err)
	}
	rows, _ := csv.NewReader(&c).ReadAll()
	for _, row := range rows {
		for _, cell := range row {
			if cell != "" && strings.ContainsRune("=+@", rune(cell[0])) {
				t.Errorf("cell %q starts like a formula", cell)
			}
		}
	}
	if err := r.WriteHTML(&h); err != nil {
		t.Fatal(err)
	}
	if s := h.String(); strings.Contains(s, "<script>") || strings.Contains(s, "<b>x</b>") {
		t.Errorf("page carries markup from names:\n%s", s)
	}
	if csvSafe("-3") != "-3" || csvSafe("-x") != "'-x" {
		t.Error("csvSafe: negative numbers stay, the rest is quoted")
	}
}

func TestParseMonth(t *testing.T) {
	from, to, err := ParseMonth("2026-11")
	if err != nil || !from.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)) || !to.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("2026-11: %v %v %v", from, to, err)
	}
	if _, to, _ := ParseMonth("2026-12"); !to.Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("2026-12 ends %v", to)
	}
	for _, s := range []string{"", "2026", "2026-13", "2026-00", "2026-1", "26-11", "1999-12", "2026-11-01", "2026/11", "२०२६-११", "2026-11\n"} {
		if _, _, err := ParseMonth(s); patchwave.ErrorCode(err) != patchwave.EInvalid || !strings.Contains(err.Error(), "2026-11") {
			t.Errorf("ParseMonth(%q) = %v, want an invalid-input error with an example", s, err)
		}
	}
	for _, s := range []string{"docx", "JSON", "json ", "PDF"} {
		if _, err := ParseFormat(s); patchwave.ErrorCode(err) != patchwave.EInvalid {
			t.Errorf("ParseFormat(%q) = %v", s, err)
		}
	}
}

func FuzzParseMonth(f *testing.F) {
	for _, s := range []string{"2026-11", "2026-13", "", "9999-12", "2000-01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		from, to, err := ParseMonth(s)
		if err != nil {
			return
		}
		if from.Day() != 1 || !to.Equal(from.AddDate(0, 1, 0)) || from.Format("2006-01") != s {
			t.Errorf("ParseMonth(%q) = %v, %v", s, from, to)
		}
	})
}

// TestJSONRoundTrip: the JSON export decodes back into the same report.
func TestJSONRoundTrip(t *testing.T) {
	r := sample()
	var b bytes.Buffer
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Metrics.HostCompliance != r.Metrics.HostCompliance || len(back.Trend) != 3 || back.Metrics.TimeToPatch.MedianDays != 8 {
		t.Errorf("round trip: %+v", back.Metrics.HostCompliance)
	}
}

func TestParseRange(t *testing.T) {
	s, e, err := ParseRange("2026-11-01", "2026-11-30")
	if err != nil || !s.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)) || !e.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("dates: %v %v %v", s, e, err)
	}
	s, e, err = ParseRange("2026-11-01T10:00:00+02:00", "")
	if err != nil || !s.Equal(time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)) || !e.IsZero() {
		t.Errorf("time, open end: %v %v %v", s, e, err)
	}
	for _, c := range [][2]string{{"2026-13-01", ""}, {"yesterday", ""}, {"", "2026-02-30"}, {"2026-11-02", "2026-11-01"},
		{strings.Repeat("2", 100), ""}, {"2026-11-01\x00", ""}} {
		if _, _, err := ParseRange(c[0], c[1]); patchwave.ErrorCode(err) != patchwave.EInvalid {
			t.Errorf("ParseRange(%q, %q) = %v", c[0], c[1], err)
		}
	}
}

func FuzzParseRange(f *testing.F) {
	f.Add("2026-11-01", "2026-11-30")
	f.Add("2026-11-01T00:00:00Z", "")
	f.Fuzz(func(t *testing.T, from, to string) {
		s, e, err := ParseRange(from, to)
		if err == nil && !e.IsZero() && !e.After(s) {
			t.Errorf("ParseRange(%q, %q) = [%v, %v): empty", from, to, s, e)
		}
	})
}
