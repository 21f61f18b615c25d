package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/client"
	"github.com/patchwave/patchwave/internal/store"
)

// TestAuditVerifyAndExportRoutes: the verification route proves an intact
// trail and points at a damaged one's first broken link; the export
// streams a date range in each format; bad parameters and viewers are
// refused.
func TestAuditVerifyAndExportRoutes(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, ts *testServer) {
		ctx := context.Background()
		tok := login(t, ts.URL, "admin", adminPassword)
		if _, err := ts.Admin.CreateUser(ctx, client.NewUser{Name: "vi", Password: "viewer-password", Role: patchwave.RoleViewer}); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			if _, err := ts.Admin.CreateUser(ctx, client.NewUser{Name: fmt.Sprint("u", i), Password: "long enough pw", Role: patchwave.RoleViewer}); err != nil {
				t.Fatal(err)
			}
		}
		var v store.AuditVerification
		if err := ts.Admin.Do(ctx, "GET", "/api/v1/audit/verify", nil, nil, &v); err != nil || !v.OK || v.Events < 4 {
			t.Fatalf("intact trail: %+v %v", v, err)
		}
		head := v

		st, _, b := call(t, "GET", ts.URL+"/api/v1/audit/export?format=jsonl&from=2000-01-01", tok, "", nil)
		lines := 0
		for sc := bufio.NewScanner(bytes.NewReader(b)); sc.Scan(); lines++ {
			var e patchwave.AuditEvent
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.Hash == "" {
				t.Fatalf("line %d: %v %s", lines, err, sc.Bytes())
			}
		}
		if st != 200 || int64(lines) != v.Events {
			t.Errorf("jsonl: %d, %d lines, want %d", st, lines, v.Events)
		}
		st, _, b = call(t, "GET", ts.URL+"/api/v1/audit/export?format=csv", tok, "", nil)
		rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
		if st != 200 || err != nil || int64(len(rows)) != v.Events+1 || rows[0][6] != "hash" {
			t.Errorf("csv: %d %v %d rows", st, err, len(rows))
		}
		var list struct{ Events []patchwave.AuditEvent }
		if err := ts.Admin.Do(ctx, "GET", "/api/v1/audit/export", nil, nil, &list); err != nil || int64(len(list.Events)) != v.Events {
			t.Errorf("json: %d events, %v", len(list.Events), err)
		}
		st, _, b = call(t, "GET", ts.URL+"/api/v1/audit/export?from=2000-01-01&to=2000-01-02", tok, "", nil)
		if st != 200 || !strings.Contains(string(b), `{"events":[]}`) {
			t.Errorf("empty range: %d %s", st, b)
		}

		for _, c := range []struct {
			path   string
			status int
			msg    string
		}{
			{"/api/v1/audit/export?from=yesterday", 400, `from "yesterday" is not a date`},
			{"/api/v1/audit/export?from=2026-11-02&to=2026-11-01", 400, "is not after"},
			{"/api/v1/audit/export?to=" + strings.Repeat("1", 10000), 400, "bytes long"},
			{"/api/v1/audit/export?format=xml", 400, `format "xml" is not json, jsonl or csv`},
			{"/api/v1/audit/export?limit=5", 400, `unknown query parameter "limit"`},
			{"/api/v1/audit/verify?head_id=3", 400, "go together"},
			{"/api/v1/audit/verify?head_id=3&head=%3Cscript%3E", 400, "not a SHA-256 hash"},
			{"/api/v1/audit/verify?head_id=-1&head=" + strings.Repeat("a", 64), 400, "head_id"},
		} {
			st, _, b := call(t, "GET", ts.URL+c.path, tok, "", nil)
			if st != c.status || !strings.Contains(string(b), c.msg) {
				t.Errorf("GET %.80s: %d %s; want %d with %q", c.path, st, b, c.status, c.msg)
			}
		}
		vt := login(t, ts.URL, "vi", "viewer-password")
		for _, p := range []string{"/api/v1/audit/verify", "/api/v1/audit/export"} {
			if st, _, _ := call(t, "GET", ts.URL+p, vt, "", nil); st != 403 {
				t.Errorf("viewer GET %s: %d", p, st)
			}
		}

		// Damage the trail behind the server's back.
		if err := ts.Store().Write(ctx, func(tx *store.Tx) error {
			return tx.ExecForTest(`UPDATE audit_events SET actor = 'mallory' WHERE id = 2`)
		}); err != nil {
			t.Fatal(err)
		}
		if err := ts.Admin.Do(ctx, "GET", "/api/v1/audit/verify", nil, nil, &v); err != nil || v.OK || v.FirstBroken != 2 {
			t.Errorf("edited trail: %+v %v", v, err)
		}
		q := map[string][]string{"head_id": {fmt.Sprint(head.HeadID)}, "head": {head.Head}}
		if err := ts.Admin.Do(ctx, "GET", "/api/v1/audit/verify", q, nil, &v); err != nil || v.OK || v.FirstBroken != 2 {
			t.Errorf("edited trail, with head: %+v %v", v, err)
		}
	})
}
