package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/patchwave/patchwave"
)

// Audit records an event in tx, chained to the previous event's hash.
// detail is marshalled to JSON (nil for none).
func (tx *Tx) Audit(actor, action, object string, detail any) error {
	e := patchwave.AuditEvent{At: tx.now.UTC().Truncate(1e6), Actor: actor, Action: action, Object: object}
	if detail != nil {
		b, err := json.Marshal(detail)
		if err != nil {
			return fmt.Errorf("audit %s: %w", action, err)
		}
		e.Detail = string(b)
	}
	if tx.dialect == Postgres {
		// Serialise writers of the chain across replicas.
		if _, err := tx.exec(`SELECT pg_advisory_xact_lock(7263515)`); err != nil {
			return fmt.Errorf("audit %s: %w", action, err)
		}
	}
	var prev string
	err := tx.queryRow(`SELECT id, hash FROM audit_events ORDER BY id DESC LIMIT 1`).Scan(&e.ID, &prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	e.ID++
	e.Hash = patchwave.ChainHash(prev, e)
	if _, err := tx.exec(`INSERT INTO audit_events (id, at, actor, action, object, detail, hash) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		e.ID, ms_(e.At), e.Actor, e.Action, e.Object, e.Detail, e.Hash); err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

// ListAudit returns events newest first, those with id below before when it is not 0.
func (s *Store) ListAudit(ctx context.Context, before int64, limit int) ([]patchwave.AuditEvent, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := s.query(ctx, `SELECT id, at, actor, action, object, detail, hash FROM audit_events
		WHERE (? = 0 OR id < ?) ORDER BY id DESC LIMIT ?`, before, before, limit)
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	defer rows.Close()
	out := []patchwave.AuditEvent{}
	for rows.Next() {
		var e patchwave.AuditEvent
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Object, &e.Detail, &e.Hash); err != nil {
			return nil, fmt.Errorf("list audit: %w", err)
		}
		e.At = fromMS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// VerifyAudit walks the whole chain and reports the first event whose hash
// does not match, or nil when the trail is intact.
func (s *Store) VerifyAudit(ctx context.Context) error {
	rows, err := s.query(ctx, `SELECT id, at, actor, action, object, detail, hash FROM audit_events ORDER BY id`)
	if err != nil {
		return fmt.Errorf("verify audit: %w", err)
	}
	defer rows.Close()
	prev := ""
	for rows.Next() {
		var e patchwave.AuditEvent
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Object, &e.Detail, &e.Hash); err != nil {
			return fmt.Errorf("verify audit: %w", err)
		}
		e.At = fromMS(at)
		if want := patchwave.ChainHash(prev, e); want != e.Hash {
			return patchwave.Errorf(patchwave.EConflict, "audit event %d does not match its hash: the trail was changed", e.ID)
		}
		prev = e.Hash
	}
	return rows.Err()
}
