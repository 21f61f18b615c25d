package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patchwave/patchwave"
)

// addPolicy gives the fake backend a patch policy, and its hosts and
// findings their outcome under it. Some of it is hostile text, as a careless
// or malicious policy author could write it.
func addPolicy(b *fakeBackend) {
	now := time.Now()
	assessed := now.Add(-5 * time.Minute)
	b.hosts[0].Compliance, b.hosts[0].AssessedAt = string(patchwave.ComplianceBreached), &assessed
	b.hosts[0].TierSource, b.hosts[0].HighExposure = "rule", true
	b.hosts[1].Compliance, b.hosts[1].AssessedAt, b.hosts[1].TierSource = string(patchwave.NonCompliant), &assessed, "manual"

	b.findings[0].Policy = &patchwave.FindingPolicy{
		Due: time.Date(2026, 1, 15, 23, 59, 59, 0, time.UTC), SLA: patchwave.SLABreached,
		Risk: patchwave.Risk{Score: 93.4, Parts: []patchwave.RiskPart{
			{Name: "severity", Points: 39.2, Detail: "CVSS base score 9.8 × 4"},
			{Name: "kev", Points: 35, Detail: "known exploited (CISA KEV); used in ransomware campaigns (+10)"},
			{Name: "epss", Points: 14.8, Detail: "EPSS 0.9731: 15 × √0.9731"},
			{Name: "tier", Points: 10, Detail: "tier business-critical"},
			{Name: "exposure", Points: 0, Detail: "normal exposure"},
		}},
		Approved: true, Compliance: patchwave.ComplianceBreached,
		Decision: &patchwave.Decision{Approved: true, Baseline: "all", Rule: "rules[0]",
			Reason: `global baseline "all" rules[0]: approved by rule`},
	}
	b.findings[1].Policy = &patchwave.FindingPolicy{
		Due: now.AddDate(0, 0, 57), SLA: patchwave.SLAOnTrack,
		Risk:     patchwave.Risk{Score: 21.5, Parts: []patchwave.RiskPart{{Name: "severity", Points: 21.2, Detail: "CVSS base score 5.3 × 4"}}},
		Excepted: true, ExceptionIDs: []int64{7, 9}, Compliance: patchwave.CompliantWithExceptions,
	}
	b.findings[2].Policy = &patchwave.FindingPolicy{
		Due: now.Add(50 * time.Hour), SLA: patchwave.SLAAtRisk,
		Risk: patchwave.Risk{Score: 55, Parts: []patchwave.RiskPart{
			{Name: `<b>part</b>`, Points: 55, Detail: `<script>alert("risk")</script>`}}},
		Compliance: patchwave.Compliant,
		Decision:   &patchwave.Decision{Reason: `"><script>alert("reason")</script>`},
	}

	b.sla = patchwave.DefaultSLA()
	b.sla.AtRisk = 0.75
	zero, seven := 0, 7
	freeze := time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC)
	b.baselines = []patchwave.Baseline{
		{ID: 1, Name: "all", Rules: []patchwave.BaselineRule{{MinSeverity: patchwave.SeverityLow, ApproveAfterDays: &zero}}},
		{ID: 2, Name: "lab-first", Selector: patchwave.MustParseSelector(`tier=lab tag=<script>alert("sel")</script>`),
			Description: `<script>alert("desc")</script> lab hosts go first`,
			Rules: []patchwave.BaselineRule{
				{Ecosystem: "Debian:*", Classification: patchwave.ClassSecurity, MinSeverity: patchwave.SeverityHigh,
					Package: "linux-*", ApproveAfterDays: &seven},
				{ApproveUntil: &freeze},
			},
			Approve: []patchwave.PatchRef{{CVE: "CVE-2026-0001"}},
			Reject: []patchwave.RejectRef{{PatchRef: patchwave.PatchRef{Package: "openssl"}, Mode: patchwave.RejectDependencyOnly,
				Reason: `<script>alert("reason")</script>`}},
		},
		{ID: 3, Name: "web01-hold", Scope: patchwave.ScopeHost, Selector: patchwave.MustParseSelector("host=web01"),
			Reject: []patchwave.RejectRef{{PatchRef: patchwave.PatchRef{Package: "nginx"}, Reason: "pinned by the shop team"}}},
	}
	decided := now.Add(-2 * time.Hour)
	b.exceptions = []patchwave.Exception{
		{ID: 7, Kind: patchwave.ExceptionRiskAcceptance, Host: "web01", CVE: "CVE-2025-1111",
			Justification:       "Not reachable from outside.\n<script>alert(\"why\")</script>",
			CompensatingControl: `WAF rule <b>42</b> drops HTTP/2`, Owner: "alice", Approver: "bob",
			State: patchwave.ExceptionApproved, CreatedAt: now.Add(-26 * time.Hour), DecidedAt: &decided,
			ExpiresAt: now.AddDate(0, 0, 30)},
		{ID: 8, Kind: patchwave.ExceptionExclusion, Site: "paris", Selector: patchwave.MustParseSelector(`tag=<script>alert("exc")</script>`),
			Cycle: "2026-12", Justification: "Trade show in the Paris office", Owner: "carol",
			State: patchwave.ExceptionPending, Late: true, CreatedAt: now.Add(-time.Hour), ExpiresAt: now.AddDate(0, 0, 20)},
		{ID: 9, Kind: patchwave.ExceptionRestriction, Package: "openssl", Advisory: "DSA-5900-1",
			Justification: "The app breaks with openssl 3.x", Owner: "dave",
			State: patchwave.ExceptionExpired, CreatedAt: now.AddDate(0, -2, 0), ExpiresAt: now.AddDate(0, 0, -2)},
		{ID: 10, Kind: patchwave.ExceptionRiskAcceptance, Advisory: "ALSA-2026:7343", Host: "1234",
			Justification: "We would rather not patch", CompensatingControl: "none really", Owner: "erin", Approver: "bob",
			State: patchwave.ExceptionRejected, CreatedAt: now.Add(-3 * time.Hour), DecidedAt: &decided, ExpiresAt: now.AddDate(0, 0, 10)},
	}
	b.serviceBaselines = []patchwave.ServiceBaseline{
		{ID: 2, Name: "web", Selector: patchwave.MustParseSelector("tag=web"), Expected: []string{"ssh", "nginx", "systemd-*"}},
		{ID: 1, Name: "base", Expected: []string{`<script>alert("svc")</script>`}},
	}
}

func (b *fakeBackend) SLA(ctx context.Context) (patchwave.SLAPolicy, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sla, b.failPolicy
}

func (b *fakeBackend) Baselines(ctx context.Context) ([]patchwave.Baseline, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.baselines), b.failPolicy
}

func (b *fakeBackend) Exceptions(ctx context.Context) ([]patchwave.Exception, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.exceptions), b.failPolicy
}

func (b *fakeBackend) ServiceBaselines(ctx context.Context) ([]patchwave.ServiceBaseline, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.serviceBaselines), b.failPolicy
}

func (b *fakeBackend) CreateException(ctx context.Context, u patchwave.User, e patchwave.Exception) (patchwave.Exception, []string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failPolicy != nil {
		return e, nil, b.failPolicy
	}
	if u.Role == patchwave.RoleSiteAdmin && !slices.Contains(u.Sites, e.Site) {
		return e, nil, patchwave.Errorf(patchwave.EForbidden, "the exception's scope is at site %q: you manage only %s", e.Site, strings.Join(u.Sites, ", "))
	}
	if err := e.Validate(time.Now()); err != nil {
		return e, nil, err
	}
	e.ID, e.Owner, e.CreatedAt, e.State = int64(100+len(b.exceptions)), u.Name, time.Now(), patchwave.ExceptionApproved
	b.exceptions = append(b.exceptions, e)
	b.created = append(b.created, e)
	return e, nil, nil
}

func (b *fakeBackend) DecideException(ctx context.Context, u patchwave.User, id int64, to patchwave.ExceptionState, comment string) (patchwave.Exception, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, e := range b.exceptions {
		if e.ID != id {
			continue
		}
		if to != patchwave.ExceptionRevoked && u.Role != patchwave.RoleAdmin && u.Role != patchwave.RoleApprover {
			return e, patchwave.Errorf(patchwave.EForbidden, "only approvers and admins decide on exceptions (you are %s)", u.Role)
		}
		b.exceptions[i].State, b.exceptions[i].Approver = to, u.Name
		b.decisions = append(b.decisions, fmt.Sprintf("%d %s by %s: %s", id, to, u.Name, comment))
		return b.exceptions[i], nil
	}
	return patchwave.Exception{}, patchwave.Errorf(patchwave.ENotFound, "exception %d not found", id)
}

func (b *fakeBackend) TimeZone() *time.Location { return time.UTC }

// checkPage fails when body lacks one of want, or has hostile text
// unescaped, or inline code that the Content-Security-Policy would block.
func checkPage(t *testing.T, name, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %s", name, w)
		}
	}
	for _, bad := range []string{"<script>alert", "<b>part", "<b>42", `"><script`} {
		if strings.Contains(body, bad) {
			t.Errorf("%s has unescaped %s", name, bad)
		}
	}
	if m := inlineRE.FindString(strings.ReplaceAll(body, "&lt;img src=x onerror=alert(1)&gt;", "")); m != "" {
		t.Errorf("%s has inline code the CSP would block: %q", name, m)
	}
}

func TestPolicyPage(t *testing.T) {
	ui := newTestUI(t, false)
	resp, body := ui.do(t, "GET", "/policy", nil, true)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /policy = %d\n%s", resp.StatusCode, body)
	}
	checkPage(t, "policy page", body,
		`<a href="/policy" aria-current="page">Policy</a>`, `<a href="/exceptions">Exceptions</a>`,
		// Read-only, with the commands that change it.
		`This page is read-only.`, `patchwave sla set sla.json`, `patchwave baselines apply servers.json`,
		`patchwave service-baselines add web`,
		// The SLA table: tiers × severities, in days.
		`<th scope="col" class="num"><span class="sev sev-critical">Critical</span></th>`,
		`<span class="tier tier-mission-critical">Mission-critical</span></th>
          <td class="num days" data-label="Critical">7<span class="unit"> days</span></td><td class="num days" data-label="High">15<span class="unit"> days</span></td><td class="num days" data-label="Medium">30<span class="unit"> days</span></td><td class="num days" data-label="Low">90<span class="unit"> days</span></td>`,
		`<td class="num days" data-label="Low">365<span class="unit"> days</span></td>`,
		`once <strong>75%</strong> of a finding's window has passed`,
		`Known-exploited findings are due by their CISA KEV due date when that comes first.`,
		`Findings of severity none get the low window, and unrated findings get the medium window`,
		// Baselines, in words.
		`<h3 class="baseline-name mono">all</h3>`, `<span class="scope scope-global">Global</span>`,
		`Approve patches of low severity or higher, as soon as they are published.`,
		`<span class="scope scope-scoped">Scoped</span>`,
		`hosts matching <code class="selector">tier=lab,tag=&lt;script&gt;alert(&#34;sel&#34;)&lt;/script&gt;</code>`,
		`&lt;script&gt;alert(&#34;desc&#34;)&lt;/script&gt; lab hosts go first`,
		`Approve security patches of high severity or higher, in Debian:*, of packages matching linux-*, 7 days after publication.`,
		`Approve every patch, when published on or before 2026-01-31 (a freeze).`,
		`<span class="chip chip-approve">CVE-2026-0001</span>`,
		`<span class="chip chip-reject">package openssl</span> <span class="badge badge-warn"`,
		`<span class="reject-reason">&lt;script&gt;alert(&#34;reason&#34;)&lt;/script&gt;</span>`,
		`<span class="scope scope-host">Host override</span>`, `for <a class="mono" href="/hosts/web01">web01</a>`,
		`<span class="badge badge-error">blocked</span> <span class="reject-reason">pinned by the shop team</span>`,
		`How baselines combine`, `a <strong>reject</strong> entry always wins`,
		// Service baselines, by name.
		`<th scope="row" class="mono">web</th>`, `<code class="selector">tag=web</code>`,
		`<span class="chip chip-static mono">systemd-*</span>`, `&lt;script&gt;alert(&#34;svc&#34;)&lt;/script&gt;`,
		// The compliance legend.
		`<span class="compliance compliance-breached">SLA breached</span></dt><dd>A finding that has a fix, and that no exception covers, is past its due date.</dd>`,
	)
	// Host overrides first, then scoped, then global baselines.
	if i, j, k := strings.Index(body, "web01-hold</h3>"), strings.Index(body, "lab-first</h3>"), strings.Index(body, ">all</h3>"); i < 0 || !(i < j && j < k) {
		t.Errorf("baselines not in order of precedence: %d %d %d", i, j, k)
	}
	if strings.Index(body, `mono">base</th>`) > strings.Index(body, `mono">web</th>`) {
		t.Errorf("service baselines not sorted by name")
	}

	// A policy with windows of its own for none and unknown shows them, and
	// one without baselines says what that means.
	ui.b.sla.Days[patchwave.TierLab][patchwave.SeverityUnknown] = 200
	ui.b.sla.KEVDueDates = false
	ui.b.baselines, ui.b.serviceBaselines = nil, nil
	_, body = ui.do(t, "GET", "/policy", nil, true)
	checkPage(t, "policy page", body,
		`<span class="sev sev-unknown">Unknown</span></th>`, `<td class="num days" data-label="Unknown">200<span class="unit"> days</span></td>`,
		`<td class="num days" data-label="Medium">90<span class="unit"> days</span></td>`, // business-operational's medium, as unknown
		`Findings of severity none get the low window.</li>`,
		`CISA KEV due dates do <strong>not</strong> shorten the deadlines.`,
		`No baselines yet`, `patchwave baselines apply -`, `No service baselines: running services are not checked.`,
		`Baselines <span class="count">0</span>`)

	// A failing store is an internal error, logged and not shown.
	ui.b.failPolicy = errors.New("database is locked")
	resp, body = ui.do(t, "GET", "/policy", nil, true)
	if resp.StatusCode != http.StatusInternalServerError || strings.Contains(body, "database is locked") {
		t.Errorf("failing policy page = %d\n%s", resp.StatusCode, body)
	}
}

func TestExceptionsPage(t *testing.T) {
	ui := newTestUI(t, false)
	resp, body := ui.do(t, "GET", "/exceptions", nil, true)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /exceptions = %d\n%s", resp.StatusCode, body)
	}
	checkPage(t, "exceptions page", body,
		`<a href="/exceptions" aria-current="page">Exceptions</a>`,
		`4 exceptions · <span class="badge badge-warn">1 awaiting approval</span>`,
		`Exceptions can also be requested and decided with the API or the command line:`, `patchwave exceptions create --kind risk-acceptance`, `patchwave exceptions approve 7`,
		`<div class="stat stat-pending"><dt>Pending</dt><dd>1</dd></div>`,
		`<div class="stat stat-approved"><dt>Approved</dt><dd>1</dd></div>`,
		`<div class="stat stat-pending"><dt>Late</dt><dd>1</dd></div>`,
		// The approved risk acceptance.
		`<tr id="exception-7" class="exception is-approved">`,
		`<span class="kind-badge kind-risk-acceptance">Risk acceptance</span>`,
		`<span class="badge badge-ok">Approved</span>`, `decided <time`,
		`<li>host <a class="mono" href="/hosts/web01">web01</a></li>`,
		`<li><a class="mono" href="/findings?cve=CVE-2025-1111">CVE-2025-1111</a></li>`,
		`<div><dt>Owner</dt><dd>alice</dd></div><div><dt>Approver</dt><dd>bob</dd></div>`,
		`in 29 days`, // or 30, by the second: see below
		`<p class="why">Not reachable from outside.
&lt;script&gt;alert(&#34;why&#34;)&lt;/script&gt;</p>`,
		`<span class="control-label">Compensating control</span>WAF rule &lt;b&gt;42&lt;/b&gt; drops HTTP/2</p>`,
		// The late exclusion, waiting for an approver.
		`<span class="badge badge-warn">Pending</span> <span class="badge badge-late"`,
		`<span class="kind-badge kind-exclusion">Exclusion</span>`,
		`<li>site <a href="/hosts?site=paris">paris</a></li>`,
		`<li>matching <code class="selector">tag=&lt;script&gt;alert(&#34;exc&#34;)&lt;/script&gt;</code></li>`,
		`Whole hosts, cycle <span class="mono">2026-12</span>`,
		// The expired restriction.
		`<span class="badge badge-muted">Expired</span>`, `<span class="cell-sub expired">2 days ago</span>`,
		`<li>package <a class="mono" href="/findings?package=openssl">openssl</a></li>`,
		`<li>advisory <a class="mono" href="/advisories/DSA-5900-1">DSA-5900-1</a></li>`,
		`All hosts`,
		// The rejected one, about a host whose name is all digits.
		`<span class="badge badge-error">Rejected</span>`, `<dt>Rejected by</dt><dd>bob</dd>`,
		`<li>host <span class="mono">1234</span></li>`,
	)
	// Newest first.
	if i, j := strings.Index(body, `id="exception-10"`), strings.Index(body, `id="exception-7"`); i < 0 || j < i {
		t.Errorf("exceptions not newest first")
	}

	// Filters.
	_, body = ui.do(t, "GET", "/exceptions?state=approved", nil, true)
	checkPage(t, "approved exceptions", body, `<option value="approved" selected>Approved</option>`,
		`4 exceptions · 1 matching the filters`, `id="exception-7"`, `>Clear</a>`)
	if strings.Contains(body, `id="exception-8"`) || strings.Contains(body, `id="exception-9"`) {
		t.Errorf("state filter kept other exceptions")
	}
	_, body = ui.do(t, "GET", "/exceptions?kind=Exclusion", nil, true)
	checkPage(t, "exclusions", body, `<option value="exclusion" selected>Exclusion</option>`, `id="exception-8"`)
	if strings.Contains(body, `id="exception-7"`) {
		t.Errorf("kind filter kept a risk acceptance")
	}
	_, body = ui.do(t, "GET", "/exceptions?kind=restriction&state=revoked", nil, true)
	checkPage(t, "no match", body, "No exceptions match these filters", `href="/exceptions">Clear all filters</a>`)
	for _, bad := range []string{"state=late", "kind=waiver", "state=%00"} {
		resp, _ := ui.do(t, "GET", "/exceptions?"+bad, nil, true)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("GET /exceptions?%s = %d, want 400", bad, resp.StatusCode)
		}
	}

	// None at all.
	ui.b.exceptions = nil
	_, body = ui.do(t, "GET", "/exceptions", nil, true)
	checkPage(t, "no exceptions", body, "<h2>No exceptions</h2>", "No exceptions\n")
	if strings.Contains(body, `<form class="filters`) {
		t.Errorf("exceptions page without exceptions shows filters")
	}
}

func TestFindingsPolicy(t *testing.T) {
	ui := newTestUI(t, false)
	_, body := ui.do(t, "GET", "/findings", nil, true)
	checkPage(t, "findings page", body,
		`<abbr title="Risk score from 0 to 100: severity, known exploitation, EPSS, host tier and exposure">Risk</abbr>`,
		`<th scope="col">Due</th>`,
		// The risk score and its parts.
		`<summary><span class="risk risk-critical">93.4</span><span class="visually-hidden"> out of 100: how it adds up</span></summary>`,
		`<li><span class="part-name">Severity</span> <span class="part-points">+39.2</span><span class="part-detail">CVSS base score 9.8 × 4</span></li>`,
		`<span class="part-name">Known exploited</span> <span class="part-points">+35.0</span>`,
		`<li class="is-zero"><span class="part-name">Exposure</span> <span class="part-points">+0.0</span><span class="part-detail">normal exposure</span></li>`,
		`<span class="risk risk-low">21.5</span>`, `<span class="risk risk-high">55.0</span>`,
		`<span class="part-name">&lt;b&gt;part&lt;/b&gt;</span>`, `&lt;script&gt;alert(&#34;risk&#34;)&lt;/script&gt;`,
		// Due dates, SLA badges and approval.
		`<div class="due-stack"><span class="sla sla-breached">Breached</span><span class="due-line"><time class="due-date" datetime="2026-01-15T23:59:59Z" title="2026-01-15 23:59 UTC">2026-01-15</time> <span class="due-rel">`,
		`<span class="sla sla-on-track">On track</span><span class="due-line">`, `<span class="due-rel">in 56 days</span>`,
		`<span class="sla sla-at-risk">At risk</span><span class="due-line">`, `<span class="due-rel">in 2 days</span>`,
		`<span class="appr appr-approved" title="global baseline &#34;all&#34; rules[0]: approved by rule">Approved</span>`,
		`<a class="appr appr-excepted" href="/exceptions#exception-7" title="Covered by exception #7, #9">Excepted</a>`,
		`<span class="appr appr-none" title="&#34;&gt;&lt;script&gt;alert(&#34;reason&#34;)&lt;/script&gt;">Not approved</span>`,
		// The summary counts them.
		`<div class="stat stat-breached"><dt>Past due</dt><dd>1</dd></div>`,
		`<div class="stat stat-at-risk"><dt>At risk</dt><dd>1</dd></div>`,
		`<div class="stat stat-excepted"><dt>Excepted</dt><dd>1</dd></div>`,
		// The new filters.
		`<select id="f-sla" name="sla">`, `<option value="breached">Breached</option>`,
		`<select id="f-excepted" name="excepted">`, `<option value="risk">Highest risk first</option>`,
	)
	if n := strings.Count(body, `<details class="risk-details">`); n != 3 {
		t.Errorf("%d risk explanations, want 3", n)
	}

	// Findings not judged yet show dashes, and no policy stats.
	for i := range ui.b.findings {
		ui.b.findings[i].Policy = nil
	}
	_, body = ui.do(t, "GET", "/findings", nil, true)
	if strings.Contains(body, "risk-details") || strings.Contains(body, "stat-breached") || strings.Contains(body, `class="sla `) {
		t.Errorf("findings without policy show policy outcomes")
	}

	// Fixed findings say whether the fix came in time.
	ui = newTestUI(t, false)
	ui.b.findings[0].State, ui.b.findings[0].FixedAt = patchwave.FindingFixed, ui.b.findings[0].FirstSeen
	ui.b.findings[2].State, ui.b.findings[2].FixedAt = patchwave.FindingFixed, ui.b.findings[2].FirstSeen
	_, body = ui.do(t, "GET", "/findings?state=fixed", nil, true)
	checkPage(t, "fixed findings", body, `<th scope="col">Due</th>`, `<span class="sla sla-breached">Fixed late</span>`,
		`<span class="sla sla-on-track">Fixed in time</span>`)
	if strings.Contains(body, "in 2 days") {
		t.Errorf("fixed findings say when they are due")
	}
}

func TestFindingsPolicyFilters(t *testing.T) {
	ui := newTestUI(t, false)
	ui.b.findingsNext = 100
	resp, body := ui.do(t, "GET", "/findings?sla=Breached&excepted=no&sort=risk&after=50&limit=50", nil, true)
	if resp.StatusCode != 200 {
		t.Fatalf("filtered findings = %d\n%s", resp.StatusCode, body)
	}
	f := ui.b.lastFindings
	if f.SLA != "breached" || f.Excepted == nil || *f.Excepted || f.Sort != "risk" || f.Offset != 50 || f.After != 0 || f.Limit != PageSize {
		t.Errorf("backend got filter %+v", f)
	}
	checkPage(t, "filtered findings", body,
		`<option value="breached" selected>Breached</option>`, `<option value="false" selected>Not excepted</option>`,
		`<option value="risk" selected>Highest risk first</option>`, `matching the filters, highest risk first`,
		// Sorted by risk, pages are offsets, as in the API.
		`href="/findings?after=100&amp;excepted=false&amp;sla=breached&amp;sort=risk" rel="next"`,
		`href="/findings?excepted=false&amp;sla=breached&amp;sort=risk">← First page</a>`,
		// Clearing the filters keeps the order.
		`href="/findings?sort=risk">Clear</a>`)

	ui.b.findingsNext = 0
	_, _ = ui.do(t, "GET", "/findings?excepted=true&sla=on-track&after=12", nil, true)
	if f := ui.b.lastFindings; f.SLA != "on-track" || f.Excepted == nil || !*f.Excepted || f.Sort != "" || f.After != 12 || f.Offset != 0 {
		t.Errorf("backend got filter %+v", f)
	}
	_, _ = ui.do(t, "GET", "/findings?sort=id", nil, true)
	if f := ui.b.lastFindings; f.Sort != "" {
		t.Errorf("sort=id: backend got filter %+v", f)
	}

	for _, bad := range []string{"sla=late", "sla=unknown", "excepted=maybe", "sort=name", "sort=risk&after=-1",
		"sort=risk&after=99999999999"} {
		resp, _ := ui.do(t, "GET", "/findings?"+bad, nil, true)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("GET /findings?%s = %d, want 400", bad, resp.StatusCode)
		}
	}
}

func TestHostPagePolicy(t *testing.T) {
	ui := newTestUI(t, false)
	_, body := ui.do(t, "GET", "/hosts/web01", nil, true)
	checkPage(t, "host page", body,
		`<span id="compliance-label" class="compliance-label">Compliance</span>
    <span class="compliance compliance-breached">SLA breached</span>`,
		`assessed <time datetime="`, `5 minutes ago</time>`,
		`<span class="tier-source">tier set by rule</span>`,
		`<span class="badge badge-exposure" title="People on this host share and install a lot: its findings carry more risk">High exposure</span>`,
		`<dt>Tier</dt><dd>Business-critical<span class="fact-sub">Tier set by rule</span></dd>`,
		`<dt>Exposure</dt><dd><span class="badge badge-exposure">High exposure</span></dd>`,
		`<span class="sla sla-breached">1 past due</span>`, `<span class="appr appr-excepted">1 excepted</span>`,
		`<span class="risk risk-critical">93.4</span>`, `<a class="appr appr-excepted" href="/exceptions#exception-7"`,
	)
	missing := body[strings.Index(body, `id="missing-title"`):strings.Index(body, `id="net-title"`)]
	if !strings.Contains(missing, "risk-details") || !strings.Contains(missing, "sla-breached") {
		t.Errorf("missing patches lack their policy")
	}
	// Highest risk first.
	if i, j := strings.Index(missing, "93.4"), strings.Index(missing, "21.5"); i < 0 || j < i {
		t.Errorf("missing patches not in order of risk")
	}

	_, body = ui.do(t, "GET", "/hosts/1234", nil, true)
	checkPage(t, "unassessed host", body, `<span class="compliance compliance-unknown">Unknown</span>`, `not assessed yet`,
		`<dt>Exposure</dt><dd>Normal</dd>`)
	if strings.Contains(body, "tier-source") {
		t.Errorf("host without a tier source shows one")
	}
	_, body = ui.do(t, "GET", "/hosts/2", nil, true)
	checkPage(t, "hostile host", body, `<span class="compliance compliance-non-compliant">Non-compliant</span>`,
		`<span class="tier-source">tier set by hand</span>`)
}

func TestHostListCompliance(t *testing.T) {
	ui := newTestUI(t, false)
	_, body := ui.do(t, "GET", "/hosts", nil, true)
	checkPage(t, "host list", body, `<th scope="col">Compliance</th>`,
		`<td data-label="Compliance"><span class="compliance compliance-breached">SLA breached</span></td>`,
		`<td data-label="Compliance"><span class="compliance compliance-non-compliant">Non-compliant</span></td>`,
		`<td data-label="Compliance"><span class="compliance compliance-unknown">Unknown</span></td>`)
}

func TestPolicyFormatting(t *testing.T) {
	zero, one, thirty := 0, 1, 30
	until := time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		r    patchwave.BaselineRule
		want string
	}{
		{patchwave.BaselineRule{}, "Approve every patch, at once."},
		{patchwave.BaselineRule{ApproveAfterDays: &zero}, "Approve every patch, as soon as it is published."},
		{patchwave.BaselineRule{MinSeverity: patchwave.SeverityCritical, ApproveAfterDays: &one},
			"Approve patches of critical severity, 1 day after publication."},
		{patchwave.BaselineRule{MinSeverity: patchwave.SeverityNone, Package: "openssl", ApproveAfterDays: &thirty},
			"Approve patches of any rated severity, of package openssl, 30 days after publication."},
		{patchwave.BaselineRule{Classification: patchwave.ClassBugfix, ApproveUntil: &until},
			"Approve bugfix patches, when published on or before 2026-03-01 12:30 UTC (a freeze)."},
	} {
		if got := ruleText(tc.r); got != tc.want {
			t.Errorf("ruleText(%+v) = %q, want %q", tc.r, got, tc.want)
		}
	}
	for score, want := range map[float64]string{0: "risk risk-low", 24.9: "risk risk-low", 25: "risk risk-medium",
		45: "risk risk-high", 70: "risk risk-critical", 100: "risk risk-critical"} {
		if got := riskClass(score); got != want {
			t.Errorf("riskClass(%v) = %q, want %q", score, got, want)
		}
	}
	for _, c := range []string{"", "unknown", "nonsense"} {
		if got := complianceBadge(c).Label; got != "Unknown" {
			t.Errorf("complianceBadge(%q) = %q, want Unknown", c, got)
		}
	}
	later := time.Now().AddDate(0, 0, 5)
	for _, tc := range []struct {
		p    *patchwave.FindingPolicy
		want string
	}{
		{nil, ""},
		{&patchwave.FindingPolicy{}, ""}, // no patch: no fix yet
		{&patchwave.FindingPolicy{Decision: &patchwave.Decision{Blocked: true}}, "Rejected"},
		{&patchwave.FindingPolicy{Decision: &patchwave.Decision{DependencyOnly: true}}, "Dependency only"},
		{&patchwave.FindingPolicy{Decision: &patchwave.Decision{ApprovedFrom: &later}}, "Approved from " + later.UTC().Format("2006-01-02")},
		{&patchwave.FindingPolicy{Decision: &patchwave.Decision{}}, "Not approved"},
		{&patchwave.FindingPolicy{Excepted: true, Decision: &patchwave.Decision{Approved: true}}, "Excepted"},
	} {
		if got := approvalBadge(tc.p).Label; got != tc.want {
			t.Errorf("approvalBadge(%+v) = %q, want %q", tc.p, got, tc.want)
		}
	}
}
