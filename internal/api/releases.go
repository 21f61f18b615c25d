package api

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/plan"
	"github.com/patchwave/patchwave/internal/sched"
	"github.com/patchwave/patchwave/internal/store"
)

// Releases freeze the approved patches of a moment; their rollouts move
// them through the waves. Operators and admins create and steer them;
// the approvers a wave names approve it.

// WavesSetting is the settings key of the wave plan new releases take.
const WavesSetting = "waves"

type (
	waveList struct {
		Waves []plan.WaveJSON `json:"waves"`
	}
	releaseRequest struct {
		// Name defaults to the cycle ("2026-12") or, out of band, to
		// "oob-" and the release time.
		Name string `json:"name,omitempty"`
		// Cycle picks the monthly cycle (YYYY-MM) whose release day
		// anchors the waves; default: the current cycle.
		Cycle string `json:"cycle,omitempty"`
		// OutOfBand starts an emergency release now (or at ReleasedAt),
		// on compressed waves unless Compressed is false.
		OutOfBand  bool   `json:"out_of_band,omitempty"`
		Compressed *bool  `json:"compressed,omitempty"`
		ReleasedAt string `json:"released_at,omitempty"`
		// AllowNoWindow lets hosts without a maintenance window be
		// patched at any time outside their freezes.
		AllowNoWindow bool   `json:"allow_no_window,omitempty"`
		Reason        string `json:"reason,omitempty"`
		// CVEs, Advisories and Packages, when given, limit the release
		// to the approved patches that fix one of them.
		CVEs       []string `json:"cves,omitempty"`
		Advisories []string `json:"advisories,omitempty"`
		Packages   []string `json:"packages,omitempty"`
	}
	// ReleaseSummary counts what a release holds, as frozen.
	ReleaseSummary struct {
		Hosts     int            `json:"hosts"`
		Excluded  int            `json:"excluded"`
		NoWave    int            `json:"no_wave"`
		Held      int            `json:"held"`
		PatchSets int            `json:"patch_sets"`
		Patches   int            `json:"patches"` // distinct package versions
		ByWave    map[string]int `json:"by_wave"`
		Warnings  []string       `json:"warnings,omitempty"`
		Reason    string         `json:"reason,omitempty"`
		Only      []string       `json:"only,omitempty"`
	}
	// Release is a release as the API sends it.
	Release struct {
		ID            int64                  `json:"id"`
		Name          string                 `json:"name"`
		Cycle         string                 `json:"cycle"`
		Kind          string                 `json:"kind"`
		ReleasedAt    time.Time              `json:"released_at"`
		AllowNoWindow bool                   `json:"allow_no_window,omitempty"`
		ContentHash   string                 `json:"content_hash"`
		State         patchwave.RolloutState `json:"state"`
		StateReason   string                 `json:"state_reason,omitempty"`
		CreatedBy     string                 `json:"created_by"`
		CreatedAt     time.Time              `json:"created_at"`
		Summary       ReleaseSummary         `json:"summary"`
		Waves         []plan.WaveJSON        `json:"waves"`
	}
	releaseList struct {
		Releases []Release `json:"releases"`
	}
	patchSetList struct {
		PatchSets []plan.PatchSet `json:"patch_sets"`
	}
	// Plan is a release laid out in time: each wave's start, and each
	// host's first opening in it (see API.ReleasePlan).
	Plan struct {
		Release string          `json:"release"`
		Waves   []plan.WavePlan `json:"waves"`
		Hosts   []plan.HostSlot `json:"hosts"`
		Total   int             `json:"total"`
	}
	// WaveProgress is one wave of a rollout as the driver counts it.
	WaveProgress struct {
		Order      int                 `json:"order"`
		Name       string              `json:"name"`
		State      patchwave.WaveState `json:"state"`
		Hosts      int                 `json:"hosts"`
		Done       int                 `json:"done"`
		Succeeded  int                 `json:"succeeded"`
		Failed     int                 `json:"failed"`
		Running    int                 `json:"running"`
		Missed     int                 `json:"missed"`
		FirstPass  float64             `json:"first_pass_pct"`
		Budget     int                 `json:"error_budget"`
		StartedAt  *time.Time          `json:"started_at,omitempty"`
		PromotedAt *time.Time          `json:"promoted_at,omitempty"`
		Note       string              `json:"note,omitempty"`
	}
	// Rollout is a release's rollout: the release, its waves' progress
	// and the approvals given.
	Rollout struct {
		Release   Release              `json:"release"`
		Waves     []WaveProgress       `json:"waves"`
		Approvals []patchwave.Approval `json:"approvals"`
	}
	// RolloutAction is the body of a pause, resume, halt or abort.
	RolloutAction struct {
		Reason string `json:"reason,omitempty"`
		// RetryFailed, on resume, starts a new attempt of every failed
		// task (after the cause was fixed).
		RetryFailed bool `json:"retry_failed,omitempty"`
	}
	// ApprovalRequest is a decision on a wave's start or promotion.
	ApprovalRequest struct {
		Wave     int    `json:"wave"`
		Stage    string `json:"stage,omitempty"`    // promote (default) or start
		Decision string `json:"decision,omitempty"` // approve (default) or reject
		Reason   string `json:"reason,omitempty"`
	}
	promoteRequest struct {
		Wave   int    `json:"wave"`
		Reason string `json:"reason"`
	}
	retryRequest struct {
		Hosts []string `json:"hosts,omitempty"` // default: every failed host
	}
	retryResult struct {
		Retried int `json:"retried"`
	}
	taskList struct {
		Tasks []patchwave.Task `json:"tasks"`
		Next  string           `json:"next"`
	}
	eventList struct {
		Events []patchwave.RolloutEvent `json:"events"`
	}
	explainT struct {
		Release string `json:"release"`
		Host    string `json:"host"`
		// Answer says in one sentence why the host is (not) patched.
		Answer    string                   `json:"answer"`
		InRelease bool                     `json:"in_release"`
		Wave      *int                     `json:"wave,omitempty"`
		WaveName  string                   `json:"wave_name,omitempty"`
		WaveState string                   `json:"wave_state,omitempty"`
		Excluded  string                   `json:"excluded,omitempty"`
		PatchSet  string                   `json:"patch_set,omitempty"`
		Patches   []plan.PatchTarget       `json:"patches,omitempty"`
		Opening   *openingT                `json:"opening,omitempty"`
		Task      *patchwave.Task          `json:"task,omitempty"`
		Events    []patchwave.RolloutEvent `json:"events"`
	}
)

// LoadWaves returns the stored wave plan, or plan.DefaultWaves.
func LoadWaves(ctx context.Context, s *store.Store) ([]plan.Wave, error) {
	b, err := s.Setting(ctx, WavesSetting)
	if err != nil || b == nil {
		return plan.DefaultWaves(), err
	}
	ws, err := plan.ParseWaves(b)
	if err != nil {
		return plan.DefaultWaves(), fmt.Errorf("stored waves: %w", err)
	}
	return ws, nil
}

// LoadWindowPlans returns the maintenance windows as the planner takes them.
func LoadWindowPlans(ctx context.Context, s *store.Store) ([]plan.Window, error) {
	_, pws, err := LoadWindows(ctx, s)
	return pws, err
}

func (a *API) getWaves(w http.ResponseWriter, r *http.Request) error {
	ws, err := LoadWaves(r.Context(), a.store)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, waveList{Waves: plan.WavesJSON(ws)})
	return nil
}

func (a *API) putWaves(w http.ResponseWriter, r *http.Request) error {
	u := user(r)
	if err := requireOperator(u, "change the waves"); err != nil {
		return err
	}
	var in waveList
	if err := decode(w, r, MaxBody, &in); err != nil {
		return err
	}
	ws, err := plan.WavesFromJSON(in.Waves)
	if err != nil {
		return err
	}
	before, err := LoadWaves(r.Context(), a.store)
	if err != nil {
		return err
	}
	a.warnWaves(w, r, ws)
	out := waveList{Waves: plan.WavesJSON(ws)}
	body, _ := json.Marshal(out.Waves)
	err = a.store.Write(r.Context(), func(tx *store.Tx) error {
		if err := tx.PutSetting(WavesSetting, body); err != nil {
			return err
		}
		return tx.Audit(u.Name, "waves.update", "waves", map[string]any{"before": plan.WavesJSON(before), "after": out.Waves})
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// warnWaves warns of waves no host falls in, hosts no wave takes and
// approvers nobody can be: a gate that can never pass.
func (a *API) warnWaves(w http.ResponseWriter, r *http.Request, ws []plan.Wave) {
	for _, msg := range a.waveWarnings(r.Context(), ws) {
		w.Header().Add(WarningHeader, msg)
	}
}

func (a *API) waveWarnings(ctx context.Context, ws []plan.Wave) []string {
	var out []string
	hosts, err := a.store.AllHosts(ctx)
	if err == nil && len(hosts) > 0 {
		byWave, unmatched := plan.AssignWaves(ws, hosts)
		for _, wv := range ws {
			if len(byWave[wv.Order]) == 0 {
				out = append(out, fmt.Sprintf("wave %d %q: no host falls in it today", wv.Order, wv.Name))
			}
		}
		if len(unmatched) > 0 {
			out = append(out, fmt.Sprintf("%d hosts fall in no wave and would never be patched", len(unmatched)))
		}
	}
	users, err := a.store.ListUsers(ctx)
	if err != nil {
		return out
	}
	for _, wv := range ws {
		for _, need := range append(slices.Clone(wv.StartApprovers), wv.Approvers...) {
			ok := slices.ContainsFunc(users, func(u patchwave.User) bool {
				return !u.Disabled && len(plan.CanApprove(u, []string{need})) > 0
			})
			if !ok {
				out = append(out, fmt.Sprintf("wave %d %q: no user can approve as %q: its gate can never pass", wv.Order, wv.Name, need))
			}
		}
	}
	return out
}

func releaseTOf(rel store.Release) Release {
	out := Release{ID: rel.ID, Name: rel.Name, Cycle: rel.Cycle, Kind: rel.Kind, ReleasedAt: rel.ReleasedAt, AllowNoWindow: rel.AllowNoWindow,
		ContentHash: rel.ContentHash, State: rel.State, StateReason: rel.StateReason, CreatedBy: rel.CreatedBy, CreatedAt: rel.CreatedAt}
	_ = json.Unmarshal(rel.Summary, &out.Summary)
	if ws, err := plan.ParseWaves(rel.Waves); err == nil {
		out.Waves = plan.WavesJSON(ws)
	}
	return out
}

// only keeps the findings that fix one of the CVEs, advisories or
// packages named (ignoring case); all of them when none is named.
func only(fs map[int64][]patchwave.Finding, cves, advisories, packages []string) map[int64][]patchwave.Finding {
	if len(cves)+len(advisories)+len(packages) == 0 {
		return fs
	}
	has := func(list []string, v string) bool {
		return slices.ContainsFunc(list, func(s string) bool { return strings.EqualFold(s, v) })
	}
	out := map[int64][]patchwave.Finding{}
	for id, list := range fs {
		for _, f := range list {
			if slices.ContainsFunc(f.CVEs, func(c string) bool { return has(cves, c) }) ||
				slices.ContainsFunc(f.Advisories, func(c string) bool { return has(advisories, c) }) ||
				has(packages, f.Package) || (f.Source != "" && has(packages, f.Source)) {
				out[id] = append(out[id], f)
			}
		}
	}
	return out
}

func (a *API) createRelease(w http.ResponseWriter, r *http.Request) error {
	u := user(r)
	if err := requireOperator(u, "create releases"); err != nil {
		return err
	}
	var in releaseRequest
	if err := decode(w, r, MaxBody, &in); err != nil {
		return err
	}
	for _, l := range [][]string{in.CVEs, in.Advisories, in.Packages} {
		if len(l) > 1000 {
			return patchwave.Errorf(patchwave.EInvalid, "release: at most 1000 CVEs, advisories or packages")
		}
		for _, v := range l {
			if err := patchwave.ValidLabel("release filter entry", v); err != nil {
				return err
			}
		}
	}
	if err := patchwave.ValidText("reason", in.Reason, 1000); err != nil {
		return err
	}
	ctx := r.Context()
	now := a.store.Now()
	waves, err := LoadWaves(ctx, a.store)
	if err != nil {
		return err
	}
	rel := store.Release{AllowNoWindow: in.AllowNoWindow, State: patchwave.RolloutScheduled, CreatedBy: u.Name}
	if in.OutOfBand {
		if strings.TrimSpace(in.Reason) == "" {
			return patchwave.Errorf(patchwave.EInvalid, "an out-of-band release needs a reason (e.g. the KEV entry it answers)")
		}
		if in.Cycle != "" {
			return patchwave.Errorf(patchwave.EInvalid, "an out-of-band release has no cycle: give released_at, or nothing for now")
		}
		rel.Kind, rel.ReleasedAt = store.ReleaseOutOfBand, now.In(a.location)
		if in.ReleasedAt != "" {
			if rel.ReleasedAt, err = parseWhen("released_at", in.ReleasedAt, a.location); err != nil {
				return err
			}
		}
		if in.Compressed == nil || *in.Compressed {
			waves = plan.Compressed(waves)
		}
		rel.Name = "oob-" + rel.ReleasedAt.Format("2006-01-02T1504")
		rel.Cycle = patchwave.CycleAt(rel.ReleasedAt, a.location)
	} else {
		if in.ReleasedAt != "" || in.Compressed != nil {
			return patchwave.Errorf(patchwave.EInvalid, "released_at and compressed are for out-of-band releases: a monthly release follows its cycle")
		}
		cad, err := LoadCadence(ctx, a.store, a.location)
		if err != nil {
			return err
		}
		var cy plan.Cycle
		if in.Cycle != "" {
			y, m, err := patchwave.ParseCycle(in.Cycle)
			if err != nil {
				return err
			}
			loc := cad.Start.Location()
			from := time.Date(y, m, 1, 0, 0, 0, 0, loc)
			cs := cad.Cycles(from, from.AddDate(0, 1, 0))
			if len(cs) == 0 {
				return patchwave.Errorf(patchwave.EInvalid, "the cadence has no release in %s", in.Cycle)
			}
			cy = cs[0]
		} else {
			var ok bool
			if cy, ok = cad.CycleOf(now); !ok {
				return patchwave.Errorf(patchwave.EInvalid, "the cadence had no release in the past year: give a cycle")
			}
		}
		rel.Kind, rel.ReleasedAt, rel.Name, rel.Cycle = store.ReleaseMonthly, cy.Release, cy.ID, cy.ID
	}
	if in.Name != "" {
		if err := patchwave.ValidLabel("release name", in.Name); err != nil {
			return err
		}
		if strings.ContainsAny(in.Name, "/\\?#") {
			return patchwave.Errorf(patchwave.EInvalid, "release name %q contains a slash, ? or #", in.Name)
		}
		rel.Name = in.Name
	}

	hosts, err := a.store.AllHosts(ctx)
	if err != nil {
		return err
	}
	candidates := slices.DeleteFunc(hosts, func(h patchwave.Host) bool { return !h.Managed || h.Revoked })
	approved, err := a.store.ApprovedFindings(ctx)
	if err != nil {
		return err
	}
	approved = only(approved, in.CVEs, in.Advisories, in.Packages)
	excs, err := LoadExceptions(ctx, a.store)
	if err != nil {
		return err
	}
	c, err := plan.BuildRelease(plan.ReleaseInput{Cycle: rel.Cycle, Hosts: candidates, Approved: approved, Exceptions: excs, Waves: waves, Now: now})
	if err != nil {
		return err
	}
	sum := ReleaseSummary{PatchSets: len(c.PatchSets), ByWave: map[string]int{}, Warnings: c.Warnings, Reason: in.Reason}
	sum.Only = append(append(append(sum.Only, in.CVEs...), in.Advisories...), in.Packages...)
	distinct := map[string]bool{}
	for _, ps := range c.PatchSets {
		for _, p := range ps.Patches {
			distinct[ps.Ecosystem+"\x00"+p.Package+"\x00"+p.Arch+"\x00"+p.Version] = true
		}
	}
	sum.Patches = len(distinct)
	byWave, excluded := c.Counts()
	sum.Excluded, sum.NoWave = excluded, byWave[plan.NoWave]
	for _, h := range c.Hosts {
		sum.Held += h.Held
	}
	for _, wv := range waves {
		sum.ByWave[fmt.Sprintf("%d %s", wv.Order, wv.Name)] = byWave[wv.Order]
		sum.Hosts += byWave[wv.Order]
	}
	if in.OutOfBand || now.Sub(rel.ReleasedAt) > 7*24*time.Hour {
		for _, wv := range waves {
			if !rel.ReleasedAt.Add(wv.StartOffset).After(now) && wv.Order > 0 {
				sum.Warnings = append(sum.Warnings, fmt.Sprintf("wave %d %q: its start (%s) has passed: it starts as soon as the wave before is promoted",
					wv.Order, wv.Name, rel.ReleasedAt.Add(wv.StartOffset).Format(time.RFC3339)))
			}
		}
	}
	sum.Warnings = append(sum.Warnings, a.waveWarnings(ctx, waves)...)
	rel.Summary, _ = json.Marshal(sum)
	rel.Waves, _ = json.Marshal(plan.WavesJSON(waves))
	err = a.store.Write(ctx, func(tx *store.Tx) error {
		if err := tx.CreateRelease(&rel, c, waves); err != nil {
			return err
		}
		if err := tx.AddEvent(rel.ID, patchwave.RolloutEvent{Wave: -1, Kind: "release.create", Actor: u.Name,
			Reason: cmp.Or(in.Reason, fmt.Sprintf("%s release of cycle %s", rel.Kind, rel.Cycle))}); err != nil {
			return err
		}
		return tx.Audit(u.Name, "release.create", "release:"+rel.Name, map[string]any{"before": nil, "after": map[string]any{
			"name": rel.Name, "kind": rel.Kind, "cycle": rel.Cycle, "released_at": rel.ReleasedAt, "content_hash": c.Hash, "summary": sum}})
	})
	if err != nil {
		return err
	}
	for _, msg := range sum.Warnings {
		w.Header().Add(WarningHeader, msg)
	}
	a.rolloutChanged()
	writeJSON(w, http.StatusCreated, releaseTOf(rel))
	return nil
}

func (a *API) rolloutChanged() {
	if a.onRollout != nil {
		a.onRollout()
	}
}

func (a *API) listReleases(w http.ResponseWriter, r *http.Request) error {
	active := false
	switch v := r.URL.Query().Get("active"); v {
	case "", "false":
	case "true":
		active = true
	default:
		return patchwave.Errorf(patchwave.EInvalid, "active=%q: want true or false", v)
	}
	rels, err := a.Releases(r.Context(), active)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, releaseList{Releases: rels})
	return nil
}

// Releases returns the releases, newest first; with active, only those
// whose rollout is not final.
func (a *API) Releases(ctx context.Context, active bool) ([]Release, error) {
	rels, err := a.store.ListReleases(ctx, active)
	if err != nil {
		return nil, err
	}
	out := []Release{}
	for _, rel := range rels {
		out = append(out, releaseTOf(rel))
	}
	return out, nil
}

func (a *API) getRelease(w http.ResponseWriter, r *http.Request) error {
	rel, err := a.store.Release(r.Context(), r.PathValue("release"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, releaseTOf(rel))
	return nil
}

func (a *API) releasePatchSets(w http.ResponseWriter, r *http.Request) error {
	rel, err := a.store.Release(r.Context(), r.PathValue("release"))
	if err != nil {
		return err
	}
	sets, err := a.store.PatchSets(r.Context(), rel.ID)
	if err != nil {
		return err
	}
	for _, ps := range sets {
		if plan.PatchSetHash(ps) != ps.Hash {
			return fmt.Errorf("release %s: patch set %s does not match its hash: the stored content changed", rel.Name, ps.Hash)
		}
	}
	writeJSON(w, http.StatusOK, patchSetList{PatchSets: sets})
	return nil
}

// releasePlan lays a release out in time: when each wave starts and when
// each host's first opening after it comes.
func (a *API) releasePlan(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit, err := queryInt(r, "limit", 1000)
	if err != nil {
		return err
	}
	pq := PlanQuery{Host: q.Get("host"), Limit: int(min(limit, 1<<30))}
	if wv := q.Get("wave"); wv != "" {
		n, err := positive("wave", wv, 100)
		if wv == "0" {
			n, err = 0, nil
		}
		if err != nil {
			return err
		}
		pq.Wave = &n
	}
	out, err := a.ReleasePlan(r.Context(), r.PathValue("release"), pq)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// PlanQuery picks the hosts of a release plan: those of one host name
// (ignoring case) and of one wave, when given; Limit of them (0: all)
// after the first Offset.
type PlanQuery struct {
	Host          string
	Wave          *int
	Offset, Limit int
}

// ReleasePlan lays release (a name or id) out in time: when each wave
// starts (actually or as projected), and when each host's first opening
// after its wave's start comes, or why it has none. Hosts come by wave,
// then opening, then name; Total counts those q picks before Offset and
// Limit.
func (a *API) ReleasePlan(ctx context.Context, release string, q PlanQuery) (Plan, error) {
	rel, err := a.store.Release(ctx, release)
	if err != nil {
		return Plan{}, err
	}
	waves, err := plan.ParseWaves(rel.Waves)
	if err != nil {
		return Plan{}, fmt.Errorf("release %s waves: %w", rel.Name, err)
	}
	rows, err := a.store.ReleaseWaves(ctx, rel.ID)
	if err != nil {
		return Plan{}, err
	}
	started := map[int]time.Time{}
	for _, p := range rows {
		if p.StartedAt != nil {
			started[p.Wave] = *p.StartedAt
		}
	}
	rhs, err := a.store.ReleaseHosts(ctx, rel.ID)
	if err != nil {
		return Plan{}, err
	}
	sets, err := a.store.PatchSets(ctx, rel.ID)
	if err != nil {
		return Plan{}, err
	}
	hosts, err := a.store.AllHosts(ctx)
	if err != nil {
		return Plan{}, err
	}
	byID := make(map[int64]patchwave.Host, len(hosts))
	for _, h := range hosts {
		if !h.Revoked {
			byID[h.ID] = h
		}
	}
	windows, err := LoadWindowPlans(ctx, a.store)
	if err != nil {
		return Plan{}, err
	}
	wp, slots := plan.Schedule(plan.ReleaseContent{PatchSets: sets, Hosts: rhs}, waves, rel.ReleasedAt, started, byID, windows, rel.AllowNoWindow)
	if q.Host != "" {
		slots = slices.DeleteFunc(slots, func(s plan.HostSlot) bool { return !strings.EqualFold(s.Hostname, q.Host) })
	}
	if q.Wave != nil {
		slots = slices.DeleteFunc(slots, func(s plan.HostSlot) bool { return s.Wave != *q.Wave })
	}
	slices.SortStableFunc(slots, func(x, y plan.HostSlot) int {
		if c := cmp.Compare(x.Wave, y.Wave); c != 0 {
			return c
		}
		if x.Opening != nil && y.Opening != nil {
			if c := x.Opening.Start.Compare(y.Opening.Start); c != 0 {
				return c
			}
		}
		return strings.Compare(x.Hostname, y.Hostname)
	})
	out := Plan{Release: rel.Name, Waves: wp, Total: len(slots)}
	slots = slots[min(max(q.Offset, 0), len(slots)):]
	if q.Limit > 0 && len(slots) > q.Limit {
		slots = slots[:q.Limit]
	}
	out.Hosts = slots
	if out.Hosts == nil {
		out.Hosts = []plan.HostSlot{}
	}
	return out, nil
}

// rolloutState loads what the rollout rules see of a release now.
func (a *API) rolloutState(ctx context.Context, rel store.Release) (*sched.State, error) {
	windows, err := LoadWindowPlans(ctx, a.store)
	if err != nil {
		return nil, err
	}
	excs, err := LoadExceptions(ctx, a.store)
	if err != nil {
		return nil, err
	}
	return sched.Load(ctx, a.store, rel, windows, excs, a.store.Now())
}

func (a *API) getRollout(w http.ResponseWriter, r *http.Request) error {
	out, err := a.Rollout(r.Context(), r.PathValue("release"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// Rollout returns the rollout of release (a name or id): the release,
// each wave's progress as the driver counts it, and the approvals given.
func (a *API) Rollout(ctx context.Context, release string) (Rollout, error) {
	rel, err := a.store.Release(ctx, release)
	if err != nil {
		return Rollout{}, err
	}
	return a.rollout(ctx, rel)
}

func (a *API) rollout(ctx context.Context, rel store.Release) (Rollout, error) {
	s, err := a.rolloutState(ctx, rel)
	if err != nil {
		return Rollout{}, err
	}
	out := Rollout{Release: releaseTOf(rel), Waves: []WaveProgress{}}
	for _, wv := range s.Waves {
		p := s.Progress[wv.Order]
		if p == nil {
			continue
		}
		st := s.Stats(wv, 0)
		wp := WaveProgress{Order: wv.Order, Name: wv.Name, State: p.State, Hosts: st.Hosts, Done: st.Done, Succeeded: st.Succeeded,
			Failed: st.Failed, Running: st.Running, Missed: st.Missed, Budget: wv.ErrorBudget(st.Hosts), StartedAt: p.StartedAt,
			PromotedAt: p.PromotedAt, Note: p.Note}
		if st.Done > 0 {
			wp.FirstPass = float64(int(float64(st.Succeeded)*1000/float64(st.Done))) / 10
		}
		out.Waves = append(out.Waves, wp)
	}
	if out.Approvals, err = a.store.Approvals(ctx, rel.ID); err != nil {
		return out, err
	}
	if out.Approvals == nil {
		out.Approvals = []patchwave.Approval{}
	}
	return out, nil
}

// rolloutMove is what a rollout action does: the state it moves the
// rollout to, from the states it may leave.
type rolloutMove struct {
	to   patchwave.RolloutState
	from []patchwave.RolloutState
}

// rolloutMoves are the actions people take on a rollout.
var rolloutMoves = map[string]rolloutMove{
	"pause":  {patchwave.RolloutPaused, []patchwave.RolloutState{patchwave.RolloutScheduled, patchwave.RolloutRunning}},
	"resume": {patchwave.RolloutRunning, []patchwave.RolloutState{patchwave.RolloutPaused, patchwave.RolloutHalted}},
	"halt":   {patchwave.RolloutHalted, []patchwave.RolloutState{patchwave.RolloutScheduled, patchwave.RolloutRunning, patchwave.RolloutPaused}},
	"abort":  {patchwave.RolloutAborted, []patchwave.RolloutState{patchwave.RolloutScheduled, patchwave.RolloutRunning, patchwave.RolloutPaused, patchwave.RolloutHalted}},
}

// rolloutAct changes a rollout's state: pause, resume, halt or abort.
func (a *API) rolloutAct(action string) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		var in RolloutAction
		if err := decode(w, r, MaxBody, &in); err != nil {
			return err
		}
		out, err := a.ActOnRollout(r.Context(), user(r), r.PathValue("release"), action, in)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	}
}

// ActOnRollout pauses, resumes, halts or aborts (action) the rollout of
// release on behalf of u, an admin or operator, with a reason; a resume
// may retry every failed task. It records the event and the audit entry,
// wakes the driver, and returns the rollout as it is now.
func (a *API) ActOnRollout(ctx context.Context, u patchwave.User, release, action string, in RolloutAction) (Rollout, error) {
	m, ok := rolloutMoves[action]
	if !ok {
		return Rollout{}, patchwave.Errorf(patchwave.EInvalid, "rollout action %q: want pause, resume, halt or abort", action)
	}
	if err := requireOperator(u, action+" rollouts"); err != nil {
		return Rollout{}, err
	}
	if err := patchwave.ValidText("reason", in.Reason, 1000); err != nil {
		return Rollout{}, err
	}
	if strings.TrimSpace(in.Reason) == "" {
		return Rollout{}, patchwave.Errorf(patchwave.EInvalid, "%s needs a reason", action)
	}
	if in.RetryFailed && action != "resume" {
		return Rollout{}, patchwave.Errorf(patchwave.EInvalid, "retry_failed goes with resume")
	}
	rel, err := a.store.Release(ctx, release)
	if err != nil {
		return Rollout{}, err
	}
	if !slices.Contains(m.from, rel.State) {
		return Rollout{}, patchwave.Errorf(patchwave.EConflict, "rollout %s is %s: cannot %s it", rel.Name, rel.State, action)
	}
	retried := 0
	err = a.store.Write(ctx, func(tx *store.Tx) error {
		reason := fmt.Sprintf("%s by %s: %s", action, u.Name, in.Reason)
		to := m.to
		if action == "resume" {
			reason = ""
		}
		ok, err := tx.SetReleaseState(rel.ID, to, reason, m.from...)
		if err != nil {
			return err
		}
		if !ok {
			return patchwave.Errorf(patchwave.EConflict, "rollout %s changed meanwhile: look again", rel.Name)
		}
		if in.RetryFailed {
			if retried, err = tx.RetryTasks(rel.ID, nil); err != nil {
				return err
			}
		}
		if to.Final() {
			if _, err := tx.CancelTasks(rel.ID, -1, "the rollout was aborted"); err != nil {
				return err
			}
		}
		if err := tx.AddEvent(rel.ID, patchwave.RolloutEvent{Wave: -1, Kind: "rollout." + action, Actor: u.Name, Reason: in.Reason}); err != nil {
			return err
		}
		return tx.Audit(u.Name, "rollout."+action, "release:"+rel.Name, map[string]any{"before": rel.State, "after": to, "reason": in.Reason, "retried": retried})
	})
	if err != nil {
		return Rollout{}, err
	}
	a.rolloutChanged()
	rel, err = a.store.Release(ctx, rel.Name)
	if err != nil {
		return Rollout{}, err
	}
	return a.rollout(ctx, rel)
}

func (a *API) approveWave(w http.ResponseWriter, r *http.Request) error {
	var in ApprovalRequest
	if err := decode(w, r, MaxBody, &in); err != nil {
		return err
	}
	rec, err := a.ApproveWave(r.Context(), user(r), r.PathValue("release"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, rec)
	return nil
}

// ApproveWave records u's decision (approve, the default, or reject) on
// the start or the promotion (the default stage) of a wave of release:
// u must be one of the approvers the wave names for that stage, by name
// or role (an admin counts for every role). A rejection needs a reason
// and halts the rollout. It records the event and the audit entry, wakes
// the driver, and returns the approval as stored.
func (a *API) ApproveWave(ctx context.Context, u patchwave.User, release string, in ApprovalRequest) (patchwave.Approval, error) {
	in.Stage, in.Decision = cmp.Or(in.Stage, plan.StagePromote), cmp.Or(in.Decision, plan.Approve)
	if in.Stage != plan.StagePromote && in.Stage != plan.StageStart {
		return patchwave.Approval{}, patchwave.Errorf(patchwave.EInvalid, "stage %q: want promote or start", in.Stage)
	}
	if in.Decision != plan.Approve && in.Decision != plan.Reject {
		return patchwave.Approval{}, patchwave.Errorf(patchwave.EInvalid, "decision %q: want approve or reject", in.Decision)
	}
	if err := patchwave.ValidText("reason", in.Reason, 1000); err != nil {
		return patchwave.Approval{}, err
	}
	if in.Decision == plan.Reject && strings.TrimSpace(in.Reason) == "" {
		return patchwave.Approval{}, patchwave.Errorf(patchwave.EInvalid, "a rejection needs a reason")
	}
	rel, err := a.store.Release(ctx, release)
	if err != nil {
		return patchwave.Approval{}, err
	}
	if rel.State.Final() {
		return patchwave.Approval{}, patchwave.Errorf(patchwave.EConflict, "rollout %s is %s", rel.Name, rel.State)
	}
	s, err := a.rolloutState(ctx, rel)
	if err != nil {
		return patchwave.Approval{}, err
	}
	wv, p := s.Wave(in.Wave)
	if wv == nil {
		return patchwave.Approval{}, patchwave.Errorf(patchwave.ENotFound, "release %s has no wave %d", rel.Name, in.Wave)
	}
	need := wv.Approvers
	if in.Stage == plan.StageStart {
		need = wv.StartApprovers
	}
	if len(need) == 0 {
		return patchwave.Approval{}, patchwave.Errorf(patchwave.EInvalid, "wave %d %q needs no %s approval", wv.Order, wv.Name, in.Stage)
	}
	if len(plan.CanApprove(u, need)) == 0 {
		return patchwave.Approval{}, patchwave.Errorf(patchwave.EForbidden, "wave %d %q needs the %s approval of %s; %s (%s) is none of them",
			wv.Order, wv.Name, in.Stage, strings.Join(need, ", "), u.Name, u.Role)
	}
	if (in.Stage == plan.StagePromote && p.State == patchwave.WavePromoted) || (in.Stage == plan.StageStart && p.State != patchwave.WaveWaiting) {
		return patchwave.Approval{}, patchwave.Errorf(patchwave.EConflict, "wave %d %q is %s already", wv.Order, wv.Name, p.State)
	}
	var rec patchwave.Approval
	err = a.store.Write(ctx, func(tx *store.Tx) error {
		var err error
		rec, err = tx.AddApproval(patchwave.Approval{ReleaseID: rel.ID, Wave: wv.Order, Stage: in.Stage, Actor: u.Name, Role: string(u.Role), Decision: in.Decision, Reason: in.Reason})
		if err != nil {
			return err
		}
		kind := "wave." + in.Stage + "." + in.Decision
		if err := tx.AddEvent(rel.ID, patchwave.RolloutEvent{Wave: wv.Order, Kind: kind, Actor: u.Name, Reason: cmp.Or(in.Reason, in.Decision)}); err != nil {
			return err
		}
		if in.Decision == plan.Reject && !rel.State.Final() {
			why := fmt.Sprintf("wave %d %q: %s rejected by %s: %s", wv.Order, wv.Name, in.Stage, u.Name, in.Reason)
			if _, err := tx.SetReleaseState(rel.ID, patchwave.RolloutHalted, why, patchwave.RolloutScheduled, patchwave.RolloutRunning, patchwave.RolloutPaused); err != nil {
				return err
			}
		}
		return tx.Audit(u.Name, "rollout."+in.Decision, "release:"+rel.Name, map[string]any{"wave": wv.Order, "stage": in.Stage, "reason": in.Reason})
	})
	if err != nil {
		return patchwave.Approval{}, err
	}
	a.rolloutChanged()
	return rec, nil
}

func (a *API) listApprovals(w http.ResponseWriter, r *http.Request) error {
	rel, err := a.store.Release(r.Context(), r.PathValue("release"))
	if err != nil {
		return err
	}
	as, err := a.store.Approvals(r.Context(), rel.ID)
	if err != nil {
		return err
	}
	if as == nil {
		as = []patchwave.Approval{}
	}
	writeJSON(w, http.StatusOK, struct {
		Approvals []patchwave.Approval `json:"approvals"`
	}{as})
	return nil
}

// promoteWave promotes a running wave whatever its gate says: an admin's
// decision, with its reason, for a gate that cannot pass (too many hosts
// offline, a first-pass rate that a fixed failure keeps low).
func (a *API) promoteWave(w http.ResponseWriter, r *http.Request) error {
	u := user(r)
	if err := requireAdmin(u); err != nil {
		return patchwave.Errorf(patchwave.EForbidden, "only admins may promote a wave past its gate")
	}
	var in promoteRequest
	if err := decode(w, r, MaxBody, &in); err != nil {
		return err
	}
	if err := patchwave.ValidText("reason", in.Reason, 1000); err != nil {
		return err
	}
	if strings.TrimSpace(in.Reason) == "" {
		return patchwave.Errorf(patchwave.EInvalid, "promoting past the gate needs a reason")
	}
	ctx := r.Context()
	rel, err := a.store.Release(ctx, r.PathValue("release"))
	if err != nil {
		return err
	}
	if rel.State.Final() {
		return patchwave.Errorf(patchwave.EConflict, "rollout %s is %s", rel.Name, rel.State)
	}
	s, err := a.rolloutState(ctx, rel)
	if err != nil {
		return err
	}
	wv, p := s.Wave(in.Wave)
	if wv == nil {
		return patchwave.Errorf(patchwave.ENotFound, "release %s has no wave %d", rel.Name, in.Wave)
	}
	if p.State != patchwave.WaveRunning {
		return patchwave.Errorf(patchwave.EConflict, "wave %d %q is %s: only a running wave can be promoted", wv.Order, wv.Name, p.State)
	}
	err = a.store.Write(ctx, func(tx *store.Tx) error {
		now := tx.Now()
		p.State, p.PromotedAt, p.Note = patchwave.WavePromoted, &now, fmt.Sprintf("promoted by %s past the gate: %s", u.Name, in.Reason)
		if err := tx.SetWave(rel.ID, *p); err != nil {
			return err
		}
		if _, err := tx.CancelTasks(rel.ID, wv.Order, "the wave was promoted by hand"); err != nil {
			return err
		}
		if err := tx.AddEvent(rel.ID, patchwave.RolloutEvent{Wave: wv.Order, Kind: "wave.promote.forced", Actor: u.Name, Reason: in.Reason}); err != nil {
			return err
		}
		return tx.Audit(u.Name, "rollout.promote", "release:"+rel.Name, map[string]any{"wave": wv.Order, "reason": in.Reason})
	})
	if err != nil {
		return err
	}
	a.rolloutChanged()
	out, err := a.rollout(ctx, rel)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) retryTasks(w http.ResponseWriter, r *http.Request) error {
	u := user(r)
	if err := requireOperator(u, "retry tasks"); err != nil {
		return err
	}
	var in retryRequest
	if err := decode(w, r, MaxBody, &in); err != nil {
		return err
	}
	ctx := r.Context()
	rel, err := a.store.Release(ctx, r.PathValue("release"))
	if err != nil {
		return err
	}
	if rel.State.Final() {
		return patchwave.Errorf(patchwave.EConflict, "rollout %s is %s", rel.Name, rel.State)
	}
	if len(in.Hosts) > 10000 {
		return patchwave.Errorf(patchwave.EInvalid, "at most 10000 hosts at once")
	}
	var ids []int64
	for _, name := range in.Hosts {
		h, err := a.store.Host(ctx, name)
		if err != nil {
			return err
		}
		ids = append(ids, h.ID)
	}
	n := 0
	err = a.store.Write(ctx, func(tx *store.Tx) error {
		var err error
		if n, err = tx.RetryTasks(rel.ID, ids); err != nil {
			return err
		}
		if err := tx.AddEvent(rel.ID, patchwave.RolloutEvent{Wave: -1, Kind: "tasks.retry", Actor: u.Name,
			Reason: fmt.Sprintf("%d tasks retried (%s)", n, cmp.Or(strings.Join(in.Hosts, ", "), "every failed host"))}); err != nil {
			return err
		}
		return tx.Audit(u.Name, "rollout.retry", "release:"+rel.Name, map[string]any{"hosts": in.Hosts, "retried": n})
	})
	if err != nil {
		return err
	}
	a.rolloutChanged()
	writeJSON(w, http.StatusOK, retryResult{Retried: n})
	return nil
}

func (a *API) listTasks(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	rel, err := a.store.Release(ctx, r.PathValue("release"))
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := store.TaskFilter{ReleaseID: rel.ID}
	if v := q.Get("state"); v != "" {
		st := patchwave.TaskState(v)
		if !slices.Contains([]patchwave.TaskState{patchwave.TaskPending, patchwave.TaskDispatched, patchwave.TaskRunning, patchwave.TaskSucceeded,
			patchwave.TaskFailed, patchwave.TaskExpired, patchwave.TaskCanceled}, st) {
			return patchwave.Errorf(patchwave.EInvalid, "state %q: want pending, dispatched, running, succeeded, failed, expired or canceled", v)
		}
		f.State = st
	}
	if v := q.Get("wave"); v != "" {
		n, err := queryInt(r, "wave", 0)
		if err != nil {
			return err
		}
		wv := int(n)
		f.Wave = &wv
	}
	if v := q.Get("host"); v != "" {
		h, err := a.store.Host(ctx, v)
		if err != nil {
			return err
		}
		f.HostID = h.ID
	}
	after, err := queryInt(r, "after", 0)
	if err != nil {
		return err
	}
	limit, err := queryInt(r, "limit", 100)
	if err != nil {
		return err
	}
	f.After, f.Limit = after, int(min(limit, 1000))
	ts, next, err := a.store.ListTasks(ctx, f)
	if err != nil {
		return err
	}
	out := taskList{Tasks: ts}
	if out.Tasks == nil {
		out.Tasks = []patchwave.Task{}
	}
	if next > 0 {
		out.Next = fmt.Sprint(next)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) listEvents(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	rel, err := a.store.Release(ctx, r.PathValue("release"))
	if err != nil {
		return err
	}
	limit, err := queryInt(r, "limit", 200)
	if err != nil {
		return err
	}
	var hostID int64
	wave := -1
	if v := r.URL.Query().Get("host"); v != "" {
		h, err := a.store.Host(ctx, v)
		if err != nil {
			return err
		}
		hostID = h.ID
		if rh, ok, err := a.store.ReleaseHost(ctx, rel.ID, h.ID); err != nil {
			return err
		} else if ok {
			wave = rh.Wave
		}
	}
	es, err := a.store.Events(ctx, rel.ID, hostID, wave, int(min(max(limit, 1), 1000)))
	if err != nil {
		return err
	}
	if es == nil {
		es = []patchwave.RolloutEvent{}
	}
	writeJSON(w, http.StatusOK, eventList{Events: es})
	return nil
}

// explain answers "why has this host not been patched yet?" with the same
// rules the driver follows, and what the driver recorded.
func (a *API) explain(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	rel, err := a.store.Release(ctx, r.PathValue("release"))
	if err != nil {
		return err
	}
	name := r.URL.Query().Get("host")
	if name == "" {
		return patchwave.Errorf(patchwave.EInvalid, "host is missing: explain ?host=NAME")
	}
	h, err := a.store.Host(ctx, name)
	if err != nil {
		return err
	}
	out, err := a.explainHost(ctx, rel, h)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) explainHost(ctx context.Context, rel store.Release, h patchwave.Host) (explainT, error) {
	out := explainT{Release: rel.Name, Host: h.Hostname, Events: []patchwave.RolloutEvent{}}
	rh, ok, err := a.store.ReleaseHost(ctx, rel.ID, h.ID)
	if err != nil {
		return out, err
	}
	if !ok {
		out.Answer = fmt.Sprintf("the host is not in release %s: when it was frozen (%s) the host had no missing patch the baselines approved, or it was not managed by an agent",
			rel.Name, rel.CreatedAt.Format(time.RFC3339))
		return out, nil
	}
	out.InRelease, out.Excluded, out.PatchSet = true, rh.Excluded, rh.PatchSet
	if rh.Wave != plan.NoWave {
		wv := rh.Wave
		out.Wave = &wv
	}
	if out.Events, err = a.store.Events(ctx, rel.ID, h.ID, rh.Wave, 50); err != nil {
		return out, err
	}
	if out.Events == nil {
		out.Events = []patchwave.RolloutEvent{}
	}
	if rh.PatchSet != "" {
		sets, err := a.store.PatchSets(ctx, rel.ID)
		if err != nil {
			return out, err
		}
		for _, ps := range sets {
			if ps.Hash == rh.PatchSet {
				out.Patches = ps.Patches
			}
		}
	}
	s, err := a.rolloutState(ctx, rel)
	if err != nil {
		return out, err
	}
	wv, p := s.Wave(rh.Wave)
	if wv != nil && p != nil {
		out.WaveName, out.WaveState = wv.Name, string(p.State)
	}
	task, hasTask, err := a.store.HostTask(ctx, rel.ID, h.ID)
	if err != nil {
		return out, err
	}
	if hasTask {
		out.Task = &task
		at := func(t *time.Time) string {
			if t == nil {
				return "?"
			}
			return t.Format(time.RFC3339)
		}
		switch task.State {
		case patchwave.TaskSucceeded:
			out.Answer = fmt.Sprintf("patched: the task succeeded at %s (attempt %d)", at(task.FinishedAt), task.Attempt)
			return out, nil
		case patchwave.TaskFailed:
			out.Answer = fmt.Sprintf("the install failed at %s (attempt %d): %s; after fixing the cause, retry with: patchwave rollouts retry %s --host %s",
				at(task.FinishedAt), task.Attempt, task.Error, rel.Name, h.Hostname)
			return out, nil
		case patchwave.TaskCanceled:
			out.Answer = "the task was canceled: " + task.Error
			return out, nil
		case patchwave.TaskRunning:
			out.Answer = fmt.Sprintf("the agent is installing since %s; its result is due by %s", at(task.StartedAt), task.Deadline.Format(time.RFC3339))
			return out, nil
		case patchwave.TaskDispatched:
			out.Answer = fmt.Sprintf("the agent received the task at %s and has not reported yet; it may start until %s, and must report by %s",
				at(task.DispatchedAt), task.NotAfter.Format(time.RFC3339), task.Deadline.Format(time.RFC3339))
			return out, nil
		case patchwave.TaskPending:
			out.Answer = fmt.Sprintf("a task waits for the agent's next check-in (%s); it may start until %s", task.Reason, task.NotAfter.Format(time.RFC3339))
			if rel.State != patchwave.RolloutRunning {
				out.Answer += fmt.Sprintf(", but the rollout is %s: %s", rel.State, rel.StateReason)
			}
			return out, nil
		}
		// Expired: the checks below say when it is armed again.
	}
	var hp *patchwave.Host
	if h.ID != 0 {
		hp = &h
	}
	c := plan.CheckHost(rel.State, rh, hp, wv, p, s.Exclusions, s.Index, s.Now)
	if c.Opening != nil {
		out.Opening = &openingT{Start: c.Opening.Start, End: c.Opening.End, CutOff: c.Opening.CutOff}
	}
	out.Answer = c.Why
	if (rel.State == patchwave.RolloutPaused || rel.State == patchwave.RolloutHalted) && rel.StateReason != "" {
		out.Answer += ": " + rel.StateReason
	}
	if hasTask && task.State == patchwave.TaskExpired {
		out.Answer = fmt.Sprintf("the agent did not pick its task up before the cut-off at %s; %s", task.NotAfter.Format(time.RFC3339), c.Why)
	}
	if c.OK {
		st := s.Stats(*wv, 0)
		out.Answer = fmt.Sprintf("%s; it gets its task at the driver's next round, when the wave's concurrency allows (%d of %d hosts running, %d may start)",
			c.Why, st.Running, st.Hosts, wv.Budget(st.Hosts, st.Running))
	}
	return out, nil
}
