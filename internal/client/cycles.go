package client

import (
	"context"
	"net/url"
	"strconv"
	"time"

	"github.com/patchwave/patchwave"
)

// Phase is a named stretch of a release cycle, in days from the release
// day.
type Phase struct {
	Name   string `json:"name"`
	Offset int    `json:"offset"`
	Days   int    `json:"days"`
}

// Cadence is the release cadence: the release rule (an RRULE), its IANA
// time zone and the phases of each cycle.
type Cadence struct {
	RRule    string  `json:"rrule"`
	TimeZone string  `json:"time_zone"`
	Phases   []Phase `json:"phases"`
}

// PhaseDates is one phase of a cycle with its dates: [Start, End).
type PhaseDates struct {
	Name  string    `json:"name"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Cycle is one release cycle.
type Cycle struct {
	ID      string       `json:"id"`
	Release time.Time    `json:"release"`
	Phases  []PhaseDates `json:"phases"`
}

// Opening is one opening of a maintenance window: no new task starts at
// or after CutOff.
type Opening struct {
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	CutOff time.Time `json:"cut_off"`
}

// Window is a maintenance window (or, when Blocking, a change freeze).
type Window struct {
	ID       int64              `json:"id,omitempty"`
	Name     string             `json:"name"`
	RRule    string             `json:"rrule"`
	Start    string             `json:"start"` // local time in TimeZone, e.g. 2026-11-28T22:00
	TimeZone string             `json:"time_zone"`
	Duration string             `json:"duration"`
	CutOff   string             `json:"cut_off,omitempty"`
	Selector patchwave.Selector `json:"selector,omitzero"`
	Blocking bool               `json:"blocking,omitempty"`
	Next     []Opening          `json:"next,omitempty"`
}

// HostWindows is a host's windows and next openings.
type HostWindows struct {
	Host     string    `json:"host"`
	Windows  []string  `json:"windows"`
	Openings []Opening `json:"openings"`
}

// Cadence returns the release cadence.
func (c *Client) Cadence(ctx context.Context) (Cadence, error) {
	var out Cadence
	err := c.Do(ctx, "GET", "/api/v1/cadence", nil, nil, &out)
	return out, err
}

// PutCadence replaces the release cadence.
func (c *Client) PutCadence(ctx context.Context, cad Cadence) (Cadence, error) {
	var out Cadence
	err := c.Do(ctx, "PUT", "/api/v1/cadence", nil, cad, &out)
	return out, err
}

// Cycles lists release cycles: those released in [from, to) when to is
// set, else the next count (3 when 0) from from (now when ""). It returns
// the cadence's time zone too.
func (c *Client) Cycles(ctx context.Context, from, to string, count int) ([]Cycle, string, error) {
	q := url.Values{}
	if from != "" {
		q.Set("from", from)
	}
	if to != "" {
		q.Set("to", to)
	}
	if count > 0 {
		q.Set("count", strconv.Itoa(count))
	}
	var out struct {
		TimeZone string  `json:"time_zone"`
		Cycles   []Cycle `json:"cycles"`
	}
	err := c.Do(ctx, "GET", "/api/v1/cycles", q, nil, &out)
	return out.Cycles, out.TimeZone, err
}

// Windows lists the maintenance windows with their next openings.
func (c *Client) Windows(ctx context.Context) ([]Window, error) {
	var out struct {
		Windows []Window `json:"windows"`
	}
	err := c.Do(ctx, "GET", "/api/v1/windows", nil, nil, &out)
	return out.Windows, err
}

// CreateWindow adds a maintenance window.
func (c *Client) CreateWindow(ctx context.Context, w Window) (Window, error) {
	var out Window
	err := c.Do(ctx, "POST", "/api/v1/windows", nil, w, &out)
	return out, err
}

// DeleteWindow deletes a maintenance window by name.
func (c *Client) DeleteWindow(ctx context.Context, name string) error {
	return c.Do(ctx, "DELETE", "/api/v1/windows/"+url.PathEscape(name), nil, nil, nil)
}

// HostWindows returns a host's windows and its next count openings (3
// when 0).
func (c *Client) HostWindows(ctx context.Context, host string, count int) (HostWindows, error) {
	q := url.Values{}
	if count > 0 {
		q.Set("count", strconv.Itoa(count))
	}
	var out HostWindows
	err := c.Do(ctx, "GET", "/api/v1/hosts/"+url.PathEscape(host)+"/windows", q, nil, &out)
	return out, err
}
