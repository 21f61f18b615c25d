package cli

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReportsCommands runs the report verbs against a real server: a CSV
// and an HTML file by extension, JSON on standard output, the text
// summary, and clear errors for bad flags.
func TestReportsCommands(t *testing.T) {
	url := startServer(t)
	te := newTestEnv(t, nil)
	te.login(t, url, "admin", adminPassword)
	dir := t.TempDir()
	month := time.Now().UTC().Format("2006-01")

	csvFile := filepath.Join(dir, "report.csv")
	te.ok(t, "", "reports", "compliance", "--month", month, "--format", "csv", "-o", csvFile)
	f, err := os.Open(csvFile)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(rows) < 10 || rows[0][0] != "section" {
		t.Fatalf("CSV file: %d rows, %v", len(rows), err)
	}
	htmlFile := filepath.Join(dir, "report.html")
	te.ok(t, "", "reports", "compliance", "-o", htmlFile)
	if b, _ := os.ReadFile(htmlFile); !strings.Contains(string(b), "<svg") {
		t.Errorf("HTML file has no chart: %.200s", b)
	}
	pdfFile := filepath.Join(dir, "report.pdf")
	te.ok(t, "", "reports", "compliance", "-o", pdfFile)
	if b, _ := os.ReadFile(pdfFile); !strings.HasPrefix(string(b), "%PDF-1.4") || !strings.HasSuffix(string(b), "%%EOF\n") {
		t.Errorf("PDF file: %.40q", b)
	}
	if out := te.ok(t, "", "reports", "compliance", "-o", "json"); !strings.Contains(out, `"kind": "compliance"`) {
		t.Errorf("-o json: %.200s", out)
	}
	if out := te.ok(t, "", "reports", "compliance"); !strings.Contains(out, "host compliance") || !strings.Contains(out, "Compliance report "+month) {
		t.Errorf("summary: %s", out)
	}
	te.fails(t, "", "not found", "reports", "release", "nope")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"reports", "compliance", "--month", "2026-13"}, "not like 2026-11"},
		{[]string{"reports", "compliance", "--format", "docx"}, `"docx" is not text, json, csv, html or pdf`},
		{[]string{"reports", "compliance", "--format", "text", "-o", "x.txt"}, "leave out -o"},
		{[]string{"reports", "release"}, "missing RELEASE"},
	} {
		if r := te.run(t, "", c.args...); r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: exit %d %q; want 2 with %q", c.args, r.code, r.stderr, c.want)
		}
	}
}
