package client

import (
	"context"
	"net/url"
)

// ComplianceReport returns the monthly compliance report of month
// (2026-11; empty for the current month) rendered in format (json, csv or
// html), as the server sends it.
func (c *Client) ComplianceReport(ctx context.Context, month, format string) ([]byte, error) {
	q := url.Values{}
	if month != "" {
		q.Set("month", month)
	}
	if format != "" {
		q.Set("format", format)
	}
	var b []byte
	err := c.Do(ctx, "GET", "/api/v1/reports/compliance", q, nil, &b)
	return b, err
}

// ReleaseReport returns a release's report rendered in format.
func (c *Client) ReleaseReport(ctx context.Context, release, format string) ([]byte, error) {
	q := url.Values{}
	if format != "" {
		q.Set("format", format)
	}
	var b []byte
	err := c.Do(ctx, "GET", "/api/v1/reports/releases/"+url.PathEscape(release), q, nil, &b)
	return b, err
}
