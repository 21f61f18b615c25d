package web

import (
	"cmp"
	"net/http"
	"slices"

	"github.com/patchwave/patchwave/internal/ticket"
)

// ticketsPage is the queue of follow-up tickets.
type ticketsPage struct {
	layout
	Tickets      []ticket.Ticket
	Open, Acked  int
	Escalated    int
	BySeverity   map[ticket.Severity]int
	SeverityList []ticket.Severity
}

var severityRank = map[ticket.Severity]int{ticket.SevCritical: 0, ticket.SevHigh: 1, ticket.SevMedium: 2, ticket.SevLow: 3}

// getTickets shows the ticket queue: open tickets first, the most severe
// and the longest waiting at the top.
func (h *Handler) getTickets(w http.ResponseWriter, r *http.Request) error {
	ts, err := h.b.Tickets(r.Context())
	if err != nil {
		return err
	}
	slices.SortStableFunc(ts, func(a, b ticket.Ticket) int {
		return cmp.Or(cmp.Compare(stateRank(a.State), stateRank(b.State)), cmp.Compare(severityRank[a.Severity], severityRank[b.Severity]),
			a.OpenedAt.Compare(b.OpenedAt), cmp.Compare(a.ID, b.ID))
	})
	p := &ticketsPage{layout: layout{Title: "Tickets", User: currentUser(r), Nav: "tickets"}, Tickets: ts, BySeverity: map[ticket.Severity]int{},
		SeverityList: []ticket.Severity{ticket.SevCritical, ticket.SevHigh, ticket.SevMedium, ticket.SevLow}}
	for _, t := range ts {
		switch t.State {
		case ticket.Open:
			p.Open++
		case ticket.Acknowledged:
			p.Acked++
		}
		if t.EscalationLevel > 0 {
			p.Escalated++
		}
		p.BySeverity[t.Severity]++
	}
	h.render(w, r, http.StatusOK, "tickets", p)
	return nil
}

func stateRank(s ticket.State) int {
	if s == ticket.Open {
		return 0
	}
	return 1
}
