package main_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patchwave/patchwave/internal/store"
)

// TestBackupRestore backs up a running server's database, restores it
// into a new data directory, and starts a server there that has the same
// data; bad backups are refused before anything is touched.
func TestBackupRestore(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := build(t)
	dirA, dirB := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	cli := func(home string) func(wantOK bool, args ...string) string {
		env := append(os.Environ(), "XDG_CONFIG_HOME="+home, "HOME="+home, "PATCHWAVE_SERVER=", "PATCHWAVE_TOKEN=", "PATCHWAVE_DATABASE=")
		return func(wantOK bool, args ...string) string {
			t.Helper()
			cmd := exec.Command(bin, args...)
			cmd.Env, cmd.Stdin = env, strings.NewReader("e2e-admin-password\n")
			out, err := cmd.CombinedOutput()
			if (err == nil) != wantOK {
				t.Fatalf("patchwave %s: err %v\n%s", strings.Join(args, " "), err, out)
			}
			return string(out)
		}
	}
	a := cli(t.TempDir())
	cfg := a(true, "server", "--print-config", "--database", "postgres://pw:s3cret-pass@db.example/pw", "--agent-wait", "10s")
	if strings.Contains(cfg, "s3cret-pass") || !strings.Contains(cfg, `"database": "postgres://pw:xxxxx@db.example/pw"`) || !strings.Contains(cfg, `"agent_wait": "10s"`) {
		t.Errorf("server --print-config:\n%s", cfg)
	}
	urlA := startServerArgs(t, bin, "--data-dir", dirA)
	a(true, "login", "--server", urlA, "--user", "admin", "--password-stdin")
	a(true, "enroll-tokens", "create", "--site", "lyon", "--tags", "restored")

	backup := filepath.Join(t.TempDir(), "pw.db")
	if out := a(true, "backup", "--data-dir", dirA, "-o", backup); !strings.Contains(out, "Backed up") {
		t.Errorf("backup: %s", out)
	}
	if out := a(false, "backup", "--data-dir", dirA, "-o", backup); !strings.Contains(out, "exists already") {
		t.Errorf("backup over a file: %s", out)
	}
	if out := a(false, "backup", "--data-dir", filepath.Join(t.TempDir(), "none"), "-o", backup+"2"); !strings.Contains(out, "no database in") {
		t.Errorf("backup of nothing: %s", out)
	}
	if out := a(false, "backup", "--database", "postgres://x@y/z", "-o", backup+"3"); !strings.Contains(out, "pg_dump") {
		t.Errorf("backup of PostgreSQL: %s", out)
	}

	// Bad backups change nothing.
	garbage := filepath.Join(t.TempDir(), "garbage.db")
	os.WriteFile(garbage, []byte("not a database at all, just text"), 0o600)
	if out := a(false, "restore", "--data-dir", dirB, garbage); !strings.Contains(out, "not a SQLite database") {
		t.Errorf("restore of garbage: %s", out)
	}
	other := filepath.Join(t.TempDir(), "other.db")
	st, err := store.Open(t.Context(), other) // a SQLite database, without Patchwave's schema
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if out := a(false, "restore", "--data-dir", dirB, other); !strings.Contains(out, "not a Patchwave database") {
		t.Errorf("restore of another database: %s", out)
	}
	if _, err := os.Stat(filepath.Join(dirB, "patchwave.db")); err == nil {
		t.Fatal("a refused restore left a database behind")
	}

	if out := a(true, "restore", "--data-dir", dirB, backup); !strings.Contains(out, "Restored") {
		t.Errorf("restore: %s", out)
	}
	if out := a(false, "restore", "--data-dir", dirB, backup); !strings.Contains(out, "--force") {
		t.Errorf("restore over a database: %s", out)
	}
	if out := a(true, "restore", "--force", "--data-dir", dirB, backup); !strings.Contains(out, "The previous database is") {
		t.Errorf("restore --force: %s", out)
	}
	if kept, _ := filepath.Glob(filepath.Join(dirB, "patchwave.db.before-restore-*")); len(kept) == 0 {
		t.Error("restore --force did not keep the previous database")
	}

	b := cli(t.TempDir())
	urlB := startServerArgs(t, bin, "--data-dir", dirB)
	b(true, "login", "--server", urlB, "--user", "admin", "--password-stdin")
	var toks []struct {
		Site string
		Tags []string
	}
	if err := json.Unmarshal([]byte(b(true, "enroll-tokens", "list", "-o", "json")), &toks); err != nil {
		t.Fatal(err)
	}
	if len(toks) != 1 || toks[0].Site != "lyon" {
		t.Errorf("tokens on the restored server: %+v", toks)
	}
}
