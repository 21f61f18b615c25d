package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// result is what one run of the command line produced.
type result struct {
	code           int
	stdout, stderr string
}

// testEnv is an environment with only vars set and its own configuration
// directory.
type testEnv struct {
	vars      map[string]string
	configDir string
}

func newTestEnv(t *testing.T, vars map[string]string) *testEnv {
	if vars == nil {
		vars = map[string]string{}
	}
	return &testEnv{vars: vars, configDir: t.TempDir()}
}

// run runs the command line with stdin and returns what it produced.
func (te *testEnv) run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	e := env{
		stdin:     strings.NewReader(stdin),
		stdout:    &stdout,
		stderr:    &stderr,
		getenv:    func(k string) string { return te.vars[k] },
		configDir: func() (string, error) { return te.configDir, nil },
	}
	code := run(context.Background(), e, args)
	return result{code, stdout.String(), stderr.String()}
}

// verbFlagsWanted lists every verb with the flags its help must show.
var verbFlagsWanted = map[string][]string{
	"login":                    {"--server", "--user", "--password-stdin"},
	"logout":                   {},
	"hosts list":               {"--site", "--tier", "--tag", "--os", "--stale", "--eol", "--search", "--limit", "--all", "-o"},
	"hosts show":               {"-o"},
	"hosts set":                {"--site", "--tier", "--owner", "--tags", "--high-exposure", "-o"},
	"hosts import":             {"-o"},
	"hosts revoke":             {"-o"},
	"hosts delete":             {},
	"enroll-tokens create":     {"--site", "--tier", "--tags", "--max-uses", "--expires", "-o"},
	"enroll-tokens list":       {"-o"},
	"enroll-tokens revoke":     {},
	"tokens create":            {"--name", "--expires", "-o"},
	"tokens list":              {"-o"},
	"tokens revoke":            {},
	"users create":             {"--name", "--role", "--sites", "--password-stdin", "-o"},
	"users list":               {"-o"},
	"users set":                {"--role", "--sites", "--disabled", "--password-stdin", "-o"},
	"audit":                    {"--limit", "--before", "-o"},
	"version":                  {"-o"},
	"assess":                   {"--root", "--inventory", "--advisories", "--os", "--pro", "--no-cache", "--cache-dir", "-o"},
	"feeds status":             {"-o"},
	"feeds add":                {"--kind", "--url", "--interval"},
	"feeds sync":               {},
	"feeds import":             {"--feed", "--kind"},
	"feeds delete":             {},
	"findings list":            {"--host", "--site", "--tier", "--severity", "--kev", "--cve", "--advisory", "--package", "--has-fix", "--state", "--sla", "--excepted", "--by-risk", "--limit", "--all", "-o"},
	"findings advisory":        {"-o"},
	"compliance":               {"--host", "--site", "--tier", "-o"},
	"sla show":                 {"-o"},
	"sla set":                  {},
	"baselines list":           {"-o"},
	"baselines show":           {},
	"baselines apply":          {},
	"baselines preview":        {"-o"},
	"baselines delete":         {},
	"exceptions create":        {"--kind", "--host", "--site", "--selector", "--package", "--cve", "--advisory", "--cycle", "--justification", "--control", "--expires", "--review", "-o"},
	"exceptions list":          {"--state", "--kind", "--site", "--host", "-o"},
	"exceptions show":          {"-o"},
	"exceptions approve":       {"--comment"},
	"exceptions reject":        {"--comment"},
	"exceptions revoke":        {"--comment"},
	"tier-rules list":          {"-o"},
	"tier-rules add":           {"--tier", "--high-exposure", "--description"},
	"tier-rules delete":        {},
	"service-baselines list":   {"-o"},
	"service-baselines add":    {"--selector", "--expected"},
	"service-baselines delete": {},
	"cycles list":              {"--count", "--from", "--to", "-o"},
	"windows add":              {"--rrule", "--start", "--time-zone", "--duration", "--cut-off", "--selector", "--blocking", "-o"},
	"windows list":             {"-o"},
	"windows delete":           {},
	"windows next":             {"--count", "-o"},
	"waves list":               {"-o"},
	"waves set":                {"-o"},
	"releases create":          {"--name", "--cycle", "--out-of-band", "--not-compressed", "--released-at", "--allow-no-window", "--reason", "--cve", "--advisory", "--package", "-o"},
	"releases list":            {"--active", "-o"},
	"releases show":            {"-o"},
	"releases patches":         {"-o"},
	"plan":                     {"--host", "--wave", "--limit", "-o"},
	"rollouts list":            {"-o"},
	"rollouts show":            {"-o"},
	"rollouts pause":           {"--reason", "-o"},
	"rollouts resume":          {"--reason", "--retry-failed", "-o"},
	"rollouts halt":            {"--reason", "-o"},
	"rollouts abort":           {"--reason", "-o"},
	"rollouts promote":         {"--wave", "--reason", "-o"},
	"rollouts retry":           {"--host"},
	"rollouts explain":         {"--host", "-o"},
	"rollouts tasks":           {"--wave", "--state", "--host", "--all", "-o"},
	"rollouts events":          {"--host", "--limit", "-o"},
	"approvals list":           {"-o"},
	"approvals approve":        {"--wave", "--stage", "--reason", "-o"},
	"approvals reject":         {"--wave", "--stage", "--reason", "-o"},
}

func TestVerbHelp(t *testing.T) {
	for verb, flags := range verbFlagsWanted {
		for _, help := range []string{"--help", "-h"} {
			t.Run(verb+" "+help, func(t *testing.T) {
				te := newTestEnv(t, nil)
				r := te.run(t, "", append(strings.Fields(verb), help)...)
				if r.code != 0 || r.stderr != "" {
					t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
				}
				for _, want := range append([]string{"Usage:\n  patchwave " + verb, "Flags:", "-h, --help", "Example:\n"}, flags...) {
					if !strings.Contains(r.stdout, want) {
						t.Errorf("help lacks %q:\n%s", want, r.stdout)
					}
				}
				if _, ex, _ := strings.Cut(r.stdout, "Example:\n"); !strings.Contains(ex, "patchwave "+verb) {
					t.Errorf("example does not run patchwave %s:\n%s", verb, ex)
				}
			})
		}
	}
	// "help VERB" shows the same text.
	te := newTestEnv(t, nil)
	a, b := te.run(t, "", "help", "hosts", "list"), te.run(t, "", "hosts", "list", "--help")
	if a.code != 0 || a.stdout != b.stdout {
		t.Errorf("help hosts list: exit %d\n%s\nwant\n%s", a.code, a.stdout, b.stdout)
	}
}

func TestUsage(t *testing.T) {
	nouns := []string{"login", "logout", "hosts", "enroll-tokens", "tokens", "users", "audit", "feeds", "findings", "assess", "server", "agent", "bench", "version", "help"}
	tests := []struct {
		args     []string
		code     int
		stdout   []string // substrings
		stderr   []string
		noStdout bool
	}{
		{args: nil, code: 2, stderr: append([]string{"patchwave: no command given", "Commands:"}, nouns...), noStdout: true},
		{args: []string{"help"}, code: 0, stdout: nouns},
		{args: []string{"--help"}, code: 0, stdout: nouns},
		{args: []string{"-h"}, code: 0, stdout: []string{"Commands:"}},
		{args: []string{"frobnicate"}, code: 2, stderr: []string{`patchwave: unknown command "frobnicate"`, "Commands:"}, noStdout: true},
		{args: []string{"--frob"}, code: 2, stderr: []string{"unknown flag --frob"}, noStdout: true},
		{args: []string{"help", "frobnicate"}, code: 2, stderr: []string{`unknown command "frobnicate"`}},
		{args: []string{"hosts"}, code: 2, stderr: []string{"hosts: no verb given", "Verbs:", "list", "import"}, noStdout: true},
		{args: []string{"hosts", "--help"}, code: 0, stdout: []string{"Verbs:", "list", "show", "set", "import", "revoke", "delete"}},
		{args: []string{"hosts", "help"}, code: 0, stdout: []string{"Verbs:"}},
		{args: []string{"hosts", "help", "set"}, code: 0, stdout: []string{"patchwave hosts set [flags] HOST"}},
		{args: []string{"enroll-tokens", "--help"}, code: 0, stdout: []string{"create", "list", "revoke"}},
		{args: []string{"users", "-h"}, code: 0, stdout: []string{"create", "list", "set"}},
		{args: []string{"hosts", "frob"}, code: 2, stderr: []string{`hosts: unknown verb "frob"`, "Verbs:"}},
		{args: []string{"hosts", "list", "--frob"}, code: 2, stderr: []string{"patchwave: hosts list: unknown flag --frob", "Usage:\n  patchwave hosts list"}, noStdout: true},
		{args: []string{"hosts", "list", "-o", "yaml"}, code: 2, stderr: []string{`invalid value "yaml" for flag -o: unknown output format "yaml"`}},
		{args: []string{"hosts", "list", "-x"}, code: 2, stderr: []string{"unknown flag -x"}},
		{args: []string{"hosts", "list", "--tier", "gold"}, code: 2, stderr: []string{`unknown tier "gold"`}},
		{args: []string{"hosts", "list", "--limit", "-3"}, code: 2, stderr: []string{"--limit must not be negative"}},
		{args: []string{"hosts", "list", "extra"}, code: 2, stderr: []string{`unexpected argument "extra"`}},
		{args: []string{"hosts", "show"}, code: 2, stderr: []string{"hosts show: missing HOST"}},
		{args: []string{"hosts", "show", "a", "b"}, code: 2, stderr: []string{`unexpected argument "b"`}},
		// Flags may follow the arguments.
		{args: []string{"hosts", "show", "web-01", "-o", "xml"}, code: 2, stderr: []string{`unknown output format "xml"`}},
		{args: []string{"hosts", "set", "web-01"}, code: 2, stderr: []string{"nothing to change"}},
		{args: []string{"hosts", "set", "web-01", "--tags", "a b"}, code: 2, stderr: []string{"contains a space or comma"}},
		{args: []string{"hosts", "import"}, code: 2, stderr: []string{"missing FILE.csv"}},
		{args: []string{"enroll-tokens", "create", "--expires", "soon"}, code: 2, stderr: []string{"not a duration"}},
		{args: []string{"enroll-tokens", "create", "--max-uses", "-1"}, code: 2, stderr: []string{"--max-uses must not be negative"}},
		{args: []string{"enroll-tokens", "revoke", "abc"}, code: 2, stderr: []string{`"abc" is not an id`}},
		{args: []string{"tokens", "revoke", "0"}, code: 2, stderr: []string{`"0" is not an id`}},
		{args: []string{"tokens", "create"}, code: 2, stderr: []string{"--name is required"}},
		{args: []string{"tokens", "create", "--name", "x", "--expires", "-5h"}, code: 2, stderr: []string{"not positive"}},
		{args: []string{"users", "create", "--name", "bob"}, code: 2, stderr: []string{"--role is required"}},
		{args: []string{"users", "create", "--name", "bob", "--role", "king"}, code: 2, stderr: []string{`unknown role "king"`}},
		{args: []string{"users", "set", "bob"}, code: 2, stderr: []string{"nothing to change"}},
		{args: []string{"audit", "--limit", "x"}, code: 2, stderr: []string{`invalid value "x" for flag --limit: `}},
		{args: []string{"login"}, code: 2, stderr: []string{"no server: give --server URL"}},
		{args: []string{"login", "--server", "http://x"}, code: 2, stderr: []string{"no user: give --user NAME"}},
		{args: []string{"login", "--server", "ftp://x", "--user", "u", "--password-stdin"}, code: 1, stderr: []string{"is not a URL"}},
		{args: []string{"login", "--server", "http://x", "--user", "u"}, code: 1, stderr: []string{"no password: use --password-stdin"}},
		{args: []string{"version"}, code: 0, stdout: []string{"patchwave "}},
		{args: []string{"--version"}, code: 0, stdout: []string{"patchwave "}},
		// The commands that run Patchwave itself: only their usage here, so
		// that nothing is started.
		{args: []string{"server", "--help"}, code: 0, stdout: []string{"Usage:\n  patchwave server"}},
		{args: []string{"agent", "--help"}, code: 0, stdout: []string{"Usage:\n  patchwave agent"}},
		{args: []string{"bench", "--help"}, code: 0, stdout: []string{"Usage:\n  patchwave bench"}},
		{args: []string{"server", "--frob"}, code: 2, stderr: []string{"unknown flag --frob"}, noStdout: true},
		{args: []string{"help", "server"}, code: 0, stdout: []string{"Usage:\n  patchwave server"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := newTestEnv(t, nil).run(t, "", tt.args...)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tt.code, r.stdout, r.stderr)
			}
			for _, s := range tt.stdout {
				if !strings.Contains(r.stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, r.stdout)
				}
			}
			for _, s := range tt.stderr {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, r.stderr)
				}
			}
			if tt.noStdout && r.stdout != "" {
				t.Errorf("stdout not empty: %s", r.stdout)
			}
			if tt.code == 0 && r.stderr != "" {
				t.Errorf("stderr not empty on success: %s", r.stderr)
			}
		})
	}
}

func TestNotLoggedIn(t *testing.T) {
	for _, args := range [][]string{
		{"hosts", "list"}, {"hosts", "show", "x"}, {"hosts", "set", "x", "--tier", "lab"}, {"hosts", "import", "-"},
		{"hosts", "revoke", "x"}, {"hosts", "delete", "x"}, {"enroll-tokens", "create"}, {"enroll-tokens", "list"},
		{"enroll-tokens", "revoke", "1"}, {"tokens", "create", "--name", "x"}, {"tokens", "list"}, {"tokens", "revoke", "1"},
		{"users", "create", "--name", "x", "--role", "viewer", "--password-stdin"}, {"users", "list"},
		{"users", "set", "x", "--disabled"}, {"audit"},
	} {
		r := newTestEnv(t, nil).run(t, "pw\n", args...)
		want := "patchwave: not logged in: run patchwave login or set PATCHWAVE_SERVER and PATCHWAVE_TOKEN\n"
		if r.code != 1 || r.stderr != want {
			t.Errorf("%q: exit %d, stderr %q; want 1, %q", args, r.code, r.stderr, want)
		}
	}
}

func TestConnection(t *testing.T) {
	saved := savedLogin{Server: "https://saved.example", Token: "saved-token", User: "alice"}
	tests := []struct {
		name               string
		vars               map[string]string
		save               bool
		server, token, err string
	}{
		{name: "nothing", err: "not logged in"},
		{name: "saved", save: true, server: "https://saved.example", token: "saved-token"},
		{name: "env only", vars: map[string]string{envServer: "http://env", envToken: "env-token"}, server: "http://env", token: "env-token"},
		{name: "env over saved", save: true, vars: map[string]string{envServer: "http://env", envToken: "env-token"}, server: "http://env", token: "env-token"},
		{name: "env token, saved server", save: true, vars: map[string]string{envToken: "env-token"}, server: "https://saved.example", token: "env-token"},
		{name: "env token alone", vars: map[string]string{envToken: "env-token"}, err: "not logged in"},
		{name: "env server alone", vars: map[string]string{envServer: "http://env"}, err: "not logged in"},
		// The saved token is never sent to another server.
		{name: "env server differs from saved", save: true, vars: map[string]string{envServer: "http://other"}, err: "not logged in"},
		{name: "env server same as saved", save: true, vars: map[string]string{envServer: "https://saved.example/"}, server: "https://saved.example/", token: "saved-token"},
		{name: "bad URL", vars: map[string]string{envServer: "saved.example", envToken: "t"}, err: "is not a URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			te := newTestEnv(t, tt.vars)
			e := env{getenv: func(k string) string { return te.vars[k] }, configDir: func() (string, error) { return te.configDir, nil }}
			if tt.save {
				if _, err := e.saveLogin(saved); err != nil {
					t.Fatal(err)
				}
			}
			server, token, err := e.connection()
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || server != tt.server || token != tt.token {
				t.Errorf("connection() = %q, %q, %v; want %q, %q", server, token, err, tt.server, tt.token)
			}
		})
	}
}

func TestSaveLogin(t *testing.T) {
	dir := t.TempDir()
	e := env{configDir: func() (string, error) { return dir, nil }}
	// A directory left with loose permissions is tightened.
	if err := os.Mkdir(filepath.Join(dir, "patchwave"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{"first", "second"} {
		path, err := e.saveLogin(savedLogin{Server: "http://s", Token: tok, User: "u"})
		if err != nil {
			t.Fatal(err)
		}
		if path != filepath.Join(dir, "patchwave", "config.json") {
			t.Errorf("saved in %s", path)
		}
		checkMode(t, path, 0o600)
		checkMode(t, filepath.Dir(path), 0o700)
		l, ok, err := e.loadLogin()
		if err != nil || !ok || l.Token != tok {
			t.Errorf("loadLogin = %+v, %v, %v", l, ok, err)
		}
		b, _ := os.ReadFile(path)
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil || m["server"] != "http://s" || m["token"] != tok || m["user"] != "u" {
			t.Errorf("file %s: %v", b, err)
		}
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "patchwave"))
	if len(entries) != 1 {
		t.Errorf("left behind: %v", entries)
	}
	if ok, err := e.removeLogin(); !ok || err != nil {
		t.Errorf("removeLogin = %v, %v", ok, err)
	}
	if _, ok, _ := e.loadLogin(); ok {
		t.Error("login still there after removeLogin")
	}
}

func checkMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s has mode %o, want %o", path, got, want)
	}
}

func TestLogoutWithoutLogin(t *testing.T) {
	r := newTestEnv(t, nil).run(t, "", "logout")
	if r.code != 0 || !strings.Contains(r.stdout, "Not logged in") {
		t.Errorf("logout: %+v", r)
	}
}

func TestMainUsesUserConfigDir(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	t.Setenv("HOME", dir)
	t.Setenv(envServer, "")
	t.Setenv(envToken, "")
	var stdout, stderr bytes.Buffer
	e := env{getenv: os.Getenv, configDir: os.UserConfigDir}
	if _, err := e.saveLogin(savedLogin{Server: "http://127.0.0.1:1", Token: "t", User: "u"}); err != nil {
		t.Fatal(err)
	}
	cfg, _ := os.UserConfigDir()
	if _, err := os.Stat(filepath.Join(cfg, "patchwave", "config.json")); err != nil {
		t.Fatal(err)
	}
	// Main finds the saved login: the error is about the unreachable
	// server, not about being logged out.
	code := Main(context.Background(), []string{"hosts", "list"}, strings.NewReader(""), &stdout, &stderr)
	if code != 1 || strings.Contains(stderr.String(), "not logged in") || !strings.Contains(stderr.String(), "127.0.0.1:1") {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
}

func TestCell(t *testing.T) {
	for in, want := range map[string]string{
		"plain":           "plain",
		"tab\there":       "tab?here",
		"new\nline":       "new?line",
		"\x1b[31mred":     "?[31mred",
		"caf\u00e9":       "caf\u00e9",
		"bad\xffutf8":     "bad?utf8",
		"\u0085next-line": "?next-line",
	} {
		if got := cell(in); got != want {
			t.Errorf("cell(%q) = %q, want %q", in, got, want)
		}
	}
}
