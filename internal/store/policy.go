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

// PolicyByName returns the policy object of a kind with this name, or by id
// when key is a number.
func (s *Store) PolicyByName(ctx context.Context, kind, key string) (PolicyObject, error) {
	q, args := `SELECT `+policyCols+` FROM policy_objects WHERE kind = ? AND name = ?`, []any{kind, key}
	if id, err := parseID(key); err == nil {
		q, args = `SELECT `+policyCols+` FROM policy_objects WHERE kind = ? AND (id = ? OR name = ?) ORDER BY id = ? DESC LIMIT 1`, []any{kind, id, key, id}
	}
	p, err := scanPolicy(s.queryRow(ctx, q, args...))
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

// SetHostExposure sets whether a host is high-exposure.
func (tx *Tx) SetHostExposure(id int64, high bool) error {
	if _, err := tx.exec(`UPDATE hosts SET high_exposure = ?, updated_at = ? WHERE id = ?`, b2i(high), ms_(tx.now), id); err != nil {
		return fmt.Errorf("host %d exposure: %w", id, err)
	}
	return nil
}
