package agent_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchwave/patchwave/internal/agent"
	"github.com/patchwave/patchwave/internal/client"
	"github.com/patchwave/patchwave/internal/server"
	"github.com/patchwave/patchwave/internal/tlsca"
)

// startTLSServer runs a server that is its own CA, and returns its URL
// and its CA.
func startTLSServer(t *testing.T, dataDir string) (string, *x509.Certificate) {
	t.Helper()
	srv, err := server.New(t.Context(), server.Config{DataDir: dataDir, AdminPassword: "pw-for-tests", Listen: "127.0.0.1:0",
		TLSAuto: true, NoFeedSync: true}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- srv.ListenAndServe(ctx, func(a string) { ready <- a }) }()
	var u string
	select {
	case u = <-ready:
	case err := <-done:
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(); <-done; srv.Close() })
	b, err := os.ReadFile(filepath.Join(dataDir, "tls", tlsca.CAFile))
	if err != nil {
		t.Fatal(err)
	}
	ca, err := tlsca.ParseCertPEM(b)
	if err != nil {
		t.Fatal(err)
	}
	return u, ca
}

// TestTLSPinning: a server with --tls-auto makes its CA; an agent that
// enrolls with the CA's fingerprint pins it and from then on refuses any
// other certificate, even at the same address; a wrong fingerprint, or
// none with a private CA, is refused; old TLS versions are refused; the
// web UI sends HSTS; a restart keeps the CA.
func TestTLSPinning(t *testing.T) {
	ctx := t.Context()
	data := t.TempDir()
	u, ca := startTLSServer(t, data)
	if !strings.HasPrefix(u, "https://") {
		t.Fatalf("server URL %s", u)
	}
	fp := tlsca.Fingerprint(ca)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsca.PinnedConfig(ca)}}
	admin := client.New(u, "").WithHTTPClient(hc)
	login, err := admin.Login(ctx, "admin", "pw-for-tests")
	if err != nil {
		t.Fatal(err)
	}
	admin = admin.WithToken(login.Token)
	tok, err := admin.CreateEnrollToken(ctx, client.EnrollTokenRequest{MaxUses: 5})
	if err != nil {
		t.Fatal(err)
	}
	root := newFakeRoot(t, "web1", basePackages()).dir
	cfg := func(state string) agent.Config {
		return agent.Config{Server: u, EnrollToken: tok.Token, StateDir: state, Root: root, Logger: testLogger(t)}
	}

	// No pin and a private CA: the system's roots do not know it.
	c := cfg(t.TempDir())
	if _, err := agent.CheckinOnce(ctx, c); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("without a pin: %v", err)
	}
	// A wrong fingerprint.
	c = cfg(t.TempDir())
	c.CAFingerprint = "sha256:" + strings.Repeat("ab", 32)
	if _, err := agent.CheckinOnce(ctx, c); err == nil || !strings.Contains(err.Error(), "no CA with the fingerprint") {
		t.Errorf("a wrong fingerprint: %v", err)
	}
	// A malformed one is a usage error, before any connection.
	c.CAFingerprint = "abc"
	if _, err := agent.CheckinOnce(ctx, c); err == nil || !strings.Contains(err.Error(), "want sha256: and 64 hex digits") {
		t.Errorf("a malformed fingerprint: %v", err)
	}

	// The right one: enrolled, the CA pinned.
	state := t.TempDir()
	c = cfg(state)
	c.CAFingerprint = strings.ToUpper(fp[len("sha256:"):]) // as people may paste it
	c.CAFingerprint = "sha256:" + c.CAFingerprint
	if _, err := agent.CheckinOnce(ctx, c); err != nil {
		t.Fatalf("enroll with the fingerprint: %v", err)
	}
	st, err := agent.LoadState(state)
	if err != nil || len(st.CA) == 0 || !ca.Equal(mustParse(t, st.CA)) {
		t.Fatalf("pinned CA: %v", err)
	}
	// Later check-ins need no flag.
	if _, err := agent.CheckinOnce(ctx, agent.Config{StateDir: state, Root: root, Logger: testLogger(t)}); err != nil {
		t.Errorf("check-in with the pinned CA: %v", err)
	}
	// An agent enrolled without a pin (here: trusting the CA through its
	// own client) pins the CA a later --ca-fingerprint names.
	late := t.TempDir()
	lc := cfg(late)
	lc.Root = newFakeRoot(t, "web3", basePackages()).dir
	lc.HTTPClient = &http.Client{Transport: &http.Transport{TLSClientConfig: tlsca.PinnedConfig(ca)}}
	if _, err := agent.CheckinOnce(ctx, lc); err != nil {
		t.Fatalf("enroll trusting the CA by hand: %v", err)
	}
	if st, _ := agent.LoadState(late); len(st.CA) != 0 {
		t.Fatal("a CA pinned without --ca-fingerprint")
	}
	if _, err := agent.CheckinOnce(ctx, agent.Config{StateDir: late, Root: lc.Root, Logger: testLogger(t), CAFingerprint: fp}); err != nil {
		t.Fatalf("check-in with a fingerprint after enrollment: %v", err)
	}
	if st, _ := agent.LoadState(late); len(st.CA) == 0 || !ca.Equal(mustParse(t, st.CA)) {
		t.Error("the CA was not pinned at the check-in with --ca-fingerprint")
	}

	// A --ca-file enrollment works too.
	caFile := filepath.Join(data, "tls", tlsca.CAFile)
	c = cfg(t.TempDir())
	c.Root = newFakeRoot(t, "web2", basePackages()).dir
	c.CAFile = caFile
	if _, err := agent.CheckinOnce(ctx, c); err != nil {
		t.Errorf("enroll with --ca-file: %v", err)
	}

	// A man in the middle with a certificate of another CA, in front of
	// the real server: the enrolled agent refuses it.
	target, _ := url.Parse(u)
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = hc.Transport
	mitm := httptest.NewTLSServer(proxy)
	defer mitm.Close()
	_, err = agent.CheckinOnce(ctx, agent.Config{Server: mitm.URL, StateDir: state, Root: root, Logger: testLogger(t)})
	if err == nil || !strings.Contains(err.Error(), "not signed by the pinned CA") {
		t.Errorf("through a man in the middle: %v", err)
	}

	// TLS 1.1 is refused.
	conn, err := tls.Dial("tcp", target.Host, &tls.Config{MaxVersion: tls.VersionTLS11, RootCAs: tlsca.PinnedConfig(ca).RootCAs})
	if err == nil {
		conn.Close()
		t.Error("a TLS 1.1 handshake succeeded")
	}
	// The web UI asks browsers to stay on HTTPS.
	resp, err := hc.Get(u + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if h := resp.Header.Get("Strict-Transport-Security"); !strings.Contains(h, "max-age=") {
		t.Errorf("Strict-Transport-Security %q", h)
	}
}

// TestTLSAutoKeepsItsCA: a second start on the same data directory keeps
// the CA (enrolled agents stay pinned to it), and a certificate about to
// expire is made again, signed by the same CA.
func TestTLSAutoKeepsItsCA(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	_, fp1, err := tlsca.Ensure(dir, []string{"patchwave.example", "10.0.0.5"}, now)
	if err != nil {
		t.Fatal(err)
	}
	cert1, _ := os.ReadFile(filepath.Join(dir, tlsca.CertFile))
	_, fp2, err := tlsca.Ensure(dir, []string{"patchwave.example", "10.0.0.5"}, now.Add(time.Hour))
	if err != nil || fp2 != fp1 {
		t.Fatalf("second start: %v, CA %s then %s", err, fp1, fp2)
	}
	if cert2, _ := os.ReadFile(filepath.Join(dir, tlsca.CertFile)); string(cert2) != string(cert1) {
		t.Error("a valid certificate was made again")
	}
	// 340 days later the certificate has under 30 days left: renewed.
	cert, fp3, err := tlsca.Ensure(dir, []string{"patchwave.example", "10.0.0.5"}, now.Add(340*24*time.Hour))
	if err != nil || fp3 != fp1 {
		t.Fatalf("renewal: %v, CA %s", err, fp3)
	}
	leaf, _ := x509.ParseCertificate(cert.Certificate[0])
	if leaf.NotAfter.Before(now.Add(400 * 24 * time.Hour)) {
		t.Errorf("renewed certificate ends %v", leaf.NotAfter)
	}
	// A new name: a new certificate that has it.
	cert, _, err = tlsca.Ensure(dir, []string{"patchwave.example", "10.0.0.5", "pw.internal"}, now)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ = x509.ParseCertificate(cert.Certificate[0])
	if leaf.VerifyHostname("pw.internal") != nil || leaf.VerifyHostname("10.0.0.5") != nil {
		t.Errorf("certificate names %v %v", leaf.DNSNames, leaf.IPAddresses)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "ca-key.pem")); fi.Mode().Perm() != 0o600 {
		t.Errorf("CA key mode %v", fi.Mode().Perm())
	}
	// A CA certificate without its key is an error, not a new CA.
	os.Remove(filepath.Join(dir, "ca-key.pem"))
	if _, _, err := tlsca.Ensure(dir, []string{"x"}, now); err == nil || !strings.Contains(err.Error(), "not its key") {
		t.Errorf("CA without key: %v", err)
	}
	for _, bad := range []string{"", "sha1:00", "sha256:xyz", "sha256:" + strings.Repeat("0", 63)} {
		if _, err := tlsca.ParseFingerprint(bad); err == nil {
			t.Errorf("ParseFingerprint(%q) accepted", bad)
		}
	}
	if got, err := tlsca.ParseFingerprint("SHA256:" + strings.Repeat("AB:", 31) + "AB"); err != nil || got != "sha256:"+strings.Repeat("ab", 32) {
		t.Errorf("ParseFingerprint with colons: %q %v", got, err)
	}
}

func mustParse(t *testing.T, der []byte) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
