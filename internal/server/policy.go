package server

import (
	"context"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/api"
	"github.com/patchwave/patchwave/internal/store"
)

// policy is everything findings are judged by, loaded once per pass.
type policy struct {
	sla        patchwave.SLAPolicy
	baselines  []patchwave.Baseline
	exceptions []patchwave.Exception
	services   []patchwave.ServiceBaseline
	hosts      map[int64]patchwave.Host
	now        time.Time
	maxAge     time.Duration
}

// loadPolicy reads the policy and applies the tier rules to hosts whose
// tier was not set by hand, before the hosts are read.
func (a *assessor) loadPolicy(ctx context.Context) (*policy, error) {
	st := a.s.store
	if err := a.applyTierRules(ctx); err != nil {
		return nil, err
	}
	p := &policy{now: st.Now(), maxAge: a.s.cfg.StaleAfter}
	var err error
	if p.sla, err = api.LoadSLA(ctx, st); err != nil {
		return nil, err
	}
	if p.baselines, err = api.LoadBaselines(ctx, st); err != nil {
		return nil, err
	}
	if p.exceptions, err = api.LoadExceptions(ctx, st); err != nil {
		return nil, err
	}
	if p.services, err = api.LoadServiceBaselines(ctx, st); err != nil {
		return nil, err
	}
	hosts, err := a.allHosts(ctx)
	if err != nil {
		return nil, err
	}
	p.hosts = make(map[int64]patchwave.Host, len(hosts))
	for _, h := range hosts {
		p.hosts[h.ID] = h
	}
	return p, nil
}

func (a *assessor) allHosts(ctx context.Context) ([]patchwave.Host, error) {
	var all []patchwave.Host
	f := patchwave.HostFilter{Limit: 1000}
	for {
		hs, next, err := a.s.store.ListHosts(ctx, f)
		if err != nil {
			return nil, err
		}
		all = append(all, hs...)
		if next == 0 {
			return all, nil
		}
		f.After = next
	}
}

// applyTierRules sets each host's tier from the first tier rule that
// matches it, unless its tier was set by hand.
func (a *assessor) applyTierRules(ctx context.Context) error {
	rules, err := api.LoadTierRules(ctx, a.s.store)
	if err != nil || len(rules) == 0 {
		return err
	}
	hosts, err := a.allHosts(ctx)
	if err != nil {
		return err
	}
	return a.s.store.Write(ctx, func(tx *store.Tx) error {
		for _, h := range hosts {
			if h.TierSource == "manual" {
				continue
			}
			for _, r := range rules {
				if !r.Selector.Matches(h) {
					continue
				}
				if _, err := tx.ApplyTierRule(h.ID, r.Tier); err != nil {
					return err
				}
				if r.HighExposure != nil && *r.HighExposure != h.HighExposure {
					if err := tx.SetHostExposure(h.ID, *r.HighExposure); err != nil {
						return err
					}
				}
				break
			}
		}
		return nil
	})
}

// serviceFindings flags a host's running services outside its service
// baselines.
func (p *policy) serviceFindings(h patchwave.Host) []patchwave.Finding {
	unexpected, applies := patchwave.UnexpectedServices(p.services, h)
	if !applies {
		return nil
	}
	out := make([]patchwave.Finding, 0, len(unexpected))
	for _, s := range unexpected {
		out = append(out, patchwave.Finding{HostID: h.ID, Host: h.Hostname, Ecosystem: "service", Package: "service:" + s,
			State: patchwave.FindingUnexpectedService, Severity: patchwave.SeverityMedium, Advisories: []string{"service-baseline"}})
	}
	return out
}

// decorate sets a finding's policy outcome and collects it in out.
func (p *policy) decorate(h patchwave.Host, out *[]patchwave.FindingPolicy) func(f *patchwave.Finding, firstSeen time.Time) {
	return func(f *patchwave.Finding, firstSeen time.Time) {
		fp := patchwave.EvaluateFinding(*f, h, firstSeen, p.sla, p.baselines, p.exceptions, p.now)
		f.Policy = &fp
		*out = append(*out, fp)
	}
}
