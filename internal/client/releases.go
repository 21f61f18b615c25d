package client

import (
	"context"
	"net/url"
	"strconv"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/plan"
)

// ReleaseRequest asks for a new release: the approved patches of now,
// frozen.
type ReleaseRequest struct {
	Name          string   `json:"name,omitempty"`
	Cycle         string   `json:"cycle,omitempty"`
	OutOfBand     bool     `json:"out_of_band,omitempty"`
	Compressed    *bool    `json:"compressed,omitempty"`
	ReleasedAt    string   `json:"released_at,omitempty"`
	AllowNoWindow bool     `json:"allow_no_window,omitempty"`
	Reason        string   `json:"reason,omitempty"`
	CVEs          []string `json:"cves,omitempty"`
	Advisories    []string `json:"advisories,omitempty"`
	Packages      []string `json:"packages,omitempty"`
}

// ReleaseSummary counts what a release holds.
type ReleaseSummary struct {
	Hosts     int            `json:"hosts"`
	Excluded  int            `json:"excluded"`
	NoWave    int            `json:"no_wave"`
	Held      int            `json:"held"`
	PatchSets int            `json:"patch_sets"`
	Patches   int            `json:"patches"`
	ByWave    map[string]int `json:"by_wave"`
	Warnings  []string       `json:"warnings,omitempty"`
	Reason    string         `json:"reason,omitempty"`
	Only      []string       `json:"only,omitempty"`
}

// Release is a frozen release and the state of its rollout.
type Release struct {
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

// Plan is a release laid out in time.
type Plan struct {
	Release string          `json:"release"`
	Waves   []plan.WavePlan `json:"waves"`
	Hosts   []plan.HostSlot `json:"hosts"`
	Total   int             `json:"total"`
}

// WaveProgress is one wave of a rollout with its counts.
type WaveProgress struct {
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

// Rollout is a release's rollout with each wave's progress.
type Rollout struct {
	Release   Release              `json:"release"`
	Waves     []WaveProgress       `json:"waves"`
	Approvals []patchwave.Approval `json:"approvals"`
}

// Explanation says why a host is (not) patched in a release.
type Explanation struct {
	Release   string                   `json:"release"`
	Host      string                   `json:"host"`
	Answer    string                   `json:"answer"`
	InRelease bool                     `json:"in_release"`
	Wave      *int                     `json:"wave,omitempty"`
	WaveName  string                   `json:"wave_name,omitempty"`
	WaveState string                   `json:"wave_state,omitempty"`
	Excluded  string                   `json:"excluded,omitempty"`
	PatchSet  string                   `json:"patch_set,omitempty"`
	Patches   []plan.PatchTarget       `json:"patches,omitempty"`
	Opening   *Opening                 `json:"opening,omitempty"`
	Task      *patchwave.Task          `json:"task,omitempty"`
	Events    []patchwave.RolloutEvent `json:"events"`
}

// Waves returns the wave plan new releases take.
func (c *Client) Waves(ctx context.Context) ([]plan.WaveJSON, error) {
	var out struct {
		Waves []plan.WaveJSON `json:"waves"`
	}
	err := c.Do(ctx, "GET", "/api/v1/waves", nil, nil, &out)
	return out.Waves, err
}

// PutWaves replaces the wave plan.
func (c *Client) PutWaves(ctx context.Context, ws []plan.WaveJSON) ([]plan.WaveJSON, error) {
	var out struct {
		Waves []plan.WaveJSON `json:"waves"`
	}
	err := c.Do(ctx, "PUT", "/api/v1/waves", nil, struct {
		Waves []plan.WaveJSON `json:"waves"`
	}{ws}, &out)
	return out.Waves, err
}

// CreateRelease freezes a release.
func (c *Client) CreateRelease(ctx context.Context, req ReleaseRequest) (Release, error) {
	var out Release
	err := c.Do(ctx, "POST", "/api/v1/releases", nil, req, &out)
	return out, err
}

// Releases lists releases, newest first; with active, only running ones.
func (c *Client) Releases(ctx context.Context, active bool) ([]Release, error) {
	q := url.Values{}
	if active {
		q.Set("active", "true")
	}
	var out struct {
		Releases []Release `json:"releases"`
	}
	err := c.Do(ctx, "GET", "/api/v1/releases", q, nil, &out)
	return out.Releases, err
}

// Release returns one release.
func (c *Client) Release(ctx context.Context, name string) (Release, error) {
	var out Release
	err := c.Do(ctx, "GET", "/api/v1/releases/"+url.PathEscape(name), nil, nil, &out)
	return out, err
}

// PatchSets returns a release's frozen patch sets.
func (c *Client) PatchSets(ctx context.Context, name string) ([]plan.PatchSet, error) {
	var out struct {
		PatchSets []plan.PatchSet `json:"patch_sets"`
	}
	err := c.Do(ctx, "GET", "/api/v1/releases/"+url.PathEscape(name)+"/patch-sets", nil, nil, &out)
	return out.PatchSets, err
}

// Plan lays a release out: host and wave filter it ("" and -1 for all),
// limit bounds the hosts listed (0: the server's default).
func (c *Client) Plan(ctx context.Context, name, host string, wave, limit int) (Plan, error) {
	q := url.Values{}
	if host != "" {
		q.Set("host", host)
	}
	if wave >= 0 {
		q.Set("wave", strconv.Itoa(wave))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out Plan
	err := c.Do(ctx, "GET", "/api/v1/releases/"+url.PathEscape(name)+"/plan", q, nil, &out)
	return out, err
}

// Rollout returns a release's rollout and its waves' progress.
func (c *Client) Rollout(ctx context.Context, name string) (Rollout, error) {
	var out Rollout
	err := c.Do(ctx, "GET", "/api/v1/rollouts/"+url.PathEscape(name), nil, nil, &out)
	return out, err
}

// RolloutAct pauses, resumes, halts or aborts a rollout, with a reason;
// retryFailed (resume only) retries every failed task.
func (c *Client) RolloutAct(ctx context.Context, name, action, reason string, retryFailed bool) (Rollout, error) {
	var out Rollout
	err := c.Do(ctx, "POST", "/api/v1/rollouts/"+url.PathEscape(name)+"/"+action, nil, struct {
		Reason      string `json:"reason,omitempty"`
		RetryFailed bool   `json:"retry_failed,omitempty"`
	}{reason, retryFailed}, &out)
	return out, err
}

// Approve records an approval (or, with decision reject, a rejection) of
// a wave's stage: promote or start.
func (c *Client) Approve(ctx context.Context, name string, wave int, stage, decision, reason string) (patchwave.Approval, error) {
	var out patchwave.Approval
	err := c.Do(ctx, "POST", "/api/v1/rollouts/"+url.PathEscape(name)+"/approvals", nil, struct {
		Wave     int    `json:"wave"`
		Stage    string `json:"stage,omitempty"`
		Decision string `json:"decision,omitempty"`
		Reason   string `json:"reason,omitempty"`
	}{wave, stage, decision, reason}, &out)
	return out, err
}

// Approvals lists a rollout's approvals.
func (c *Client) Approvals(ctx context.Context, name string) ([]patchwave.Approval, error) {
	var out struct {
		Approvals []patchwave.Approval `json:"approvals"`
	}
	err := c.Do(ctx, "GET", "/api/v1/rollouts/"+url.PathEscape(name)+"/approvals", nil, nil, &out)
	return out.Approvals, err
}

// Promote promotes a running wave past its gate (admins).
func (c *Client) Promote(ctx context.Context, name string, wave int, reason string) (Rollout, error) {
	var out Rollout
	err := c.Do(ctx, "POST", "/api/v1/rollouts/"+url.PathEscape(name)+"/promote", nil, struct {
		Wave   int    `json:"wave"`
		Reason string `json:"reason"`
	}{wave, reason}, &out)
	return out, err
}

// Retry retries the failed tasks of the hosts named (all when none).
func (c *Client) Retry(ctx context.Context, name string, hosts []string) (int, error) {
	var out struct {
		Retried int `json:"retried"`
	}
	err := c.Do(ctx, "POST", "/api/v1/rollouts/"+url.PathEscape(name)+"/retry", nil, struct {
		Hosts []string `json:"hosts,omitempty"`
	}{hosts}, &out)
	return out.Retried, err
}

// TaskQuery filters a rollout's tasks; Wave -1 means every wave.
type TaskQuery struct {
	Wave  int
	State string
	Host  string
	After string
	Limit int
}

// Tasks lists a rollout's tasks and the cursor of the next page ("" at
// the end).
func (c *Client) Tasks(ctx context.Context, name string, tq TaskQuery) ([]patchwave.Task, string, error) {
	q := url.Values{}
	if tq.Wave >= 0 {
		q.Set("wave", strconv.Itoa(tq.Wave))
	}
	for k, v := range map[string]string{"state": tq.State, "host": tq.Host, "after": tq.After} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if tq.Limit > 0 {
		q.Set("limit", strconv.Itoa(tq.Limit))
	}
	var out struct {
		Tasks []patchwave.Task `json:"tasks"`
		Next  string           `json:"next"`
	}
	err := c.Do(ctx, "GET", "/api/v1/rollouts/"+url.PathEscape(name)+"/tasks", q, nil, &out)
	return out.Tasks, out.Next, err
}

// Events lists a rollout's events (of one host and its wave when host is
// set), oldest first.
func (c *Client) Events(ctx context.Context, name, host string, limit int) ([]patchwave.RolloutEvent, error) {
	q := url.Values{}
	if host != "" {
		q.Set("host", host)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out struct {
		Events []patchwave.RolloutEvent `json:"events"`
	}
	err := c.Do(ctx, "GET", "/api/v1/rollouts/"+url.PathEscape(name)+"/events", q, nil, &out)
	return out.Events, err
}

// Explain says why a host is (not) patched yet in a release.
func (c *Client) Explain(ctx context.Context, name, host string) (Explanation, error) {
	var out Explanation
	err := c.Do(ctx, "GET", "/api/v1/rollouts/"+url.PathEscape(name)+"/explain", url.Values{"host": {host}}, nil, &out)
	return out, err
}

// TaskResults reports task results as an agent (the client's token is
// the agent's credential).
func (c *Client) TaskResults(ctx context.Context, results []patchwave.TaskResult) ([]int64, error) {
	var out patchwave.TaskResultsResponse
	err := c.Do(ctx, "POST", "/api/v1/agent/results", nil, patchwave.TaskResults{Results: results}, &out)
	return out.Accepted, err
}
