package client

import (
	"context"
	"net/url"
	"strconv"
)

// AuditVerification is the server's verdict on the audit hash chain.
type AuditVerification struct {
	OK          bool   `json:"ok"`
	Events      int64  `json:"events"`
	FirstBroken int64  `json:"first_broken,omitempty"`
	Problem     string `json:"problem,omitempty"`
	HeadID      int64  `json:"head_id,omitempty"`
	Head        string `json:"head,omitempty"`
}

// VerifyAudit asks the server to walk the audit chain; with headID and
// head from an earlier verification, it also checks that event is still
// there unchanged.
func (c *Client) VerifyAudit(ctx context.Context, headID int64, head string) (AuditVerification, error) {
	q := url.Values{}
	if head != "" {
		q.Set("head_id", strconv.FormatInt(headID, 10))
		q.Set("head", head)
	}
	var v AuditVerification
	err := c.Do(ctx, "GET", "/api/v1/audit/verify", q, nil, &v)
	return v, err
}

// ExportAudit returns the audit events from from to to (dates or RFC 3339
// times, either empty) in format: json, jsonl or csv.
func (c *Client) ExportAudit(ctx context.Context, from, to, format string) ([]byte, error) {
	q := url.Values{}
	for k, v := range map[string]string{"from": from, "to": to, "format": format} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var b []byte
	err := c.Do(ctx, "GET", "/api/v1/audit/export", q, nil, &b)
	return b, err
}
