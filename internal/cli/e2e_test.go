package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/server"
)

const adminPassword = "pw-for-tests"

// startServer runs a real server with an empty SQLite database and returns
// its URL.
func startServer(t *testing.T) string {
	t.Helper()
	srv, err := server.New(t.Context(), server.Config{DataDir: t.TempDir(), AdminPassword: adminPassword, Listen: "127.0.0.1:0"},
		slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts.URL
}

// ok runs a command that must succeed and returns its stdout.
func (te *testEnv) ok(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	r := te.run(t, stdin, args...)
	if r.code != 0 {
		t.Fatalf("patchwave %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// fails runs a command that must fail with exit code 1 and a message
// containing want, and returns its stderr.
func (te *testEnv) fails(t *testing.T, stdin, want string, args ...string) string {
	t.Helper()
	r := te.run(t, stdin, args...)
	if r.code != 1 || !strings.HasPrefix(r.stderr, "patchwave: ") || !strings.Contains(r.stderr, want) {
		t.Fatalf("patchwave %s: exit %d, stderr %q; want exit 1 and %q", strings.Join(args, " "), r.code, r.stderr, want)
	}
	if strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("error is not one line: %q", r.stderr)
	}
	return r.stderr
}

// decode parses JSON output into v.
func decode(t *testing.T, out string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
}

// login logs user in within te.
func (te *testEnv) login(t *testing.T, url, user, password string) {
	t.Helper()
	out := te.ok(t, password+"\n", "login", "--server", url, "--user", user, "--password-stdin")
	if !strings.Contains(out, "Logged in to "+url+" as "+user) {
		t.Errorf("login said %q", out)
	}
}

func hostnames(hosts []patchwave.Host) []string {
	var names []string
	for _, h := range hosts {
		names = append(names, h.Hostname)
	}
	slices.Sort(names)
	return names
}

func TestEndToEnd(t *testing.T) {
	url := startServer(t)
	admin := newTestEnv(t, nil)

	// Login writes the config file, readable by the user only.
	admin.fails(t, "wrong-password\n", "wrong user name or password", "login", "--server", url, "--user", "admin", "--password-stdin")
	if _, ok, _ := (env{configDir: func() (string, error) { return admin.configDir, nil }}).loadLogin(); ok {
		t.Fatal("a failed login saved a config")
	}
	admin.login(t, url, "admin", adminPassword)
	cfgPath := filepath.Join(admin.configDir, "patchwave", "config.json")
	checkMode(t, cfgPath, 0o600)
	checkMode(t, filepath.Dir(cfgPath), 0o700)
	var saved savedLogin
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	decode(t, string(b), &saved)
	if saved.Server != url || saved.User != "admin" || !strings.HasPrefix(saved.Token, "pwt_") {
		t.Errorf("saved login %+v", saved)
	}

	t.Run("enroll-tokens", func(t *testing.T) {
		out := admin.ok(t, "", "enroll-tokens", "create", "--site", "lyon", "--tier", "lab", "--tags", "web,dmz", "--max-uses", "5", "--expires", "24h")
		if !strings.Contains(out, "\n    pwe_") || !strings.Contains(out, "patchwave agent --server "+url+" --enroll-token pwe_") {
			t.Errorf("create printed:\n%s", out)
		}
		var tok patchwave.EnrollToken
		decode(t, admin.ok(t, "", "enroll-tokens", "create", "--site", "paris", "-o", "json"), &tok)
		if !strings.HasPrefix(tok.Token, "pwe_") || tok.Site != "paris" || tok.ID == 0 {
			t.Errorf("created %+v", tok)
		}
		var toks []patchwave.EnrollToken
		decode(t, admin.ok(t, "", "enroll-tokens", "list", "-o", "json"), &toks)
		if len(toks) != 2 {
			t.Fatalf("listed %d tokens, want 2", len(toks))
		}
		for _, k := range toks {
			if k.Token != "" {
				t.Errorf("list shows the secret of token %d", k.ID)
			}
		}
		admin.ok(t, "", "enroll-tokens", "revoke", strconv.FormatInt(tok.ID, 10))
		table := admin.ok(t, "", "enroll-tokens", "list")
		if !strings.Contains(table, "revoked") || !strings.Contains(table, "PREFIX") {
			t.Errorf("list after revoke:\n%s", table)
		}
		admin.fails(t, "", "not found", "enroll-tokens", "revoke", "999")
	})

	t.Run("hosts import", func(t *testing.T) {
		csv := filepath.Join(t.TempDir(), "hosts.csv")
		os.WriteFile(csv, []byte("hostname,ip,os,site,tier,owner,tags\n"+
			"web-01,10.0.0.1,debian 12,lyon,lab,alice,\"web,dmz\"\n"+
			"db-01,10.0.0.2,almalinux 9,paris,mission-critical,bob,db\n"), 0o600)
		if out := admin.ok(t, "", "hosts", "import", csv); !strings.Contains(out, "2 created, 0 updated") {
			t.Errorf("import printed %q", out)
		}
		if out := admin.ok(t, "", "hosts", "import", csv); !strings.Contains(out, "0 created, 2 updated") {
			t.Errorf("second import printed %q", out)
		}
		// A broken row is named, and nothing of the file is stored.
		broken := "hostname,tier\nnew-01,lab\nnew-02,gold\n"
		msg := admin.fails(t, broken, "row 3", "hosts", "import", "-")
		if !strings.Contains(msg, "gold") {
			t.Errorf("the error does not say what is wrong: %s", msg)
		}
		var hosts []patchwave.Host
		decode(t, admin.ok(t, "", "hosts", "list", "-o", "json"), &hosts)
		if got := hostnames(hosts); !slices.Equal(got, []string{"db-01", "web-01"}) {
			t.Errorf("after a broken import, hosts are %v", got)
		}
		admin.fails(t, "", "no such file", "hosts", "import", filepath.Join(t.TempDir(), "missing.csv"))
	})

	t.Run("hosts list", func(t *testing.T) {
		var hosts []patchwave.Host
		decode(t, admin.ok(t, "", "hosts", "list", "--site", "lyon", "-o", "json"), &hosts)
		if got := hostnames(hosts); !slices.Equal(got, []string{"web-01"}) {
			t.Errorf("--site lyon: %v", got)
		}
		decode(t, admin.ok(t, "", "hosts", "list", "--tier", "mission-critical", "-o", "json"), &hosts)
		if got := hostnames(hosts); !slices.Equal(got, []string{"db-01"}) {
			t.Errorf("--tier mission-critical: %v", got)
		}
		decode(t, admin.ok(t, "", "hosts", "list", "--tag", "dmz", "-o", "json"), &hosts)
		if got := hostnames(hosts); !slices.Equal(got, []string{"web-01"}) {
			t.Errorf("--tag dmz: %v", got)
		}
		decode(t, admin.ok(t, "", "hosts", "list", "--search", "10.0.0.2", "-o", "json"), &hosts)
		if got := hostnames(hosts); !slices.Equal(got, []string{"db-01"}) {
			t.Errorf("--search 10.0.0.2: %v", got)
		}
		decode(t, admin.ok(t, "", "hosts", "list", "--site", "nowhere", "-o", "json"), &hosts)
		if hosts == nil || len(hosts) != 0 {
			t.Errorf("no match: %v, want []", hosts)
		}
		// One page, with a note that there is more; --all follows the pages.
		r := admin.run(t, "", "hosts", "list", "--limit", "1", "-o", "json")
		decode(t, r.stdout, &hosts)
		if r.code != 0 || len(hosts) != 1 || !strings.Contains(r.stderr, "--all") {
			t.Errorf("--limit 1: exit %d, %d hosts, stderr %q", r.code, len(hosts), r.stderr)
		}
		decode(t, admin.ok(t, "", "hosts", "list", "--limit", "1", "--all", "-o", "json"), &hosts)
		if got := hostnames(hosts); !slices.Equal(got, []string{"db-01", "web-01"}) {
			t.Errorf("--all --limit 1: %v", got)
		}
		table := admin.ok(t, "", "hosts", "list")
		for _, want := range []string{"HOSTNAME", "web-01", "db-01", "imported", "10.0.0.1", "dmz,web"} {
			if !strings.Contains(table, want) {
				t.Errorf("table lacks %q:\n%s", want, table)
			}
		}
	})

	t.Run("hosts set and show", func(t *testing.T) {
		var h patchwave.Host
		decode(t, admin.ok(t, "", "hosts", "set", "web-01", "--tier", "mission-critical", "--owner", "carol", "-o", "json"), &h)
		var shown struct {
			Host     patchwave.Host      `json:"host"`
			Packages []patchwave.Package `json:"packages"`
		}
		decode(t, admin.ok(t, "", "hosts", "show", "web-01", "-o", "json"), &shown)
		got := shown.Host
		// Only the flags given changed.
		if got.Tier != patchwave.TierMissionCritical || got.Owner != "carol" || got.Site != "lyon" ||
			!slices.Equal(got.Tags, []string{"dmz", "web"}) {
			t.Errorf("after set: %+v", got)
		}
		if shown.Packages == nil {
			t.Error(`hosts show -o json: "packages" is null, want []`)
		}
		// By id, flags after the argument, clearing tags.
		admin.ok(t, "", "hosts", "set", strconv.FormatInt(got.ID, 10), "--tags", "", "--site", "marseille")
		decode(t, admin.ok(t, "", "hosts", "show", strconv.FormatInt(got.ID, 10), "-o", "json"), &shown)
		if len(shown.Host.Tags) != 0 || shown.Host.Site != "marseille" || shown.Host.Owner != "carol" {
			t.Errorf("after clearing tags: %+v", shown.Host)
		}
		table := admin.ok(t, "", "hosts", "show", "web-01")
		for _, want := range []string{"Hostname:", "web-01", "mission-critical", "carol", "marseille"} {
			if !strings.Contains(table, want) {
				t.Errorf("show lacks %q:\n%s", want, table)
			}
		}
		admin.fails(t, "", "not found", "hosts", "show", "nosuchhost")
		admin.fails(t, "", "not found", "hosts", "set", "nosuchhost", "--owner", "x")
	})

	t.Run("tokens", func(t *testing.T) {
		var tok patchwave.APIToken
		decode(t, admin.ok(t, "", "tokens", "create", "--name", "ci", "--expires", "720h", "-o", "json"), &tok)
		if !strings.HasPrefix(tok.Token, "pwt_") || tok.Name != "ci" || tok.ExpiresAt == nil {
			t.Fatalf("created %+v", tok)
		}
		out := admin.ok(t, "", "tokens", "create", "--name", "forever")
		if !strings.Contains(out, "\n    pwt_") || !strings.Contains(out, "Expires: never") {
			t.Errorf("create printed:\n%s", out)
		}
		var toks []patchwave.APIToken
		decode(t, admin.ok(t, "", "tokens", "list", "-o", "json"), &toks)
		if !slices.ContainsFunc(toks, func(k patchwave.APIToken) bool { return k.ID == tok.ID && k.Token == "" && !k.Revoked }) {
			t.Errorf("list %+v lacks token %d", toks, tok.ID)
		}
		// The token works on its own, through the environment...
		script := newTestEnv(t, map[string]string{envServer: url, envToken: tok.Token})
		script.ok(t, "", "hosts", "list")
		admin.ok(t, "", "tokens", "revoke", strconv.FormatInt(tok.ID, 10))
		// ...and is refused once revoked.
		script.fails(t, "", "patchwave login", "hosts", "list")
		decode(t, admin.ok(t, "", "tokens", "list", "-o", "json"), &toks)
		if !slices.ContainsFunc(toks, func(k patchwave.APIToken) bool { return k.ID == tok.ID && k.Revoked }) {
			t.Errorf("list %+v does not show token %d revoked", toks, tok.ID)
		}
		if table := admin.ok(t, "", "tokens", "list"); !strings.Contains(table, "revoked") {
			t.Errorf("table:\n%s", table)
		}
	})

	t.Run("users and roles", func(t *testing.T) {
		var u patchwave.User
		decode(t, admin.ok(t, "viewer-password\n", "users", "create", "--name", "vera", "--role", "viewer", "--password-stdin", "-o", "json"), &u)
		if u.Name != "vera" || u.Role != patchwave.RoleViewer {
			t.Errorf("created %+v", u)
		}
		admin.ok(t, "site-password\n", "users", "create", "--name", "sam", "--role", "site-admin", "--sites", "paris", "--password-stdin")
		admin.fails(t, "short\n", "password", "users", "create", "--name", "tim", "--role", "viewer", "--password-stdin")
		var users []patchwave.User
		decode(t, admin.ok(t, "", "users", "list", "-o", "json"), &users)
		var names []string
		for _, u := range users {
			names = append(names, u.Name)
		}
		slices.Sort(names)
		if !slices.Equal(names, []string{"admin", "sam", "vera"}) {
			t.Errorf("users %v", names)
		}

		viewer := newTestEnv(t, nil)
		viewer.login(t, url, "vera", "viewer-password")
		viewer.ok(t, "", "hosts", "list")
		viewer.fails(t, "", "viewer may not change", "hosts", "set", "web-01", "--tier", "lab")
		viewer.fails(t, "another-password\n", "only admins", "users", "create", "--name", "x", "--role", "admin", "--password-stdin")

		// A site admin changes the hosts of its sites only.
		site := newTestEnv(t, nil)
		site.login(t, url, "sam", "site-password")
		site.ok(t, "", "hosts", "set", "db-01", "--owner", "sam")
		site.fails(t, "", "you manage only paris", "hosts", "set", "web-01", "--owner", "sam")

		// Environment variables win over the saved login: the admin's
		// saved login, with the viewer's token in the environment, acts as
		// the viewer.
		var vsaved savedLogin
		b, _ := os.ReadFile(filepath.Join(viewer.configDir, "patchwave", "config.json"))
		decode(t, string(b), &vsaved)
		admin.vars = map[string]string{envServer: url, envToken: vsaved.Token}
		admin.fails(t, "", "viewer may not change", "hosts", "set", "web-01", "--tier", "lab")
		admin.vars = map[string]string{envServer: "http://127.0.0.1:1", envToken: "pwt_nothing"}
		admin.fails(t, "", "127.0.0.1:1", "hosts", "list")
		admin.vars = map[string]string{}

		// Disabling and changing users.
		decode(t, admin.ok(t, "", "users", "set", "vera", "--disabled", "-o", "json"), &u)
		if !u.Disabled {
			t.Errorf("after --disabled: %+v", u)
		}
		newTestEnv(t, nil).fails(t, "viewer-password\n", "wrong user name or password", "login", "--server", url, "--user", "vera", "--password-stdin")
		admin.ok(t, "new-password\n", "users", "set", "vera", "--disabled=false", "--role", "operator", "--password-stdin")
		operator := newTestEnv(t, nil)
		operator.login(t, url, "vera", "new-password")
		operator.ok(t, "", "hosts", "set", "web-01", "--owner", "vera")
		if table := admin.ok(t, "", "users", "list"); !strings.Contains(table, "operator") || !strings.Contains(table, "ROLE") {
			t.Errorf("users list:\n%s", table)
		}
	})

	t.Run("audit", func(t *testing.T) {
		var events []patchwave.AuditEvent
		decode(t, admin.ok(t, "", "audit", "-o", "json"), &events)
		actions := map[string]bool{}
		for _, e := range events {
			actions[e.Action] = true
		}
		for _, want := range []string{"user.login", "host.import", "host.update", "token.revoke", "user.create", "enroll_token.create"} {
			if !actions[want] {
				t.Errorf("audit lacks %s: %v", want, actions)
			}
		}
		decode(t, admin.ok(t, "", "audit", "--limit", "2", "-o", "json"), &events)
		if len(events) != 2 {
			t.Fatalf("--limit 2: %d events", len(events))
		}
		var older []patchwave.AuditEvent
		decode(t, admin.ok(t, "", "audit", "--limit", "2", "--before", strconv.FormatInt(events[1].ID, 10), "-o", "json"), &older)
		if len(older) == 0 || older[0].ID >= events[1].ID {
			t.Errorf("--before %d: %+v", events[1].ID, older)
		}
		if table := admin.ok(t, "", "audit"); !strings.Contains(table, "ACTION") || !strings.Contains(table, "host.update") {
			t.Errorf("audit table:\n%s", table)
		}
	})

	t.Run("hosts revoke and delete", func(t *testing.T) {
		var h patchwave.Host
		r := admin.run(t, "", "hosts", "revoke", "db-01", "-o", "json")
		if r.code == 0 {
			decode(t, r.stdout, &h)
			if !h.Revoked {
				t.Errorf("after revoke: %+v", h)
			}
		} else if r.code != 1 {
			t.Errorf("revoke of an imported host: exit %d, %s", r.code, r.stderr)
		}
		if out := admin.ok(t, "", "hosts", "delete", "db-01"); !strings.Contains(out, "Deleted host db-01") {
			t.Errorf("delete printed %q", out)
		}
		admin.fails(t, "", "not found", "hosts", "show", "db-01")
		admin.fails(t, "", "not found", "hosts", "delete", "db-01")
	})

	t.Run("logout", func(t *testing.T) {
		token := saved.Token
		if out := admin.ok(t, "", "logout"); !strings.Contains(out, "token was revoked") {
			t.Errorf("logout printed %q", out)
		}
		if _, err := os.Stat(cfgPath); !os.IsNotExist(err) {
			t.Errorf("config still there: %v", err)
		}
		admin.fails(t, "", "not logged in", "hosts", "list")
		stolen := newTestEnv(t, map[string]string{envServer: url, envToken: token})
		stolen.fails(t, "", "patchwave login", "hosts", "list")
	})
}

// TestLoginWithMain logs in through Main, with the user's configuration
// directory in a temporary HOME.
func TestLoginWithMain(t *testing.T) {
	url := startServer(t)
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv(envServer, "")
	t.Setenv(envToken, "")
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), []string{"login", "--server", url + "/", "--user", "admin", "--password-stdin"},
		strings.NewReader(adminPassword+"\n"), &stdout, &stderr)
	if code != 0 {
		t.Fatalf("login: exit %d: %s", code, stderr.String())
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "patchwave", "config.json")
	if !strings.HasPrefix(path, home) {
		t.Fatalf("config dir %s is outside the test's HOME", path)
	}
	checkMode(t, path, 0o600)
	stdout.Reset()
	code = Main(context.Background(), []string{"hosts", "list", "-o", "json"}, strings.NewReader(""), &stdout, &stderr)
	if code != 0 || strings.TrimSpace(stdout.String()) != "[]" {
		t.Errorf("hosts list: exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
}
