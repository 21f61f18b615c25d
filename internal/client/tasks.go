package client

import (
	"context"
	"fmt"
	"net/url"
	"strconv"

	"github.com/patchwave/patchwave"
)

// HostTaskRequest asks a host's agent for a task outside a rollout.
type HostTaskRequest struct {
	Kind    string `json:"kind"`              // scan, verify, rollback, reboot or run-hook
	Release string `json:"release,omitempty"` // verify and rollback: the release whose patches
	Hook    string `json:"hook,omitempty"`    // run-hook: the name of a hook configured on the agent
	Within  string `json:"within,omitempty"`  // how long the agent has to start it (a Go duration; default 1h)
	Reason  string `json:"reason"`
}

// CreateHostTask asks host's agent for a task; the agent gets it within
// seconds when it is online.
func (c *Client) CreateHostTask(ctx context.Context, host string, req HostTaskRequest) (patchwave.Task, error) {
	var t patchwave.Task
	err := c.Do(ctx, "POST", "/api/v1/hosts/"+url.PathEscape(host)+"/tasks", nil, req, &t)
	return t, err
}

// HostTasks lists a host's tasks, of rollouts and asked for, oldest first,
// one page after the cursor after ("" for the first).
func (c *Client) HostTasks(ctx context.Context, host, after string, limit int) ([]patchwave.Task, string, error) {
	q := url.Values{}
	if after != "" {
		q.Set("after", after)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out struct {
		Tasks []patchwave.Task `json:"tasks"`
		Next  string           `json:"next"`
	}
	err := c.Do(ctx, "GET", "/api/v1/hosts/"+url.PathEscape(host)+"/tasks", q, nil, &out)
	return out.Tasks, out.Next, err
}

// Task returns one task with the agent's report.
func (c *Client) Task(ctx context.Context, id int64) (patchwave.Task, error) {
	var t patchwave.Task
	err := c.Do(ctx, "GET", fmt.Sprintf("/api/v1/tasks/%d", id), nil, nil, &t)
	return t, err
}
