package server

import (
	"context"

	"github.com/patchwave/patchwave/internal/store"
	"github.com/patchwave/patchwave/internal/ticket"
)

// Tickets returns the open and acknowledged tickets for the web UI's
// queue, each with the guide its error matches.
func (b backend) Tickets(ctx context.Context) ([]ticket.Ticket, error) {
	custom, err := b.s.store.Guides(ctx)
	if err != nil {
		return nil, err
	}
	var out []ticket.Ticket
	f := store.TicketFilter{Open: true, Limit: 1000}
	for {
		ts, next, err := b.s.store.ListTickets(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			if g, ok := ticket.Match(custom, t.Error, ""); ok {
				t.Guide = &g
			}
			out = append(out, t)
		}
		if next == 0 || len(out) >= 5000 {
			return out, nil
		}
		f.After = next
	}
}
