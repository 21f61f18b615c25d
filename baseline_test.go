package patchwave_test

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/patchwave/patchwave"
)

func days(n int) *int { return &n }

func tp(t time.Time) *time.Time { return &t }

func TestPatchFromFinding(t *testing.T) {
	pub := day(2026, 3, 1)
	f := patchwave.Finding{Host: "web1", Ecosystem: "Debian:12", Package: "libssl3", Source: "openssl", Installed: "3.0.1-1", Fixed: "3.0.2-1",
		Advisories: []string{"DSA-1"}, CVEs: []string{"CVE-2026-1111"}, Severity: patchwave.SeverityUnknown, CVSS: 7.5, Published: &pub}
	p := patchwave.PatchFromFinding(f)
	want := patchwave.Patch{Host: "web1", Ecosystem: "Debian:12", Package: "libssl3", Source: "openssl", Fixed: "3.0.2-1",
		Advisories: []string{"DSA-1"}, CVEs: []string{"CVE-2026-1111"}, Severity: patchwave.SeverityHigh, Classification: "security", Published: &pub}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("PatchFromFinding = %+v, want %+v", p, want)
	}
	f.Classification = "bugfix"
	if p := patchwave.PatchFromFinding(f); p.Classification != "bugfix" {
		t.Errorf("classification %q", p.Classification)
	}
}

func TestDecide(t *testing.T) {
	now := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	web := patchwave.Host{Hostname: "web1", Site: "paris", Tier: patchwave.TierMissionCritical}
	patch := patchwave.Patch{Host: "web1", Ecosystem: "Debian:12", Package: "libssl3", Source: "openssl", Fixed: "3.0.2-1",
		Advisories: []string{"DSA-5555-1"}, CVEs: []string{"CVE-2026-1111"}, Severity: patchwave.SeverityHigh,
		Classification: "security", Published: tp(day(2026, 3, 1))}

	sel := patchwave.MustParseSelector
	global := func(id int64, name string) patchwave.Baseline { return patchwave.Baseline{ID: id, Name: name} }
	scoped := func(id int64, name, s string) patchwave.Baseline {
		return patchwave.Baseline{ID: id, Name: name, Scope: patchwave.ScopeScoped, Selector: sel(s)}
	}
	hostB := func(id int64, name, s string) patchwave.Baseline {
		return patchwave.Baseline{ID: id, Name: name, Scope: patchwave.ScopeHost, Selector: sel(s)}
	}
	withRules := func(b patchwave.Baseline, rs ...patchwave.BaselineRule) patchwave.Baseline { b.Rules = rs; return b }
	withApprove := func(b patchwave.Baseline, ps ...patchwave.PatchRef) patchwave.Baseline { b.Approve = ps; return b }
	withReject := func(b patchwave.Baseline, rs ...patchwave.RejectRef) patchwave.Baseline { b.Reject = rs; return b }
	after := func(n int) patchwave.BaselineRule {
		return patchwave.BaselineRule{Ecosystem: "Debian:*", ApproveAfterDays: days(n)}
	}
	other := patchwave.BaselineRule{Package: "nginx"}
	openssl := patchwave.PatchRef{Package: "openssl"}
	block := patchwave.RejectRef{PatchRef: patchwave.PatchRef{CVE: "cve-2026-1111"}, Reason: "breaks the HSM driver"}
	depOnly := patchwave.RejectRef{PatchRef: openssl, Mode: patchwave.RejectDependencyOnly}

	type want struct {
		approved, blocked, depOnly bool
		baseline, rule, reason     string
		from                       *time.Time
	}
	for _, tc := range []struct {
		name string
		bs   []patchwave.Baseline
		p    *patchwave.Patch
		want want
	}{
		{"no baselines", nil, nil, want{reason: "no baseline applies"}},
		{"only a baseline for other hosts", []patchwave.Baseline{withRules(scoped(1, "lab", "tier=lab"), after(0))}, nil,
			want{reason: "no baseline applies"}},
		{"host override for another host", []patchwave.Baseline{withApprove(hostB(1, "web2", "host=web2"), openssl)}, nil,
			want{reason: "no baseline applies"}},
		{"a baseline applies, nothing in it matches", []patchwave.Baseline{withRules(global(1, "g"), other)}, nil,
			want{reason: "no rule or entry"}},
		{"global approve after 7 days", []patchwave.Baseline{withRules(global(1, "g"), after(7))}, nil,
			want{approved: true, baseline: "g", rule: "rules[0]", reason: "since 2026-03-08", from: tp(day(2026, 3, 8))}},
		{"global approve after 30 days, not yet", []patchwave.Baseline{withRules(global(1, "g"), after(30))}, nil,
			want{baseline: "g", rule: "rules[0]", reason: "from 2026-03-31", from: tp(day(2026, 3, 31))}},
		{"approve after 19 days, exactly now", []patchwave.Baseline{withRules(global(1, "g"), after(19))},
			&patchwave.Patch{Ecosystem: "Debian:12", Package: "x", Published: tp(day(2026, 3, 1).Add(12 * time.Hour))},
			want{approved: true, baseline: "g", rule: "rules[0]", from: tp(now)}},
		{"rule without timing approves at once", []patchwave.Baseline{withRules(global(1, "g"), patchwave.BaselineRule{MinSeverity: patchwave.SeverityHigh})}, nil,
			want{approved: true, baseline: "g", rule: "rules[0]", reason: "approved by rule"}},
		{"approve until, published before", []patchwave.Baseline{withRules(global(1, "g"), patchwave.BaselineRule{ApproveUntil: tp(day(2026, 3, 1))})}, nil,
			want{approved: true, baseline: "g", rule: "rules[0]"}},
		{"approve until, published after", []patchwave.Baseline{withRules(global(1, "g"), patchwave.BaselineRule{ApproveUntil: tp(day(2026, 2, 28))})}, nil,
			want{baseline: "g", rule: "rules[0]", reason: "published until 2026-02-28"}},
		{"approve after, publication unknown", []patchwave.Baseline{withRules(global(1, "g"), after(0))},
			&patchwave.Patch{Ecosystem: "Debian:12", Package: "x"},
			want{baseline: "g", rule: "rules[0]", reason: "publication date is unknown"}},
		{"approve until, publication unknown", []patchwave.Baseline{withRules(global(1, "g"), patchwave.BaselineRule{ApproveUntil: tp(now)})},
			&patchwave.Patch{Ecosystem: "Debian:12", Package: "x"},
			want{baseline: "g", rule: "rules[0]", reason: "publication date is unknown"}},

		// Levels: the most specific level with an opinion decides.
		{"scoped stricter than global", []patchwave.Baseline{withRules(global(1, "g"), after(7)), withRules(scoped(2, "mc", "tier=mission-critical"), after(30))}, nil,
			want{baseline: "mc", rule: "rules[0]", from: tp(day(2026, 3, 31))}},
		{"scoped approves what global rejects", []patchwave.Baseline{withReject(global(1, "g"), block), withApprove(scoped(2, "mc", "site=paris"), openssl)}, nil,
			want{approved: true, baseline: "mc", rule: "approve[0]", reason: "approved explicitly by scoped baseline"}},
		{"scoped rejects what global approves", []patchwave.Baseline{withApprove(global(1, "g"), openssl), withReject(scoped(2, "mc", "site=paris"), block)}, nil,
			want{blocked: true, baseline: "mc", rule: "reject[0]", reason: "breaks the HSM driver"}},
		{"scoped without opinion passes to global", []patchwave.Baseline{withRules(global(1, "g"), after(7)), withRules(scoped(2, "mc", "tier=mission-critical"), other)}, nil,
			want{approved: true, baseline: "g", rule: "rules[0]"}},
		{"host override beats scoped reject", []patchwave.Baseline{withReject(scoped(1, "mc", "tier=mission-critical"), block), withApprove(hostB(2, "web1", "host=web1|web9"), openssl)}, nil,
			want{approved: true, baseline: "web1", rule: "approve[0]", reason: "host baseline"}},
		{"host override beats global", []patchwave.Baseline{withRules(global(1, "g"), after(0)), withReject(hostB(2, "web1", "host=web1"), depOnly)}, nil,
			want{depOnly: true, baseline: "web1", rule: "reject[0]", reason: "except as a dependency"}},
		{"host override without opinion passes to scoped", []patchwave.Baseline{withReject(scoped(1, "mc", "tier=mission-critical"), block), withRules(hostB(2, "web1", "host=web1"), other), withRules(global(3, "g"), after(0))}, nil,
			want{blocked: true, baseline: "mc", rule: "reject[0]"}},
		{"host and scoped without opinion pass to global", []patchwave.Baseline{withRules(scoped(1, "mc", "tier=mission-critical"), other), withRules(hostB(2, "web1", "host=web1"), other), withRules(global(3, "g"), after(0))}, nil,
			want{approved: true, baseline: "g", rule: "rules[0]"}},
		{"scope derived from the selector", []patchwave.Baseline{withRules(global(1, "g"), after(7)), withRules(patchwave.Baseline{ID: 2, Name: "derived", Selector: sel("site=paris")}, after(30))}, nil,
			want{baseline: "derived", rule: "rules[0]"}},

		// Within a level: reject > approve > rules; reject wins ties.
		{"reject beats approve in one baseline", []patchwave.Baseline{withReject(withApprove(global(1, "g"), openssl), block)}, nil,
			want{blocked: true, baseline: "g", rule: "reject[0]"}},
		{"reject in one baseline beats approve in another", []patchwave.Baseline{withApprove(scoped(1, "a", "site=paris"), openssl), withReject(scoped(2, "b", "tier=mission-critical"), block)}, nil,
			want{blocked: true, baseline: "b", rule: "reject[0]"}},
		{"reject beats approve, order reversed", []patchwave.Baseline{withReject(scoped(2, "b", "tier=mission-critical"), block), withApprove(scoped(1, "a", "site=paris"), openssl)}, nil,
			want{blocked: true, baseline: "b", rule: "reject[0]"}},
		{"block beats dependency-only", []patchwave.Baseline{withReject(global(1, "a"), depOnly), withReject(global(2, "b"), block)}, nil,
			want{blocked: true, baseline: "b", rule: "reject[0]"}},
		{"dependency-only beats approve", []patchwave.Baseline{withApprove(global(1, "a"), openssl), withReject(global(2, "b"), depOnly)}, nil,
			want{depOnly: true, baseline: "b"}},
		{"explicit approve beats a rule not yet approving", []patchwave.Baseline{withRules(global(1, "a"), after(30)), withApprove(global(2, "b"), patchwave.PatchRef{Advisory: "dsa-5555-1"})}, nil,
			want{approved: true, baseline: "b", rule: "approve[0]"}},
		{"rule approval is a union within a level", []patchwave.Baseline{withRules(global(1, "a"), after(30)), withRules(global(2, "b"), after(7))}, nil,
			want{approved: true, baseline: "b", rule: "rules[0]"}},
		{"pending rules: the earliest date", []patchwave.Baseline{withRules(global(1, "a"), after(60), after(40)), withRules(global(2, "b"), after(30))}, nil,
			want{baseline: "b", rule: "rules[0]", from: tp(day(2026, 3, 31))}},
		{"two baselines approve: the lowest id is named", []patchwave.Baseline{withApprove(global(5, "e"), openssl), withApprove(global(3, "c"), openssl)}, nil,
			want{approved: true, baseline: "c", rule: "approve[0]"}},
		{"first matching entry is named", []patchwave.Baseline{withApprove(global(1, "a"), patchwave.PatchRef{Package: "nginx"}, patchwave.PatchRef{Package: "libssl*"}, openssl)}, nil,
			want{approved: true, baseline: "a", rule: "approve[1]"}},

		// Rule criteria.
		{"min severity above the patch's", []patchwave.Baseline{withRules(global(1, "g"), patchwave.BaselineRule{MinSeverity: patchwave.SeverityCritical})}, nil,
			want{reason: "no rule or entry"}},
		{"min severity excludes unknown", []patchwave.Baseline{withRules(global(1, "g"), patchwave.BaselineRule{MinSeverity: patchwave.SeverityNone})},
			&patchwave.Patch{Ecosystem: "Debian:12", Package: "x", Severity: patchwave.SeverityUnknown}, want{reason: "no rule or entry"}},
		{"classification differs", []patchwave.Baseline{withRules(global(1, "g"), patchwave.BaselineRule{Classification: "bugfix"})}, nil,
			want{reason: "no rule or entry"}},
		{"empty classification is security", []patchwave.Baseline{withRules(global(1, "g"), patchwave.BaselineRule{Classification: "security"})},
			&patchwave.Patch{Ecosystem: "Debian:12", Package: "x"}, want{approved: true, baseline: "g"}},
		{"ecosystem glob ignores case", []patchwave.Baseline{withRules(global(1, "g"), patchwave.BaselineRule{Ecosystem: "debian:*"})}, nil,
			want{approved: true, baseline: "g"}},
		{"ecosystem glob differs", []patchwave.Baseline{withRules(global(1, "g"), patchwave.BaselineRule{Ecosystem: "Ubuntu:*"})}, nil,
			want{reason: "no rule or entry"}},
		{"package glob matches the source", []patchwave.Baseline{withRules(global(1, "g"), patchwave.BaselineRule{Package: "open*"})}, nil,
			want{approved: true, baseline: "g"}},
		{"all criteria", []patchwave.Baseline{withRules(global(1, "g"), patchwave.BaselineRule{Ecosystem: "Debian:12", MinSeverity: patchwave.SeverityHigh,
			Classification: "security", Package: "libssl3", ApproveAfterDays: days(0)})}, nil,
			want{approved: true, baseline: "g", from: tp(day(2026, 3, 1))}},
		{"patch ref: every field must match", []patchwave.Baseline{withApprove(global(1, "g"), patchwave.PatchRef{Package: "openssl", CVE: "CVE-2026-9999"})}, nil,
			want{reason: "no rule or entry"}},
	} {
		p := patch
		if tc.p != nil {
			p = *tc.p
		}
		// The order of the baselines never matters.
		var first patchwave.Decision
		rng := rand.New(rand.NewPCG(1, 2))
		for i := 0; i < 5; i++ {
			bs := append([]patchwave.Baseline(nil), tc.bs...)
			rng.Shuffle(len(bs), func(i, j int) { bs[i], bs[j] = bs[j], bs[i] })
			d := patchwave.Decide(bs, web, p, now)
			if i == 0 {
				first = d
			} else if !reflect.DeepEqual(d, first) {
				t.Errorf("%s: the order of baselines changed the decision: %+v vs %+v", tc.name, d, first)
			}
		}
		d, w := first, tc.want
		if d.Approved != w.approved || d.Blocked != w.blocked || d.DependencyOnly != w.depOnly || d.Baseline != w.baseline ||
			(w.rule != "" && d.Rule != w.rule) || !strings.Contains(d.Reason, w.reason) || d.Reason == "" {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.name, d, w)
		}
		if w.from != nil && (d.ApprovedFrom == nil || !d.ApprovedFrom.Equal(*w.from)) {
			t.Errorf("%s: ApprovedFrom = %v, want %v", tc.name, d.ApprovedFrom, w.from)
		}
	}
}

func TestBaselineLevel(t *testing.T) {
	for _, tc := range []struct {
		b    patchwave.Baseline
		want string
	}{
		{patchwave.Baseline{}, patchwave.ScopeGlobal},
		{patchwave.Baseline{Selector: patchwave.MustParseSelector("tier=lab")}, patchwave.ScopeScoped},
		{patchwave.Baseline{Scope: "host", Selector: patchwave.MustParseSelector("host=a")}, patchwave.ScopeHost},
		{patchwave.Baseline{Scope: "bogus"}, patchwave.ScopeGlobal},
	} {
		if got := tc.b.Level(); got != tc.want {
			t.Errorf("Level(%+v) = %s, want %s", tc.b, got, tc.want)
		}
	}
	// A host baseline without a selector applies to nothing.
	if (patchwave.Baseline{Scope: patchwave.ScopeHost}).AppliesTo(patchwave.Host{Hostname: "a"}) {
		t.Error("host baseline without selector applies")
	}
}

func TestBaselineValidate(t *testing.T) {
	sel := patchwave.MustParseSelector
	ok := patchwave.Baseline{Name: "debian-security", Description: "Security updates\nfor Debian.", Rules: []patchwave.BaselineRule{
		{Ecosystem: "Debian:*", MinSeverity: patchwave.SeverityHigh, Classification: "security", ApproveAfterDays: days(7)},
		{Package: "linux-*", ApproveUntil: tp(day(2020, 1, 1))}, // in the past: a freeze date, fine
		{},
	}, Approve: []patchwave.PatchRef{{CVE: "CVE-2026-1"}}, Reject: []patchwave.RejectRef{{PatchRef: patchwave.PatchRef{Package: "openssl"}, Mode: "block"},
		{PatchRef: patchwave.PatchRef{CVE: "CVE-2026-1", Package: "x"}, Mode: "dependency-only"}, {PatchRef: patchwave.PatchRef{Advisory: "DSA-1"}}}}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(b *patchwave.Baseline)
		want string
	}{
		{"no name", func(b *patchwave.Baseline) { b.Name = " " }, "has no name"},
		{"control in name", func(b *patchwave.Baseline) { b.Name = "a\nb" }, "control character"},
		{"control in description", func(b *patchwave.Baseline) { b.Description = "a\x01" }, "description contains control character"},
		{"unknown scope", func(b *patchwave.Baseline) { b.Scope = "site" }, `unknown scope "site"`},
		{"global with selector", func(b *patchwave.Baseline) { b.Scope = "global"; b.Selector = sel("tier=lab") }, "a global baseline has no selector"},
		{"scoped without selector", func(b *patchwave.Baseline) { b.Scope = "scoped" }, "needs a selector"},
		{"host without selector", func(b *patchwave.Baseline) { b.Scope = "host" }, "names hosts without wildcards"},
		{"host with glob", func(b *patchwave.Baseline) { b.Scope = "host"; b.Selector = sel("host=web*") }, "names hosts without wildcards"},
		{"host with other terms", func(b *patchwave.Baseline) { b.Scope = "host"; b.Selector = sel("host=web1 tier=lab") }, "names hosts without wildcards"},
		{"unknown severity", func(b *patchwave.Baseline) { b.Rules[0].MinSeverity = "urgent" }, `rules[0]: unknown min_severity "urgent"`},
		{"unknown as min severity", func(b *patchwave.Baseline) { b.Rules[0].MinSeverity = "unknown" }, "leave it empty"},
		{"unknown classification", func(b *patchwave.Baseline) { b.Rules[2].Classification = "feature" }, `rules[2]: unknown classification "feature"`},
		{"negative days", func(b *patchwave.Baseline) { b.Rules[0].ApproveAfterDays = days(-1) }, "rules[0]: approve_after_days is -1"},
		{"too many days", func(b *patchwave.Baseline) { b.Rules[0].ApproveAfterDays = days(4000) }, "approve_after_days is 4000"},
		{"after and until", func(b *patchwave.Baseline) { b.Rules[1].ApproveAfterDays = days(1) }, "rules[1]: set approve_after_days or approve_until, not both"},
		{"zero until", func(b *patchwave.Baseline) { b.Rules[1].ApproveUntil = &time.Time{} }, "zero time"},
		{"empty approve", func(b *patchwave.Baseline) { b.Approve = append(b.Approve, patchwave.PatchRef{}) }, "approve[1]: names no package"},
		{"empty reject", func(b *patchwave.Baseline) { b.Reject[0].PatchRef = patchwave.PatchRef{} }, "reject[0]: names no package"},
		{"spaces in ref", func(b *patchwave.Baseline) { b.Approve[0].CVE = " CVE-1" }, "leading or trailing spaces"},
		{"bad mode", func(b *patchwave.Baseline) { b.Reject[0].Mode = "soft" }, `reject[0]: unknown mode "soft"`},
		{"conflict", func(b *patchwave.Baseline) {
			b.Approve = append(b.Approve, patchwave.PatchRef{Package: "x", CVE: "cve-2026-1"})
		}, "approve[1] and reject[1] both name package x, cve-2026-1"},
		{"conflict with default mode", func(b *patchwave.Baseline) {
			b.Approve = append(b.Approve, patchwave.PatchRef{Advisory: "dsa-1"})
		}, "approve[1] and reject[2]"},
	} {
		b := ok
		b.Rules = append([]patchwave.BaselineRule(nil), ok.Rules...)
		b.Approve = append([]patchwave.PatchRef(nil), ok.Approve...)
		b.Reject = append([]patchwave.RejectRef(nil), ok.Reject...)
		tc.edit(&b)
		err := b.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		} else if patchwave.ErrorCode(err) != patchwave.EInvalid {
			t.Errorf("%s: code %s", tc.name, patchwave.ErrorCode(err))
		}
	}
}

func TestBaselineJSON(t *testing.T) {
	in := `{"name":"mc","selector":"tier=mission-critical","scope":"scoped",
		"rules":[{"ecosystem":"Debian:*","min_severity":"high","classification":"security","package":"*","approve_after_days":3},
		         {"approve_until":"2026-01-01T00:00:00Z"}],
		"approve":[{"package":"openssl","advisory":"DSA-1","cve":"CVE-1"}],
		"reject":[{"package":"linux-image-*","mode":"dependency-only","reason":"kernels by hand"}],
		"description":"d"}`
	var b patchwave.Baseline
	if err := json.Unmarshal([]byte(in), &b); err != nil {
		t.Fatal(err)
	}
	if err := b.Validate(); err != nil {
		t.Fatal(err)
	}
	if b.Selector.String() != "tier=mission-critical" || *b.Rules[0].ApproveAfterDays != 3 || !b.Rules[1].ApproveUntil.Equal(day(2026, 1, 1)) ||
		b.Reject[0].Package != "linux-image-*" || b.Reject[0].Mode != "dependency-only" || b.Approve[0].CVE != "CVE-1" {
		t.Errorf("decoded %+v", b)
	}
	out, _ := json.Marshal(b)
	var again patchwave.Baseline
	if err := json.Unmarshal(out, &again); err != nil || !reflect.DeepEqual(again.Rules, b.Rules) || !again.Selector.Equal(b.Selector) {
		t.Errorf("round trip: %s: %v", out, err)
	}
	// The reject entry's fields are flat, not nested.
	if !strings.Contains(string(out), `"reject":[{"package":"linux-image-*","mode":"dependency-only"`) {
		t.Errorf("encoded %s", out)
	}
}

func TestBaselineOverlaps(t *testing.T) {
	ref := func(pkg string) patchwave.PatchRef { return patchwave.PatchRef{Package: pkg} }
	for _, tc := range []struct {
		name           string
		approve        []patchwave.PatchRef
		reject         []patchwave.PatchRef
		err, warning   string
		noErr, noWarns bool
	}{
		{name: "a family approved but for one member", approve: []patchwave.PatchRef{ref("openssl*")}, reject: []patchwave.PatchRef{ref("openssl")},
			warning: `reject[0] (package openssl) overrides approve[0] (package openssl*) for the patches both name: the rejection wins`},
		{name: "a rejection that swallows an approval", approve: []patchwave.PatchRef{ref("linux-image-6.1")}, reject: []patchwave.PatchRef{ref("x"), ref("linux-*")},
			err: `approve[0] (package linux-image-6.1) never applies: reject[1] (package linux-*) names every patch it does`},
		{name: "a narrower glob under a wider one", approve: []patchwave.PatchRef{ref("lib*-dev")}, reject: []patchwave.PatchRef{ref("lib*")},
			err: `approve[0] (package lib*-dev) never applies: reject[0] (package lib*)`},
		{name: "the same entry", approve: []patchwave.PatchRef{ref("nginx")}, reject: []patchwave.PatchRef{ref("nginx")},
			err: "approve[0] and reject[0] both name package nginx"},
		{name: "a rejection of one CVE of the package", approve: []patchwave.PatchRef{ref("openssl")},
			reject:  []patchwave.PatchRef{{Package: "openssl", CVE: "CVE-2026-1"}},
			warning: "reject[0] (package openssl, CVE-2026-1) overrides approve[0] (package openssl)"},
		{name: "a rejection of a package for one advisory", approve: []patchwave.PatchRef{{Advisory: "DSA-1"}},
			reject: []patchwave.PatchRef{{Advisory: "dsa-1", Package: "bash"}}, warning: "overrides approve[0] (advisory DSA-1)"},
		{name: "an approval of one CVE of a rejected advisory", approve: []patchwave.PatchRef{{Advisory: "DSA-1", CVE: "CVE-1"}},
			reject: []patchwave.PatchRef{{Advisory: "DSA-1"}}, err: "approve[0] (advisory DSA-1, CVE-1) never applies: reject[0] (advisory DSA-1)"},
		{name: "unrelated", approve: []patchwave.PatchRef{ref("bash"), {CVE: "CVE-2"}}, reject: []patchwave.PatchRef{ref("openssl*"), {CVE: "CVE-1"}},
			noErr: true, noWarns: true},
		{name: "globs that only intersect", approve: []patchwave.PatchRef{ref("lib*")}, reject: []patchwave.PatchRef{ref("*ssl")}, noErr: true, noWarns: true},
	} {
		b := patchwave.Baseline{Name: "b", Approve: tc.approve}
		for _, r := range tc.reject {
			b.Reject = append(b.Reject, patchwave.RejectRef{PatchRef: r})
		}
		err := b.Validate()
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		}
		if tc.err != "" {
			continue
		}
		ws := b.Warnings()
		switch {
		case tc.noWarns && len(ws) > 0:
			t.Errorf("%s: warnings %q", tc.name, ws)
		case tc.warning != "" && (len(ws) != 1 || !strings.Contains(ws[0], tc.warning)):
			t.Errorf("%s: warnings %q, want one with %q", tc.name, ws, tc.warning)
		}
	}
}
