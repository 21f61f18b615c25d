package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/notify"
	"github.com/patchwave/patchwave/internal/sched"
	"github.com/patchwave/patchwave/internal/store"
	"github.com/patchwave/patchwave/internal/ticket"
)

// The response envelopes of the follow-up endpoints.
type (
	ticketList struct {
		Tickets []ticket.Ticket `json:"tickets"`
		Next    string          `json:"next"`
	}
	guideList struct {
		Guides []ticket.Guide `json:"guides"`
	}
	channelT struct {
		Name      string        `json:"name"`
		Kind      string        `json:"kind"`
		Config    notify.Config `json:"config"`
		CreatedBy string        `json:"created_by,omitempty"`
	}
	channelList struct {
		Channels []channelT `json:"channels"`
	}
	outboxT struct {
		Counts []store.OutboxCount `json:"counts"`
		Items  []store.OutboxItem  `json:"items"`
	}
	ticketAction struct {
		Comment string `json:"comment"`
	}
)

// MaxComment bounds a ticket comment.
const MaxComment = 4000

func (a *API) listTickets(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := store.TicketFilter{Site: q.Get("site"), Queue: q.Get("queue"), Assignee: q.Get("assignee")}
	if s := q.Get("state"); s == "live" || s == "" && q.Get("all") != "true" {
		f.Open = true
	} else if s != "" {
		st, err := ticket.ParseState(s)
		if err != nil {
			return err
		}
		f.State = st
	}
	if s := q.Get("severity"); s != "" {
		sev, err := ticket.ParseSeverity(s)
		if err != nil {
			return err
		}
		f.Severity = sev
	}
	for _, p := range []struct{ n, v string }{{"site", f.Site}, {"queue", f.Queue}, {"assignee", f.Assignee}} {
		if p.v != "" {
			if err := patchwave.ValidLabel(p.n, p.v); err != nil {
				return err
			}
		}
	}
	if h := q.Get("host"); h != "" {
		host, err := a.store.Host(r.Context(), h)
		if err != nil {
			return err
		}
		f.HostID = host.ID
	}
	var err error
	if f.After, err = queryInt(r, "after", 0); err != nil {
		return err
	}
	limit, err := queryInt(r, "limit", 100)
	if err != nil {
		return err
	}
	if limit < 1 || limit > 1000 {
		return patchwave.Errorf(patchwave.EInvalid, "limit %d: want 1 to 1000", limit)
	}
	f.Limit = int(limit)
	ts, next, err := a.store.ListTickets(r.Context(), f)
	if err != nil {
		return err
	}
	out := ticketList{Tickets: ts}
	if next > 0 {
		out.Next = fmt.Sprint(next)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// getTicket shows a ticket with its history, its task's output and the
// troubleshooting guide that matches.
func (a *API) getTicket(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ctx := r.Context()
	t, err := a.store.Ticket(ctx, id)
	if err != nil {
		return err
	}
	if task, err := a.store.TaskByID(ctx, t.TaskID); err == nil {
		t.Output = task.Output
	} else if patchwave.ErrorCode(err) != patchwave.ENotFound {
		return err
	}
	custom, err := a.store.Guides(ctx)
	if err != nil {
		return err
	}
	if g, ok := ticket.Match(custom, t.Error, t.Output); ok {
		t.Guide = &g
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

// ticketAct moves a ticket to state to (or, with to empty, comments on
// it) for a person allowed to change its host's site.
func (a *API) ticketAct(to ticket.State) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		u := user(r)
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		var in ticketAction
		if err := decode(w, r, MaxBody, &in); err != nil {
			return err
		}
		if err := patchwave.ValidText("comment", in.Comment, MaxComment); err != nil {
			return err
		}
		in.Comment = strings.TrimSpace(in.Comment)
		if in.Comment == "" && (to == "" || to == ticket.WontFix) {
			return patchwave.Errorf(patchwave.EInvalid, "a comment is required here: say why")
		}
		ctx := r.Context()
		cur, err := a.store.Ticket(ctx, id)
		if err != nil {
			return err
		}
		if err := canWrite(u, cur.Site, fmt.Sprintf("ticket %d", id)); err != nil {
			return err
		}
		err = a.store.Write(ctx, func(tx *store.Tx) error {
			obj := fmt.Sprintf("ticket:%d", id)
			if to == "" {
				if err := tx.CommentTicket(id, u.Name, in.Comment); err != nil {
					return err
				}
				return tx.Audit(u.Name, "ticket.comment", obj, map[string]any{"comment": in.Comment})
			}
			before, err := tx.SetTicketState(id, to, u.Name, in.Comment)
			if err != nil {
				return err
			}
			if err := tx.Audit(u.Name, "ticket."+string(to), obj, map[string]any{"before": before.State, "after": to, "comment": in.Comment}); err != nil {
				return err
			}
			return ticketNotice(tx, id, "ticket."+string(to))
		})
		if err != nil {
			return err
		}
		t, err := a.store.Ticket(ctx, id)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, t)
		return nil
	}
}

// ticketNotice queues a notice of a person's change to a ticket.
func ticketNotice(tx *store.Tx, id int64, event string) error {
	t, err := tx.TicketInTx(id)
	if err != nil {
		return err
	}
	b, err := json.Marshal(ticket.Notice{Event: event, Ticket: t, Text: t.Summary() + ": " + string(t.State)})
	if err != nil {
		return err
	}
	_, err = tx.Enqueue(event, fmt.Sprintf("ticket:%d:%s:%d", id, event, t.UpdatedAt.UnixMilli()), b)
	return err
}

func (a *API) getTicketPolicy(w http.ResponseWriter, r *http.Request) error {
	p, err := sched.LoadTicketPolicy(r.Context(), a.store)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (a *API) putTicketPolicy(w http.ResponseWriter, r *http.Request) error {
	u := user(r)
	if err := requireOperator(u, "change the ticket policy"); err != nil {
		return err
	}
	var p ticket.Policy
	if err := decode(w, r, MaxBody, &p); err != nil {
		return err
	}
	if err := p.Validate(); err != nil {
		return err
	}
	b, _ := json.Marshal(p)
	ctx := r.Context()
	before, err := sched.LoadTicketPolicy(ctx, a.store)
	if err != nil {
		return err
	}
	err = a.store.Write(ctx, func(tx *store.Tx) error {
		if err := tx.PutSetting(sched.TicketPolicySetting, b); err != nil {
			return err
		}
		return tx.Audit(u.Name, "ticket-policy.put", "setting:"+sched.TicketPolicySetting, map[string]any{"before": before, "after": p})
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (a *API) listGuides(w http.ResponseWriter, r *http.Request) error {
	custom, err := a.store.Guides(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, guideList{Guides: append(custom, ticket.BuiltIn()...)})
	return nil
}

func (a *API) createGuide(w http.ResponseWriter, r *http.Request) error {
	u := user(r)
	if err := requireOperator(u, "add troubleshooting guides"); err != nil {
		return err
	}
	var g ticket.Guide
	if err := decode(w, r, 64<<10, &g); err != nil {
		return err
	}
	if g.BuiltIn {
		return patchwave.Errorf(patchwave.EInvalid, "built_in is set by the server")
	}
	if err := g.Compile(); err != nil {
		return err
	}
	for _, b := range ticket.BuiltIn() {
		if b.Name == g.Name {
			return patchwave.Errorf(patchwave.EConflict, "guide %s is built in: pick another name", g.Name)
		}
	}
	err := a.store.Write(r.Context(), func(tx *store.Tx) error {
		if err := tx.CreateGuide(g, u.Name); err != nil {
			return err
		}
		return tx.Audit(u.Name, "guide.create", "guide:"+g.Name, map[string]any{"before": nil, "after": g})
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, g)
	return nil
}

func (a *API) deleteGuide(w http.ResponseWriter, r *http.Request) error {
	u := user(r)
	if err := requireOperator(u, "delete troubleshooting guides"); err != nil {
		return err
	}
	name := r.PathValue("name")
	err := a.store.Write(r.Context(), func(tx *store.Tx) error {
		if err := tx.DeleteGuide(name); err != nil {
			return err
		}
		return tx.Audit(u.Name, "guide.delete", "guide:"+name, nil)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func channelOf(c store.Channel) channelT {
	var cfg notify.Config
	_ = json.Unmarshal(c.Config, &cfg)
	return channelT{Name: c.Name, Kind: c.Kind, Config: cfg.Redacted(), CreatedBy: c.CreatedBy}
}

func (a *API) listChannels(w http.ResponseWriter, r *http.Request) error {
	if err := requireOperator(user(r), "see notification channels"); err != nil {
		return err
	}
	cs, err := a.store.Channels(r.Context())
	if err != nil {
		return err
	}
	out := channelList{Channels: []channelT{}}
	for _, c := range cs {
		out.Channels = append(out.Channels, channelOf(c))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) createChannel(w http.ResponseWriter, r *http.Request) error {
	u := user(r)
	if err := requireOperator(u, "add notification channels"); err != nil {
		return err
	}
	var in channelT
	if err := decode(w, r, 64<<10, &in); err != nil {
		return err
	}
	if err := notify.Validate(in.Name, in.Kind, in.Config); err != nil {
		return err
	}
	b, _ := json.Marshal(in.Config)
	c := store.Channel{Name: in.Name, Kind: in.Kind, Config: b, CreatedBy: u.Name}
	err := a.store.Write(r.Context(), func(tx *store.Tx) error {
		if err := tx.CreateChannel(&c); err != nil {
			return err
		}
		return tx.Audit(u.Name, "channel.create", "channel:"+c.Name, map[string]any{"before": nil, "after": channelOf(c)})
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, channelOf(c))
	return nil
}

func (a *API) deleteChannel(w http.ResponseWriter, r *http.Request) error {
	u := user(r)
	if err := requireOperator(u, "delete notification channels"); err != nil {
		return err
	}
	name := r.PathValue("name")
	err := a.store.Write(r.Context(), func(tx *store.Tx) error {
		c, err := tx.DeleteChannel(name)
		if err != nil {
			return err
		}
		return tx.Audit(u.Name, "channel.delete", "channel:"+name, map[string]any{"before": channelOf(c), "after": nil})
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) getOutbox(w http.ResponseWriter, r *http.Request) error {
	if err := requireOperator(user(r), "see the notification outbox"); err != nil {
		return err
	}
	state := r.URL.Query().Get("state")
	switch state {
	case "", store.OutboxPending, store.OutboxSent, store.OutboxDead:
	default:
		return patchwave.Errorf(patchwave.EInvalid, "state %q: want pending, sent or dead", state)
	}
	limit, err := queryInt(r, "limit", 100)
	if err != nil {
		return err
	}
	if limit < 1 || limit > 1000 {
		return patchwave.Errorf(patchwave.EInvalid, "limit %d: want 1 to 1000", limit)
	}
	ctx := r.Context()
	counts, err := a.store.OutboxCounts(ctx)
	if err != nil {
		return err
	}
	items, err := a.store.ListOutbox(ctx, state, int(limit))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, outboxT{Counts: counts, Items: items})
	return nil
}

type feedbackRequest struct {
	Host    string `json:"host"`
	Message string `json:"message"`
	// Ticket opens (or counts on) the host's user-report ticket too.
	Ticket bool `json:"ticket,omitempty"`
}

type feedbackResult struct {
	Release  string `json:"release"`
	Host     string `json:"host"`
	TicketID int64  `json:"ticket_id,omitempty"`
}

// reportProblem records a person's report of a problem with a release's
// patches on a host: an event of the rollout for that host and,
// optionally, a ticket. Anyone signed in may report, viewers too: a
// report changes nothing but the record.
func (a *API) reportProblem(w http.ResponseWriter, r *http.Request) error {
	u := user(r)
	ctx := r.Context()
	var in feedbackRequest
	if err := decode(w, r, 64<<10, &in); err != nil {
		return err
	}
	in.Message = strings.TrimSpace(in.Message)
	if in.Message == "" {
		return patchwave.Errorf(patchwave.EInvalid, "a report needs a message saying what is wrong")
	}
	if err := patchwave.ValidText("message", in.Message, MaxComment); err != nil {
		return err
	}
	if in.Host == "" {
		return patchwave.Errorf(patchwave.EInvalid, "a report names the host (host)")
	}
	rel, err := a.store.Release(ctx, r.PathValue("release"))
	if err != nil {
		return err
	}
	h, err := a.store.Host(ctx, in.Host)
	if err != nil {
		return err
	}
	rh, ok, err := a.store.ReleaseHost(ctx, rel.ID, h.ID)
	if err != nil {
		return err
	}
	if !ok {
		return patchwave.Errorf(patchwave.EConflict, "host %s is not in release %s", h.Hostname, rel.Name)
	}
	policy, err := sched.LoadTicketPolicy(ctx, a.store)
	if err != nil {
		return err
	}
	p := store.Problem{ReleaseID: rel.ID, Release: rel.Name, HostID: h.ID, Hostname: h.Hostname, Site: h.Site, Tier: h.Tier, Wave: rh.Wave,
		PatchSet: rh.PatchSet, Actor: u.Name, Message: in.Message, OpenTicket: in.Ticket}
	out := feedbackResult{Release: rel.Name, Host: h.Hostname}
	err = a.store.Write(ctx, func(tx *store.Tx) error {
		id, fresh, err := tx.ReportProblem(p, policy)
		if err != nil {
			return err
		}
		out.TicketID = id
		if err := tx.Audit(u.Name, "feedback.report", fmt.Sprintf("release:%s/host:%s", rel.Name, h.Hostname),
			map[string]any{"message": in.Message, "ticket": id}); err != nil {
			return err
		}
		if fresh {
			return ticketNotice(tx, id, "ticket.opened")
		}
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}
