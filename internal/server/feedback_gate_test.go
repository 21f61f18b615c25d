package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/client"
	"github.com/patchwave/patchwave/internal/plan"
)

// TestProblemReportsHoldTheGate: a wave configured with gate_max_reports
// 0 is not promoted while a problem report names one of its hosts, and
// says why; the next wave waits for it.
func TestProblemReportsHoldTheGate(t *testing.T) {
	t.Parallel()
	ts := newDrivenServer(t, "")
	ctx := context.Background()
	pkgs := []patchwave.Package{{Name: "openssl", Version: "3.0.11-1~deb12u2", Arch: "amd64"}}
	tok := enrollToken(t, ts.Admin, map[string]any{"site": "paris", "tier": "lab", "max_uses": 2})
	var agents []*simAgent
	for _, name := range []string{"lab-01", "lab-02"} {
		e := enroll(t, ts.URL, tok.Token, name)
		a := &simAgent{name: name, c: client.New(ts.URL, e.Credential), pkgs: slices.Clone(pkgs),
			facts: patchwave.Facts{Hostname: name, OS: patchwave.OS{ID: "debian", Family: "debian", Version: "12"}}}
		if _, err := a.c.Checkin(ctx, patchwave.CheckinRequest{FactsHash: a.facts.Hash(), PackagesHash: patchwave.HashPackages(a.pkgs), Facts: &a.facts, Packages: &a.pkgs}); err != nil {
			t.Fatal(err)
		}
		agents = append(agents, a)
	}
	if _, err := ts.Admin.ImportFeed(ctx, "debian", "osv", strings.NewReader(osvRecord("DSA-5764-1", "2026-12-01T00:00:00Z", "openssl", "3.0.15-1~deb12u1", "CVE-2024-5535"))); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Admin.PutBaseline(ctx, json.RawMessage(`{"name":"all","rules":[{"min_severity":"low"}]}`), ""); err != nil {
		t.Fatal(err)
	}
	waitAssessed(t, ts)
	var ws []plan.WaveJSON
	json.Unmarshal([]byte(`[{"order":0,"name":"lab","gate_min_hosts":1,"gate_max_reports":0,"reboot":"never"},{"order":1,"name":"rest","reboot":"never"}]`), &ws)
	if _, err := ts.Admin.PutWaves(ctx, ws); err != nil {
		t.Fatal(err)
	}
	f := false
	rel, err := ts.Admin.CreateRelease(ctx, client.ReleaseRequest{OutOfBand: true, Compressed: &f, AllowNoWindow: true, Reason: "test"})
	if err != nil {
		t.Fatal(err)
	}
	tick := func() client.Rollout {
		t.Helper()
		if err := ts.Driver().Tick(ctx); err != nil {
			t.Fatal(err)
		}
		ro, err := ts.Admin.Rollout(ctx, rel.Name)
		if err != nil {
			t.Fatal(err)
		}
		return ro
	}
	tick()
	for _, a := range agents {
		a.checkin(t)
	}
	// A user reports a problem on lab-02.
	st, _, b := call(t, "POST", ts.URL+"/api/v1/releases/"+url.PathEscape(rel.Name)+"/feedback", login(t, ts.URL, "admin", adminPassword), "application/json",
		[]byte(`{"host":"lab-02","message":"the intranet app no longer starts"}`))
	if st != http.StatusCreated {
		t.Fatalf("feedback: %d %s", st, b)
	}
	ro := tick()
	if ro.Waves[0].State == patchwave.WavePromoted || !strings.Contains(ro.Waves[0].Note, "1 problem reports against the wave's hosts, 0 allowed") {
		t.Errorf("wave 0 with a problem report: %s %q", ro.Waves[0].State, ro.Waves[0].Note)
	}
	if ro.Waves[0].Done != 2 || ro.Waves[1].State != patchwave.WaveWaiting {
		t.Errorf("waves %+v", ro.Waves)
	}
}
