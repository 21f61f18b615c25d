package client

// Typed methods for the routes of /api/v1 that people and scripts use. Each
// one is a thin wrapper over Do or DoRaw: errors are *patchwave.Error with
// the server's code and message.

import (
	"context"
	"io"
	"net/url"
	"strconv"
	"time"

	"github.com/patchwave/patchwave"
)

// LoginResult is the answer to a successful login: an API token for the
// user, who the user is, and when the token expires.
type LoginResult struct {
	Token     string         `json:"token"`
	User      patchwave.User `json:"user"`
	ExpiresAt time.Time      `json:"expires_at"`
}

// Login trades a user name and password for an API token. It needs no
// credential on c; use c.WithToken(result.Token) afterwards.
func (c *Client) Login(ctx context.Context, user, password string) (LoginResult, error) {
	var out LoginResult
	in := struct {
		User     string `json:"user"`
		Password string `json:"password"`
	}{user, password}
	err := c.Do(ctx, "POST", "/api/v1/login", nil, in, &out)
	return out, err
}

// Me returns the user that c's token belongs to.
func (c *Client) Me(ctx context.Context) (patchwave.User, error) {
	var out patchwave.User
	err := c.Do(ctx, "GET", "/api/v1/me", nil, nil, &out)
	return out, err
}

// hostQuery turns a filter into the query of GET /api/v1/hosts, without the
// cursor.
func hostQuery(f patchwave.HostFilter) url.Values {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("site", f.Site)
	set("tier", string(f.Tier))
	set("tag", f.Tag)
	set("os", f.OS)
	if f.Stale != nil {
		q.Set("stale", strconv.FormatBool(*f.Stale))
	}
	if f.EOL != nil {
		q.Set("eol", strconv.FormatBool(*f.EOL))
	}
	set("q", f.Query)
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	return q
}

// hostPage is the answer of GET /api/v1/hosts.
type hostPage struct {
	Hosts []patchwave.Host `json:"hosts"`
	Next  string           `json:"next"`
}

func (c *Client) hostPage(ctx context.Context, q url.Values) (hostPage, error) {
	var out hostPage
	err := c.Do(ctx, "GET", "/api/v1/hosts", q, nil, &out)
	return out, err
}

// ListHosts returns one page of the hosts that match f, starting after
// f.After, and the cursor of the next page ("" when there is none). Pass the
// cursor back with ListHostsAfter, or use AllHosts to read every page.
func (c *Client) ListHosts(ctx context.Context, f patchwave.HostFilter) (hosts []patchwave.Host, next string, err error) {
	q := hostQuery(f)
	if f.After > 0 {
		q.Set("after", strconv.FormatInt(f.After, 10))
	}
	p, err := c.hostPage(ctx, q)
	return p.Hosts, p.Next, err
}

// ListHostsAfter is ListHosts with the opaque cursor a previous page
// returned as next (f.After is ignored).
func (c *Client) ListHostsAfter(ctx context.Context, f patchwave.HostFilter, cursor string) (hosts []patchwave.Host, next string, err error) {
	q := hostQuery(f)
	if cursor != "" {
		q.Set("after", cursor)
	}
	p, err := c.hostPage(ctx, q)
	return p.Hosts, p.Next, err
}

// AllHosts returns every host that matches f, following the next cursor
// page after page; f.Limit is the page size.
func (c *Client) AllHosts(ctx context.Context, f patchwave.HostFilter) ([]patchwave.Host, error) {
	all, next, err := c.ListHosts(ctx, f)
	if err != nil {
		return nil, err
	}
	for next != "" {
		cursor := next
		var page []patchwave.Host
		page, next, err = c.ListHostsAfter(ctx, f, cursor)
		if err != nil {
			return nil, err
		}
		if next == cursor {
			return nil, patchwave.Errorf(patchwave.EInternal, "list hosts: the server returned the same cursor %q twice", cursor)
		}
		all = append(all, page...)
	}
	if all == nil {
		all = []patchwave.Host{}
	}
	return all, nil
}

// hostPath is the path of one host, named by its id or its hostname.
func hostPath(host string) (string, error) {
	if host == "" {
		return "", patchwave.Errorf(patchwave.EInvalid, "no host given")
	}
	return "/api/v1/hosts/" + url.PathEscape(host), nil
}

// Host returns one host, named by its numeric id or its hostname.
func (c *Client) Host(ctx context.Context, host string) (patchwave.Host, error) {
	var out patchwave.Host
	p, err := hostPath(host)
	if err != nil {
		return out, err
	}
	err = c.Do(ctx, "GET", p, nil, nil, &out)
	return out, err
}

// HostPackages returns the packages installed on a host.
func (c *Client) HostPackages(ctx context.Context, host string) ([]patchwave.Package, error) {
	var out struct {
		Packages []patchwave.Package `json:"packages"`
	}
	p, err := hostPath(host)
	if err != nil {
		return nil, err
	}
	if err := c.Do(ctx, "GET", p+"/packages", nil, nil, &out); err != nil {
		return nil, err
	}
	if out.Packages == nil {
		out.Packages = []patchwave.Package{}
	}
	return out.Packages, nil
}

// UpdateHost changes the fields of a host that u sets and returns the host
// as it is now.
func (c *Client) UpdateHost(ctx context.Context, host string, u patchwave.HostUpdate) (patchwave.Host, error) {
	var out patchwave.Host
	p, err := hostPath(host)
	if err != nil {
		return out, err
	}
	err = c.Do(ctx, "PATCH", p, nil, u, &out)
	return out, err
}

// RevokeHost revokes a host's agent credential: the agent is refused from
// then on. It returns the host as it is now.
func (c *Client) RevokeHost(ctx context.Context, host string) (patchwave.Host, error) {
	var out patchwave.Host
	p, err := hostPath(host)
	if err != nil {
		return out, err
	}
	err = c.Do(ctx, "POST", p+"/revoke", nil, nil, &out)
	return out, err
}

// DeleteHost deletes a host and what the server knows of it.
func (c *Client) DeleteHost(ctx context.Context, host string) error {
	p, err := hostPath(host)
	if err != nil {
		return err
	}
	return c.Do(ctx, "DELETE", p, nil, nil, nil)
}

// ImportResult counts the hosts an import created and updated.
type ImportResult struct {
	Created int `json:"created"`
	Updated int `json:"updated"`
}

// ImportHosts sends a CSV inventory (a header row, then one host per row;
// see the API documentation for the columns). The import is all or nothing:
// a broken row fails it, and the error names the row.
func (c *Client) ImportHosts(ctx context.Context, csv io.Reader) (ImportResult, error) {
	var out ImportResult
	err := c.DoRaw(ctx, "POST", "/api/v1/hosts/import", "text/csv", csv, &out)
	return out, err
}

// EnrollTokenRequest asks for a new enrollment token. Hosts that enroll with
// it get its site, tier and tags.
type EnrollTokenRequest struct {
	Site    string         `json:"site,omitempty"`
	Tier    patchwave.Tier `json:"tier,omitempty"`
	Tags    []string       `json:"tags"`
	MaxUses int            `json:"max_uses"`             // 0: unlimited
	Expires string         `json:"expires_in,omitempty"` // a Go duration, e.g. 168h; "" for the server's default
	// AllowReenroll lets the token take over hosts whose agent is enrolled.
	AllowReenroll bool `json:"allow_reenroll,omitempty"`
	// HighExposure marks the hosts that enroll with it high-exposure.
	HighExposure bool `json:"high_exposure,omitempty"`
}

// CreateEnrollToken creates an enrollment token. The answer is the only
// place its secret (Token) appears.
func (c *Client) CreateEnrollToken(ctx context.Context, req EnrollTokenRequest) (patchwave.EnrollToken, error) {
	var out patchwave.EnrollToken
	if req.Tags == nil {
		req.Tags = []string{}
	}
	err := c.Do(ctx, "POST", "/api/v1/enroll-tokens", nil, req, &out)
	return out, err
}

// ListEnrollTokens returns the enrollment tokens, without their secrets.
func (c *Client) ListEnrollTokens(ctx context.Context) ([]patchwave.EnrollToken, error) {
	var out struct {
		Tokens []patchwave.EnrollToken `json:"enroll_tokens"`
	}
	if err := c.Do(ctx, "GET", "/api/v1/enroll-tokens", nil, nil, &out); err != nil {
		return nil, err
	}
	if out.Tokens == nil {
		out.Tokens = []patchwave.EnrollToken{}
	}
	return out.Tokens, nil
}

// RevokeEnrollToken revokes an enrollment token: no more hosts may enroll
// with it. Hosts that already did are not affected.
func (c *Client) RevokeEnrollToken(ctx context.Context, id int64) error {
	return c.Do(ctx, "DELETE", "/api/v1/enroll-tokens/"+strconv.FormatInt(id, 10), nil, nil, nil)
}

// TokenRequest asks for a new API token for the calling user.
type TokenRequest struct {
	Name    string `json:"name"`
	Expires string `json:"expires_in,omitempty"` // a Go duration, e.g. 720h; "" for the server's default
}

// CreateToken creates an API token for the calling user. The answer is the
// only place its secret (Token) appears.
func (c *Client) CreateToken(ctx context.Context, req TokenRequest) (patchwave.APIToken, error) {
	var out patchwave.APIToken
	err := c.Do(ctx, "POST", "/api/v1/tokens", nil, req, &out)
	return out, err
}

// ListTokens returns the API tokens the caller may see, without their secrets.
func (c *Client) ListTokens(ctx context.Context) ([]patchwave.APIToken, error) {
	var out struct {
		Tokens []patchwave.APIToken `json:"tokens"`
	}
	if err := c.Do(ctx, "GET", "/api/v1/tokens", nil, nil, &out); err != nil {
		return nil, err
	}
	if out.Tokens == nil {
		out.Tokens = []patchwave.APIToken{}
	}
	return out.Tokens, nil
}

// RevokeToken revokes an API token: it is refused from then on.
func (c *Client) RevokeToken(ctx context.Context, id int64) error {
	return c.Do(ctx, "DELETE", "/api/v1/tokens/"+strconv.FormatInt(id, 10), nil, nil, nil)
}

// NewUser describes a user to create.
type NewUser struct {
	Name     string         `json:"name"`
	Password string         `json:"password"`
	Role     patchwave.Role `json:"role"`
	Sites    []string       `json:"sites"` // the sites a site-admin manages
}

// CreateUser creates a user (admins only).
func (c *Client) CreateUser(ctx context.Context, u NewUser) (patchwave.User, error) {
	var out patchwave.User
	if u.Sites == nil {
		u.Sites = []string{}
	}
	err := c.Do(ctx, "POST", "/api/v1/users", nil, u, &out)
	return out, err
}

// ListUsers returns the users.
func (c *Client) ListUsers(ctx context.Context) ([]patchwave.User, error) {
	var out struct {
		Users []patchwave.User `json:"users"`
	}
	if err := c.Do(ctx, "GET", "/api/v1/users", nil, nil, &out); err != nil {
		return nil, err
	}
	if out.Users == nil {
		out.Users = []patchwave.User{}
	}
	return out.Users, nil
}

// UserUpdate is a change to a user; nil fields stay as they are.
type UserUpdate struct {
	Role     *patchwave.Role `json:"role,omitempty"`
	Sites    *[]string       `json:"sites,omitempty"`
	Password *string         `json:"password,omitempty"`
	Disabled *bool           `json:"disabled,omitempty"`
}

// UpdateUser changes the fields of user name that u sets and returns the
// user as it is now.
func (c *Client) UpdateUser(ctx context.Context, name string, u UserUpdate) (patchwave.User, error) {
	var out patchwave.User
	if name == "" {
		return out, patchwave.Errorf(patchwave.EInvalid, "no user name given")
	}
	err := c.Do(ctx, "PATCH", "/api/v1/users/"+url.PathEscape(name), nil, u, &out)
	return out, err
}

// Audit returns audit events, newest first: those with ids below before
// (0: from the newest), at most limit of them (0: the server's default).
// To page back, pass the smallest id of one page as before of the next.
func (c *Client) Audit(ctx context.Context, before int64, limit int) ([]patchwave.AuditEvent, error) {
	q := url.Values{}
	if before > 0 {
		q.Set("before", strconv.FormatInt(before, 10))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out struct {
		Events []patchwave.AuditEvent `json:"events"`
	}
	if err := c.Do(ctx, "GET", "/api/v1/audit", q, nil, &out); err != nil {
		return nil, err
	}
	if out.Events == nil {
		out.Events = []patchwave.AuditEvent{}
	}
	return out.Events, nil
}
