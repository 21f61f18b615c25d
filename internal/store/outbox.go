package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/patchwave/patchwave"
)

// Channel is a notification channel as stored: its kind and its
// configuration (JSON, secrets included; the notify package reads it).
type Channel struct {
	ID        int64
	Name      string
	Kind      string
	Config    []byte
	CreatedBy string
	CreatedAt time.Time
}

// MaxChannels bounds the notification channels: every notice is queued
// once per channel.
const MaxChannels = 50

// CreateChannel stores a notification channel, checked by the caller.
func (tx *Tx) CreateChannel(c *Channel) error {
	var n int
	if err := tx.queryRow(`SELECT COUNT(*) FROM notify_channels`).Scan(&n); err != nil {
		return fmt.Errorf("channels: %w", err)
	}
	if n >= MaxChannels {
		return patchwave.Errorf(patchwave.EConflict, "there are %d channels already, the most allowed: delete one first", n)
	}
	var exists int
	if err := tx.queryRow(`SELECT COUNT(*) FROM notify_channels WHERE name = ?`, c.Name).Scan(&exists); err != nil {
		return fmt.Errorf("channel %s: %w", c.Name, err)
	}
	if exists > 0 {
		return patchwave.Errorf(patchwave.EConflict, "channel %s exists already", c.Name)
	}
	id, err := tx.insert(`INSERT INTO notify_channels (name, kind, config, created_by, created_at) VALUES (?, ?, ?, ?, ?)`,
		c.Name, c.Kind, string(c.Config), c.CreatedBy, ms_(tx.now))
	if err != nil {
		return fmt.Errorf("create channel %s: %w", c.Name, err)
	}
	c.ID, c.CreatedAt = id, tx.now
	return nil
}

// Channels returns the notification channels by name.
func (s *Store) Channels(ctx context.Context) ([]Channel, error) {
	rows, err := s.query(ctx, `SELECT id, name, kind, config, created_by, created_at FROM notify_channels ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("channels: %w", err)
	}
	defer rows.Close()
	var out []Channel
	for rows.Next() {
		var c Channel
		var cfg string
		var at int64
		if err := rows.Scan(&c.ID, &c.Name, &c.Kind, &cfg, &c.CreatedBy, &at); err != nil {
			return nil, fmt.Errorf("channels: %w", err)
		}
		c.Config, c.CreatedAt = []byte(cfg), fromMS(at)
		out = append(out, c)
	}
	return out, rows.Err()
}

// DeleteChannel deletes a channel and what its outbox still holds.
func (tx *Tx) DeleteChannel(name string) (Channel, error) {
	var c Channel
	var cfg string
	var at int64
	err := tx.queryRow(`SELECT id, name, kind, config, created_by, created_at FROM notify_channels WHERE name = ?`, name).Scan(&c.ID, &c.Name, &c.Kind, &cfg, &c.CreatedBy, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return c, patchwave.Errorf(patchwave.ENotFound, "channel %s not found", name)
	}
	if err != nil {
		return c, fmt.Errorf("channel %s: %w", name, err)
	}
	c.Config, c.CreatedAt = []byte(cfg), fromMS(at)
	if _, err := tx.exec(`DELETE FROM notify_channels WHERE id = ?`, c.ID); err != nil {
		return c, fmt.Errorf("delete channel %s: %w", name, err)
	}
	return c, nil
}

// Enqueue puts a notice in the outbox of every channel, in the
// transaction that made the change it tells of: it is sent if and only
// if the change commits. key makes the notice idempotent per channel. It
// returns how many rows it queued.
func (tx *Tx) Enqueue(event, key string, payload []byte) (int, error) {
	res, err := tx.exec(`INSERT INTO outbox (channel_id, dedup_key, event, payload, state, next_at, created_at)
		SELECT id, ?, ?, ?, 'pending', ?, ? FROM notify_channels WHERE true ON CONFLICT (channel_id, dedup_key) DO NOTHING`,
		key, event, string(payload), ms_(tx.now), ms_(tx.now))
	if err != nil {
		return 0, fmt.Errorf("enqueue %s: %w", event, err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// The states of an outbox row.
const (
	OutboxPending = "pending"
	OutboxSent    = "sent"
	OutboxDead    = "dead"
)

// OutboxItem is a notice to deliver to a channel.
type OutboxItem struct {
	ID          int64      `json:"id"`
	ChannelID   int64      `json:"-"`
	Channel     string     `json:"channel"`
	Kind        string     `json:"kind"`
	Config      []byte     `json:"-"`
	Event       string     `json:"event"`
	Payload     []byte     `json:"-"`
	State       string     `json:"state"`
	Attempts    int        `json:"attempts"`
	NextAt      time.Time  `json:"next_at"`
	LastError   string     `json:"last_error,omitempty"`
	LeaseHolder string     `json:"lease_holder,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	SentAt      *time.Time `json:"sent_at,omitempty"`
}

const outboxCols = `o.id, o.channel_id, c.name, c.kind, c.config, o.event, o.payload, o.state, o.attempts, o.next_at, o.last_error, o.lease_holder, o.created_at, o.sent_at`

func scanOutbox(sc interface{ Scan(...any) error }) (OutboxItem, error) {
	var it OutboxItem
	var cfg, payload string
	var next, created int64
	var sent sql.NullInt64
	err := sc.Scan(&it.ID, &it.ChannelID, &it.Channel, &it.Kind, &cfg, &it.Event, &payload, &it.State, &it.Attempts, &next, &it.LastError, &it.LeaseHolder, &created, &sent)
	it.Config, it.Payload, it.NextAt, it.CreatedAt, it.SentAt = []byte(cfg), []byte(payload), fromMS(next), fromMS(created), fromNullMS(sent)
	return it, err
}

// ClaimOutbox leases up to n due notices to holder for lease: no other
// worker (of this replica or another) takes them until the lease ends,
// so a notice is never being sent twice at once; a worker that dies
// mid-delivery leaves its notices to be taken again when their lease
// ends.
func (s *Store) ClaimOutbox(ctx context.Context, holder string, lease time.Duration, n int) ([]OutboxItem, error) {
	// Most rounds find nothing: look before taking the writer.
	var due int
	now := ms_(s.now())
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM outbox WHERE state = 'pending' AND next_at <= ? AND lease_until < ? LIMIT 1) d`, now, now).Scan(&due); err != nil {
		return nil, fmt.Errorf("claim outbox: %w", err)
	}
	if due == 0 {
		return nil, nil
	}
	var ids []int64
	err := s.write(ctx, func(tx *Tx) error {
		ids = ids[:0]
		now := ms_(tx.now)
		rows, err := tx.queryRows(`SELECT id FROM outbox WHERE state = 'pending' AND next_at <= ? AND lease_until < ? ORDER BY next_at, id LIMIT ?`, now, now, n)
		if err != nil {
			return err
		}
		var cand []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			cand = append(cand, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, id := range cand {
			res, err := tx.exec(`UPDATE outbox SET lease_holder = ?, lease_until = ? WHERE id = ? AND state = 'pending' AND lease_until < ?`,
				holder, ms_(tx.now.Add(lease)), id, now)
			if err != nil {
				return err
			}
			if k, _ := res.RowsAffected(); k > 0 {
				ids = append(ids, id)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim outbox: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := s.query(ctx, `SELECT `+outboxCols+` FROM outbox o JOIN notify_channels c ON c.id = o.channel_id WHERE o.id IN (`+placeholders(len(ids))+`) ORDER BY o.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("claim outbox: %w", err)
	}
	defer rows.Close()
	var out []OutboxItem
	for rows.Next() {
		it, err := scanOutbox(rows)
		if err != nil {
			return nil, fmt.Errorf("claim outbox: %w", err)
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// ErrLeaseLost says a worker finished a delivery whose lease had passed
// to another worker: its result is not recorded.
var ErrLeaseLost = errors.New("the outbox lease passed to another worker")

// FinishDelivery records holder's attempt at a notice and, in the same
// transaction, marks it sent, or due again after retryIn, or dead after
// maxAttempts. It returns the notice's new state, or ErrLeaseLost when
// holder no longer holds it (nothing is recorded then).
func (s *Store) FinishDelivery(ctx context.Context, id int64, holder string, sendErr error, maxAttempts int, retryIn func(attempt int) time.Duration) (string, error) {
	var state string
	err := s.write(ctx, func(tx *Tx) error {
		var attempts int
		err := tx.queryRow(`SELECT attempts FROM outbox WHERE id = ? AND state = 'pending' AND lease_holder = ?`, id, holder).Scan(&attempts)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrLeaseLost
		}
		if err != nil {
			return err
		}
		attempt := attempts + 1
		now := ms_(tx.now)
		msg := ""
		state = OutboxSent
		next := now
		if sendErr != nil {
			msg = truncate(sendErr.Error(), 1000)
			state = OutboxPending
			next = ms_(tx.now.Add(retryIn(attempt)))
			if attempt >= maxAttempts {
				state = OutboxDead
			}
		}
		if _, err := tx.exec(`INSERT INTO outbox_attempts (outbox_id, attempt, holder, ok, error, at) VALUES (?, ?, ?, ?, ?, ?)`,
			id, attempt, holder, b2i(sendErr == nil), msg, now); err != nil {
			return err
		}
		var sent any
		if state == OutboxSent {
			sent = now
		}
		res, err := tx.exec(`UPDATE outbox SET attempts = ?, state = ?, next_at = ?, last_error = ?, lease_holder = '', lease_until = 0, sent_at = ?
			WHERE id = ? AND lease_holder = ? AND attempts = ?`, attempt, state, next, msg, sent, id, holder, attempts)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrLeaseLost
		}
		return nil
	})
	if errors.Is(err, ErrLeaseLost) {
		return "", ErrLeaseLost
	}
	if err != nil {
		return "", fmt.Errorf("outbox %d: %w", id, err)
	}
	return state, nil
}

// OutboxCount is how many notices of a channel are in a state.
type OutboxCount struct {
	Channel string `json:"channel"`
	State   string `json:"state"`
	Count   int    `json:"count"`
}

// OutboxCounts counts the outbox by channel and state.
func (s *Store) OutboxCounts(ctx context.Context) ([]OutboxCount, error) {
	rows, err := s.query(ctx, `SELECT c.name, o.state, COUNT(*) FROM outbox o JOIN notify_channels c ON c.id = o.channel_id GROUP BY c.name, o.state ORDER BY c.name, o.state`)
	if err != nil {
		return nil, fmt.Errorf("outbox counts: %w", err)
	}
	defer rows.Close()
	out := []OutboxCount{}
	for rows.Next() {
		var c OutboxCount
		if err := rows.Scan(&c.Channel, &c.State, &c.Count); err != nil {
			return nil, fmt.Errorf("outbox counts: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ListOutbox returns up to limit notices in state ("" for pending and
// dead ones: those not delivered), newest first.
func (s *Store) ListOutbox(ctx context.Context, state string, limit int) ([]OutboxItem, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	where, args := `o.state IN ('pending', 'dead')`, []any{}
	if state != "" {
		where, args = `o.state = ?`, append(args, state)
	}
	rows, err := s.query(ctx, `SELECT `+outboxCols+` FROM outbox o JOIN notify_channels c ON c.id = o.channel_id WHERE `+where+` ORDER BY o.id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	defer rows.Close()
	out := []OutboxItem{}
	for rows.Next() {
		it, err := scanOutbox(rows)
		if err != nil {
			return nil, fmt.Errorf("outbox: %w", err)
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// DeliveryAttempts counts the recorded attempts at a notice, for tests
// and the outbox's status.
func (s *Store) DeliveryAttempts(ctx context.Context, id int64) (int, error) {
	var n int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM outbox_attempts WHERE outbox_id = ?`, id).Scan(&n); err != nil {
		return 0, fmt.Errorf("outbox %d attempts: %w", id, err)
	}
	return n, nil
}
