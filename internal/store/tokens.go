package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/patchwave/patchwave"
)

// Token kinds: API tokens (scripts, CLI logins) and web sessions.
const (
	KindAPI = "api"
	KindWeb = "web"
)

// CreateToken stores a token for a user by its hash.
func (tx *Tx) CreateToken(userID int64, kind, name, prefix, hash string, expires *time.Time) (patchwave.APIToken, error) {
	id, err := tx.insert(`INSERT INTO api_tokens (user_id, kind, name, prefix, token_hash, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		userID, kind, name, prefix, hash, nullMS(expires), ms_(tx.now))
	if err != nil {
		return patchwave.APIToken{}, fmt.Errorf("create token: %w", err)
	}
	return patchwave.APIToken{ID: id, Prefix: prefix, Name: name, UserID: userID, ExpiresAt: expires, CreatedAt: tx.now.UTC()}, nil
}

// UserByToken returns the live, enabled user owning the token with this
// hash, and the token's id. Expired, revoked and unknown tokens are
// EUnauthorized, without saying which.
func (s *Store) UserByToken(ctx context.Context, hash, kind string) (patchwave.User, int64, error) {
	var tokenID int64
	var expires, revoked sql.NullInt64
	u, err := scanUser(s.queryRow(ctx, `SELECT u.id, u.name, u.role, u.sites, u.disabled, u.created_at, t.id, t.expires_at, t.revoked_at
		FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ? AND t.kind = ?`, hash, kind),
		&tokenID, &expires, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return u, 0, patchwave.Errorf(patchwave.EUnauthorized, "invalid or expired credential")
	}
	if err != nil {
		return u, 0, fmt.Errorf("look up token: %w", err)
	}
	now := s.now()
	if revoked.Valid || (expires.Valid && now.UnixMilli() >= expires.Int64) || u.Disabled {
		return u, 0, patchwave.Errorf(patchwave.EUnauthorized, "invalid or expired credential")
	}
	return u, tokenID, nil
}

// TouchToken records that a token was used. Best effort: it is a hint.
func (s *Store) TouchToken(ctx context.Context, id int64) error {
	return s.write(ctx, func(tx *Tx) error {
		_, err := tx.exec(`UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, ms_(tx.now), id)
		return err
	})
}

// ListTokens returns a user's API tokens (all users' when userID is 0), newest first.
func (s *Store) ListTokens(ctx context.Context, userID int64) ([]patchwave.APIToken, error) {
	rows, err := s.query(ctx, `SELECT t.id, t.prefix, t.name, t.user_id, u.name, t.expires_at, t.last_used_at, t.created_at, t.revoked_at
		FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.kind = 'api' AND (? = 0 OR t.user_id = ?) ORDER BY t.id DESC`, userID, userID)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	out := []patchwave.APIToken{}
	for rows.Next() {
		var t patchwave.APIToken
		var exp, used, revoked sql.NullInt64
		var created int64
		if err := rows.Scan(&t.ID, &t.Prefix, &t.Name, &t.UserID, &t.UserName, &exp, &used, &created, &revoked); err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		t.ExpiresAt, t.LastUsed, t.CreatedAt, t.Revoked = fromNullMS(exp), fromNullMS(used), fromMS(created), revoked.Valid
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken revokes a token by id; when userID is not 0 the token must
// be that user's. It returns the token's owner id.
func (tx *Tx) RevokeToken(id, userID int64, kind string) error {
	res, err := tx.exec(`UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ? AND kind = ? AND (? = 0 OR user_id = ?)`,
		ms_(tx.now), id, kind, userID, userID)
	if err != nil {
		return fmt.Errorf("revoke token %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return patchwave.Errorf(patchwave.ENotFound, "token %d not found", id)
	}
	return nil
}

// RevokeTokenByHash revokes the token with this hash (a web logout).
func (s *Store) RevokeTokenByHash(ctx context.Context, hash string) error {
	return s.write(ctx, func(tx *Tx) error {
		_, err := tx.exec(`UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE token_hash = ?`, ms_(tx.now), hash)
		return err
	})
}
