package assess

// One test per pitfall of shared/notes/matching-pitfalls.md, on the real
// records named there (skipped without the shared data) and on small
// records of our own.

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patchwave/patchwave"
)

// Pitfall 1: Ubuntu names the source package (openssh), hosts install
// binaries (openssh-server, openssh-client); AlmaLinux names binaries.
func TestPitfall01BinaryVsSourceName(t *testing.T) {
	ix := index(record(t, "ubuntu_osv/USN-6859-1.json"))
	fs := match(ix, ubuntu2204, false,
		deb("openssh-server", "1:8.9p1-3ubuntu0.6", "openssh", ""),
		deb("openssh-client", "1:8.9p1-3ubuntu0.6", "openssh", ""),
		deb("openssh", "1:8.9p1-3ubuntu0.6", "not-openssh", ""), // a binary named like the source, from another source
		deb("libssl3", "3.0.2-0ubuntu1.15", "openssl", ""),
	)
	for _, name := range []string{"openssh-server", "openssh-client"} {
		f := one(t, fs, name)
		wantFinding(t, f, patchwave.FindingMissing, "1:8.9p1-3ubuntu0.10", "USN-6859-1")
		if f.Source != "openssh" || !slices.Equal(f.CVEs, []string{"CVE-2024-6387"}) || f.Ecosystem != "Ubuntu:22.04:LTS" {
			t.Errorf("%s: source %q cves %v ecosystem %q", name, f.Source, f.CVEs, f.Ecosystem)
		}
	}
	if len(fs) != 2 {
		t.Errorf("want 2 findings, got %s", dump(fs))
	}

	// AlmaLinux: the binary names; a binary of the same source that the
	// record does not list is not matched.
	ix = index(record(t, "almalinux_osv/ALSA-2026_25239.json"))
	fs = match(ix, alma9, false,
		patchwave.Package{Name: "openssl-libs", Version: "1:3.5.1-3.el9", Arch: "x86_64", Source: "openssl", SourceVersion: "3.5.1-3.el9"},
		patchwave.Package{Name: "openssl-fips-provider", Version: "1:3.5.1-3.el9", Arch: "x86_64", Source: "openssl", SourceVersion: "3.5.1-3.el9"},
	)
	f := one(t, fs, "openssl-libs")
	wantFinding(t, f, patchwave.FindingMissing, "1:3.5.5-4.el9_8", "ALSA-2026:25239")
	if len(f.CVEs) != 15 || f.Severity != patchwave.SeverityHigh {
		t.Errorf("openssl-libs: %d CVEs (from related), severity %s; want 15, high (Important)", len(f.CVEs), f.Severity)
	}
	if len(fs) != 1 {
		t.Errorf("want 1 finding, got %s", dump(fs))
	}
}

// readInventory reads the real Debian 12 inventory: binary (without its
// ":arch"), version, source, source version, arch.
func readInventory(t *testing.T) []patchwave.Package {
	t.Helper()
	f, err := os.Open(filepath.Join(sharedData(t), "endpoint_inventory", "debian12-dpkg-query.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []patchwave.Package
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		if len(c) != 6 || !strings.HasPrefix(c[0], "ii") {
			continue
		}
		name, _, _ := strings.Cut(c[1], ":")
		p := patchwave.Package{Name: name, Version: c[2], Source: c[3], SourceVersion: c[4], Arch: c[5]}
		// Leave the source fields empty where dpkg does.
		if p.Source == p.Name {
			p.Source = ""
		}
		if p.SourceVersion == p.Version {
			p.SourceVersion = ""
		}
		out = append(out, p)
	}
	if len(out) < 700 {
		t.Fatalf("inventory has %d packages", len(out))
	}
	return out
}

// Pitfall 2: compare the source version: bsdutils 1:2.38.1-5+deb12u3 is
// built from util-linux 2.38.1-5+deb12u3; its epoch must not hide a fix.
func TestPitfall02BinaryVsSourceVersion(t *testing.T) {
	inv := readInventory(t)
	var bsdutils, bash patchwave.Package
	for _, p := range inv {
		switch p.Name {
		case "bsdutils":
			bsdutils = p
		case "bash":
			bash = p
		}
	}
	if bsdutils.Version != "1:2.38.1-5+deb12u3" || bsdutils.SourceVersion != "2.38.1-5+deb12u3" || bash.Version != "5.2.15-2+b8" {
		t.Fatalf("inventory changed: %+v %+v", bsdutils, bash)
	}
	ix := index(osv("DSA-T-1", "Debian:12", "util-linux", "i:0", "f:2.38.1-5+deb12u4"),
		osv("DSA-T-2", "Debian:12", "bash", "i:0", "f:5.2.15-2+b9")) // a binNMU version as a "fix" of the source
	fs := match(ix, debian12, false, bsdutils, bash)
	wantFinding(t, one(t, fs, "bsdutils"), patchwave.FindingMissing, "2.38.1-5+deb12u4", "DSA-T-1")
	// bash's source version 5.2.15-2 is below 5.2.15-2+b9 even though the
	// binary 5.2.15-2+b8 is too: the source decides.
	wantFinding(t, one(t, fs, "bash"), patchwave.FindingMissing, "5.2.15-2+b9", "DSA-T-2")

	ix = index(osv("DSA-T-3", "Debian:12", "util-linux", "i:0", "f:2.38.1-5+deb12u3"),
		osv("DSA-T-4", "Debian:12", "bash", "i:0", "f:5.2.15-2"))
	none(t, match(ix, debian12, false, bsdutils, bash))
}

// Pitfall 3: AlmaLinux writes fixed versions with epochs; an inventory
// without the epoch must not make a finding, and neither may a fixed
// version without one.
func TestPitfall03MissingEpoch(t *testing.T) {
	ix := index(record(t, "almalinux_osv/ALSA-2026_25239.json"))
	tests := []struct {
		installed string
		want      bool
	}{
		{"3.5.5-4.el9_8", false},   // the fixed build, epoch omitted by the inventory
		{"1:3.5.5-4.el9_8", false}, // the fixed build
		{"1:3.5.5-5.el9_8", false},
		{"3.5.6-1.el9_8", false},
		{"1:3.5.5-3.el9_8", true},
		{"3.5.5-3.el9_8", true}, // older under either reading of the missing epoch
		{"0:3.5.5-3.el9_8", true},
		{"2:3.5.1-1.el9", false}, // a higher epoch wins, as in rpm
	}
	for _, tt := range tests {
		fs := match(ix, alma9, false, rpm("openssl", tt.installed))
		if got := len(fs) > 0; got != tt.want {
			t.Errorf("openssl %s: finding %v, want %v: %s", tt.installed, got, tt.want, dump(fs))
		}
	}
	// The reverse: a fixed version without an epoch (rpm reads 0) and an
	// installed one with an epoch.
	ix = index(osv("T-3", "AlmaLinux:9", "foo", "i:0", "f:3.5.6-1.el9"))
	for _, tt := range []struct {
		installed string
		want      bool
	}{{"1:3.5.5-9.el9", false}, {"1:3.5.7-1.el9", false}, {"3.5.5-9.el9", true}, {"0:3.5.5-9.el9", true}} {
		if got := len(match(ix, alma9, false, rpm("foo", tt.installed))) > 0; got != tt.want {
			t.Errorf("foo %s against 3.5.6-1.el9: finding %v, want %v", tt.installed, got, tt.want)
		}
	}
	// dpkg: an SBOM without the epoch of openssh.
	ix = index(record(t, "ubuntu_osv/USN-6859-1.json"))
	none(t, match(ix, ubuntu2204, false, deb("openssh-server", "8.9p1-3ubuntu0.10", "openssh", "")))
	if fs := match(ix, ubuntu2204, false, deb("openssh-server", "8.9p1-3ubuntu0.4", "openssh", "")); len(fs) != 1 {
		t.Errorf("openssh 8.9p1-3ubuntu0.4 without epoch: want a finding, got %s", dump(fs))
	}
}

// Pitfall 4: introduced 0 with no fixed event is "affected, no fix";
// the Debian tracker's and Alpine secdb's fixed "0" is "not affected".
func TestPitfall04Unfixed(t *testing.T) {
	ix := index(record(t, "ubuntu_osv/UBUNTU-CVE-2026-1403.json"))
	f := one(t, match(ix, ubuntu1604, false, deb("gitlab", "8.5.8+dfsg-5", "", "")), "gitlab")
	wantFinding(t, f, patchwave.FindingNoFix, "", "UBUNTU-CVE-2026-1403")
	if f.Severity != patchwave.SeverityMedium || !slices.Equal(f.CVEs, []string{"CVE-2026-1403"}) {
		t.Errorf("severity %s cves %v", f.Severity, f.CVEs)
	}

	// The Debian security tracker's data, converted the way a feed does.
	b, err := os.ReadFile(filepath.Join(sharedData(t), "debian", "security-tracker-sample.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tracker map[string]map[string]struct {
		Releases json.RawMessage `json:"releases"`
	}
	if err := json.Unmarshal(b, &tracker); err != nil {
		t.Fatal(err)
	}
	numbers := map[string]string{"stretch": "9", "buster": "10", "bullseye": "11", "bookworm": "12"}
	ix = NewIndex()
	for pkg, cves := range tracker {
		for cve, c := range cves {
			a := patchwave.Advisory{ID: "DEBIAN-" + cve, Aliases: []string{cve}, Modified: time.Now()}
			var releases map[string]struct {
				FixedVersion string `json:"fixed_version"`
			}
			if json.Unmarshal(c.Releases, &releases) != nil {
				continue // a few entries of the sample are lists
			}
			for rel, r := range releases {
				if numbers[rel] == "" {
					continue
				}
				events := []string{"i:0"}
				if r.FixedVersion != "" {
					events = append(events, "f:"+r.FixedVersion)
				}
				a.Affected = append(a.Affected, affected("Debian:"+numbers[rel], pkg, events...))
			}
			ix.Add(a)
		}
	}
	deb9 := patchwave.OS{ID: "debian", Version: "9"}
	fs := match(ix, deb9, false, deb("libjs-prototype", "1.7.1-3", "prototypejs", ""))
	none(t, fs) // CVE-2007-2383 has fixed_version "0"; CVE-2008-7220 is fixed in 1.6.0.2-1
	fs = match(ix, deb9, false, deb("libjs-prototype", "1.5.0-1", "prototypejs", ""))
	wantFinding(t, one(t, fs, "libjs-prototype"), patchwave.FindingMissing, "1.6.0.2-1", "DEBIAN-CVE-2008-7220")
	deb10 := patchwave.OS{ID: "debian", Version: "10"}
	fs = match(ix, deb10, false, deb("chromium", "90.0.4430.212-1~deb10u1", "", "")) // open in buster
	wantFinding(t, one(t, fs, "chromium"), patchwave.FindingNoFix, "", "DEBIAN-CVE-2022-0456")

	// Alpine secdb's "0" key: never affected.
	ix = index(osv("ALPINE-T-0", "Alpine:v3.19", "zlib", "i:0", "f:0"))
	none(t, match(ix, patchwave.OS{ID: "alpine", Version: "3.19.1"}, false, patchwave.Package{Name: "zlib", Version: "1.3.1-r0", Source: "zlib"}))

	// A package with fixed and unfixed advisories gets one finding of each.
	ix = index(record(t, "ubuntu_osv/UBUNTU-CVE-2026-1403.json"), osv("T-4", "Ubuntu:16.04:LTS", "gitlab", "i:0", "f:8.5.8+dfsg-6"))
	fs = match(ix, ubuntu1604, false, deb("gitlab", "8.5.8+dfsg-5", "", ""))
	if len(fs) != 2 {
		t.Fatalf("want 2 findings, got %s", dump(fs))
	}
	wantFinding(t, fs[0], patchwave.FindingMissing, "8.5.8+dfsg-6", "T-4")
	wantFinding(t, fs[1], patchwave.FindingNoFix, "", "UBUNTU-CVE-2026-1403")
}

// Pitfall 5: withdrawn records are not matched, and a withdrawal removes
// the earlier version of the record.
func TestPitfall05Withdrawn(t *testing.T) {
	w := record(t, "ubuntu_osv/UBUNTU-CVE-2014-2901.json")
	ix := index(w)
	if ix.Len() != 0 {
		t.Errorf("withdrawn record indexed")
	}
	xenialPro := Ecosystems(ubuntu1604, true)
	none(t, ix.Match(xenialPro, []patchwave.Package{deb("libwolfssl3", "3.4.8+dfsg-1", "wolfssl", "")}))

	live := w
	live.Withdrawn = nil
	live.Modified = w.Modified.Add(-time.Hour)
	ix = index(live)
	if len(ix.Match(xenialPro, []patchwave.Package{deb("libwolfssl3", "3.4.8+dfsg-1", "wolfssl", "")})) != 1 {
		t.Fatal("live record does not match")
	}
	ix.Add(w)
	none(t, ix.Match(xenialPro, []patchwave.Package{deb("libwolfssl3", "3.4.8+dfsg-1", "wolfssl", "")}))
	// An older copy arriving later does not bring it back.
	ix.Add(live)
	if ix.Len() != 0 {
		t.Errorf("older record replaced the withdrawal")
	}
}

// Pitfall 6: os-release's names against the advisories'.
func TestPitfall06EcosystemStrings(t *testing.T) {
	// A genuine Ubuntu LTS host finds UBUNTU-CVE records written
	// "Ubuntu:22.04:LTS".
	ix := index(record(t, "ubuntu_osv/UBUNTU-CVE-2024-6387.json"))
	f := one(t, match(ix, ubuntu2204, false, deb("openssh-server", "1:8.9p1-3ubuntu0.6", "openssh", "")), "openssh-server")
	wantFinding(t, f, patchwave.FindingMissing, "1:8.9p1-3ubuntu0.10", "UBUNTU-CVE-2024-6387")
	if f.Severity != patchwave.SeverityHigh && f.Severity != patchwave.SeverityCritical {
		t.Errorf("severity %s (CVSS %v, ubuntu_priority high)", f.Severity, f.CVSS)
	}
	// Debian 3.0 ("Debian:3.0") against the host's "3.0".
	ix = index(record(t, "debian/DSA-135.json"))
	fs := match(ix, patchwave.OS{ID: "debian", Version: "3.0"}, false, deb("libapache-mod-ssl", "2.8.9-1", "", ""))
	wantFinding(t, one(t, fs, "libapache-mod-ssl"), patchwave.FindingMissing, "2.8.9-2", "DSA-135")
	// Alpine 3.19.1 against "Alpine:v3.19", and not 3.17.
	ix = index(record(t, "alpine/ALPINE-CVE-2023-46850.json"))
	ovpn := patchwave.Package{Name: "openvpn", Version: "2.6.5-r0", Source: "openvpn"}
	fs = match(ix, patchwave.OS{ID: "alpine", Version: "3.19.1"}, false, ovpn)
	wantFinding(t, one(t, fs, "openvpn"), patchwave.FindingMissing, "2.6.7-r0", "ALPINE-CVE-2023-46850")
	none(t, match(ix, patchwave.OS{ID: "alpine", Version: "3.17.2"}, false, ovpn))
}

func TestEcosystems(t *testing.T) {
	tests := []struct {
		os   patchwave.OS
		pro  bool
		want []string
	}{
		{debian12, false, []string{"Debian:12"}},
		{patchwave.OS{ID: "debian", Codename: "trixie"}, false, []string{"Debian:13"}},
		{patchwave.OS{ID: "debian", Codename: "sid"}, false, []string{"Debian:sid"}},
		{ubuntu2204, false, []string{"Ubuntu:22.04:LTS", "Ubuntu:22.04"}},
		{ubuntu2204, true, []string{"Ubuntu:22.04:LTS", "Ubuntu:22.04", "Ubuntu:Pro:22.04:LTS", "Ubuntu:Pro:FIPS:22.04:LTS",
			"Ubuntu:Pro:FIPS-updates:22.04:LTS", "Ubuntu:Pro:FIPS-preview:22.04:LTS"}},
		{patchwave.OS{ID: "ubuntu", Version: "23.10"}, true, []string{"Ubuntu:23.10"}},
		{patchwave.OS{ID: "ubuntu", Version: "18.04"}, false, []string{"Ubuntu:18.04:LTS", "Ubuntu:18.04"}},
		{patchwave.OS{ID: "alpine", Version: "3.19.1"}, false, []string{"Alpine:v3.19"}},
		{patchwave.OS{ID: "alpine", Version: "3.20.0_alpha20240329"}, false, nil},
		{alma9, false, []string{"AlmaLinux:9"}},
		{patchwave.OS{ID: "rocky", Version: "9.3"}, false, []string{"Rocky Linux:9"}},
		{patchwave.OS{ID: "rhel", Version: "9.4"}, false, []string{"Red Hat:enterprise_linux:9"}},
		{patchwave.OS{ID: "rhel", Version: "9.2"}, true, []string{"Red Hat:rhel_eus:9.2", "Red Hat:rhel_aus:9.2", "Red Hat:rhel_e4s:9.2", "Red Hat:rhel_tus:9.2"}},
		{patchwave.OS{ID: "sles", Version: "15.5", Name: "SUSE Linux Enterprise Server 15 SP5"}, false, []string{"SUSE:Linux Enterprise Server 15 SP5"}},
		{patchwave.OS{ID: "sles", Version: "12"}, false, []string{"SUSE:Linux Enterprise Server 12"}},
		{patchwave.OS{ID: "opensuse-leap", Version: "15.5", Name: "openSUSE Leap 15.5"}, false, []string{"openSUSE:Leap 15.5"}},
		{patchwave.OS{ID: "opensuse-tumbleweed", Version: "20240301", Name: "openSUSE Tumbleweed"}, false, []string{"openSUSE:Tumbleweed"}},
		{patchwave.OS{ID: "windows", Version: "10.0.20348"}, false, nil}, // pitfall 15: Windows is matched by build, not OSV
		{patchwave.OS{ID: "arch"}, false, nil},
	}
	for _, tt := range tests {
		if got := Ecosystems(tt.os, tt.pro); !slices.Equal(got, tt.want) {
			t.Errorf("Ecosystems(%+v, %v) = %q, want %q", tt.os, tt.pro, got, tt.want)
		}
	}
}

func TestNormalizeEcosystem(t *testing.T) {
	for in, want := range map[string]string{
		"Ubuntu:22.04:LTS":                      "Ubuntu:22.04",
		"Ubuntu:22.04":                          "Ubuntu:22.04",
		"ubuntu:22.04:LTS":                      "Ubuntu:22.04",
		"Ubuntu:Pro:18.04:LTS":                  "Ubuntu:Pro:18.04",
		"Ubuntu:Pro:FIPS-updates:22.04:LTS":     "Ubuntu:Pro:FIPS-updates:22.04",
		"Debian:6.0":                            "Debian:6",
		"Debian:12":                             "Debian:12",
		"Debian:sid":                            "Debian:sid",
		"Alpine:v3.19":                          "Alpine:v3.19",
		"Alpine:3.19.1":                         "Alpine:v3.19",
		"AlmaLinux:9":                           "AlmaLinux:9",
		"AlmaLinux:9.4":                         "AlmaLinux:9",
		"Rocky Linux:8":                         "Rocky Linux:8",
		"Red Hat:enterprise_linux:9::appstream": "Red Hat:enterprise_linux:9",
		"Red Hat:rhel_eus:9.2::baseos":          "Red Hat:rhel_eus:9.2",
		"SUSE:Linux Enterprise Module for Basesystem 15 SP5": "SUSE:Linux Enterprise 15 SP5",
		"SUSE:Linux Enterprise Server 15 SP5":                "SUSE:Linux Enterprise 15 SP5",
		"SUSE:Linux Enterprise Server 12":                    "SUSE:Linux Enterprise 12",
		"SUSE:Linux Enterprise Micro 5.5":                    "SUSE:Linux Enterprise Micro 5.5",
		"SUSE:Package Hub 12":                                "SUSE:Package Hub 12",
		"openSUSE:Leap 15.5":                                 "openSUSE:Leap 15.5",
		"npm":                                                "npm",
	} {
		if got := NormalizeEcosystem(in); got != want {
			t.Errorf("NormalizeEcosystem(%q) = %q, want %q", in, got, want)
		}
	}
}

// Pitfall 7: Ubuntu Pro fixes apply to Pro hosts only.
func TestPitfall07UbuntuPro(t *testing.T) {
	ix := index(record(t, "ubuntu_osv/UBUNTU-CVE-2022-24823.json"))
	netty := deb("libnetty-java", "1:4.1.48-4", "netty", "")
	none(t, match(ix, ubuntu2204, false, netty))
	f := one(t, match(ix, ubuntu2204, true, netty), "libnetty-java")
	wantFinding(t, f, patchwave.FindingMissing, "1:4.1.48-4+deb11u2ubuntu0.1~esm1", "UBUNTU-CVE-2022-24823")
	if f.Severity != patchwave.SeverityMedium { // CVSS 5.5 above Ubuntu's "low"
		t.Errorf("severity %s cvss %v", f.Severity, f.CVSS)
	}
	none(t, match(ix, ubuntu2204, true, deb("libnetty-java", "1:4.1.48-4+deb11u2ubuntu0.1~esm1", "netty", "")))
}

// Pitfall 8: a module stream's fix applies neither to the non-modular
// build nor to another stream.
func TestPitfall08ModularStreams(t *testing.T) {
	ix := index(record(t, "almalinux_osv/ALSA-2026_7343.json")) // nginx:1.26
	for _, tt := range []struct {
		installed string
		want      bool
	}{
		{"2:1.20.1-22.el9_6.3.alma.1", false},               // the non-modular nginx of AlmaLinux 9
		{"2:1.24.0-4.module_el9.5.0+122+220a1c6c", false},   // stream 1.24
		{"2:1.26.2-1.module_el9.5.0+130+1a2b3c4d", true},    // stream 1.26, older
		{"1:1.26.2-1.module_el9.5.0+130+1a2b3c4d", true},    // stream 1.26, older, other epoch
		{"2:1.26.3-2.module_el9.7.0+223+9cd7031b.1", false}, // the fix
		{"2:1.26.3-3.module_el9.8.0+230+ffffffff", false},   // newer
		{"2:1.26.2-1.module+el9.5.0+20787+4c237fd3", true},  // Rocky's spelling
		{"2:1.26.2-1.el9", false},                           // plain build of the same version
	} {
		fs := match(ix, alma9, false, rpm("nginx", tt.installed))
		if got := len(fs) > 0; got != tt.want {
			t.Errorf("nginx %s: finding %v, want %v: %s", tt.installed, got, tt.want, dump(fs))
		}
	}
	// And the reverse: a plain fix does not apply to a module build.
	ix = index(osv("T-8", "AlmaLinux:9", "nginx", "i:0", "f:2:1.20.1-22.el9_6.3.alma.1"))
	none(t, match(ix, alma9, false, rpm("nginx", "2:1.24.0-4.module_el9.5.0+122+220a1c6c")))
	one(t, match(ix, alma9, false, rpm("nginx", "2:1.20.1-14.el9_2.1.alma.1")), "nginx")
	// Without a stream in the summary the major versions must agree.
	ix = index(osv("T-8b", "AlmaLinux:8", "npm", "i:0", "f:1:10.8.2-1.22.12.0.1.module_el8.10.0+3921+aaaaaaaa"))
	el8 := patchwave.OS{ID: "almalinux", Version: "8.10"}
	none(t, match(ix, el8, false, rpm("npm", "1:8.19.4-1.16.20.2.4.module_el8.9.0+3700+bbbbbbbb")))
	one(t, match(ix, el8, false, rpm("npm", "1:10.7.0-1.22.5.1.1.module_el8.10.0+3800+cccccccc")), "npm")
	// FIPS builds likewise.
	ix = index(osv("T-8c", "Ubuntu:Pro:FIPS-updates:22.04:LTS", "openssl", "i:0", "f:3.0.2-0ubuntu1.15+Fips1"),
		osv("T-8d", "Ubuntu:22.04:LTS", "openssl", "i:0", "f:3.0.2-0ubuntu1.18"))
	fs := match(ix, ubuntu2204, true, deb("libssl3", "3.0.2-0ubuntu1.17", "openssl", ""))
	wantFinding(t, one(t, fs, "libssl3"), patchwave.FindingMissing, "3.0.2-0ubuntu1.18", "T-8d")
	fs = match(ix, ubuntu2204, true, deb("libssl3", "3.0.2-0ubuntu1.10+Fips1", "openssl", ""))
	wantFinding(t, one(t, fs, "libssl3"), patchwave.FindingMissing, "3.0.2-0ubuntu1.15+Fips1", "T-8c")
}

// Pitfall 9: Red Hat data is per product stream; a host matches only its
// own stream's fixes.
func TestPitfall09RedHatStreams(t *testing.T) {
	a := record(t, "redhat/osv-RHSA-2024_8709.json") // Red Hat:rhel_eus:9.2::appstream
	ix := index(a)
	podman := rpm("podman", "2:4.4.1-20.el9_2")
	rhel92 := patchwave.OS{ID: "rhel", Version: "9.2"}
	none(t, match(ix, rhel92, false, podman)) // mainline 9: not on the EUS stream
	f := one(t, match(ix, rhel92, true, podman), "podman")
	wantFinding(t, f, patchwave.FindingMissing, "2:4.4.1-21.el9_2", "RHSA-2024:8709")
	if !slices.Equal(f.CVEs, []string{"CVE-2024-9675"}) {
		t.Errorf("cves %v", f.CVEs)
	}
	none(t, match(ix, patchwave.OS{ID: "rhel", Version: "9.4"}, true, podman))
}

// Pitfall 10: packages from third-party repositories are flagged.
func TestPitfall10ThirdParty(t *testing.T) {
	ix := index(record(t, "ubuntu_osv/USN-6859-1.json"))
	f := one(t, match(ix, ubuntu2204, false, deb("openssh-server", "1:8.9p1-3ubuntu0.4~ppa1", "openssh", "")), "openssh-server")
	if !f.ThirdParty {
		t.Errorf("PPA build not flagged: %+v", f)
	}
	f = one(t, match(ix, ubuntu2204, false, deb("openssh-server", "1:8.9p1-3ubuntu0.4", "openssh", "")), "openssh-server")
	if f.ThirdParty {
		t.Errorf("Ubuntu build flagged")
	}
	for _, tt := range []struct {
		eco  string
		p    patchwave.Package
		want bool
	}{
		{"Ubuntu:22.04:LTS", deb("php8.2-cli", "8.2.20-1+ubuntu22.04.1+deb.sury.org+1", "php8.2", ""), true},
		{"Ubuntu:22.04:LTS", deb("postgresql-16", "16.3-1.pgdg22.04+1", "", ""), true},
		{"Ubuntu:22.04:LTS", deb("foo", "1.0-1ppa2", "", ""), true},
		{"Ubuntu:22.04:LTS", deb("snappa", "1.0-1", "", ""), false},
		{"Ubuntu:22.04:LTS", deb("bash", "5.1-6ubuntu1.1", "", ""), false},
		{"Debian:12", deb("bash", "5.1-6ubuntu1.1", "", ""), true},
		{"Debian:12", deb("bash", "5.2.15-2+b8", "bash", "5.2.15-2"), false},
		{"AlmaLinux:9", rpm("nginx", "1:1.26.2-1.el9.ngx"), true},
		{"AlmaLinux:9", rpm("php-cli", "8.2.20-1.el9.remi"), true},
		{"AlmaLinux:9", rpm("nodejs", "2:20.11.1-1nodesource"), true},
		{"AlmaLinux:9", rpm("firefox", "115.6.0-1.fc39"), true},
		{"AlmaLinux:9", rpm("openssl", "1:3.0.7-27.el9.alma.1"), false},
		{"AlmaLinux:9", rpm("nginx", "2:1.24.0-4.module_el9.5.0+122+220a1c6c"), false},
		{"Rocky Linux:9", rpm("ruby", "3.3.1-2.module+el9.4.0+20787+4c237fd3"), false},
		{"Alpine:v3.19", patchwave.Package{Name: "musl", Version: "1.2.4-r2"}, false},
	} {
		if got := ThirdParty(tt.eco, tt.p); got != tt.want {
			t.Errorf("ThirdParty(%s, %s %s) = %v, want %v", tt.eco, tt.p.Name, tt.p.Version, got, tt.want)
		}
	}
}

// Pitfall 11: the purl is never the key; a malformed one changes nothing.
func TestPitfall11PurlNotKey(t *testing.T) {
	a := record(t, "ubuntu_osv/UBUNTU-CVE-2024-6387.json")
	if !strings.Contains(a.Affected[0].Package.Purl, "?arch=src?distro=") {
		t.Fatalf("record changed: purl %q", a.Affected[0].Package.Purl)
	}
	ix := index(a)
	one(t, match(ix, ubuntu2204, false, deb("openssh-server", "1:8.9p1-3ubuntu0.6", "openssh", "")), "openssh-server")
	// A purl naming another package does not make that package match.
	b := osv("T-11", "Ubuntu:22.04:LTS", "zlib", "i:0", "f:1:1.2.11.dfsg-2ubuntu9.3")
	b.Affected[0].Package.Purl = "pkg:deb/ubuntu/openssl@3.0.2?arch=source&distro=jammy"
	ix = index(b)
	none(t, match(ix, ubuntu2204, false, deb("libssl3", "3.0.2-0ubuntu1.1", "openssl", "")))
	one(t, match(ix, ubuntu2204, false, deb("zlib1g", "1:1.2.11.dfsg-2ubuntu9.2", "zlib", "")), "zlib1g")
}

// Pitfall 12: several advisories for one package make one finding with
// the highest fixed version and every advisory and CVE.
func TestPitfall12SeveralAdvisories(t *testing.T) {
	ix := index(record(t, "ubuntu_osv/USN-6859-1.json"), record(t, "ubuntu_osv/UBUNTU-CVE-2024-6387.json"),
		osv("T-12", "Ubuntu:22.04:LTS", "openssh", "i:0", "f:1:8.9p1-3ubuntu0.7"))
	f := one(t, match(ix, ubuntu2204, false, deb("openssh-server", "1:8.9p1-3ubuntu0.6", "openssh", "")), "openssh-server")
	wantFinding(t, f, patchwave.FindingMissing, "1:8.9p1-3ubuntu0.10", "T-12", "UBUNTU-CVE-2024-6387", "USN-6859-1")
	if !slices.Equal(f.CVEs, []string{"CVE-2024-6387"}) {
		t.Errorf("cves %v", f.CVEs)
	}
	// Red Hat: per stream, the highest fix.
	a := record(t, "redhat/osv-RHSA-2024_8709.json")
	b := osv("RHSA-T-12", "Red Hat:rhel_eus:9.2::appstream", "podman", "i:0", "f:2:4.4.1-22.el9_2")
	ix = index(a, b)
	f = one(t, match(ix, patchwave.OS{ID: "rhel", Version: "9.2"}, true, rpm("podman", "2:4.4.1-20.el9_2")), "podman")
	wantFinding(t, f, patchwave.FindingMissing, "2:4.4.1-22.el9_2", "RHSA-2024:8709", "RHSA-T-12")
	// Only the ones still missing are listed.
	f = one(t, match(ix, patchwave.OS{ID: "rhel", Version: "9.2"}, true, rpm("podman", "2:4.4.1-21.el9_2")), "podman")
	wantFinding(t, f, patchwave.FindingMissing, "2:4.4.1-22.el9_2", "RHSA-T-12")
}

// Pitfall 13: a record naming several distributions affects each only in
// its own ecosystem.
func TestPitfall13MixedEcosystems(t *testing.T) {
	ix := index(record(t, "alpine/CVE-2024-10524.json"))
	wget := patchwave.Package{Name: "wget", Version: "1.24.5-r0", Source: "wget"}
	alpine321 := patchwave.OS{ID: "alpine", Version: "3.21.2"}
	wantFinding(t, one(t, match(ix, alpine321, false, wget), "wget"), patchwave.FindingMissing, "1.25.0-r0", "CVE-2024-10524")
	none(t, match(ix, patchwave.OS{ID: "alpine", Version: "3.19.1"}, false, wget))
	// Debian 12: affected, no fix (introduced 0 only).
	wantFinding(t, one(t, match(ix, debian12, false, deb("wget", "1.21.3-1+b2", "wget", "1.21.3-1")), "wget"), patchwave.FindingNoFix, "", "CVE-2024-10524")
	// The Alpine fix does not leak into Debian's comparison.
	wantFinding(t, one(t, match(ix, debian12, false, deb("wget", "1.25.0-1", "", "")), "wget"), patchwave.FindingNoFix, "", "CVE-2024-10524")
}

// Pitfall 14: kernels. Ubuntu's livepatch notices are not package
// advisories; signed kernel images belong to their kernel's source;
// superseded kernels are not assessed.
func TestPitfall14Kernels(t *testing.T) {
	if ix := index(record(t, "ubuntu_osv/LSN-0108-1.json")); ix.Len() != 0 {
		t.Errorf("livepatch notice indexed")
	}
	ix := index(osv("USN-T-14", "Ubuntu:22.04:LTS", "linux-hwe-6.8", "i:0", "f:6.8.0-52.53~22.04.1"))
	pkgs := []patchwave.Package{
		deb("linux-image-6.8.0-40-generic", "6.8.0-40.40~22.04.3", "linux-signed-hwe-6.8", ""),
		deb("linux-modules-6.8.0-40-generic", "6.8.0-40.40~22.04.3", "linux-hwe-6.8", ""),
		deb("linux-image-6.8.0-51-generic", "6.8.0-51.52~22.04.1", "linux-signed-hwe-6.8", ""),
		deb("linux-modules-6.8.0-51-generic", "6.8.0-51.52~22.04.1", "linux-hwe-6.8", ""),
		deb("linux-generic-hwe-22.04", "6.8.0-51.52~22.04.1", "linux-meta-hwe-6.8", ""),
	}
	fs := ix.Match(Ecosystems(ubuntu2204, false), pkgs)
	if len(fs) != 2 {
		t.Fatalf("want findings for the newest image and modules only, got %s", dump(fs))
	}
	wantFinding(t, one(t, fs, "linux-image-6.8.0-51-generic"), patchwave.FindingMissing, "6.8.0-52.53~22.04.1", "USN-T-14")
	wantFinding(t, one(t, fs, "linux-modules-6.8.0-51-generic"), patchwave.FindingMissing, "6.8.0-52.53~22.04.1", "USN-T-14")
	// The fix installed but an old kernel still there: nothing to do.
	ix = index(osv("USN-T-14b", "Ubuntu:22.04:LTS", "linux-hwe-6.8", "i:0", "f:6.8.0-51.52~22.04.1"))
	none(t, ix.Match(Ecosystems(ubuntu2204, false), pkgs))
	// rpm installs kernels side by side under one name.
	ix = index(osv("ALSA-T-14", "AlmaLinux:9", "kernel-core", "i:0", "f:5.14.0-503.15.1.el9_5"))
	none(t, match(ix, alma9, false, rpm("kernel-core", "5.14.0-427.13.1.el9_4"), rpm("kernel-core", "5.14.0-503.15.1.el9_5")))
	one(t, match(ix, alma9, false, rpm("kernel-core", "5.14.0-427.13.1.el9_4"), rpm("kernel-core", "5.14.0-503.11.1.el9_5")), "kernel-core")
}

func TestKernelFlavour(t *testing.T) {
	for name, want := range map[string]string{
		"linux-image-6.8.0-51-generic":         "linux-image--generic",
		"linux-modules-extra-6.8.0-51-generic": "linux-modules-extra--generic",
		"linux-headers-6.8.0-51":               "linux-headers-",
		"linux-image-6.1.0-28-amd64":           "linux-image--amd64",
		"linux-image-5.10.0-0.deb10.16-amd64":  "linux-image--amd64",
		"linux-libc-dev":                       "",
		"linux-generic-hwe-22.04":              "",
	} {
		got, ok := kernelFlavour(name)
		if got != want || ok != (want != "") {
			t.Errorf("kernelFlavour(%q) = %q %v, want %q", name, got, ok, want)
		}
	}
}

// Pitfall 15 (Windows: build.UBR against the fixed build) is not OSV
// matching: Ecosystems gives Windows none (see TestEcosystems). Pitfall
// 16 (EPSS formats) belongs to internal/feed.

// SUSE: the source rpm, or a binary listed in ecosystem_specific.
func TestSUSE(t *testing.T) {
	a := record(t, "suse/osv-openSUSE-SU-2016_1623-1.json") // SUSE:Package Hub 12
	ix := index(a)
	ecos := []string{"SUSE:Package Hub 12"}
	fs := ix.Match(ecos, []patchwave.Package{
		{Name: "libImlib2-1", Version: "1.4.5-5.0", Source: "imlib2", SourceVersion: "1.4.5-5.0"},
		{Name: "mosh", Version: "1.2.5-8.1", Source: "mosh"},
		{Name: "libprotobuf8", Version: "2.5.0-1.1"}, // no source known: matched by its listed binary name
	})
	if len(fs) != 2 {
		t.Fatalf("got %s", dump(fs))
	}
	wantFinding(t, one(t, fs, "libImlib2-1"), patchwave.FindingMissing, "1.4.5-5.1", "openSUSE-SU-2016:1623-1")
	wantFinding(t, one(t, fs, "libprotobuf8"), patchwave.FindingMissing, "2.5.0-2.1", "openSUSE-SU-2016:1623-1")
	// A SLES host is not on Package Hub.
	none(t, match(ix, patchwave.OS{ID: "sles", Version: "12"}, false, patchwave.Package{Name: "mosh", Version: "1.2.4-1.1", Source: "mosh"}))
	// Modules and products of one service pack are one release.
	ix = index(osv("SUSE-T-1", "SUSE:Linux Enterprise Module for Basesystem 15 SP5", "openssl-3", "i:0", "f:3.0.8-150500.5.20.1"))
	one(t, match(ix, patchwave.OS{ID: "sles", Version: "15.5"}, false, patchwave.Package{Name: "libopenssl3", Version: "3.0.8-150500.5.14.1", Source: "openssl-3"}), "libopenssl3")
}
