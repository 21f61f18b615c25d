package cli

import (
	"archive/zip"
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/feed"
)

// assessData returns the shared data directory, or skips the test.
func assessData(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("PATCHWAVE_SHARED_DATA")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "data")
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("shared data not found at %s (set PATCHWAVE_SHARED_DATA): %v", dir, err)
	}
	return dir
}

// makeRoot writes a system root: os-release, hostname and a dpkg status
// of pkgs.
func makeRoot(t testing.TB, dir, osRelease, hostname string, pkgs []patchwave.Package) string {
	t.Helper()
	for name, content := range map[string]string{
		"etc/os-release":      osRelease,
		"etc/hostname":        hostname + "\n",
		"var/lib/dpkg/status": dpkgStatus(pkgs),
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func dpkgStatus(pkgs []patchwave.Package) string {
	var b strings.Builder
	for _, p := range pkgs {
		fmt.Fprintf(&b, "Package: %s\nStatus: install ok installed\nArchitecture: %s\nVersion: %s\n", p.Name, cmpOrString(p.Arch, "amd64"), p.Version)
		if p.Source != "" {
			if p.SourceVersion != "" {
				fmt.Fprintf(&b, "Source: %s (%s)\n", p.Source, p.SourceVersion)
			} else {
				fmt.Fprintf(&b, "Source: %s\n", p.Source)
			}
		}
		b.WriteString("Description: test\n\n")
	}
	return b.String()
}

const (
	jammyRelease  = "NAME=\"Ubuntu\"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"22.04\"\nVERSION_CODENAME=jammy\nPRETTY_NAME=\"Ubuntu 22.04.4 LTS\"\n"
	bionicRelease = "NAME=\"Ubuntu\"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"18.04\"\nVERSION_CODENAME=bionic\nPRETTY_NAME=\"Ubuntu 18.04.6 LTS\"\n"
)

// assessEnv is a test environment whose advisory cache is its own.
func assessEnv(t testing.TB) *testEnv {
	return &testEnv{vars: map[string]string{"PATCHWAVE_CACHE_DIR": filepath.Join(t.TempDir(), "cache")}, configDir: t.TempDir()}
}

// runT is testEnv.run for benchmarks too.
func (te *testEnv) runT(t testing.TB, stdin string, args ...string) result {
	var stdout, stderr strings.Builder
	e := env{
		stdin: strings.NewReader(stdin), stdout: &stdout, stderr: &stderr,
		getenv:    func(k string) string { return te.vars[k] },
		configDir: func() (string, error) { return te.configDir, nil },
	}
	code := run(context.Background(), e, args)
	return result{code, stdout.String(), stderr.String()}
}

type jsonFinding struct {
	Host       string   `json:"host"`
	Ecosystem  string   `json:"ecosystem"`
	Package    string   `json:"package"`
	Source     string   `json:"source"`
	Installed  string   `json:"installed"`
	Fixed      *string  `json:"fixed"`
	State      string   `json:"state"`
	Advisories []string `json:"advisories"`
	CVEs       []string `json:"cves"`
	Severity   string   `json:"severity"`
	ThirdParty bool     `json:"third_party"`
}

func decodeFindings(t *testing.T, out string) []jsonFinding {
	t.Helper()
	var fs []jsonFinding
	if err := json.Unmarshal([]byte(out), &fs); err != nil {
		t.Fatalf("output is not a JSON array of findings: %v\n%s", err, out)
	}
	seen := map[[4]string]bool{}
	for _, f := range fs {
		if f.Host == "" || f.Ecosystem == "" || f.Package == "" || f.Source == "" || f.Installed == "" || f.Fixed == nil ||
			f.Advisories == nil || f.CVEs == nil || f.Severity == "" {
			t.Errorf("finding lacks a field: %+v", f)
		}
		// One object per (binary package, advisory).
		if len(f.Advisories) != 1 {
			t.Errorf("finding of %d advisories: %+v", len(f.Advisories), f)
			continue
		}
		k := [4]string{f.Host, f.Package, f.Installed, f.Advisories[0]}
		if seen[k] {
			t.Errorf("finding twice: %v", k)
		}
		seen[k] = true
	}
	return fs
}

func TestAssessUbuntuRoot(t *testing.T) {
	data := assessData(t)
	root := makeRoot(t, t.TempDir(), jammyRelease, "web-01", []patchwave.Package{
		{Name: "openssh-server", Version: "1:8.9p1-3ubuntu0.6", Source: "openssh"},
		{Name: "openssh-client", Version: "1:8.9p1-3ubuntu0.6", Source: "openssh"},
		{Name: "bash", Version: "5.1-6ubuntu1.1"},
	})
	te := assessEnv(t)
	r := te.runT(t, "", "assess", "--root", root, "--advisories", filepath.Join(data, "ubuntu_osv"), "-o", "json")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
	fs := decodeFindings(t, r.stdout)
	if len(fs) != 4 {
		t.Fatalf("want findings of two advisories for openssh-server and -client, got %+v", fs)
	}
	for i, f := range fs {
		// The tracker's record rates it; the notice does not.
		adv, sev := "UBUNTU-CVE-2024-6387", "high"
		if i%2 == 1 {
			adv, sev = "USN-6859-1", "unknown"
		}
		pkg := []string{"openssh-client", "openssh-server"}[i/2]
		if f.Host != "web-01" || f.Ecosystem != "Ubuntu:22.04:LTS" || f.Package != pkg || f.Source != "openssh" || *f.Fixed != "1:8.9p1-3ubuntu0.10" ||
			!slices.Equal(f.Advisories, []string{adv}) || !slices.Equal(f.CVEs, []string{"CVE-2024-6387"}) ||
			f.Severity != sev || f.State != "missing" {
			t.Errorf("finding %d: %+v", i, f)
		}
	}
	// The table says the same, and a second run reads the cache.
	r = te.runT(t, "", "assess", "--root", root, "--advisories", filepath.Join(data, "ubuntu_osv"))
	if r.code != 1 || !strings.Contains(r.stdout, "HOST") || !strings.Contains(r.stdout, "openssh-server") || !strings.Contains(r.stdout, "USN-6859-1") {
		t.Errorf("table: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if m, _ := filepath.Glob(filepath.Join(te.vars["PATCHWAVE_CACHE_DIR"], "osv-*.gob")); len(m) != 1 {
		t.Errorf("cache files: %v", m)
	}
	// A changed source replaces its cache file.
	src := filepath.Join(t.TempDir(), "osv")
	os.MkdirAll(src, 0o755)
	b, _ := os.ReadFile(filepath.Join(data, "ubuntu_osv", "USN-6859-1.json"))
	os.WriteFile(filepath.Join(src, "a.json"), b, 0o644)
	te.runT(t, "", "assess", "--root", root, "--advisories", src)
	os.WriteFile(filepath.Join(src, "b.json"), b, 0o644)
	if r := te.runT(t, "", "assess", "--root", root, "--advisories", src); r.code != 1 {
		t.Errorf("changed source: exit %d %s", r.code, r.stderr)
	}
	if m, _ := filepath.Glob(filepath.Join(te.vars["PATCHWAVE_CACHE_DIR"], "osv-*.gob")); len(m) != 2 {
		t.Errorf("cache files after a source changed: %v", m)
	}
	// Ubuntu Pro: its fixes apply once the root has an ESM source.
	netty := makeRoot(t, t.TempDir(), jammyRelease, "app-01", []patchwave.Package{{Name: "libnetty-java", Version: "1:4.1.48-4", Source: "netty"}})
	r = te.runT(t, "", "assess", "--root", netty, "--advisories", filepath.Join(data, "ubuntu_osv"))
	if r.code != 0 {
		t.Errorf("netty without Pro: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	os.MkdirAll(filepath.Join(netty, "etc/apt/sources.list.d"), 0o755)
	os.WriteFile(filepath.Join(netty, "etc/apt/sources.list.d/ubuntu-esm-apps.sources"), []byte("Types: deb\n"), 0o644)
	r = te.runT(t, "", "assess", "--root", netty, "--advisories", filepath.Join(data, "ubuntu_osv"))
	if r.code != 1 || !strings.Contains(r.stdout, "UBUNTU-CVE-2022-24823") {
		t.Errorf("netty with Pro: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// Up to date: exit 0.
	clean := makeRoot(t, t.TempDir(), jammyRelease, "web-02", []patchwave.Package{
		{Name: "openssh-server", Version: "1:8.9p1-3ubuntu0.10", Source: "openssh"},
	})
	r = te.runT(t, "", "assess", "--root", clean, "--advisories", filepath.Join(data, "ubuntu_osv"), "--no-cache")
	if r.code != 0 || !strings.Contains(r.stdout, "no findings") || r.stderr != "" {
		t.Errorf("clean host: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = te.runT(t, "", "assess", "--root", clean, "--advisories", filepath.Join(data, "ubuntu_osv"), "-o", "json")
	if r.code != 0 || strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("clean host json: exit %d %q", r.code, r.stdout)
	}
}

// debianInventory reads the real Debian 12 inventory.
func debianInventory(t *testing.T, data string) []patchwave.Package {
	f, err := os.Open(filepath.Join(data, "endpoint_inventory", "debian12-dpkg-query.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []patchwave.Package
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		if len(c) != 6 {
			continue
		}
		name, _, _ := strings.Cut(c[1], ":")
		if seen[name+c[5]] {
			continue
		}
		seen[name+c[5]] = true
		p := patchwave.Package{Name: name, Version: c[2], Arch: c[5], Source: c[3], SourceVersion: c[4]}
		if p.SourceVersion == p.Version {
			p.SourceVersion = ""
		}
		out = append(out, p)
	}
	return out
}

func TestAssessDebianRootAndStatusFile(t *testing.T) {
	data := assessData(t)
	osRelease, err := os.ReadFile(filepath.Join(data, "endpoint_inventory", "debian12-os-release"))
	if err != nil {
		t.Fatal(err)
	}
	inv := debianInventory(t, data)
	root := makeRoot(t, t.TempDir(), string(osRelease), "", inv)
	te := assessEnv(t)
	// CVE-2024-10524 names wget in Alpine and Debian: Debian 12's is unfixed.
	r := te.runT(t, "", "assess", "--root", root, "--advisories", filepath.Join(data, "alpine", "CVE-2024-10524.json"),
		"--advisories", filepath.Join(data, "debian"), "-o", "json")
	if r.code != 1 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	fs := decodeFindings(t, r.stdout)
	if len(fs) != 1 || fs[0].Package != "wget" || *fs[0].Fixed != "" || fs[0].State != "no-fix" || fs[0].Host != filepath.Base(root) ||
		fs[0].Ecosystem != "Debian:12" {
		t.Errorf("findings %+v", fs)
	}
	// A dpkg status file needs --os.
	status := filepath.Join(root, "var", "lib", "dpkg", "status")
	r = te.runT(t, "", "assess", "--inventory", status, "--advisories", filepath.Join(data, "alpine", "CVE-2024-10524.json"))
	if r.code != 2 || !strings.Contains(r.stderr, "--os") {
		t.Errorf("status without --os: exit %d %s", r.code, r.stderr)
	}
	r = te.runT(t, "", "assess", "--inventory", status, "--os", "debian:12", "--advisories", filepath.Join(data, "alpine", "CVE-2024-10524.json"), "-o", "json")
	if fs := decodeFindings(t, r.stdout); r.code != 1 || len(fs) != 1 || fs[0].Host != "status" {
		t.Errorf("status with --os: exit %d %+v", r.code, fs)
	}
	// From stdin, on another release: no findings.
	b, _ := os.ReadFile(status)
	r = te.runT(t, string(b), "assess", "--inventory", "-", "--os", "debian:11", "--advisories", filepath.Join(data, "debian", "DSA-135.json"))
	if r.code != 0 {
		t.Errorf("debian 11 from stdin: exit %d %s", r.code, r.stderr)
	}
}

func TestAssessAlmaLinuxReportAndSBOM(t *testing.T) {
	data := assessData(t)
	dir := t.TempDir()
	report := map[string]any{
		"facts": patchwave.Facts{Hostname: "db-07", OS: patchwave.OS{ID: "almalinux", Version: "9.4", Family: "rhel"}},
		"packages": []patchwave.Package{
			{Name: "openssl", Version: "3.5.5-4.el9_8", Arch: "x86_64", Source: "openssl", SourceVersion: "3.5.5-4.el9_8"}, // epoch omitted: fixed
			{Name: "openssl-libs", Version: "1:3.5.1-3.el9", Arch: "x86_64", Source: "openssl", SourceVersion: "3.5.1-3.el9"},
			{Name: "nginx", Version: "2:1.20.1-22.el9_6.3.alma.1", Arch: "x86_64", Source: "nginx", SourceVersion: "1.20.1-22.el9_6.3.alma.1"},
		},
	}
	b, _ := json.Marshal(report)
	reportFile := filepath.Join(dir, "report.json")
	os.WriteFile(reportFile, b, 0o644)
	te := assessEnv(t)
	r := te.runT(t, "", "assess", "--inventory", reportFile, "--advisories", filepath.Join(data, "almalinux_osv"), "-o", "json")
	if r.code != 1 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	fs := decodeFindings(t, r.stdout)
	// nginx: the plain build's fix (ALSA-2026:7002), not the nginx:1.26
	// module stream's (ALSA-2026:7343); openssl: only the binary that
	// lacks the fix, not the one whose inventory omits the epoch.
	// Each of openssl-libs' two advisories has its own fixed version,
	// CVEs and severity.
	if len(fs) != 3 || fs[0].Package != "nginx" || !slices.Equal(fs[0].Advisories, []string{"ALSA-2026:7002"}) ||
		fs[1].Package != "openssl-libs" || fs[1].Host != "db-07" || !slices.Equal(fs[1].Advisories, []string{"ALSA-2026:22312"}) ||
		*fs[1].Fixed == "" || *fs[1].Fixed == "1:3.5.5-4.el9_8" || fs[1].Severity != "medium" || !slices.Equal(fs[1].CVEs, []string{"CVE-2026-28390"}) ||
		fs[2].Package != "openssl-libs" || !slices.Equal(fs[2].Advisories, []string{"ALSA-2026:25239"}) || *fs[2].Fixed != "1:3.5.5-4.el9_8" ||
		fs[2].Severity != "high" || len(fs[2].CVEs) != 15 {
		t.Errorf("findings %+v", fs)
	}

	// A CycloneDX SBOM with rpm purls and the operating system component.
	sbom := `{"bomFormat":"CycloneDX","specVersion":"1.5","components":[
	 {"type":"operating-system","name":"almalinux","version":"9.4"},
	 {"type":"library","name":"openssl-libs","version":"1:3.5.1-3.el9","purl":"pkg:rpm/almalinux/openssl-libs@3.5.1-3.el9?arch=x86_64&epoch=1&upstream=openssl-3.5.1-3.el9.src.rpm&distro=almalinux-9.4"},
	 {"type":"library","name":"left-pad","version":"1.3.0","purl":"pkg:npm/left-pad@1.3.0"}]}`
	sbomFile := filepath.Join(dir, "bom.cdx.json")
	os.WriteFile(sbomFile, []byte(sbom), 0o644)
	r = te.runT(t, "", "assess", "--inventory", sbomFile, "--advisories", filepath.Join(data, "almalinux_osv"), "-o", "json")
	fs = decodeFindings(t, r.stdout)
	if r.code != 1 || len(fs) != 2 || fs[0].Package != "openssl-libs" || fs[0].Installed != "1:3.5.1-3.el9" || fs[0].Source != "openssl" || fs[0].Host != "bom.cdx" {
		t.Errorf("sbom: exit %d %+v %s", r.code, fs, r.stderr)
	}
	// Debian purls with the distro qualifier only.
	sbom = `{"bomFormat":"CycloneDX","components":[
	 {"type":"library","name":"wget","purl":"pkg:deb/debian/wget@1.21.3-1%2Bb2?arch=amd64&distro=debian-12&upstream=wget%401.21.3-1"}]}`
	os.WriteFile(sbomFile, []byte(sbom), 0o644)
	r = te.runT(t, "", "assess", "--inventory", sbomFile, "--advisories", filepath.Join(data, "alpine", "CVE-2024-10524.json"), "-o", "json")
	fs = decodeFindings(t, r.stdout)
	if r.code != 1 || len(fs) != 1 || fs[0].Installed != "1.21.3-1+b2" || fs[0].Ecosystem != "Debian:12" || fs[0].State != "no-fix" {
		t.Errorf("deb sbom: exit %d %+v %s", r.code, fs, r.stderr)
	}
}

func TestAssessBadInput(t *testing.T) {
	data := assessData(t)
	dir := t.TempDir()
	root := makeRoot(t, filepath.Join(dir, "root"), jammyRelease, "h", []patchwave.Package{{Name: "bash", Version: "5.1-6ubuntu1"}})
	adv := filepath.Join(data, "ubuntu_osv")
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o644)
		return p
	}
	noOS := filepath.Join(dir, "noos")
	os.MkdirAll(filepath.Join(noOS, "var/lib/dpkg"), 0o755)
	noDB := filepath.Join(dir, "nodb")
	os.MkdirAll(filepath.Join(noDB, "etc"), 0o755)
	os.WriteFile(filepath.Join(noDB, "etc/os-release"), []byte(jammyRelease), 0o644)
	windows := filepath.Join(dir, "win")
	makeRoot(t, windows, "ID=plan9\nVERSION_ID=4\n", "w", []patchwave.Package{{Name: "bash", Version: "1"}})
	unreadable := filepath.Join(dir, "unreadable")
	os.MkdirAll(unreadable, 0o000)
	t.Cleanup(func() { os.Chmod(unreadable, 0o755) })
	for _, tt := range []struct {
		name   string
		args   []string
		stderr string
	}{
		{"no arguments", nil, "nothing to assess"},
		{"no advisories", []string{"--root", root}, "no advisories"},
		{"missing root", []string{"--root", filepath.Join(dir, "nope"), "--advisories", adv}, "no such file"},
		{"root is a file", []string{"--root", write("afile", "x"), "--advisories", adv}, "not a directory"},
		{"root without os-release", []string{"--root", noOS, "--advisories", adv}, "os-release"},
		{"root without package database", []string{"--root", noDB, "--advisories", adv}, "no dpkg, rpm or apk"},
		{"unknown os in root", []string{"--root", windows, "--advisories", adv}, "no advisories exist for plan9"},
		{"malformed inventory", []string{"--inventory", write("bad.json", `{"packages": [`), "--advisories", adv}, "not a valid JSON"},
		{"inventory of nothing", []string{"--inventory", write("empty.json", `{"x": 1}`), "--advisories", adv}, "without \"packages\""},
		{"invalid package", []string{"--inventory", write("inv.json", `{"facts":{"hostname":"x","os":{"id":"debian","version":"12"}},"packages":[{"name":"","version":"1"}]}`), "--advisories", adv}, "has no name"},
		{"garbage inventory", []string{"--inventory", write("garbage.txt", "hello\n"), "--advisories", adv}, "not an agent report"},
		{"missing inventory", []string{"--inventory", filepath.Join(dir, "none.json"), "--advisories", adv}, "no such file"},
		{"unknown --os", []string{"--inventory", write("st", "Package: a\nStatus: install ok installed\nVersion: 1\n"), "--os", "windows:11", "--advisories", adv}, "unknown operating system"},
		{"bad --os", []string{"--root", root, "--os", "ubuntu", "--advisories", adv}, "want ID:VERSION"},
		{"missing advisories", []string{"--root", root, "--advisories", filepath.Join(dir, "none.zip")}, "no such file"},
		{"corrupt zip", []string{"--root", root, "--advisories", write("bad.zip", "PK\x03\x04 not really")}, "advisories"},
		{"unreadable advisories", []string{"--root", root, "--advisories", unreadable, "--no-cache"}, "permission denied"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "unreadable advisories" && os.Geteuid() == 0 {
				t.Skip("root reads everything")
			}
			r := assessEnv(t).runT(t, "", append([]string{"assess"}, tt.args...)...)
			if r.code != 2 || !strings.Contains(r.stderr, tt.stderr) || r.stdout != "" {
				t.Errorf("exit %d, stderr %q; want 2 and %q (stdout %q)", r.code, r.stderr, tt.stderr, r.stdout)
			}
		})
	}
	r := assessEnv(t).runT(t, "", "assess", "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "Usage:\n  patchwave assess") || !strings.Contains(r.stdout, "--advisories") {
		t.Errorf("help: %d %s", r.code, r.stdout)
	}
}

// bionicPackages returns n Ubuntu 18.04 source packages with the fixed
// versions the tracker records give them, read from the shared all.zip.
func bionicPackages(b testing.TB, zipPath string, n int) []patchwave.Package {
	fixes := map[string][]string{}
	opts := feed.Options{Ecosystems: []string{"Ubuntu:18.04"}}
	_, err := opts.ReadOSV(context.Background(), zipPath, func(_ string, a patchwave.Advisory) error {
		for _, af := range a.Affected {
			if af.Package.Ecosystem != "Ubuntu:18.04:LTS" {
				continue
			}
			for _, r := range af.Ranges {
				for _, e := range r.Events {
					if e.Fixed != "" {
						fixes[af.Package.Name] = append(fixes[af.Package.Name], e.Fixed)
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	names := make([]string, 0, len(fixes))
	for name := range fixes {
		names = append(names, name)
	}
	slices.Sort(names)
	var out []patchwave.Package
	for i, name := range names {
		if len(out) >= n {
			break
		}
		vs := fixes[name]
		slices.Sort(vs)
		// Most packages at a fixed version, some at the oldest fix,
		// whose later advisories then apply.
		v := vs[len(vs)-1]
		if i%4 == 0 {
			v = vs[0]
		}
		out = append(out, patchwave.Package{Name: name, Version: v})
		if i%3 == 0 {
			out = append(out, patchwave.Package{Name: "lib" + name + "-dev", Version: v, Source: name})
		}
	}
	return out
}

// BenchmarkAssessRoots times "patchwave assess --root" of 1 and 100
// Ubuntu 18.04 hosts of ~700 packages against the 15,062 records of the
// shared ubuntu-cve-tracker-osv/all.zip, advisory loading included, with
// a cold and a warm cache. (The tracker snapshot predates 22.04, so the
// hosts run 18.04 to have findings.) Run with
//
//	go test -run '^$' -bench AssessRoots -benchtime 5x ./internal/cli/
func BenchmarkAssessRoots(b *testing.B) {
	data := assessData(b)
	zipPath := filepath.Join(data, "ubuntu-cve-tracker-osv", "all.zip")
	if _, err := zip.OpenReader(zipPath); err != nil {
		b.Skip(err)
	}
	pkgs := bionicPackages(b, zipPath, 700)
	dir := b.TempDir()
	var roots []string
	for i := range 100 {
		// Hosts differ a little: every tenth package one fix older or newer.
		ps := slices.Clone(pkgs)
		for j := i % 10; j < len(ps); j += 10 {
			if i%2 == 0 {
				ps[j].Version += "~old"
			}
		}
		roots = append(roots, makeRoot(b, filepath.Join(dir, fmt.Sprintf("r%03d", i)), bionicRelease, fmt.Sprintf("host-%03d", i), ps))
	}
	for _, n := range []int{1, 100} {
		for _, cache := range []string{"cold", "warm"} {
			b.Run(fmt.Sprintf("hosts=%d/cache=%s", n, cache), func(b *testing.B) {
				args := []string{"assess", "-o", "json", "--advisories", zipPath}
				for _, r := range roots[:n] {
					args = append(args, "--root", r)
				}
				te := assessEnv(b)
				if cache == "warm" {
					te.runT(b, "", args...)
				} else {
					args = append(args, "--no-cache")
				}
				var findings int
				var peak uint64
				for b.Loop() {
					r := te.runT(b, "", args...)
					if r.code != 1 {
						b.Fatalf("exit %d: %s", r.code, r.stderr)
					}
					findings = strings.Count(r.stdout, `"host":`)
					var m runtime.MemStats
					runtime.ReadMemStats(&m)
					peak = max(peak, m.Sys)
				}
				b.ReportMetric(float64(findings), "findings")
				b.ReportMetric(float64(peak)/(1<<20), "sys-MB")
			})
		}
	}
}

// TestAssessExitAndInvalidAdvisories: a finding on a third-party package
// is printed and makes the exit code 1 like any other; an advisory with
// an invalid fixed version or an unknown ecosystem is skipped with a
// warning, never reported with a garbage fixed version.
func TestAssessExitAndInvalidAdvisories(t *testing.T) {
	dir := t.TempDir()
	adv := filepath.Join(dir, "osv")
	os.MkdirAll(adv, 0o755)
	rec := func(id, eco, name, fixed string) string {
		return `{"id":"` + id + `","modified":"2024-01-02T03:04:05Z","aliases":["CVE-2024-1000"],"affected":[{"package":{"ecosystem":"` + eco + `","name":"` + name +
			`"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"` + fixed + `"}]}]}]}`
	}
	os.WriteFile(filepath.Join(adv, "good.json"), []byte(rec("DSA-1", "Debian:12", "php8.2", "8.2.20-1~deb12u1")), 0o644)
	os.WriteFile(filepath.Join(adv, "badver.json"), []byte(rec("BAD-VER", "Debian:12", "bash", "1:::!!")), 0o644)
	// Of an ecosystem no host has: not even decoded.
	os.WriteFile(filepath.Join(adv, "unkeco.json"), []byte(rec("UNK-ECO", "Nonsense:12", "bash", "9")), 0o644)
	debian := "ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n"
	// php from sury.org: third-party, still printed, still exit 1.
	root := makeRoot(t, filepath.Join(dir, "r"), debian, "web", []patchwave.Package{
		{Name: "php8.2-cli", Version: "8.2.7-1+0~20230608.23+debian12~1.gbp3e1a5b", Source: "php8.2", SourceVersion: "8.2.7-1+0~20230608.23+debian12~1.gbpsury"},
		{Name: "bash", Version: "5.2.15-2+b2", Source: "bash", SourceVersion: "5.2.15-2"},
	})
	te := assessEnv(t)
	r := te.runT(t, "", "assess", "--root", root, "--advisories", adv, "-o", "json", "--no-cache")
	fs := decodeFindings(t, r.stdout)
	if r.code != 1 || len(fs) != 1 || fs[0].Package != "php8.2-cli" || !fs[0].ThirdParty || *fs[0].Fixed != "8.2.20-1~deb12u1" {
		t.Errorf("exit %d, findings %+v\n%s", r.code, fs, r.stderr)
	}
	if !strings.Contains(r.stderr, "BAD-VER") || !strings.Contains(r.stderr, "fixed") || !strings.Contains(r.stderr, "1 invalid records skipped") {
		t.Errorf("stderr %q", r.stderr)
	}
	r = te.runT(t, "", "assess", "--root", root, "--advisories", adv, "--no-cache")
	if r.code != 1 || !strings.Contains(r.stdout, "php8.2-cli (third-party)") || strings.Contains(r.stdout, "!!") {
		t.Errorf("table: exit %d\n%s", r.code, r.stdout)
	}
}
