package assess

import (
	"slices"
	"strings"

	"github.com/patchwave/patchwave"
)

// Ecosystems returns the OSV ecosystem names whose advisories apply to a
// host running os, as the distributions write them. pro says the host has
// an extended-support subscription: Ubuntu Pro (ESM, and the FIPS streams)
// on Ubuntu, an extended update stream of its minor release (EUS, AUS,
// E4S, TUS) on Red Hat Enterprise Linux. An operating system without OSV
// advisories yields nil.
//
//   - Debian 12 → Debian:12 (Debian 6.0 → Debian:6.0; testing and
//     unstable, which have no VERSION_ID, → Debian:sid)
//   - Ubuntu 22.04 → Ubuntu:22.04:LTS and Ubuntu:22.04, and with pro also
//     Ubuntu:Pro:22.04:LTS and Ubuntu:Pro:FIPS…:22.04:LTS; Ubuntu 23.10 →
//     Ubuntu:23.10 (only even-year .04 releases are LTS and have Pro)
//   - Alpine 3.19.1 → Alpine:v3.19 (an _alpha or _rc VERSION_ID, which is
//     edge, yields nothing)
//   - AlmaLinux 9.4 → AlmaLinux:9; Rocky Linux 9.3 → Rocky Linux:9
//   - RHEL 9.4 → Red Hat:enterprise_linux:9, or with pro the extended
//     streams Red Hat:rhel_eus:9.4 (and aus, e4s, tus) instead: a host on
//     an extended stream cannot take the mainline's fixes (pitfall 9).
//   - SLES 15.5 → SUSE:Linux Enterprise Server 15 SP5 (SLED, SLES for SAP
//     alike); SLE Micro 5.5 → SUSE:Linux Enterprise Micro 5.5; openSUSE
//     Leap 15.5 → openSUSE:Leap 15.5; Tumbleweed → openSUSE:Tumbleweed.
//     The PRETTY_NAME (os.Name) is used too, as the OSV schema defines
//     SUSE's release names by it.
//
// The names go through the same normalisation as the advisories' (see
// NormalizeEcosystem) before they are compared.
func Ecosystems(os patchwave.OS, pro bool) []string {
	v := os.Version
	var out []string
	switch strings.ToLower(os.ID) {
	case "debian":
		switch {
		case v != "":
			out = append(out, "Debian:"+v)
		case os.Codename != "":
			if n, ok := debianReleases[os.Codename]; ok {
				out = append(out, "Debian:"+n)
			} else {
				out = append(out, "Debian:sid")
			}
		}
	case "ubuntu":
		if v == "" {
			return nil
		}
		lts := isUbuntuLTS(v)
		if lts {
			out = append(out, "Ubuntu:"+v+":LTS")
		}
		out = append(out, "Ubuntu:"+v)
		if pro && lts {
			out = append(out, "Ubuntu:Pro:"+v+":LTS", "Ubuntu:Pro:FIPS:"+v+":LTS",
				"Ubuntu:Pro:FIPS-updates:"+v+":LTS", "Ubuntu:Pro:FIPS-preview:"+v+":LTS")
		}
	case "alpine":
		if v == "" || strings.ContainsAny(v, "_") {
			return nil
		}
		out = append(out, "Alpine:v"+majorMinor(v))
	case "almalinux":
		if v != "" {
			out = append(out, "AlmaLinux:"+major(v))
		}
	case "rocky":
		if v != "" {
			out = append(out, "Rocky Linux:"+major(v))
		}
	case "rhel":
		if v == "" {
			return nil
		}
		if pro && strings.Contains(v, ".") {
			for _, s := range []string{"rhel_eus", "rhel_aus", "rhel_e4s", "rhel_tus"} {
				out = append(out, "Red Hat:"+s+":"+v)
			}
		} else {
			out = append(out, "Red Hat:enterprise_linux:"+major(v))
		}
	case "sles", "sled", "sles_sap":
		if v == "" {
			return nil
		}
		product := map[string]string{"sles": "Server", "sled": "Desktop", "sles_sap": "Server for SAP Applications"}[strings.ToLower(os.ID)]
		out = append(out, "SUSE:Linux Enterprise "+product+" "+suseRelease(v))
	case "sle-micro", "sle_micro", "suse-microos":
		if v != "" {
			out = append(out, "SUSE:Linux Enterprise Micro "+v)
		}
	case "opensuse-leap":
		if v != "" {
			out = append(out, "openSUSE:Leap "+v)
		}
	case "opensuse-leap-micro":
		if v != "" {
			out = append(out, "openSUSE:Leap Micro "+v)
		}
	case "opensuse-tumbleweed":
		out = append(out, "openSUSE:Tumbleweed")
	default:
		return nil
	}
	// SUSE names its OSV releases after PRETTY_NAME.
	for _, p := range []string{"SUSE ", "openSUSE "} {
		if rest, ok := strings.CutPrefix(os.Name, p); ok && rest != "" && len(out) > 0 {
			eco := strings.TrimSuffix(p, " ") + ":" + rest
			if !slices.Contains(out, eco) {
				out = append(out, eco)
			}
		}
	}
	return out
}

// debianReleases maps the code names of Debian releases that have a
// number to it, for hosts whose os-release lacks VERSION_ID.
var debianReleases = map[string]string{
	"squeeze": "6.0", "wheezy": "7", "jessie": "8", "stretch": "9", "buster": "10",
	"bullseye": "11", "bookworm": "12", "trixie": "13", "forky": "14",
}

// isUbuntuLTS reports whether an Ubuntu release ("22.04") is a long-term
// support release: an April release of an even year.
func isUbuntuLTS(v string) bool {
	y, m, ok := strings.Cut(v, ".")
	if !ok || m != "04" || len(y) != 2 || !allDigits(y) {
		return false
	}
	return (y[1]-'0')%2 == 0
}

// suseRelease writes a SLE VERSION_ID ("15.5") the way SUSE's product
// names do ("15 SP5"); "15" stays "15".
func suseRelease(v string) string {
	maj, sp, ok := strings.Cut(v, ".")
	if !ok || sp == "0" || sp == "" {
		return maj
	}
	return maj + " SP" + sp
}

func major(v string) string {
	m, _, _ := strings.Cut(v, ".")
	return m
}

func majorMinor(v string) string {
	maj, rest, ok := strings.Cut(v, ".")
	if !ok {
		return maj
	}
	minor, _, _ := strings.Cut(rest, ".")
	return maj + "." + minor
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// knownNames lists the ecosystem names (the part before the first ':')
// that NormalizeEcosystem spells canonically whatever their case.
var knownNames = []string{"Debian", "Ubuntu", "Alpine", "AlmaLinux", "Rocky Linux", "Red Hat", "SUSE", "openSUSE"}

// NormalizeEcosystem maps an OSV ecosystem name, from an advisory or from
// Ecosystems, to the form the Index compares, so that the spellings of
// one release meet (pitfall 6):
//
//   - the name before the first ':' is spelled canonically whatever its
//     case ("ubuntu:22.04" → "Ubuntu:22.04"); comparison is then
//     case-sensitive;
//   - Ubuntu drops the ":LTS" suffix: "Ubuntu:22.04:LTS" and
//     "Ubuntu:22.04" are one, as are "Ubuntu:Pro:22.04:LTS" and
//     "Ubuntu:Pro:22.04";
//   - Debian keeps the major release: "Debian:6.0" → "Debian:6";
//   - Alpine keeps v and major.minor: "Alpine:3.19.1" → "Alpine:v3.19";
//   - AlmaLinux and Rocky Linux keep the major release: "AlmaLinux:9.4" →
//     "AlmaLinux:9";
//   - Red Hat drops the repository after "::": "Red Hat:enterprise_linux:9::appstream"
//     → "Red Hat:enterprise_linux:9";
//   - SUSE Linux Enterprise products and modules of one service pack are
//     one release, as they share their packages: "SUSE:Linux Enterprise
//     Module for Basesystem 15 SP5" and "SUSE:Linux Enterprise Server 15
//     SP5" → "SUSE:Linux Enterprise 15 SP5". Other SUSE ecosystems (Micro,
//     Package Hub, which is a community repository) are left as they are.
//
// Anything else is returned unchanged, trimmed of spaces.
func NormalizeEcosystem(eco string) string {
	eco = strings.TrimSpace(eco)
	name, rest, _ := strings.Cut(eco, ":")
	for _, k := range knownNames {
		if name != k && strings.EqualFold(name, k) {
			name = k
		}
	}
	switch name {
	case "Ubuntu":
		rest = strings.TrimSuffix(strings.TrimSuffix(rest, ":LTS"), " LTS")
	case "Debian":
		if i := strings.IndexByte(rest, '.'); i > 0 && allDigits(rest[:i]) {
			rest = rest[:i]
		}
	case "Alpine":
		if r := strings.TrimPrefix(rest, "v"); r != "" && r[0] >= '0' && r[0] <= '9' {
			rest = "v" + majorMinor(r)
		}
	case "AlmaLinux", "Rocky Linux":
		if i := strings.IndexByte(rest, '.'); i > 0 && allDigits(rest[:i]) {
			rest = rest[:i]
		}
	case "Red Hat":
		if i := strings.Index(rest, "::"); i >= 0 {
			rest = rest[:i]
		}
	case "SUSE":
		if r, ok := strings.CutPrefix(rest, "Linux Enterprise "); ok && !strings.HasPrefix(r, "Micro") {
			if rel := trailingSLERelease(r); rel != "" {
				rest = "Linux Enterprise " + rel
			}
		}
	}
	if rest == "" && !strings.Contains(eco, ":") {
		return name
	}
	return name + ":" + rest
}

// trailingSLERelease returns the release at the end of a SLE product
// name: "15 SP5" of "Module for Basesystem 15 SP5", "12" of "Server 12",
// or "" when the name does not end with one.
func trailingSLERelease(s string) string {
	f := strings.Fields(s)
	n := len(f)
	switch {
	case n >= 2 && strings.HasPrefix(f[n-1], "SP") && allDigits(f[n-1][2:]) && allDigits(f[n-2]):
		return f[n-2] + " " + f[n-1]
	case n >= 1 && allDigits(f[n-1]):
		return f[n-1]
	}
	return ""
}

// Prefilter returns the prefixes of the ecosystem names, as advisories
// write them, of the given normalised or raw ecosystems: what
// feed.Options.Ecosystems needs to skip records that cannot apply before
// decoding them. The prefixes are deliberately loose (a prefix only
// selects records to decode; matching filters exactly).
func Prefilter(ecos []string) []string {
	var out []string
	for _, e := range ecos {
		n := NormalizeEcosystem(e)
		name, rest, _ := strings.Cut(n, ":")
		// "Ubuntu:22.04" also selects "Ubuntu:22.04:LTS", "Debian:6"
		// selects "Debian:6.0"; SUSE products and modules are one release.
		if name == "SUSE" && strings.HasPrefix(rest, "Linux Enterprise") {
			n = "SUSE:Linux Enterprise"
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}
