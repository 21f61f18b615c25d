package client

import (
	"context"
	"encoding/json"
	"io"
	"net/url"
	"strconv"

	"github.com/patchwave/patchwave"
)

// Feeds lists the feeds and the state of their last synchronisation.
func (c *Client) Feeds(ctx context.Context) ([]patchwave.Feed, error) {
	var out struct {
		Feeds []patchwave.Feed `json:"feeds"`
	}
	err := c.Do(ctx, "GET", "/api/v1/feeds", nil, nil, &out)
	return out.Feeds, err
}

// FeedRequest creates or changes a feed.
type FeedRequest struct {
	Name     string `json:"name"`
	Kind     string `json:"kind"`
	URL      string `json:"url,omitempty"`
	Interval string `json:"interval,omitempty"`
}

// PutFeed creates or changes a feed.
func (c *Client) PutFeed(ctx context.Context, r FeedRequest) (patchwave.Feed, error) {
	var out patchwave.Feed
	err := c.Do(ctx, "POST", "/api/v1/feeds", nil, r, &out)
	return out, err
}

// DeleteFeed deletes a feed.
func (c *Client) DeleteFeed(ctx context.Context, name string) error {
	return c.Do(ctx, "DELETE", "/api/v1/feeds/"+url.PathEscape(name), nil, nil, nil)
}

// SyncFeed makes the server fetch a feed now.
func (c *Client) SyncFeed(ctx context.Context, name string) (patchwave.Feed, error) {
	var out patchwave.Feed
	err := c.Do(ctx, "POST", "/api/v1/feeds/"+url.PathEscape(name)+"/sync", nil, nil, &out)
	return out, err
}

// ImportFeed sends a feed file to the server; kind is needed for a new feed.
func (c *Client) ImportFeed(ctx context.Context, name, kind string, body io.Reader) (patchwave.Feed, error) {
	return c.ImportFeedWith(ctx, name, ImportOptions{Kind: kind}, body)
}

// ImportOptions change how the server imports a feed file.
type ImportOptions struct {
	Kind  string // the feed's kind, needed for a new feed
	Force bool   // let a KEV or EPSS file replace a stored set more than twice its size
}

// ImportFeedWith sends a feed file to the server.
func (c *Client) ImportFeedWith(ctx context.Context, name string, o ImportOptions, body io.Reader) (patchwave.Feed, error) {
	var out patchwave.Feed
	q := url.Values{}
	if o.Kind != "" {
		q.Set("kind", o.Kind)
	}
	if o.Force {
		q.Set("force", "true")
	}
	path := "/api/v1/feeds/" + url.PathEscape(name) + "/import"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	err := c.DoRaw(ctx, "POST", path, "application/octet-stream", body, &out)
	return out, err
}

func findingQuery(f patchwave.FindingFilter) url.Values {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("host", f.Host)
	set("site", f.Site)
	set("tier", string(f.Tier))
	set("severity", string(f.Severity))
	set("cve", f.CVE)
	set("advisory", f.Advisory)
	set("package", f.Package)
	set("state", string(f.State))
	if f.KEV != nil {
		q.Set("kev", strconv.FormatBool(*f.KEV))
	}
	if f.HasFix != nil {
		q.Set("has_fix", strconv.FormatBool(*f.HasFix))
	}
	set("sla", f.SLA)
	set("sort", f.Sort)
	if f.Excepted != nil {
		q.Set("excepted", strconv.FormatBool(*f.Excepted))
	}
	if f.Sort == "risk" && f.Offset > 0 {
		q.Set("after", strconv.Itoa(f.Offset))
	} else if f.After > 0 {
		q.Set("after", strconv.FormatInt(f.After, 10))
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	return q
}

// Findings returns one page of findings and the cursor of the next ("" when last).
func (c *Client) Findings(ctx context.Context, f patchwave.FindingFilter) ([]patchwave.Finding, string, error) {
	var out struct {
		Findings []patchwave.Finding `json:"findings"`
		Next     string              `json:"next"`
	}
	err := c.Do(ctx, "GET", "/api/v1/findings", findingQuery(f), nil, &out)
	if out.Findings == nil {
		out.Findings = []patchwave.Finding{}
	}
	return out.Findings, out.Next, err
}

// AllFindings follows the pages of Findings.
func (c *Client) AllFindings(ctx context.Context, f patchwave.FindingFilter) ([]patchwave.Finding, error) {
	all := []patchwave.Finding{}
	for {
		fs, next, err := c.Findings(ctx, f)
		if err != nil {
			return all, err
		}
		all = append(all, fs...)
		if next == "" {
			return all, nil
		}
		n, err := strconv.ParseInt(next, 10, 64)
		if f.Sort == "risk" {
			if err != nil || int(n) <= f.Offset {
				return all, patchwave.Errorf(patchwave.EInternal, "server returned a bad cursor %q", next)
			}
			f.Offset = int(n)
			continue
		}
		if err != nil || n <= f.After {
			return all, patchwave.Errorf(patchwave.EInternal, "server returned a bad cursor %q", next)
		}
		f.After = n
	}
}

// HostFindings returns every open finding of a host.
func (c *Client) HostFindings(ctx context.Context, host string) ([]patchwave.Finding, error) {
	var out struct {
		Findings []patchwave.Finding `json:"findings"`
	}
	err := c.Do(ctx, "GET", "/api/v1/hosts/"+url.PathEscape(host)+"/findings", nil, nil, &out)
	if out.Findings == nil {
		out.Findings = []patchwave.Finding{}
	}
	return out.Findings, err
}

// Advisory returns an advisory's record and the findings it causes.
func (c *Client) Advisory(ctx context.Context, id string) (json.RawMessage, []patchwave.Finding, error) {
	var out struct {
		Advisory json.RawMessage     `json:"advisory"`
		Findings []patchwave.Finding `json:"findings"`
	}
	err := c.Do(ctx, "GET", "/api/v1/advisories/"+url.PathEscape(id), nil, nil, &out)
	return out.Advisory, out.Findings, err
}
