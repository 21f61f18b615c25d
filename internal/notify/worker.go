package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/patchwave/patchwave/internal/store"
)

// Worker delivers the outbox. Every replica may run one: rows are
// claimed with a lease, so that two workers never send the same notice
// at once, and a worker that dies mid-delivery leaves its rows to be
// taken again when their lease ends.
type Worker struct {
	Store  *store.Store
	Sender *Sender
	Log    *slog.Logger
	Holder string
	// Interval is the time between rounds; Lease how long a claim
	// holds (longer than a delivery may take); Batch the rows per round.
	Interval time.Duration
	Lease    time.Duration
	Batch    int
	// MaxAttempts is how many tries a notice gets before it is dead.
	MaxAttempts int
	// BaseDelay is the wait after the first failure; each one after
	// doubles it, up to MaxDelay.
	BaseDelay, MaxDelay time.Duration
}

// NewWorker returns a worker with its own holder id and the defaults: 8
// tries over about 2 hours (30s, 1m, 2m … 32m).
func NewWorker(st *store.Store, log *slog.Logger) *Worker {
	b := make([]byte, 8)
	rand.Read(b)
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Worker{Store: st, Sender: &Sender{}, Log: log, Holder: hex.EncodeToString(b), Interval: 5 * time.Second, Lease: 2 * time.Minute,
		Batch: 20, MaxAttempts: 8, BaseDelay: 30 * time.Second, MaxDelay: time.Hour}
}

// Backoff is how long to wait after the attempt-th failure.
func (w *Worker) Backoff(attempt int) time.Duration {
	d := w.BaseDelay
	for i := 1; i < attempt && d < w.MaxDelay; i++ {
		d *= 2
	}
	return min(d, w.MaxDelay)
}

// Run delivers until ctx is done.
func (w *Worker) Run(ctx context.Context) {
	t := time.NewTicker(w.Interval)
	defer t.Stop()
	for {
		if _, err := w.Tick(ctx); err != nil && ctx.Err() == nil {
			w.Log.Warn("outbox", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Tick claims the due notices and delivers them; it returns how many it
// sent.
func (w *Worker) Tick(ctx context.Context) (int, error) {
	items, err := w.Store.ClaimOutbox(ctx, w.Holder, w.Lease, w.Batch)
	if err != nil {
		return 0, err
	}
	sent := 0
	for _, it := range items {
		var cfg Config
		err := json.Unmarshal(it.Config, &cfg)
		if err == nil {
			if !cfg.Wants(it.Event) {
				err = nil // the channel does not take it: done, nothing to send
			} else {
				sctx, cancel := context.WithTimeout(ctx, w.Lease/2)
				err = w.Sender.Send(sctx, it.Kind, cfg, it.ID, it.Payload)
				cancel()
			}
		}
		if ctx.Err() != nil {
			return sent, ctx.Err() // shutting down: the lease lapses and another try comes
		}
		state, ferr := w.Store.FinishDelivery(ctx, it.ID, w.Holder, err, w.MaxAttempts, w.Backoff)
		switch {
		case errors.Is(ferr, store.ErrLeaseLost):
			w.Log.Warn("outbox: lease lost during delivery", "id", it.ID, "channel", it.Channel)
			continue
		case ferr != nil:
			return sent, ferr
		}
		switch state {
		case store.OutboxSent:
			sent++
		case store.OutboxDead:
			w.Log.Error("outbox: notice given up", "id", it.ID, "channel", it.Channel, "attempts", it.Attempts+1, "err", err)
		default:
			w.Log.Warn("outbox: delivery failed, will retry", "id", it.ID, "channel", it.Channel, "attempt", it.Attempts+1, "err", err)
		}
	}
	return sent, nil
}
