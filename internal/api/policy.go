package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/store"
)

// Policy objects are edited by admins and operators; site admins manage
// exclusions for their own sites; approvers decide on exceptions.

// PolicyChanged is called after any change that affects findings' policy
// outcome (the SLA, baselines, exceptions, tier rules, service baselines).
type PolicyChanged func()

type (
	slaT             = patchwave.SLAPolicy
	baselineT        = patchwave.Baseline
	exceptionT       = patchwave.Exception
	serviceBaselineT = patchwave.ServiceBaseline
	baselineList     struct {
		Baselines []baselineT `json:"baselines"`
	}
	exceptionList struct {
		Exceptions []exceptionT `json:"exceptions"`
	}
	serviceBaselineList struct {
		ServiceBaselines []serviceBaselineT `json:"service_baselines"`
	}
	tierRule struct {
		ID           int64              `json:"id"`
		Selector     patchwave.Selector `json:"selector"`
		Tier         patchwave.Tier     `json:"tier"`
		HighExposure *bool              `json:"high_exposure,omitempty"`
		Description  string             `json:"description,omitempty"`
	}
	tierRuleList struct {
		TierRules []tierRule `json:"tier_rules"`
	}
	previewEntry struct {
		Host     string             `json:"host"`
		Patch    patchwave.Patch    `json:"patch"`
		Decision patchwave.Decision `json:"decision"`
	}
	previewList struct {
		Baseline string         `json:"baseline"`
		Hosts    int            `json:"hosts"`
		Approved int            `json:"approved"`
		Entries  []previewEntry `json:"entries"`
	}
	exceptionDecision struct {
		Comment string `json:"comment,omitempty"`
	}
)

// SLASetting is the settings key of the SLA policy.
const SLASetting = "sla"

// LoadSLA returns the stored SLA policy, or the default.
func LoadSLA(ctx context.Context, s *store.Store) (patchwave.SLAPolicy, error) {
	b, err := s.Setting(ctx, SLASetting)
	if err != nil || b == nil {
		return patchwave.DefaultSLA(), err
	}
	var p patchwave.SLAPolicy
	if err := json.Unmarshal(b, &p); err != nil {
		return patchwave.DefaultSLA(), fmt.Errorf("stored SLA policy: %w", err)
	}
	return p, nil
}

// change is the detail of a policy change's audit event: the object
// before and after (nil when created or deleted).
func change(before, after any) map[string]any {
	return map[string]any{"before": before, "after": after}
}

func (a *API) changed() {
	if a.policyChanged != nil {
		a.policyChanged()
	}
}

func (a *API) getSLA(w http.ResponseWriter, r *http.Request) error {
	p, err := LoadSLA(r.Context(), a.store)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (a *API) putSLA(w http.ResponseWriter, r *http.Request) error {
	u := user(r)
	if err := requireOperator(u, "change the SLA policy"); err != nil {
		return err
	}
	var p patchwave.SLAPolicy
	if err := decode(w, r, MaxBody, &p); err != nil {
		return err
	}
	if err := p.Validate(); err != nil {
		return err
	}
	before, err := LoadSLA(r.Context(), a.store)
	if err != nil {
		return err
	}
	body, _ := json.Marshal(p)
	err = a.store.Write(r.Context(), func(tx *store.Tx) error {
		if err := tx.PutSetting(SLASetting, body); err != nil {
			return err
		}
		return tx.Audit(u.Name, "sla.update", "sla", map[string]any{"before": before, "after": p})
	})
	if err != nil {
		return err
	}
	a.changed()
	writeJSON(w, http.StatusOK, p)
	return nil
}

// LoadBaselines returns every stored baseline.
func LoadBaselines(ctx context.Context, s *store.Store) ([]patchwave.Baseline, error) {
	objs, err := s.ListPolicy(ctx, store.PolicyBaseline)
	if err != nil {
		return nil, err
	}
	out := make([]patchwave.Baseline, 0, len(objs))
	for _, o := range objs {
		b, err := baselineOf(o)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// decodeBaseline reads a baseline from a request. On top of what decode
// checks, approve_until may be a plain date (2026-12-01: the end of that
// day, UTC), and a malformed one is refused naming the rule.
func decodeBaseline(w http.ResponseWriter, r *http.Request) (patchwave.Baseline, error) {
	var b patchwave.Baseline
	var raw json.RawMessage
	if err := decode(w, r, MaxBody, &raw); err != nil {
		return b, err
	}
	raw, err := normalizeApproveUntil(raw)
	if err != nil {
		return b, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return b, patchwave.Errorf(patchwave.EInvalid, "request body is not valid: %v", err)
	}
	return b, nil
}

// normalizeApproveUntil rewrites the approve_until of each of a baseline's
// rules as an RFC 3339 time (see patchwave.ParseDate).
func normalizeApproveUntil(raw json.RawMessage) (json.RawMessage, error) {
	var doc map[string]json.RawMessage
	if json.Unmarshal(raw, &doc) != nil {
		return raw, nil // not an object: decoding says what is wrong
	}
	var rules []map[string]json.RawMessage
	if json.Unmarshal(doc["rules"], &rules) != nil {
		return raw, nil
	}
	changed := false
	for i, rule := range rules {
		var s string
		if v, ok := rule["approve_until"]; !ok || json.Unmarshal(v, &s) != nil {
			continue
		}
		t, err := patchwave.ParseDate(fmt.Sprintf("rules[%d].approve_until", i), s)
		if err != nil {
			return nil, err
		}
		rule["approve_until"], _ = json.Marshal(t.Format(time.RFC3339Nano))
		changed = true
	}
	if !changed {
		return raw, nil
	}
	doc["rules"], _ = json.Marshal(rules)
	return json.Marshal(doc)
}

func baselineOf(o store.PolicyObject) (patchwave.Baseline, error) {
	var b patchwave.Baseline
	if err := json.Unmarshal(o.Body, &b); err != nil {
		return b, fmt.Errorf("stored baseline %d: %w", o.ID, err)
	}
	b.ID, b.Name, b.CreatedAt, b.UpdatedAt = o.ID, o.Name, o.CreatedAt, o.UpdatedAt
	return b, nil
}

func (a *API) listBaselines(w http.ResponseWriter, r *http.Request) error {
	bs, err := LoadBaselines(r.Context(), a.store)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, baselineList{Baselines: bs})
	return nil
}

func (a *API) getBaseline(w http.ResponseWriter, r *http.Request) error {
	o, err := a.store.PolicyByName(r.Context(), store.PolicyBaseline, r.PathValue("name"))
	if err != nil {
		return err
	}
	b, err := baselineOf(o)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, b)
	return nil
}

// putBaseline creates (POST) or replaces (PUT /{name}) a baseline.
func (a *API) putBaseline(w http.ResponseWriter, r *http.Request) error {
	u := user(r)
	if err := requireOperator(u, "change baselines"); err != nil {
		return err
	}
	b, err := decodeBaseline(w, r)
	if err != nil {
		return err
	}
	if name := r.PathValue("name"); name != "" && b.Name == "" {
		b.Name = name
	}
	if err := b.Validate(); err != nil {
		return err
	}
	a.warnUnmatched(w, r, b.Selector)
	for _, m := range b.Warnings() {
		w.Header().Add(WarningHeader, m)
	}
	status := http.StatusCreated
	err = a.store.Write(r.Context(), func(tx *store.Tx) error {
		now := tx.Now().UTC().Truncate(time.Millisecond)
		if key := r.PathValue("name"); key != "" {
			old, err := tx.PolicyByName(store.PolicyBaseline, key)
			if err != nil {
				return err
			}
			before, err := baselineOf(old)
			if err != nil {
				return err
			}
			status = http.StatusOK
			b.ID, b.CreatedAt, b.UpdatedAt = old.ID, before.CreatedAt, now
			body, _ := json.Marshal(b)
			obj := old
			obj.Name, obj.Body = b.Name, body
			if err := tx.UpdatePolicy(obj); err != nil {
				return err
			}
			return tx.Audit(u.Name, "baseline.update", "baseline:"+b.Name, change(before, b))
		}
		b.ID, b.CreatedAt, b.UpdatedAt = 0, now, now
		body, _ := json.Marshal(b)
		id, err := tx.CreatePolicy(store.PolicyObject{Kind: store.PolicyBaseline, Name: b.Name, Body: body, CreatedBy: u.Name})
		if err != nil {
			return err
		}
		b.ID = id
		return tx.Audit(u.Name, "baseline.create", "baseline:"+b.Name, change(nil, b))
	})
	if err != nil {
		return err
	}
	a.changed()
	writeJSON(w, status, b)
	return nil
}

func (a *API) deletePolicy(kind, what string) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		u := user(r)
		if err := requireOperator(u, "delete "+what+"s"); err != nil {
			return err
		}
		err := a.store.Write(r.Context(), func(tx *store.Tx) error {
			o, err := tx.PolicyByName(kind, r.PathValue("name"))
			if err != nil {
				return err
			}
			before, err := policyObject(o)
			if err != nil {
				return err
			}
			if err := tx.DeletePolicy(kind, o.ID); err != nil {
				return err
			}
			if err := tx.Audit(u.Name, kind+".delete", fmt.Sprintf("%s:%d", kind, o.ID), change(before, nil)); err != nil {
				return err
			}
			if kind == store.PolicyTierRule {
				// What the rule set goes back to the token's or the
				// default; the next judgement applies the other rules.
				_, err = tx.RevertTierRule(u.Name, o.ID)
			}
			return err
		})
		if err != nil {
			return err
		}
		a.changed()
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

// policyObject decodes a stored policy object for the audit trail.
func policyObject(o store.PolicyObject) (any, error) {
	switch o.Kind {
	case store.PolicyBaseline:
		return baselineOf(o)
	case store.PolicyException:
		return exceptionOf(o)
	case store.PolicyServiceBaseline:
		return serviceBaselineOf(o)
	case store.PolicyTierRule:
		return tierRuleOf(o)
	}
	return json.RawMessage(o.Body), nil
}

// previewBaseline shows what a baseline approves today for which hosts:
// every open finding with a fix, on the hosts in the baseline's scope,
// decided with all baselines (so precedence shows) and the findings'
// stored publication dates and classifications, as the assessment does.
func (a *API) previewBaseline(w http.ResponseWriter, r *http.Request) error {
	o, err := a.store.PolicyByName(r.Context(), store.PolicyBaseline, r.PathValue("name"))
	if err != nil {
		return err
	}
	b, err := baselineOf(o)
	if err != nil {
		return err
	}
	all, err := LoadBaselines(r.Context(), a.store)
	if err != nil {
		return err
	}
	hosts, err := a.allHosts(r.Context())
	if err != nil {
		return err
	}
	now := a.store.Now()
	out := previewList{Baseline: b.Name, Entries: []previewEntry{}}
	yes := true
	for _, h := range hosts {
		if !b.Selector.Matches(h) {
			continue
		}
		out.Hosts++
		f := patchwave.FindingFilter{Host: strconv.FormatInt(h.ID, 10), HasFix: &yes, State: patchwave.FindingMissing, Limit: 1000}
		for {
			fs, next, err := a.store.ListFindings(r.Context(), f)
			if err != nil {
				return err
			}
			for _, fd := range fs {
				p := patchwave.PatchFromFinding(fd)
				d := patchwave.Decide(all, h, p, now)
				if d.Approved {
					out.Approved++
				}
				if len(out.Entries) < 5000 {
					out.Entries = append(out.Entries, previewEntry{Host: h.Hostname, Patch: p, Decision: d})
				}
			}
			if next == 0 {
				break
			}
			f.After = next
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// allHosts lists every host.
func (a *API) allHosts(ctx context.Context) ([]patchwave.Host, error) {
	var all []patchwave.Host
	f := patchwave.HostFilter{Limit: 1000}
	for {
		hs, next, err := a.store.ListHosts(ctx, f)
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

// LoadExceptions returns every stored exception with its state as of now.
func LoadExceptions(ctx context.Context, s *store.Store) ([]patchwave.Exception, error) {
	objs, err := s.ListPolicy(ctx, store.PolicyException)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	out := make([]patchwave.Exception, 0, len(objs))
	for _, o := range objs {
		e, err := exceptionOf(o)
		if err != nil {
			return nil, err
		}
		e.State = e.StateAt(now)
		out = append(out, e)
	}
	return out, nil
}

func exceptionOf(o store.PolicyObject) (patchwave.Exception, error) {
	var e patchwave.Exception
	if err := json.Unmarshal(o.Body, &e); err != nil {
		return e, fmt.Errorf("stored exception %d: %w", o.ID, err)
	}
	e.ID = o.ID
	return e, nil
}

func (a *API) listExceptions(w http.ResponseWriter, r *http.Request) error {
	es, err := LoadExceptions(r.Context(), a.store)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	kept := es[:0]
	for _, e := range es {
		if (q.Get("state") == "" || string(e.State) == q.Get("state")) && (q.Get("kind") == "" || string(e.Kind) == q.Get("kind")) &&
			(q.Get("site") == "" || e.Site == q.Get("site")) && (q.Get("host") == "" || e.Host == q.Get("host")) {
			kept = append(kept, e)
		}
	}
	writeJSON(w, http.StatusOK, exceptionList{Exceptions: kept})
	return nil
}

func (a *API) getException(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var e patchwave.Exception
	err = a.store.Write(r.Context(), func(tx *store.Tx) error {
		o, err := tx.PolicyByID(store.PolicyException, id)
		if err != nil {
			return err
		}
		e, err = exceptionOf(o)
		return err
	})
	if err != nil {
		return err
	}
	e.State = e.StateAt(a.store.Now())
	writeJSON(w, http.StatusOK, e)
	return nil
}

// exceptionSites returns the sites an exception reaches, for authorizing
// site admins: its own site, or the site of its host.
func (a *API) exceptionSites(ctx context.Context, e patchwave.Exception) (string, error) {
	if e.Host != "" {
		h, err := a.store.Host(ctx, e.Host)
		if err != nil {
			return "", patchwave.Errorf(patchwave.EInvalid, "exception host %q: %s", e.Host, patchwave.ErrorMessage(err))
		}
		return h.Site, nil
	}
	return e.Site, nil
}

func (a *API) createException(w http.ResponseWriter, r *http.Request) error {
	var e patchwave.Exception
	if err := decode(w, r, MaxBody, &e); err != nil {
		return err
	}
	e, warnings, err := a.CreateException(r.Context(), user(r), e)
	if err != nil {
		return err
	}
	for _, m := range warnings {
		w.Header().Add(WarningHeader, m)
	}
	writeJSON(w, http.StatusCreated, e)
	return nil
}

// CreateException requests exception e on behalf of u, and returns it as
// stored, with warnings about it (a selector that matches no host, why it
// waits for an approver). Admins and operators request any kind; site
// admins exclusions and risk acceptances scoped by one of their sites
// (--site) or a host at one of them, a selector only narrowing that
// down. An exclusion is bound to its release cycle (see
// patchwave.Exception.CheckCycle); a timely one that ends with its cycle
// is approved at once, anything else waits for an approver.
func (a *API) CreateException(ctx context.Context, u patchwave.User, e patchwave.Exception) (patchwave.Exception, []string, error) {
	now := a.store.Now()
	if err := e.Validate(now); err != nil {
		return e, nil, err
	}
	if err := e.CheckCycle(now, a.location); err != nil {
		return e, nil, err
	}
	site, err := a.exceptionSites(ctx, e)
	if err != nil {
		return e, nil, err
	}
	switch u.Role {
	case patchwave.RoleAdmin, patchwave.RoleOperator:
	case patchwave.RoleSiteAdmin:
		if e.Kind != patchwave.ExceptionExclusion && e.Kind != patchwave.ExceptionRiskAcceptance {
			return e, nil, patchwave.Errorf(patchwave.EForbidden, "site admins may request exclusions and risk acceptances, not %ss", e.Kind)
		}
		if site == "" {
			return e, nil, patchwave.Errorf(patchwave.EForbidden,
				"site admins scope exceptions by one of their sites (%s) or a host at one of them; a selector alone may reach other sites",
				strings.Join(u.Sites, ", "))
		}
		if err := canWrite(u, site, "the exception's scope"); err != nil {
			return e, nil, err
		}
	default:
		return e, nil, patchwave.Errorf(patchwave.EForbidden, "role %s may not request exceptions", u.Role)
	}
	var warnings []string
	if m := a.unmatched(ctx, e.Selector); m != "" {
		warnings = append(warnings, m)
	}
	e.ID, e.Owner, e.CreatedAt, e.Approver, e.DecidedAt = 0, u.Name, now.UTC().Truncate(time.Millisecond), "", nil
	e.State = patchwave.ExceptionPending
	e.Late = e.IsLate(now, a.location)
	if why := e.ApprovalReason(now, a.location); why == "" {
		e.State = patchwave.ExceptionApproved
		d := e.CreatedAt
		e.DecidedAt = &d
	} else if e.Kind == patchwave.ExceptionExclusion {
		warnings = append(warnings, "it waits for an approver: "+why)
	}
	err = a.store.Write(ctx, func(tx *store.Tx) error {
		body, _ := json.Marshal(e)
		exp := e.ExpiresAt
		id, err := tx.CreatePolicy(store.PolicyObject{Kind: store.PolicyException, State: string(e.State), Site: site, Host: e.Host,
			ExpiresAt: &exp, Body: body, CreatedBy: u.Name})
		if err != nil {
			return err
		}
		e.ID = id
		return tx.Audit(u.Name, "exception.create", fmt.Sprintf("exception:%d", id), change(nil, e))
	})
	if err != nil {
		return e, nil, err
	}
	a.changed()
	return e, warnings, nil
}

// decideException approves, rejects or revokes an exception.
func (a *API) decideException(to patchwave.ExceptionState) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		var req exceptionDecision
		if r.ContentLength != 0 {
			if err := decode(w, r, MaxBody, &req); err != nil {
				return err
			}
		}
		e, err := a.DecideException(r.Context(), user(r), id, to, req.Comment)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, e)
		return nil
	}
}

// DecideException moves exception id to state to (approved, rejected or
// revoked) on behalf of u, with an optional comment for the audit trail.
// Approvers and admins approve and reject pending exceptions, not their
// own (admins excepted); the owner, approvers, operators and admins
// revoke pending or approved ones.
func (a *API) DecideException(ctx context.Context, u patchwave.User, id int64, to patchwave.ExceptionState, comment string) (patchwave.Exception, error) {
	var e patchwave.Exception
	switch to {
	case patchwave.ExceptionApproved, patchwave.ExceptionRejected, patchwave.ExceptionRevoked:
	default:
		return e, patchwave.Errorf(patchwave.EInvalid, "an exception is approved, rejected or revoked, not %s", to)
	}
	if err := patchwave.ValidText("comment", comment, patchwave.MaxPolicyText); err != nil {
		return e, err
	}
	now := a.store.Now()
	err := a.store.Write(ctx, func(tx *store.Tx) error {
		o, err := tx.PolicyByID(store.PolicyException, id)
		if err != nil {
			return err
		}
		if e, err = exceptionOf(o); err != nil {
			return err
		}
		e.State = e.StateAt(now)
		before := e
		switch to {
		case patchwave.ExceptionApproved, patchwave.ExceptionRejected:
			if u.Role != patchwave.RoleAdmin && u.Role != patchwave.RoleApprover {
				return patchwave.Errorf(patchwave.EForbidden, "only approvers and admins decide on exceptions (you are %s)", u.Role)
			}
			if u.Name == e.Owner && u.Role != patchwave.RoleAdmin {
				return patchwave.Errorf(patchwave.EForbidden, "you cannot approve your own exception")
			}
			if before.State != patchwave.ExceptionPending {
				return patchwave.Errorf(patchwave.EConflict, "exception %d is %s, not pending", id, before.State)
			}
			e.Approver = u.Name
		case patchwave.ExceptionRevoked:
			if u.Name != e.Owner && u.Role != patchwave.RoleAdmin && u.Role != patchwave.RoleApprover && u.Role != patchwave.RoleOperator {
				return patchwave.Errorf(patchwave.EForbidden, "only the owner, approvers, operators and admins revoke exceptions")
			}
			if s := before.State; s == patchwave.ExceptionRevoked || s == patchwave.ExceptionRejected || s == patchwave.ExceptionExpired {
				return patchwave.Errorf(patchwave.EConflict, "exception %d is already %s", id, s)
			}
		}
		e.State = to
		d := now.UTC().Truncate(time.Millisecond)
		e.DecidedAt = &d
		body, _ := json.Marshal(e)
		o.State, o.Body = string(to), body
		if err := tx.UpdatePolicy(o); err != nil {
			return err
		}
		detail := change(before, e)
		if comment != "" {
			detail["comment"] = comment
		}
		return tx.Audit(u.Name, "exception."+string(to), fmt.Sprintf("exception:%d", id), detail)
	})
	if err != nil {
		return e, err
	}
	a.changed()
	return e, nil
}

// LoadServiceBaselines returns every stored service baseline.
func LoadServiceBaselines(ctx context.Context, s *store.Store) ([]patchwave.ServiceBaseline, error) {
	objs, err := s.ListPolicy(ctx, store.PolicyServiceBaseline)
	if err != nil {
		return nil, err
	}
	out := make([]patchwave.ServiceBaseline, 0, len(objs))
	for _, o := range objs {
		b, err := serviceBaselineOf(o)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

func serviceBaselineOf(o store.PolicyObject) (patchwave.ServiceBaseline, error) {
	var b patchwave.ServiceBaseline
	if err := json.Unmarshal(o.Body, &b); err != nil {
		return b, fmt.Errorf("stored service baseline %d: %w", o.ID, err)
	}
	b.ID, b.Name = o.ID, o.Name
	return b, nil
}

func (a *API) listServiceBaselines(w http.ResponseWriter, r *http.Request) error {
	bs, err := LoadServiceBaselines(r.Context(), a.store)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, serviceBaselineList{ServiceBaselines: bs})
	return nil
}

func (a *API) createServiceBaseline(w http.ResponseWriter, r *http.Request) error {
	u := user(r)
	if err := requireOperator(u, "change service baselines"); err != nil {
		return err
	}
	var b patchwave.ServiceBaseline
	if err := decode(w, r, MaxBody, &b); err != nil {
		return err
	}
	if err := b.Validate(); err != nil {
		return err
	}
	a.warnUnmatched(w, r, b.Selector)
	body, _ := json.Marshal(b)
	err := a.store.Write(r.Context(), func(tx *store.Tx) error {
		id, err := tx.CreatePolicy(store.PolicyObject{Kind: store.PolicyServiceBaseline, Name: b.Name, Body: body, CreatedBy: u.Name})
		if err != nil {
			return err
		}
		b.ID = id
		return tx.Audit(u.Name, "service-baseline.create", "service-baseline:"+b.Name, change(nil, b))
	})
	if err != nil {
		return err
	}
	a.changed()
	writeJSON(w, http.StatusCreated, b)
	return nil
}

// LoadTierRules returns the tier rules in order: the first that matches wins.
func LoadTierRules(ctx context.Context, s *store.Store) ([]tierRule, error) {
	objs, err := s.ListPolicy(ctx, store.PolicyTierRule)
	if err != nil {
		return nil, err
	}
	out := make([]tierRule, 0, len(objs))
	for _, o := range objs {
		t, err := tierRuleOf(o)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

func tierRuleOf(o store.PolicyObject) (tierRule, error) {
	var t tierRule
	if err := json.Unmarshal(o.Body, &t); err != nil {
		return t, fmt.Errorf("stored tier rule %d: %w", o.ID, err)
	}
	t.ID = o.ID
	return t, nil
}

func (a *API) listTierRules(w http.ResponseWriter, r *http.Request) error {
	ts, err := LoadTierRules(r.Context(), a.store)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tierRuleList{TierRules: ts})
	return nil
}

func (a *API) createTierRule(w http.ResponseWriter, r *http.Request) error {
	u := user(r)
	if err := requireOperator(u, "change tier rules"); err != nil {
		return err
	}
	var t tierRule
	if err := decode(w, r, MaxBody, &t); err != nil {
		return err
	}
	if _, err := patchwave.ParseTier(string(t.Tier)); err != nil {
		return err
	}
	if t.Selector.IsZero() {
		return patchwave.Errorf(patchwave.EInvalid, "a tier rule needs a selector (it would match every host)")
	}
	if err := patchwave.ValidText("description", t.Description, 512); err != nil {
		return err
	}
	a.warnUnmatched(w, r, t.Selector)
	body, _ := json.Marshal(t)
	err := a.store.Write(r.Context(), func(tx *store.Tx) error {
		id, err := tx.CreatePolicy(store.PolicyObject{Kind: store.PolicyTierRule, Body: body, CreatedBy: u.Name})
		if err != nil {
			return err
		}
		t.ID = id
		return tx.Audit(u.Name, "tier-rule.create", fmt.Sprintf("tier-rule:%d", id), change(nil, t))
	})
	if err != nil {
		return err
	}
	a.changed()
	writeJSON(w, http.StatusCreated, t)
	return nil
}

type (
	hostCompliance struct {
		HostID     int64      `json:"host_id"`
		Host       string     `json:"host"`
		Site       string     `json:"site,omitempty"`
		Tier       string     `json:"tier"`
		Compliance string     `json:"compliance"`
		AssessedAt *time.Time `json:"assessed_at,omitempty"`
		// Findings are the host's open findings, each with its policy
		// outcome and so its own compliance (policy.compliance), when
		// the report is about one host.
		Findings []patchwave.Finding `json:"findings,omitzero"`
	}
	complianceReport struct {
		AsOf    time.Time        `json:"as_of"`
		Summary map[string]int   `json:"summary"`
		Hosts   []hostCompliance `json:"hosts"`
	}
)

// compliance reports each host's compliance state, and counts by state;
// for one host (host=), also its open findings with their compliance.
func (a *API) compliance(w http.ResponseWriter, r *http.Request) error {
	f, err := hostFilter(r)
	if err != nil {
		return err
	}
	host := r.URL.Query().Get("host")
	out := complianceReport{AsOf: a.store.Now().UTC(), Summary: map[string]int{}, Hosts: []hostCompliance{}}
	f.Limit = 1000
	for {
		hs, next, err := a.store.ListHosts(r.Context(), f)
		if err != nil {
			return err
		}
		for _, h := range hs {
			if host != "" && h.Hostname != host && strconv.FormatInt(h.ID, 10) != host {
				continue
			}
			c := h.Compliance
			if c == "" {
				c = string(patchwave.ComplianceUnknown)
			}
			out.Summary[c]++
			hc := hostCompliance{HostID: h.ID, Host: h.Hostname, Site: h.Site, Tier: string(h.Tier), Compliance: c, AssessedAt: h.AssessedAt}
			if host != "" {
				if hc.Findings, err = a.openFindings(r.Context(), h.ID); err != nil {
					return err
				}
			}
			out.Hosts = append(out.Hosts, hc)
		}
		if next == 0 {
			break
		}
		f.After = next
	}
	if host != "" && len(out.Hosts) == 0 {
		return patchwave.Errorf(patchwave.ENotFound, "host %q not found", host)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// openFindings returns every open finding of a host, with KEV entries.
func (a *API) openFindings(ctx context.Context, id int64) ([]patchwave.Finding, error) {
	all := []patchwave.Finding{}
	f := patchwave.FindingFilter{Host: strconv.FormatInt(id, 10), Limit: 1000}
	for {
		fs, next, err := a.store.ListFindings(ctx, f)
		if err != nil {
			return nil, err
		}
		all = append(all, fs...)
		if next == 0 {
			break
		}
		f.After = next
	}
	return all, a.store.FillKEV(ctx, all)
}

// WarningHeader carries warnings about a request that succeeded.
const WarningHeader = "Patchwave-Warning"

// warnUnmatched warns when a selector matches no host today: the object
// is stored (hosts may come later), but a typo shows at once.
func (a *API) warnUnmatched(w http.ResponseWriter, r *http.Request, sel patchwave.Selector) {
	if m := a.unmatched(r.Context(), sel); m != "" {
		w.Header().Add(WarningHeader, m)
	}
}

// unmatched is warnUnmatched's warning, or "".
func (a *API) unmatched(ctx context.Context, sel patchwave.Selector) string {
	if sel.IsZero() {
		return ""
	}
	hosts, err := a.allHosts(ctx)
	if err != nil {
		return ""
	}
	for _, h := range hosts {
		if sel.Matches(h) {
			return ""
		}
	}
	return fmt.Sprintf("selector %q matches no host today", sel.String())
}
