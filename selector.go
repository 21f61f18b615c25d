package patchwave

import (
	"cmp"
	"encoding/json"
	"slices"
	"strings"
	"unicode"
)

// Selector picks hosts by their attributes. Baselines, exceptions, waves
// and service baselines use one to say which hosts they are about.
//
// Its text form is a list of terms separated by spaces or commas, all of
// which must hold (AND):
//
//	key=value        the attribute equals value
//	key=v1|v2|v3     the attribute equals one of the values (OR)
//	key!=value       the attribute equals none of the values (v1|v2 allowed)
//
// The keys are:
//
//	tier      the host's tier: mission-critical, business-critical,
//	          business-operational or lab
//	site      the host's site (exact, case-sensitive)
//	tag       one of the host's tags (exact, case-sensitive); tag=a tag=b
//	          needs both tags, tag=a|b either
//	os        the OS id or family (debian, ubuntu, rhel…), or id:version
//	          or family:version, where version is a prefix at a dot
//	          boundary: debian:12 matches 12 and 12.5, not 120;
//	          rhel:9 matches AlmaLinux 9.4
//	host      the hostname or FQDN; '*' matches any run of characters
//	exposure  high or normal (Host.HighExposure)
//	managed   true (has an agent) or false (imported asset)
//
// Keys and the values of tier, os, host, exposure and managed are
// case-insensitive (they are stored in lower case); site and tag values
// are case-sensitive. The empty string and "*" select every host; "*"
// cannot be combined with other terms.
//
// The zero Selector selects every host. Selectors are compared and stored
// by their canonical text (String), which is also their JSON form.
type Selector struct {
	terms []selectorTerm
}

type selectorTerm struct {
	key    string
	not    bool
	values []string // sorted, unique
}

// Selector keys, in canonical order.
var selectorKeys = []string{"tier", "site", "tag", "os", "host", "exposure", "managed"}

// Limits on a selector's text.
const (
	MaxSelectorLen   = 4096 // bytes
	MaxSelectorTerms = 64
)

// ParseSelector parses a selector's text form (see Selector). Errors name
// the offending term and have code EInvalid.
func ParseSelector(s string) (Selector, error) {
	if len(s) > MaxSelectorLen {
		return Selector{}, Errorf(EInvalid, "selector is %d bytes long, at most %d allowed", len(s), MaxSelectorLen)
	}
	if err := ValidText("selector", strings.Map(tabsToSpace, s), MaxSelectorLen); err != nil {
		return Selector{}, err
	}
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
	if len(fields) == 0 || (len(fields) == 1 && fields[0] == "*") {
		return Selector{}, nil
	}
	if len(fields) > MaxSelectorTerms {
		return Selector{}, Errorf(EInvalid, "selector has %d terms, at most %d allowed", len(fields), MaxSelectorTerms)
	}
	var sel Selector
	for _, f := range fields {
		t, err := parseSelectorTerm(f)
		if err != nil {
			return Selector{}, err
		}
		sel.terms = append(sel.terms, t)
	}
	slices.SortFunc(sel.terms, compareTerms)
	sel.terms = slices.CompactFunc(sel.terms, func(a, b selectorTerm) bool { return compareTerms(a, b) == 0 })
	if n := len(sel.String()); n > MaxSelectorLen {
		return Selector{}, Errorf(EInvalid, "selector is %d bytes long in canonical form, at most %d allowed", n, MaxSelectorLen)
	}
	return sel, nil
}

// tabsToSpace lets ValidText accept the white space that separates terms.
func tabsToSpace(r rune) rune {
	if r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f' {
		return ' '
	}
	return r
}

// MustParseSelector is ParseSelector for constants in code and tests: it
// panics on error.
func MustParseSelector(s string) Selector {
	sel, err := ParseSelector(s)
	if err != nil {
		panic(err)
	}
	return sel
}

func parseSelectorTerm(f string) (selectorTerm, error) {
	if f == "*" {
		return selectorTerm{}, Errorf(EInvalid, "selector term \"*\" (all hosts) cannot be combined with other terms")
	}
	i := strings.IndexByte(f, '=')
	if i < 0 {
		return selectorTerm{}, Errorf(EInvalid, "selector term %q: want key=value, key=v1|v2 or key!=value", f)
	}
	var t selectorTerm
	key, val := f[:i], f[i+1:]
	if k, ok := strings.CutSuffix(key, "!"); ok {
		key, t.not = k, true
	}
	if key == "" {
		return selectorTerm{}, Errorf(EInvalid, "selector term %q has no key", f)
	}
	t.key = strings.ToLower(key)
	if !slices.Contains(selectorKeys, t.key) {
		return selectorTerm{}, Errorf(EInvalid, "selector term %q: unknown key %q (want one of %s)", f, key, strings.Join(selectorKeys, ", "))
	}
	for v := range strings.SplitSeq(val, "|") {
		if v == "" {
			return selectorTerm{}, Errorf(EInvalid, "selector term %q has an empty value", f)
		}
		v, err := selectorValue(t.key, v)
		if err != nil {
			return selectorTerm{}, Errorf(EInvalid, "selector term %q: %s", f, ErrorMessage(err))
		}
		t.values = append(t.values, v)
	}
	slices.Sort(t.values)
	t.values = slices.Compact(t.values)
	return t, nil
}

// selectorValue checks one value of a key and returns its canonical form.
func selectorValue(key, v string) (string, error) {
	switch key {
	case "site", "tag":
		return v, ValidLabel(key, v)
	}
	if err := ValidText(key, v, MaxHostnameLen); err != nil {
		return "", err
	}
	// Lower case may be longer than upper case in UTF-8: check again.
	if v = strings.ToLower(v); len(v) > MaxHostnameLen {
		return "", Errorf(EInvalid, "%s is %d bytes long in lower case, at most %d allowed", key, len(v), MaxHostnameLen)
	}
	switch key {
	case "tier":
		t, err := ParseTier(v)
		return string(t), err
	case "exposure":
		if v != "high" && v != "normal" {
			return "", Errorf(EInvalid, "exposure %q: want high or normal", v)
		}
	case "managed":
		if v != "true" && v != "false" {
			return "", Errorf(EInvalid, "managed %q: want true or false", v)
		}
	case "os":
		id, ver, ok := strings.Cut(v, ":")
		if id == "" {
			return "", Errorf(EInvalid, "os %q has no id before the colon", v)
		}
		if ok && ver == "" {
			return "", Errorf(EInvalid, "os %q has no version after the colon", v)
		}
	}
	return v, nil
}

func compareTerms(a, b selectorTerm) int {
	return cmp.Or(
		cmp.Compare(slices.Index(selectorKeys, a.key), slices.Index(selectorKeys, b.key)),
		compareBool(a.not, b.not),
		slices.Compare(a.values, b.values))
}

func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

// String returns the canonical text of s: terms in the key order tier,
// site, tag, os, host, exposure, managed (key=… before key!=…), values
// sorted and in canonical case, separated by commas without spaces, e.g.
// "tier=lab|mission-critical,site=paris". The zero Selector is "".
// ParseSelector(s.String()) equals s.
func (s Selector) String() string {
	var b strings.Builder
	for i, t := range s.terms {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(t.key)
		if t.not {
			b.WriteByte('!')
		}
		b.WriteByte('=')
		b.WriteString(strings.Join(t.values, "|"))
	}
	return b.String()
}

// IsZero reports whether s has no terms, and so selects every host.
func (s Selector) IsZero() bool { return len(s.terms) == 0 }

// Equal reports whether s and o select by the same terms.
func (s Selector) Equal(o Selector) bool { return s.String() == o.String() }

// Keys lists the keys s tests, in canonical order, each once.
func (s Selector) Keys() []string {
	var out []string
	for _, t := range s.terms {
		if !slices.Contains(out, t.key) {
			out = append(out, t.key)
		}
	}
	return out
}

// Hostnames returns the host names s selects when s is exactly one
// key=… term on host without wildcards (what a host-level baseline
// uses), and ok=false otherwise.
func (s Selector) Hostnames() (names []string, ok bool) {
	if len(s.terms) != 1 || s.terms[0].key != "host" || s.terms[0].not {
		return nil, false
	}
	for _, v := range s.terms[0].values {
		if strings.Contains(v, "*") {
			return nil, false
		}
	}
	return slices.Clone(s.terms[0].values), true
}

// Matches reports whether h satisfies every term of s.
func (s Selector) Matches(h Host) bool {
	for _, t := range s.terms {
		if t.matches(h) == t.not {
			return false
		}
	}
	return true
}

// matches reports whether h's attribute equals one of t's values,
// ignoring t.not.
func (t selectorTerm) matches(h Host) bool {
	for _, v := range t.values {
		var ok bool
		switch t.key {
		case "tier":
			ok = string(h.Tier) == v
		case "site":
			ok = h.Site == v
		case "tag":
			ok = slices.Contains(h.Tags, v)
		case "os":
			ok = osMatches(h.OS, v)
		case "host":
			ok = globMatchFold(v, h.Hostname) || (h.FQDN != "" && globMatchFold(v, h.FQDN))
		case "exposure":
			ok = h.HighExposure == (v == "high")
		case "managed":
			ok = h.Managed == (v == "true")
		}
		if ok {
			return true
		}
	}
	return false
}

// osMatches reports whether o matches v: "id", "family", "id:version" or
// "family:version" with version a prefix of o.Version at a dot boundary.
func osMatches(o OS, v string) bool {
	id, ver, hasVer := strings.Cut(v, ":")
	if !strings.EqualFold(o.ID, id) && !strings.EqualFold(o.Family, id) {
		return false
	}
	if !hasVer {
		return true
	}
	rest, ok := strings.CutPrefix(strings.ToLower(o.Version), ver)
	return ok && (rest == "" || rest[0] == '.')
}

// MarshalJSON encodes s as its canonical text.
func (s Selector) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// UnmarshalJSON decodes a selector from a JSON string (null is the zero
// Selector), with ParseSelector's checks.
func (s *Selector) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*s = Selector{}
		return nil
	}
	var str string
	if err := json.Unmarshal(b, &str); err != nil {
		return Errorf(EInvalid, "selector must be a JSON string")
	}
	sel, err := ParseSelector(str)
	if err != nil {
		return err
	}
	*s = sel
	return nil
}

// Set parses a selector into s, so that *Selector is a flag.Value.
func (s *Selector) Set(str string) error {
	sel, err := ParseSelector(str)
	if err != nil {
		return err
	}
	*s = sel
	return nil
}
