package server_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/patchwave/patchwave"
)

// TestLoneSurrogatesRefused sends JSON whose string escapes name half of a
// UTF-16 surrogate pair, which encoding/json would store as U+FFFD, to the
// agent check-in and to a host change: each is refused, naming the byte,
// and nothing stored changes. A proper pair is accepted.
func TestLoneSurrogatesRefused(t *testing.T) {
	t.Parallel()
	ts := newServer(t, "")
	ctx := context.Background()
	e := enroll(t, ts.URL, enrollToken(t, ts.Admin, map[string]any{"site": "paris"}).Token, "web-01")
	admin := login(t, ts.URL, "admin", adminPassword)
	if _, err := ts.Admin.UpdateHost(ctx, "web-01", patchwave.HostUpdate{Owner: ptr("alice")}); err != nil {
		t.Fatal(err)
	}
	pkgsBefore, _ := ts.Admin.HostPackages(ctx, "web-01")
	hostBefore, _ := ts.Admin.Host(ctx, "web-01")

	checkin := ts.URL + "/api/v1/agent/checkin"
	host := ts.URL + "/api/v1/hosts/web-01"
	for _, c := range []struct {
		name, method, url, token, body, msg string
	}{
		{"package name", "POST", checkin, e.Credential, `{"facts_hash":"","packages_hash":"","packages":[{"name":"x\ud800","version":"1"}]}`,
			`surrogate escape \ud800 at byte 58`},
		{"low half in a version", "POST", checkin, e.Credential, `{"packages":[{"name":"x","version":"1\uDC00"}]}`, `\uDC00 at byte 37`},
		{"high then not low", "POST", checkin, e.Credential, `{"facts":{"hostname":"web-01","os":{},"kernel":"\ud83d\u0041"}}`, `\ud83d at byte 48`},
		{"owner", "PATCH", host, admin, `{"owner":"\udfff"}`, `\udfff at byte 10`},
		{"tag", "PATCH", host, admin, `{"tags":["ok","\ud800\ud800"]}`, `\ud800 at byte 15`},
	} {
		t.Run(c.name, func(t *testing.T) {
			st, code, msg := call(t, c.method, c.url, c.token, "application/json", []byte(c.body))
			if st != 400 || code != patchwave.EInvalid || !strings.Contains(string(msg), c.msg) {
				t.Errorf("status %d %s %s; want 400 with %q", st, code, msg, c.msg)
			}
		})
	}
	pkgsAfter, _ := ts.Admin.HostPackages(ctx, "web-01")
	hostAfter, _ := ts.Admin.Host(ctx, "web-01")
	if !slices.Equal(pkgsBefore, pkgsAfter) || hostAfter.Owner != hostBefore.Owner || !slices.Equal(hostAfter.Tags, hostBefore.Tags) ||
		hostAfter.Kernel != hostBefore.Kernel || hostAfter.UpdatedAt != hostBefore.UpdatedAt {
		t.Errorf("refused requests changed the host: %+v → %+v", hostBefore, hostAfter)
	}

	// A well-formed pair is one character, and is kept as it is.
	if st, _, msg := call(t, "PATCH", host, admin, "application/json", []byte(`{"owner":"ops \ud83d\ude00"}`)); st != 200 {
		t.Fatalf("surrogate pair refused: %d %s", st, msg)
	}
	if h, _ := ts.Admin.Host(ctx, "web-01"); h.Owner != "ops \U0001F600" {
		t.Errorf("owner %q", h.Owner)
	}
}
