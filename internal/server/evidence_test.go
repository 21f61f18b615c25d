package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/evidence"
	"github.com/patchwave/patchwave/internal/store"
)

// TestEvidenceBundle exports the evidence of the release the audit walk
// rolled out (approved, promoted, halted, aborted) and checks it offline
// with the published key: every part is there with the content of the
// release, the export is audited, and a changed byte fails.
func TestEvidenceBundle(t *testing.T) {
	t.Parallel()
	w := walkMutations(t)
	ctx := context.Background()
	c := w.ts.Admin
	b, err := c.ExportEvidence(ctx, w.release)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := c.EvidenceKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := evidence.ParsePublicKey(ks)
	if err != nil {
		t.Fatal(err)
	}
	m, files, err := evidence.Verify(bytes.NewReader(b), pub)
	if err != nil {
		t.Fatal(err)
	}
	if m.Release != w.release || m.CreatedBy != "admin" || m.PublicKey != ks {
		t.Errorf("manifest %+v", m)
	}
	got := map[string]string{}
	for _, f := range files {
		got[f.Name] = string(f.Data)
	}
	for name, want := range map[string]string{
		"release.json":        `"content_hash"`,
		"patch-sets.json":     `libssl3`,
		"hosts.json":          `lab-01`,
		"approvals.json":      `"reason": "lab ok"`,
		"events/wave-0.json":  `"kind"`,
		"events/rollout.json": `enough`, // the abort's reason
		"tasks.json":          `"kind": "install"`,
		"exceptions.json":     `zlib waits for the lab`,
		"audit.json":          `rollout.promote`,
		"compliance.json":     `"kind": "release"`,
	} {
		if !strings.Contains(got[name], want) {
			t.Errorf("%s lacks %q:\n%.400s", name, want, got[name])
		}
	}
	if strings.Contains(got["exceptions.json"], "zlib waits for the shop") {
		t.Error("a rejected exception is listed as in force")
	}
	var tasks []patchwave.Task
	if err := json.Unmarshal([]byte(got["tasks.json"]), &tasks); err != nil || len(tasks) == 0 {
		t.Errorf("tasks.json: %d tasks, %v", len(tasks), err)
	}
	evs, _ := w.ts.Store().ListAudit(ctx, 0, 1)
	if len(evs) != 1 || evs[0].Action != "evidence.export" || !strings.Contains(evs[0].Detail, `"sha256"`) {
		t.Errorf("last audit event %+v", evs)
	}

	// A byte changed anywhere in the compressed archive is caught.
	bad := bytes.Clone(b)
	bad[len(bad)/2] ^= 0x40
	if _, _, err := evidence.Verify(bytes.NewReader(bad), pub); err == nil {
		t.Error("a flipped byte verified")
	}

	// A patch set changed in the database after the freeze: no bundle.
	if err := w.ts.Store().Write(ctx, func(tx *store.Tx) error {
		return tx.ExecForTest(`UPDATE release_patch_sets SET patches = '[]'`)
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ExportEvidence(ctx, w.release); err == nil {
		t.Error("exported a release whose frozen patch set changed")
	}
	for _, tc := range []struct {
		path   string
		status int
	}{
		{"/api/v1/releases/nope/evidence", 404},
		{"/api/v1/releases/" + url.PathEscape("../../etc") + "/evidence", 404},
	} {
		if st, _, body := call(t, "POST", w.ts.URL+tc.path, w.token, "", nil); st != tc.status {
			t.Errorf("POST %s: %d %s", tc.path, st, body)
		}
	}
}
