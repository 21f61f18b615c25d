package agent

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/patchwave/patchwave/internal/tlsca"
)

// pin holds what the agent trusts for the server's TLS certificate: the
// CA pinned at enrollment (then nothing else), or before enrollment the
// CA of --ca-file, or the CA whose fingerprint --ca-fingerprint names,
// or, with none of these, the system's roots.
type pin struct {
	mu          sync.Mutex
	ca          *x509.Certificate // pinned or from --ca-file
	fingerprint string            // of --ca-fingerprint, until enrolled
	found       *x509.Certificate // the CA the fingerprint matched
	roots       *x509.CertPool    // without a pin: the caller's roots (nil: the system's)
}

func newPin(caFile, fingerprint string) (*pin, error) {
	p := &pin{}
	if caFile != "" {
		b, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("agent: --ca-file: %w", err)
		}
		if p.ca, err = tlsca.ParseCertPEM(b); err != nil {
			return nil, fmt.Errorf("agent: --ca-file %s: %w", caFile, err)
		}
	}
	if fingerprint != "" {
		fp, err := tlsca.ParseFingerprint(fingerprint)
		if err != nil {
			return nil, fmt.Errorf("agent: --ca-fingerprint: %w", err)
		}
		if p.ca != nil && tlsca.Fingerprint(p.ca) != fp {
			return nil, fmt.Errorf("agent: --ca-file holds CA %s, not the %s of --ca-fingerprint", tlsca.Fingerprint(p.ca), fp)
		}
		p.fingerprint = fp
	}
	return p, nil
}

// setPinned trusts only ca from now on (the CA saved at enrollment).
func (p *pin) setPinned(der []byte) error {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("agent: the pinned CA in the state is damaged: %w", err)
	}
	p.mu.Lock()
	p.ca, p.fingerprint = c, ""
	p.mu.Unlock()
	return nil
}

// toPin returns the CA to save at enrollment, if any.
func (p *pin) toPin() *x509.Certificate {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.found != nil {
		return p.found
	}
	return p.ca
}

// config is the agent's TLS client configuration, from the caller's
// (base, may be nil): every certificate is checked by verify, against
// the pin, or without one against base's roots.
func (p *pin) config(base *tls.Config) *tls.Config {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if base != nil {
		c = base.Clone()
		c.MinVersion = max(c.MinVersion, tls.VersionTLS12)
		p.roots = base.RootCAs
	}
	c.InsecureSkipVerify = true // verify does it, with the roots the pin allows
	c.VerifyConnection = p.verify
	return c
}

func (p *pin) verify(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("the server sent no certificate")
	}
	leaf := cs.PeerCertificates[0]
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	p.mu.Lock()
	ca, fp := p.ca, p.fingerprint
	p.mu.Unlock()
	opts := x509.VerifyOptions{DNSName: cs.ServerName, Intermediates: inter}
	switch {
	case ca != nil:
		opts.Roots = x509.NewCertPool()
		opts.Roots.AddCert(ca)
		if _, err := leaf.Verify(opts); err != nil {
			return fmt.Errorf("the server's certificate is not signed by the pinned CA %s (a different server, or a man in the middle): %w", tlsca.Fingerprint(ca), err)
		}
		return nil
	case fp != "":
		for _, c := range cs.PeerCertificates[1:] {
			if tlsca.Fingerprint(c) != fp || !c.IsCA {
				continue
			}
			opts.Roots = x509.NewCertPool()
			opts.Roots.AddCert(c)
			if _, err := leaf.Verify(opts); err != nil {
				return fmt.Errorf("the server's certificate does not verify against CA %s: %w", fp, err)
			}
			p.mu.Lock()
			p.found = c
			p.mu.Unlock()
			return nil
		}
		return fmt.Errorf("the server's certificate chain has no CA with the fingerprint %s given with --ca-fingerprint", fp)
	default:
		opts.Roots = p.roots // the caller's, or the system's when nil
		_, err := leaf.Verify(opts)
		return err
	}
}
