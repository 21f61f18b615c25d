package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

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

// AuditVerification is the outcome of walking the audit chain.
type AuditVerification struct {
	OK     bool  `json:"ok"`
	Events int64 `json:"events"` // events checked
	// FirstBroken is the id of the first event that does not fit the
	// chain (0 when OK), and Problem says how.
	FirstBroken int64  `json:"first_broken,omitempty"`
	Problem     string `json:"problem,omitempty"`
	// HeadID and Head are the last event's id and hash when OK: keep them
	// elsewhere, and a later verification also proves nothing was cut off
	// the end (see VerifyAuditFrom).
	HeadID int64  `json:"head_id,omitempty"`
	Head   string `json:"head,omitempty"`
}

// VerifyAuditChain walks the whole chain in id order, recomputing every
// hash from the event's content and the previous event's stored hash. It
// finds the first event that was edited (its hash no longer matches),
// that follows a removed event (a gap in the ids, or a hash made over a
// different predecessor) or that was moved (swapped contents break both
// places). With wantHead non-empty, the event wantHeadID must still be
// there with that hash (a trail cut after it shows).
func (s *Store) VerifyAuditChain(ctx context.Context, wantHeadID int64, wantHead string) (AuditVerification, error) {
	var v AuditVerification
	rows, err := s.query(ctx, `SELECT id, at, actor, action, object, detail, hash FROM audit_events ORDER BY id`)
	if err != nil {
		return v, fmt.Errorf("verify audit: %w", err)
	}
	defer rows.Close()
	prev, prevID := "", int64(0)
	headSeen := false
	for rows.Next() {
		var e patchwave.AuditEvent
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Object, &e.Detail, &e.Hash); err != nil {
			return v, fmt.Errorf("verify audit: %w", err)
		}
		e.At = fromMS(at)
		v.Events++
		switch {
		case e.ID != prevID+1:
			v.FirstBroken = prevID + 1
			v.Problem = fmt.Sprintf("events %d to %d are missing: removed from the trail", prevID+1, e.ID-1)
		case patchwave.ChainHash(prev, e) != e.Hash:
			v.FirstBroken = e.ID
			v.Problem = fmt.Sprintf("event %d does not match its hash: it was changed, or the event before it was removed or moved", e.ID)
		}
		if v.FirstBroken != 0 {
			return v, nil
		}
		if e.ID == wantHeadID {
			headSeen = true
			if e.Hash != wantHead {
				v.FirstBroken = e.ID
				v.Problem = fmt.Sprintf("event %d has hash %s, not the %s recorded earlier: the trail was rewritten", e.ID, short(e.Hash), short(wantHead))
				return v, nil
			}
		}
		prev, prevID = e.Hash, e.ID
	}
	if err := rows.Err(); err != nil {
		return v, fmt.Errorf("verify audit: %w", err)
	}
	if wantHead != "" && !headSeen {
		v.FirstBroken = prevID + 1
		v.Problem = fmt.Sprintf("the trail ends at event %d, before event %d recorded earlier: events were cut off the end", prevID, wantHeadID)
		return v, nil
	}
	v.OK, v.HeadID, v.Head = true, prevID, prev
	return v, nil
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// VerifyAudit walks the whole chain and reports the first event that does
// not fit it (see VerifyAuditChain), or nil when the trail is intact.
func (s *Store) VerifyAudit(ctx context.Context) error {
	v, err := s.VerifyAuditChain(ctx, 0, "")
	if err != nil {
		return err
	}
	if !v.OK {
		return patchwave.Errorf(patchwave.EConflict, "audit trail broken: %s", v.Problem)
	}
	return nil
}

// EachAudit calls fn with every event at or after from and before to (zero
// to: no end), in id order, streaming.
func (s *Store) EachAudit(ctx context.Context, from, to time.Time, fn func(patchwave.AuditEvent) error) error {
	end := int64(math.MaxInt64)
	if !to.IsZero() {
		end = ms_(to)
	}
	rows, err := s.query(ctx, `SELECT id, at, actor, action, object, detail, hash FROM audit_events WHERE at >= ? AND at < ? ORDER BY id`, ms_(from), end)
	if err != nil {
		return fmt.Errorf("export audit: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e patchwave.AuditEvent
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Object, &e.Detail, &e.Hash); err != nil {
			return fmt.Errorf("export audit: %w", err)
		}
		e.At = fromMS(at)
		if err := fn(e); err != nil {
			return err
		}
	}
	return rows.Err()
}
