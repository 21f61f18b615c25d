package server_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"testing"

	"github.com/patchwave/patchwave/internal/api"
)

// TestReadRoutesNeedAUser calls every route people use, reads included,
// without a credential, with an agent's credential and with a revoked API
// token: each is refused before anything is looked up. (Mutating routes
// are also tried as a viewer, and as these callers, in the audit walk.)
func TestReadRoutesNeedAUser(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, ts *testServer) {
		tok := enrollToken(t, ts.Admin, map[string]any{"site": "paris"})
		agentCred := enroll(t, ts.URL, tok.Token, "web-01").Credential
		admin := login(t, ts.URL, "admin", adminPassword)
		st, _, b := call(t, "POST", ts.URL+"/api/v1/tokens", admin, "application/json", []byte(`{"name":"old"}`))
		if st != http.StatusCreated {
			t.Fatalf("create token: %d %s", st, b)
		}
		revoked := jsonField(t, b, "token")
		id := jsonField(t, b, "id")
		if st, _, b := call(t, "DELETE", ts.URL+"/api/v1/tokens/"+id, admin, "", nil); st >= 300 {
			t.Fatalf("revoke token: %d %s", st, b)
		}
		param := regexp.MustCompile(`\{[^}]+\}`)
		n := 0
		for _, r := range api.New(api.Config{}).Routes() {
			if r.Auth == "agent" {
				// An agent's routes refuse people, even an admin, and nobody.
				for _, c := range []struct{ who, token string }{{"nobody", ""}, {"the admin", admin}} {
					st, _, b := call(t, r.Method, ts.URL+r.Path, c.token, "application/json", []byte(`{}`))
					if st != http.StatusUnauthorized && st != http.StatusForbidden {
						t.Errorf("%s %s as %s: %d %s; want 401 or 403", r.Method, r.Path, c.who, st, b)
					}
					n++
				}
			}
			if r.Auth != "user" {
				continue
			}
			path := param.ReplaceAllString(r.Path, "1")
			for _, c := range []struct{ who, token string }{{"nobody", ""}, {"an agent", agentCred}, {"a revoked token", revoked}} {
				st, _, b := call(t, r.Method, ts.URL+path, c.token, "application/json", []byte(`{}`))
				if st != http.StatusUnauthorized && st != http.StatusForbidden {
					t.Errorf("%s %s as %s: %d %s; want 401 or 403", r.Method, path, c.who, st, b)
				}
				n++
			}
		}
		t.Logf("%d requests refused", n)
	})
}

// jsonField returns a top-level field of a JSON object as text.
func jsonField(t *testing.T, b []byte, name string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	switch v := m[name].(type) {
	case string:
		return v
	case float64:
		return strconv.FormatInt(int64(v), 10)
	}
	t.Fatalf("no field %s in %s", name, b)
	return ""
}
