package cli

// patchwave assess: offline matching of inventories against advisories.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/assess"
	"github.com/patchwave/patchwave/internal/feed"
	"github.com/patchwave/patchwave/internal/osinfo"
	"github.com/patchwave/patchwave/internal/pkgmgr"
)

// exitStatus makes Main exit with code, after printing err (when not nil)
// as any failure is printed. "patchwave assess" exits with 1 when it has
// findings and 2 when it fails.
type exitStatus struct {
	code int
	err  error
}

func (e *exitStatus) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitStatus) Unwrap() error { return e.err }

// Exit codes of "patchwave assess".
const (
	assessClean    = 0 // no findings
	assessFindings = 1 // findings
	assessFailed   = 2 // the assessment could not be made
)

// repeatedFlag is a flag that may be given several times.
type repeatedFlag []string

func (r *repeatedFlag) String() string { return strings.Join(*r, ",") }

func (r *repeatedFlag) Set(s string) error {
	if s == "" {
		return errors.New("empty value")
	}
	*r = append(*r, s)
	return nil
}

// assessHost is one host to assess.
type assessHost struct {
	name string
	os   patchwave.OS
	pro  bool
	pkgs []patchwave.Package
}

func runAssess(ctx context.Context, e env, args []string) error {
	v := newVerb("assess", "", 0, `Match installed packages against advisories offline, without a server.

Each --root is the root directory of a system (a mounted image, a container
root, "/"): its etc/os-release and its dpkg, rpm or apk database are read,
its name is etc/hostname or the directory's name, and it counts as attached
to Ubuntu Pro when var/lib/ubuntu-advantage/status.json says so or an ESM
apt source is configured. Each --inventory is a file ("-" for stdin): the
agent's JSON report ({"facts": …, "packages": […]}), a CycloneDX JSON SBOM
with deb, rpm or apk purls, or a dpkg status file (which needs --os).

--advisories names OSV records: a .json file, a directory of them or a zip
archive such as osv.dev's all.zip; only the records of the hosts'
ecosystems are decoded. What was read is cached in --cache-dir, keyed by
each source's path, size and modification time (for a directory, those of
every file in it) and the ecosystems asked for: a later run over the same
unchanged sources and operating systems reads the cache (a few times faster
than decoding OSV JSON) and files for a source's older content are removed.
--no-cache reads the sources afresh and writes no cache.

The exit code is 0 when nothing is found, 1 when any finding is printed
(those on packages that look built by a third party too), 2 when the
assessment failed. The table shows one line per installed binary package
and state (missing, or no fix yet) with the highest fixed version of its
advisories. With -o json the output is a JSON array with one object per
(binary package, advisory): host, ecosystem, package, arch, source,
installed, fixed (the version that fixes that advisory, "" when no fix
exists), state (missing or no-fix), advisories (that advisory's id), cves,
severity, cvss and third_party.`,
		`patchwave assess --root / --advisories ubuntu-osv.zip
patchwave assess --root /mnt/img1 --root /mnt/img2 --advisories osv/ -o json
patchwave assess --inventory status --os debian:12 --advisories debian.zip`)
	var roots, inventories, sources repeatedFlag
	v.Var(&roots, "root", "root `directory` of a system to assess (repeatable)")
	v.Var(&inventories, "inventory", "inventory `file` to assess: agent JSON report, CycloneDX SBOM or dpkg status; - for stdin (repeatable)")
	v.Var(&sources, "advisories", "OSV advisories: a .json `path`, a directory or a zip archive (repeatable, required)")
	osFlag := v.String("os", "", "operating system `ID:VERSION` of the inventories, such as debian:12 or ubuntu:22.04 (overrides theirs)")
	pro := v.Bool("pro", false, "treat the hosts as attached to Ubuntu Pro (or, on RHEL, to an extended update stream)")
	noCache := v.Bool("no-cache", false, "read the advisories afresh, without the cache")
	cacheDir := v.String("cache-dir", e.getenv("PATCHWAVE_CACHE_DIR"), "`directory` of the advisory cache (env PATCHWAVE_CACHE_DIR; default patchwave in the user's cache directory)")
	out := v.outputFlag()
	if _, err := v.parse(args); err != nil {
		return err
	}
	if len(roots) == 0 && len(inventories) == 0 {
		return v.usageErrorf("nothing to assess: give --root DIR or --inventory FILE")
	}
	if len(sources) == 0 {
		return v.usageErrorf("no advisories: give --advisories PATH")
	}
	var forced *patchwave.OS
	if *osFlag != "" {
		o, err := parseOSFlag(*osFlag)
		if err != nil {
			return v.usageErrorf("%s", err)
		}
		forced = &o
	}
	fail := func(err error) error { return &exitStatus{code: assessFailed, err: err} }

	var hosts []assessHost
	for _, r := range roots {
		h, err := readRoot(ctx, r)
		if err != nil {
			return fail(err)
		}
		if forced != nil {
			h.os = *forced
		}
		hosts = append(hosts, h)
	}
	for _, name := range inventories {
		h, err := readInventoryFile(e, name, forced)
		if err != nil {
			return fail(err)
		}
		hosts = append(hosts, h)
	}
	var ecos []string
	for i := range hosts {
		h := &hosts[i]
		h.pro = h.pro || *pro
		es := assess.Ecosystems(h.os, h.pro)
		if len(es) == 0 {
			return fail(fmt.Errorf("assess: %s: no advisories exist for %s %s (known: debian, ubuntu, alpine, almalinux, rocky, rhel, sles, opensuse)",
				h.name, cmpOrString(h.os.ID, "an unknown system"), h.os.Version))
		}
		for _, eco := range es {
			if !slices.Contains(ecos, eco) {
				ecos = append(ecos, eco)
			}
		}
	}

	dir := ""
	if !*noCache {
		dir = *cacheDir
		if dir == "" {
			if d, err := os.UserCacheDir(); err == nil {
				dir = filepath.Join(d, "patchwave")
			}
		}
	}
	ix := assess.NewIndex()
	for _, src := range sources {
		advs, err := loadAdvisories(ctx, e, src, assess.Prefilter(ecos), dir)
		if err != nil {
			return fail(err)
		}
		for _, a := range advs {
			ix.Add(a)
		}
	}

	fl := assess.NewFleet(ix)
	for i, h := range hosts {
		fl.AddHost(int64(i+1), h.name, h.os, h.pro, h.pkgs)
	}
	byHost := make([][]patchwave.Finding, len(hosts))
	fl.Each(func(id int64, fs []patchwave.Finding) error {
		byHost[id-1] = slices.Clone(fs)
		return nil
	})
	all := []patchwave.Finding{}
	for _, fs := range byHost {
		for _, f := range fs {
			f.HostID = 0
			all = append(all, f)
		}
	}
	if *out == formatJSON {
		if err := writeJSONLines(e.stdout, perAdvisory(ix, hosts, byHost)); err != nil {
			return fail(err)
		}
	} else if len(all) > 0 {
		t := newTable(e.stdout, "HOST", "PACKAGE", "INSTALLED", "FIXED", "SEVERITY", "ADVISORIES", "CVES")
		for _, f := range all {
			pkg, fixed := f.Package, f.Fixed
			if f.ThirdParty {
				pkg += " (third-party)"
			}
			if f.State == patchwave.FindingNoFix {
				fixed = "(no fix)"
			}
			t.row(f.Host, pkg, f.Installed, fixed, string(f.Severity), shortList(f.Advisories, 3), shortList(f.CVEs, 3))
		}
		if err := t.flush(); err != nil {
			return fail(err)
		}
	} else {
		fmt.Fprintf(e.stdout, "no findings on %d host(s)\n", len(hosts))
	}
	if len(all) > 0 {
		return &exitStatus{code: assessFindings}
	}
	return nil
}

// assessFinding is one line of "patchwave assess -o json": one installed
// binary package affected by one advisory.
type assessFinding struct {
	Host       string             `json:"host"`
	Ecosystem  string             `json:"ecosystem"`
	Package    string             `json:"package"` // the binary package
	Arch       string             `json:"arch,omitempty"`
	Source     string             `json:"source"`
	Installed  string             `json:"installed"`
	Fixed      string             `json:"fixed"` // the version that fixes the advisory; "" when none does yet
	State      string             `json:"state"` // missing or no-fix
	Advisories []string           `json:"advisories"`
	CVEs       []string           `json:"cves"`
	Severity   patchwave.Severity `json:"severity"`
	CVSS       float64            `json:"cvss,omitempty"`
	ThirdParty bool               `json:"third_party,omitempty"`
}

// perAdvisory splits each host's findings, which merge the advisories of
// one package, into one assessFinding per advisory, each with its own
// fixed version, CVEs and severity.
func perAdvisory(ix *assess.Index, hosts []assessHost, byHost [][]patchwave.Finding) []assessFinding {
	type pkgKey struct{ name, version string } // findings may lack the arch; arches of one version match alike
	type hitKey struct {
		ecos string
		p    patchwave.Package
	}
	explained := map[hitKey][]assess.Hit{}
	out := []assessFinding{}
	for i, fs := range byHost {
		if len(fs) == 0 {
			continue
		}
		h := &hosts[i]
		ecos := assess.Ecosystems(h.os, h.pro)
		ecosKey := strings.Join(ecos, "\x00")
		pkgs := make(map[pkgKey]patchwave.Package, len(h.pkgs))
		for _, p := range h.pkgs {
			pkgs[pkgKey{p.Name, p.Version}] = p
		}
		for _, f := range fs {
			p, ok := pkgs[pkgKey{f.Package, f.Installed}]
			k := hitKey{ecosKey, p}
			hits, done := explained[k]
			if ok && !done {
				hits = ix.Explain(ecos, p)
				explained[k] = hits
			}
			for _, hit := range hits {
				if !slices.Contains(f.Advisories, hit.Advisory) {
					continue // the package's other finding (missing or no-fix) has it
				}
				out = append(out, assessFinding{Host: f.Host, Ecosystem: f.Ecosystem, Package: f.Package, Arch: f.Arch, Source: f.Source,
					Installed: f.Installed, Fixed: hit.Fixed, State: string(f.State), Advisories: []string{hit.Advisory},
					CVEs: nonNilStrings(hit.CVEs), Severity: hit.Severity, CVSS: hit.CVSS, ThirdParty: f.ThirdParty})
			}
		}
	}
	return out
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func cmpOrString(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// shortList joins at most n items, saying how many more there are.
func shortList(s []string, n int) string {
	if len(s) <= n {
		return strings.Join(s, ",")
	}
	return strings.Join(s[:n], ",") + fmt.Sprintf(",+%d", len(s)-n)
}

// parseOSFlag reads --os ID:VERSION.
func parseOSFlag(s string) (patchwave.OS, error) {
	id, ver, ok := strings.Cut(s, ":")
	id = strings.ToLower(strings.TrimSpace(id))
	o := patchwave.OS{ID: id, Version: strings.TrimSpace(ver), Family: osinfo.Family(id, "")}
	if !ok || id == "" || o.Version == "" {
		return o, fmt.Errorf("--os %q: want ID:VERSION, such as debian:12 or ubuntu:22.04", s)
	}
	if len(assess.Ecosystems(o, false)) == 0 {
		return o, fmt.Errorf("--os %q: unknown operating system (known: debian, ubuntu, alpine, almalinux, rocky, rhel, sles, opensuse-leap)", s)
	}
	return o, nil
}

// readRoot reads the system under dir.
func readRoot(ctx context.Context, dir string) (assessHost, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return assessHost{}, fmt.Errorf("assess: root: %w", err)
	}
	if !fi.IsDir() {
		return assessHost{}, fmt.Errorf("assess: root %s is not a directory", dir)
	}
	var osr []byte
	for _, p := range []string{"etc/os-release", "usr/lib/os-release"} {
		if osr, err = os.ReadFile(filepath.Join(dir, p)); err == nil {
			break
		}
	}
	if err != nil {
		return assessHost{}, fmt.Errorf("assess: root %s has no etc/os-release: %w", dir, err)
	}
	h := assessHost{}
	if h.os, err = osinfo.ParseOSRelease(osr); err != nil {
		return assessHost{}, fmt.Errorf("assess: root %s: %w", dir, err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "etc", "hostname")); err == nil {
		h.name = osinfo.ParseHostname(b)
	}
	if h.name == "" {
		abs, _ := filepath.Abs(dir)
		h.name = filepath.Base(abs)
	}
	pkgs, format, err := pkgmgr.Installed(ctx, dir)
	if err != nil {
		return assessHost{}, fmt.Errorf("assess: root %s: %w", dir, err)
	}
	if format == "" {
		return assessHost{}, fmt.Errorf("assess: root %s has no dpkg, rpm or apk package database", dir)
	}
	h.pkgs = pkgs
	h.pro = osinfo.Pro(dir)
	return h, nil
}

// maxInventoryBytes bounds an inventory file.
const maxInventoryBytes = 256 << 20

// readInventoryFile reads an inventory: an agent report, a CycloneDX SBOM
// or a dpkg status file.
func readInventoryFile(e env, name string, forced *patchwave.OS) (assessHost, error) {
	var r io.Reader = e.stdin
	label := "stdin"
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return assessHost{}, fmt.Errorf("assess: inventory: %w", err)
		}
		defer f.Close()
		r, label = f, name
	}
	b, err := io.ReadAll(io.LimitReader(r, maxInventoryBytes+1))
	if err != nil {
		return assessHost{}, fmt.Errorf("assess: inventory %s: %w", label, err)
	}
	if len(b) > maxInventoryBytes {
		return assessHost{}, fmt.Errorf("assess: inventory %s is over %d bytes", label, maxInventoryBytes)
	}
	h := assessHost{name: strings.TrimSuffix(filepath.Base(label), filepath.Ext(label))}
	trimmed := bytes.TrimSpace(b)
	switch {
	case len(trimmed) > 0 && trimmed[0] == '{':
		var doc struct {
			Facts     *patchwave.Facts     `json:"facts"`
			Packages  *[]patchwave.Package `json:"packages"`
			BOMFormat string               `json:"bomFormat"`
		}
		if err := json.Unmarshal(trimmed, &doc); err != nil {
			return assessHost{}, fmt.Errorf("assess: inventory %s: not a valid JSON report: %v", label, err)
		}
		switch {
		case doc.BOMFormat == "CycloneDX":
			if err := readCycloneDX(trimmed, &h); err != nil {
				return assessHost{}, fmt.Errorf("assess: inventory %s: %w", label, err)
			}
		case doc.Packages != nil:
			h.pkgs = *doc.Packages
			if doc.Facts != nil {
				h.os = doc.Facts.OS
				if doc.Facts.Hostname != "" {
					h.name = doc.Facts.Hostname
				}
			}
		default:
			return assessHost{}, fmt.Errorf("assess: inventory %s: JSON without \"packages\" or a CycloneDX \"bomFormat\"", label)
		}
		if err := patchwave.ValidatePackages(h.pkgs); err != nil {
			return assessHost{}, fmt.Errorf("assess: inventory %s: %s", label, patchwave.ErrorMessage(err))
		}
	default:
		parse := pkgmgr.ParseDpkgStatus
		if bytes.HasPrefix(trimmed, []byte("C:")) || bytes.HasPrefix(trimmed, []byte("P:")) {
			parse = pkgmgr.ParseApkInstalled
		} else if !bytes.HasPrefix(trimmed, []byte("Package:")) {
			return assessHost{}, fmt.Errorf("assess: inventory %s: not an agent report, a CycloneDX SBOM or a dpkg status file", label)
		}
		if h.pkgs, err = parse(bytes.NewReader(b)); err != nil {
			return assessHost{}, fmt.Errorf("assess: inventory %s: %w", label, err)
		}
		if forced == nil {
			return assessHost{}, fmt.Errorf("assess: inventory %s is a package database without the operating system: give --os ID:VERSION", label)
		}
	}
	if forced != nil {
		h.os = *forced
	}
	if h.os.ID == "" {
		return assessHost{}, fmt.Errorf("assess: inventory %s does not say its operating system: give --os ID:VERSION", label)
	}
	return h, nil
}

// readCycloneDX reads the deb, rpm and apk packages of a CycloneDX SBOM,
// and its operating system from an operating-system component or the
// purls' distro qualifier ("debian-12").
func readCycloneDX(b []byte, h *assessHost) error {
	type component struct {
		Type    string `json:"type"`
		Name    string `json:"name"`
		Version string `json:"version"`
		Purl    string `json:"purl"`
	}
	var bom struct {
		Metadata struct {
			Component *component `json:"component"`
		} `json:"metadata"`
		Components []component `json:"components"`
	}
	if err := json.Unmarshal(b, &bom); err != nil {
		return fmt.Errorf("not a valid CycloneDX SBOM: %v", err)
	}
	comps := bom.Components
	if c := bom.Metadata.Component; c != nil {
		comps = append(comps, *c)
	}
	distro := ""
	for _, c := range comps {
		if c.Type == "operating-system" && c.Name != "" && h.os.ID == "" {
			h.os = patchwave.OS{ID: strings.ToLower(c.Name), Version: c.Version}
			h.os.Family = osinfo.Family(h.os.ID, "")
			continue
		}
		p, d, ok := parsePurl(c.Purl)
		if !ok {
			continue
		}
		if distro == "" {
			distro = d
		}
		h.pkgs = append(h.pkgs, p)
	}
	if h.os.ID == "" && distro != "" {
		if i := strings.LastIndexByte(distro, '-'); i > 0 {
			h.os = patchwave.OS{ID: distro[:i], Version: distro[i+1:], Family: osinfo.Family(distro[:i], "")}
		}
	}
	if len(h.pkgs) == 0 {
		return errors.New("CycloneDX SBOM without deb, rpm or apk packages")
	}
	return nil
}

// parsePurl reads a deb, rpm or apk package URL into a package and its
// distro qualifier: pkg:deb/debian/bash@5.2.15-2%2Bb8?arch=amd64&distro=debian-12&upstream=bash%405.2.15-2.
func parsePurl(purl string) (patchwave.Package, string, bool) {
	rest, ok := strings.CutPrefix(purl, "pkg:")
	if !ok {
		return patchwave.Package{}, "", false
	}
	typ, rest, _ := strings.Cut(rest, "/")
	if typ != "deb" && typ != "rpm" && typ != "apk" {
		return patchwave.Package{}, "", false
	}
	rest, _, _ = strings.Cut(rest, "#")
	path, query, _ := strings.Cut(rest, "?")
	q, _ := url.ParseQuery(query)
	at := strings.LastIndexByte(path, '@')
	if at < 0 {
		return patchwave.Package{}, "", false
	}
	name, err1 := url.PathUnescape(path[strings.LastIndexByte(path[:at], '/')+1 : at])
	ver, err2 := url.PathUnescape(path[at+1:])
	if err1 != nil || err2 != nil || name == "" || ver == "" {
		return patchwave.Package{}, "", false
	}
	p := patchwave.Package{Name: name, Version: ver, Arch: q.Get("arch")}
	up := q.Get("upstream")
	switch typ {
	case "deb":
		if up != "" {
			p.Source, p.SourceVersion, _ = strings.Cut(up, "@")
		}
	case "rpm":
		if ep := q.Get("epoch"); ep != "" && ep != "0" {
			p.Version = ep + ":" + ver
		}
		if s, ok := strings.CutSuffix(up, ".src.rpm"); ok {
			if i := strings.LastIndexByte(s, '-'); i > 0 {
				if j := strings.LastIndexByte(s[:i], '-'); j > 0 {
					p.Source, p.SourceVersion = s[:j], s[j+1:]
				}
			}
		} else if up != "" {
			p.Source = up
		}
	case "apk":
		p.Source = up
	}
	return p, q.Get("distro"), true
}

// cacheFormat changes whenever what the cache holds changes shape.
const cacheFormat = "patchwave-osv-cache-1"

// loadAdvisories reads the OSV records of src whose ecosystems start with
// one of prefixes, from the cache in dir when it has them (dir "" for no
// cache), and writes them there after reading src.
func loadAdvisories(ctx context.Context, e env, src string, prefixes []string, dir string) ([]patchwave.Advisory, error) {
	key, stale := "", ""
	if dir != "" {
		abs, fp, err := fingerprint(src)
		if err != nil {
			return nil, fmt.Errorf("assess: advisories: %w", err)
		}
		// osv-<path>-<content>-<ecosystems>.gob: when a source changes,
		// the files of its older content are removed.
		ph, ch, eh := shortHash(abs), shortHash(cacheFormat+"\x00"+fp), shortHash(strings.Join(prefixes, "\x00"))
		key = filepath.Join(dir, "osv-"+ph+"-"+ch+"-"+eh+".gob")
		stale = filepath.Join(dir, "osv-"+ph+"-*.gob")
		if advs, err := readCache(key); err == nil {
			return advs, nil
		}
		if old, _ := filepath.Glob(stale); len(old) > 0 {
			for _, f := range old {
				if !strings.HasPrefix(filepath.Base(f), "osv-"+ph+"-"+ch+"-") {
					os.Remove(f)
				}
			}
		}
	}
	var advs []patchwave.Advisory
	opts := feed.Options{Ecosystems: prefixes, SkipInvalid: true}
	st, err := opts.ReadOSV(ctx, src, func(_ string, a patchwave.Advisory) error {
		advs = append(advs, trimAdvisory(a, prefixes))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("assess: advisories: %w", err)
	}
	if st.Skipped > 0 || st.Dropped > 0 {
		fmt.Fprintf(e.stderr, "patchwave: %s: %d invalid records skipped, %d affected entries dropped (first: %v)\n",
			src, st.Skipped, st.Dropped, st.Errors[0])
	}
	if key != "" {
		if err := writeCache(key, advs); err != nil {
			fmt.Fprintf(e.stderr, "patchwave: advisory cache not written: %v\n", err)
		}
	}
	return advs, nil
}

// trimAdvisory keeps what matching uses: no details or references, and
// only the affected entries of the ecosystems asked for.
func trimAdvisory(a patchwave.Advisory, prefixes []string) patchwave.Advisory {
	a.Details, a.References = "", nil
	aff := a.Affected[:0:0]
	for _, af := range a.Affected {
		n := assess.NormalizeEcosystem(af.Package.Ecosystem)
		for _, p := range prefixes {
			if strings.HasPrefix(n, p) || strings.HasPrefix(af.Package.Ecosystem, p) {
				af.Package.Purl = ""
				aff = append(aff, af)
				break
			}
		}
	}
	a.Affected = aff
	return a
}

// fingerprint identifies the content of an advisory source by path, size
// and modification time: of the file, or of every file under a directory.
// It returns the absolute path too.
func fingerprint(src string) (abs, fp string, err error) {
	if abs, err = filepath.Abs(src); err != nil {
		return "", "", err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return "", "", err
	}
	if !fi.IsDir() {
		return abs, fmt.Sprintf("%d\x00%d", fi.Size(), fi.ModTime().UnixNano()), nil
	}
	h := sha256.New()
	err = filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		i, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00%d\x00", p, i.Size(), i.ModTime().UnixNano())
		return nil
	})
	return abs, hex.EncodeToString(h.Sum(nil)), err
}

func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:8])
}

func readCache(path string) ([]patchwave.Advisory, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var advs []patchwave.Advisory
	if err := gob.NewDecoder(bufio.NewReaderSize(f, 1<<16)).Decode(&advs); err != nil {
		return nil, err
	}
	return advs, nil
}

func writeCache(path string, advs []patchwave.Advisory) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".osv-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriterSize(tmp, 1<<16)
	if err := gob.NewEncoder(w).Encode(advs); err != nil {
		tmp.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
