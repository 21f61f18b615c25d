package web

import (
	"context"
	"html/template"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/patchwave/patchwave/internal/ticket"
)

// Tickets gives the fake backend a queue: a low one opened first, a
// critical escalated one, an acknowledged one, and one with markup in
// its error.
func (f *fakeBackend) Tickets(context.Context) ([]ticket.Ticket, error) {
	t0 := time.Now().Add(-6 * time.Hour)
	lock := ticket.BuiltIn()[1]
	return []ticket.Ticket{
		{ID: 1, Hostname: "lab-01", Severity: ticket.SevLow, State: ticket.Open, Reason: ticket.ReasonFailed, Occurrences: 1, OpenedAt: t0, Queue: "patching"},
		{ID: 2, Hostname: "erp-01", Site: "fra", Severity: ticket.SevCritical, State: ticket.Open, Reason: ticket.ReasonRebootTimeout, Occurrences: 3,
			OpenedAt: t0.Add(time.Hour), EscalationLevel: 1, EscalatedTo: "on-call", Error: "the host did not come back after its reboot"},
		{ID: 3, Hostname: "web-01", Severity: ticket.SevHigh, State: ticket.Acknowledged, Reason: ticket.ReasonFailed, Occurrences: 1, OpenedAt: t0,
			Error: "E: Could not get lock", Guide: &lock},
		{ID: 4, Hostname: "web-02", Severity: ticket.SevMedium, State: ticket.Open, Reason: ticket.ReasonFailed, Occurrences: 1, OpenedAt: t0,
			Error: `<script>alert("x")</script>`},
	}, nil
}

func TestTicketsPage(t *testing.T) {
	ui := newTestUI(t, false)
	resp, body := ui.do(t, "GET", "/tickets", nil, true)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /tickets: %d\n%s", resp.StatusCode, body)
	}
	if resp, _ := ui.do(t, "GET", "/tickets", nil, false); resp.StatusCode == http.StatusOK {
		t.Error("the queue is shown without a session")
	}
	for _, want := range []string{"3 open · 1 acknowledged", "1 escalated", "→ on-call", lockTitle(), `aria-current="page">Tickets`} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	// Open before acknowledged, then by severity: erp-01, web-02, lab-01, web-01.
	order := []string{"/hosts/erp-01", "/hosts/web-02", "/hosts/lab-01", "/hosts/web-01"}
	last := -1
	for _, h := range order {
		i := strings.Index(body, h)
		if i < last {
			t.Errorf("%s is out of order", h)
		}
		last = i
	}
	if strings.Contains(body, `<script>alert`) || !strings.Contains(body, "&lt;script&gt;") {
		t.Error("a ticket's error is not escaped")
	}
}

func lockTitle() string { return template.HTMLEscapeString(ticket.BuiltIn()[1].Title) }
