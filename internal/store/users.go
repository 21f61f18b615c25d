package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/patchwave/patchwave"
)

// CreateUser adds a user with an already hashed password.
func (s *Store) CreateUser(ctx context.Context, u patchwave.User, passwordHash string) (patchwave.User, error) {
	err := s.write(ctx, func(tx *Tx) error {
		var err error
		u, err = tx.CreateUser(u, passwordHash)
		return err
	})
	return u, err
}

// CreateUser adds a user within tx.
func (tx *Tx) CreateUser(u patchwave.User, passwordHash string) (patchwave.User, error) {
	sites, _ := json.Marshal(nonNil(u.Sites))
	id, err := tx.insert(`INSERT INTO users (name, role, sites, password_hash, disabled, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		u.Name, string(u.Role), string(sites), passwordHash, b2i(u.Disabled), ms_(tx.now), ms_(tx.now))
	if isUnique(err) {
		return u, patchwave.Errorf(patchwave.EConflict, "user %q already exists", u.Name)
	}
	if err != nil {
		return u, fmt.Errorf("create user %s: %w", u.Name, err)
	}
	u.ID, u.CreatedAt = id, tx.now.UTC()
	return u, nil
}

// CountUsers returns the number of users.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM users`).Scan(&n)
	return n, err
}

const userCols = `id, name, role, sites, disabled, created_at`

func scanUser(sc interface{ Scan(...any) error }, extra ...any) (patchwave.User, error) {
	var u patchwave.User
	var sites string
	var disabled int
	var created int64
	if err := sc.Scan(append([]any{&u.ID, &u.Name, &u.Role, &sites, &disabled, &created}, extra...)...); err != nil {
		return u, err
	}
	_ = json.Unmarshal([]byte(sites), &u.Sites)
	u.Disabled, u.CreatedAt = disabled != 0, fromMS(created)
	return u, nil
}

// UserByName returns a user and its password hash.
func (s *Store) UserByName(ctx context.Context, name string) (patchwave.User, string, error) {
	var hash string
	u, err := scanUser(s.queryRow(ctx, `SELECT `+userCols+`, password_hash FROM users WHERE name = ?`, name), &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return u, "", patchwave.Errorf(patchwave.ENotFound, "user %q not found", name)
	}
	if err != nil {
		return u, "", fmt.Errorf("user %s: %w", name, err)
	}
	return u, hash, nil
}

// ListUsers returns every user by name.
func (s *Store) ListUsers(ctx context.Context) ([]patchwave.User, error) {
	rows, err := s.query(ctx, `SELECT `+userCols+` FROM users ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var out []patchwave.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// UserChange is a change to a user; nil fields stay.
type UserChange struct {
	Role         *patchwave.Role
	Sites        *[]string
	PasswordHash *string
	Disabled     *bool
}

// UpdateUser changes a user within tx and returns it as it was and as it is now.
func (tx *Tx) UpdateUser(name string, c UserChange) (before, after patchwave.User, err error) {
	var hash string
	before, err = scanUser(tx.queryRow(`SELECT `+userCols+`, password_hash FROM users WHERE name = ?`, name), &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return before, before, patchwave.Errorf(patchwave.ENotFound, "user %q not found", name)
	}
	if err != nil {
		return before, before, fmt.Errorf("update user %s: %w", name, err)
	}
	after = before
	if c.Role != nil {
		after.Role = *c.Role
	}
	if c.Sites != nil {
		after.Sites = *c.Sites
	}
	if c.PasswordHash != nil {
		hash = *c.PasswordHash
	}
	if c.Disabled != nil {
		after.Disabled = *c.Disabled
	}
	sites, _ := json.Marshal(nonNil(after.Sites))
	if _, err := tx.exec(`UPDATE users SET role = ?, sites = ?, password_hash = ?, disabled = ?, updated_at = ? WHERE id = ?`,
		string(after.Role), string(sites), hash, b2i(after.Disabled), ms_(tx.now), after.ID); err != nil {
		return before, after, fmt.Errorf("update user %s: %w", name, err)
	}
	if c.PasswordHash != nil || (c.Disabled != nil && *c.Disabled) {
		// A new password or a disabled account ends every session.
		if _, err := tx.exec(`UPDATE api_tokens SET revoked_at = ? WHERE user_id = ? AND kind = 'web' AND revoked_at IS NULL`, ms_(tx.now), after.ID); err != nil {
			return before, after, fmt.Errorf("update user %s: %w", name, err)
		}
	}
	return before, after, nil
}

// Write runs fn in one write transaction: the changes it makes and the
// audit events it records commit together or not at all.
func (s *Store) Write(ctx context.Context, fn func(*Tx) error) error { return s.write(ctx, fn) }

// Now is the transaction's time, fixed when it began.
func (tx *Tx) Now() time.Time { return tx.now }

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
