package cli

import (
	"context"
	"encoding/csv"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patchwave/patchwave/internal/server"
	"github.com/patchwave/patchwave/internal/store"
)

// TestAuditVerifyCommand verifies a real server's trail, exports it, then
// edits a row of its SQLite file directly and sees verify fail at that
// event, and with the earlier head too.
func TestAuditVerifyCommand(t *testing.T) {
	dir := t.TempDir()
	srv, err := server.New(t.Context(), server.Config{DataDir: dir, AdminPassword: adminPassword, Listen: "127.0.0.1:0"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	te := newTestEnv(t, nil)
	te.login(t, hs.URL, "admin", adminPassword)
	te.ok(t, "long enough pw\n", "users", "create", "--name", "bob", "--role", "viewer", "--password-stdin")
	te.ok(t, "long enough pw\n", "users", "create", "--name", "carol", "--role", "viewer", "--password-stdin")

	out := te.ok(t, "", "audit", "verify")
	if !strings.Contains(out, "Audit trail intact") {
		t.Fatalf("verify: %s", out)
	}
	head := strings.TrimSpace(out[strings.Index(out, "Head: ")+len("Head: "):])

	file := filepath.Join(t.TempDir(), "audit.csv")
	te.ok(t, "", "audit", "export", "--from", "2000-01-01", "-o", file)
	f, _ := os.Open(file)
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(rows) < 3 || rows[0][0] != "id" {
		t.Errorf("export: %d rows %v", len(rows), err)
	}
	if out := te.ok(t, "", "audit", "export"); !strings.Contains(out, `"action":"user.create"`) {
		t.Errorf("jsonl export: %s", out)
	}

	st, err := store.Open(context.Background(), filepath.Join(dir, "patchwave.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Write(context.Background(), func(tx *store.Tx) error {
		return tx.ExecForTest(`UPDATE audit_events SET object = 'user:mallory' WHERE id = 2`)
	}); err != nil {
		t.Fatal(err)
	}
	te.fails(t, "", "audit trail broken at event 2: event 2 does not match its hash", "audit", "verify")
	te.fails(t, "", "broken at event 2", "audit", "verify", "--head", head)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"audit", "verify", "--head", "12"}, "is not ID:HASH"},
		{[]string{"audit", "verify", "--head", "x:" + strings.Repeat("a", 64)}, "is not ID:HASH"},
		{[]string{"audit", "export", "--from", "tomorrow"}, `from "tomorrow" is not a date`},
		{[]string{"audit", "export", "--format", "xml"}, `"xml" is not jsonl or csv`},
	} {
		if r := te.run(t, "", c.args...); r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: exit %d %q; want 2 with %q", c.args, r.code, r.stderr, c.want)
		}
	}
}
