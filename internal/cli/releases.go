package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/client"
	"github.com/patchwave/patchwave/internal/plan"
)

// waveVerbs is the verb table of "patchwave waves".
func waveVerbs() []command {
	return []command{
		{"list", "show the wave plan new releases take", runWavesList},
		{"set", "replace the wave plan with a JSON document", runWavesSet},
	}
}

func runWavesList(ctx context.Context, e env, args []string) error {
	v := newVerb("waves list", "", 0, `Show the wave plan new releases take: each wave's selector, start offset after
the release, concurrency and error budgets, soak time, promotion gate,
approvers, reboot policy and deadline. A release keeps the plan it was
created with.`, "patchwave waves list\npatchwave waves list -o json > waves.json")
	out := v.outputFlag()
	if _, err := v.parse(args); err != nil {
		return err
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	ws, err := c.Waves(ctx)
	if err != nil {
		return fmt.Errorf("waves: %w", err)
	}
	if *out == formatJSON {
		return writeJSON(e.stdout, ws)
	}
	return wavesTable(e.stdout, ws)
}

func wavesTable(w io.Writer, ws []plan.WaveJSON) error {
	t := newTable(w, "WAVE", "NAME", "SELECTOR", "START", "CONCURRENCY", "MAX ERRORS", "SOAK", "GATE", "APPROVERS", "REBOOT", "DEADLINE")
	for _, wv := range ws {
		sel := wv.Selector.String()
		if len(wv.Hosts) > 0 {
			sel = strings.TrimSpace(sel + " hosts=" + strings.Join(wv.Hosts, "|"))
		}
		if sel == "" {
			sel = "(every host left)"
		}
		approvers := ""
		if len(wv.StartApprovers) > 0 {
			approvers = "start: " + strings.Join(wv.StartApprovers, ",")
		}
		if len(wv.Approvers) > 0 {
			approvers = strings.TrimSpace(approvers + " promote: " + strings.Join(wv.Approvers, ","))
		}
		t.row(fmt.Sprint(wv.Order), wv.Name, sel, "+"+cmp.Or(wv.StartOffset, "0"), budget(wv.MaxConcurrent, wv.MaxConcurrentPct, "all"),
			budget(wv.MaxErrors, wv.MaxErrorsPct, "0"), cmp.Or(wv.Soak, "-"), fmt.Sprintf("%g%% of ≥%d", wv.GateSuccessPct, wv.GateMinHosts),
			cmp.Or(approvers, "-"), cmp.Or(wv.Reboot, plan.RebootIfNeeded), cmp.Or(wv.Deadline, "-"))
	}
	return t.flush()
}

// budget prints a count-or-percentage limit.
func budget(n int, pct float64, none string) string {
	switch {
	case n > 0 && pct > 0:
		return fmt.Sprintf("min(%d, %g%%)", n, pct)
	case n > 0:
		return fmt.Sprint(n)
	case pct > 0:
		return fmt.Sprintf("%g%%", pct)
	}
	return none
}

func runWavesSet(ctx context.Context, e env, args []string) error {
	v := newVerb("waves set", "FILE", 1, `Replace the wave plan with the JSON array in FILE (- for stdin), as
waves list -o json prints it. Durations are Go durations (36h, 90m) or days
(2d). Waves no host falls in and approvers nobody can be are warned about.`,
		"patchwave waves list -o json > waves.json && $EDITOR waves.json && patchwave waves set waves.json")
	out := v.outputFlag()
	pos, err := v.parse(args)
	if err != nil {
		return err
	}
	b, err := readJSONArg(e, pos[0])
	if err != nil {
		return fmt.Errorf("waves set: %w", err)
	}
	var ws []plan.WaveJSON
	if err := json.Unmarshal(b, &ws); err != nil {
		var wrapped struct {
			Waves []plan.WaveJSON `json:"waves"`
		}
		if err2 := json.Unmarshal(b, &wrapped); err2 != nil || wrapped.Waves == nil {
			return fmt.Errorf("waves set: %s: want a JSON array of waves: %v", pos[0], err)
		}
		ws = wrapped.Waves
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	got, err := c.PutWaves(ctx, ws)
	if err != nil {
		return fmt.Errorf("waves set: %w", err)
	}
	if *out == formatJSON {
		return writeJSON(e.stdout, got)
	}
	fmt.Fprintf(e.stdout, "Wave plan replaced: %d waves.\n", len(got))
	return wavesTable(e.stdout, got)
}

// releaseVerbs is the verb table of "patchwave releases".
func releaseVerbs() []command {
	return []command{
		{"create", "freeze the approved patches into a release and schedule its rollout", runReleasesCreate},
		{"list", "list releases", runReleasesList},
		{"show", "show a release: its content and waves", runReleasesShow},
		{"patches", "list a release's frozen patch sets", runReleasesPatches},
	}
}

func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
}

func runReleasesCreate(ctx context.Context, e env, args []string) error {
	v := newVerb("releases create", "", 0, `Freeze the patches the baselines approve now into a release: one patch set per
group of hosts with the same approved patches, content-hashed, so that every
wave installs exactly the same thing; later advisories go into the next
release. Each host goes into the first wave that takes it; hosts excluded for
the cycle are left out, patches under a restriction or risk acceptance held
back.

A monthly release belongs to a cycle (default: the current one) and its waves
start at their offsets from the cycle's release day. --out-of-band starts an
emergency release now on compressed waves, e.g. for a known exploited flaw,
optionally limited with --cve, --advisory or --package.`,
		`patchwave releases create
patchwave releases create --cycle 2027-01
patchwave releases create --out-of-band --cve CVE-2024-6387 --reason "KEV: regreSSHion"`)
	var req client.ReleaseRequest
	v.StringVar(&req.Name, "name", "", "the release's `name` (default: the cycle, or oob- and the time)")
	v.StringVar(&req.Cycle, "cycle", "", "the monthly `cycle` (YYYY-MM) whose release day anchors the waves (default: the current one)")
	v.BoolVar(&req.OutOfBand, "out-of-band", false, "an emergency release, starting now")
	notCompressed := v.Bool("not-compressed", false, "out of band: keep the waves' usual offsets instead of compressing them")
	v.StringVar(&req.ReleasedAt, "released-at", "", "out of band: the release `time` (default now), e.g. 2026-12-04T18:00")
	v.BoolVar(&req.AllowNoWindow, "allow-no-window", false, "patch hosts without a maintenance window at any time outside their freezes")
	v.StringVar(&req.Reason, "reason", "", "why (required out of band)")
	cves := v.String("cve", "", "only patches fixing these `CVEs` (comma-separated)")
	advisories := v.String("advisory", "", "only patches fixing these `advisories` (comma-separated)")
	packages := v.String("package", "", "only these binary or source `packages` (comma-separated)")
	out := v.outputFlag()
	if _, err := v.parse(args); err != nil {
		return err
	}
	if *notCompressed {
		if !req.OutOfBand {
			return v.usageErrorf("--not-compressed goes with --out-of-band")
		}
		f := false
		req.Compressed = &f
	}
	req.CVEs, req.Advisories, req.Packages = splitList(*cves), splitList(*advisories), splitList(*packages)
	c, err := e.connect()
	if err != nil {
		return err
	}
	rel, err := c.CreateRelease(ctx, req)
	if err != nil {
		return fmt.Errorf("create release: %w", err)
	}
	if *out == formatJSON {
		return writeJSON(e.stdout, rel)
	}
	fmt.Fprintf(e.stdout, "Release %s created (%s, cycle %s), content %s.\n", rel.Name, rel.Kind, rel.Cycle, rel.ContentHash[:16])
	return releaseSummaryText(e.stdout, rel)
}

func releaseSummaryText(w io.Writer, rel client.Release) error {
	s := rel.Summary
	k := newKV(w)
	k.line("Released", rel.ReleasedAt.Format("Mon 2006-01-02 15:04 MST"))
	k.line("Rollout", string(rel.State)+map[bool]string{true: ": " + rel.StateReason}[rel.StateReason != ""])
	k.line("Hosts", fmt.Sprintf("%d to patch, %d excluded, %d in no wave; %d patches held back", s.Hosts, s.Excluded, s.NoWave, s.Held))
	k.line("Content", fmt.Sprintf("%d distinct patches in %d patch sets", s.Patches, s.PatchSets))
	if len(s.Only) > 0 {
		k.line("Limited to", strings.Join(s.Only, ", "))
	}
	if s.Reason != "" {
		k.line("Reason", s.Reason)
	}
	var waves []string
	for _, wv := range rel.Waves {
		waves = append(waves, fmt.Sprintf("%d %s: %d hosts from %s", wv.Order, wv.Name, s.ByWave[fmt.Sprintf("%d %s", wv.Order, wv.Name)],
			rel.ReleasedAt.Add(mustDuration(wv.StartOffset)).Format("Mon 01-02 15:04")))
	}
	k.line("Waves", strings.Join(waves, "; "))
	if err := k.flush(); err != nil {
		return err
	}
	for _, msg := range s.Warnings {
		fmt.Fprintf(w, "warning: %s\n", msg)
	}
	return nil
}

func mustDuration(s string) time.Duration {
	d, _ := plan.ParseDuration("", s)
	return d
}

func runReleasesList(ctx context.Context, e env, args []string) error {
	v := newVerb("releases list", "", 0, "List releases, newest first, with the state of their rollouts.", "patchwave releases list\npatchwave releases list --active -o json")
	active := v.Bool("active", false, "only releases whose rollout is not completed or aborted")
	out := v.outputFlag()
	if _, err := v.parse(args); err != nil {
		return err
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	rels, err := c.Releases(ctx, *active)
	if err != nil {
		return fmt.Errorf("releases: %w", err)
	}
	if *out == formatJSON {
		return writeJSON(e.stdout, rels)
	}
	t := newTable(e.stdout, "NAME", "KIND", "CYCLE", "RELEASED", "HOSTS", "PATCHES", "STATE", "CREATED BY")
	for _, r := range rels {
		t.row(r.Name, r.Kind, r.Cycle, r.ReleasedAt.Format("2006-01-02 15:04"), fmt.Sprint(r.Summary.Hosts), fmt.Sprint(r.Summary.Patches),
			string(r.State), r.CreatedBy)
	}
	return t.flush()
}

func runReleasesShow(ctx context.Context, e env, args []string) error {
	v := newVerb("releases show", "RELEASE", 1, "Show a release: when it was released, what it holds, its waves and warnings.", "patchwave releases show 2026-12\npatchwave releases show 2026-12 -o json")
	out := v.outputFlag()
	pos, err := v.parse(args)
	if err != nil {
		return err
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	rel, err := c.Release(ctx, pos[0])
	if err != nil {
		return fmt.Errorf("release %s: %w", pos[0], err)
	}
	if *out == formatJSON {
		return writeJSON(e.stdout, rel)
	}
	fmt.Fprintf(e.stdout, "Release %s (%s, cycle %s), content %s, created by %s at %s.\n", rel.Name, rel.Kind, rel.Cycle, rel.ContentHash,
		rel.CreatedBy, rel.CreatedAt.Format(time.RFC3339))
	if err := releaseSummaryText(e.stdout, rel); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout)
	return wavesTable(e.stdout, rel.Waves)
}

func runReleasesPatches(ctx context.Context, e env, args []string) error {
	v := newVerb("releases patches", "RELEASE", 1, "List a release's frozen patch sets: the exact versions each group of hosts installs.", "patchwave releases patches 2026-12")
	out := v.outputFlag()
	pos, err := v.parse(args)
	if err != nil {
		return err
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	sets, err := c.PatchSets(ctx, pos[0])
	if err != nil {
		return fmt.Errorf("patch sets of %s: %w", pos[0], err)
	}
	if *out == formatJSON {
		return writeJSON(e.stdout, sets)
	}
	t := newTable(e.stdout, "SET", "ECOSYSTEM", "PACKAGE", "ARCH", "VERSION", "SEVERITY", "FIXES")
	for _, ps := range sets {
		for _, p := range ps.Patches {
			t.row(ps.Hash[:12], ps.Ecosystem, p.Package, p.Arch, p.Version, string(p.Severity), strings.Join(append(slices.Clone(p.Advisories), p.CVEs...), ","))
		}
	}
	return t.flush()
}

func runPlan(ctx context.Context, e env, args []string) error {
	v := newVerb("plan", "RELEASE", 1, `Show which hosts get which patches in which wave, on which date and in which
window, before (or while) the release runs. Waves start at their offsets from
the release day, or when the wave before could be promoted at the earliest;
each host at its first window opening from then on.`, "patchwave plan 2026-12\npatchwave plan 2026-12 --wave 2\npatchwave plan 2026-12 --host web-01 -o json")
	host := v.String("host", "", "only this `host`")
	wave := v.Int("wave", -1, "only this wave (its order)")
	limit := v.Int("limit", 1000, "list at most this many hosts")
	out := v.outputFlag()
	pos, err := v.parse(args)
	if err != nil {
		return err
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	p, err := c.Plan(ctx, pos[0], *host, *wave, *limit)
	if err != nil {
		return fmt.Errorf("plan %s: %w", pos[0], err)
	}
	if *out == formatJSON {
		return writeJSON(e.stdout, p)
	}
	fmt.Fprintf(e.stdout, "Release %s: %d hosts.\n", p.Release, p.Total)
	t := newTable(e.stdout, "WAVE", "NAME", "STARTS", "HOSTS WITH AN OPENING")
	for _, w := range p.Waves {
		when := w.Start.Format("Mon 2006-01-02 15:04 MST")
		if w.Started {
			when += " (started)"
		} else {
			when += " (earliest)"
		}
		t.row(fmt.Sprint(w.Order), w.Name, when, fmt.Sprint(w.Hosts))
	}
	if err := t.flush(); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout)
	t = newTable(e.stdout, "HOST", "WAVE", "PATCHES", "WINDOW", "OPENING", "OR WHY NOT")
	for _, s := range p.Hosts {
		win, opening := "", ""
		if s.Opening != nil {
			win = s.Opening.Window
			opening = openingText(client.Opening{Start: s.Opening.Start, End: s.Opening.End, CutOff: s.Opening.CutOff})
		}
		wave := fmt.Sprint(s.Wave)
		if s.Wave == plan.NoWave {
			wave = "-"
		}
		t.row(s.Hostname, wave, fmt.Sprint(s.Patches), win, opening, s.Reason)
	}
	if err := t.flush(); err != nil {
		return err
	}
	if len(p.Hosts) < p.Total {
		fmt.Fprintf(e.stdout, "(%d more; use --limit or --wave)\n", p.Total-len(p.Hosts))
	}
	return nil
}

// rolloutVerbs is the verb table of "patchwave rollouts".
func rolloutVerbs() []command {
	return []command{
		{"list", "list rollouts that are not finished", runRolloutsList},
		{"show", "show a rollout's progress, wave by wave", runRolloutsShow},
		{"pause", "pause a rollout: no new task starts", rolloutActRunner("pause")},
		{"resume", "resume a paused or halted rollout", rolloutActRunner("resume")},
		{"halt", "halt a rollout", rolloutActRunner("halt")},
		{"abort", "abort a rollout for good", rolloutActRunner("abort")},
		{"promote", "promote a running wave past its gate (admins)", runRolloutsPromote},
		{"retry", "retry failed tasks at the hosts' next openings", runRolloutsRetry},
		{"explain", "say why a host has (not) been patched yet", runRolloutsExplain},
		{"tasks", "list a rollout's tasks", runRolloutsTasks},
		{"events", "list what the driver and people decided, with reasons", runRolloutsEvents},
	}
}

func runRolloutsList(ctx context.Context, e env, args []string) error {
	v := newVerb("rollouts list", "", 0, "List the rollouts that are not completed or aborted, with each wave's state.", "patchwave rollouts list")
	out := v.outputFlag()
	if _, err := v.parse(args); err != nil {
		return err
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	rels, err := c.Releases(ctx, true)
	if err != nil {
		return fmt.Errorf("rollouts: %w", err)
	}
	var ros []client.Rollout
	for _, r := range rels {
		ro, err := c.Rollout(ctx, r.Name)
		if err != nil {
			return fmt.Errorf("rollout %s: %w", r.Name, err)
		}
		ros = append(ros, ro)
	}
	if *out == formatJSON {
		return writeJSON(e.stdout, ros)
	}
	t := newTable(e.stdout, "RELEASE", "STATE", "WAVES", "REASON")
	for _, ro := range ros {
		var ws []string
		for _, w := range ro.Waves {
			ws = append(ws, fmt.Sprintf("%d:%s %d/%d", w.Order, w.State, w.Done, w.Hosts))
		}
		t.row(ro.Release.Name, string(ro.Release.State), strings.Join(ws, " "), ro.Release.StateReason)
	}
	return t.flush()
}

// bar draws a progress bar of done (and failed) out of total.
func bar(done, failed, total, width int) string {
	if total <= 0 {
		return "[" + strings.Repeat(" ", width) + "]"
	}
	ok := (done - failed) * width / total
	bad := failed * width / total
	if failed > 0 && bad == 0 {
		bad = 1
	}
	ok = min(ok, width-bad)
	return "[" + strings.Repeat("#", ok) + strings.Repeat("!", bad) + strings.Repeat(".", width-ok-bad) + "]"
}

func runRolloutsShow(ctx context.Context, e env, args []string) error {
	v := newVerb("rollouts show", "RELEASE", 1, `Show a rollout: its state, and for each wave its state, progress (# done,
! failed), first-pass success, error budget and the driver's note (why it
waits, why it was promoted), and the approvals given.`, "patchwave rollouts show 2026-12")
	out := v.outputFlag()
	pos, err := v.parse(args)
	if err != nil {
		return err
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	ro, err := c.Rollout(ctx, pos[0])
	if err != nil {
		return fmt.Errorf("rollout %s: %w", pos[0], err)
	}
	if *out == formatJSON {
		return writeJSON(e.stdout, ro)
	}
	state := string(ro.Release.State)
	if ro.Release.StateReason != "" {
		state += ": " + ro.Release.StateReason
	}
	fmt.Fprintf(e.stdout, "Rollout of %s: %s\n\n", ro.Release.Name, state)
	t := newTable(e.stdout, "WAVE", "NAME", "STATE", "PROGRESS", "DONE", "FAILED", "RUNNING", "MISSED", "FIRST PASS", "NOTE")
	for _, w := range ro.Waves {
		fp := "-"
		if w.Done > 0 {
			fp = fmt.Sprintf("%.1f%%", w.FirstPass)
		}
		t.row(fmt.Sprint(w.Order), w.Name, string(w.State), bar(w.Done+w.Missed, w.Failed, w.Hosts, 20), fmt.Sprintf("%d/%d", w.Done, w.Hosts),
			fmt.Sprintf("%d (budget %d)", w.Failed, w.Budget), fmt.Sprint(w.Running), fmt.Sprint(w.Missed), fp, w.Note)
	}
	if err := t.flush(); err != nil {
		return err
	}
	if len(ro.Approvals) > 0 {
		fmt.Fprintln(e.stdout)
		t = newTable(e.stdout, "WAVE", "STAGE", "DECISION", "BY", "AT", "REASON")
		for _, a := range ro.Approvals {
			t.row(fmt.Sprint(a.Wave), a.Stage, a.Decision, a.Actor+" ("+a.Role+")", a.At.Format("2006-01-02 15:04"), a.Reason)
		}
		return t.flush()
	}
	return nil
}

func rolloutActRunner(action string) func(context.Context, env, []string) error {
	return func(ctx context.Context, e env, args []string) error {
		summary := map[string]string{
			"pause":  "Pause a rollout: no new task starts; tasks already handed to agents finish.",
			"resume": "Resume a paused or halted rollout. With --retry-failed, every failed task gets a new attempt at its host's next opening (after fixing the cause).",
			"halt":   "Halt a rollout, as the driver does when a wave's failures pass its budget: no new task starts and no wave is promoted until it is resumed.",
			"abort":  "Abort a rollout for good: tasks not started are canceled. Patches it did not install wait for the next release.",
		}[action]
		v := newVerb("rollouts "+action, "RELEASE", 1, summary, fmt.Sprintf("patchwave rollouts %s 2026-12 --reason \"...\"", action))
		reason := v.String("reason", "", "why (required; recorded with the decision)")
		var retry *bool
		if action == "resume" {
			retry = v.Bool("retry-failed", false, "retry every failed task")
		}
		out := v.outputFlag()
		pos, err := v.parse(args)
		if err != nil {
			return err
		}
		if *reason == "" {
			return v.usageErrorf("--reason is required")
		}
		c, err := e.connect()
		if err != nil {
			return err
		}
		ro, err := c.RolloutAct(ctx, pos[0], action, *reason, retry != nil && *retry)
		if err != nil {
			return fmt.Errorf("%s %s: %w", action, pos[0], err)
		}
		if *out == formatJSON {
			return writeJSON(e.stdout, ro)
		}
		fmt.Fprintf(e.stdout, "Rollout of %s is %s.\n", ro.Release.Name, ro.Release.State)
		return nil
	}
}

func runRolloutsPromote(ctx context.Context, e env, args []string) error {
	v := newVerb("rollouts promote", "RELEASE", 1, `Promote a running wave whatever its gate says (admins only): for a gate that
cannot pass, such as too many hosts offline. The reason is recorded.`, `patchwave rollouts promote 2026-12 --wave 1 --reason "two pilot hosts are being decommissioned"`)
	wave := v.Int("wave", -1, "the wave (its order) to promote (required)")
	reason := v.String("reason", "", "why (required)")
	out := v.outputFlag()
	pos, err := v.parse(args)
	if err != nil {
		return err
	}
	if *wave < 0 || *reason == "" {
		return v.usageErrorf("--wave and --reason are required")
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	ro, err := c.Promote(ctx, pos[0], *wave, *reason)
	if err != nil {
		return fmt.Errorf("promote %s wave %d: %w", pos[0], *wave, err)
	}
	if *out == formatJSON {
		return writeJSON(e.stdout, ro)
	}
	fmt.Fprintf(e.stdout, "Wave %d of %s promoted.\n", *wave, pos[0])
	return nil
}

func runRolloutsRetry(ctx context.Context, e env, args []string) error {
	v := newVerb("rollouts retry", "RELEASE", 1, `Retry failed tasks: of the hosts named, or every failed one. Each gets a new
attempt at its host's next window opening.`, "patchwave rollouts retry 2026-12 --host web-03\npatchwave rollouts retry 2026-12")
	hosts := v.String("host", "", "only these `hosts` (comma-separated)")
	pos, err := v.parse(args)
	if err != nil {
		return err
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	n, err := c.Retry(ctx, pos[0], splitList(*hosts))
	if err != nil {
		return fmt.Errorf("retry %s: %w", pos[0], err)
	}
	fmt.Fprintf(e.stdout, "%d tasks will be retried.\n", n)
	return nil
}

func runRolloutsExplain(ctx context.Context, e env, args []string) error {
	v := newVerb("rollouts explain", "RELEASE", 1, `Say why a host has (not) been patched yet in a release, by the same rules the
rollout driver follows: its wave, exclusions, windows, the wave's state and
budget, its task and what the driver recorded about it.`, "patchwave rollouts explain 2026-12 --host web-01")
	host := v.String("host", "", "the `host` (required)")
	out := v.outputFlag()
	pos, err := v.parse(args)
	if err != nil {
		return err
	}
	if *host == "" {
		return v.usageErrorf("--host is required")
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	x, err := c.Explain(ctx, pos[0], *host)
	if err != nil {
		return fmt.Errorf("explain %s in %s: %w", *host, pos[0], err)
	}
	if *out == formatJSON {
		return writeJSON(e.stdout, x)
	}
	fmt.Fprintf(e.stdout, "%s in %s: %s.\n", x.Host, x.Release, x.Answer)
	if !x.InRelease {
		return nil
	}
	k := newKV(e.stdout)
	if x.Wave != nil {
		k.line("Wave", fmt.Sprintf("%d %s (%s)", *x.Wave, x.WaveName, x.WaveState))
	}
	if x.Excluded != "" {
		k.line("Excluded", x.Excluded)
	}
	var ps []string
	for _, p := range x.Patches {
		ps = append(ps, p.Package+" "+p.Version)
	}
	if len(ps) > 0 {
		k.line("Patches", strings.Join(ps, ", "))
	}
	if x.Opening != nil {
		k.line("Opening", openingText(*x.Opening))
	}
	if x.Task != nil {
		k.line("Task", fmt.Sprintf("%d, %s, attempt %d", x.Task.ID, x.Task.State, x.Task.Attempt))
		if x.Task.Reason != "" {
			k.line("Armed because", x.Task.Reason)
		}
	}
	if err := k.flush(); err != nil {
		return err
	}
	if len(x.Events) > 0 {
		fmt.Fprintln(e.stdout)
		return eventsTable(e.stdout, x.Events)
	}
	return nil
}

func eventsTable(w io.Writer, es []patchwave.RolloutEvent) error {
	t := newTable(w, "AT", "WAVE", "EVENT", "BY", "REASON")
	for _, ev := range es {
		wave := fmt.Sprint(ev.Wave)
		if ev.Wave < 0 {
			wave = "-"
		}
		t.row(ev.At.Format("2006-01-02 15:04"), wave, ev.Kind, ev.Actor, ev.Reason)
	}
	return t.flush()
}

func runRolloutsTasks(ctx context.Context, e env, args []string) error {
	v := newVerb("rollouts tasks", "RELEASE", 1, "List a rollout's tasks: one per host, with its state, attempt, window and result.",
		"patchwave rollouts tasks 2026-12 --state failed\npatchwave rollouts tasks 2026-12 --wave 1 -o json")
	var q client.TaskQuery
	v.IntVar(&q.Wave, "wave", -1, "only this wave (its order)")
	v.StringVar(&q.State, "state", "", "only tasks in this `state`: pending, dispatched, running, succeeded, failed, expired, canceled")
	v.StringVar(&q.Host, "host", "", "only this `host`")
	all := v.Bool("all", false, "every page, not only the first 100")
	out := v.outputFlag()
	pos, err := v.parse(args)
	if err != nil {
		return err
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	var tasks []patchwave.Task
	for {
		ts, next, err := c.Tasks(ctx, pos[0], q)
		if err != nil {
			return fmt.Errorf("tasks of %s: %w", pos[0], err)
		}
		tasks = append(tasks, ts...)
		if next == "" || !*all {
			break
		}
		q.After = next
	}
	if *out == formatJSON {
		return writeJSON(e.stdout, tasks)
	}
	t := newTable(e.stdout, "ID", "HOST", "KIND", "WAVE", "STATE", "ATTEMPT", "WINDOW", "STARTED", "FINISHED", "ERROR")
	for _, tk := range tasks {
		t.row(fmt.Sprint(tk.ID), tk.Hostname, string(tk.Kind), fmt.Sprint(tk.Wave), string(tk.State), fmt.Sprint(tk.Attempt), tk.Window,
			whenPtr(tk.StartedAt, "-"), whenPtr(tk.FinishedAt, "-"), tk.Error)
	}
	return t.flush()
}

func runRolloutsEvents(ctx context.Context, e env, args []string) error {
	v := newVerb("rollouts events", "RELEASE", 1, "List what the rollout driver and people decided about a rollout, with their reasons, oldest first.",
		"patchwave rollouts events 2026-12\npatchwave rollouts events 2026-12 --host web-01")
	host := v.String("host", "", "only the events of this `host`, its wave and the whole rollout")
	limit := v.Int("limit", 200, "at most this many (the newest)")
	out := v.outputFlag()
	pos, err := v.parse(args)
	if err != nil {
		return err
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	es, err := c.Events(ctx, pos[0], *host, *limit)
	if err != nil {
		return fmt.Errorf("events of %s: %w", pos[0], err)
	}
	if *out == formatJSON {
		return writeJSON(e.stdout, es)
	}
	return eventsTable(e.stdout, es)
}

// approvalVerbs is the verb table of "patchwave approvals".
func approvalVerbs() []command {
	return []command{
		{"list", "list a rollout's approvals", runApprovalsList},
		{"approve", "approve a wave's promotion (or, with --stage start, its start)", approvalRunner(plan.Approve)},
		{"reject", "reject a wave's promotion or start: the rollout halts", approvalRunner(plan.Reject)},
	}
}

func runApprovalsList(ctx context.Context, e env, args []string) error {
	v := newVerb("approvals list", "RELEASE", 1, "List the approvals and rejections given in a rollout.", "patchwave approvals list 2026-12")
	out := v.outputFlag()
	pos, err := v.parse(args)
	if err != nil {
		return err
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	as, err := c.Approvals(ctx, pos[0])
	if err != nil {
		return fmt.Errorf("approvals of %s: %w", pos[0], err)
	}
	if *out == formatJSON {
		return writeJSON(e.stdout, as)
	}
	t := newTable(e.stdout, "WAVE", "STAGE", "DECISION", "BY", "AT", "REASON")
	for _, a := range as {
		t.row(fmt.Sprint(a.Wave), a.Stage, a.Decision, a.Actor+" ("+a.Role+")", a.At.Format("2006-01-02 15:04"), a.Reason)
	}
	return t.flush()
}

func approvalRunner(decision string) func(context.Context, env, []string) error {
	return func(ctx context.Context, e env, args []string) error {
		summary := `Approve a wave: its promotion (the default; for wave 0 this is the lab
sign-off) or, with --stage start, its start. Only the users or roles the wave
names may; admins stand in for any role.`
		if decision == plan.Reject {
			summary = `Reject a wave's promotion or start: the rollout halts with your reason until
it is resumed (and approved again).`
		}
		v := newVerb("approvals "+decision, "RELEASE", 1, summary, fmt.Sprintf("patchwave approvals %s 2026-12 --wave 0 --reason \"lab tests passed\"", decision))
		wave := v.Int("wave", -1, "the wave (its order) (required)")
		stage := v.String("stage", plan.StagePromote, "promote or start")
		reason := v.String("reason", "", "why (required to reject)")
		out := v.outputFlag()
		pos, err := v.parse(args)
		if err != nil {
			return err
		}
		if *wave < 0 {
			return v.usageErrorf("--wave is required")
		}
		c, err := e.connect()
		if err != nil {
			return err
		}
		a, err := c.Approve(ctx, pos[0], *wave, *stage, decision, *reason)
		if err != nil {
			return fmt.Errorf("%s wave %d of %s: %w", decision, *wave, pos[0], err)
		}
		if *out == formatJSON {
			return writeJSON(e.stdout, a)
		}
		fmt.Fprintf(e.stdout, "Wave %d of %s: %s %sd by %s.\n", a.Wave, pos[0], a.Stage, a.Decision, a.Actor)
		return nil
	}
}
