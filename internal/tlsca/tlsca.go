// Package tlsca makes and keeps the server's own certificate authority:
// on the first start with --tls-auto the server creates a CA and a server
// certificate signed by it, and agents pin the CA (by its fingerprint, or
// its PEM file) when they enroll. Keys are ECDSA P-256; files live in one
// directory, keys with mode 0600.
package tlsca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// File names in the directory.
const (
	CAFile   = "ca.pem"
	caKey    = "ca-key.pem"
	CertFile = "server.pem"
	KeyFile  = "server-key.pem"
)

// Lifetimes: the CA lasts ten years; a server certificate a year, and is
// made again when less than 30 days are left or its names changed.
const (
	caLife   = 10 * 365 * 24 * time.Hour
	certLife = 365 * 24 * time.Hour
	renewAt  = 30 * 24 * time.Hour
)

// Ensure makes dir's CA when it has none, and a server certificate for
// hosts (DNS names or IP addresses) when there is none, it expires within
// 30 days, or it lacks one of hosts. It returns the certificate and the
// CA's fingerprint (Fingerprint).
func Ensure(dir string, hosts []string, now time.Time) (tls.Certificate, string, error) {
	if len(hosts) == 0 {
		return tls.Certificate{}, "", errors.New("tls: no host names for the server certificate")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return tls.Certificate{}, "", fmt.Errorf("tls: %w", err)
	}
	var ca *x509.Certificate
	var key *ecdsa.PrivateKey
	if _, err := os.Stat(filepath.Join(dir, CAFile)); errors.Is(err, fs.ErrNotExist) {
		ca, key, err = newCA(dir, now)
		if err != nil {
			return tls.Certificate{}, "", err
		}
	} else if ca, key, err = loadCA(dir); err != nil {
		// Never replace a CA that is there: agents have pinned it.
		return tls.Certificate{}, "", err
	}
	var err error
	if err != nil {
		return tls.Certificate{}, "", err
	}
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile))
	if err != nil || !fits(cert, ca, hosts, now) {
		if cert, err = newCert(dir, ca, key, hosts, now); err != nil {
			return tls.Certificate{}, "", err
		}
	}
	return cert, Fingerprint(ca), nil
}

// Fingerprint is the SHA-256 of a certificate, as agents pin it:
// "sha256:" and 64 hex digits.
func Fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// ParseFingerprint checks a fingerprint as Fingerprint writes it (case and
// colons between bytes do not matter) and returns it canonical.
func ParseFingerprint(s string) (string, error) {
	h, ok := strings.CutPrefix(strings.ToLower(strings.TrimSpace(s)), "sha256:")
	h = strings.ReplaceAll(h, ":", "")
	if b, err := hex.DecodeString(h); !ok || err != nil || len(b) != sha256.Size {
		return "", fmt.Errorf("CA fingerprint %q: want sha256: and 64 hex digits, as the server logs it", s)
	}
	return "sha256:" + h, nil
}

func fits(c tls.Certificate, ca *x509.Certificate, hosts []string, now time.Time) bool {
	if len(c.Certificate) == 0 {
		return false
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil || now.Add(renewAt).After(leaf.NotAfter) || leaf.CheckSignatureFrom(ca) != nil {
		return false
	}
	for _, h := range hosts {
		if leaf.VerifyHostname(h) != nil {
			return false
		}
	}
	return true
}

func loadCA(dir string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	cb, err := os.ReadFile(filepath.Join(dir, CAFile))
	if err != nil {
		return nil, nil, err
	}
	kb, err := os.ReadFile(filepath.Join(dir, caKey))
	if err != nil {
		return nil, nil, fmt.Errorf("tls: the CA certificate is there but not its key: %w", err)
	}
	cert, err := ParseCertPEM(cb)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: %s: %w", CAFile, err)
	}
	blk, _ := pem.Decode(kb)
	if blk == nil {
		return nil, nil, fmt.Errorf("tls: %s holds no PEM block", caKey)
	}
	key, err := x509.ParseECPrivateKey(blk.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: %s: %w", caKey, err)
	}
	return cert, key, nil
}

// ParseCertPEM reads the first certificate of a PEM file.
func ParseCertPEM(b []byte) (*x509.Certificate, error) {
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return nil, errors.New("no certificate in the PEM data")
		}
		if blk.Type == "CERTIFICATE" {
			return x509.ParseCertificate(blk.Bytes)
		}
	}
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}

func newCA(dir string, now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: serial(), Subject: pkix.Name{CommonName: "Patchwave CA", Organization: []string{"Patchwave"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(caLife), IsCA: true, BasicConstraintsValid: true, MaxPathLenZero: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: make the CA: %w", err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	if err := writeAtomic(filepath.Join(dir, caKey), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return nil, nil, err
	}
	if err := writeAtomic(filepath.Join(dir, CAFile), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

func newCert(dir string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, hosts []string, now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{SerialNumber: serial(), Subject: pkix.Name{CommonName: hosts[0], Organization: []string{"Patchwave"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(certLife), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true}
	for _, h := range slices.Compact(slices.Sorted(slices.Values(hosts))) {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tls: make the server certificate: %w", err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return tls.Certificate{}, err
	}
	// The chain holds the CA too, so that an agent enrolling with only
	// the CA's fingerprint can find it.
	certPEM := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw})...)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	if err := writeAtomic(filepath.Join(dir, KeyFile), keyPEM, 0o600); err != nil {
		return tls.Certificate{}, err
	}
	if err := writeAtomic(filepath.Join(dir, CertFile), certPEM, 0o644); err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(certPEM, keyPEM)
}

func writeAtomic(path string, b []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, mode); err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	return nil
}

// ServerConfig is the TLS configuration of the server: TLS 1.2 and newer,
// with Go's default cipher suites (all AEAD, forward secret).
func ServerConfig(cert tls.Certificate) *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
}

// PinnedConfig is an agent's TLS configuration trusting only ca.
func PinnedConfig(ca *x509.Certificate) *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}
}
