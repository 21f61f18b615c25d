package server_test

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/client"
)

// osvRecord is a small Debian 12 record for a source package.
func osvRecord(id, modified, source, fixed string, cves ...string) string {
	events := `{"introduced":"0"}`
	if fixed != "" {
		events += fmt.Sprintf(`,{"fixed":%q}`, fixed)
	}
	aliases := `[]`
	if len(cves) > 0 {
		aliases = `["` + strings.Join(cves, `","`) + `"]`
	}
	return fmt.Sprintf(`{"id":%q,"modified":%q,"published":"2024-01-01T00:00:00Z","aliases":%s,"summary":"%s issue",
		"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
		"affected":[{"package":{"ecosystem":"Debian:12","name":%q},"ranges":[{"type":"ECOSYSTEM","events":[%s]}]}]}`,
		id, modified, aliases, source, source, events)
}

func zipOf(t *testing.T, files map[string]string) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	zw.Close()
	return b.Bytes()
}

const kevJSON = `{"title":"CISA Catalog of Known Exploited Vulnerabilities","catalogVersion":"2025.01.02","dateReleased":"2025-01-02T15:00:00.000Z","count":1,
"vulnerabilities":[{"cveID":"CVE-2024-0001","vendorProject":"OpenSSL","product":"OpenSSL","vulnerabilityName":"OpenSSL flaw","dateAdded":"2024-01-01",
"shortDescription":"x","requiredAction":"Apply updates.","dueDate":"2024-01-22","knownRansomwareCampaignUse":"Known","notes":""}]}`

// agentHost enrolls a Debian 12 host and reports its packages.
func agentHost(t *testing.T, ts *testServer, name string, pkgs []patchwave.Package) *client.Client {
	t.Helper()
	tok := enrollToken(t, ts.Admin, map[string]any{"site": "paris"})
	e := enroll(t, ts.URL, tok.Token, name)
	ag := client.New(ts.URL, e.Credential)
	facts := patchwave.Facts{Hostname: name, OS: patchwave.OS{ID: "debian", Family: "debian", Version: "12", Name: "Debian GNU/Linux 12 (bookworm)"}}
	pkgs = patchwave.SortPackages(pkgs)
	if _, err := ag.Checkin(context.Background(), patchwave.CheckinRequest{FactsHash: facts.Hash(), PackagesHash: patchwave.HashPackages(pkgs), Facts: &facts, Packages: &pkgs}); err != nil {
		t.Fatal(err)
	}
	return ag
}

func waitAssessed(t *testing.T, ts *testServer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := ts.WaitAssessed(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestAssessmentLifecycle(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, ts *testServer) {
		ctx := context.Background()
		pkgs := []patchwave.Package{
			{Name: "libssl3", Version: "3.0.11-1~deb12u2", Arch: "amd64", Source: "openssl"},
			{Name: "openssl", Version: "3.0.11-1~deb12u2", Arch: "amd64"},
			{Name: "bsdutils", Version: "1:2.38.1-5+b1", Arch: "amd64", Source: "util-linux", SourceVersion: "2.38.1-5"},
			{Name: "zlib1g", Version: "1:1.2.13.dfsg-1", Arch: "amd64", Source: "zlib"},
		}
		ag := agentHost(t, ts, "web-01", pkgs)
		zipped := zipOf(t, map[string]string{
			"DSA-1.json":     osvRecord("DSA-1", "2024-01-02T00:00:00Z", "openssl", "3.0.15-1~deb12u1", "CVE-2024-0001"),
			"DSA-2.json":     osvRecord("DSA-2", "2024-01-02T00:00:00Z", "util-linux", "2.38.1-5+deb12u1", "CVE-2024-0002"),
			"DEBIAN-3.json":  osvRecord("DEBIAN-CVE-2024-0003", "2024-01-02T00:00:00Z", "zlib", "", "CVE-2024-0003"),
			"DSA-OLD.json":   osvRecord("DSA-OLD", "2024-01-02T00:00:00Z", "zlib", "1:1.2.0-1", "CVE-2010-0001"),
			"sub/other.json": strings.Replace(osvRecord("USN-9", "2024-01-02T00:00:00Z", "openssl", "9.9", "CVE-2024-0009"), "Debian:12", "Ubuntu:22.04:LTS", 1),
		})
		if _, err := ts.Admin.ImportFeed(ctx, "debian", "osv", bytes.NewReader(zipped)); err != nil {
			t.Fatal(err)
		}
		if _, err := ts.Admin.ImportFeed(ctx, "kev", "kev", strings.NewReader(kevJSON)); err != nil {
			t.Fatal(err)
		}
		waitAssessed(t, ts)
		fs, err := ts.Admin.HostFindings(ctx, "web-01")
		if err != nil {
			t.Fatal(err)
		}
		byPkg := map[string]patchwave.Finding{}
		for _, f := range fs {
			byPkg[f.Package] = f
		}
		if len(fs) != 4 {
			t.Errorf("%d findings, want 4 (libssl3, openssl, bsdutils, zlib1g no-fix): %+v", len(fs), fs)
		}
		ssl := byPkg["libssl3"]
		if ssl.State != patchwave.FindingMissing || ssl.Fixed != "3.0.15-1~deb12u1" || ssl.Source != "openssl" ||
			ssl.KEV == nil || !ssl.KEV.Ransomware || ssl.Severity != patchwave.SeverityCritical {
			t.Errorf("libssl3 finding %+v (kev %+v)", ssl, ssl.KEV)
		}
		if f := byPkg["bsdutils"]; f.State != patchwave.FindingMissing || f.Fixed != "2.38.1-5+deb12u1" {
			t.Errorf("bsdutils (source version, binary epoch) finding %+v", f)
		}
		if f := byPkg["zlib1g"]; f.State != patchwave.FindingNoFix || f.Fixed != "" {
			t.Errorf("zlib1g unfixed finding %+v", f)
		}
		kevOnly := true
		list, _, err := ts.Admin.Findings(ctx, patchwave.FindingFilter{KEV: &kevOnly})
		if err != nil || len(list) != 2 {
			t.Errorf("KEV findings: %d %v", len(list), err)
		}
		_, adv, err := ts.Admin.Advisory(ctx, "DSA-1")
		if err != nil || len(adv) != 2 || adv[0].Host != "web-01" {
			t.Errorf("advisory page: %+v %v", adv, err)
		}
		feeds, _ := ts.Admin.Feeds(ctx)
		if len(feeds) != 2 || feeds[0].Records == 0 || feeds[0].LastSuccess == nil {
			t.Errorf("feeds %+v", feeds)
		}

		// The host upgrades openssl: its findings are closed as fixed.
		up := slicesReplace(pkgs, "3.0.11-1~deb12u2", "3.0.15-1~deb12u1")
		facts := patchwave.Facts{Hostname: "web-01", OS: patchwave.OS{ID: "debian", Family: "debian", Version: "12", Name: "Debian GNU/Linux 12 (bookworm)"}}
		up = patchwave.SortPackages(up)
		if _, err := ag.Checkin(ctx, patchwave.CheckinRequest{FactsHash: facts.Hash(), PackagesHash: patchwave.HashPackages(up), Packages: &up}); err != nil {
			t.Fatal(err)
		}
		waitAssessed(t, ts)
		fixed, _, _ := ts.Admin.Findings(ctx, patchwave.FindingFilter{State: patchwave.FindingFixed})
		if len(fixed) != 2 || fixed[0].FixedAt == nil {
			t.Errorf("fixed findings %+v", fixed)
		}
		open, _ := ts.Admin.HostFindings(ctx, "web-01")
		if len(open) != 2 {
			t.Errorf("open after upgrade: %+v", open)
		}

		// A newer version of a record replaces it; an older one does not.
		newer := osvRecord("DSA-2", "2024-02-01T00:00:00Z", "util-linux", "2.38.1-5", "CVE-2024-0002")
		if _, err := ts.Admin.ImportFeed(ctx, "debian", "", strings.NewReader(newer)); err != nil {
			t.Fatal(err)
		}
		waitAssessed(t, ts)
		open, _ = ts.Admin.HostFindings(ctx, "web-01")
		if len(open) != 1 || open[0].Package != "zlib1g" {
			t.Errorf("after the corrected record: %+v", open)
		}
		h, _ := ts.Admin.Host(ctx, "web-01")
		if h.OSEOL == nil {
			t.Errorf("Debian 12 host has no end-of-life date: %+v", h)
		}
	})
}

func slicesReplace(ps []patchwave.Package, from, to string) []patchwave.Package {
	out := make([]patchwave.Package, len(ps))
	for i, p := range ps {
		if p.Version == from {
			p.Version = to
		}
		out[i] = p
	}
	return out
}

func TestFeedImportBadInput(t *testing.T) {
	t.Parallel()
	ts := newServer(t, "")
	ctx := context.Background()
	good := osvRecord("DSA-1", "2024-01-02T00:00:00Z", "openssl", "3.0.15-1~deb12u1")
	if _, err := ts.Admin.ImportFeed(ctx, "debian", "osv", strings.NewReader(good)); err != nil {
		t.Fatal(err)
	}
	bomb := func() []byte {
		var b bytes.Buffer
		zw := zip.NewWriter(&b)
		w, _ := zw.Create("bomb.json")
		w.Write(bytes.Repeat([]byte(" "), 64<<20))
		zw.Close()
		return b.Bytes()
	}()
	for _, c := range []struct {
		name, feed, kind string
		body             []byte
		msg              string
	}{
		{"not json", "debian", "", []byte("{"), "debian"},
		{"missing id", "debian", "", []byte(`{"modified":"2024-01-01T00:00:00Z"}`), "id"},
		{"bad range", "debian", "", []byte(`{"id":"X-1","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Debian:12","name":"a"},"ranges":[{"type":"ECOSYSTEM","events":[{"fixed":"1","introduced":"0"}]}]}]}`), "X-1"},
		{"traversal", "debian", "", zipOf(t, map[string]string{"../../etc/x.json": good}), ".."},
		{"zip bomb", "debian", "", bomb, "zip bomb"},
		{"truncated zip", "debian", "", zipOf(t, map[string]string{"a.json": good})[:60], "zip"},
		{"unknown kind", "new", "rss", []byte("x"), "unknown feed kind"},
		{"new feed without kind", "new", "", []byte("x"), "give its kind"},
		{"kind mismatch", "debian", "kev", []byte(kevJSON), "holds osv"},
		{"bad kev", "kev", "kev", []byte(`{"vulnerabilities":[{"cveID":"nope"}]}`), "kev"},
		{"empty", "debian", "", nil, "empty"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ts.Admin.ImportFeed(ctx, c.feed, c.kind, bytes.NewReader(c.body))
			if err == nil || !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(c.msg)) {
				t.Errorf("import: %v, want an error mentioning %q", err, c.msg)
			}
		})
	}
	n, _ := ts.Store().CountAdvisories(ctx)
	if n != 1 {
		t.Errorf("bad imports changed the stored records: %d", n)
	}
	fs, _ := ts.Admin.Feeds(ctx)
	for _, f := range fs {
		if f.Name == "debian" && (f.Records != 1 || f.Error == "" || f.LastSuccess == nil) {
			t.Errorf("feed state after failures: %+v", f)
		}
	}
	viewer, _ := ts.Admin.CreateUser(ctx, client.NewUser{Name: "vi", Password: "viewer-password", Role: patchwave.RoleViewer})
	_ = viewer
	vc := client.New(ts.URL, login(t, ts.URL, "vi", "viewer-password"))
	if _, err := vc.ImportFeed(ctx, "debian", "", strings.NewReader(good)); patchwave.ErrorCode(err) != patchwave.EForbidden {
		t.Errorf("viewer import: %v", err)
	}
}

func TestAssessmentAfterHostDeleted(t *testing.T) {
	t.Parallel()
	ts := newServer(t, "")
	ctx := context.Background()
	pkgs := []patchwave.Package{{Name: "libssl3", Version: "3.0.11-1~deb12u2", Arch: "amd64", Source: "openssl"}}
	agentHost(t, ts, "gone-01", pkgs)
	agentHost(t, ts, "kept-01", pkgs)
	waitAssessed(t, ts)
	if err := ts.Admin.DeleteHost(ctx, "gone-01"); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Admin.ImportFeed(ctx, "debian", "osv", strings.NewReader(osvRecord("DSA-1", "2024-01-02T00:00:00Z", "openssl", "3.0.15-1~deb12u1"))); err != nil {
		t.Fatal(err)
	}
	waitAssessed(t, ts)
	if _, err := ts.Admin.ImportFeed(ctx, "kev", "kev", strings.NewReader(kevJSON)); err != nil {
		t.Fatal(err)
	}
	waitAssessed(t, ts)
	fs, _, err := ts.Admin.Findings(ctx, patchwave.FindingFilter{})
	if err != nil || len(fs) != 1 || fs[0].Host != "kept-01" {
		t.Fatalf("findings %+v %v", fs, err)
	}
	if strings.Contains(ts.logs(), "assessment failed") {
		t.Errorf("assessment failed:\n%s", ts.logs())
	}
}

func TestUbuntuProHostsGetProFixes(t *testing.T) {
	t.Parallel()
	ts := newServer(t, "")
	ctx := context.Background()
	rec := `{"id":"UBUNTU-CVE-2024-0100","modified":"2024-03-01T00:00:00Z","affected":[{"package":{"ecosystem":"Ubuntu:Pro:18.04:LTS","name":"jq"},
		"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.5+dfsg-2ubuntu0.1~esm1"}]}]}]}`
	if _, err := ts.Admin.ImportFeed(ctx, "ubuntu", "osv", strings.NewReader(rec)); err != nil {
		t.Fatal(err)
	}
	for _, pro := range []bool{false, true} {
		name := fmt.Sprintf("bionic-pro-%t", pro)
		tok := enrollToken(t, ts.Admin, map[string]any{})
		e := enroll(t, ts.URL, tok.Token, name)
		facts := patchwave.Facts{Hostname: name, Pro: pro, OS: patchwave.OS{ID: "ubuntu", Family: "debian", Version: "18.04", Name: "Ubuntu 18.04.6 LTS"}}
		pkgs := []patchwave.Package{{Name: "jq", Version: "1.5+dfsg-2", Arch: "amd64"}}
		if _, err := client.New(ts.URL, e.Credential).Checkin(ctx, patchwave.CheckinRequest{FactsHash: facts.Hash(), PackagesHash: patchwave.HashPackages(pkgs), Facts: &facts, Packages: &pkgs}); err != nil {
			t.Fatal(err)
		}
	}
	waitAssessed(t, ts)
	for host, want := range map[string]int{"bionic-pro-false": 0, "bionic-pro-true": 1} {
		fs, err := ts.Admin.HostFindings(ctx, host)
		if err != nil || len(fs) != want {
			t.Errorf("%s: %d findings, want %d: %+v %v", host, len(fs), want, fs, err)
		}
	}
}
