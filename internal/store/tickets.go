package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/ticket"
)

const ticketCols = `id, host_id, hostname, site, tier, COALESCE(release_id, 0), release_name, kind, patch, reason, severity, state, assignee, queue,
	task_id, error, occurrences, escalation_level, escalated_to, opened_at, last_seen_at, acknowledged_at, closed_at, updated_at`

func scanTicket(sc interface{ Scan(...any) error }) (ticket.Ticket, error) {
	var t ticket.Ticket
	var tier, kind, reason, sev, state string
	var opened, seen, updated int64
	var acked, closed sql.NullInt64
	err := sc.Scan(&t.ID, &t.HostID, &t.Hostname, &t.Site, &tier, &t.ReleaseID, &t.Release, &kind, &t.Patch, &reason, &sev, &state, &t.Assignee, &t.Queue,
		&t.TaskID, &t.Error, &t.Occurrences, &t.EscalationLevel, &t.EscalatedTo, &opened, &seen, &acked, &closed, &updated)
	t.Tier, t.Kind, t.Reason, t.Severity, t.State = patchwave.Tier(tier), patchwave.TaskKind(kind), ticket.Reason(reason), ticket.Severity(sev), ticket.State(state)
	t.OpenedAt, t.LastSeenAt, t.UpdatedAt = fromMS(opened), fromMS(seen), fromMS(updated)
	t.AcknowledgedAt, t.ClosedAt = fromNullMS(acked), fromNullMS(closed)
	return t, err
}

// UnticketedFailures returns up to limit failed tasks whose current
// attempt no ticket has counted yet, oldest first.
func (s *Store) UnticketedFailures(ctx context.Context, limit int) ([]ticket.Failure, error) {
	rows, err := s.query(ctx, `SELECT t.id, t.attempt, t.host_id, h.hostname, h.site, h.tier, t.kind, COALESCE(t.release_id, 0), COALESCE(r.name, ''), t.patch_set, t.error
		FROM tasks t JOIN hosts h ON h.id = t.host_id LEFT JOIN releases r ON r.id = t.release_id
		WHERE t.state = 'failed' AND NOT EXISTS (SELECT 1 FROM ticket_occurrences o WHERE o.task_id = t.id AND o.attempt = t.attempt)
		ORDER BY t.id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("unticketed failures: %w", err)
	}
	defer rows.Close()
	var out []ticket.Failure
	for rows.Next() {
		var f ticket.Failure
		var tier, kind string
		if err := rows.Scan(&f.TaskID, &f.Attempt, &f.HostID, &f.Hostname, &f.Site, &tier, &kind, &f.ReleaseID, &f.Release, &f.PatchSet, &f.Error); err != nil {
			return nil, fmt.Errorf("unticketed failures: %w", err)
		}
		f.Tier, f.Kind = patchwave.Tier(tier), patchwave.TaskKind(kind)
		out = append(out, f)
	}
	return out, rows.Err()
}

// Recorded says what RecordFailure did.
type Recorded struct {
	TicketID int64
	Event    string // "opened", "reopened", "occurred", or "" when another replica had counted the failure
}

// RecordFailure counts a failed task attempt on the ticket of its host,
// patch and reason: it opens the ticket, counts one more occurrence of an
// open one, or opens a resolved one again (a ticket closed as wont-fix
// only counts). A failure already counted changes nothing, so that
// replicas that race count it once.
func (tx *Tx) RecordFailure(f ticket.Failure, policy ticket.Policy) (Recorded, error) {
	reason := ticket.Classify(f.Kind, f.Error)
	key := ticket.Key(f.HostID, f.Patch(), reason)
	sev := ticket.SeverityOf(f.Tier, reason)
	assignee, queue := ticket.Assign(policy.Routes, f.Site, f.Tier)
	now := ms_(tx.now)
	var rel any
	if f.ReleaseID != 0 {
		rel = f.ReleaseID
	}
	errText := truncate(f.Error, 4000)
	res, err := tx.exec(`INSERT INTO tickets (dedup_key, host_id, hostname, site, tier, release_id, release_name, kind, patch, reason, severity, state, assignee, queue,
		task_id, error, occurrences, opened_at, last_seen_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, 0, ?, ?, ?)
		ON CONFLICT (dedup_key) DO NOTHING`,
		key, f.HostID, f.Hostname, f.Site, string(f.Tier), rel, f.Release, string(f.Kind), f.Patch(), string(reason), string(sev), assignee, queue,
		f.TaskID, errText, now, now, now)
	if err != nil {
		return Recorded{}, fmt.Errorf("open ticket for task %d: %w", f.TaskID, err)
	}
	fresh, _ := res.RowsAffected()
	var r Recorded
	var state string
	if err := tx.queryRow(`SELECT id, state FROM tickets WHERE dedup_key = ?`, key).Scan(&r.TicketID, &state); err != nil {
		return Recorded{}, fmt.Errorf("ticket %s: %w", key, err)
	}
	res, err = tx.exec(`INSERT INTO ticket_occurrences (task_id, attempt, ticket_id, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (task_id, attempt) DO NOTHING`,
		f.TaskID, f.Attempt, r.TicketID, now)
	if err != nil {
		return Recorded{}, fmt.Errorf("ticket %d occurrence: %w", r.TicketID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Recorded{TicketID: r.TicketID}, nil
	}
	switch {
	case fresh > 0:
		r.Event = "opened"
	case ticket.State(state) == ticket.Resolved:
		r.Event = "reopened"
	default:
		r.Event = "occurred"
	}
	_, err = tx.exec(`UPDATE tickets SET occurrences = occurrences + 1, last_seen_at = ?, task_id = ?, error = ?, updated_at = ?,
		state = CASE WHEN state = 'resolved' THEN 'open' ELSE state END,
		opened_at = CASE WHEN state = 'resolved' THEN ? ELSE opened_at END,
		escalation_level = CASE WHEN state = 'resolved' THEN 0 ELSE escalation_level END,
		closed_at = CASE WHEN state = 'resolved' THEN NULL ELSE closed_at END,
		acknowledged_at = CASE WHEN state = 'resolved' THEN NULL ELSE acknowledged_at END
		WHERE id = ?`, now, f.TaskID, errText, now, now, r.TicketID)
	if err != nil {
		return Recorded{}, fmt.Errorf("ticket %d: %w", r.TicketID, err)
	}
	body := fmt.Sprintf("task %d attempt %d: %s", f.TaskID, f.Attempt, truncate(f.Error, 1000))
	if err := tx.ticketEvent(r.TicketID, r.Event, "patchwave", body); err != nil {
		return Recorded{}, err
	}
	return r, nil
}

func (tx *Tx) ticketEvent(id int64, kind, actor, body string) error {
	if _, err := tx.exec(`INSERT INTO ticket_events (ticket_id, kind, actor, body, created_at) VALUES (?, ?, ?, ?, ?)`, id, kind, actor, body, ms_(tx.now)); err != nil {
		return fmt.Errorf("ticket %d event: %w", id, err)
	}
	return nil
}

// AutoResolve resolves the open and acknowledged tickets whose host has
// since run a task of the same kind successfully (a retry, a later
// release) and returns their ids.
func (tx *Tx) AutoResolve() ([]int64, error) {
	rows, err := tx.queryRows(`SELECT k.id, t.id FROM tickets k JOIN tasks t ON t.host_id = k.host_id AND t.kind = k.kind
		WHERE k.state IN ('open', 'acknowledged') AND t.state = 'succeeded' AND t.finished_at > k.last_seen_at ORDER BY k.id, t.id`)
	if err != nil {
		return nil, fmt.Errorf("tickets to resolve: %w", err)
	}
	type pair struct{ ticket, task int64 }
	var found []pair
	for rows.Next() {
		var p pair
		if err := rows.Scan(&p.ticket, &p.task); err != nil {
			rows.Close()
			return nil, err
		}
		if len(found) == 0 || found[len(found)-1].ticket != p.ticket {
			found = append(found, p)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []int64
	for _, p := range found {
		res, err := tx.exec(`UPDATE tickets SET state = 'resolved', closed_at = ?, updated_at = ? WHERE id = ? AND state IN ('open', 'acknowledged')`,
			ms_(tx.now), ms_(tx.now), p.ticket)
		if err != nil {
			return out, fmt.Errorf("resolve ticket %d: %w", p.ticket, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			continue
		}
		if err := tx.ticketEvent(p.ticket, "resolved", "patchwave", fmt.Sprintf("task %d succeeded", p.task)); err != nil {
			return out, err
		}
		out = append(out, p.ticket)
	}
	return out, nil
}

// Resolvable reports whether some open or acknowledged ticket's host has
// since run the same kind of task successfully: whether AutoResolve has
// work, checked without taking the writer.
func (s *Store) Resolvable(ctx context.Context) (bool, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM tickets k JOIN tasks t ON t.host_id = k.host_id AND t.kind = k.kind
		WHERE k.state IN ('open', 'acknowledged') AND t.state = 'succeeded' AND t.finished_at > k.last_seen_at LIMIT 1) d`).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("tickets to resolve: %w", err)
	}
	return n > 0, nil
}

// OpenTickets returns every ticket in state open: those that may escalate.
func (s *Store) OpenTickets(ctx context.Context) ([]ticket.Ticket, error) {
	rows, err := s.query(ctx, `SELECT `+ticketCols+` FROM tickets WHERE state = 'open' ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("open tickets: %w", err)
	}
	defer rows.Close()
	var out []ticket.Ticket
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			return nil, fmt.Errorf("open tickets: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// Escalate raises an open ticket to escalation level, handing it to to,
// and reports whether it did: a ticket acknowledged meanwhile, or raised
// to that level by another replica, is left alone.
func (tx *Tx) Escalate(id int64, level int, to string, after time.Duration) (bool, error) {
	res, err := tx.exec(`UPDATE tickets SET escalation_level = ?, escalated_to = ?, updated_at = ? WHERE id = ? AND state = 'open' AND escalation_level < ?`,
		level, to, ms_(tx.now), id, level)
	if err != nil {
		return false, fmt.Errorf("escalate ticket %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	return true, tx.ticketEvent(id, "escalated", "patchwave", fmt.Sprintf("level %d: to %s, unacknowledged after %s", level, to, after))
}

// TicketFilter selects tickets in a list.
type TicketFilter struct {
	State    ticket.State // "" for every state
	Open     bool         // only open and acknowledged ones
	Severity ticket.Severity
	Site     string
	HostID   int64
	Queue    string
	Assignee string
	After    int64
	Limit    int
}

// ListTickets returns tickets in id order and the id to continue after
// (0 at the end).
func (s *Store) ListTickets(ctx context.Context, f TicketFilter) ([]ticket.Ticket, int64, error) {
	var where []string
	var args []any
	add := func(cond string, v any) { where, args = append(where, cond), append(args, v) }
	if f.State != "" {
		add("state = ?", string(f.State))
	}
	if f.Open {
		where = append(where, "state IN ('open', 'acknowledged')")
	}
	if f.Severity != "" {
		add("severity = ?", string(f.Severity))
	}
	if f.Site != "" {
		add("site = ?", f.Site)
	}
	if f.HostID != 0 {
		add("host_id = ?", f.HostID)
	}
	if f.Queue != "" {
		add("queue = ?", f.Queue)
	}
	if f.Assignee != "" {
		add("assignee = ?", f.Assignee)
	}
	if f.After > 0 {
		add("id > ?", f.After)
	}
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	q := `SELECT ` + ticketCols + ` FROM tickets`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	rows, err := s.query(ctx, q+` ORDER BY id LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return nil, 0, fmt.Errorf("tickets: %w", err)
	}
	defer rows.Close()
	out := []ticket.Ticket{}
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("tickets: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	var next int64
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}

// Ticket returns a ticket with its events, oldest first.
func (s *Store) Ticket(ctx context.Context, id int64) (ticket.Ticket, error) {
	t, err := scanTicket(s.queryRow(ctx, `SELECT `+ticketCols+` FROM tickets WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return t, patchwave.Errorf(patchwave.ENotFound, "ticket %d not found", id)
	}
	if err != nil {
		return t, fmt.Errorf("ticket %d: %w", id, err)
	}
	rows, err := s.query(ctx, `SELECT id, kind, actor, body, created_at FROM ticket_events WHERE ticket_id = ? ORDER BY id LIMIT 1000`, id)
	if err != nil {
		return t, fmt.Errorf("ticket %d events: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var e ticket.Event
		var at int64
		if err := rows.Scan(&e.ID, &e.Kind, &e.Actor, &e.Body, &at); err != nil {
			return t, fmt.Errorf("ticket %d events: %w", id, err)
		}
		e.At = fromMS(at)
		t.Events = append(t.Events, e)
	}
	return t, rows.Err()
}

// TicketInTx returns a ticket within tx, without its events.
func (tx *Tx) TicketInTx(id int64) (ticket.Ticket, error) {
	t, err := scanTicket(tx.queryRow(`SELECT `+ticketCols+` FROM tickets WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return t, patchwave.Errorf(patchwave.ENotFound, "ticket %d not found", id)
	}
	if err != nil {
		return t, fmt.Errorf("ticket %d: %w", id, err)
	}
	return t, nil
}

// SetTicketState moves a ticket to state to, by actor with a comment,
// when the state machine allows it from its current state.
func (tx *Tx) SetTicketState(id int64, to ticket.State, actor, comment string) (before ticket.Ticket, err error) {
	before, err = tx.TicketInTx(id)
	if err != nil {
		return before, err
	}
	if err := ticket.Transition(before.State, to); err != nil {
		return before, patchwave.Errorf(patchwave.EConflict, "ticket %d: %s", id, patchwave.ErrorMessage(err))
	}
	now := ms_(tx.now)
	q := `UPDATE tickets SET state = ?, updated_at = ?`
	args := []any{string(to), now}
	switch to {
	case ticket.Acknowledged:
		q, args = q+`, acknowledged_at = ?`, append(args, now)
	case ticket.Resolved, ticket.WontFix:
		q, args = q+`, closed_at = ?`, append(args, now)
	case ticket.Open:
		q, args = q+`, closed_at = NULL, acknowledged_at = NULL, escalation_level = 0, opened_at = ?`, append(args, now)
	}
	res, err := tx.exec(q+` WHERE id = ? AND state = ?`, append(args, id, string(before.State))...)
	if err != nil {
		return before, fmt.Errorf("ticket %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return before, patchwave.Errorf(patchwave.EConflict, "ticket %d changed meanwhile: try again", id)
	}
	kind := string(to)
	if to == ticket.Open {
		kind = "reopened"
	}
	return before, tx.ticketEvent(id, kind, actor, comment)
}

// CommentTicket adds a person's comment to a ticket.
func (tx *Tx) CommentTicket(id int64, actor, body string) error {
	if _, err := tx.TicketInTx(id); err != nil {
		return err
	}
	if _, err := tx.exec(`UPDATE tickets SET updated_at = ? WHERE id = ?`, ms_(tx.now), id); err != nil {
		return fmt.Errorf("ticket %d: %w", id, err)
	}
	return tx.ticketEvent(id, "comment", actor, body)
}

// Guides returns the operators' troubleshooting guides, in the order they
// were added (the order they are tried in).
func (s *Store) Guides(ctx context.Context) ([]ticket.Guide, error) {
	rows, err := s.query(ctx, `SELECT name, title, pattern, steps FROM guides ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("guides: %w", err)
	}
	defer rows.Close()
	var out []ticket.Guide
	for rows.Next() {
		var g ticket.Guide
		var steps string
		if err := rows.Scan(&g.Name, &g.Title, &g.Pattern, &steps); err != nil {
			return nil, fmt.Errorf("guides: %w", err)
		}
		if err := json.Unmarshal([]byte(steps), &g.Steps); err != nil {
			return nil, fmt.Errorf("guide %s: %w", g.Name, err)
		}
		if g.Compile() != nil {
			continue // stored before a stricter check: skipped, not fatal
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// MaxGuides bounds the operators' guides, each tried against every
// ticket shown.
const MaxGuides = 200

// CreateGuide stores an operator's guide, checked by the caller.
func (tx *Tx) CreateGuide(g ticket.Guide, actor string) error {
	var n int
	if err := tx.queryRow(`SELECT COUNT(*) FROM guides`).Scan(&n); err != nil {
		return fmt.Errorf("guides: %w", err)
	}
	if n >= MaxGuides {
		return patchwave.Errorf(patchwave.EConflict, "there are %d guides already, the most allowed: delete one first", n)
	}
	steps, _ := json.Marshal(g.Steps)
	res, err := tx.exec(`INSERT INTO guides (name, title, pattern, steps, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING`,
		g.Name, g.Title, g.Pattern, string(steps), actor, ms_(tx.now))
	if err != nil {
		return fmt.Errorf("create guide %s: %w", g.Name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return patchwave.Errorf(patchwave.EConflict, "guide %s exists already", g.Name)
	}
	return nil
}

// DeleteGuide deletes an operator's guide.
func (tx *Tx) DeleteGuide(name string) error {
	res, err := tx.exec(`DELETE FROM guides WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("delete guide %s: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return patchwave.Errorf(patchwave.ENotFound, "guide %s not found", name)
	}
	return nil
}

// Problem is a person's report of a problem with a release's patches on
// a host.
type Problem struct {
	ReleaseID int64
	Release   string
	HostID    int64
	Hostname  string
	Site      string
	Tier      patchwave.Tier
	Wave      int
	PatchSet  string
	Actor     string
	Message   string
	// OpenTicket asks for a ticket too (reason user-report, one per
	// host and patch set: another report counts on it).
	OpenTicket bool
}

// ReportProblem records a problem report as an event of the release's
// rollout for the host and, when asked, on the host's user-report ticket.
// It returns the ticket's id (0 without one) and whether the ticket is
// new or opened again.
func (tx *Tx) ReportProblem(p Problem, policy ticket.Policy) (int64, bool, error) {
	if err := tx.AddEvent(p.ReleaseID, patchwave.RolloutEvent{Wave: p.Wave, HostID: p.HostID, Kind: "feedback", Actor: p.Actor, Reason: p.Message}); err != nil {
		return 0, false, err
	}
	if !p.OpenTicket {
		return 0, false, nil
	}
	var taskID int64
	err := tx.queryRow(`SELECT id FROM tasks WHERE release_id = ? AND host_id = ? AND kind = 'install'`, p.ReleaseID, p.HostID).Scan(&taskID)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, false, fmt.Errorf("host %d task: %w", p.HostID, err)
	}
	reason := ticket.ReasonUserReport
	patch := p.PatchSet
	if patch == "" {
		patch = "release:" + p.Release
	}
	key := ticket.Key(p.HostID, patch, reason)
	sev := ticket.SeverityOf(p.Tier, reason)
	assignee, queue := ticket.Assign(policy.Routes, p.Site, p.Tier)
	now := ms_(tx.now)
	msg := truncate(p.Message, 4000)
	res, err := tx.exec(`INSERT INTO tickets (dedup_key, host_id, hostname, site, tier, release_id, release_name, kind, patch, reason, severity, state, assignee, queue,
		task_id, error, occurrences, opened_at, last_seen_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'install', ?, ?, ?, 'open', ?, ?, ?, ?, 0, ?, ?, ?)
		ON CONFLICT (dedup_key) DO NOTHING`,
		key, p.HostID, p.Hostname, p.Site, string(p.Tier), p.ReleaseID, p.Release, patch, string(reason), string(sev), assignee, queue, taskID, msg, now, now, now)
	if err != nil {
		return 0, false, fmt.Errorf("ticket for a report on host %d: %w", p.HostID, err)
	}
	fresh, _ := res.RowsAffected()
	var id int64
	var state string
	if err := tx.queryRow(`SELECT id, state FROM tickets WHERE dedup_key = ?`, key).Scan(&id, &state); err != nil {
		return 0, false, fmt.Errorf("ticket %s: %w", key, err)
	}
	_, err = tx.exec(`UPDATE tickets SET occurrences = occurrences + 1, last_seen_at = ?, error = ?, updated_at = ?,
		state = CASE WHEN state = 'resolved' THEN 'open' ELSE state END,
		opened_at = CASE WHEN state = 'resolved' THEN ? ELSE opened_at END,
		escalation_level = CASE WHEN state = 'resolved' THEN 0 ELSE escalation_level END,
		closed_at = CASE WHEN state = 'resolved' THEN NULL ELSE closed_at END
		WHERE id = ?`, now, msg, now, now, id)
	if err != nil {
		return 0, false, fmt.Errorf("ticket %d: %w", id, err)
	}
	if err := tx.ticketEvent(id, "feedback", p.Actor, msg); err != nil {
		return 0, false, err
	}
	return id, fresh > 0 || ticket.State(state) == ticket.Resolved, nil
}
