package api

import (
	"strconv"
	"unsafe"

	"github.com/patchwave/patchwave"
)

// Check-ins with a full package list are the bulk of what the server
// decodes: a thousand packages a host, and encoding/json's reflection
// costs more than storing them. decodeCheckinFast decodes the common
// shape without reflection. It is a fast path only: on anything unusual
// (an escape in a string, a key it does not know or one repeated, a null,
// a number that is not a plain integer, facts or a delta, which are small
// and decoded the usual way) it gives up, and the caller decodes with
// encoding/json, which also words the error. When it succeeds its result
// is encoding/json's: a fuzz test checks this. b is valid UTF-8 (decode
// checks that first).

type fastDec struct {
	b []byte
	i int
}

// decodeCheckinFast decodes b into req, or reports false.
func decodeCheckinFast(b []byte, req *patchwave.CheckinRequest) bool {
	d := fastDec{b: b}
	var out patchwave.CheckinRequest
	seen := 0
	ok := d.object(func(key string) bool {
		var bit int
		switch key {
		case "facts_hash":
			bit = 1
			if !d.str(&out.FactsHash) {
				return false
			}
		case "packages_hash":
			bit = 2
			if !d.str(&out.PackagesHash) {
				return false
			}
		case "base_hash":
			bit = 4
			if !d.str(&out.BaseHash) {
				return false
			}
		case "uptime_seconds":
			bit = 8
			if !d.int64(&out.Uptime) {
				return false
			}
		case "packages":
			bit = 16
			ps := []patchwave.Package{}
			if !d.array(func() bool {
				var p patchwave.Package
				if !d.pkg(&p) {
					return false
				}
				ps = append(ps, p)
				return true
			}) {
				return false
			}
			out.Packages = &ps
		default:
			return false
		}
		if seen&bit != 0 {
			return false // a repeated key: encoding/json keeps the last
		}
		seen |= bit
		return true
	})
	if !ok {
		return false
	}
	d.ws()
	if d.i != len(d.b) {
		return false
	}
	*req = out
	return true
}

func (d *fastDec) pkg(p *patchwave.Package) bool {
	seen := 0
	return d.object(func(key string) bool {
		var bit int
		var s *string
		switch key {
		case "name":
			bit, s = 1, &p.Name
		case "version":
			bit, s = 2, &p.Version
		case "arch":
			bit, s = 4, &p.Arch
		case "source":
			bit, s = 8, &p.Source
		case "source_version":
			bit, s = 16, &p.SourceVersion
		default:
			return false
		}
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		return d.str(s)
	})
}

func (d *fastDec) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *fastDec) consume(c byte) bool {
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// object calls field with each key, positioned at its value.
func (d *fastDec) object(field func(key string) bool) bool {
	if !d.consume('{') {
		return false
	}
	if d.consume('}') {
		return true
	}
	for {
		k, ok := d.rawString()
		if !ok || !d.consume(':') {
			return false
		}
		// The key is only compared: no copy.
		if !field(unsafe.String(unsafe.SliceData(k), len(k))) {
			return false
		}
		if d.consume(',') {
			continue
		}
		return d.consume('}')
	}
}

func (d *fastDec) array(elem func() bool) bool {
	if !d.consume('[') {
		return false
	}
	if d.consume(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if d.consume(',') {
			continue
		}
		return d.consume(']')
	}
}

// rawString returns the bytes of a string without escapes, or false.
func (d *fastDec) rawString() ([]byte, bool) {
	if !d.consume('"') {
		return nil, false
	}
	start := d.i
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			s := d.b[start:d.i]
			d.i++
			return s, true
		case c == '\\' || c < 0x20:
			return nil, false // escapes and control characters: the slow path
		}
		d.i++
	}
	return nil, false
}

func (d *fastDec) str(s *string) bool {
	b, ok := d.rawString()
	if ok {
		*s = string(b)
	}
	return ok
}

// int64 reads a plain integer, as encoding/json reads one into an int64.
func (d *fastDec) int64(v *int64) bool {
	d.ws()
	start := d.i
	if d.i < len(d.b) && d.b[d.i] == '-' {
		d.i++
	}
	digits := d.i
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		d.i++
	}
	if d.i == digits || (d.b[digits] == '0' && d.i-digits > 1) {
		return false // no digits, or a leading zero
	}
	if d.i < len(d.b) && (d.b[d.i] == '.' || d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		return false
	}
	n, err := strconv.ParseInt(string(d.b[start:d.i]), 10, 64)
	if err != nil {
		return false
	}
	*v = n
	return true
}

// decodeCheckin decodes a check-in request body: the fast path, or
// encoding/json's strict decoding.
func decodeCheckin(b []byte, req *patchwave.CheckinRequest) error {
	if decodeCheckinFast(b, req) {
		return nil
	}
	return strictJSON(b, req)
}
