package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/patchwave/patchwave"
)

// findingSummary counts findings by state and severity.
func findingSummary(fs []patchwave.Finding) string {
	if len(fs) == 0 {
		return "none"
	}
	missing, nofix, kev := 0, 0, 0
	sev := map[patchwave.Severity]int{}
	for _, f := range fs {
		switch f.State {
		case patchwave.FindingMissing:
			missing++
		case patchwave.FindingNoFix:
			nofix++
		}
		if f.KEV != nil {
			kev++
		}
		sev[f.Severity]++
	}
	var parts []string
	for _, s := range []patchwave.Severity{patchwave.SeverityCritical, patchwave.SeverityHigh, patchwave.SeverityMedium, patchwave.SeverityLow} {
		if sev[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", sev[s], s))
		}
	}
	out := fmt.Sprintf("%d missing patches, %d without a fix", missing, nofix)
	if kev > 0 {
		out += fmt.Sprintf(", %d known exploited", kev)
	}
	if len(parts) > 0 {
		out += " (" + strings.Join(parts, ", ") + ")"
	}
	return out
}

// findingTable prints findings, with a HOST column when withHost.
func findingTable(w io.Writer, fs []patchwave.Finding, withHost bool) error {
	head := []string{"PACKAGE", "INSTALLED", "FIXED", "SEVERITY", "RISK", "DUE", "SLA", "KEV", "EPSS", "ADVISORIES", "CVES"}
	if withHost {
		head = append([]string{"HOST"}, head...)
	}
	t := newTable(w, head...)
	for _, f := range fs {
		fixed := f.Fixed
		if f.State == patchwave.FindingNoFix {
			fixed = "(no fix)"
		}
		kev := ""
		if f.KEV != nil {
			kev = "yes"
			if f.KEV.Ransomware {
				kev = "ransomware"
			}
		}
		epss := ""
		if f.EPSS > 0 {
			epss = strconv.FormatFloat(f.EPSS, 'f', 3, 64)
		}
		risk, due, sla := "", "", ""
		if p := f.Policy; p != nil {
			risk = strconv.FormatFloat(p.Risk.Score, 'f', 0, 64)
			if !p.Due.IsZero() {
				due = p.Due.Format("2006-01-02")
			}
			sla = string(p.SLA)
			if p.Excepted {
				sla += " (excepted)"
			}
		}
		row := []string{f.Package, f.Installed, fixed, string(f.Severity), risk, due, sla, kev, epss, short(f.Advisories, 3), short(f.CVEs, 3)}
		if withHost {
			row = append([]string{f.Host}, row...)
		}
		t.row(row...)
	}
	return t.flush()
}

// short lists at most n items and counts the rest.
func short(s []string, n int) string {
	if len(s) <= n {
		return strings.Join(s, ",")
	}
	return strings.Join(s[:n], ",") + fmt.Sprintf(" (+%d)", len(s)-n)
}

// findingVerbs is the verb table of "patchwave findings".
func findingVerbs() []command {
	return []command{
		{"list", "list open findings across the fleet: missing patches and unfixed vulnerabilities", runFindingsList},
		{"advisory", "show an advisory and the hosts it affects", runFindingsAdvisory},
	}
}

func runFindingsList(ctx context.Context, e env, args []string) error {
	v := newVerb("findings list", "", 0,
		"List findings: installed packages that advisories say are vulnerable, with the fixed\n"+
			"version when one exists. Open findings (missing and no-fix) unless --state says otherwise.",
		`patchwave findings list --severity high --has-fix
patchwave findings list --kev --site paris -o json
patchwave findings list --cve CVE-2024-6387 --all`)
	var f patchwave.FindingFilter
	var tier tierFlag
	v.StringVar(&f.Host, "host", "", "only this `host` (id or hostname)")
	v.StringVar(&f.Site, "site", "", "only hosts at this `site`")
	v.Var(&tier, "tier", "only hosts of this `tier`")
	severity := v.String("severity", "", "this `severity` or higher: critical, high, medium, low")
	kev := v.Bool("kev", false, "only known exploited vulnerabilities (--kev=false: only others)")
	v.StringVar(&f.CVE, "cve", "", "only findings for this `CVE`")
	v.StringVar(&f.Advisory, "advisory", "", "only findings from this advisory `id`")
	v.StringVar(&f.Package, "package", "", "only this binary or source `package`")
	hasFix := v.Bool("has-fix", false, "only findings with a fix available (--has-fix=false: only unfixed)")
	state := v.String("state", "", "`state`: missing, no-fix, unexpected-service or fixed (default: the open ones)")
	v.StringVar(&f.SLA, "sla", "", "only findings whose SLA `status` is on-track, at-risk or breached")
	excepted := v.Bool("excepted", false, "only findings covered by an exception (--excepted=false: only others)")
	byRisk := v.Bool("by-risk", false, "highest risk first")
	v.IntVar(&f.Limit, "limit", 0, "at most `n` findings (with --all: per request)")
	all := v.Bool("all", false, "list every matching finding, following the pages")
	out := v.outputFlag()
	if _, err := v.parse(args); err != nil {
		return err
	}
	f.Tier, f.Severity, f.State = patchwave.Tier(tier), patchwave.Severity(*severity), patchwave.FindingState(*state)
	if *severity != "" && f.Severity.Rank() == 0 {
		return v.usageErrorf("unknown severity %q (want critical, high, medium, low or none)", *severity)
	}
	if v.given("kev") {
		f.KEV = kev
	}
	if v.given("has-fix") {
		f.HasFix = hasFix
	}
	if v.given("excepted") {
		f.Excepted = excepted
	}
	if *byRisk {
		f.Sort = "risk"
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	var fs []patchwave.Finding
	if *all {
		fs, err = c.AllFindings(ctx, f)
	} else {
		var next string
		fs, next, err = c.Findings(ctx, f)
		if err == nil && next != "" {
			defer fmt.Fprintf(e.stderr, "patchwave: more findings match: use --all to list them all\n")
		}
	}
	if err != nil {
		return fmt.Errorf("list findings: %w", err)
	}
	if *out == formatJSON {
		return writeJSON(e.stdout, fs)
	}
	return findingTable(e.stdout, fs, true)
}

func runFindingsAdvisory(ctx context.Context, e env, args []string) error {
	v := newVerb("findings advisory", "ID", 1, "Show an advisory (its OSV record with -o json) and the hosts it affects.",
		"patchwave findings advisory USN-6859-1")
	out := v.outputFlag()
	pos, err := v.parse(args)
	if err != nil {
		return err
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	raw, fs, err := c.Advisory(ctx, pos[0])
	if err != nil {
		return fmt.Errorf("advisory %s: %w", pos[0], err)
	}
	if *out == formatJSON {
		return writeJSON(e.stdout, map[string]any{"advisory": raw, "findings": fs})
	}
	fmt.Fprintf(e.stdout, "%s affects %d installed packages\n\n", pos[0], len(fs))
	return findingTable(e.stdout, fs, true)
}
