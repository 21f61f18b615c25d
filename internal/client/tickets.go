package client

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/patchwave/patchwave/internal/ticket"
)

// Tickets lists tickets selected by q (state, all, severity, site, host,
// queue, assignee, after, limit) and returns the cursor of the next page.
func (c *Client) Tickets(ctx context.Context, q url.Values) ([]ticket.Ticket, string, error) {
	var out struct {
		Tickets []ticket.Ticket `json:"tickets"`
		Next    string          `json:"next"`
	}
	err := c.Do(ctx, "GET", "/api/v1/tickets", q, nil, &out)
	return out.Tickets, out.Next, err
}

// Ticket returns a ticket with its history, output and guide.
func (c *Client) Ticket(ctx context.Context, id int64) (ticket.Ticket, error) {
	var t ticket.Ticket
	err := c.Do(ctx, "GET", fmt.Sprintf("/api/v1/tickets/%d", id), nil, nil, &t)
	return t, err
}

// TicketAct acknowledges, resolves, closes as won't fix, reopens or
// comments on a ticket (verb ack, resolve, wont-fix, reopen, comments).
func (c *Client) TicketAct(ctx context.Context, id int64, verb, comment string) (ticket.Ticket, error) {
	var t ticket.Ticket
	err := c.Do(ctx, "POST", fmt.Sprintf("/api/v1/tickets/%d/%s", id, verb), nil, map[string]string{"comment": comment}, &t)
	return t, err
}

// Channel is a notification channel.
type Channel struct {
	Name      string        `json:"name"`
	Kind      string        `json:"kind"` // webhook, slack, teams, email, jira or servicenow
	Config    ChannelConfig `json:"config"`
	CreatedBy string        `json:"created_by,omitempty"`
}

// ChannelConfig is a channel's settings: a URL (and a webhook's signing
// secret), or an SMTP server, sender, recipients and credentials.
type ChannelConfig struct {
	URL      string   `json:"url,omitempty"`
	Secret   string   `json:"secret,omitempty"`
	SMTP     string   `json:"smtp,omitempty"`
	From     string   `json:"from,omitempty"`
	To       []string `json:"to,omitempty"`
	Username string   `json:"username,omitempty"`
	Password string   `json:"password,omitempty"`
	Events   []string `json:"events,omitempty"`
	// Project and IssueType are a Jira channel's.
	Project   string `json:"project,omitempty"`
	IssueType string `json:"issue_type,omitempty"`
}

// Channels lists the notification channels, secrets redacted.
func (c *Client) Channels(ctx context.Context) ([]Channel, error) {
	var out struct {
		Channels []Channel `json:"channels"`
	}
	err := c.Do(ctx, "GET", "/api/v1/notifications/channels", nil, nil, &out)
	return out.Channels, err
}

// CreateChannel adds a notification channel.
func (c *Client) CreateChannel(ctx context.Context, ch Channel) (Channel, error) {
	var out Channel
	err := c.Do(ctx, "POST", "/api/v1/notifications/channels", nil, ch, &out)
	return out, err
}

// DeleteChannel deletes a notification channel.
func (c *Client) DeleteChannel(ctx context.Context, name string) error {
	return c.Do(ctx, "DELETE", "/api/v1/notifications/channels/"+url.PathEscape(name), nil, nil, nil)
}

// Outbox is the notification outbox's state.
type Outbox struct {
	Counts []struct {
		Channel string `json:"channel"`
		State   string `json:"state"`
		Count   int    `json:"count"`
	} `json:"counts"`
	Items []OutboxItem `json:"items"`
}

// OutboxItem is a notice in the outbox.
type OutboxItem struct {
	ID        int64      `json:"id"`
	Channel   string     `json:"channel"`
	Kind      string     `json:"kind"`
	Event     string     `json:"event"`
	State     string     `json:"state"`
	Attempts  int        `json:"attempts"`
	NextAt    time.Time  `json:"next_at"`
	LastError string     `json:"last_error,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	SentAt    *time.Time `json:"sent_at,omitempty"`
}

// Outbox returns the outbox's counts and its notices in state ("" for
// the undelivered ones).
func (c *Client) Outbox(ctx context.Context, state string, limit int) (Outbox, error) {
	q := url.Values{}
	if state != "" {
		q.Set("state", state)
	}
	if limit > 0 {
		q.Set("limit", fmt.Sprint(limit))
	}
	var out Outbox
	err := c.Do(ctx, "GET", "/api/v1/notifications/outbox", q, nil, &out)
	return out, err
}

// ReportProblem reports a problem with release's patches on host; with
// openTicket it opens (or counts on) the host's user-report ticket, whose
// id it returns.
func (c *Client) ReportProblem(ctx context.Context, release, host, message string, openTicket bool) (int64, error) {
	var out struct {
		TicketID int64 `json:"ticket_id"`
	}
	err := c.Do(ctx, "POST", "/api/v1/releases/"+url.PathEscape(release)+"/feedback", nil,
		map[string]any{"host": host, "message": message, "ticket": openTicket}, &out)
	return out.TicketID, err
}
