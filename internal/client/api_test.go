package client

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/patchwave/patchwave"
)

// recorded is one request a fake server received.
type recorded struct {
	method, path, query, ctype, auth string
	body                             string
}

// fakeServer answers every request with status and answer, and records it.
type fakeServer struct {
	mu       sync.Mutex
	requests []recorded
	status   int
	answer   string
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.requests = append(f.requests, recorded{r.Method, r.URL.EscapedPath(), r.URL.RawQuery,
		r.Header.Get("Content-Type"), r.Header.Get("Authorization"), string(b)})
	status, answer := f.status, f.answer
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, answer)
}

// got returns the requests received so far.
func (f *fakeServer) got() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.requests...)
}

func ptr[T any](v T) *T { return &v }

func TestRequests(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		call   func(c *Client) error
		answer string
		want   recorded // auth and ctype are checked when set
	}{
		{"login", func(c *Client) error {
			r, err := c.Login(ctx, "alice", "s3cret")
			if err == nil && (r.Token != "tok" || r.User.Name != "alice") {
				t.Errorf("Login = %+v", r)
			}
			return err
		}, `{"token":"tok","user":{"name":"alice","role":"admin"},"expires_at":"2030-01-01T00:00:00Z"}`,
			recorded{method: "POST", path: "/api/v1/login", body: `{"user":"alice","password":"s3cret"}`}},
		{"me", func(c *Client) error { _, err := c.Me(ctx); return err }, `{"name":"alice"}`,
			recorded{method: "GET", path: "/api/v1/me", auth: "Bearer T"}},
		{"list hosts", func(c *Client) error {
			hosts, next, err := c.ListHosts(ctx, patchwave.HostFilter{Site: "lyon", Tier: patchwave.TierLab, Tag: "web",
				OS: "debian:12", Stale: ptr(false), Query: "10.0", After: 5, Limit: 20, EOL: ptr(true)})
			if err == nil && (len(hosts) != 1 || next != "9") {
				t.Errorf("ListHosts = %v, %q", hosts, next)
			}
			return err
		}, `{"hosts":[{"id":9,"hostname":"a"}],"next":"9"}`,
			recorded{method: "GET", path: "/api/v1/hosts",
				query: "after=5&eol=true&limit=20&os=debian%3A12&q=10.0&site=lyon&stale=false&tag=web&tier=lab"}},
		{"list hosts after cursor", func(c *Client) error {
			_, _, err := c.ListHostsAfter(ctx, patchwave.HostFilter{After: 5}, "abc")
			return err
		}, `{"hosts":[],"next":""}`,
			recorded{method: "GET", path: "/api/v1/hosts", query: "after=abc"}},
		{"host by name", func(c *Client) error { _, err := c.Host(ctx, "web 01"); return err }, `{"id":1}`,
			recorded{method: "GET", path: "/api/v1/hosts/web%2001"}},
		{"host packages", func(c *Client) error {
			ps, err := c.HostPackages(ctx, "7")
			if err == nil && (len(ps) != 1 || ps[0].Name != "bash") {
				t.Errorf("HostPackages = %v", ps)
			}
			return err
		}, `{"packages":[{"name":"bash","version":"5.2"}]}`,
			recorded{method: "GET", path: "/api/v1/hosts/7/packages"}},
		{"update host", func(c *Client) error {
			_, err := c.UpdateHost(ctx, "web", patchwave.HostUpdate{Tier: ptr(patchwave.TierLab), Tags: ptr([]string{})})
			return err
		}, `{"id":1}`,
			recorded{method: "PATCH", path: "/api/v1/hosts/web", body: `{"tier":"lab","tags":[]}`}},
		{"revoke host", func(c *Client) error { _, err := c.RevokeHost(ctx, "web"); return err }, `{"id":1}`,
			recorded{method: "POST", path: "/api/v1/hosts/web/revoke"}},
		{"delete host", func(c *Client) error { return c.DeleteHost(ctx, "web") }, ``,
			recorded{method: "DELETE", path: "/api/v1/hosts/web"}},
		{"import hosts", func(c *Client) error {
			r, err := c.ImportHosts(ctx, strings.NewReader("hostname\nweb\n"))
			if err == nil && (r.Created != 1 || r.Updated != 2) {
				t.Errorf("ImportHosts = %+v", r)
			}
			return err
		}, `{"created":1,"updated":2}`,
			recorded{method: "POST", path: "/api/v1/hosts/import", ctype: "text/csv", body: "hostname\nweb\n"}},
		{"create enroll token", func(c *Client) error {
			_, err := c.CreateEnrollToken(ctx, EnrollTokenRequest{Site: "lyon", Tier: patchwave.TierLab, MaxUses: 3, Expires: "168h"})
			return err
		}, `{"id":1,"token":"x"}`,
			recorded{method: "POST", path: "/api/v1/enroll-tokens",
				body: `{"site":"lyon","tier":"lab","tags":[],"max_uses":3,"expires_in":"168h"}`}},
		{"list enroll tokens", func(c *Client) error {
			toks, err := c.ListEnrollTokens(ctx)
			if err == nil && len(toks) != 1 {
				t.Errorf("ListEnrollTokens = %v", toks)
			}
			return err
		}, `{"enroll_tokens":[{"id":1}]}`,
			recorded{method: "GET", path: "/api/v1/enroll-tokens"}},
		{"revoke enroll token", func(c *Client) error { return c.RevokeEnrollToken(ctx, 4) }, ``,
			recorded{method: "DELETE", path: "/api/v1/enroll-tokens/4"}},
		{"create token", func(c *Client) error { _, err := c.CreateToken(ctx, TokenRequest{Name: "ci"}); return err },
			`{"id":1}`, recorded{method: "POST", path: "/api/v1/tokens", body: `{"name":"ci"}`}},
		{"list tokens", func(c *Client) error {
			toks, err := c.ListTokens(ctx)
			if err == nil && toks == nil {
				t.Errorf("ListTokens = nil, want empty")
			}
			return err
		}, `{}`, recorded{method: "GET", path: "/api/v1/tokens"}},
		{"revoke token", func(c *Client) error { return c.RevokeToken(ctx, 12) }, ``,
			recorded{method: "DELETE", path: "/api/v1/tokens/12"}},
		{"create user", func(c *Client) error {
			_, err := c.CreateUser(ctx, NewUser{Name: "bob", Password: "pw", Role: patchwave.RoleViewer})
			return err
		}, `{"id":2}`, recorded{method: "POST", path: "/api/v1/users",
			body: `{"name":"bob","password":"pw","role":"viewer","sites":[]}`}},
		{"list users", func(c *Client) error { _, err := c.ListUsers(ctx); return err }, `{"users":[]}`,
			recorded{method: "GET", path: "/api/v1/users"}},
		{"update user", func(c *Client) error {
			_, err := c.UpdateUser(ctx, "bob", UserUpdate{Disabled: ptr(false), Sites: ptr([]string{})})
			return err
		}, `{"id":2}`, recorded{method: "PATCH", path: "/api/v1/users/bob", body: `{"sites":[],"disabled":false}`}},
		{"audit", func(c *Client) error { _, err := c.Audit(ctx, 10, 5); return err }, `{"events":[]}`,
			recorded{method: "GET", path: "/api/v1/audit", query: "before=10&limit=5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeServer{status: 200, answer: tt.answer}
			if tt.answer == "" {
				f.status = 204
			}
			srv := httptest.NewServer(f)
			defer srv.Close()
			if err := tt.call(New(srv.URL+"/", "T")); err != nil {
				t.Fatal(err)
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			if len(f.requests) != 1 {
				t.Fatalf("%d requests, want 1", len(f.requests))
			}
			got := f.requests[0]
			if got.method != tt.want.method || got.path != tt.want.path || got.query != tt.want.query {
				t.Errorf("request %s %s?%s, want %s %s?%s", got.method, got.path, got.query, tt.want.method, tt.want.path, tt.want.query)
			}
			if tt.want.body != "" && strings.TrimSpace(got.body) != strings.TrimSpace(tt.want.body) {
				t.Errorf("body %s, want %s", got.body, tt.want.body)
			}
			if tt.want.ctype != "" && got.ctype != tt.want.ctype {
				t.Errorf("Content-Type %q, want %q", got.ctype, tt.want.ctype)
			}
			if got.auth != "Bearer T" {
				t.Errorf("Authorization %q, want Bearer T", got.auth)
			}
		})
	}
}

func TestAllHostsFollowsCursor(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		after := r.URL.Query().Get("after")
		mu.Lock()
		seen = append(seen, after)
		mu.Unlock()
		if r.URL.Query().Get("site") != "lyon" {
			t.Errorf("page %q lost the filter: %s", after, r.URL.RawQuery)
		}
		pages := map[string]string{
			"":  `{"hosts":[{"id":1},{"id":2}],"next":"2"}`,
			"2": `{"hosts":[{"id":3},{"id":4}],"next":"4"}`,
			"4": `{"hosts":[{"id":5}],"next":""}`,
		}
		io.WriteString(w, pages[after])
	}))
	defer srv.Close()
	hosts, err := New(srv.URL, "T").AllHosts(context.Background(), patchwave.HostFilter{Site: "lyon", Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(hosts) != 5 || hosts[4].ID != 5 {
		t.Errorf("AllHosts = %v", hosts)
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(seen, ",") != ",2,4" {
		t.Errorf("cursors %q", seen)
	}
}

func TestAllHostsStopsOnRepeatedCursor(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"hosts":[{"id":1}],"next":"1"}`)
	}))
	defer srv.Close()
	if _, err := New(srv.URL, "T").AllHosts(context.Background(), patchwave.HostFilter{}); err == nil {
		t.Fatal("AllHosts looped on a repeated cursor without an error")
	}
}

func TestErrors(t *testing.T) {
	f := &fakeServer{status: 403, answer: `{"code":"forbidden","message":"viewers may not change hosts"}`}
	srv := httptest.NewServer(f)
	defer srv.Close()
	_, err := New(srv.URL, "T").UpdateHost(context.Background(), "web", patchwave.HostUpdate{})
	if patchwave.ErrorCode(err) != patchwave.EForbidden || err.Error() != "viewers may not change hosts" {
		t.Errorf("err = %v (code %q)", err, patchwave.ErrorCode(err))
	}
	if _, err := New(srv.URL, "T").Host(context.Background(), ""); patchwave.ErrorCode(err) != patchwave.EInvalid {
		t.Errorf("Host(\"\") = %v, want an invalid error", err)
	}
	if len(f.got()) != 1 {
		t.Errorf("Host(\"\") sent a request")
	}
}

func TestLoginBodyIsJSON(t *testing.T) {
	// A password with quotes and newlines must reach the server intact.
	f := &fakeServer{status: 200, answer: `{"token":"t"}`}
	srv := httptest.NewServer(f)
	defer srv.Close()
	pw := "a\"b\nc\\d"
	if _, err := New(srv.URL, "").Login(context.Background(), "u", pw); err != nil {
		t.Fatal(err)
	}
	req := f.got()[0]
	var in struct{ User, Password string }
	if err := json.Unmarshal([]byte(req.body), &in); err != nil || in.Password != pw {
		t.Errorf("body %q: %v", req.body, err)
	}
	if req.auth != "" {
		t.Errorf("login sent Authorization %q", req.auth)
	}
}
