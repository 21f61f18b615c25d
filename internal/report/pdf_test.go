package report

import (
	"bytes"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestPDFStructure checks the document the way a reader finds its way
// through it: startxref points at the table, every entry at its object,
// every stream's Length is its length.
func TestPDFStructure(t *testing.T) {
	var b bytes.Buffer
	r := sample()
	r.Metrics.SLA.BreachList = append(r.Metrics.SLA.BreachList, Item{Host: `we(ird)\host`, Package: "é-ü"})
	for range 80 { // enough lines for a second page
		r.Metrics.Failures = append(r.Metrics.Failures, Count{"dpkg: error", 1})
	}
	if err := r.WritePDF(&b); err != nil {
		t.Fatal(err)
	}
	doc := b.Bytes()
	golden(t, "compliance.pdf", doc)
	if !bytes.HasPrefix(doc, []byte("%PDF-1.4\n")) || !bytes.HasSuffix(doc, []byte("%%EOF\n")) {
		t.Fatal("no PDF header or trailer")
	}
	m := regexp.MustCompile(`startxref\n(\d+)\n%%EOF\n$`).FindSubmatch(doc)
	if m == nil {
		t.Fatal("no startxref")
	}
	xref, _ := strconv.Atoi(string(m[1]))
	if !bytes.HasPrefix(doc[xref:], []byte("xref\n0 ")) {
		t.Fatalf("startxref %d does not point at the table", xref)
	}
	entries := regexp.MustCompile(`(\d{10}) 00000 n `).FindAllSubmatch(doc[xref:], -1)
	for i, e := range entries {
		off, _ := strconv.Atoi(string(e[1]))
		if want := fmt.Sprintf("%d 0 obj\n", i+1); !bytes.HasPrefix(doc[off:], []byte(want)) {
			t.Errorf("xref entry %d points at %q", i+1, doc[off:min(len(doc), off+12)])
		}
	}
	streams := regexp.MustCompile(`(?s)<< /Length (\d+) >>\nstream\n`).FindAllSubmatchIndex(doc, -1)
	if len(streams) < 2 {
		t.Errorf("%d pages, want 2 or more", len(streams))
	}
	for _, s := range streams {
		n, _ := strconv.Atoi(string(doc[s[2]:s[3]]))
		if !bytes.HasPrefix(doc[s[1]+n:], []byte("endstream")) {
			t.Errorf("stream at %d: Length %d is not its length", s[0], n)
		}
	}
	if !bytes.Contains(doc, []byte(`(we\(ird\)\\host`)) || !bytes.Contains(doc, []byte(`\351-\374`)) {
		t.Error("parentheses, backslashes and Latin-1 are not escaped")
	}
}

// TestPDFRenders renders the document with poppler, when installed, and
// checks a page has ink and the text reads back.
func TestPDFRenders(t *testing.T) {
	for _, tool := range []string{"pdftoppm", "pdftotext"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("PATCHWAVE_TEST_REQUIRE_TOOLS") != "" {
				t.Fatalf("%s is missing (poppler-utils)", tool)
			}
			t.Skipf("%s is not installed (apt-get install poppler-utils)", tool)
		}
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "r.pdf")
	var b bytes.Buffer
	if err := sample().WritePDF(&b); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-layout", file, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	for _, want := range []string{"Compliance report 2026-11", "host compliance", "28.57%", "2 of 7", "Time to patch"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
	if out, err := exec.Command("pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", file, filepath.Join(dir, "p")).CombinedOutput(); err != nil || strings.Contains(string(out), "Error") {
		t.Fatalf("pdftoppm: %v\n%s", err, out)
	}
	pngs, _ := filepath.Glob(filepath.Join(dir, "p*.png"))
	if len(pngs) != 1 {
		t.Fatalf("pages rendered: %v", pngs)
	}
	f, _ := os.Open(pngs[0])
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	dark, blue := 0, 0
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r < 0x8000 && g < 0x8000 && bl < 0x8000 {
				dark++
			}
			if bl > r+0x2000 && bl > 0x8000 {
				blue++
			}
		}
	}
	if dark < 200 || blue < 50 {
		t.Errorf("page 1 has %d dark and %d blue pixels: no text or no bars", dark, blue)
	}
}
