package ticket

import (
	"strings"
	"testing"
	"time"

	"github.com/patchwave/patchwave"
)

func TestTransition(t *testing.T) {
	for _, tc := range []struct {
		from, to State
		ok       bool
	}{
		{Open, Acknowledged, true},
		{Open, Resolved, true},
		{Open, WontFix, true},
		{Acknowledged, Resolved, true},
		{Acknowledged, WontFix, true},
		{Acknowledged, Open, false},
		{Resolved, Open, true},
		{Resolved, Acknowledged, false},
		{WontFix, Resolved, false},
		{Open, Open, false},
		{"bogus", Open, false},
	} {
		err := Transition(tc.from, tc.to)
		if (err == nil) != tc.ok {
			t.Errorf("%s → %s: err %v, want ok %v", tc.from, tc.to, err, tc.ok)
		}
		if err != nil && patchwave.ErrorCode(err) != patchwave.EConflict {
			t.Errorf("%s → %s: code %s, want conflict", tc.from, tc.to, patchwave.ErrorCode(err))
		}
	}
}

func TestParseState(t *testing.T) {
	for _, s := range []string{"open", "acknowledged", "resolved", "wont-fix"} {
		if _, err := ParseState(s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	for _, s := range []string{"", "Open", "closed", "open\x00"} {
		if _, err := ParseState(s); err == nil {
			t.Errorf("%q parsed", s)
		}
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		kind patchwave.TaskKind
		err  string
		want Reason
	}{
		{patchwave.TaskInstall, "the host did not come back after its reboot by the deadline", ReasonRebootTimeout},
		{patchwave.TaskReboot, "the host did not reboot within 15m0s of the reboot command", ReasonRebootTimeout},
		{patchwave.TaskInstall, "no result from the agent by the deadline", ReasonNoResult},
		{patchwave.TaskInstall, "refused: task 7: bad signature: it was not signed by this host's server, or was changed", ReasonSignature},
		{patchwave.TaskInstall, "verification failed: nginx is not running", ReasonVerify},
		{patchwave.TaskVerify, "openssl is 3.0.14, want 3.0.15", ReasonVerify},
		{patchwave.TaskInstall, "E: Could not get lock /var/lib/dpkg/lock-frontend", ReasonFailed},
		{patchwave.TaskInstall, "", ReasonFailed},
	} {
		if got := Classify(tc.kind, tc.err); got != tc.want {
			t.Errorf("Classify(%s, %q) = %s, want %s", tc.kind, tc.err, got, tc.want)
		}
	}
}

func TestKey(t *testing.T) {
	f := Failure{HostID: 3, PatchSet: "abc", Kind: patchwave.TaskInstall}
	k1 := Key(f.HostID, f.Patch(), ReasonFailed)
	for _, other := range []string{
		Key(4, f.Patch(), ReasonFailed),
		Key(3, "abd", ReasonFailed),
		Key(3, f.Patch(), ReasonVerify),
		Key(3, Failure{HostID: 3, Kind: patchwave.TaskReboot}.Patch(), ReasonFailed),
	} {
		if other == k1 {
			t.Errorf("key %q collides with %q", other, k1)
		}
	}
	if Key(3, "abc", ReasonFailed) != k1 {
		t.Error("the same failure has two keys")
	}
	if got := (Failure{Kind: patchwave.TaskReboot}).Patch(); got != "kind:reboot" {
		t.Errorf("patch of a reboot = %q", got)
	}
}

func TestSeverityOf(t *testing.T) {
	for _, tc := range []struct {
		tier patchwave.Tier
		r    Reason
		want Severity
	}{
		{patchwave.TierMissionCritical, ReasonFailed, SevCritical},
		{patchwave.TierMissionCritical, ReasonRebootTimeout, SevCritical},
		{patchwave.TierBusinessCritical, ReasonFailed, SevHigh},
		{patchwave.TierBusinessCritical, ReasonRebootTimeout, SevCritical},
		{patchwave.TierBusinessOperational, ReasonVerify, SevMedium},
		{patchwave.TierLab, ReasonFailed, SevLow},
		{patchwave.TierLab, ReasonRebootTimeout, SevMedium},
		{"", ReasonFailed, SevMedium},
	} {
		if got := SeverityOf(tc.tier, tc.r); got != tc.want {
			t.Errorf("SeverityOf(%s, %s) = %s, want %s", tc.tier, tc.r, got, tc.want)
		}
	}
}

func TestAssign(t *testing.T) {
	routes := []Route{
		{Site: "fra", Tier: patchwave.TierMissionCritical, Assignee: "alice"},
		{Site: "fra", Queue: "fra-ops"},
		{Tier: patchwave.TierLab, Queue: "lab"},
	}
	for _, tc := range []struct {
		site     string
		tier     patchwave.Tier
		who, que string
	}{
		{"fra", patchwave.TierMissionCritical, "alice", ""},
		{"fra", patchwave.TierLab, "", "fra-ops"},
		{"ber", patchwave.TierLab, "", "lab"},
		{"ber", patchwave.TierBusinessCritical, "", DefaultQueue},
		{"", "", "", DefaultQueue},
	} {
		who, q := Assign(routes, tc.site, tc.tier)
		if who != tc.who || q != tc.que {
			t.Errorf("Assign(%s, %s) = %q %q, want %q %q", tc.site, tc.tier, who, q, tc.who, tc.que)
		}
	}
}

func TestDue(t *testing.T) {
	p := Policy{Escalations: []Escalation{
		{Severity: SevCritical, After: Duration(24 * time.Hour), To: "head"},
		{Severity: SevCritical, After: Duration(4 * time.Hour), To: "on-call"},
		{Tier: patchwave.TierLab, After: Duration(48 * time.Hour), To: "lab-lead"},
	}}
	t0 := time.Date(2026, 12, 8, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		sev   Severity
		tier  patchwave.Tier
		state State
		level int
		after time.Duration
		to    string
		next  int
	}{
		{"too early", SevCritical, patchwave.TierMissionCritical, Open, 0, 4*time.Hour - time.Second, "", 0},
		{"first step", SevCritical, patchwave.TierMissionCritical, Open, 0, 4 * time.Hour, "on-call", 1},
		{"first step done", SevCritical, patchwave.TierMissionCritical, Open, 1, 5 * time.Hour, "", 0},
		{"second step", SevCritical, patchwave.TierMissionCritical, Open, 1, 24 * time.Hour, "head", 2},
		{"both overdue: the last one", SevCritical, patchwave.TierMissionCritical, Open, 0, 30 * time.Hour, "head", 2},
		{"ladder done", SevCritical, patchwave.TierMissionCritical, Open, 2, 300 * time.Hour, "", 0},
		{"acknowledged", SevCritical, patchwave.TierMissionCritical, Acknowledged, 0, 30 * time.Hour, "", 0},
		{"resolved", SevCritical, patchwave.TierMissionCritical, Resolved, 0, 30 * time.Hour, "", 0},
		{"other severity", SevMedium, patchwave.TierBusinessOperational, Open, 0, 300 * time.Hour, "", 0},
		{"by tier", SevLow, patchwave.TierLab, Open, 0, 48 * time.Hour, "lab-lead", 1},
	} {
		e, next, ok := p.Due(tc.sev, tc.tier, tc.state, tc.level, t0, t0.Add(tc.after))
		if ok != (tc.to != "") || e.To != tc.to || next != tc.next {
			t.Errorf("%s: Due = %+v %d %v, want %q %d", tc.name, e, next, ok, tc.to, tc.next)
		}
	}
}

func TestPolicyValidate(t *testing.T) {
	if err := DefaultPolicy().Validate(); err != nil {
		t.Fatalf("default policy: %v", err)
	}
	for _, tc := range []struct {
		p    Policy
		want string
	}{
		{Policy{Routes: []Route{{Tier: "gold"}}}, "route 1"},
		{Policy{Routes: []Route{{Queue: "a b"}}}, "route 1 queue"},
		{Policy{Escalations: []Escalation{{Severity: "urgent", After: Duration(time.Hour), To: "x"}}}, "escalation 1"},
		{Policy{Escalations: []Escalation{{After: Duration(time.Second), To: "x"}}}, "after 1s"},
		{Policy{Escalations: []Escalation{{After: Duration(time.Hour)}}}, "escalation 1 to"},
		{Policy{Routes: make([]Route, 201)}, "at most 200"},
	} {
		err := tc.p.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v, want an error with %q", tc.p, err, tc.want)
		}
	}
}

func TestGuides(t *testing.T) {
	for _, tc := range []struct {
		err, output, want string
	}{
		{"install failed", "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 1234 (unattended-upgr)", "pkg-lock"},
		{"install failed", "E: You don't have enough free space in /var/cache/apt/archives/.", "disk-full"},
		{"free space pre-check: 120 MB free on /var, 800 MB needed", "", "disk-full"},
		{"", "The following packages have unmet dependencies:\n libssl3 : Depends: libc6 (>= 2.38) but it is not installable", "dependency-conflict"},
		{"", "Error: Failed to download metadata for repo 'appstream': Cannot download repomd.xml: Curl error (6)", "repo-unreachable"},
		{"", "W: GPG error: http://deb.example stable InRelease: NO_PUBKEY 0E98404D386FA1D9", "gpg-signature"},
		{"verification failed: service nginx is not running", "", "service-failed"},
		{"the host did not come back after its reboot by the deadline", "", "reboot-timeout"},
		{"refused: task 9: bad signature: it was not signed by this host's server, or was changed", "", "task-signature"},
		{"no result from the agent by the deadline", "", "no-result"},
	} {
		g, ok := Match(nil, tc.err, tc.output)
		if !ok || g.Name != tc.want {
			t.Errorf("Match(%q, %q) = %s %v, want %s", tc.err, tc.output, g.Name, ok, tc.want)
		}
	}
	if g, ok := Match(nil, "something nobody has seen", "output"); ok {
		t.Errorf("matched %s", g.Name)
	}
	custom := []Guide{{Name: "ours", Title: "Our mirror", Pattern: `mirror\.internal`, Steps: []string{"call Bob"}}}
	if err := custom[0].Compile(); err != nil {
		t.Fatal(err)
	}
	if g, _ := Match(custom, "", "Failed to fetch http://mirror.internal/debian"); g.Name != "ours" {
		t.Errorf("operators' guides come first, got %s", g.Name)
	}
	// Only the first MaxScan bytes are read.
	if _, ok := Match(nil, "", strings.Repeat("x", MaxScan)+"no space left on device"); ok {
		t.Error("a pattern read past MaxScan")
	}
}

func TestGuideCompile(t *testing.T) {
	good := Guide{Name: "g", Title: "T", Pattern: "x", Steps: []string{"s"}}
	for _, tc := range []struct {
		mod  func(*Guide)
		want string
	}{
		{func(g *Guide) { g.Name = "" }, "guide name"},
		{func(g *Guide) { g.Name = "a/b" }, "guide name"},
		{func(g *Guide) { g.Title = " " }, "no title"},
		{func(g *Guide) { g.Pattern = "" }, "pattern must be"},
		{func(g *Guide) { g.Pattern = strings.Repeat("a", MaxPattern+1) }, "pattern must be"},
		{func(g *Guide) { g.Pattern = "(unclosed" }, "pattern:"},
		{func(g *Guide) { g.Pattern = `(?P<x` }, "pattern:"},
		{func(g *Guide) { g.Steps = nil }, "steps"},
		{func(g *Guide) { g.Steps = make([]string, MaxSteps+1) }, "steps"},
		{func(g *Guide) { g.Steps = []string{""} }, "step 1 is empty"},
		{func(g *Guide) { g.Steps = []string{strings.Repeat("s", MaxStep+1)} }, "step 1"},
	} {
		g := good
		g.Steps = append([]string(nil), good.Steps...)
		tc.mod(&g)
		err := g.Compile()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Compile(%+v) = %v, want an error with %q", g.Name, err, tc.want)
		}
	}
	g := good
	if err := g.Compile(); err != nil {
		t.Errorf("good guide: %v", err)
	}
	if len(BuiltIn()) < 8 {
		t.Errorf("%d built-in guides", len(BuiltIn()))
	}
}
