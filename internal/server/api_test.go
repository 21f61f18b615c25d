package server_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/api"
	"github.com/patchwave/patchwave/internal/client"
)

// call sends a raw request and returns the status and the decoded error code.
func call(t *testing.T, method, url, token, ctype string, body []byte, hdr ...string) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var e struct{ Code, Message string }
	if json.Unmarshal(b, &e) == nil && e.Message != "" {
		return resp.StatusCode, e.Code, []byte(e.Message)
	}
	return resp.StatusCode, e.Code, b
}

func enrollToken(t *testing.T, c *client.Client, body map[string]any) patchwave.EnrollToken {
	t.Helper()
	var tok patchwave.EnrollToken
	if err := c.Do(context.Background(), "POST", "/api/v1/enroll-tokens", nil, body, &tok); err != nil {
		t.Fatal(err)
	}
	return tok
}

func enroll(t *testing.T, url, token, hostname string) patchwave.EnrollResponse {
	t.Helper()
	r, err := client.New(url, "").Enroll(context.Background(), patchwave.EnrollRequest{Token: token,
		Facts: patchwave.Facts{Hostname: hostname, OS: patchwave.OS{ID: "debian", Version: "12"}}})
	if err != nil {
		t.Fatalf("enroll %s: %v", hostname, err)
	}
	return r
}

func TestEnrollAndCheckin(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, ts *testServer) {
		ctx := context.Background()
		tok := enrollToken(t, ts.Admin, map[string]any{"site": "bangalore", "tier": "lab", "tags": []string{"web", "qa"}, "max_uses": 1})
		e := enroll(t, ts.URL, tok.Token, "web-01")
		if _, err := client.New(ts.URL, "").Enroll(ctx, patchwave.EnrollRequest{Token: tok.Token, Facts: patchwave.Facts{Hostname: "web-02"}}); patchwave.ErrorCode(err) != patchwave.EUnauthorized || !strings.Contains(err.Error(), "used 1 of 1") {
			t.Fatalf("reused token: %v", err)
		}
		ag := client.New(ts.URL, e.Credential)
		facts := patchwave.Facts{Hostname: "web-01", OS: patchwave.OS{ID: "debian", Version: "12"}, Kernel: "6.1.0"}
		pkgs := patchwave.SortPackages([]patchwave.Package{{Name: "openssl", Version: "3.0.15-1~deb12u1", Arch: "amd64"}, {Name: "bash", Version: "5.2.15-2+b7", Arch: "amd64"}})
		hash := patchwave.HashPackages(pkgs)
		r, err := ag.Checkin(ctx, patchwave.CheckinRequest{FactsHash: facts.Hash(), PackagesHash: hash, Facts: &facts, Packages: &pkgs})
		if err != nil || r.PackagesHash != hash || r.FactsHash != facts.Hash() || r.NeedFacts || r.NeedPackages {
			t.Fatalf("first checkin %+v %v", r, err)
		}
		// Unchanged: hashes only.
		r, err = ag.Checkin(ctx, patchwave.CheckinRequest{FactsHash: facts.Hash(), PackagesHash: hash})
		if err != nil || r.NeedFacts || r.NeedPackages {
			t.Fatalf("unchanged checkin %+v %v", r, err)
		}
		// A delta against the acknowledged base.
		next := patchwave.SortPackages(append(slices.Clone(pkgs[1:]), patchwave.Package{Name: "bash", Version: "5.2.15-2+b8", Arch: "amd64"}))
		d := patchwave.DiffPackages(pkgs, next)
		r, err = ag.Checkin(ctx, patchwave.CheckinRequest{FactsHash: facts.Hash(), PackagesHash: patchwave.HashPackages(next), BaseHash: hash, Delta: &d})
		if err != nil || r.NeedPackages || r.PackagesHash != patchwave.HashPackages(next) {
			t.Fatalf("delta checkin %+v %v", r, err)
		}
		// A delta against a base the server does not hold: ask for everything.
		r, err = ag.Checkin(ctx, patchwave.CheckinRequest{FactsHash: facts.Hash(), PackagesHash: "x", BaseHash: hash, Delta: &d})
		if err != nil || !r.NeedPackages {
			t.Fatalf("stale-base delta %+v %v", r, err)
		}
		// Hashes the server does not know: ask.
		r, err = ag.Checkin(ctx, patchwave.CheckinRequest{FactsHash: "other", PackagesHash: "other"})
		if err != nil || !r.NeedFacts || !r.NeedPackages {
			t.Fatalf("changed hashes %+v %v", r, err)
		}
		got, err := ts.Admin.Host(ctx, "web-01")
		if err != nil || got.Site != "bangalore" || got.Tier != patchwave.TierLab || !slices.Equal(got.Tags, []string{"qa", "web"}) || got.Kernel != "6.1.0" || got.PackageCount != 2 {
			t.Fatalf("host %+v %v", got, err)
		}
		ps, err := ts.Admin.HostPackages(ctx, "web-01")
		if err != nil || !slices.Equal(ps, next) {
			t.Fatalf("packages %v %v", ps, err)
		}
		// Revoked: refused.
		if _, err := ts.Admin.RevokeHost(ctx, "web-01"); err != nil {
			t.Fatal(err)
		}
		if _, err := ag.Checkin(ctx, patchwave.CheckinRequest{}); patchwave.ErrorCode(err) != patchwave.EUnauthorized {
			t.Fatalf("revoked agent: %v", err)
		}
		// Forged credential: refused.
		if _, err := client.New(ts.URL, "pwa_forged").Checkin(ctx, patchwave.CheckinRequest{}); patchwave.ErrorCode(err) != patchwave.EUnauthorized {
			t.Fatalf("forged credential: %v", err)
		}
	})
}

func TestCheckinBadInput(t *testing.T) {
	t.Parallel()
	ts := newServer(t, "")
	tok := enrollToken(t, ts.Admin, map[string]any{"site": "s1"})
	e := enroll(t, ts.URL, tok.Token, "web-01")
	url := ts.URL + "/api/v1/agent/checkin"
	pkgs := func(n int, name string) []byte {
		var b bytes.Buffer
		b.WriteString(`{"facts_hash":"","packages_hash":"","packages":[`)
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"name":"%s%d","version":"1.0"}`, name, i)
		}
		b.WriteString(`]}`)
		return b.Bytes()
	}
	gz := func(b []byte) []byte {
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		w.Write(b)
		w.Close()
		return buf.Bytes()
	}
	bomb := gz(bytes.Repeat([]byte(" "), 80<<20)) // 80 MiB of spaces in a few hundred KiB
	cases := []struct {
		name   string
		body   []byte
		hdr    []string
		status int
		msg    string
	}{
		{"empty", nil, nil, 400, "empty"},
		{"not json", []byte("{"), nil, 400, "not valid"},
		{"unknown field", []byte(`{"facts_hash":"","evil":1}`), nil, 400, "unknown field"},
		{"trailing data", []byte(`{} {}`), nil, 400, "after the JSON"},
		{"200,000 packages", gz(pkgs(200_000, "p")), []string{"Content-Encoding", "gzip"}, 400, "200000 entries"},
		{"invalid utf-8 name", []byte("{\"packages\":[{\"name\":\"bad\xff\",\"version\":\"1\"}]}"), nil, 400, "UTF-8"},
		{"package without version", []byte(`{"packages":[{"name":"x"}]}`), nil, 400, "no version"},
		{"control char", []byte(`{"packages":[{"name":"x\n","version":"1"}]}`), nil, 400, "U+000A"},
		{"both full and delta", []byte(`{"packages":[],"delta":{}}`), nil, 400, "not both"},
		{"bad hostname", []byte(`{"facts":{"hostname":"a b","os":{}}}`), nil, 400, "hostname"},
		{"gzip bomb", bomb, []string{"Content-Encoding", "gzip"}, 413, "larger than"},
		{"not gzip", []byte("plain"), []string{"Content-Encoding", "gzip"}, 400, "gzip"},
		{"other encoding", []byte("{}"), []string{"Content-Encoding", "br"}, 400, "Content-Encoding"},
	}
	before, _ := ts.Admin.HostPackages(context.Background(), "web-01")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, _, body := call(t, "POST", url, e.Credential, "application/json", c.body, c.hdr...)
			if st != c.status || !strings.Contains(string(body), c.msg) {
				t.Errorf("status %d body %.300s; want %d with %q", st, body, c.status, c.msg)
			}
		})
	}
	after, err := ts.Admin.HostPackages(context.Background(), "web-01")
	if err != nil || !slices.Equal(before, after) {
		t.Errorf("packages changed by bad input: %v → %v (%v)", before, after, err)
	}
	h, _ := ts.Admin.Host(context.Background(), "web-01")
	if h.Hostname != "web-01" {
		t.Errorf("facts changed by bad input: %+v", h)
	}
}

func TestEnrollBadInput(t *testing.T) {
	t.Parallel()
	ts := newServer(t, "")
	expired := enrollToken(t, ts.Admin, map[string]any{"expires_in": "1ms"})
	revoked := enrollToken(t, ts.Admin, map[string]any{})
	if err := ts.Admin.RevokeEnrollToken(context.Background(), revoked.ID); err != nil {
		t.Fatal(err)
	}
	good := enrollToken(t, ts.Admin, map[string]any{})
	url := ts.URL + "/api/v1/agent/enroll"
	body := func(tok, host string) []byte {
		b, _ := json.Marshal(map[string]any{"token": tok, "facts": map[string]any{"hostname": host, "os": map[string]any{}}})
		return b
	}
	for _, c := range []struct {
		name   string
		body   []byte
		status int
		msg    string
	}{
		{"no token", body("", "h"), 400, "missing"},
		{"unknown token", body("pwe_nope", "h"), 401, "not valid"},
		{"expired token", body(expired.Token, "h"), 401, "expired"},
		{"revoked token", body(revoked.Token, "h"), 401, "revoked"},
		{"empty hostname", body(good.Token, ""), 400, "hostname is empty"},
		{"huge hostname", body(good.Token, strings.Repeat("a", 300)), 400, "at most 253"},
		{"oversized body", append([]byte(`{"token":"`), bytes.Repeat([]byte("a"), 2<<20)...), 413, "larger than"},
	} {
		t.Run(c.name, func(t *testing.T) {
			st, _, b := call(t, "POST", url, "", "application/json", c.body)
			if st != c.status || !strings.Contains(string(b), c.msg) {
				t.Errorf("status %d body %.300s; want %d with %q", st, b, c.status, c.msg)
			}
		})
	}
	hs, _, _ := ts.Admin.ListHosts(context.Background(), patchwave.HostFilter{})
	if len(hs) != 0 {
		t.Errorf("bad enrollments created hosts: %+v", hs)
	}
}

func TestImportCSV(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, ts *testServer) {
		url := ts.URL + "/api/v1/hosts/import"
		tok := login(t, ts.URL, "admin", adminPassword)
		good := "hostname,ip,os,site,tier,owner,tags\nfs-01,10.0.0.1,Windows Server 2022,paris,business-operational,bob,\"file,print\"\nmail-01,10.0.0.2,ubuntu 22.04,paris,business-critical,carol,\n"
		st, _, b := call(t, "POST", url, tok, "text/csv", []byte(good))
		if st != 200 || !strings.Contains(string(b), `"created":2`) {
			t.Fatalf("import: %d %s", st, b)
		}
		for _, c := range []struct{ name, csv, msg string }{
			{"broken row", "hostname,tier\nok-1,lab\nbad host,lab\n", "row 3"},
			{"bad tier", "hostname,tier\nok-1,lab\nok-2,gold\n", `row 3 (line 3): unknown tier "gold"`},
			{"unbalanced quote", "hostname,owner\nok-1,\"bob\nok-2,x\n", "row"},
			{"field count", "hostname,owner\nok-1,a,b\n", "row 2"},
			{"duplicate host", "hostname\nok-1\nok-1\n", "already on row 2"},
			{"no hostname column", "ip,os\n1.2.3.4,x\n", "hostname column is missing"},
			{"unknown column", "hostname,colour\nx,red\n", `unknown column "colour"`},
			{"empty", "", "empty"},
			{"header only", "hostname\n", "no rows"},
			{"invalid utf-8", "hostname,owner\nok-1,\xff\n", "UTF-8"},
		} {
			t.Run(c.name, func(t *testing.T) {
				st, _, b := call(t, "POST", url, tok, "text/csv", []byte(c.csv))
				if st != 400 || !strings.Contains(string(b), c.msg) {
					t.Errorf("status %d %s; want 400 with %q", st, b, c.msg)
				}
			})
		}
		st, _, _ = call(t, "POST", url, tok, "application/json", []byte(good))
		if st != 400 {
			t.Errorf("JSON content type accepted for CSV: %d", st)
		}
		st, _, _ = call(t, "POST", url, tok, "text/csv", append([]byte("hostname\n"), bytes.Repeat([]byte("x"), 9<<20)...))
		if st != 413 {
			t.Errorf("oversized CSV: %d", st)
		}
		hs, _, err := ts.Admin.ListHosts(context.Background(), patchwave.HostFilter{})
		if err != nil || len(hs) != 2 {
			t.Fatalf("after bad imports: %d hosts, %v", len(hs), err)
		}
		h, _ := ts.Admin.Host(context.Background(), "fs-01")
		if h.Owner != "bob" || !slices.Equal(h.Tags, []string{"file", "print"}) || h.IPs()[0] != "10.0.0.1" || h.Managed {
			t.Errorf("imported host %+v", h)
		}
	})
}

func TestAPIBadRequests(t *testing.T) {
	t.Parallel()
	ts := newServer(t, "")
	tok := login(t, ts.URL, "admin", adminPassword)
	for _, c := range []struct {
		method, path, body string
		status             int
		msg                string
	}{
		{"GET", "/api/v1/nothing", "", 404, "no such API endpoint"},
		{"GET", "/api/v1/hosts/nope", "", 404, "not found"},
		{"GET", "/api/v1/hosts?tier=gold", "", 400, "unknown tier"},
		{"GET", "/api/v1/hosts?limit=-1", "", 400, "limit"},
		{"GET", "/api/v1/hosts?limit=5000", "", 400, "maximum"},
		{"GET", "/api/v1/hosts?stale=maybe", "", 400, "stale"},
		{"POST", "/api/v1/enroll-tokens", `{"tier":"gold"}`, 400, "unknown tier"},
		{"POST", "/api/v1/enroll-tokens", `{"expires_in":"forever"}`, 400, "duration"},
		{"POST", "/api/v1/enroll-tokens", `{"expires_in":"100000h"}`, 400, "maximum"},
		{"POST", "/api/v1/enroll-tokens", `{"max_uses":-1}`, 400, "max_uses"},
		{"POST", "/api/v1/enroll-tokens", `{"tags":["a b"]}`, 400, "space"},
		{"DELETE", "/api/v1/enroll-tokens/abc", "", 400, "not a positive number"},
		{"DELETE", "/api/v1/tokens/999", "", 404, "not found"},
		{"POST", "/api/v1/users", `{"name":"bob","password":"short","role":"viewer"}`, 400, "too short"},
		{"POST", "/api/v1/users", `{"name":"bob","password":"long enough","role":"king"}`, 400, "unknown role"},
		{"POST", "/api/v1/users", `{"name":"bob","password":"long enough","role":"site-admin"}`, 400, "at least one site"},
		{"POST", "/api/v1/users", `{"name":"admin","password":"long enough","role":"viewer"}`, 409, "already exists"},
		{"PATCH", "/api/v1/users/admin", `{"role":"viewer"}`, 409, "yourself"},
		{"PATCH", "/api/v1/hosts/nope", `{"owner":"x"}`, 404, "not found"},
		{"POST", "/api/v1/login", `{"user":"admin","password":"wrong"}`, 401, "wrong user name or password"},
		{"POST", "/api/v1/login", `{"user":"ghost","password":"wrong"}`, 401, "wrong user name or password"},
	} {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			ct := ""
			if c.body != "" {
				ct = "application/json"
			}
			st, _, b := call(t, c.method, ts.URL+c.path, tok, ct, []byte(c.body))
			if st != c.status || !strings.Contains(string(b), c.msg) {
				t.Errorf("status %d %s; want %d with %q", st, b, c.status, c.msg)
			}
		})
	}
}

// TestAuthorization checks every role against the routes that change things.
func TestAuthorization(t *testing.T) {
	t.Parallel()
	ts := newServer(t, "")
	ctx := context.Background()
	if err := ts.Admin.Do(ctx, "POST", "/api/v1/hosts/import", nil, nil, nil); err == nil {
		t.Fatal("import without CSV accepted")
	}
	if _, err := ts.Admin.ImportHosts(ctx, strings.NewReader("hostname,site\nparis-1,paris\nberlin-1,berlin\nnosite-1,\nmv-admin,paris\nmv-op,paris\nmv-ap,paris\nmv-sa,paris\nmv-vi,paris\nmv-revoked,paris\nmv-none,paris\nmv-forged,paris\nmv-agent,paris\n")); err != nil {
		t.Fatal(err)
	}
	tokens := map[string]string{"admin": login(t, ts.URL, "admin", adminPassword)}
	for _, u := range []struct {
		name, role string
		sites      []string
	}{{"op", "operator", nil}, {"ap", "approver", nil}, {"sa", "site-admin", []string{"paris"}}, {"vi", "viewer", nil}} {
		if _, err := ts.Admin.CreateUser(ctx, client.NewUser{Name: u.name, Password: "password-" + u.name, Role: patchwave.Role(u.role), Sites: u.sites}); err != nil {
			t.Fatal(err)
		}
		tokens[u.name] = login(t, ts.URL, u.name, "password-"+u.name)
	}
	revoked := login(t, ts.URL, "vi", "password-vi")
	var list struct{ Tokens []patchwave.APIToken }
	client.New(ts.URL, revoked).Do(ctx, "GET", "/api/v1/tokens", nil, nil, &list)
	if err := client.New(ts.URL, revoked).RevokeToken(ctx, list.Tokens[0].ID); err != nil {
		t.Fatal(err)
	}
	tokens["revoked"], tokens["none"], tokens["forged"] = revoked, "", "pwt_forged"
	e := enroll(t, ts.URL, enrollToken(t, ts.Admin, map[string]any{}).Token, "agent-1")
	tokens["agent"] = e.Credential

	type req struct{ method, path, body string }
	routes := map[string]req{
		"list hosts":          {"GET", "/api/v1/hosts", ""},
		"update paris host":   {"PATCH", "/api/v1/hosts/paris-1", `{"owner":"x"}`},
		"update berlin host":  {"PATCH", "/api/v1/hosts/berlin-1", `{"owner":"x"}`},
		"move paris → berlin": {"PATCH", "/api/v1/hosts/mv-%s", `{"site":"berlin"}`},
		"token for paris":     {"POST", "/api/v1/enroll-tokens", `{"site":"paris"}`},
		"token for no site":   {"POST", "/api/v1/enroll-tokens", `{}`},
		"create user":         {"POST", "/api/v1/users", `{"name":"new-%s","password":"long enough","role":"viewer"}`},
		"audit":               {"GET", "/api/v1/audit", ""},
		"own api token":       {"POST", "/api/v1/tokens", `{"name":"script"}`},
		"agent checkin":       {"POST", "/api/v1/agent/checkin", `{}`},
	}
	allow := map[string][]string{ // who may; everyone else is refused
		"list hosts":          {"admin", "op", "ap", "sa", "vi"},
		"update paris host":   {"admin", "op", "sa"},
		"update berlin host":  {"admin", "op"},
		"move paris → berlin": {"admin", "op"},
		"token for paris":     {"admin", "op", "sa"},
		"token for no site":   {"admin", "op"},
		"create user":         {"admin"},
		"audit":               {"admin", "op", "ap", "sa"},
		"own api token":       {"admin", "op", "ap", "sa", "vi"},
		"agent checkin":       {"agent"},
	}
	for name, r := range routes {
		for who, tok := range tokens {
			t.Run(name+"/"+who, func(t *testing.T) {
				body, path := r.body, r.path
				if strings.Contains(body, "%s") {
					body = fmt.Sprintf(body, who)
				}
				if strings.Contains(path, "%s") {
					path = fmt.Sprintf(path, who)
				}
				ct := ""
				if body != "" {
					ct = "application/json"
				}
				st, _, b := call(t, r.method, ts.URL+path, tok, ct, []byte(body))
				want := slices.Contains(allow[name], who)
				if ok := st < 300; ok != want {
					t.Errorf("%s by %s: status %d %s; allowed=%v", name, who, st, b, want)
				}
				if !want && st != 401 && st != 403 {
					t.Errorf("%s by %s: refused with %d, want 401 or 403", name, who, st)
				}
			})
		}
	}
}

func TestCrossOriginCookieRefused(t *testing.T) {
	t.Parallel()
	ts := newServer(t, "")
	// A forged session cookie from another origin is refused before the token is looked at.
	st, _, _ := call(t, "PATCH", ts.URL+"/api/v1/hosts/x", "", "application/json", []byte(`{}`),
		"Cookie", "patchwave_session=pws_x", "Sec-Fetch-Site", "cross-site")
	if st != 403 {
		t.Errorf("cross-site cookie request: %d, want 403", st)
	}
}

func TestAuditTrail(t *testing.T) {
	t.Parallel()
	ts := newServer(t, "")
	ctx := context.Background()
	tier := patchwave.TierMissionCritical
	ts.Admin.ImportHosts(ctx, strings.NewReader("hostname\nweb-01\n"))
	if _, err := ts.Admin.UpdateHost(ctx, "web-01", patchwave.HostUpdate{Tier: &tier}); err != nil {
		t.Fatal(err)
	}
	evs, err := ts.Admin.Audit(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range evs {
		actions = append(actions, e.Action)
	}
	for _, want := range []string{"user.create", "user.login", "host.import", "host.update"} {
		if !slices.Contains(actions, want) {
			t.Errorf("no %s in audit trail %v", want, actions)
		}
	}
	if evs[0].Action != "host.update" || !strings.Contains(evs[0].Detail, "mission-critical") || evs[0].Actor != "admin" {
		t.Errorf("newest event %+v", evs[0])
	}
	if err := ts.Store().VerifyAudit(ctx); err != nil {
		t.Error(err)
	}
}

// TestOpenAPIMatchesRoutes checks the served document lists exactly the
// routes the server answers, and that each one exists.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	ts := newServer(t, "")
	st, _, b := call(t, "GET", ts.URL+"/api/v1/openapi.json", "", "", nil)
	if st != 200 {
		t.Fatalf("openapi: %d", st)
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
		Comp    struct {
			Schemas map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") || len(doc.Paths) < 15 {
		t.Fatalf("document %s with %d paths", doc.OpenAPI, len(doc.Paths))
	}
	refs := regexp.MustCompile(`"#/components/schemas/([A-Za-z]+)"`).FindAllStringSubmatch(string(b), -1)
	for _, r := range refs {
		if _, ok := doc.Comp.Schemas[r[1]]; !ok {
			t.Errorf("dangling schema reference %s", r[1])
		}
	}
	for path, ops := range doc.Paths {
		for method := range ops {
			p := regexp.MustCompile(`\{[a-z]+\}`).ReplaceAllString(path, "1")
			st, _, body := call(t, strings.ToUpper(method), ts.URL+p, "", "", nil)
			if (st == 404 && strings.Contains(string(body), "no such API endpoint")) || st == 405 {
				t.Errorf("%s %s documented but not served: %d %s", method, path, st, body)
			}
		}
	}
	// And the other way: an undocumented route must not answer.
	for _, p := range []string{"/api/v1/hosts/1/secret", "/api/v1/admin"} {
		if st, _, _ := call(t, "GET", ts.URL+p, "", "", nil); st != 404 && st != 401 {
			t.Errorf("undocumented %s answered %d", p, st)
		}
	}
	checkGETResponses(t)
}

// checkGETResponses calls every GET route on a server that the audit walk
// filled, and checks each answer against the document: the documented
// success status, and top-level keys that the response schema names.
func checkGETResponses(t *testing.T) {
	w := walkMutations(t)
	b := get(t, w.ts.URL+"/api/v1/openapi.json")
	var doc struct {
		Paths map[string]map[string]struct {
			Responses map[string]struct {
				Content map[string]struct {
					Schema json.RawMessage `json:"schema"`
				} `json:"content"`
			} `json:"responses"`
		} `json:"paths"`
		Comp struct {
			Schemas map[string]struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	values := map[string]string{
		"{host}": w.host, "{release}": url.PathEscape(w.release), "{name}": w.baseline,
		"/advisories/{id}": "/advisories/" + url.PathEscape(w.advisory),
		"/exceptions/{id}": fmt.Sprintf("/exceptions/%d", w.exceptionID),
		"/tasks/{id}":      fmt.Sprintf("/tasks/%d", w.taskID),
		"/tickets/{id}":    fmt.Sprintf("/tickets/%d", w.ticketID),
	}
	query := map[string]string{"/api/v1/rollouts/{release}/explain": "?host=" + w.host}
	checked := 0
	for _, rt := range api.New(api.Config{}).Routes() {
		if rt.Method != "GET" || rt.Path == "/api/v1/openapi.json" {
			continue
		}
		path := rt.Path
		for k, v := range values {
			path = strings.ReplaceAll(path, k, v)
		}
		if strings.Contains(path, "{") {
			t.Errorf("GET %s: no value for its path parameters: add one", rt.Path)
			continue
		}
		st, _, body := call(t, "GET", w.ts.URL+path+query[rt.Path], w.token, "", nil)
		if st != rt.Status {
			t.Errorf("GET %s: status %d %.300s, documented %d", path, st, body, rt.Status)
			continue
		}
		resp := doc.Paths[rt.Path]["get"].Responses[strconv.Itoa(rt.Status)].Content["application/json"]
		var ref struct {
			Ref string `json:"$ref"`
		}
		json.Unmarshal(resp.Schema, &ref)
		schema, ok := doc.Comp.Schemas[strings.TrimPrefix(ref.Ref, "#/components/schemas/")]
		if ref.Ref == "" || !ok {
			t.Errorf("GET %s: no documented response schema (%s)", rt.Path, resp.Schema)
			continue
		}
		var got map[string]json.RawMessage
		if err := json.Unmarshal(body, &got); err != nil {
			t.Errorf("GET %s: the answer is not a JSON object: %.200s", path, body)
			continue
		}
		for k := range got {
			if _, ok := schema.Properties[k]; !ok {
				t.Errorf("GET %s: the answer has %q, which the schema %s does not name", rt.Path, k, ref.Ref)
			}
		}
		checked++
	}
	if checked < 30 {
		t.Errorf("only %d GET routes checked", checked)
	}
}

func get(t *testing.T, url string) []byte {
	t.Helper()
	st, _, b := call(t, "GET", url, "", "", nil)
	if st != 200 {
		t.Fatalf("GET %s: %d %s", url, st, b)
	}
	return b
}

func TestProbesAndMetrics(t *testing.T) {
	t.Parallel()
	ts := newServer(t, "")
	for path, want := range map[string]string{"/healthz": "ok", "/readyz": "ready", "/metrics": "patchwave_hosts 0"} {
		st, _, b := call(t, "GET", ts.URL+path, "", "", nil)
		if st != 200 || !strings.Contains(string(b), want) {
			t.Errorf("%s: %d %s", path, st, b)
		}
	}
}
