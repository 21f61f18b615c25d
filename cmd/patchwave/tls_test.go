package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patchwave/patchwave/internal/tlsca"
)

// TestTLSAutoEndToEnd: a server that is its own CA, the CLI trusting its
// CA file, and an agent enrolling with the CA's fingerprint.
func TestTLSAutoEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := build(t)
	data := filepath.Join(t.TempDir(), "data")
	url := startServerArgs(t, bin, "--data-dir", data, "--tls-auto")
	if !strings.HasPrefix(url, "https://127.0.0.1:") {
		t.Fatalf("server URL %s", url)
	}
	caFile := filepath.Join(data, "tls", tlsca.CAFile)
	b, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := tlsca.ParseCertPEM(b)
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	env := append(os.Environ(), "XDG_CONFIG_HOME="+home, "HOME="+home, "PATCHWAVE_SERVER=", "PATCHWAVE_TOKEN=", "PATCHWAVE_CA_FILE="+caFile)
	run := func(wantOK bool, stdin string, env []string, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env, cmd.Stdin = env, strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if (err == nil) != wantOK {
			t.Fatalf("patchwave %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	// Without the CA the CLI refuses the certificate.
	noCA := append(os.Environ(), "XDG_CONFIG_HOME="+home, "HOME="+home, "PATCHWAVE_SERVER=", "PATCHWAVE_TOKEN=", "PATCHWAVE_CA_FILE=")
	if out := run(false, "e2e-admin-password\n", noCA, "login", "--server", url, "--user", "admin", "--password-stdin"); !strings.Contains(out, "certificate") {
		t.Errorf("login without the CA: %s", out)
	}
	run(true, "e2e-admin-password\n", env, "login", "--server", url, "--user", "admin", "--password-stdin")
	tok := strings.TrimSpace(run(true, "", env, "enroll-tokens", "create", "-o", "json"))
	var token string
	if i := strings.Index(tok, `"token": "`); i >= 0 {
		token = tok[i+len(`"token": "`):]
		token = token[:strings.IndexByte(token, '"')]
	}
	root := fakeRoot(t, "tls-01", 50)
	state := t.TempDir()
	if out := run(false, "", env, "agent", "--server", url, "--enroll-token", token, "--state-dir", t.TempDir(), "--root", root, "--once",
		"--ca-fingerprint", "sha256:"+strings.Repeat("00", 32)); !strings.Contains(out, "no CA with the fingerprint") {
		t.Errorf("agent with a wrong fingerprint: %s", out)
	}
	run(true, "", env, "agent", "--server", url, "--enroll-token", token, "--state-dir", state, "--root", root, "--once", "--ca-fingerprint", tlsca.Fingerprint(ca))
	run(true, "", env, "agent", "--state-dir", state, "--root", root, "--once")
	if out := run(true, "", env, "hosts", "list"); !strings.Contains(out, "tls-01") {
		t.Errorf("hosts list: %s", out)
	}
}
