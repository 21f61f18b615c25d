package sched

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/patchwave/patchwave/internal/store"
	"github.com/patchwave/patchwave/internal/ticket"
)

// TicketPolicySetting is the settings key of the ticket policy (routes
// and escalations); ticket.DefaultPolicy applies until it is set.
const TicketPolicySetting = "ticket-policy"

// LoadTicketPolicy returns the ticket policy in force.
func LoadTicketPolicy(ctx context.Context, st *store.Store) (ticket.Policy, error) {
	b, err := st.Setting(ctx, TicketPolicySetting)
	if err != nil || b == nil {
		return ticket.DefaultPolicy(), err
	}
	var p ticket.Policy
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("ticket policy: %w", err)
	}
	return p, nil
}

// Follow keeps tickets in step with tasks: it opens (or counts) a ticket
// for every failed task attempt, resolves tickets whose host has since
// succeeded, and escalates open tickets nobody acknowledged. Each change
// and its notice commit together; unique keys make replicas that run it
// at once change each ticket once.
type Follow struct {
	Store    *store.Store
	Log      *slog.Logger
	Interval time.Duration
	// Batch is how many failures one tick takes at most.
	Batch int
	// RebootLead is how long before a wave that may reboot its hosts
	// starts that a notice goes out (DefaultRebootLead when 0).
	RebootLead time.Duration
}

// NewFollow returns a ticket loop ticking every 30 seconds.
func NewFollow(st *store.Store, log *slog.Logger) *Follow {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Follow{Store: st, Log: log, Interval: 30 * time.Second, Batch: 500}
}

// Run ticks until ctx is done.
func (f *Follow) Run(ctx context.Context) {
	t := time.NewTicker(f.Interval)
	defer t.Stop()
	for {
		if err := f.Tick(ctx); err != nil && ctx.Err() == nil {
			f.Log.Warn("ticket loop", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// TickResult counts what a tick did.
type TickResult struct {
	Opened, Counted, Resolved, Escalated int
	// RebootNotices counts the outbox rows of reboot notices queued.
	RebootNotices int
}

// Tick does one round.
func (f *Follow) Tick(ctx context.Context) error {
	_, err := f.TickResult(ctx)
	return err
}

// TickResult does one round and says what it did.
func (f *Follow) TickResult(ctx context.Context) (TickResult, error) {
	var r TickResult
	policy, err := LoadTicketPolicy(ctx, f.Store)
	if err != nil {
		return r, err
	}
	fails, err := f.Store.UnticketedFailures(ctx, f.Batch)
	if err != nil {
		return r, err
	}
	for _, fl := range fails {
		err := f.Store.Write(ctx, func(tx *store.Tx) error {
			rec, err := tx.RecordFailure(fl, policy)
			if err != nil || rec.Event == "" {
				return err
			}
			if rec.Event == "occurred" {
				r.Counted++
				return nil // no notice for a repeat: the ticket is open already
			}
			r.Opened++
			return notice(tx, rec.TicketID, "ticket."+rec.Event)
		})
		if err != nil {
			return r, fmt.Errorf("task %d: %w", fl.TaskID, err)
		}
	}
	resolvable, err := f.Store.Resolvable(ctx)
	if err != nil {
		return r, err
	}
	if resolvable {
		err = f.Store.Write(ctx, func(tx *store.Tx) error {
			ids, err := tx.AutoResolve()
			if err != nil {
				return err
			}
			for _, id := range ids {
				if err := notice(tx, id, "ticket.resolved"); err != nil {
					return err
				}
			}
			r.Resolved = len(ids)
			return nil
		})
		if err != nil {
			return r, err
		}
	}
	open, err := f.Store.OpenTickets(ctx)
	if err != nil {
		return r, err
	}
	now := f.Store.Now()
	for _, t := range open {
		e, level, ok := policy.Due(t.Severity, t.Tier, t.State, t.EscalationLevel, t.OpenedAt, now)
		if !ok {
			continue
		}
		err := f.Store.Write(ctx, func(tx *store.Tx) error {
			done, err := tx.Escalate(t.ID, level, e.To, time.Duration(e.After))
			if err != nil || !done {
				return err
			}
			r.Escalated++
			return notice(tx, t.ID, "ticket.escalated")
		})
		if err != nil {
			return r, fmt.Errorf("ticket %d: %w", t.ID, err)
		}
	}
	if r.RebootNotices, err = f.rebootNotices(ctx, now); err != nil {
		return r, err
	}
	if r != (TickResult{}) {
		f.Log.Info("tickets", "opened", r.Opened, "counted", r.Counted, "resolved", r.Resolved, "escalated", r.Escalated, "reboot_notices", r.RebootNotices)
	}
	return r, nil
}

// notice queues a notice of a ticket's change, keyed so that the same
// change is never queued twice.
func notice(tx *store.Tx, id int64, event string) error {
	t, err := tx.TicketInTx(id)
	if err != nil {
		return err
	}
	n := ticket.Notice{Event: event, Ticket: t, Text: t.Summary()}
	if event == "ticket.escalated" {
		n.Text += fmt.Sprintf(": unacknowledged, escalated to %s", t.EscalatedTo)
	}
	b, err := json.Marshal(n)
	if err != nil {
		return err
	}
	key := fmt.Sprintf("ticket:%d:%s:%d:%d:%d", id, event, t.Occurrences, t.EscalationLevel, t.UpdatedAt.UnixMilli())
	_, err = tx.Enqueue(event, key, b)
	return err
}
