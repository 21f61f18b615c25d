package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// TestHostTaskBadInput sends malformed, oversized and hostile requests
// for host tasks and the long poll: each is refused with an error naming
// what is wrong, and no task is created.
func TestHostTaskBadInput(t *testing.T) {
	t.Parallel()
	ts := newServer(t, "")
	ctx := context.Background()
	tok := enrollToken(t, ts.Admin, map[string]any{"site": "paris"})
	cred := enroll(t, ts.URL, tok.Token, "web-01").Credential
	if _, err := ts.Admin.ImportHosts(ctx, strings.NewReader("hostname,site\nasset-01,paris\n")); err != nil {
		t.Fatal(err)
	}
	admin := login(t, ts.URL, "admin", adminPassword)
	for _, tc := range []struct {
		name, path, body string
		status           int
		want             string
	}{
		{"unknown host", "/api/v1/hosts/nope/tasks", `{"kind":"scan","reason":"x"}`, 404, "nope"},
		{"unknown kind", "/api/v1/hosts/web-01/tasks", `{"kind":"format-disk","reason":"x"}`, 400, "format-disk"},
		{"an install", "/api/v1/hosts/web-01/tasks", `{"kind":"install","reason":"x"}`, 400, "releases create"},
		{"no reason", "/api/v1/hosts/web-01/tasks", `{"kind":"scan"}`, 400, "reason"},
		{"blank reason", "/api/v1/hosts/web-01/tasks", `{"kind":"scan","reason":"   "}`, 400, "reason"},
		{"huge reason", "/api/v1/hosts/web-01/tasks", `{"kind":"scan","reason":"` + strings.Repeat("x", 5000) + `"}`, 400, "reason"},
		{"short within", "/api/v1/hosts/web-01/tasks", `{"kind":"scan","reason":"x","within":"5s"}`, 400, "within"},
		{"bad within", "/api/v1/hosts/web-01/tasks", `{"kind":"scan","reason":"x","within":"soon"}`, 400, "within"},
		{"run-hook without a hook", "/api/v1/hosts/web-01/tasks", `{"kind":"run-hook","reason":"x"}`, 400, "hook"},
		{"hostile hook name", "/api/v1/hosts/web-01/tasks", `{"kind":"run-hook","hook":"x; rm -rf /","reason":"x"}`, 400, "hook"},
		{"a hook on a scan", "/api/v1/hosts/web-01/tasks", `{"kind":"scan","hook":"restart","reason":"x"}`, 400, "hook goes with run-hook"},
		{"a release on a scan", "/api/v1/hosts/web-01/tasks", `{"kind":"scan","release":"2026-12","reason":"x"}`, 400, "release goes with verify and rollback"},
		{"verify without a release", "/api/v1/hosts/web-01/tasks", `{"kind":"verify","reason":"x"}`, 400, "names the release"},
		{"rollback of an unknown release", "/api/v1/hosts/web-01/tasks", `{"kind":"rollback","release":"nope","reason":"x"}`, 404, "nope"},
		{"an agentless host", "/api/v1/hosts/asset-01/tasks", `{"kind":"scan","reason":"x"}`, 409, "no agent"},
		{"an unknown field", "/api/v1/hosts/web-01/tasks", `{"kind":"scan","reason":"x","command":"id"}`, 400, "command"},
		{"not JSON", "/api/v1/hosts/web-01/tasks", `kind=scan`, 400, "not valid"},
	} {
		st, _, b := call(t, "POST", ts.URL+tc.path, admin, "application/json", []byte(tc.body))
		if st != tc.status || !strings.Contains(string(b), tc.want) {
			t.Errorf("%s: %d %s; want %d naming %q", tc.name, st, b, tc.status, tc.want)
		}
	}
	for _, tc := range []struct {
		path   string
		status int
		want   string
	}{
		{"/api/v1/tasks/abc", 400, "abc"},
		{"/api/v1/tasks/0", 400, ""},
		{"/api/v1/tasks/99999", 404, "99999"},
		{"/api/v1/hosts/web-01/tasks?limit=-1", 400, "limit"},
		{"/api/v1/hosts/web-01/tasks?after=x", 400, "after"},
	} {
		st, _, b := call(t, "GET", ts.URL+tc.path, admin, "", nil)
		if st != tc.status || !strings.Contains(string(b), tc.want) {
			t.Errorf("GET %s: %d %s; want %d naming %q", tc.path, st, b, tc.status, tc.want)
		}
	}
	for _, body := range []string{`{"timeout":0}`, `{"timeout":121}`, `{"timeout":-5}`, `{"timeout":"60"}`} {
		if st, _, b := call(t, "POST", ts.URL+"/api/v1/agent/wait", cred, "application/json", []byte(body)); st != http.StatusBadRequest {
			t.Errorf("wait %s: %d %s; want 400", body, st, b)
		}
	}
	// Nothing was created.
	st, _, b := call(t, "GET", ts.URL+"/api/v1/hosts/web-01/tasks", admin, "", nil)
	if st != 200 || !strings.Contains(string(b), `"tasks":[]`) {
		t.Errorf("web-01's tasks after refused requests: %d %s", st, b)
	}
	// And a good one works.
	if st, _, b := call(t, "POST", ts.URL+"/api/v1/hosts/web-01/tasks", admin, "application/json", []byte(`{"kind":"scan","reason":"after a manual fix"}`)); st != http.StatusCreated {
		t.Errorf("a good request: %d %s", st, b)
	}
}
