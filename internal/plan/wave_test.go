package plan

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/patchwave/patchwave"
)

func TestDefaultWaves(t *testing.T) {
	ws := DefaultWaves()
	if len(ws) != 5 {
		t.Fatalf("%d waves, want 5", len(ws))
	}
	for i, w := range ws {
		if err := w.Validate(); err != nil {
			t.Errorf("wave %d: %v", i, err)
		}
		if w.Order != i {
			t.Errorf("wave %d has order %d", i, w.Order)
		}
		if i > 0 && w.StartOffset <= ws[i-1].StartOffset {
			t.Errorf("wave %d starts no later than wave %d", i, i-1)
		}
	}
	// All waves start within the default production phase.
	if last := ws[4].StartOffset + ws[4].Deadline; last > 29*24*time.Hour {
		t.Errorf("the last wave ends %v after the release, after the production phase", last)
	}
}

func TestWaveValidate(t *testing.T) {
	for _, tc := range []struct {
		w    Wave
		want string
	}{
		{Wave{}, "name is empty"},
		{Wave{Name: "x", Soak: -1}, "must not be negative"},
		{Wave{Name: "x", MaxErrors: -1}, "must not be negative"},
		{Wave{Name: "x", MaxErrorsPct: 101}, "max errors % 101"},
		{Wave{Name: "x", GateSuccessPct: -1}, "gate success % -1"},
		{Wave{Name: "x", Reboot: "sometimes"}, `reboot "sometimes"`},
	} {
		if err := tc.w.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v, want %q", tc.w, err, tc.want)
		}
	}
}

func TestAssignWaves(t *testing.T) {
	hosts := []patchwave.Host{
		{ID: 1, Tier: patchwave.TierLab},
		{ID: 2, Tier: patchwave.TierBusinessOperational, Tags: []string{"pilot"}},
		{ID: 3, Tier: patchwave.TierBusinessOperational},
		{ID: 4, Tier: patchwave.TierMissionCritical, Tags: []string{"pilot"}},
		{ID: 5, Tier: patchwave.TierBusinessCritical},
		{ID: 6, Tier: patchwave.TierMissionCritical},
		{ID: 7, Tier: "unknown"},
	}
	// Reversed: AssignWaves goes by Order, not by position.
	ws := DefaultWaves()
	for i, j := 0, len(ws)-1; i < j; i, j = i+1, j-1 {
		ws[i], ws[j] = ws[j], ws[i]
	}
	got, unmatched := AssignWaves(ws, hosts)
	// The last default wave takes every host left, whatever its tier.
	want := map[int][]int64{0: {1}, 1: {2, 4}, 2: {3}, 3: {5}, 4: {6, 7}}
	if !reflect.DeepEqual(got, want) || len(unmatched) != 0 {
		t.Errorf("AssignWaves = %v, unmatched %v; want %v, none", got, unmatched, want)
	}

	// Explicit hosts come first within a wave's match; a host list alone
	// matches nobody else.
	ws = []Wave{
		{Order: 0, Name: "it", Hosts: []string{"ALICE-LAPTOP"}},
		{Order: 1, Name: "qa", Selector: patchwave.MustParseSelector("tag=qa"), Hosts: []string{"bob-pc"}},
	}
	hosts = []patchwave.Host{{ID: 1, Hostname: "alice-laptop"}, {ID: 2, Hostname: "bob-pc"}, {ID: 3, Hostname: "x", Tags: []string{"qa"}}, {ID: 4, Hostname: "y"}}
	got, unmatched = AssignWaves(ws, hosts)
	if want := map[int][]int64{0: {1}, 1: {2, 3}}; !reflect.DeepEqual(got, want) || !reflect.DeepEqual(unmatched, []int64{4}) {
		t.Errorf("AssignWaves with host lists = %v, unmatched %v", got, unmatched)
	}
}

func TestCanStart(t *testing.T) {
	rel := time.Date(2026, 12, 8, 18, 0, 0, 0, time.UTC)
	w := Wave{Name: "mc", StartOffset: 24 * time.Hour, StartApprovers: []string{"approver"}}
	for _, tc := range []struct {
		name      string
		now       time.Time
		prev      bool
		approvals []string
		want      string
	}{
		{"too early", rel.Add(time.Hour), true, []string{"approver"}, "starts at 2026-12-09T18:00:00Z"},
		{"previous not promoted", rel.Add(25 * time.Hour), false, []string{"approver"}, "waiting for the previous wave's promotion"},
		{"no approval", rel.Add(25 * time.Hour), true, nil, "waiting for the start approval of approver"},
		{"starts", rel.Add(24 * time.Hour), true, []string{"approver"}, ""},
	} {
		ok, why := w.CanStart(rel, tc.prev, tc.now, tc.approvals)
		if ok != (tc.want == "") || why != tc.want {
			t.Errorf("%s: CanStart = %v, %q; want %q", tc.name, ok, why, tc.want)
		}
	}
}

func TestCompressedAndValidWaves(t *testing.T) {
	c := Compressed(DefaultWaves())
	if err := ValidWaves(c); err != nil {
		t.Fatal(err)
	}
	for i, w := range c {
		if w.StartOffset != time.Duration(i)*12*time.Hour || w.Soak > 2*time.Hour || w.Deadline != 48*time.Hour {
			t.Errorf("compressed wave %d: offset %v soak %v deadline %v", i, w.StartOffset, w.Soak, w.Deadline)
		}
	}
	if DefaultWaves()[0].StartOffset != 24*time.Hour {
		t.Error("Compressed changed the default waves")
	}
	dup := DefaultWaves()
	dup[1].Name = dup[0].Name
	for _, tc := range []struct {
		ws   []Wave
		want string
	}{
		{nil, "none given"},
		{dup, "used twice"},
		{[]Wave{{Name: "a", Order: 100}}, "order 100"},
		{[]Wave{{Name: "a", Hosts: []string{"bad host"}}}, "hosts:"},
		{[]Wave{{Name: "a", Approvers: []string{""}}}, "approver is empty"},
		{[]Wave{{Name: "a", Soak: 400 * 24 * time.Hour}}, "at most a year"},
	} {
		if err := ValidWaves(tc.ws); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ValidWaves(%v) = %v, want %q", tc.ws, err, tc.want)
		}
	}
}

func TestBudget(t *testing.T) {
	for _, tc := range []struct {
		n, pct           float64
		total, run, want int
	}{
		{0, 0, 100, 0, 100},
		{0, 0, 100, 30, 70},
		{10, 0, 100, 3, 7},
		{10, 0, 100, 12, 0},
		{0, 25, 10, 0, 3}, // 2.5 rounds up
		{0, 1, 10, 0, 1},  // at least one
		{10, 50, 100, 0, 10},
		{100, 5, 100, 0, 5},
		{0, 25, 0, 0, 0},
	} {
		w := Wave{MaxConcurrent: int(tc.n), MaxConcurrentPct: tc.pct}
		if got := w.Budget(tc.total, tc.run); got != tc.want {
			t.Errorf("Budget(max %v, %v%%, total %d, running %d) = %d, want %d", tc.n, tc.pct, tc.total, tc.run, got, tc.want)
		}
	}
}

func TestHalted(t *testing.T) {
	for _, tc := range []struct {
		n             int
		pct           float64
		hosts, failed int
		want          bool
	}{
		{0, 0, 10, 0, false},
		{0, 0, 10, 1, true}, // no budget: the first failure halts
		{2, 0, 10, 2, false},
		{2, 0, 10, 3, true},
		{0, 10, 100, 10, false},
		{0, 10, 100, 11, true},
		{0, 10, 5, 1, true}, // 10% of 5 rounds down to 0
		{5, 10, 1000, 6, true},
		{50, 1, 1000, 11, true},
	} {
		w := Wave{MaxErrors: tc.n, MaxErrorsPct: tc.pct}
		if got := w.Halted(WaveStats{Hosts: tc.hosts, Failed: tc.failed}); got != tc.want {
			t.Errorf("Halted(max %d, %v%%, %d hosts, %d failed) = %v, want %v", tc.n, tc.pct, tc.hosts, tc.failed, got, tc.want)
		}
	}
}

func TestGatePasses(t *testing.T) {
	start := time.Date(2026, 11, 18, 0, 0, 0, 0, time.UTC)
	w := Wave{Name: "pilot", MaxErrors: 3, Soak: 48 * time.Hour, GateSuccessPct: 95, GateMinHosts: 20, Approvers: []string{"alice"}}
	done := WaveStats{Hosts: 40, Done: 40, Succeeded: 39, Failed: 1, StartedAt: start}
	later := start.Add(72 * time.Hour)
	for _, tc := range []struct {
		name      string
		s         WaveStats
		now       time.Time
		approvals []string
		want      string // "" passes
	}{
		{"passes", done, later, []string{"bob", "alice"}, ""},
		{"no approval", done, later, []string{"bob"}, "waiting for the promotion approval of alice"},
		{"soaking", done, start.Add(time.Hour), []string{"alice"}, "soaking until 2026-11-20T00:00:00Z"},
		{"not started", WaveStats{Hosts: 40}, later, []string{"alice"}, "the wave has not started"},
		{"running", WaveStats{Hosts: 40, Done: 30, Succeeded: 30, Running: 10, StartedAt: start}, later, []string{"alice"}, "10 tasks still running"},
		{"not done", WaveStats{Hosts: 40, Done: 30, Succeeded: 30, StartedAt: start}, later, []string{"alice"}, "30 of 40 hosts done"},
		{"halted", WaveStats{Hosts: 40, Done: 40, Succeeded: 36, Failed: 4, StartedAt: start}, later, []string{"alice"}, "halted: 4 failures, 3 allowed"},
		{"low success", WaveStats{Hosts: 40, Done: 40, Succeeded: 37, Failed: 3, StartedAt: start}, later, []string{"alice"}, "first-pass success 92.5%, 95.0% needed"},
		{"small wave: all its hosts are enough", WaveStats{Hosts: 2, Done: 2, Succeeded: 2, StartedAt: start}, later, []string{"alice"}, ""},
		{"empty wave", WaveStats{}, later, []string{"alice"}, ""},
		{"deadline passed: missed hosts do not hold the gate", WaveStats{Hosts: 40, Done: 30, Succeeded: 30, Missed: 10, StartedAt: start}, later, []string{"alice"}, ""},
		{"missed hosts do not count towards the minimum", WaveStats{Hosts: 30, Done: 5, Succeeded: 5, Missed: 25, StartedAt: start}, later, []string{"alice"}, "5 hosts done, at least 20 needed"},
		{"empty wave without approval", WaveStats{}, later, nil, "waiting for the promotion approval of alice"},
	} {
		ok, why := w.GatePasses(tc.s, tc.now, tc.approvals)
		if ok != (tc.want == "") || why != tc.want {
			t.Errorf("%s: GatePasses = %v, %q; want %q", tc.name, ok, why, tc.want)
		}
	}
	// Problem reports hold the gate only when the wave says so.
	reported := done
	reported.Reports = 2
	gated := w
	gated.GateReports, gated.GateMaxReports = true, 1
	for _, tc := range []struct {
		name string
		w    Wave
		s    WaveStats
		want string
	}{
		{"reports, not gated", w, reported, ""},
		{"reports over the limit", gated, reported, "2 problem reports against the wave's hosts, 1 allowed"},
		{"reports within the limit", gated, done, ""},
	} {
		ok, why := tc.w.GatePasses(tc.s, later, []string{"alice"})
		if ok != (tc.want == "") || why != tc.want {
			t.Errorf("%s: GatePasses = %v, %q; want %q", tc.name, ok, why, tc.want)
		}
	}
}

func FuzzParseWaves(f *testing.F) {
	f.Add([]byte(`[{"order":0,"name":"lab","max_concurrent_pct":100,"max_errors":1,"gate_success_pct":50,"gate_min_hosts":3,"reboot":"never","rollback_on_failure":true}]`))
	f.Add([]byte(`[{"order":0,"name":"a"},{"order":1,"name":"b","offset":"72h","soak":"24h"}]`))
	f.Add([]byte(`{"waves":[]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ws, err := ParseWaves(b)
		if err != nil {
			return
		}
		// What parses is a valid plan, and reads back the same.
		for i, w := range ws {
			if w.Name == "" {
				t.Fatalf("wave %d has no name: %+v", i, w)
			}
		}
	})
}

func TestGateMaxReportsJSON(t *testing.T) {
	ws, err := ParseWaves([]byte(`[{"order":0,"name":"a","gate_max_reports":0},{"order":1,"name":"b"}]`))
	if err != nil {
		t.Fatal(err)
	}
	if !ws[0].GateReports || ws[0].GateMaxReports != 0 || ws[1].GateReports {
		t.Errorf("waves %+v", ws)
	}
	if j := ws[0].JSON(); j.GateMaxReports == nil || *j.GateMaxReports != 0 {
		t.Errorf("JSON %+v", j)
	}
	if j := ws[1].JSON(); j.GateMaxReports != nil {
		t.Errorf("ungated JSON %+v", j)
	}
	if _, err := ParseWaves([]byte(`[{"order":0,"name":"a","gate_max_reports":-1}]`)); err == nil || !strings.Contains(err.Error(), "gate_max_reports -1") {
		t.Errorf("negative: %v", err)
	}
}
