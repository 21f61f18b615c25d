package feed

import (
	"encoding/json"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/patchwave/patchwave"
)

// This file decodes OSV records without reflection, a few times faster
// than encoding/json, which dominated loading a large archive. It is a
// fast path only: it gives up (ok == false) on anything unusual — a key
// that differs from a field name only by case, a repeated key, a null
// where a value is expected, a wrong type, a syntax error — and ParseOSV
// then decodes with encoding/json, which also words the error. When it
// succeeds, its result is exactly encoding/json's: a fuzz test and the
// real archives check this.

// maxFastDepth bounds the nesting the fast path follows (encoding/json
// allows 10,000; deeper records take the slow path).
const maxFastDepth = 512

type osvDecoder struct {
	b     []byte
	i     int
	depth int
}

// decodeOSVFast decodes b into an Advisory, or reports ok == false.
func decodeOSVFast(b []byte) (a patchwave.Advisory, ok bool) {
	d := osvDecoder{b: b}
	if !d.advisory(&a) {
		return patchwave.Advisory{}, false
	}
	d.ws()
	if d.i != len(d.b) {
		return patchwave.Advisory{}, false
	}
	return a, true
}

func (d *osvDecoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, or 0 at the end.
func (d *osvDecoder) peek() byte {
	d.ws()
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

func (d *osvDecoder) consume(c byte) bool {
	if d.peek() == c {
		d.i++
		return true
	}
	return false
}

// object calls field for each key of an object; field decodes the value.
// Keys must be distinct; a key that matches no field exactly must not
// match one case-insensitively either (encoding/json would use it).
func (d *osvDecoder) object(names []string, field func(k int) bool) bool {
	if !d.consume('{') {
		return false
	}
	if d.depth++; d.depth > maxFastDepth {
		return false
	}
	defer func() { d.depth-- }()
	var seen uint64
	if d.consume('}') {
		return true
	}
	for {
		key, ok := d.rawString()
		if !ok || !d.consume(':') {
			return false
		}
		k := -1
		for j, n := range names {
			if string(key) == n {
				k = j
				break
			}
		}
		if k < 0 {
			if !asciiKey(key) {
				return false // escapes or Unicode: let encoding/json fold it
			}
			for _, n := range names {
				if strings.EqualFold(string(key), n) {
					return false
				}
			}
			if !d.skip() {
				return false
			}
		} else {
			if seen&(1<<k) != 0 {
				return false
			}
			seen |= 1 << k
			if d.peek() == 'n' || !field(k) {
				return false // null, or not the expected type
			}
		}
		switch d.peek() {
		case ',':
			d.i++
		case '}':
			d.i++
			return true
		default:
			return false
		}
	}
}

// asciiKey reports whether a raw key is plain printable ASCII without
// escapes, so that comparing it as it stands is what encoding/json does.
func asciiKey(k []byte) bool {
	for _, c := range k {
		if c < 0x20 || c >= 0x80 || c == '\\' {
			return false
		}
	}
	return true
}

// array calls elem for each element of an array.
func (d *osvDecoder) array(elem func() bool) bool {
	if !d.consume('[') {
		return false
	}
	if d.depth++; d.depth > maxFastDepth {
		return false
	}
	defer func() { d.depth-- }()
	if d.consume(']') {
		return true
	}
	for {
		if d.peek() == 'n' || !elem() {
			return false
		}
		switch d.peek() {
		case ',':
			d.i++
		case ']':
			d.i++
			return true
		default:
			return false
		}
	}
}

// rawString reads a string token and returns its content unescaped when
// it has no escapes (the common case), or ok == false.
func (d *osvDecoder) rawString() ([]byte, bool) {
	if !d.consume('"') {
		return nil, false
	}
	start := d.i
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			return d.b[start : d.i-1], true
		case c == '\\' || c < 0x20:
			return nil, false
		}
		d.i++
	}
	return nil, false
}

// str decodes a string value into *s.
func (d *osvDecoder) str(s *string) bool {
	if d.peek() != '"' {
		return false
	}
	start := d.i
	d.i++
	ascii := true
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			raw := d.b[start+1 : d.i-1]
			if !ascii && !utf8.Valid(raw) {
				return d.slowString(start, s)
			}
			*s = string(raw)
			return true
		case c == '\\':
			return d.slowString(start, s)
		case c < 0x20:
			return false
		case c >= 0x80:
			ascii = false
		}
		d.i++
	}
	return false
}

// slowString decodes the string token starting at start, with escapes
// or invalid UTF-8, exactly as encoding/json does: invalid bytes and
// unpaired surrogates become U+FFFD.
func (d *osvDecoder) slowString(start int, s *string) bool {
	d.i = start
	if !d.skipString() { // checks the escapes
		return false
	}
	in := d.b[start+1 : d.i-1]
	out := make([]byte, 0, len(in)+8)
	for r := 0; r < len(in); {
		c := in[r]
		switch {
		case c == '\\':
			r++
			switch e := in[r]; e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				rr := hex4(in[r+1 : r+5])
				r += 4
				if utf16.IsSurrogate(rr) {
					if r+7 <= len(in) && in[r+1] == '\\' && in[r+2] == 'u' && isHex4(in[r+3:r+7]) {
						if dec := utf16.DecodeRune(rr, hex4(in[r+3:r+7])); dec != unicode.ReplacementChar {
							out = utf8.AppendRune(out, dec)
							r += 7
							continue
						}
					}
					rr = unicode.ReplacementChar
				}
				out = utf8.AppendRune(out, rr)
			}
			r++
		case c < utf8.RuneSelf:
			out = append(out, c)
			r++
		default:
			rr, size := utf8.DecodeRune(in[r:])
			out = utf8.AppendRune(out, rr)
			r += size
		}
	}
	*s = string(out)
	return true
}

func isHex4(b []byte) bool {
	return len(b) == 4 && isHex(b[0]) && isHex(b[1]) && isHex(b[2]) && isHex(b[3])
}

// hex4 reads four hex digits (already checked).
func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		default:
			c = c - 'A' + 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

func (d *osvDecoder) strings(out *[]string) bool {
	v := make([]string, 0, 4)
	ok := d.array(func() bool {
		var s string
		if !d.str(&s) {
			return false
		}
		v = append(v, s)
		return true
	})
	*out = v
	return ok
}

// timeValue decodes a time as time.Time.UnmarshalJSON does.
func (d *osvDecoder) timeValue(t *time.Time) bool {
	d.ws()
	start := d.i
	if !d.skipString() {
		return false
	}
	return t.UnmarshalJSON(d.b[start:d.i]) == nil
}

func (d *osvDecoder) timePtr(t **time.Time) bool {
	var v time.Time
	if !d.timeValue(&v) {
		return false
	}
	*t = &v
	return true
}

// raw copies a value as json.RawMessage does.
func (d *osvDecoder) raw(m *json.RawMessage) bool {
	d.ws()
	start := d.i
	if !d.skip() {
		return false
	}
	*m = append(json.RawMessage(nil), d.b[start:d.i]...)
	return true
}

var advisoryFields = []string{"schema_version", "id", "modified", "published", "withdrawn", "aliases", "upstream",
	"related", "summary", "details", "severity", "affected", "references", "database_specific"}

func (d *osvDecoder) advisory(a *patchwave.Advisory) bool {
	return d.object(advisoryFields, func(k int) bool {
		switch k {
		case 0:
			return d.str(&a.SchemaVersion)
		case 1:
			return d.str(&a.ID)
		case 2:
			return d.timeValue(&a.Modified)
		case 3:
			return d.timePtr(&a.Published)
		case 4:
			return d.timePtr(&a.Withdrawn)
		case 5:
			return d.strings(&a.Aliases)
		case 6:
			return d.strings(&a.Upstream)
		case 7:
			return d.strings(&a.Related)
		case 8:
			return d.str(&a.Summary)
		case 9:
			return d.str(&a.Details)
		case 10:
			return d.severities(&a.Severity)
		case 11:
			v := make([]patchwave.Affected, 0, 4)
			ok := d.array(func() bool {
				v = append(v, patchwave.Affected{})
				return d.affected(&v[len(v)-1])
			})
			a.Affected = v
			return ok
		case 12:
			v := make([]patchwave.Reference, 0, 4)
			ok := d.array(func() bool {
				var r patchwave.Reference
				ok := d.object(typeURL, func(k int) bool {
					if k == 0 {
						return d.str(&r.Type)
					}
					return d.str(&r.URL)
				})
				v = append(v, r)
				return ok
			})
			a.References = v
			return ok
		case 13:
			return d.raw(&a.DatabaseSpecific)
		}
		return false
	})
}

var (
	typeURL        = []string{"type", "url"}
	typeScore      = []string{"type", "score"}
	affectedFields = []string{"package", "ranges", "versions", "severity", "ecosystem_specific", "database_specific"}
	packageFields  = []string{"ecosystem", "name", "purl"}
	rangeFields    = []string{"type", "repo", "events"}
	eventFields    = []string{"introduced", "fixed", "last_affected", "limit"}
)

func (d *osvDecoder) severities(out *[]patchwave.AdvisorySeverity) bool {
	v := make([]patchwave.AdvisorySeverity, 0, 2)
	ok := d.array(func() bool {
		var s patchwave.AdvisorySeverity
		ok := d.object(typeScore, func(k int) bool {
			if k == 0 {
				return d.str(&s.Type)
			}
			return d.str(&s.Score)
		})
		v = append(v, s)
		return ok
	})
	*out = v
	return ok
}

func (d *osvDecoder) affected(af *patchwave.Affected) bool {
	return d.object(affectedFields, func(k int) bool {
		switch k {
		case 0:
			p := &af.Package
			return d.object(packageFields, func(k int) bool {
				switch k {
				case 0:
					return d.str(&p.Ecosystem)
				case 1:
					return d.str(&p.Name)
				}
				return d.str(&p.Purl)
			})
		case 1:
			v := make([]patchwave.Range, 0, 1)
			ok := d.array(func() bool {
				v = append(v, patchwave.Range{})
				return d.rangeValue(&v[len(v)-1])
			})
			af.Ranges = v
			return ok
		case 2:
			return d.strings(&af.Versions)
		case 3:
			return d.severities(&af.Severity)
		case 4:
			return d.raw(&af.EcosystemSpecific)
		case 5:
			return d.raw(&af.DatabaseSpecific)
		}
		return false
	})
}

func (d *osvDecoder) rangeValue(r *patchwave.Range) bool {
	return d.object(rangeFields, func(k int) bool {
		switch k {
		case 0:
			return d.str(&r.Type)
		case 1:
			return d.str(&r.Repo)
		}
		v := make([]patchwave.Event, 0, 2)
		ok := d.array(func() bool {
			var e patchwave.Event
			ok := d.object(eventFields, func(k int) bool {
				switch k {
				case 0:
					return d.str(&e.Introduced)
				case 1:
					return d.str(&e.Fixed)
				case 2:
					return d.str(&e.LastAffected)
				}
				return d.str(&e.Limit)
			})
			v = append(v, e)
			return ok
		})
		r.Events = v
		return ok
	})
}

// skip passes over one JSON value, checking its syntax as strictly as
// encoding/json does.
func (d *osvDecoder) skip() bool {
	switch c := d.peek(); {
	case c == '"':
		return d.skipString()
	case c == '{':
		d.i++
		if d.depth++; d.depth > maxFastDepth {
			return false
		}
		defer func() { d.depth-- }()
		if d.consume('}') {
			return true
		}
		for {
			if d.peek() != '"' || !d.skipString() || !d.consume(':') || !d.skip() {
				return false
			}
			switch d.peek() {
			case ',':
				d.i++
			case '}':
				d.i++
				return true
			default:
				return false
			}
		}
	case c == '[':
		d.i++
		if d.depth++; d.depth > maxFastDepth {
			return false
		}
		defer func() { d.depth-- }()
		if d.consume(']') {
			return true
		}
		for {
			if !d.skip() {
				return false
			}
			switch d.peek() {
			case ',':
				d.i++
			case ']':
				d.i++
				return true
			default:
				return false
			}
		}
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return d.skipNumber()
	}
	return false
}

func (d *osvDecoder) literal(lit string) bool {
	if len(d.b)-d.i >= len(lit) && string(d.b[d.i:d.i+len(lit)]) == lit {
		d.i += len(lit)
		return true
	}
	return false
}

// skipString passes over a string token at d.i, checking its escapes.
func (d *osvDecoder) skipString() bool {
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return false
	}
	d.i++
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			return true
		case c < 0x20:
			return false
		case c == '\\':
			d.i++
			if d.i >= len(d.b) {
				return false
			}
			switch d.b[d.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(d.b)-d.i < 5 {
					return false
				}
				for _, h := range d.b[d.i+1 : d.i+5] {
					if !isHex(h) {
						return false
					}
				}
				d.i += 4
			default:
				return false
			}
		}
		d.i++
	}
	return false
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// skipNumber passes over a number: -?(0|[1-9]d*)(.d+)?([eE][+-]?d+)?
func (d *osvDecoder) skipNumber() bool {
	digits := func() int {
		n := 0
		for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
			d.i++
			n++
		}
		return n
	}
	if d.b[d.i] == '-' {
		d.i++
	}
	if d.i < len(d.b) && d.b[d.i] == '0' {
		d.i++
	} else if digits() == 0 {
		return false
	}
	if d.i < len(d.b) && d.b[d.i] == '.' {
		d.i++
		if digits() == 0 {
			return false
		}
	}
	if d.i < len(d.b) && (d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		d.i++
		if d.i < len(d.b) && (d.b[d.i] == '+' || d.b[d.i] == '-') {
			d.i++
		}
		if digits() == 0 {
			return false
		}
	}
	return true
}
