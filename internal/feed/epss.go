package feed

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/patchwave/patchwave"
)

// Limits on an EPSS file: the daily file has about 300,000 rows and 10 MB.
const (
	MaxEPSSBytes = 512 << 20 // decompressed
	MaxEPSSRows  = 5_000_000
)

// ParseEPSS reads a FIRST EPSS daily score file
// (https://www.first.org/epss/data_stats), gzip-compressed or plain (told
// apart by the gzip magic bytes), in any of its formats:
//
//   - current (2022-02 on): "#model_version:v2023.03.01,score_date:2023-03-07T00:00:00+0000",
//     then the header "cve,epss,percentile";
//   - 2021-09 to 2022-01: no comment line, "cve,epss,percentile";
//   - 2021-04 to 2021-08: no comment line, "cve,epss" (no percentile).
//
// date is the score_date of the comment line (with a "Z", "+0000" or
// "+00:00" zone, or a bare date), or the zero time when the file has none:
// take it from the file name then (EPSSDateFromName). Each score carries
// the same date. Columns are found by their header names, extra columns
// are ignored; every row needs a well-formed CVE id and scores within
// [0, 1]. Errors name the line.
func ParseEPSS(r io.Reader) (date time.Time, scores []patchwave.EPSS, err error) {
	return parseEPSS(r, MaxEPSSBytes)
}

func parseEPSS(r io.Reader, maxBytes int64) (date time.Time, scores []patchwave.EPSS, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var gz *stickyErr // the gzip stream's first error: a cut file ends with a cut line
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return time.Time{}, nil, invalid("EPSS: bad gzip header: %v", err)
		}
		defer zr.Close()
		gz = &stickyErr{r: zr}
		br = bufio.NewReaderSize(gz, 64<<10)
	}
	lr := &countingLimit{r: br, n: maxBytes, max: maxBytes}
	sc := bufio.NewScanner(lr)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)

	line := 0
	next := func() (string, bool) {
		if !sc.Scan() || lr.over { // over: the last token is a cut line
			return "", false
		}
		line++
		return strings.TrimSuffix(sc.Text(), "\r"), true
	}
	fail := func(format string, args ...any) error {
		if gz != nil && gz.err != nil {
			return invalid("EPSS: gzip data truncated or corrupt after line %d: %v", line-1, gz.err)
		}
		return invalid("EPSS line %d: %s", line, fmt.Sprintf(format, args...))
	}

	text, ok := next()
	for ok && strings.TrimSpace(text) == "" {
		text, ok = next()
	}
	if ok && strings.HasPrefix(text, "#") {
		if date, err = epssComment(text); err != nil {
			return time.Time{}, nil, fail("%v", err)
		}
		text, ok = next()
	}
	if !ok {
		if gz != nil && gz.err != nil {
			return time.Time{}, nil, invalid("EPSS: gzip data truncated or corrupt before the header: %v", gz.err)
		}
		if err := scanErr(sc, lr); err != nil {
			return time.Time{}, nil, err
		}
		return time.Time{}, nil, invalid("EPSS: no header line")
	}
	cveCol, epssCol, pctCol := -1, -1, -1
	header := strings.Split(text, ",")
	for i, h := range header {
		switch strings.TrimSpace(strings.ToLower(h)) {
		case "cve":
			cveCol = i
		case "epss":
			epssCol = i
		case "percentile":
			pctCol = i
		}
	}
	if cveCol < 0 || epssCol < 0 {
		return time.Time{}, nil, fail("header %.80q lacks a cve or epss column", text)
	}
	cols := len(header)

	fields := make([]string, cols)
	for {
		text, ok = next()
		if !ok {
			break
		}
		if text == "" {
			continue
		}
		if len(scores) >= MaxEPSSRows {
			return time.Time{}, nil, fail("more than %d rows: refused", MaxEPSSRows)
		}
		n := 0
		for s := text; ; n++ {
			if n == cols {
				return time.Time{}, nil, fail("more than %d fields", cols)
			}
			i := strings.IndexByte(s, ',')
			if i < 0 {
				fields[n] = s
				n++
				break
			}
			fields[n], s = s[:i], s[i+1:]
		}
		if n != cols {
			return time.Time{}, nil, fail("%d fields, want %d", n, cols)
		}
		e := patchwave.EPSS{CVE: fields[cveCol], Date: date}
		if !IsCVE(e.CVE) {
			return time.Time{}, nil, fail("%.40q is not a CVE id", e.CVE)
		}
		if e.Probability, err = parseUnit(fields[epssCol]); err != nil {
			return time.Time{}, nil, fail("%s: epss %v", e.CVE, err)
		}
		if pctCol >= 0 {
			if e.Percentile, err = parseUnit(fields[pctCol]); err != nil {
				return time.Time{}, nil, fail("%s: percentile %v", e.CVE, err)
			}
		}
		scores = append(scores, e)
	}
	if err := scanErr(sc, lr); err != nil {
		if gz != nil && gz.err != nil {
			return time.Time{}, nil, invalid("EPSS: gzip data truncated or corrupt after line %d: %v", line, gz.err)
		}
		return time.Time{}, nil, fmt.Errorf("EPSS after line %d: %w", line, err)
	}
	return date, scores, nil
}

// stickyErr remembers the first error other than io.EOF that r returned.
type stickyErr struct {
	r   io.Reader
	err error
}

func (s *stickyErr) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}

// scanErr reports why the scanner stopped early, if it did.
func scanErr(sc *bufio.Scanner, lr *countingLimit) error {
	err := sc.Err()
	switch {
	case lr.over:
		return invalid("EPSS data is over %d bytes decompressed: refused", lr.max)
	case errors.Is(err, bufio.ErrTooLong):
		return invalid("EPSS: a line is over 64 KiB")
	case err != nil:
		return fmt.Errorf("read EPSS: %w", err)
	}
	return nil
}

// countingLimit reads at most n bytes from r and records whether r had more.
type countingLimit struct {
	r      io.Reader
	n, max int64
	over   bool
}

func (l *countingLimit) Read(p []byte) (int, error) {
	if l.n <= 0 {
		var one [1]byte
		if k, _ := l.r.Read(one[:]); k > 0 {
			l.over = true
			return 0, errors.New("size limit exceeded")
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	k, err := l.r.Read(p)
	l.n -= int64(k)
	return k, err
}

// epssComment reads the score_date from "#model_version:…,score_date:…".
func epssComment(s string) (time.Time, error) {
	for _, kv := range strings.Split(strings.TrimPrefix(s, "#"), ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), ":")
		if k != "score_date" {
			continue
		}
		for _, layout := range []string{"2006-01-02T15:04:05-0700", time.RFC3339Nano, "2006-01-02T15:04:05", time.DateOnly} {
			if t, err := time.Parse(layout, v); err == nil {
				return t.UTC(), nil
			}
		}
		return time.Time{}, fmt.Errorf("score_date %.40q is not a time", v)
	}
	return time.Time{}, nil // a comment without a date: date unknown
}

// parseUnit parses a score in [0, 1].
func parseUnit(s string) (float64, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || !(f >= 0 && f <= 1) {
		return 0, fmt.Errorf("%.30q is not a number within [0, 1]", s)
	}
	return f, nil
}

// EPSSDateFromName returns the date in an EPSS file name as FIRST names
// them ("epss_scores-2021-04-14.csv.gz"), for the old files that do not
// carry it inside.
func EPSSDateFromName(name string) (time.Time, bool) {
	base := path.Base(strings.ReplaceAll(name, `\`, "/"))
	for i := 0; i+10 <= len(base); i++ {
		if t, err := time.Parse(time.DateOnly, base[i:i+10]); err == nil {
			if i+10 == len(base) || !isDigit(base[i+10]) {
				return t, true
			}
		}
	}
	return time.Time{}, false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
