package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
)

// writeJSON prints v as indented JSON, the stable output of -o json.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeJSONLines writes vs as a JSON array with one compact element per
// line: as valid as writeJSON's output, a line per record for grep, and
// far cheaper to write when there are hundreds of thousands.
func writeJSONLines[T any](w io.Writer, vs []T) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	if len(vs) == 0 {
		bw.WriteString("[]\n")
		return bw.Flush()
	}
	for i, v := range vs {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if i == 0 {
			bw.WriteString("[\n")
		} else {
			bw.WriteString(",\n")
		}
		bw.Write(b)
	}
	bw.WriteString("\n]\n")
	return bw.Flush()
}

// table prints aligned columns.
type table struct {
	tw *tabwriter.Writer
}

// newTable starts a table with a header row.
func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	t.row(header...)
	return t
}

// row adds a row; empty cells show as "-".
func (t *table) row(cells ...string) {
	for i, c := range cells {
		c = cell(c)
		if c == "" {
			c = "-"
		}
		if i > 0 {
			io.WriteString(t.tw, "\t")
		}
		io.WriteString(t.tw, c)
	}
	io.WriteString(t.tw, "\n")
}

// flush writes the table out.
func (t *table) flush() error { return t.tw.Flush() }

// cell makes a value from the server safe to print in a table: no tabs,
// newlines or terminal control sequences.
func cell(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return '?'
		}
		return r
	}, s)
}

// kv prints key-value lines, aligned.
type kv struct {
	tw *tabwriter.Writer
}

func newKV(w io.Writer) *kv {
	return &kv{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
}

// line adds "key: value"; empty values show as "-".
func (k *kv) line(key, value string) {
	value = cell(value)
	if value == "" {
		value = "-"
	}
	fmt.Fprintf(k.tw, "%s:\t%s\n", key, value)
}

func (k *kv) flush() error { return k.tw.Flush() }

// when formats a time for a table, in local time to the minute.
func when(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Local().Format("2006-01-02 15:04")
}

// whenPtr is when for optional times, with text for nil.
func whenPtr(t *time.Time, none string) string {
	if t == nil || t.IsZero() {
		return none
	}
	return when(*t)
}

// ago formats how long before now t was: "45s ago", "3m ago", "2h ago", "5d ago".
func ago(t *time.Time, now time.Time, none string) string {
	if t == nil || t.IsZero() {
		return none
	}
	d := now.Sub(*t)
	switch {
	case d < 0:
		return when(*t)
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d/time.Hour))
	}
	return fmt.Sprintf("%dd ago", int(d/(24*time.Hour)))
}

// list joins a list for a table cell.
func list(s []string) string { return strings.Join(s, ",") }
