package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/client"
)

// readJSONArg reads a JSON document from a file path or "-" for stdin.
func readJSONArg(e env, path string) (json.RawMessage, error) {
	var r io.Reader = e.stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, 4<<20))
	if err != nil {
		return nil, err
	}
	if !json.Valid(b) {
		return nil, fmt.Errorf("%s is not valid JSON", path)
	}
	return b, nil
}

// slaVerbs is the verb table of "patchwave sla".
func slaVerbs() []command {
	return []command{
		{"show", "show remediation deadlines by tier and severity", runSLAShow},
		{"set", "replace the SLA policy from a JSON file", runSLASet},
	}
}

func runSLAShow(ctx context.Context, e env, args []string) error {
	v := newVerb("sla show", "", 0, "Show the SLA policy: days to remediate a finding, by host tier and severity.\n"+
		"Known-exploited findings are due by their KEV due date when that is earlier.", "patchwave sla show -o json")
	out := v.outputFlag()
	if _, err := v.parse(args); err != nil {
		return err
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	p, err := c.SLA(ctx)
	if err != nil {
		return fmt.Errorf("sla: %w", err)
	}
	if *out == formatJSON {
		return writeJSON(e.stdout, p)
	}
	sevs := []patchwave.Severity{patchwave.SeverityCritical, patchwave.SeverityHigh, patchwave.SeverityMedium, patchwave.SeverityLow}
	t := newTable(e.stdout, "TIER", "CRITICAL", "HIGH", "MEDIUM", "LOW")
	for _, tier := range patchwave.Tiers {
		row := []string{string(tier)}
		for _, s := range sevs {
			row = append(row, fmt.Sprintf("%dd", p.Days[tier][s]))
		}
		t.row(row...)
	}
	if err := t.flush(); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\nAt risk after %.0f%% of the window; KEV due dates apply: %t\n", p.AtRisk*100, p.KEVDueDates)
	return nil
}

func runSLASet(ctx context.Context, e env, args []string) error {
	v := newVerb("sla set", "FILE", 1, "Replace the SLA policy with the JSON document in FILE (- for stdin), as sla show -o json prints it.",
		"patchwave sla show -o json > sla.json && $EDITOR sla.json && patchwave sla set sla.json")
	pos, err := v.parse(args)
	if err != nil {
		return err
	}
	raw, err := readJSONArg(e, pos[0])
	if err != nil {
		return err
	}
	var p patchwave.SLAPolicy
	if err := json.Unmarshal(raw, &p); err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	if _, err := c.PutSLA(ctx, p); err != nil {
		return fmt.Errorf("sla set: %w", err)
	}
	fmt.Fprintln(e.stdout, "SLA policy saved; findings are being re-evaluated.")
	return nil
}

// baselineVerbs is the verb table of "patchwave baselines".
func baselineVerbs() []command {
	return []command{
		{"list", "list patch approval baselines", runBaselinesList},
		{"show", "show a baseline", runBaselinesShow},
		{"apply", "create or replace a baseline from a JSON file", runBaselinesApply},
		{"preview", "show what a baseline approves today, for which hosts", runBaselinesPreview},
		{"delete", "delete a baseline", runBaselinesDelete},
	}
}

func runBaselinesList(ctx context.Context, e env, args []string) error {
	v := newVerb("baselines list", "", 0, "List the patch approval baselines.", "patchwave baselines list -o json")
	out := v.outputFlag()
	if _, err := v.parse(args); err != nil {
		return err
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	bs, err := c.Baselines(ctx)
	if err != nil {
		return fmt.Errorf("baselines: %w", err)
	}
	if *out == formatJSON {
		return writeJSON(e.stdout, bs)
	}
	t := newTable(e.stdout, "ID", "NAME", "SELECTOR", "RULES", "APPROVE", "REJECT", "DESCRIPTION")
	for _, b := range bs {
		sel := b.Selector.String()
		if sel == "" {
			sel = "(all hosts)"
		}
		t.row(strconv.FormatInt(b.ID, 10), b.Name, sel, strconv.Itoa(len(b.Rules)), strconv.Itoa(len(b.Approve)), strconv.Itoa(len(b.Reject)), b.Description)
	}
	return t.flush()
}

func runBaselinesShow(ctx context.Context, e env, args []string) error {
	v := newVerb("baselines show", "NAME", 1, "Show a baseline as JSON.", "patchwave baselines show servers")
	pos, err := v.parse(args)
	if err != nil {
		return err
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	b, err := c.Baseline(ctx, pos[0])
	if err != nil {
		return fmt.Errorf("baseline %s: %w", pos[0], err)
	}
	return writeJSON(e.stdout, b)
}

func runBaselinesApply(ctx context.Context, e env, args []string) error {
	v := newVerb("baselines apply", "FILE", 1, `Create a baseline from the JSON document in FILE (- for stdin), or replace the
baseline of the same name. A baseline has a name, a selector of hosts ("" for all),
rules (ecosystem, min_severity, classification, package globs, with
approve_after_days or approve_until) and explicit approve and reject lists.`,
		`patchwave baselines apply servers.json
echo '{"name":"lab","selector":"tier=lab","rules":[{"min_severity":"low","approve_after_days":0}]}' | patchwave baselines apply -`)
	pos, err := v.parse(args)
	if err != nil {
		return err
	}
	raw, err := readJSONArg(e, pos[0])
	if err != nil {
		return err
	}
	var named struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(raw, &named); err != nil || named.Name == "" {
		return fmt.Errorf("%s: a baseline needs a name", pos[0])
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	replace := ""
	if _, err := c.Baseline(ctx, named.Name); err == nil {
		replace = named.Name
	}
	b, err := c.PutBaseline(ctx, raw, replace)
	if err != nil {
		return fmt.Errorf("baseline %s: %w", named.Name, err)
	}
	verb := "created"
	if replace != "" {
		verb = "replaced"
	}
	fmt.Fprintf(e.stdout, "Baseline %s %s (id %d).\n", b.Name, verb, b.ID)
	return nil
}

func runBaselinesPreview(ctx context.Context, e env, args []string) error {
	v := newVerb("baselines preview", "NAME", 1, "Show what a baseline approves today for the hosts in its scope: each missing patch\n"+
		"and the decision, with the baseline and rule that made it (all baselines count, by precedence).",
		"patchwave baselines preview servers")
	out := v.outputFlag()
	pos, err := v.parse(args)
	if err != nil {
		return err
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	p, err := c.PreviewBaseline(ctx, pos[0])
	if err != nil {
		return fmt.Errorf("preview %s: %w", pos[0], err)
	}
	if *out == formatJSON {
		return writeJSON(e.stdout, p)
	}
	fmt.Fprintf(e.stdout, "Baseline %s covers %d hosts; %d of %d missing patches are approved today.\n\n", p.Baseline, p.Hosts, p.Approved, len(p.Entries))
	t := newTable(e.stdout, "HOST", "PACKAGE", "FIXED", "SEVERITY", "DECISION", "BY", "REASON")
	for _, x := range p.Entries {
		d := "not approved"
		switch {
		case x.Decision.Blocked:
			d = "blocked"
		case x.Decision.DependencyOnly:
			d = "dependency only"
		case x.Decision.Approved:
			d = "approved"
		}
		by := x.Decision.Baseline
		if x.Decision.Rule != "" {
			by += " / " + x.Decision.Rule
		}
		t.row(x.Host, x.Patch.Package, x.Patch.Fixed, string(x.Patch.Severity), d, by, x.Decision.Reason)
	}
	return t.flush()
}

func runBaselinesDelete(ctx context.Context, e env, args []string) error {
	v := newVerb("baselines delete", "NAME", 1, "Delete a baseline.", "patchwave baselines delete old")
	pos, err := v.parse(args)
	if err != nil {
		return err
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	if err := c.DeletePolicy(ctx, "baselines", pos[0]); err != nil {
		return fmt.Errorf("delete baseline %s: %w", pos[0], err)
	}
	fmt.Fprintf(e.stdout, "Baseline %s deleted.\n", pos[0])
	return nil
}

// exceptionVerbs is the verb table of "patchwave exceptions".
func exceptionVerbs() []command {
	return []command{
		{"create", "request an exclusion, a restriction or a risk acceptance", runExceptionsCreate},
		{"list", "list exceptions with their current state", runExceptionsList},
		{"show", "show an exception", runExceptionsShow},
		{"approve", "approve a pending exception", runExceptionsDecide("approve")},
		{"reject", "reject a pending exception", runExceptionsDecide("reject")},
		{"revoke", "revoke an exception", runExceptionsDecide("revoke")},
	}
}

// parseDate reads 2026-12-31 (end of that day, UTC) or an RFC 3339 time.
func parseDate(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return t, fmt.Errorf("%q is not a date like 2026-12-31", s)
	}
	return t.Add(24*time.Hour - time.Millisecond), nil
}

func runExceptionsCreate(ctx context.Context, e env, args []string) error {
	v := newVerb("exceptions create", "", 0, `Request an exception. An exclusion keeps hosts (--host, --site or --selector) out of a
release cycle (--cycle, or the current month's). Sent by the deadline (the day after Patch
Tuesday) and expiring by the end of the cycle (the next month's Patch Tuesday), it applies at
once; a late or longer one needs an approver, and one for a cycle that is over, or that
expires before its cycle starts, is refused. Site admins name one of their sites or hosts. A restriction holds a patch back (--package, --cve or
--advisory) everywhere or for a selector. A risk acceptance accepts a finding until a date,
with a compensating control. Excepted findings still count, shown as excepted.`,
		`patchwave exceptions create --kind exclusion --site paris --cycle 2026-12 --justification "month-end closing on the ERP" --expires 2027-01-11
patchwave exceptions create --kind restriction --package openssl --selector "tag=legacy" --justification "app breaks with 3.x" --expires 2027-03-01
patchwave exceptions create --kind risk-acceptance --host web-01 --cve CVE-2024-6387 --justification "not reachable" --control "ssh only from bastion" --expires 2026-12-31`)
	var x patchwave.Exception
	kind := v.String("kind", "", "`kind`: exclusion, restriction or risk-acceptance")
	v.StringVar(&x.Host, "host", "", "the `host` it applies to")
	v.StringVar(&x.Site, "site", "", "the `site` it applies to")
	selector := v.String("selector", "", "the hosts it applies to, as a `selector` (tier=lab,site=paris,tag=web,os=debian:12)")
	v.StringVar(&x.Package, "package", "", "the binary or source `package` it holds back or accepts")
	v.StringVar(&x.CVE, "cve", "", "the `CVE` it accepts or holds back")
	v.StringVar(&x.Advisory, "advisory", "", "the advisory `id` it accepts or holds back")
	v.StringVar(&x.Cycle, "cycle", "", "for exclusions: the release `cycle` (e.g. 2026-12); default the current month's, then every cycle until it expires")
	v.StringVar(&x.Justification, "justification", "", "why (required)")
	v.StringVar(&x.CompensatingControl, "control", "", "the compensating control (required for risk acceptances)")
	expires := v.String("expires", "", "when it ends: a `date` like 2026-12-31 (the end of that day, UTC) or an RFC 3339 time (required, at most a year ahead)")
	review := v.String("review", "", "when to review it: a `date`")
	out := v.outputFlag()
	if _, err := v.parse(args); err != nil {
		return err
	}
	x.Kind = patchwave.ExceptionKind(*kind)
	if *selector != "" {
		sel, err := patchwave.ParseSelector(*selector)
		if err != nil {
			return v.usageErrorf("--selector: %s", patchwave.ErrorMessage(err))
		}
		x.Selector = sel
	}
	if *expires == "" {
		return v.usageErrorf("--expires is required")
	}
	t, err := parseDate(*expires)
	if err != nil {
		return v.usageErrorf("--expires: %s", err)
	}
	x.ExpiresAt = t
	if *review != "" {
		r, err := parseDate(*review)
		if err != nil {
			return v.usageErrorf("--review: %s", err)
		}
		x.ReviewAt = &r
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	got, err := c.CreateException(ctx, x)
	if err != nil {
		return fmt.Errorf("create exception: %w", err)
	}
	if *out == formatJSON {
		return writeJSON(e.stdout, got)
	}
	fmt.Fprintf(e.stdout, "Exception %d (%s) is %s.\n", got.ID, got.Kind, got.State)
	if got.State == patchwave.ExceptionPending {
		fmt.Fprintf(e.stdout, "An approver must approve it: patchwave exceptions approve %d\n", got.ID)
	}
	return nil
}

func exceptionTable(w io.Writer, xs []patchwave.Exception) error {
	t := newTable(w, "ID", "KIND", "STATE", "SCOPE", "TARGET", "OWNER", "APPROVER", "EXPIRES", "JUSTIFICATION")
	for _, x := range xs {
		scope := strings.TrimSpace(strings.Join([]string{pre("host=", x.Host), pre("site=", x.Site), x.Selector.String()}, " "))
		if scope == "" {
			scope = "(everywhere)"
		}
		target := strings.TrimSpace(strings.Join([]string{pre("package=", x.Package), pre("cve=", x.CVE), pre("advisory=", x.Advisory), pre("cycle=", x.Cycle)}, " "))
		state := string(x.State)
		if x.Late {
			state += " (late)"
		}
		t.row(strconv.FormatInt(x.ID, 10), string(x.Kind), state, scope, target, x.Owner, x.Approver, x.ExpiresAt.Format("2006-01-02"), x.Justification)
	}
	return t.flush()
}

func pre(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}

func runExceptionsList(ctx context.Context, e env, args []string) error {
	v := newVerb("exceptions list", "", 0, "List exceptions with their current state (expired ones show as expired).",
		"patchwave exceptions list --state pending\npatchwave exceptions list --site paris -o json")
	state := v.String("state", "", "only this `state`: pending, approved, rejected, revoked, expired")
	kind := v.String("kind", "", "only this `kind`")
	site := v.String("site", "", "only this `site`")
	host := v.String("host", "", "only this `host`")
	out := v.outputFlag()
	if _, err := v.parse(args); err != nil {
		return err
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	xs, err := c.Exceptions(ctx, *state, *kind, *site, *host)
	if err != nil {
		return fmt.Errorf("exceptions: %w", err)
	}
	if *out == formatJSON {
		return writeJSON(e.stdout, xs)
	}
	return exceptionTable(e.stdout, xs)
}

func runExceptionsShow(ctx context.Context, e env, args []string) error {
	v := newVerb("exceptions show", "ID", 1, "Show an exception.", "patchwave exceptions show 7 -o json")
	out := v.outputFlag()
	pos, err := v.parse(args)
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil {
		return v.usageErrorf("%q is not an exception id", pos[0])
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	x, err := c.Exception(ctx, id)
	if err != nil {
		return fmt.Errorf("exception %d: %w", id, err)
	}
	if *out == formatJSON {
		return writeJSON(e.stdout, x)
	}
	return exceptionTable(e.stdout, []patchwave.Exception{x})
}

func runExceptionsDecide(verb string) func(context.Context, env, []string) error {
	return func(ctx context.Context, e env, args []string) error {
		v := newVerb("exceptions "+verb, "ID", 1, strings.ToUpper(verb[:1])+verb[1:]+" an exception.",
			"patchwave exceptions "+verb+" 7 --comment \"reviewed with the site lead\"")
		comment := v.String("comment", "", "a `comment` for the audit trail")
		pos, err := v.parse(args)
		if err != nil {
			return err
		}
		id, err := strconv.ParseInt(pos[0], 10, 64)
		if err != nil {
			return v.usageErrorf("%q is not an exception id", pos[0])
		}
		c, err := e.connect()
		if err != nil {
			return err
		}
		x, err := c.DecideException(ctx, id, verb, *comment)
		if err != nil {
			return fmt.Errorf("%s exception %d: %w", verb, id, err)
		}
		fmt.Fprintf(e.stdout, "Exception %d is %s.\n", x.ID, x.State)
		return nil
	}
}

// tierRuleVerbs is the verb table of "patchwave tier-rules".
func tierRuleVerbs() []command {
	return []command{
		{"list", "list the rules that set hosts' tiers", runTierRulesList},
		{"add", "add a rule: hosts a selector matches get a tier", runTierRulesAdd},
		{"delete", "delete a tier rule", runTierRulesDelete},
	}
}

func runTierRulesList(ctx context.Context, e env, args []string) error {
	v := newVerb("tier-rules list", "", 0, "List tier rules in order; the first that matches a host sets its tier (and exposure),\nunless it was set by hand or by the host's enrollment token.", "patchwave tier-rules list")
	out := v.outputFlag()
	if _, err := v.parse(args); err != nil {
		return err
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	rs, err := c.TierRules(ctx)
	if err != nil {
		return fmt.Errorf("tier rules: %w", err)
	}
	if *out == formatJSON {
		return writeJSON(e.stdout, rs)
	}
	t := newTable(e.stdout, "ID", "SELECTOR", "TIER", "HIGH EXPOSURE", "DESCRIPTION")
	for _, r := range rs {
		exp := ""
		if r.HighExposure != nil {
			exp = strconv.FormatBool(*r.HighExposure)
		}
		t.row(strconv.FormatInt(r.ID, 10), r.Selector.String(), string(r.Tier), exp, r.Description)
	}
	return t.flush()
}

func runTierRulesAdd(ctx context.Context, e env, args []string) error {
	v := newVerb("tier-rules add", "SELECTOR", 1, "Add a tier rule: hosts the selector matches get --tier (and --high-exposure when given).\n"+
		"Precedence: set by hand > set by the enrollment token > tier rule (the first that matches) > default.",
		`patchwave tier-rules add "tag=shop" --tier mission-critical
patchwave tier-rules add "tag=exec" --tier business-operational --high-exposure`)
	var tier tierFlag
	v.Var(&tier, "tier", "the `tier` to give")
	exposure := v.Bool("high-exposure", false, "also mark the hosts high-exposure (or =false to clear)")
	desc := v.String("description", "", "why")
	pos, err := v.parse(args)
	if err != nil {
		return err
	}
	sel, err := patchwave.ParseSelector(pos[0])
	if err != nil {
		return v.usageErrorf("%s", patchwave.ErrorMessage(err))
	}
	if tier == "" {
		return v.usageErrorf("--tier is required")
	}
	r := client.TierRule{Selector: sel, Tier: patchwave.Tier(tier), Description: *desc}
	if v.given("high-exposure") {
		r.HighExposure = exposure
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	got, err := c.CreateTierRule(ctx, r)
	if err != nil {
		return fmt.Errorf("add tier rule: %w", err)
	}
	fmt.Fprintf(e.stdout, "Tier rule %d added.\n", got.ID)
	return nil
}

func runTierRulesDelete(ctx context.Context, e env, args []string) error {
	v := newVerb("tier-rules delete", "ID", 1, "Delete a tier rule. The hosts whose tier or exposure it set get back their enrollment\n"+
		"token's (or the default), until another rule that matches them applies.", "patchwave tier-rules delete 3")
	pos, err := v.parse(args)
	if err != nil {
		return err
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	if err := c.DeletePolicy(ctx, "tier-rules", pos[0]); err != nil {
		return fmt.Errorf("delete tier rule %s: %w", pos[0], err)
	}
	fmt.Fprintf(e.stdout, "Tier rule %s deleted.\n", pos[0])
	return nil
}

// serviceBaselineVerbs is the verb table of "patchwave service-baselines".
func serviceBaselineVerbs() []command {
	return []command{
		{"list", "list service baselines", runServiceBaselinesList},
		{"add", "add a service baseline: services expected on the hosts a selector matches", runServiceBaselinesAdd},
		{"delete", "delete a service baseline", runServiceBaselinesDelete},
	}
}

func runServiceBaselinesList(ctx context.Context, e env, args []string) error {
	v := newVerb("service-baselines list", "", 0, "List service baselines.", "patchwave service-baselines list -o json")
	out := v.outputFlag()
	if _, err := v.parse(args); err != nil {
		return err
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	bs, err := c.ServiceBaselines(ctx)
	if err != nil {
		return fmt.Errorf("service baselines: %w", err)
	}
	if *out == formatJSON {
		return writeJSON(e.stdout, bs)
	}
	t := newTable(e.stdout, "ID", "NAME", "SELECTOR", "EXPECTED")
	for _, b := range bs {
		t.row(strconv.FormatInt(b.ID, 10), b.Name, b.Selector.String(), strings.Join(b.Expected, ","))
	}
	return t.flush()
}

func runServiceBaselinesAdd(ctx context.Context, e env, args []string) error {
	v := newVerb("service-baselines add", "NAME", 1, "Add a service baseline. Hosts it matches that run other services get a finding\n"+
		"for each unexpected service, with the same SLA and exceptions as patches.",
		`patchwave service-baselines add web --selector "tag=web" --expected "ssh,nginx,cron,systemd-*"`)
	selector := v.String("selector", "", "the hosts it covers, as a `selector`")
	var expected listFlag
	v.Var(&expected, "expected", "the expected services, a comma-separated `list` of names or globs")
	pos, err := v.parse(args)
	if err != nil {
		return err
	}
	sel, err := patchwave.ParseSelector(*selector)
	if err != nil {
		return v.usageErrorf("--selector: %s", patchwave.ErrorMessage(err))
	}
	if len(expected) == 0 {
		return v.usageErrorf("--expected is required")
	}
	sort.Strings(expected)
	c, err := e.connect()
	if err != nil {
		return err
	}
	b, err := c.CreateServiceBaseline(ctx, patchwave.ServiceBaseline{Name: pos[0], Selector: sel, Expected: expected})
	if err != nil {
		return fmt.Errorf("add service baseline: %w", err)
	}
	fmt.Fprintf(e.stdout, "Service baseline %s added (id %d).\n", b.Name, b.ID)
	return nil
}

func runServiceBaselinesDelete(ctx context.Context, e env, args []string) error {
	v := newVerb("service-baselines delete", "NAME", 1, "Delete a service baseline.", "patchwave service-baselines delete web")
	pos, err := v.parse(args)
	if err != nil {
		return err
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	if err := c.DeletePolicy(ctx, "service-baselines", pos[0]); err != nil {
		return fmt.Errorf("delete service baseline %s: %w", pos[0], err)
	}
	fmt.Fprintf(e.stdout, "Service baseline %s deleted.\n", pos[0])
	return nil
}

func runCompliance(ctx context.Context, e env, args []string) error {
	v := newVerb("compliance", "", 0, `Show hosts' compliance under the policy: compliant, compliant-with-exceptions,
non-compliant (approved patches missing), breached (past the SLA) or unknown (no
recent assessment), with counts. With --host, also the host's open findings, each
with its due date, SLA status, approval and compliance.`,
		"patchwave compliance\npatchwave compliance --host web-01 -o json")
	host := v.String("host", "", "only this `host`")
	site := v.String("site", "", "only this `site`")
	var tier tierFlag
	v.Var(&tier, "tier", "only this `tier`")
	out := v.outputFlag()
	if _, err := v.parse(args); err != nil {
		return err
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	rep, err := c.Compliance(ctx, *host, *site, string(tier))
	if err != nil {
		return fmt.Errorf("compliance: %w", err)
	}
	if *out == formatJSON {
		return writeJSON(e.stdout, rep)
	}
	var parts []string
	for _, s := range []string{"compliant", "compliant-with-exceptions", "non-compliant", "breached", "unknown"} {
		parts = append(parts, fmt.Sprintf("%s %d", s, rep.Summary[s]))
	}
	fmt.Fprintf(e.stdout, "%d hosts: %s\n\n", len(rep.Hosts), strings.Join(parts, ", "))
	t := newTable(e.stdout, "HOST", "SITE", "TIER", "COMPLIANCE")
	for _, h := range rep.Hosts {
		t.row(h.Host, h.Site, h.Tier, h.Compliance)
	}
	if err := t.flush(); err != nil {
		return err
	}
	if *host == "" || len(rep.Hosts) != 1 {
		return nil
	}
	h := rep.Hosts[0]
	if len(h.Findings) == 0 {
		fmt.Fprintf(e.stdout, "\n%s has no open findings.\n", h.Host)
		return nil
	}
	fmt.Fprintf(e.stdout, "\nFindings of %s:\n\n", h.Host)
	t = newTable(e.stdout, "PACKAGE", "INSTALLED", "FIXED", "SEVERITY", "DUE", "SLA", "APPROVED", "COMPLIANCE", "ADVISORIES")
	for _, f := range h.Findings {
		due, sla, approved, comp := "", "", "", ""
		if p := f.Policy; p != nil {
			due, sla, approved, comp = p.Due.Format("2006-01-02"), string(p.SLA), strconv.FormatBool(p.Approved), string(p.Compliance)
			if p.Excepted {
				approved = "excepted"
			}
		}
		t.row(f.Package, f.Installed, f.Fixed, string(f.Severity), due, sla, approved, comp, strings.Join(f.Advisories, ","))
	}
	return t.flush()
}
