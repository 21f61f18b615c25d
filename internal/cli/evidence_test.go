package cli

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/client"
	"github.com/patchwave/patchwave/internal/server"
)

// TestEvidenceCommands exports a real release's bundle, verifies it
// offline with the key (as text and from a file), and fails on a bundle
// whose file was edited and re-packed, and with another key.
func TestEvidenceCommands(t *testing.T) {
	now := time.Date(2026, 12, 8, 19, 0, 0, 0, time.UTC)
	srv, err := server.New(t.Context(), server.Config{DataDir: t.TempDir(), AdminPassword: adminPassword, Listen: "127.0.0.1:0", NoRollouts: true, NoFeedSync: true},
		slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	srv.Store().SetClock(func() time.Time { return now })
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	ctx := context.Background()
	admin := newTestEnv(t, nil)
	admin.login(t, hs.URL, "admin", adminPassword)
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var tok patchwave.EnrollToken
	decode(t, admin.ok(t, "", "enroll-tokens", "create", "--tier", "lab", "-o", "json"), &tok)
	facts := patchwave.Facts{Hostname: "lab-01", OS: patchwave.OS{ID: "debian", Family: "debian", Version: "12"}}
	en, err := client.New(hs.URL, "").Enroll(ctx, patchwave.EnrollRequest{Token: tok.Token, Facts: facts})
	if err != nil {
		t.Fatal(err)
	}
	pkgs := []patchwave.Package{{Name: "curl", Version: "7.88.1-10+deb12u7", Arch: "amd64"}}
	if _, err := client.New(hs.URL, en.Credential).Checkin(ctx, patchwave.CheckinRequest{FactsHash: facts.Hash(), PackagesHash: patchwave.HashPackages(pkgs), Facts: &facts, Packages: &pkgs}); err != nil {
		t.Fatal(err)
	}
	admin.ok(t, "", "feeds", "import", "--feed", "debian", "--kind", "osv", write("dsa.json", `{"id":"DSA-5800-1","modified":"2026-12-08T00:00:00Z","published":"2026-12-08T00:00:00Z","aliases":["CVE-2026-1000"],
	 "affected":[{"package":{"ecosystem":"Debian:12","name":"curl"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"7.88.1-10+deb12u8"}]}]}],
	 "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}`))
	admin.ok(t, `{"name":"all","rules":[{"min_severity":"low"}]}`, "baselines", "apply", "-")
	if err := srv.Reassess(ctx); err != nil {
		t.Fatal(err)
	}
	admin.ok(t, "", "waves", "set", write("waves.json", `[{"order":0,"name":"all","start_offset":"1d","gate_success_pct":100}]`))
	admin.ok(t, "", "releases", "create")

	bundle := filepath.Join(dir, "ev.tar.gz")
	if out := admin.ok(t, "", "evidence", "export", "2026-12", "-o", bundle); !strings.Contains(out, "Wrote "+bundle) {
		t.Errorf("export: %s", out)
	}
	key := strings.TrimSpace(admin.ok(t, "", "evidence", "key"))
	keyFile := write("evidence.pub", key+"\n")

	// Offline: a fresh environment, no login, no server.
	auditor := newTestEnv(t, nil)
	out := auditor.ok(t, "", "evidence", "verify", bundle, "--key", key)
	if !strings.Contains(out, "signature good") || !strings.Contains(out, "patch-sets.json") || !strings.Contains(out, "Release 2026-12") {
		t.Errorf("verify: %s", out)
	}
	auditor.ok(t, "", "evidence", "verify", bundle, "--key", keyFile)

	// Edit patch-sets.json and pack the archive again.
	orig, _ := os.ReadFile(bundle)
	zr, _ := gzip.NewReader(bytes.NewReader(orig))
	tr := tar.NewReader(zr)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		b, _ := io.ReadAll(tr)
		if h.Name == "patch-sets.json" {
			b = bytes.ReplaceAll(b, []byte("deb12u8"), []byte("deb12u9"))
		}
		h.Size = int64(len(b))
		tw.WriteHeader(h)
		tw.Write(b)
	}
	tw.Close()
	zw.Close()
	tampered := write("tampered.tar.gz", buf.String())
	auditor.fails(t, "", "patch-sets.json does not match its SHA-256", "evidence", "verify", tampered, "--key", key)
	auditor.fails(t, "", "signature does not verify", "evidence", "verify", bundle, "--key", strings.Repeat("ab", 32))
	auditor.fails(t, "", "not logged in", "evidence", "export", "2026-12", "-o", filepath.Join(dir, "x"))
	if r := auditor.run(t, "", "evidence", "verify", bundle); r.code != 2 || !strings.Contains(r.stderr, "--key is required") {
		t.Errorf("without --key: %d %q", r.code, r.stderr)
	}
	if r := auditor.run(t, "", "evidence", "verify", bundle, "--key", "nonsense"); r.code != 2 || !strings.Contains(r.stderr, "neither a public key nor a readable file") {
		t.Errorf("bad --key: %d %q", r.code, r.stderr)
	}
	admin.fails(t, "", "not found", "evidence", "export", "nope")
}
