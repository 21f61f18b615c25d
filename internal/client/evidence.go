package client

import (
	"context"
	"net/url"
)

// ExportEvidence asks the server for a release's signed evidence bundle
// (tar.gz); the server records the export in the audit trail.
func (c *Client) ExportEvidence(ctx context.Context, release string) ([]byte, error) {
	var b []byte
	err := c.Do(ctx, "POST", "/api/v1/releases/"+url.PathEscape(release)+"/evidence", nil, nil, &b)
	return b, err
}

// EvidenceKey returns the public key (base64) evidence bundles are signed with.
func (c *Client) EvidenceKey(ctx context.Context) (string, error) {
	var k struct {
		PublicKey string `json:"public_key"`
	}
	err := c.Do(ctx, "GET", "/api/v1/evidence/key", nil, nil, &k)
	return k.PublicKey, err
}
