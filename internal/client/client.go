// Package client is a typed Go client of the Patchwave HTTP API, shared by
// the command line, the agent and end-to-end tests.
package client

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/patchwave/patchwave"
)

// Client talks to one Patchwave server with one credential: a user's API
// token, or an agent's own credential.
type Client struct {
	base  string
	token string
	http  *http.Client
	// UserAgent is sent with every request.
	UserAgent string
	// OnWarning, when set, receives the server's warnings about a request
	// that succeeded (the Patchwave-Warning header), e.g. a selector that
	// matches no host.
	OnWarning func(msg string)
}

// WarningHeader carries the server's warnings about a successful request.
const WarningHeader = "Patchwave-Warning"

// New returns a client of the server at base (e.g. http://127.0.0.1:8080)
// that authenticates with token ("" for none).
func New(base, token string) *Client {
	return &Client{base: strings.TrimRight(base, "/"), token: token,
		http: &http.Client{Timeout: 60 * time.Second}, UserAgent: "patchwave"}
}

// WithHTTPClient makes c use hc for its requests (TLS settings, timeouts).
func (c *Client) WithHTTPClient(hc *http.Client) *Client {
	c.http = hc
	return c
}

// WithToken returns a copy of c that authenticates with token.
func (c *Client) WithToken(token string) *Client {
	d := *c
	d.token = token
	return &d
}

// Base returns the server's base URL.
func (c *Client) Base() string { return c.base }

// Do sends a JSON request (body may be nil) and decodes the JSON answer into
// out (nil to discard). Non-2xx answers become *patchwave.Error with the
// server's code and message.
//
// An out of type *[]byte receives the answer's bytes as they are.
func (c *Client) Do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("%s %s: encode request: %w", method, path, err)
		}
		r = bytes.NewReader(b)
	}
	return c.send(ctx, method, path, query, r, "application/json", "", out)
}

// DoGzip is Do with the request body gzip-compressed, for large reports.
func (c *Client) DoGzip(ctx context.Context, method, path string, body, out any) error {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(body); err != nil {
		return fmt.Errorf("%s %s: encode request: %w", method, path, err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("%s %s: compress request: %w", method, path, err)
	}
	return c.send(ctx, method, path, nil, &buf, "application/json", "gzip", out)
}

// MaxRawAnswer is the largest file answer (out of type *[]byte) Do reads.
const MaxRawAnswer = 1 << 30

// DoRaw sends body as-is with the given content type (e.g. text/csv).
func (c *Client) DoRaw(ctx context.Context, method, path, contentType string, body io.Reader, out any) error {
	return c.send(ctx, method, path, nil, body, contentType, "", out)
}

func (c *Client) send(ctx context.Context, method, path string, query url.Values, body io.Reader, ctype, encoding string, out any) error {
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", ctype)
	}
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.UserAgent)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		var e struct{ Code, Message string }
		if json.Unmarshal(b, &e) == nil && e.Code != "" {
			return &patchwave.Error{Code: e.Code, Message: e.Message}
		}
		code := patchwave.EInternal
		switch resp.StatusCode {
		case 400:
			code = patchwave.EInvalid
		case 401:
			code = patchwave.EUnauthorized
		case 403:
			code = patchwave.EForbidden
		case 404:
			code = patchwave.ENotFound
		case 409:
			code = patchwave.EConflict
		case 413:
			code = patchwave.ETooLarge
		case 429:
			code = patchwave.ETooMany
		case 503:
			code = patchwave.EUnavailable
		}
		return patchwave.Errorf(code, "%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(b)))
	}
	if c.OnWarning != nil {
		for _, w := range resp.Header.Values(WarningHeader) {
			c.OnWarning(w)
		}
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if raw, ok := out.(*[]byte); ok { // a file: CSV, HTML, an archive
		b, err := io.ReadAll(io.LimitReader(resp.Body, MaxRawAnswer+1))
		if err != nil {
			return fmt.Errorf("%s %s: read answer: %w", method, path, err)
		}
		if len(b) > MaxRawAnswer {
			return fmt.Errorf("%s %s: answer is larger than %d bytes", method, path, MaxRawAnswer)
		}
		*raw = b
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// Enroll trades an enrollment token for a host identity and credential.
func (c *Client) Enroll(ctx context.Context, req patchwave.EnrollRequest) (patchwave.EnrollResponse, error) {
	var out patchwave.EnrollResponse
	err := c.Do(ctx, "POST", "/api/v1/agent/enroll", nil, req, &out)
	return out, err
}

// Checkin reports the agent's state; c must carry the agent's credential.
// Requests that carry packages are compressed.
func (c *Client) Checkin(ctx context.Context, req patchwave.CheckinRequest) (patchwave.CheckinResponse, error) {
	var out patchwave.CheckinResponse
	var err error
	if req.Packages != nil || (req.Delta != nil && len(req.Delta.Added)+len(req.Delta.Removed) > 64) {
		err = c.DoGzip(ctx, "POST", "/api/v1/agent/checkin", req, &out)
	} else {
		err = c.Do(ctx, "POST", "/api/v1/agent/checkin", nil, req, &out)
	}
	return out, err
}
