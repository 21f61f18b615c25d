// Package notify delivers Patchwave's notices (ticket opened, escalated,
// resolved…) to people's tools: generic webhooks (JSON, signed with
// HMAC-SHA256), Slack and Microsoft Teams incoming webhooks, e-mail over
// SMTP, and issues in Jira and incidents in ServiceNow through their REST
// APIs (for tickets opened or reopened). Every notice goes through the store's outbox: a Worker
// claims due rows with a lease, sends them, and records the attempt and
// the outcome in one transaction, retrying with exponential back-off
// and giving up (a dead letter) after a number of tries.
package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/ticket"
)

// The kinds of channel.
const (
	Webhook = "webhook"
	Slack   = "slack"
	Teams   = "teams"
	Email   = "email"
	// Jira creates an issue (REST API v2, POST /rest/api/2/issue) and
	// ServiceNow an incident (Table API, POST /api/now/table/incident)
	// for each ticket opened or reopened, with basic authentication
	// (Jira: the account's e-mail and an API token).
	Jira       = "jira"
	ServiceNow = "servicenow"
)

// Config is a channel's configuration. Webhook, Slack and Teams channels
// have a URL (a webhook's Secret signs its bodies); e-mail channels an
// SMTP server, a sender and recipients, and a user name and password
// when the server wants AUTH.
type Config struct {
	URL      string   `json:"url,omitempty"`
	Secret   string   `json:"secret,omitempty"`
	SMTP     string   `json:"smtp,omitempty"` // host:port
	From     string   `json:"from,omitempty"`
	To       []string `json:"to,omitempty"`
	Username string   `json:"username,omitempty"`
	Password string   `json:"password,omitempty"`
	// Project and IssueType are a Jira channel's project key (OPS) and
	// issue type (default Bug).
	Project   string `json:"project,omitempty"`
	IssueType string `json:"issue_type,omitempty"`
	// Events limits the channel to notices whose event starts with one
	// of these (e.g. "ticket.escalated"); empty: every notice.
	Events []string `json:"events,omitempty"`
}

var (
	nameRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)
	jiraKeyRE = regexp.MustCompile(`^[A-Z][A-Z0-9_]{1,31}$`)
)

// Validate checks a channel's name, kind and configuration, naming what
// is wrong.
func Validate(name, kind string, c Config) error {
	if !nameRE.MatchString(name) {
		return patchwave.Errorf(patchwave.EInvalid, "channel name %q: want 1 to 63 lower-case letters, digits, dots, dashes and underscores", name)
	}
	switch kind {
	case Webhook, Slack, Teams:
		if err := checkURL(c.URL); err != nil {
			return err
		}
		if c.SMTP != "" || c.From != "" || len(c.To) > 0 || c.Username != "" || c.Password != "" {
			return patchwave.Errorf(patchwave.EInvalid, "a %s channel takes a url (and a secret), not SMTP settings", kind)
		}
		if kind != Webhook && c.Secret != "" {
			return patchwave.Errorf(patchwave.EInvalid, "a %s channel has no secret: the URL is the secret", kind)
		}
		if len(c.Secret) > 256 {
			return patchwave.Errorf(patchwave.EInvalid, "secret is %d bytes long, at most 256 allowed", len(c.Secret))
		}
	case Jira, ServiceNow:
		if err := checkURL(c.URL); err != nil {
			return err
		}
		if c.SMTP != "" || c.From != "" || len(c.To) > 0 || c.Secret != "" {
			return patchwave.Errorf(patchwave.EInvalid, "a %s channel takes the instance's url, a username and a password (an API token), nothing else", kind)
		}
		if c.Username == "" || c.Password == "" {
			return patchwave.Errorf(patchwave.EInvalid, "a %s channel needs a username and a password (for Jira, the account's e-mail and an API token)", kind)
		}
		if len(c.Username) > 256 || len(c.Password) > 512 || strings.ContainsAny(c.Username+c.Password, "\x00\r\n") {
			return patchwave.Errorf(patchwave.EInvalid, "username or password too long or with control characters")
		}
		if kind == Jira && !jiraKeyRE.MatchString(c.Project) {
			return patchwave.Errorf(patchwave.EInvalid, "a jira channel needs the project key the issues go to (project), like OPS: %q is not one", c.Project)
		}
		if kind == ServiceNow && c.Project != "" {
			return patchwave.Errorf(patchwave.EInvalid, "project goes with jira channels")
		}
		if c.IssueType != "" && (kind != Jira || len(c.IssueType) > 64 || strings.ContainsAny(c.IssueType, "\r\n\x00")) {
			return patchwave.Errorf(patchwave.EInvalid, "issue_type %q: a short name, for jira channels", c.IssueType)
		}
	case Email:
		if c.URL != "" || c.Secret != "" {
			return patchwave.Errorf(patchwave.EInvalid, "an email channel takes smtp, from and to, not a url")
		}
		host, port, err := net.SplitHostPort(c.SMTP)
		if p, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || p < 1 || p > 65535 {
			return patchwave.Errorf(patchwave.EInvalid, "smtp %q: want host:port", c.SMTP)
		}
		if strings.ContainsAny(host, " \r\n/") {
			return patchwave.Errorf(patchwave.EInvalid, "smtp %q: bad host", c.SMTP)
		}
		if err := checkAddress("from", c.From); err != nil {
			return err
		}
		if len(c.To) == 0 || len(c.To) > 50 {
			return patchwave.Errorf(patchwave.EInvalid, "an email channel needs 1 to 50 recipients (to)")
		}
		for _, a := range c.To {
			if err := checkAddress("to", a); err != nil {
				return err
			}
		}
		if (c.Username == "") != (c.Password == "") {
			return patchwave.Errorf(patchwave.EInvalid, "username and password go together")
		}
		if len(c.Username) > 256 || len(c.Password) > 256 || strings.ContainsAny(c.Username+c.Password, "\x00\r\n") {
			return patchwave.Errorf(patchwave.EInvalid, "username or password too long or with control characters")
		}
	default:
		return patchwave.Errorf(patchwave.EInvalid, "channel kind %q: want webhook, slack, teams, email, jira or servicenow", kind)
	}
	if len(c.Events) > 20 {
		return patchwave.Errorf(patchwave.EInvalid, "at most 20 event prefixes")
	}
	for _, e := range c.Events {
		if !strings.HasPrefix(e, "ticket.") || len(e) > 64 || strings.ContainsAny(e, " \r\n") {
			return patchwave.Errorf(patchwave.EInvalid, "event %q: want a prefix like ticket.escalated", e)
		}
	}
	return nil
}

// checkURL accepts absolute http and https URLs only: no file:, gopher:
// or javascript: schemes, no credentials in the URL.
func checkURL(s string) error {
	if s == "" {
		return patchwave.Errorf(patchwave.EInvalid, "url is missing")
	}
	if len(s) > 2048 {
		return patchwave.Errorf(patchwave.EInvalid, "url is %d bytes long, at most 2048 allowed", len(s))
	}
	u, err := url.Parse(s)
	if err != nil {
		return patchwave.Errorf(patchwave.EInvalid, "url %q: %v", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return patchwave.Errorf(patchwave.EInvalid, "url %q: scheme %q refused, want http or https", s, u.Scheme)
	}
	if u.Host == "" || u.Hostname() == "" {
		return patchwave.Errorf(patchwave.EInvalid, "url %q has no host", s)
	}
	if u.User != nil {
		return patchwave.Errorf(patchwave.EInvalid, "url %q: no user name or password in the URL", s)
	}
	return nil
}

func checkAddress(field, s string) error {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || strings.ContainsAny(s, "\r\n<>") {
		return patchwave.Errorf(patchwave.EInvalid, "%s %q: want a plain address like ops@example.com", field, s)
	}
	return nil
}

// Redacted returns c without its secrets, for listing.
func (c Config) Redacted() Config {
	if c.Secret != "" {
		c.Secret = "redacted"
	}
	if c.Password != "" {
		c.Password = "redacted"
	}
	if c.URL != "" {
		if u, err := url.Parse(c.URL); err == nil && (u.Path != "" || u.RawQuery != "") {
			// Slack's and Teams' URLs carry their secret in the path.
			c.URL = u.Scheme + "://" + u.Host + "/…"
		}
	}
	return c
}

// Wants reports whether a channel configured with c takes a notice of event.
func (c Config) Wants(event string) bool {
	if len(c.Events) == 0 {
		return true
	}
	for _, e := range c.Events {
		if strings.HasPrefix(event, e) {
			return true
		}
	}
	return false
}

// Body renders a notice for a channel kind: the generic webhook gets the
// notice as it is, Slack and Teams their incoming-webhook formats.
func Body(kind string, n ticket.Notice) ([]byte, error) {
	switch kind {
	case Slack:
		return json.Marshal(map[string]any{"text": n.Text})
	case Teams:
		color := map[ticket.Severity]string{ticket.SevCritical: "C50F1F", ticket.SevHigh: "DA3B01", ticket.SevMedium: "FFB900", ticket.SevLow: "107C10"}[n.Ticket.Severity]
		return json.Marshal(map[string]any{
			"@type": "MessageCard", "@context": "https://schema.org/extensions", "summary": n.Text, "themeColor": color,
			"title": fmt.Sprintf("Patchwave %s", n.Event), "text": n.Text,
			"sections": []map[string]any{{"facts": []map[string]string{
				{"name": "Host", "value": n.Ticket.Hostname}, {"name": "Severity", "value": string(n.Ticket.Severity)},
				{"name": "State", "value": string(n.Ticket.State)}, {"name": "Error", "value": n.Ticket.Error}}}},
		})
	}
	return json.Marshal(n)
}

// SignatureHeader carries a webhook body's signature:
// "sha256=" and the hex HMAC-SHA256, keyed with the channel's secret, of
// the timestamp header's value, a dot and the body.
const (
	SignatureHeader = "X-Patchwave-Signature"
	TimestampHeader = "X-Patchwave-Timestamp"
	// DeliveryHeader is the outbox row's id: the same for every attempt
	// at a notice, so that a receiver can drop a repeat.
	DeliveryHeader = "X-Patchwave-Delivery"
)

// Sign returns the signature of body sent at timestamp ts.
func Sign(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Sender sends notices. Its zero value is usable.
type Sender struct {
	// Client sends webhooks; nil uses one with a 15 second timeout.
	Client *http.Client
	// Now stamps signatures; nil uses time.Now.
	Now func() time.Time
	// SMTPTimeout bounds an SMTP conversation; 0 is 30 seconds.
	SMTPTimeout time.Duration
	// TLSRoots, when set, replaces the system roots for SMTP STARTTLS
	// (for tests and private CAs).
	TLSRoots *x509.CertPool
}

// Send delivers one notice (its JSON payload) to a channel, identified
// to receivers by delivery.
func (s *Sender) Send(ctx context.Context, kind string, cfg Config, delivery int64, payload []byte) error {
	var n ticket.Notice
	if err := json.Unmarshal(payload, &n); err != nil {
		return fmt.Errorf("notice: %w", err)
	}
	switch kind {
	case Webhook, Slack, Teams:
		body, err := Body(kind, n)
		if err != nil {
			return err
		}
		return s.post(ctx, cfg, delivery, body)
	case Email:
		return s.mail(ctx, cfg, delivery, n)
	case Jira, ServiceNow:
		if n.Event != "ticket.opened" && n.Event != "ticket.reopened" {
			return nil // an issue or incident is made for a ticket once; the rest stays here
		}
		path, body, err := TrackerRequest(kind, cfg, n)
		if err != nil {
			return err
		}
		return s.postTracker(ctx, cfg, path, delivery, body)
	}
	return fmt.Errorf("channel kind %q unknown", kind)
}

// TrackerRequest is the path (under the channel's URL) and JSON body that
// open a Jira issue or a ServiceNow incident for a notice's ticket.
func TrackerRequest(kind string, cfg Config, n ticket.Notice) (string, []byte, error) {
	t := n.Ticket
	desc := fmt.Sprintf("%s\n\nHost: %s (site %s, tier %s)\nRelease: %s\nPatch: %s\nReason: %s\nTask: %d\nError: %s\nOccurrences: %d\nPatchwave ticket %d",
		n.Text, t.Hostname, t.Site, t.Tier, t.Release, t.Patch, t.Reason, t.TaskID, t.Error, t.Occurrences, t.ID)
	summary := n.Text
	if len(summary) > 250 {
		summary = summary[:250]
	}
	switch kind {
	case Jira:
		it := cmpOr(cfg.IssueType, "Bug")
		priority := map[ticket.Severity]string{ticket.SevCritical: "Highest", ticket.SevHigh: "High", ticket.SevMedium: "Medium", ticket.SevLow: "Low"}[t.Severity]
		fields := map[string]any{"project": map[string]string{"key": cfg.Project}, "summary": summary, "description": desc,
			"issuetype": map[string]string{"name": it}, "labels": []string{"patchwave", "patchwave-ticket-" + strconv.FormatInt(t.ID, 10)}}
		if priority != "" {
			fields["priority"] = map[string]string{"name": priority}
		}
		b, err := json.Marshal(map[string]any{"fields": fields})
		return "/rest/api/2/issue", b, err
	case ServiceNow:
		// Impact and urgency 1 (high) to 3 (low).
		level := map[ticket.Severity]string{ticket.SevCritical: "1", ticket.SevHigh: "1", ticket.SevMedium: "2", ticket.SevLow: "3"}[t.Severity]
		b, err := json.Marshal(map[string]string{"short_description": summary, "description": desc, "urgency": cmpOr(level, "2"), "impact": cmpOr(level, "2"),
			"category": "software", "correlation_id": "patchwave-ticket-" + strconv.FormatInt(t.ID, 10), "cmdb_ci": t.Hostname})
		return "/api/now/table/incident", b, err
	}
	return "", nil, fmt.Errorf("channel kind %q opens no issues", kind)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// postTracker sends a tracker request with basic authentication.
func (s *Sender) postTracker(ctx context.Context, cfg Config, path string, delivery int64, body []byte) error {
	if err := checkURL(cfg.URL); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, "POST", strings.TrimRight(cfg.URL, "/")+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "patchwave-notify")
	req.Header.Set(DeliveryHeader, strconv.FormatInt(delivery, 10))
	req.SetBasicAuth(cfg.Username, cfg.Password)
	return s.do(req, cfg.URL)
}

func (s *Sender) post(ctx context.Context, cfg Config, delivery int64, body []byte) error {
	if err := checkURL(cfg.URL); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, "POST", cfg.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "patchwave-notify")
	req.Header.Set(DeliveryHeader, strconv.FormatInt(delivery, 10))
	if cfg.Secret != "" {
		now := time.Now
		if s.Now != nil {
			now = s.Now
		}
		ts := strconv.FormatInt(now().Unix(), 10)
		req.Header.Set(TimestampHeader, ts)
		req.Header.Set(SignatureHeader, Sign(cfg.Secret, ts, body))
	}
	return s.do(req, cfg.URL)
}

// do sends req and wants a 2xx answer.
func (s *Sender) do(req *http.Request, target string) error {
	c := s.Client
	if c == nil {
		c = &http.Client{Timeout: 15 * time.Second}
	}
	// Never follow redirects: a receiver must not send a signed or
	// authenticated body on to somewhere else.
	cc := *c
	cc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := cc.Do(req)
	if err != nil {
		return fmt.Errorf("post to %s: %w", redactURL(target), err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("post to %s: %s: %s", redactURL(target), resp.Status, strings.TrimSpace(string(msg)))
	}
	return nil
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "the receiver"
	}
	return u.Scheme + "://" + u.Host
}
