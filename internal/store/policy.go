package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/patchwave/patchwave"
)

// Kinds of policy objects.
const (
	PolicyBaseline        = "baseline"
	PolicyServiceBaseline = "service-baseline"
	PolicyTierRule        = "tier-rule"
	PolicyException       = "exception"
)

// PolicyObject is a stored policy object: its JSON body, and the columns
// that lists filter on.
type PolicyObject struct {
	ID        int64
	Kind      string
	Name      string // unique within its kind when not empty
	State     string
	Site      string
	Host      string
	ExpiresAt *time.Time
	Body      []byte
	CreatedBy string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// PutSetting stores a setting's JSON value.
func (tx *Tx) PutSetting(key string, value []byte) error {
	_, err := tx.exec(`INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, key, string(value), ms_(tx.now))
	if err != nil {
		return fmt.Errorf("setting %s: %w", key, err)
	}
	return nil
}

// Setting returns a setting's JSON value, or nil when it was never set.
func (s *Store) Setting(ctx context.Context, key string) ([]byte, error) {
	var v string
	err := s.queryRow(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("setting %s: %w", key, err)
	}
	return []byte(v), nil
}

// Setting returns a setting's JSON value within tx, or nil.
func (tx *Tx) Setting(key string) ([]byte, error) {
	var v string
	err := tx.queryRow(`SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("setting %s: %w", key, err)
	}
	return []byte(v), nil
}

const policyCols = `id, kind, name, state, site, host, expires_at, body, created_by, created_at, updated_at`

func scanPolicy(sc interface{ Scan(...any) error }) (PolicyObject, error) {
	var p PolicyObject
	var exp sql.NullInt64
	var body string
	var created, updated int64
	err := sc.Scan(&p.ID, &p.Kind, &p.Name, &p.State, &p.Site, &p.Host, &exp, &body, &p.CreatedBy, &created, &updated)
	p.ExpiresAt, p.Body, p.CreatedAt, p.UpdatedAt = fromNullMS(exp), []byte(body), fromMS(created), fromMS(updated)
	return p, err
}

// CreatePolicy stores a new policy object and returns its id.
func (tx *Tx) CreatePolicy(p PolicyObject) (int64, error) {
	id, err := tx.insert(`INSERT INTO policy_objects (kind, name, state, site, host, expires_at, body, created_by, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, p.Kind, p.Name, p.State, p.Site, p.Host, nullMS(p.ExpiresAt), string(p.Body), p.CreatedBy, ms_(tx.now), ms_(tx.now))
	if isUnique(err) {
		return 0, patchwave.Errorf(patchwave.EConflict, "%s %q already exists", p.Kind, p.Name)
	}
	if err != nil {
		return 0, fmt.Errorf("create %s: %w", p.Kind, err)
	}
	return id, nil
}

// UpdatePolicy replaces a policy object's body and columns.
func (tx *Tx) UpdatePolicy(p PolicyObject) error {
	res, err := tx.exec(`UPDATE policy_objects SET name = ?, state = ?, site = ?, host = ?, expires_at = ?, body = ?, updated_at = ? WHERE id = ? AND kind = ?`,
		p.Name, p.State, p.Site, p.Host, nullMS(p.ExpiresAt), string(p.Body), ms_(tx.now), p.ID, p.Kind)
	if isUnique(err) {
		return patchwave.Errorf(patchwave.EConflict, "%s %q already exists", p.Kind, p.Name)
	}
	if err != nil {
		return fmt.Errorf("update %s %d: %w", p.Kind, p.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return patchwave.Errorf(patchwave.ENotFound, "%s %d not found", p.Kind, p.ID)
	}
	return nil
}

// DeletePolicy deletes a policy object.
func (tx *Tx) DeletePolicy(kind string, id int64) error {
	res, err := tx.exec(`DELETE FROM policy_objects WHERE id = ? AND kind = ?`, id, kind)
	if err != nil {
		return fmt.Errorf("delete %s %d: %w", kind, id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return patchwave.Errorf(patchwave.ENotFound, "%s %d not found", kind, id)
	}
	return nil
}

// PolicyByID returns a policy object within tx.
func (tx *Tx) PolicyByID(kind string, id int64) (PolicyObject, error) {
	p, err := scanPolicy(tx.queryRow(`SELECT `+policyCols+` FROM policy_objects WHERE id = ? AND kind = ?`, id, kind))
	if errors.Is(err, sql.ErrNoRows) {
		return p, patchwave.Errorf(patchwave.ENotFound, "%s %d not found", kind, id)
	}
	if err != nil {
		return p, fmt.Errorf("%s %d: %w", kind, id, err)
	}
	return p, nil
}

// policyByNameQuery is the query of PolicyByName.
func policyByNameQuery(kind, key string) (string, []any) {
	if id, err := parseID(key); err == nil {
		return `SELECT ` + policyCols + ` FROM policy_objects WHERE kind = ? AND (id = ? OR name = ?) ORDER BY id = ? DESC LIMIT 1`, []any{kind, id, key, id}
	}
	return `SELECT ` + policyCols + ` FROM policy_objects WHERE kind = ? AND name = ?`, []any{kind, key}
}

// PolicyByName returns the policy object of a kind with this name, or by id
// when key is a number.
func (s *Store) PolicyByName(ctx context.Context, kind, key string) (PolicyObject, error) {
	q, args := policyByNameQuery(kind, key)
	return policyNamed(kind, key, s.queryRow(ctx, q, args...))
}

// PolicyByName is Store.PolicyByName within tx.
func (tx *Tx) PolicyByName(kind, key string) (PolicyObject, error) {
	q, args := policyByNameQuery(kind, key)
	return policyNamed(kind, key, tx.queryRow(q, args...))
}

func policyNamed(kind, key string, row interface{ Scan(...any) error }) (PolicyObject, error) {
	p, err := scanPolicy(row)
	if errors.Is(err, sql.ErrNoRows) {
		return p, patchwave.Errorf(patchwave.ENotFound, "%s %q not found", kind, key)
	}
	if err != nil {
		return p, fmt.Errorf("%s %s: %w", kind, key, err)
	}
	return p, nil
}

// ListPolicy returns the policy objects of a kind in id order.
func (s *Store) ListPolicy(ctx context.Context, kind string) ([]PolicyObject, error) {
	rows, err := s.query(ctx, `SELECT `+policyCols+` FROM policy_objects WHERE kind = ? ORDER BY id`, kind)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", kind, err)
	}
	defer rows.Close()
	var out []PolicyObject
	for rows.Next() {
		p, err := scanPolicy(rows)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", kind, err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// SetHostCompliance records hosts' compliance states as of at.
func (tx *Tx) SetHostCompliance(states map[int64]string, at time.Time) error {
	for id, c := range states {
		if _, err := tx.exec(`UPDATE hosts SET compliance = ?, assessed_at = ? WHERE id = ?`, c, ms_(at), id); err != nil {
			return fmt.Errorf("host %d compliance: %w", id, err)
		}
	}
	return nil
}

// HostTier is where a host stands on tier and exposure, and where each
// came from (see patchwave.Host.TierSource).
type HostTier struct {
	Tier           patchwave.Tier `json:"tier"`
	TierSource     string         `json:"tier_source"`
	TierRule       int64          `json:"tier_rule,omitempty"`
	HighExposure   bool           `json:"high_exposure"`
	ExposureSource string         `json:"exposure_source"`
	ExposureRule   int64          `json:"exposure_rule,omitempty"`
}

// hostTier reads a host's tier and exposure, and what its enrollment
// token gives: the tier ("" for none) and whether high exposure.
func (tx *Tx) hostTier(id int64) (name string, cur HostTier, tokTier patchwave.Tier, tokExposure bool, err error) {
	var exposure, tokExp int
	var tierRule, exposureRule sql.NullInt64
	err = tx.queryRow(`SELECT h.hostname, h.tier, h.tier_source, h.tier_rule, h.high_exposure, h.exposure_source, h.exposure_rule,
		COALESCE(t.tier, ''), COALESCE(t.high_exposure, 0)
		FROM hosts h LEFT JOIN enroll_tokens t ON t.id = h.enroll_token_id WHERE h.id = ?`, id).
		Scan(&name, &cur.Tier, &cur.TierSource, &tierRule, &exposure, &cur.ExposureSource, &exposureRule, &tokTier, &tokExp)
	if errors.Is(err, sql.ErrNoRows) {
		return name, cur, tokTier, false, patchwave.Errorf(patchwave.ENotFound, "host %d not found", id)
	}
	if err != nil {
		return name, cur, tokTier, false, fmt.Errorf("host %d tier: %w", id, err)
	}
	cur.TierRule, cur.ExposureRule, cur.HighExposure = tierRule.Int64, exposureRule.Int64, exposure != 0
	return name, cur, tokTier, tokExp != 0, nil
}

// ruleMaySet reports whether a tier rule may change a tier or exposure
// that came from source: only defaults and what rules set themselves;
// never what a person or the enrollment token set.
func ruleMaySet(source string) bool { return source == "default" || source == "rule" || source == "" }

// revertTier gives back the tier a rule set: the enrollment token's, or
// the default.
func revertTier(t HostTier, tokTier patchwave.Tier) HostTier {
	t.Tier, t.TierSource, t.TierRule = patchwave.TierBusinessOperational, "default", 0
	if tokTier != "" {
		t.Tier, t.TierSource = tokTier, "token"
	}
	return t
}

// revertExposure gives back the exposure a rule set: the token's, or normal.
func revertExposure(t HostTier, tokExposure bool) HostTier {
	t.HighExposure, t.ExposureSource, t.ExposureRule = false, "default", 0
	if tokExposure {
		t.HighExposure, t.ExposureSource = true, "token"
	}
	return t
}

// ApplyTierRule gives host id what tier rule ruleID says, as far as the
// precedence manual > token > rule > default allows: tier, and exposure
// when the rule sets one (a rule without one gives back an exposure an
// earlier rule set). ruleID 0 means that no rule matches the host any
// more: what rules set goes back to the token's or the default. A change
// is recorded in the audit trail as actor's, with the host's tier and
// exposure before and after; ApplyTierRule reports whether there was one.
func (tx *Tx) ApplyTierRule(actor string, id, ruleID int64, tier patchwave.Tier, exposure *bool) (bool, error) {
	return tx.setHostTier(actor, id, fmt.Sprintf("tier rule %d", ruleID), func(cur HostTier, tokTier patchwave.Tier, tokExposure bool) HostTier {
		next := cur
		if ruleID == 0 {
			if cur.TierSource == "rule" {
				next = revertTier(next, tokTier)
			}
			if cur.ExposureSource == "rule" {
				next = revertExposure(next, tokExposure)
			}
			return next
		}
		if ruleMaySet(cur.TierSource) {
			next.Tier, next.TierSource, next.TierRule = tier, "rule", ruleID
		}
		switch {
		case exposure != nil && ruleMaySet(cur.ExposureSource):
			next.HighExposure, next.ExposureSource, next.ExposureRule = *exposure, "rule", ruleID
		case exposure == nil && cur.ExposureSource == "rule":
			next = revertExposure(next, tokExposure)
		}
		return next
	})
}

// RevertTierRule gives back what tier rule ruleID set on hosts (it is
// being deleted): their tier and exposure go back to the token's or the
// default, each change in the audit trail as actor's. It returns how many
// hosts changed.
func (tx *Tx) RevertTierRule(actor string, ruleID int64) (int, error) {
	rows, err := tx.queryRows(`SELECT id FROM hosts WHERE tier_rule = ? OR exposure_rule = ? ORDER BY id`, ruleID, ruleID)
	if err != nil {
		return 0, fmt.Errorf("hosts of tier rule %d: %w", ruleID, err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, fmt.Errorf("hosts of tier rule %d: %w", ruleID, err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("hosts of tier rule %d: %w", ruleID, err)
	}
	n := 0
	for _, id := range ids {
		changed, err := tx.setHostTier(actor, id, fmt.Sprintf("tier rule %d deleted", ruleID), func(cur HostTier, tokTier patchwave.Tier, tokExposure bool) HostTier {
			next := cur
			if cur.TierSource == "rule" && cur.TierRule == ruleID {
				next = revertTier(next, tokTier)
			}
			if cur.ExposureSource == "rule" && cur.ExposureRule == ruleID {
				next = revertExposure(next, tokExposure)
			}
			return next
		})
		if err != nil {
			return n, err
		}
		if changed {
			n++
		}
	}
	return n, nil
}

// setHostTier changes host id's tier and exposure to what change makes of
// them, and audits a change of tier or exposure with why.
func (tx *Tx) setHostTier(actor string, id int64, why string, change func(cur HostTier, tokTier patchwave.Tier, tokExposure bool) HostTier) (bool, error) {
	name, cur, tokTier, tokExposure, err := tx.hostTier(id)
	if err != nil {
		return false, err
	}
	next := change(cur, tokTier, tokExposure)
	if next == cur {
		return false, nil
	}
	nullID := func(v int64) any {
		if v == 0 {
			return nil
		}
		return v
	}
	if _, err := tx.exec(`UPDATE hosts SET tier = ?, tier_source = ?, tier_rule = ?, high_exposure = ?, exposure_source = ?, exposure_rule = ?, updated_at = ?
		WHERE id = ?`, string(next.Tier), next.TierSource, nullID(next.TierRule), b2i(next.HighExposure), next.ExposureSource, nullID(next.ExposureRule),
		ms_(tx.now), id); err != nil {
		return false, fmt.Errorf("host %d tier: %w", id, err)
	}
	if next.Tier == cur.Tier && next.HighExposure == cur.HighExposure {
		return true, nil // only where they come from changed
	}
	return true, tx.Audit(actor, "host.tier-rule", "host:"+name, map[string]any{"before": cur, "after": next, "why": why})
}

// NextFindingChange returns the earliest moment after now at which a
// stored finding's policy outcome changes with the clock alone, or nil
// when none will: an open finding's SLA status becomes at risk once the
// fraction atRisk of its window (first seen to due) has passed, and
// breached after its due date; a missing patch not yet approved, and
// published at P, may become approved at P + d days for each d in
// approveAfter (the approve-after rules' days; a time when no rule
// matches the patch only causes a judgement that changes nothing).
func (s *Store) NextFindingChange(ctx context.Context, now time.Time, atRisk float64, approveAfter []int) (*time.Time, error) {
	var next sql.NullInt64
	at := ms_(now)
	err := s.queryRow(ctx, `SELECT MIN(CASE WHEN first_seen + CAST((due_at - first_seen) * CAST(? AS DOUBLE PRECISION) AS BIGINT) > ?
			THEN first_seen + CAST((due_at - first_seen) * CAST(? AS DOUBLE PRECISION) AS BIGINT) ELSE due_at END)
		FROM findings WHERE state IN ('missing', 'no-fix', 'unexpected-service') AND due_at > ?`, atRisk, at, atRisk, at).Scan(&next)
	if err != nil {
		return nil, fmt.Errorf("next SLA change: %w", err)
	}
	const day = int64(24 * time.Hour / time.Millisecond)
	for _, d := range approveAfter {
		var pub sql.NullInt64
		err := s.queryRow(ctx, `SELECT MIN(published) FROM findings WHERE state = 'missing' AND approved = 0 AND published > ?`,
			at-int64(d)*day).Scan(&pub)
		if err != nil {
			return nil, fmt.Errorf("next approval: %w", err)
		}
		if t := pub.Int64 + int64(d)*day; pub.Valid && (!next.Valid || t < next.Int64) {
			next = sql.NullInt64{Int64: t, Valid: true}
		}
	}
	return fromNullMS(next), nil
}
