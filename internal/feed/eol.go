package feed

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/patchwave/patchwave"
)

// EOL is the end of support of one release of an operating system.
type EOL struct {
	Product string // os-release ID: debian, ubuntu, almalinux, rocky, rhel, sles, alpine, windows-server
	Cycle   string // the release: "12", "22.04", "9", "15.6", "3.19", "2022"
	// EOL is when the vendor's regular security support ends: Debian
	// security support, Ubuntu standard support, RHEL maintenance
	// support, a SLES service pack's general support, Windows Server
	// extended support. Zero when no date is announced.
	EOL time.Time
	// ExtendedEOL is when paid or community extended support ends, if
	// there is one: Debian LTS, Ubuntu Pro (ESM), RHEL ELS, SLES LTSS,
	// Windows Server ESU.
	ExtendedEOL *time.Time
	// Ended is true when the source says support has ended without
	// giving a date (endoflife.date's "eol": true).
	Ended  bool
	Source string // where the dates come from
}

// Supported reports whether the release still has regular security
// support at t: support ends when the EOL day begins (UTC).
func (e EOL) Supported(t time.Time) bool {
	if e.Ended {
		return false
	}
	return e.EOL.IsZero() || t.Before(e.EOL)
}

// ExtendedSupported reports whether the release has regular or extended
// support at t.
func (e EOL) ExtendedSupported(t time.Time) bool {
	if e.ExtendedEOL != nil && t.Before(*e.ExtendedEOL) {
		return true
	}
	return e.Supported(t)
}

// builtinSource names where BuiltinEOL's dates were copied from.
const builtinSource = "endoflife.date products/*.md at a70eca337600e7d721dc48112c271f98661d208b"

// BuiltinEOL returns the end-of-support dates of the releases Patchwave
// supports, as known when this table was written (copied from
// endoflife.date; a test checks them against its files). Refresh them
// with ParseEndOfLife on endoflife.date's API where the network allows.
// The slice is new on each call.
func BuiltinEOL() []EOL {
	rows := []struct{ product, cycle, eol, extended string }{
		{"debian", "10", "2022-09-10", "2024-06-30"},
		{"debian", "11", "2024-08-14", "2026-08-31"},
		{"debian", "12", "2026-07-11", "2028-06-30"},
		{"debian", "13", "2028-08-09", "2030-06-30"},
		{"ubuntu", "18.04", "2023-05-31", "2028-04-01"},
		{"ubuntu", "20.04", "2025-05-31", "2030-04-02"},
		{"ubuntu", "22.04", "2027-04-01", "2032-04-09"},
		{"ubuntu", "24.04", "2029-05-31", "2036-05-31"},
		{"ubuntu", "26.04", "2031-04-30", "2036-04-30"},
		{"rhel", "8", "2029-05-31", "2033-05-31"},
		{"rhel", "9", "2032-05-31", "2036-05-31"},
		{"rhel", "10", "2035-05-31", "2039-05-31"},
		{"almalinux", "8", "2029-05-31", ""},
		{"almalinux", "9", "2032-05-31", ""},
		{"almalinux", "10", "2035-05-31", ""},
		{"rocky", "8", "2029-05-31", ""},
		{"rocky", "9", "2032-05-31", ""},
		{"rocky", "10", "2035-05-31", ""},
		{"sles", "12.5", "2024-10-31", "2027-10-31"},
		{"sles", "15.3", "2022-12-31", "2025-12-31"},
		{"sles", "15.4", "2023-12-31", "2026-12-31"},
		{"sles", "15.5", "2024-12-31", "2027-12-31"},
		{"sles", "15.6", "2025-12-31", "2028-12-31"},
		{"sles", "15.7", "2031-07-31", "2034-07-31"},
		{"sles", "16.0", "2027-11-30", "2030-11-30"},
		{"alpine", "3.18", "2025-05-09", ""},
		{"alpine", "3.19", "2025-11-01", ""},
		{"alpine", "3.20", "2026-04-01", ""},
		{"alpine", "3.21", "2026-11-01", ""},
		{"alpine", "3.22", "2027-05-01", ""},
		{"alpine", "3.23", "2027-11-01", ""},
		{"alpine", "3.24", "2028-06-01", ""},
		{"windows-server", "2016", "2027-01-12", "2030-01-12"},
		{"windows-server", "2019", "2029-01-09", ""},
		{"windows-server", "2022", "2031-10-14", ""},
		{"windows-server", "2025", "2034-11-14", ""},
	}
	out := make([]EOL, len(rows))
	for i, r := range rows {
		e := EOL{Product: r.product, Cycle: r.cycle, Source: builtinSource}
		e.EOL, _ = time.Parse(time.DateOnly, r.eol)
		if r.extended != "" {
			x, _ := time.Parse(time.DateOnly, r.extended)
			e.ExtendedEOL = &x
		}
		out[i] = e
	}
	return out
}

// eolProducts maps os-release IDs to endoflife.date product names.
var eolProducts = map[string]string{
	"debian": "debian", "ubuntu": "ubuntu", "almalinux": "almalinux", "rocky": "rocky-linux",
	"rhel": "rhel", "sles": "sles", "alpine": "alpine-linux", "windows-server": "windows-server",
}

// eolProductID maps an endoflife.date product name (or alias) to the
// os-release ID used in EOL.Product; names it does not know pass through.
func eolProductID(name string) string {
	switch name {
	case "rocky-linux", "rockylinux":
		return "rocky"
	case "alpine-linux", "alpinelinux":
		return "alpine"
	case "redhat":
		return "rhel"
	case "windowsserver":
		return "windows-server"
	}
	return name
}

// MaxEOLBytes bounds an endoflife.date response read by ParseEndOfLife.
const MaxEOLBytes = 64 << 20

// ParseEndOfLife reads end-of-life data in one of endoflife.date's API
// formats and returns the rows of product (an os-release ID such as
// "rocky", or an endoflife.date name such as "rocky-linux"):
//
//   - v0, /api/{product}.json: an array of cycles with "cycle", "eol"
//     (a date, or a boolean) and "extendedSupport" (a date or a boolean);
//   - v1, /api/v1/products/{product} ({"result": {…, "releases": […]}})
//     and /api/v1/products/full ({"result": [{"name": …, "releases": […]}]}),
//     with "name", "eolFrom"/"isEol" and "eoesFrom".
//
// Rows carry product's os-release ID. A product absent from a v1
// document is an error.
func ParseEndOfLife(r io.Reader, product string) ([]EOL, error) {
	b, err := readAllCapped(r, MaxEOLBytes, "end-of-life data")
	if err != nil {
		return nil, err
	}
	id := eolProductID(product)
	name := product
	if n, ok := eolProducts[product]; ok {
		name = n
	}
	source := "endoflife.date " + name
	t := bytes.TrimLeft(b, " \t\r\n\ufeff")
	if len(t) > 0 && t[0] == '[' {
		var cycles []eolV0
		if err := json.Unmarshal(b, &cycles); err != nil {
			return nil, invalid("end-of-life %s (v0): %s", name, jsonError(b, err))
		}
		out := make([]EOL, 0, len(cycles))
		for i, c := range cycles {
			e, err := c.eol(id, source)
			if err != nil {
				return nil, invalid("end-of-life %s (v0) cycle %d %q: %v", name, i, string(c.Cycle), err)
			}
			out = append(out, e)
		}
		return out, nil
	}
	var doc struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, invalid("end-of-life %s: %s", name, jsonError(b, err))
	}
	var products []eolV1Product
	switch rt := bytes.TrimLeft(doc.Result, " \t\r\n"); {
	case len(rt) > 0 && rt[0] == '[':
		err = json.Unmarshal(doc.Result, &products)
	case len(rt) > 0 && rt[0] == '{':
		var p eolV1Product
		err = json.Unmarshal(doc.Result, &p)
		products = []eolV1Product{p}
	default:
		return nil, invalid("end-of-life %s: neither a v0 array nor a v1 document with a result", name)
	}
	if err != nil {
		return nil, invalid("end-of-life %s (v1): %v", name, err)
	}
	for _, p := range products {
		if p.Name != name && p.Name != product && eolProductID(p.Name) != id && !contains(p.Aliases, name) {
			continue
		}
		out := make([]EOL, 0, len(p.Releases))
		for i, rel := range p.Releases {
			e, err := rel.eol(id, source)
			if err != nil {
				return nil, invalid("end-of-life %s (v1) release %d %q: %v", name, i, rel.Name, err)
			}
			out = append(out, e)
		}
		return out, nil
	}
	return nil, patchwave.Errorf(patchwave.ENotFound, "end-of-life data has no product %q", name)
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// eolV0 is one cycle of endoflife.date's v0 API.
type eolV0 struct {
	Cycle           eolString `json:"cycle"`
	EOL             eolDate   `json:"eol"`
	ExtendedSupport eolDate   `json:"extendedSupport"`
}

func (c eolV0) eol(id, source string) (EOL, error) {
	if c.Cycle == "" {
		return EOL{}, fmt.Errorf("no cycle")
	}
	e := EOL{Product: id, Cycle: string(c.Cycle), EOL: c.EOL.Date, Ended: c.EOL.Date.IsZero() && c.EOL.Bool, Source: source}
	if !c.ExtendedSupport.Date.IsZero() {
		x := c.ExtendedSupport.Date
		e.ExtendedEOL = &x
	}
	return e, nil
}

// eolV1Product is one product of endoflife.date's v1 API.
type eolV1Product struct {
	Name     string         `json:"name"`
	Aliases  []string       `json:"aliases"`
	Releases []eolV1Release `json:"releases"`
}

// eolV1Release is one release of a v1 product.
type eolV1Release struct {
	Name     string  `json:"name"`
	IsEOL    *bool   `json:"isEol"`
	EOLFrom  eolDate `json:"eolFrom"`
	EOESFrom eolDate `json:"eoesFrom"`
}

func (r eolV1Release) eol(id, source string) (EOL, error) {
	if r.Name == "" {
		return EOL{}, fmt.Errorf("no name")
	}
	e := EOL{Product: id, Cycle: r.Name, EOL: r.EOLFrom.Date, Source: source}
	e.Ended = e.EOL.IsZero() && (r.EOLFrom.Bool || (r.IsEOL != nil && *r.IsEOL))
	if !r.EOESFrom.Date.IsZero() {
		x := r.EOESFrom.Date
		e.ExtendedEOL = &x
	}
	return e, nil
}

// eolString is a cycle name, which some v0 products give as a number.
type eolString string

func (s *eolString) UnmarshalJSON(b []byte) error {
	var str string
	if err := json.Unmarshal(b, &str); err == nil {
		*s = eolString(str)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("cycle %.20s is neither a string nor a number", b)
	}
	*s = eolString(n.String())
	return nil
}

// eolDate is endoflife.date's date-or-boolean: "2029-05-31", true
// (ended, date unknown), false (no end announced), or null.
type eolDate struct {
	Date time.Time
	Bool bool
}

func (d *eolDate) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case "null", "false":
		*d = eolDate{}
		return nil
	case "true":
		*d = eolDate{Bool: true}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("%.30s is neither a date nor a boolean", b)
	}
	t, err := parseDay(s)
	if err != nil {
		return err
	}
	*d = eolDate{Date: t, Bool: true}
	return nil
}

// LookupEOL finds the row of table for a host's operating system, by
// os-release ID and VERSION_ID: Debian "12" (or "12.5") → "12"; Ubuntu
// "22.04" → "22.04"; RHEL, AlmaLinux, Rocky "9.4" → "9"; SLES "15.6" →
// "15.6" (service packs have their own dates); Alpine "3.19.1" → "3.19".
// Windows Server hosts (ID "windows-server", or family "windows" with
// "Server" in the name) are found by their year ("2022") or their build
// ("10.0.20348.2340" → 2022).
func LookupEOL(table []EOL, os patchwave.OS) (EOL, bool) {
	id := strings.ToLower(strings.TrimSpace(os.ID))
	ver := strings.TrimSpace(os.Version)
	if id == "" && os.Family == "windows" || id == "windows" {
		if strings.Contains(strings.ToLower(os.Name), "server") {
			id = "windows-server"
		}
	}
	var cycle string
	switch id {
	case "debian", "rhel", "almalinux", "rocky", "centos", "ol":
		cycle, _, _ = strings.Cut(ver, ".")
	case "alpine":
		cycle = majorMinor(ver)
	case "ubuntu", "sles", "sled", "opensuse-leap":
		cycle = majorMinor(ver)
	case "windows-server":
		cycle = windowsServerCycle(ver, os.Name)
	default:
		cycle = ver
	}
	if cycle == "" {
		return EOL{}, false
	}
	for _, e := range table {
		if e.Product == id && e.Cycle == cycle {
			return e, true
		}
	}
	return EOL{}, false
}

// majorMinor keeps the first two dot-separated fields of v.
func majorMinor(v string) string {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return v
	}
	return parts[0] + "." + parts[1]
}

// windowsServerBuilds maps Windows Server LTSC builds to their year.
var windowsServerBuilds = map[string]string{"14393": "2016", "17763": "2019", "20348": "2022", "26100": "2025"}

func windowsServerCycle(ver, name string) string {
	fields := func(s string) []string {
		return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '.' || r == '-' })
	}
	for _, f := range append(fields(ver), fields(name)...) {
		if y, ok := windowsServerBuilds[f]; ok {
			return y
		}
	}
	// A year: the whole VERSION, or a word of the name ("Windows Server 2022 Datacenter").
	year := func(f string) bool { n, err := strconv.Atoi(f); return err == nil && len(f) == 4 && n >= 2008 }
	if year(ver) {
		return ver
	}
	for _, f := range fields(name) {
		if year(f) {
			return f
		}
	}
	return ""
}
