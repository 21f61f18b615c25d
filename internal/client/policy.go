package client

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"

	"github.com/patchwave/patchwave"
)

// SLA returns the SLA policy.
func (c *Client) SLA(ctx context.Context) (patchwave.SLAPolicy, error) {
	var p patchwave.SLAPolicy
	err := c.Do(ctx, "GET", "/api/v1/sla", nil, nil, &p)
	return p, err
}

// PutSLA replaces the SLA policy.
func (c *Client) PutSLA(ctx context.Context, p patchwave.SLAPolicy) (patchwave.SLAPolicy, error) {
	var out patchwave.SLAPolicy
	err := c.Do(ctx, "PUT", "/api/v1/sla", nil, p, &out)
	return out, err
}

// Baselines lists the baselines.
func (c *Client) Baselines(ctx context.Context) ([]patchwave.Baseline, error) {
	var out struct {
		Baselines []patchwave.Baseline `json:"baselines"`
	}
	err := c.Do(ctx, "GET", "/api/v1/baselines", nil, nil, &out)
	return out.Baselines, err
}

// Baseline returns one baseline.
func (c *Client) Baseline(ctx context.Context, name string) (patchwave.Baseline, error) {
	var out patchwave.Baseline
	err := c.Do(ctx, "GET", "/api/v1/baselines/"+url.PathEscape(name), nil, nil, &out)
	return out, err
}

// PutBaseline creates a baseline, or replaces the one named by replace.
func (c *Client) PutBaseline(ctx context.Context, b json.RawMessage, replace string) (patchwave.Baseline, error) {
	var out patchwave.Baseline
	if replace != "" {
		err := c.Do(ctx, "PUT", "/api/v1/baselines/"+url.PathEscape(replace), nil, b, &out)
		return out, err
	}
	err := c.Do(ctx, "POST", "/api/v1/baselines", nil, b, &out)
	return out, err
}

// DeletePolicy deletes a baseline, service baseline or tier rule: kind is
// the API collection ("baselines", "service-baselines", "tier-rules").
func (c *Client) DeletePolicy(ctx context.Context, kind, key string) error {
	return c.Do(ctx, "DELETE", "/api/v1/"+kind+"/"+url.PathEscape(key), nil, nil, nil)
}

// BaselinePreview is what a baseline approves today.
type BaselinePreview struct {
	Baseline string `json:"baseline"`
	Hosts    int    `json:"hosts"`
	Approved int    `json:"approved"`
	Entries  []struct {
		Host     string             `json:"host"`
		Patch    patchwave.Patch    `json:"patch"`
		Decision patchwave.Decision `json:"decision"`
	} `json:"entries"`
}

// PreviewBaseline shows what a baseline approves today for which hosts.
func (c *Client) PreviewBaseline(ctx context.Context, name string) (BaselinePreview, error) {
	var out BaselinePreview
	err := c.Do(ctx, "GET", "/api/v1/baselines/"+url.PathEscape(name)+"/preview", nil, nil, &out)
	return out, err
}

// Exceptions lists exceptions, filtered by state, kind, site and host ("" for any).
func (c *Client) Exceptions(ctx context.Context, state, kind, site, host string) ([]patchwave.Exception, error) {
	q := url.Values{}
	for k, v := range map[string]string{"state": state, "kind": kind, "site": site, "host": host} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var out struct {
		Exceptions []patchwave.Exception `json:"exceptions"`
	}
	err := c.Do(ctx, "GET", "/api/v1/exceptions", q, nil, &out)
	return out.Exceptions, err
}

// Exception returns one exception.
func (c *Client) Exception(ctx context.Context, id int64) (patchwave.Exception, error) {
	var out patchwave.Exception
	err := c.Do(ctx, "GET", "/api/v1/exceptions/"+strconv.FormatInt(id, 10), nil, nil, &out)
	return out, err
}

// CreateException requests an exception.
func (c *Client) CreateException(ctx context.Context, e patchwave.Exception) (patchwave.Exception, error) {
	var out patchwave.Exception
	err := c.Do(ctx, "POST", "/api/v1/exceptions", nil, e, &out)
	return out, err
}

// DecideException approves, rejects or revokes an exception (verb is
// "approve", "reject" or "revoke").
func (c *Client) DecideException(ctx context.Context, id int64, verb, comment string) (patchwave.Exception, error) {
	var out patchwave.Exception
	err := c.Do(ctx, "POST", "/api/v1/exceptions/"+strconv.FormatInt(id, 10)+"/"+verb, nil, map[string]string{"comment": comment}, &out)
	return out, err
}

// ServiceBaselines lists the service baselines.
func (c *Client) ServiceBaselines(ctx context.Context) ([]patchwave.ServiceBaseline, error) {
	var out struct {
		ServiceBaselines []patchwave.ServiceBaseline `json:"service_baselines"`
	}
	err := c.Do(ctx, "GET", "/api/v1/service-baselines", nil, nil, &out)
	return out.ServiceBaselines, err
}

// CreateServiceBaseline creates a service baseline.
func (c *Client) CreateServiceBaseline(ctx context.Context, b patchwave.ServiceBaseline) (patchwave.ServiceBaseline, error) {
	var out patchwave.ServiceBaseline
	err := c.Do(ctx, "POST", "/api/v1/service-baselines", nil, b, &out)
	return out, err
}

// TierRule sets the tier (and optionally exposure) of hosts a selector matches.
type TierRule struct {
	ID           int64              `json:"id,omitempty"`
	Selector     patchwave.Selector `json:"selector"`
	Tier         patchwave.Tier     `json:"tier"`
	HighExposure *bool              `json:"high_exposure,omitempty"`
	Description  string             `json:"description,omitempty"`
}

// TierRules lists the tier rules in order.
func (c *Client) TierRules(ctx context.Context) ([]TierRule, error) {
	var out struct {
		TierRules []TierRule `json:"tier_rules"`
	}
	err := c.Do(ctx, "GET", "/api/v1/tier-rules", nil, nil, &out)
	return out.TierRules, err
}

// CreateTierRule adds a tier rule.
func (c *Client) CreateTierRule(ctx context.Context, r TierRule) (TierRule, error) {
	var out TierRule
	err := c.Do(ctx, "POST", "/api/v1/tier-rules", nil, r, &out)
	return out, err
}

// HostCompliance is one host's compliance state.
type HostCompliance struct {
	HostID     int64   `json:"host_id"`
	Host       string  `json:"host"`
	Site       string  `json:"site,omitempty"`
	Tier       string  `json:"tier"`
	Compliance string  `json:"compliance"`
	AssessedAt *string `json:"assessed_at,omitempty"`
	// Findings are the host's open findings with their policy outcome
	// (Policy.Compliance is each one's), in a report about one host.
	Findings []patchwave.Finding `json:"findings,omitempty"`
}

// ComplianceReport is each host's compliance and counts by state.
type ComplianceReport struct {
	AsOf    string           `json:"as_of"`
	Summary map[string]int   `json:"summary"`
	Hosts   []HostCompliance `json:"hosts"`
}

// Compliance reports hosts' compliance; host, site and tier filter ("" for any).
func (c *Client) Compliance(ctx context.Context, host, site, tier string) (ComplianceReport, error) {
	q := url.Values{}
	for k, v := range map[string]string{"host": host, "site": site, "tier": tier} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var out ComplianceReport
	err := c.Do(ctx, "GET", "/api/v1/compliance", q, nil, &out)
	return out, err
}
