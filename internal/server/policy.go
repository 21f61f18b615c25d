package server

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
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

// applyTierRules gives each host the tier (and exposure) of the first
// tier rule that matches it, as far as the precedence manual > token >
// rule > default allows, and gives back what rules set on hosts no rule
// matches any more. Each change is an audit event of the system.
func (a *assessor) applyTierRules(ctx context.Context) error {
	rules, err := api.LoadTierRules(ctx, a.s.store)
	if err != nil {
		return err
	}
	hosts, err := a.allHosts(ctx)
	if err != nil {
		return err
	}
	type step struct {
		host, rule int64
		tier       patchwave.Tier
		exposure   *bool
	}
	var steps []step
	for _, h := range hosts {
		matched := false
		for _, r := range rules {
			if !r.Selector.Matches(h) {
				continue
			}
			matched = true
			if tierRuleChanges(h, r.ID, r.Tier, r.HighExposure) {
				steps = append(steps, step{h.ID, r.ID, r.Tier, r.HighExposure})
			}
			break
		}
		if !matched && (h.TierSource == "rule" || h.ExposureSource == "rule") {
			steps = append(steps, step{host: h.ID})
		}
	}
	if len(steps) == 0 {
		return nil
	}
	return a.s.store.Write(ctx, func(tx *store.Tx) error {
		for _, st := range steps {
			if _, err := tx.ApplyTierRule(systemActor, st.host, st.rule, st.tier, st.exposure); err != nil && patchwave.ErrorCode(err) != patchwave.ENotFound {
				return err
			}
		}
		return nil
	})
}

// systemActor is who the server's own policy changes are audited as.
const systemActor = "patchwave"

// tierRuleChanges reports whether rule ruleID (tier, exposure) would change
// host h (see store.Tx.ApplyTierRule): a tier or exposure that is the
// default or a rule's, and not this rule's yet; or an exposure an earlier
// rule set, which a rule without one gives back.
func tierRuleChanges(h patchwave.Host, ruleID int64, tier patchwave.Tier, exposure *bool) bool {
	mayRule := func(source string) bool { return source == "default" || source == "rule" || source == "" }
	if mayRule(h.TierSource) && (h.Tier != tier || h.TierSource != "rule" || h.TierRule != ruleID) {
		return true
	}
	if exposure == nil {
		return h.ExposureSource == "rule"
	}
	return mayRule(h.ExposureSource) && (h.HighExposure != *exposure || h.ExposureSource != "rule" || h.ExposureRule != ruleID)
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

// How the policy clock waits.
const (
	// policyClockCap is the longest it waits between judgements.
	policyClockCap = time.Hour
	// policyClockSlack is how long after a change is due it judges, so
	// that the judgement is sure to see the change.
	policyClockSlack = time.Second
	// policyClockGap is the least time between two of its looks at the
	// exceptions, which it takes after every judgement.
	policyClockGap = time.Second
	// policyClockFindings is how often, at most, it looks for the
	// findings' next change between its own judgements: findings that
	// appear in between change at the earliest after 80% of a day (the
	// shortest SLA window), or by a KEV due date or an approve-after
	// rule, which the hourly cap bounds.
	policyClockFindings = time.Minute
)

// policyClock judges every finding again when the next change that time
// alone brings is due: an exception expiring or coming up for review, an
// open finding's SLA status becoming at risk or breached, a missing patch
// reaching its approve-after date. It looks again after every judgement
// (policy changes, new exceptions and new findings come with one), and
// judges at least hourly, until ctx ends.
func (s *Server) policyClock(ctx context.Context) {
	a := s.assessor
	var findingsAt time.Time // when findingsNext was computed
	var findingsNext *time.Time
	var last time.Time
	for {
		if d := time.Until(last.Add(policyClockGap)); d > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(d):
			}
		}
		last = time.Now()
		a.pmu.Lock()
		idle := a.idle // closed when the next judgement is done
		a.pmu.Unlock()
		// The real time, not the store's: the clock waits in real time
		// (and tests that move the store's clock judge by themselves).
		now := time.Now()
		if time.Since(findingsAt) >= policyClockFindings {
			next, err := s.nextFindingChange(ctx, now)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				s.log.Warn("policy clock: next finding change", "err", err)
			}
			findingsAt, findingsNext = time.Now(), next
		}
		next, err := s.nextExceptionChange(ctx, now)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Warn("policy clock: next exception change", "err", err)
		}
		next = earliest(next, findingsNext)
		wait := policyClockCap
		if next != nil {
			wait = min(max(next.Sub(now), 0)+policyClockSlack, policyClockCap)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-idle:
			t.Stop()
		case <-t.C:
			a.requestAll()
			if err := a.wait(ctx); err != nil {
				return
			}
			findingsAt = time.Time{}
		}
	}
}

// earliest returns the earlier of two times, either of which may be nil.
func earliest(a, b *time.Time) *time.Time {
	if a == nil || (b != nil && b.Before(*a)) {
		return b
	}
	return a
}

// nextFindingChange is when, after now, the first stored finding changes
// SLA status or may become approved (see store.Store.NextFindingChange).
func (s *Server) nextFindingChange(ctx context.Context, now time.Time) (*time.Time, error) {
	sla, err := api.LoadSLA(ctx, s.store)
	if err != nil {
		return nil, err
	}
	atRisk := sla.AtRisk
	if !(atRisk > 0 && atRisk < 1) {
		atRisk = patchwave.DefaultAtRisk
	}
	bs, err := api.LoadBaselines(ctx, s.store)
	if err != nil {
		return nil, err
	}
	var days []int
	for _, b := range bs {
		for _, r := range b.Rules {
			if r.ApproveAfterDays != nil && !slices.Contains(days, *r.ApproveAfterDays) {
				days = append(days, *r.ApproveAfterDays)
			}
		}
	}
	return s.store.NextFindingChange(ctx, now, atRisk, days)
}

// nextExceptionChange is when, after now, the first pending or approved
// exception expires or comes up for review.
func (s *Server) nextExceptionChange(ctx context.Context, now time.Time) (*time.Time, error) {
	objs, err := s.store.ListPolicy(ctx, store.PolicyException)
	if err != nil {
		return nil, err
	}
	var next *time.Time
	for _, o := range objs {
		var e patchwave.Exception
		if err := json.Unmarshal(o.Body, &e); err != nil {
			return nil, fmt.Errorf("stored exception %d: %w", o.ID, err)
		}
		if st := e.StateAt(now); st != patchwave.ExceptionApproved && st != patchwave.ExceptionPending {
			continue
		}
		for _, t := range []*time.Time{&e.ExpiresAt, e.ReviewAt} {
			if t != nil && t.After(now) {
				next = earliest(next, t)
			}
		}
	}
	return next, nil
}

// The web UI's exception actions go through the API's rules.

func (b backend) CreateException(ctx context.Context, u patchwave.User, e patchwave.Exception) (patchwave.Exception, []string, error) {
	return b.s.api.CreateException(ctx, u, e)
}

func (b backend) DecideException(ctx context.Context, u patchwave.User, id int64, to patchwave.ExceptionState, comment string) (patchwave.Exception, error) {
	return b.s.api.DecideException(ctx, u, id, to, comment)
}

func (b backend) TimeZone() *time.Location {
	if b.s.cfg.Location != nil {
		return b.s.cfg.Location
	}
	return time.UTC
}
