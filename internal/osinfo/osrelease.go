// Package osinfo collects the facts an agent reports about its host: the
// operating system from os-release, host name, kernel, architecture, uptime,
// network interfaces and running services. The parsers are pure functions of
// their input; the readers are thin and take a root directory, so the same
// code reads the live machine ("/") or a mounted image.
package osinfo

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/patchwave/patchwave"
)

// ParseOSRelease parses an os-release file (os-release(5)): KEY=value
// lines, values optionally quoted with " or ' and backslash-escaped as in a
// shell, comments and blank lines ignored. It fills ID, Name (PRETTY_NAME,
// else NAME), Version (VERSION_ID), Codename (VERSION_CODENAME, else
// UBUNTU_CODENAME) and Family (see Family). Unknown keys are ignored; a
// malformed line is an error that names its line number.
func ParseOSRelease(b []byte) (patchwave.OS, error) {
	vars := make(map[string]string)
	for n := 1; len(b) > 0; n++ {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte{'\n'})
		s := strings.TrimSpace(string(line))
		if s == "" || s[0] == '#' {
			continue
		}
		key, raw, ok := strings.Cut(s, "=")
		if !ok {
			return patchwave.OS{}, fmt.Errorf("parse os-release line %d: no '=' in %.40q", n, s)
		}
		if !validKey(key) {
			return patchwave.OS{}, fmt.Errorf("parse os-release line %d: invalid variable name %.40q", n, key)
		}
		v, err := unquote(raw)
		if err != nil {
			return patchwave.OS{}, fmt.Errorf("parse os-release line %d: %s: %w", n, key, err)
		}
		vars[key] = v
	}
	o := patchwave.OS{
		ID:       vars["ID"],
		Name:     firstNonEmpty(vars["PRETTY_NAME"], vars["NAME"]),
		Version:  vars["VERSION_ID"],
		Codename: firstNonEmpty(vars["VERSION_CODENAME"], vars["UBUNTU_CODENAME"]),
	}
	o.Family = Family(o.ID, vars["ID_LIKE"])
	return o, nil
}

// families maps os-release IDs to the family whose package tools and
// advisories they share.
var families = map[string]string{
	"debian": "debian", "ubuntu": "debian", "raspbian": "debian", "linuxmint": "debian",
	"rhel": "rhel", "centos": "rhel", "almalinux": "rhel", "rocky": "rhel", "ol": "rhel",
	"suse": "suse", "opensuse": "suse", "sles": "suse", "sled": "suse",
	"opensuse-leap": "suse", "opensuse-tumbleweed": "suse",
	"alpine": "alpine",
	"arch":   "arch",
}

// Family returns the distribution family of an os-release ID and ID_LIKE
// (a space-separated list, closest relative first): "debian", "rhel",
// "suse", "alpine" or "arch" when the ID or one of its relatives is known,
// otherwise the ID itself. Fedora, which RHEL derives from rather than the
// other way round, is its own family.
func Family(id, idLike string) string {
	if f, ok := families[id]; ok {
		return f
	}
	for _, like := range strings.Fields(idLike) {
		if f, ok := families[like]; ok {
			return f
		}
	}
	return id
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// validKey reports whether s is a shell variable name.
func validKey(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range []byte(s) {
		switch {
		case c == '_', 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// unquote decodes a shell-style value: a concatenation of unquoted text
// (where a backslash escapes the next character), "double-quoted" text
// (where a backslash escapes only \ " $ and `) and 'single-quoted' text
// (taken literally).
func unquote(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 < len(s) {
				i++
			}
			b.WriteByte(s[i])
		case '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return "", fmt.Errorf("unterminated single quote")
			}
			b.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\\\"$`", s[i+1]) >= 0 {
					i++
				}
				b.WriteByte(s[i])
			}
			if i >= len(s) {
				return "", fmt.Errorf("unterminated double quote")
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}
