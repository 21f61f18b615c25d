package cli

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/patchwave/patchwave/internal/client"
	"github.com/patchwave/patchwave/internal/ticket"
)

// ticketVerbs is the verb table of "patchwave tickets".
func ticketVerbs() []command {
	return []command{
		{"list", "list tickets: open and acknowledged ones unless --state or --all", runTicketsList},
		{"show", "show a ticket with its history, its task's output and the matching troubleshooting guide", runTicketsShow},
		{"ack", "acknowledge a ticket: you are on it, it escalates no further", ticketActRunner("ack", "ID", false)},
		{"resolve", "resolve a ticket by hand", ticketActRunner("resolve", "ID", false)},
		{"wont-fix", "close a ticket as won't fix (--comment says why)", ticketActRunner("wont-fix", "ID", true)},
		{"reopen", "open a resolved or won't-fix ticket again", ticketActRunner("reopen", "ID", false)},
		{"comment", "comment on a ticket", ticketActRunner("comments", "ID", true)},
		{"report", "report a problem with a release's patches on a host, optionally opening a ticket", runTicketsReport},
	}
}

func runTicketsList(ctx context.Context, e env, args []string) error {
	v := newVerb("tickets list", "", 0, `List follow-up tickets. Patchwave opens one for every failed task, one per
host, patch and reason: a repeat counts an occurrence on the same ticket. A
ticket resolves itself when the host's task later succeeds.`,
		"patchwave tickets list\npatchwave tickets list --severity critical --site fra\npatchwave tickets list --all -o json")
	state := v.String("state", "", "only tickets in this `state`: open, acknowledged, resolved or wont-fix")
	all := v.Bool("all", false, "tickets in every state")
	sev := v.String("severity", "", "only tickets of this `severity`: critical, high, medium or low")
	site := v.String("site", "", "only tickets of hosts at this `site`")
	host := v.String("host", "", "only tickets of this `host`")
	queue := v.String("queue", "", "only tickets in this `queue`")
	out := v.outputFlag()
	if _, err := v.parse(args); err != nil {
		return err
	}
	q := url.Values{}
	for k, val := range map[string]string{"state": *state, "severity": *sev, "site": *site, "host": *host, "queue": *queue} {
		if val != "" {
			q.Set(k, val)
		}
	}
	if *all {
		q.Set("all", "true")
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	var list []ticket.Ticket
	for {
		ts, next, err := c.Tickets(ctx, q)
		if err != nil {
			return fmt.Errorf("tickets: %w", err)
		}
		list = append(list, ts...)
		if next == "" {
			break
		}
		q.Set("after", next)
	}
	if *out == formatJSON {
		if list == nil {
			list = []ticket.Ticket{}
		}
		return writeJSON(e.stdout, list)
	}
	t := newTable(e.stdout, "ID", "SEVERITY", "STATE", "HOST", "SITE", "REASON", "TIMES", "QUEUE", "ASSIGNEE", "ESCALATED", "LAST SEEN", "ERROR")
	for _, k := range list {
		t.row(fmt.Sprint(k.ID), string(k.Severity), string(k.State), k.Hostname, dash(k.Site), string(k.Reason), fmt.Sprint(k.Occurrences),
			dash(k.Queue), dash(k.Assignee), dash(k.EscalatedTo), when(k.LastSeenAt), k.Error)
	}
	return t.flush()
}

func runTicketsShow(ctx context.Context, e env, args []string) error {
	v := newVerb("tickets show", "ID", 1, "Show a ticket: its host, task and error, the troubleshooting guide that matches, the task's output and the ticket's history.",
		"patchwave tickets show 12\npatchwave tickets show 12 -o json")
	out := v.outputFlag()
	pos, err := v.parse(args)
	if err != nil {
		return err
	}
	id, err := parseID(v, pos[0])
	if err != nil {
		return err
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	t, err := c.Ticket(ctx, id)
	if err != nil {
		return fmt.Errorf("ticket %d: %w", id, err)
	}
	if *out == formatJSON {
		return writeJSON(e.stdout, t)
	}
	return ticketReport(e.stdout, t)
}

// ticketReport writes a ticket for people.
func ticketReport(w io.Writer, t ticket.Ticket) error {
	b := &strings.Builder{}
	fmt.Fprintf(b, "Ticket %d: %s, %s\n", t.ID, t.State, t.Severity)
	fmt.Fprintf(b, "Host: %s (site %s, tier %s)\n", t.Hostname, dash(t.Site), dash(string(t.Tier)))
	if t.Release != "" {
		fmt.Fprintf(b, "Release: %s\n", t.Release)
	}
	fmt.Fprintf(b, "Task: %d (%s), reason %s, seen %d times, last %s\n", t.TaskID, t.Kind, t.Reason, t.Occurrences, when(t.LastSeenAt))
	fmt.Fprintf(b, "Queue: %s  Assignee: %s", dash(t.Queue), dash(t.Assignee))
	if t.EscalatedTo != "" {
		fmt.Fprintf(b, "  Escalated to: %s (level %d)", t.EscalatedTo, t.EscalationLevel)
	}
	b.WriteString("\n")
	if t.Error != "" {
		fmt.Fprintf(b, "Error: %s\n", t.Error)
	}
	if g := t.Guide; g != nil {
		fmt.Fprintf(b, "\nGuide: %s (%s)\n", g.Title, g.Name)
		for i, s := range g.Steps {
			fmt.Fprintf(b, "  %d. %s\n", i+1, s)
		}
	}
	if t.Output != "" {
		fmt.Fprintf(b, "\nOutput of task %d:\n%s\n", t.TaskID, strings.TrimRight(t.Output, "\n"))
	}
	if len(t.Events) > 0 {
		b.WriteString("\nHistory:\n")
		for _, ev := range t.Events {
			fmt.Fprintf(b, "  %s  %-12s %-10s %s\n", when(ev.At), ev.Kind, ev.Actor, ev.Body)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// ticketActRunner runs a verb that changes a ticket through the API verb.
func ticketActRunner(verb, args string, needComment bool) func(context.Context, env, []string) error {
	name := verb
	if verb == "comments" {
		name = "comment"
	}
	return func(ctx context.Context, e env, argv []string) error {
		v := newVerb("tickets "+name, args, 1, fmt.Sprintf("Change a ticket (%s); the change is audited and told to the notification channels.", name),
			fmt.Sprintf("patchwave tickets %s 12 --comment \"rebooted by hand, agent back\"", name))
		comment := v.String("comment", "", "a `comment` for the ticket's history")
		out := v.outputFlag()
		pos, err := v.parse(argv)
		if err != nil {
			return err
		}
		if needComment && strings.TrimSpace(*comment) == "" {
			return v.usageErrorf("--comment is required")
		}
		id, err := parseID(v, pos[0])
		if err != nil {
			return err
		}
		c, err := e.connect()
		if err != nil {
			return err
		}
		t, err := c.TicketAct(ctx, id, verb, *comment)
		if err != nil {
			return fmt.Errorf("ticket %d: %w", id, err)
		}
		if *out == formatJSON {
			return writeJSON(e.stdout, t)
		}
		_, err = fmt.Fprintf(e.stdout, "Ticket %d on %s is %s.\n", t.ID, t.Hostname, t.State)
		return err
	}
}

// notificationVerbs is the verb table of "patchwave notifications".
func notificationVerbs() []command {
	return []command{
		{"channels", "add, list and delete notification channels", nounRunner("notifications channels", []command{
			{"add", "add a webhook, slack, teams or email channel", runChannelsAdd},
			{"list", "list channels, secrets redacted", runChannelsList},
			{"delete", "delete a channel and its undelivered notices", runChannelsDelete},
		})},
		{"outbox", "show the notification outbox: counts, undelivered notices, dead letters", runOutbox},
	}
}

func runChannelsAdd(ctx context.Context, e env, args []string) error {
	v := newVerb("notifications channels add", "NAME", 1, `Add a notification channel. Ticket notices (opened, reopened, escalated,
resolved, acknowledged…) go to every channel through an outbox: nothing is
lost while a receiver is down; deliveries are retried with back-off and
given up after 8 tries (see patchwave notifications outbox).
  webhook  POST the notice as JSON; with --secret, signed in the
           X-Patchwave-Signature header: sha256=HMAC-SHA256(secret,
           X-Patchwave-Timestamp + "." + body)
  slack    a Slack incoming-webhook URL
  teams    a Microsoft Teams incoming-webhook URL
  email    SMTP (STARTTLS when offered; AUTH with --username and --password)
  jira     a Jira issue in --project for each ticket opened or reopened, through
           the REST API at --url, as --username (the account's e-mail) with
           --password (an API token)
  servicenow  an incident for each ticket opened or reopened, through the Table
           API at --url, as --username with --password`,
		`patchwave notifications channels add ops-hook --kind webhook --url https://hooks.example.com/patchwave --secret "$SECRET"
patchwave notifications channels add ops-mail --kind email --smtp mail.example.com:587 --from patchwave@example.com --to ops@example.com --username patchwave --password "$PW"
patchwave notifications channels add oncall --kind slack --url https://hooks.slack.com/services/T000/B000/XXXX --events ticket.escalated
patchwave notifications channels add jira --kind jira --url https://example.atlassian.net --project OPS --username patchwave@example.com --password "$JIRA_TOKEN"`)
	var ch client.Channel
	v.StringVar(&ch.Kind, "kind", "", "the `kind`: webhook, slack, teams, email, jira or servicenow (required)")
	v.StringVar(&ch.Config.URL, "url", "", "webhook, slack, teams: the receiver's `URL`; jira, servicenow: the instance's (http or https)")
	v.StringVar(&ch.Config.Secret, "secret", "", "webhook: the `secret` that signs bodies")
	v.StringVar(&ch.Config.SMTP, "smtp", "", "email: the SMTP server's `host:port`")
	v.StringVar(&ch.Config.From, "from", "", "email: the sender `address`")
	to := v.String("to", "", "email: the recipients' `addresses`, comma-separated")
	v.StringVar(&ch.Config.Username, "username", "", "email: the SMTP user `name`; jira, servicenow: the API user")
	v.StringVar(&ch.Config.Password, "password", "", "email: the SMTP `password`; jira, servicenow: the API token or password")
	v.StringVar(&ch.Config.Project, "project", "", "jira: the project `key` issues go to")
	v.StringVar(&ch.Config.IssueType, "issue-type", "", "jira: the issue `type` (default Bug)")
	events := v.String("events", "", "only notices whose event starts with one of these, comma-separated (e.g. ticket.escalated)")
	out := v.outputFlag()
	pos, err := v.parse(args)
	if err != nil {
		return err
	}
	if ch.Kind == "" {
		return v.usageErrorf("--kind is required")
	}
	ch.Name = pos[0]
	ch.Config.To = splitList(*to)
	ch.Config.Events = splitList(*events)
	c, err := e.connect()
	if err != nil {
		return err
	}
	got, err := c.CreateChannel(ctx, ch)
	if err != nil {
		return fmt.Errorf("channel %s: %w", ch.Name, err)
	}
	if *out == formatJSON {
		return writeJSON(e.stdout, got)
	}
	_, err = fmt.Fprintf(e.stdout, "Channel %s (%s) added.\n", got.Name, got.Kind)
	return err
}

func runChannelsList(ctx context.Context, e env, args []string) error {
	v := newVerb("notifications channels list", "", 0, "List the notification channels; secrets and webhook paths are redacted.", "patchwave notifications channels list")
	out := v.outputFlag()
	if _, err := v.parse(args); err != nil {
		return err
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	cs, err := c.Channels(ctx)
	if err != nil {
		return fmt.Errorf("channels: %w", err)
	}
	if *out == formatJSON {
		return writeJSON(e.stdout, cs)
	}
	t := newTable(e.stdout, "NAME", "KIND", "TARGET", "EVENTS", "BY")
	for _, ch := range cs {
		target := ch.Config.URL
		if ch.Kind == "email" {
			target = strings.Join(ch.Config.To, ",") + " via " + ch.Config.SMTP
		}
		ev := strings.Join(ch.Config.Events, ",")
		t.row(ch.Name, ch.Kind, target, dash(ev), ch.CreatedBy)
	}
	return t.flush()
}

func runChannelsDelete(ctx context.Context, e env, args []string) error {
	v := newVerb("notifications channels delete", "NAME", 1, "Delete a notification channel and the notices it has not delivered.", "patchwave notifications channels delete ops-hook")
	pos, err := v.parse(args)
	if err != nil {
		return err
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	if err := c.DeleteChannel(ctx, pos[0]); err != nil {
		return fmt.Errorf("channel %s: %w", pos[0], err)
	}
	_, err = fmt.Fprintf(e.stdout, "Channel %s deleted.\n", pos[0])
	return err
}

func runOutbox(ctx context.Context, e env, args []string) error {
	v := newVerb("notifications outbox", "", 0, `Show the notification outbox: how many notices each channel has pending,
sent and dead (given up after the last try), and the undelivered ones with
their last error.`, "patchwave notifications outbox\npatchwave notifications outbox --state dead -o json")
	state := v.String("state", "", "list notices in this `state`: pending, sent or dead (default: pending and dead)")
	out := v.outputFlag()
	if _, err := v.parse(args); err != nil {
		return err
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	ob, err := c.Outbox(ctx, *state, 0)
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	if *out == formatJSON {
		return writeJSON(e.stdout, ob)
	}
	t := newTable(e.stdout, "CHANNEL", "STATE", "COUNT")
	for _, n := range ob.Counts {
		t.row(n.Channel, n.State, fmt.Sprint(n.Count))
	}
	if err := t.flush(); err != nil {
		return err
	}
	if len(ob.Items) == 0 {
		return nil
	}
	fmt.Fprintln(e.stdout)
	t = newTable(e.stdout, "ID", "CHANNEL", "EVENT", "STATE", "TRIES", "NEXT", "LAST ERROR")
	for _, it := range ob.Items {
		next := when(it.NextAt)
		if it.State == "dead" {
			next = "-"
		}
		t.row(fmt.Sprint(it.ID), it.Channel, it.Event, it.State, fmt.Sprint(it.Attempts), next, it.LastError)
	}
	return t.flush()
}

func runTicketsReport(ctx context.Context, e env, args []string) error {
	v := newVerb("tickets report", "RELEASE HOST", 2, `Report a problem with a release's patches on a host: it is recorded in the
rollout's events for the host and, with --ticket, on the host's user-report
ticket (one per host and patch set; another report counts on it). Anyone
signed in may report, viewers too.`,
		`patchwave tickets report 2026-12 web-01 --message "checkout page errors since the update" --ticket`)
	msg := v.String("message", "", "what is wrong (required)")
	open := v.Bool("ticket", false, "open (or count on) a ticket too")
	pos, err := v.parse(args)
	if err != nil {
		return err
	}
	if strings.TrimSpace(*msg) == "" {
		return v.usageErrorf("--message is required")
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	id, err := c.ReportProblem(ctx, pos[0], pos[1], *msg, *open)
	if err != nil {
		return fmt.Errorf("report on %s in %s: %w", pos[1], pos[0], err)
	}
	if id != 0 {
		_, err = fmt.Fprintf(e.stdout, "Reported; ticket %d.\n", id)
	} else {
		_, err = fmt.Fprintln(e.stdout, "Reported.")
	}
	return err
}
