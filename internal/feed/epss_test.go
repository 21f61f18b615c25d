package feed

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseEPSSReal(t *testing.T) {
	dir := sharedData(t, "epss")
	day := func(s string) time.Time { t, _ := time.Parse(time.DateOnly, s); return t }
	for _, tc := range []struct {
		file       string
		date       time.Time // from inside the file
		n          int
		percentile bool
		first      float64
	}{
		{"epss_example-1.csv", day("2025-02-20"), 5, true, 0.00383},
		{"epss_scores-2021-04-14.csv.gz", time.Time{}, 2, false, 0.65117},
		{"epss_scores-2021-09-01.csv.gz", time.Time{}, 2, true, 0.65117},
		{"epss_scores-2022-02-04.csv.gz", day("2022-02-04"), 2, true, 0.96817},
		{"epss_scores-2023-03-07.csv.gz", day("2023-03-07"), 2, true, 0.97567},
	} {
		t.Run(tc.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join(dir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			date, scores, err := ParseEPSS(f)
			if err != nil {
				t.Fatal(err)
			}
			if !date.Equal(tc.date) || len(scores) != tc.n || scores[0].Probability != tc.first ||
				(scores[0].Percentile != 0) != tc.percentile || !scores[0].Date.Equal(tc.date) {
				t.Errorf("date %v, %d scores, first %+v", date, len(scores), scores[0])
			}
			if d, ok := EPSSDateFromName(tc.file); strings.HasPrefix(tc.file, "epss_scores") && (!ok || (!tc.date.IsZero() && !d.Equal(tc.date))) {
				t.Errorf("EPSSDateFromName = %v %v", d, ok)
			}
		})
	}
}

func TestParseEPSSFormats(t *testing.T) {
	for _, tc := range []struct{ name, in, date, want string }{
		{"zulu", "#model_version:v2022.01.01,score_date:2022-02-04T00:00:00Z\ncve,epss,percentile\nCVE-2020-5902,0.5,0.9\n", "2022-02-04", ""},
		{"plus0000", "#model_version:v2023.03.01,score_date:2023-03-07T00:00:00+0000\r\ncve,epss,percentile\r\nCVE-2020-5902,0.5,0.9\r\n", "2023-03-07", ""},
		{"colon zone", "#score_date:2023-03-07T00:00:00+00:00\ncve,epss,percentile\nCVE-2020-5902,0.5,0.9", "2023-03-07", ""},
		{"reordered", "percentile,cve,epss,extra\n0.9,CVE-2020-5902,0.5,x\n", "", ""},
		{"no header", "", "", "no header"},
		{"bad header", "a,b\n", "", "lacks a cve"},
		{"bad date", "#score_date:yesterday\ncve,epss\n", "", "line 1: score_date"},
		{"bad cve", "cve,epss\nCVE-2020-5902,0.5\nXSS-1,0.1\n", "", "line 3: \"XSS-1\" is not a CVE id"},
		{"range", "cve,epss\nCVE-2020-5902,1.5\n", "", "line 2: CVE-2020-5902: epss"},
		{"nan", "cve,epss,percentile\nCVE-2020-5902,0.5,NaN\n", "", "percentile"},
		{"short", "cve,epss,percentile\nCVE-2020-5902,0.5\n", "", "2 fields, want 3"},
		{"long", "cve,epss\nCVE-2020-5902,0.5,1\n", "", "more than 2 fields"},
		{"long line", "cve,epss\n" + strings.Repeat("x", 70000) + "\n", "", "over 64 KiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			date, scores, err := ParseEPSS(strings.NewReader(tc.in))
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("error %v, want %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(scores) != 1 || scores[0].Probability != 0.5 || scores[0].Percentile != 0.9 || scores[0].CVE != "CVE-2020-5902" {
				t.Errorf("scores %+v", scores)
			}
			if (tc.date == "" && !date.IsZero()) || (tc.date != "" && date.Format(time.DateOnly) != tc.date) {
				t.Errorf("date %v, want %s", date, tc.date)
			}
		})
	}
}

func TestParseEPSSGzipBomb(t *testing.T) {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write([]byte("cve,epss\n"))
	line := []byte("CVE-2020-5902,0.5\n")
	for range 1<<20/len(line) + 1 {
		zw.Write(line)
	}
	zw.Close()
	_, _, err := parseEPSS(&buf, 1<<20)
	if err == nil || !(strings.Contains(err.Error(), "over") || strings.Contains(err.Error(), "rows")) {
		t.Errorf("bomb: %v", err)
	}
	if _, _, err := ParseEPSS(bytes.NewReader([]byte{0x1f, 0x8b, 1, 2, 3})); err == nil {
		t.Error("broken gzip: no error")
	}
}

// TestParseEPSSTruncatedGzip cuts a gzip file anywhere, the trailer
// included: never fewer scores, always an error saying so.
func TestParseEPSSTruncatedGzip(t *testing.T) {
	var plain strings.Builder
	plain.WriteString("cve,epss,percentile\n")
	for i := range 3000 {
		fmt.Fprintf(&plain, "CVE-2024-%05d,0.%04d,0.5\n", i+1000, i)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(plain.String()))
	zw.Close()
	full := gz.Bytes()
	if _, scores, err := ParseEPSS(bytes.NewReader(full)); err != nil || len(scores) != 3000 {
		t.Fatalf("whole file: %d %v", len(scores), err)
	}
	for _, n := range []int{len(full) - 1, len(full) - 4, len(full) - 8, len(full) - 9, len(full) / 2, 40} {
		_, scores, err := ParseEPSS(bytes.NewReader(full[:n]))
		if err == nil || !strings.Contains(err.Error(), "truncated") || scores != nil {
			t.Errorf("cut at %d of %d: %d scores, %v", n, len(full), len(scores), err)
		}
	}
}

func FuzzParseEPSS(f *testing.F) {
	f.Add([]byte("#model_version:v2023.03.01,score_date:2023-03-07T00:00:00+0000\ncve,epss,percentile\nCVE-2020-5902,0.97567,0.99995\n"))
	f.Add([]byte("cve,epss\nCVE-2020-5902,0.65117\n"))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("cve,epss,percentile\nCVE-2020-5902,0.65117,0.99\n"))
	zw.Close()
	f.Add(gz.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		_, scores, err := ParseEPSS(bytes.NewReader(b))
		if err != nil {
			return
		}
		for _, s := range scores {
			if !IsCVE(s.CVE) || s.Probability < 0 || s.Probability > 1 {
				t.Fatalf("accepted %+v", s)
			}
		}
	})
}
