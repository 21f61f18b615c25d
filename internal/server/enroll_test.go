package server_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/client"
)

// TestEnrollAdoption pins who may take over an existing host by enrolling
// under its name: agentless hosts of the token's site (or of none), enrolled
// hosts only with a re-enroll token of their site, revoked hosts never.
func TestEnrollAdoption(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, ts *testServer) {
		ctx := context.Background()
		if _, err := ts.Admin.ImportHosts(ctx, strings.NewReader("hostname,site,owner\nfs-paris,paris,bob\nfs-berlin,berlin,carol\nfs-nosite,,dave\n")); err != nil {
			t.Fatal(err)
		}
		paris := enrollToken(t, ts.Admin, map[string]any{"site": "paris"})
		berlin := enrollToken(t, ts.Admin, map[string]any{"site": "berlin"})
		anySite := enrollToken(t, ts.Admin, map[string]any{})
		reParis := enrollToken(t, ts.Admin, map[string]any{"site": "paris", "allow_reenroll": true})
		reAny := enrollToken(t, ts.Admin, map[string]any{"allow_reenroll": true})
		if !reAny.AllowReenroll || anySite.AllowReenroll {
			t.Fatalf("allow_reenroll not kept: %+v %+v", reAny, anySite)
		}
		try := func(tok patchwave.EnrollToken, host string) (patchwave.EnrollResponse, error) {
			return client.New(ts.URL, "").Enroll(ctx, patchwave.EnrollRequest{Token: tok.Token,
				Facts: patchwave.Facts{Hostname: host, OS: patchwave.OS{ID: "debian", Version: "12"}}})
		}
		refused := func(name string, tok patchwave.EnrollToken, host, code, msg string) {
			t.Helper()
			before, _ := ts.Admin.Host(ctx, host)
			if _, err := try(tok, host); patchwave.ErrorCode(err) != code || !strings.Contains(err.Error(), msg) {
				t.Errorf("%s: %v; want %s with %q", name, err, code, msg)
			}
			after, _ := ts.Admin.Host(ctx, host)
			if before.Managed != after.Managed || before.Site != after.Site || before.Revoked != after.Revoked || before.Owner != after.Owner {
				t.Errorf("%s changed the host: %+v → %+v", name, before, after)
			}
		}

		// An agentless host of another site: refused.
		refused("berlin token on a paris asset", berlin, "fs-paris", patchwave.EForbidden, "at site paris")
		// Of the token's site, or any site for a token without one: adopted.
		if _, err := try(paris, "fs-paris"); err != nil {
			t.Fatalf("paris token on a paris asset: %v", err)
		}
		if _, err := try(anySite, "fs-berlin"); err != nil {
			t.Fatalf("site-less token on a berlin asset: %v", err)
		}
		// A host without a site takes the token's.
		if _, err := try(berlin, "fs-nosite"); err != nil {
			t.Fatalf("berlin token on a site-less asset: %v", err)
		}
		h, _ := ts.Admin.Host(ctx, "fs-nosite")
		if h.Site != "berlin" || !h.Managed || h.Owner != "dave" {
			t.Errorf("adopted site-less asset %+v", h)
		}

		// An enrolled host is not taken over by an ordinary token...
		first, err := try(anySite, "web-01")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ts.Admin.UpdateHost(ctx, "web-01", patchwave.HostUpdate{Site: ptr("paris")}); err != nil {
			t.Fatal(err)
		}
		refused("ordinary token on an enrolled host", paris, "web-01", patchwave.EConflict, "already enrolled")
		refused("ordinary token on an adopted host", paris, "fs-paris", patchwave.EConflict, "already enrolled")
		if _, err := client.New(ts.URL, first.Credential).Checkin(ctx, patchwave.CheckinRequest{}); err != nil {
			t.Errorf("refused takeover broke the agent's credential: %v", err)
		}
		// ... nor by a re-enroll token of another site ...
		reBerlin := enrollToken(t, ts.Admin, map[string]any{"site": "berlin", "allow_reenroll": true})
		refused("berlin re-enroll token on a paris host", reBerlin, "web-01", patchwave.EForbidden, "at site paris")
		// ... but by one of its site, which replaces the credential.
		second, err := try(reParis, "web-01")
		if err != nil {
			t.Fatalf("re-enroll token: %v", err)
		}
		if _, err := client.New(ts.URL, first.Credential).Checkin(ctx, patchwave.CheckinRequest{}); patchwave.ErrorCode(err) != patchwave.EUnauthorized {
			t.Errorf("old credential after re-enrollment: %v", err)
		}
		if _, err := client.New(ts.URL, second.Credential).Checkin(ctx, patchwave.CheckinRequest{}); err != nil {
			t.Errorf("new credential: %v", err)
		}
		if second.HostID != first.HostID {
			t.Errorf("re-enrollment made host %d, want %d", second.HostID, first.HostID)
		}

		// A revoked host is refused whatever the token, until it is deleted.
		if _, err := ts.Admin.RevokeHost(ctx, "web-01"); err != nil {
			t.Fatal(err)
		}
		refused("re-enroll token on a revoked host", reAny, "web-01", patchwave.EConflict, "revoked: delete it")
		refused("ordinary token on a revoked host", anySite, "web-01", patchwave.EConflict, "revoked: delete it")
		if err := ts.Admin.DeleteHost(ctx, "web-01"); err != nil {
			t.Fatal(err)
		}
		if _, err := try(anySite, "web-01"); err != nil {
			t.Errorf("enroll after delete: %v", err)
		}

		// The audit trail names the host's own site, not the token's.
		evs, err := ts.Admin.Audit(ctx, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, e := range evs {
			if e.Object == "host:fs-berlin" && strings.HasPrefix(e.Action, "host.") && strings.Contains(e.Action, "enroll") {
				var d struct{ Site string }
				json.Unmarshal([]byte(e.Detail), &d)
				if d.Site != "berlin" {
					t.Errorf("audit of the adoption of fs-berlin: %s", e.Detail)
				}
				found = true
			}
		}
		if !found {
			t.Error("no audit event for the adoption of fs-berlin")
		}
		// Refused enrollments do not use up the token.
		toks, _ := ts.Admin.ListEnrollTokens(ctx)
		for _, tk := range toks {
			if tk.ID == reBerlin.ID && tk.Uses != 0 {
				t.Errorf("refused enrollment counted as a use: %+v", tk)
			}
		}
	})
}

func ptr[T any](v T) *T { return &v }
