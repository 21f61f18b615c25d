package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/patchwave/patchwave"
)

// CreateEnrollToken stores an enrollment token by its hash.
func (tx *Tx) CreateEnrollToken(t patchwave.EnrollToken, hash string) (patchwave.EnrollToken, error) {
	tags, _ := json.Marshal(nonNil(t.Tags))
	id, err := tx.insert(`INSERT INTO enroll_tokens (prefix, token_hash, site, tier, tags, max_uses, uses, expires_at, created_by, created_at, allow_reenroll,
		high_exposure) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?)`, t.Prefix, hash, t.Site, string(t.Tier), string(tags), t.MaxUses,
		ms_(t.ExpiresAt), t.CreatedBy, ms_(tx.now), b2i(t.AllowReenroll), b2i(t.HighExposure))
	if err != nil {
		return t, fmt.Errorf("create enroll token: %w", err)
	}
	t.ID, t.CreatedAt, t.Tags = id, tx.now.UTC(), nonNil(t.Tags)
	return t, nil
}

const enrollCols = `id, prefix, site, tier, tags, max_uses, uses, expires_at, created_by, created_at, revoked_at, allow_reenroll, high_exposure`

func scanEnroll(sc interface{ Scan(...any) error }) (patchwave.EnrollToken, error) {
	var t patchwave.EnrollToken
	var tags string
	var exp, created int64
	var revoked sql.NullInt64
	var reenroll, exposure int
	if err := sc.Scan(&t.ID, &t.Prefix, &t.Site, &t.Tier, &tags, &t.MaxUses, &t.Uses, &exp, &t.CreatedBy, &created, &revoked, &reenroll, &exposure); err != nil {
		return t, err
	}
	t.AllowReenroll, t.HighExposure = reenroll != 0, exposure != 0
	_ = json.Unmarshal([]byte(tags), &t.Tags)
	t.Tags = nonNil(t.Tags)
	t.ExpiresAt, t.CreatedAt, t.Revoked = fromMS(exp), fromMS(created), revoked.Valid
	return t, nil
}

// ListEnrollTokens returns every enrollment token, newest first.
func (s *Store) ListEnrollTokens(ctx context.Context) ([]patchwave.EnrollToken, error) {
	rows, err := s.query(ctx, `SELECT `+enrollCols+` FROM enroll_tokens ORDER BY id DESC`)
	if err != nil {
		return nil, fmt.Errorf("list enroll tokens: %w", err)
	}
	defer rows.Close()
	out := []patchwave.EnrollToken{}
	for rows.Next() {
		t, err := scanEnroll(rows)
		if err != nil {
			return nil, fmt.Errorf("list enroll tokens: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeEnrollToken revokes an enrollment token and returns it as it was
// before, so that the caller can check who may revoke it.
func (tx *Tx) RevokeEnrollToken(id int64) (patchwave.EnrollToken, error) {
	t, err := scanEnroll(tx.queryRow(`SELECT `+enrollCols+` FROM enroll_tokens WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return t, patchwave.Errorf(patchwave.ENotFound, "enroll token %d not found", id)
	}
	if err != nil {
		return t, fmt.Errorf("revoke enroll token %d: %w", id, err)
	}
	if _, err := tx.exec(`UPDATE enroll_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`, ms_(tx.now), id); err != nil {
		return t, fmt.Errorf("revoke enroll token %d: %w", id, err)
	}
	return t, nil
}

// UseEnrollToken counts one use of the token with this hash, if it is
// live, and returns it. The check and the count are one statement, so two
// agents racing for the last use cannot both win.
func (tx *Tx) UseEnrollToken(hash string) (patchwave.EnrollToken, error) {
	res, err := tx.exec(`UPDATE enroll_tokens SET uses = uses + 1
		WHERE token_hash = ? AND revoked_at IS NULL AND expires_at > ? AND (max_uses = 0 OR uses < max_uses)`, hash, ms_(tx.now))
	if err != nil {
		return patchwave.EnrollToken{}, fmt.Errorf("use enroll token: %w", err)
	}
	t, err := scanEnroll(tx.queryRow(`SELECT `+enrollCols+` FROM enroll_tokens WHERE token_hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return t, patchwave.Errorf(patchwave.EUnauthorized, "enrollment token is not valid")
	}
	if err != nil {
		return t, fmt.Errorf("use enroll token: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		switch {
		case t.Revoked:
			return t, patchwave.Errorf(patchwave.EUnauthorized, "enrollment token %s was revoked", t.Prefix)
		case !tx.now.Before(t.ExpiresAt):
			return t, patchwave.Errorf(patchwave.EUnauthorized, "enrollment token %s expired at %s", t.Prefix, t.ExpiresAt.Format("2006-01-02 15:04 MST"))
		default:
			return t, patchwave.Errorf(patchwave.EUnauthorized, "enrollment token %s has been used %d of %d times", t.Prefix, t.Uses, t.MaxUses)
		}
	}
	return t, nil
}
