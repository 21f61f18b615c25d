package notify

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchwave/patchwave/internal/store"
	"github.com/patchwave/patchwave/internal/store/storetest"
	"github.com/patchwave/patchwave/internal/ticket"
)

func TestValidate(t *testing.T) {
	good := []struct {
		kind string
		c    Config
	}{
		{Webhook, Config{URL: "https://hooks.example.com/patchwave", Secret: "s3cret"}},
		{Slack, Config{URL: "https://hooks.slack.com/services/T/B/X"}},
		{Teams, Config{URL: "http://teams.example/webhook", Events: []string{"ticket.escalated"}}},
		{Email, Config{SMTP: "mail.example.com:587", From: "patchwave@example.com", To: []string{"ops@example.com"}, Username: "u", Password: "p"}},
	}
	for _, g := range good {
		if err := Validate("ch", g.kind, g.c); err != nil {
			t.Errorf("%s %+v: %v", g.kind, g.c, err)
		}
	}
	for _, tc := range []struct {
		name, kind string
		c          Config
		want       string
	}{
		{"ch", Webhook, Config{URL: "file:///etc/passwd"}, `scheme "file" refused`},
		{"ch", Webhook, Config{URL: "gopher://x/"}, `scheme "gopher" refused`},
		{"ch", Slack, Config{URL: "javascript:alert(1)"}, "refused"},
		{"ch", Webhook, Config{URL: "https:///nohost"}, "has no host"},
		{"ch", Webhook, Config{URL: "https://u:p@example.com/"}, "no user name"},
		{"ch", Webhook, Config{URL: "/relative"}, "refused"},
		{"ch", Webhook, Config{}, "url is missing"},
		{"ch", Webhook, Config{URL: "https://x/" + strings.Repeat("a", 3000)}, "at most 2048"},
		{"ch", Webhook, Config{URL: "https://x/", SMTP: "a:25"}, "not SMTP"},
		{"ch", Slack, Config{URL: "https://x/", Secret: "s"}, "no secret"},
		{"ch", "pager", Config{}, `kind "pager"`},
		{"Bad Name", Webhook, Config{URL: "https://x/"}, "channel name"},
		{"", Webhook, Config{URL: "https://x/"}, "channel name"},
		{"ch", Email, Config{SMTP: "mail.example.com", From: "a@b.c", To: []string{"d@e.f"}}, "want host:port"},
		{"ch", Email, Config{SMTP: "mail.example.com:99999", From: "a@b.c", To: []string{"d@e.f"}}, "want host:port"},
		{"ch", Email, Config{SMTP: "m:25", From: "a@b.c\r\nBcc: x@y.z", To: []string{"d@e.f"}}, "from"},
		{"ch", Email, Config{SMTP: "m:25", From: "Ops <a@b.c>", To: []string{"d@e.f"}}, "plain address"},
		{"ch", Email, Config{SMTP: "m:25", From: "a@b.c"}, "recipients"},
		{"ch", Email, Config{SMTP: "m:25", From: "a@b.c", To: []string{"nobody"}}, "to"},
		{"ch", Email, Config{SMTP: "m:25", From: "a@b.c", To: []string{"d@e.f"}, Username: "u"}, "go together"},
		{"ch", Email, Config{SMTP: "m:25", From: "a@b.c", To: []string{"d@e.f"}, URL: "https://x/"}, "not a url"},
		{"ch", Webhook, Config{URL: "https://x/", Events: []string{"rollout.*"}}, "event"},
	} {
		err := Validate(tc.name, tc.kind, tc.c)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%q, %s, %+v) = %v, want an error with %q", tc.name, tc.kind, tc.c, err, tc.want)
		}
	}
}

func TestRedacted(t *testing.T) {
	c := Config{URL: "https://hooks.slack.com/services/T/B/SECRET", Secret: "k", Password: "p"}.Redacted()
	if strings.Contains(c.URL, "SECRET") || c.Secret != "redacted" || c.Password != "redacted" {
		t.Errorf("redacted: %+v", c)
	}
}

func notice() ticket.Notice {
	tk := ticket.Ticket{ID: 7, Hostname: "erp01", Site: "fra", Severity: ticket.SevCritical, State: ticket.Open, Reason: ticket.ReasonVerify,
		Kind: "verify", TaskID: 42, Error: "verification failed: nginx is not running", Occurrences: 1}
	return ticket.Notice{Event: "ticket.opened", Ticket: tk, Text: tk.Summary()}
}

func payload(t *testing.T) []byte {
	b, err := json.Marshal(notice())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// receiver is a webhook receiver that checks signatures the way a
// receiver's documentation would tell it to.
type receiver struct {
	mu     sync.Mutex
	secret string
	got    [][]byte
	ids    []string
	bad    []string
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.secret != "" {
		want := Sign(rc.secret, r.Header.Get(TimestampHeader), body)
		if r.Header.Get(SignatureHeader) != want || r.Header.Get(TimestampHeader) == "" {
			rc.bad = append(rc.bad, r.Header.Get(SignatureHeader))
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
	}
	if r.Header.Get("Content-Type") != "application/json" {
		rc.bad = append(rc.bad, "content type "+r.Header.Get("Content-Type"))
	}
	rc.got = append(rc.got, body)
	rc.ids = append(rc.ids, r.Header.Get(DeliveryHeader))
}

func TestWebhookFormats(t *testing.T) {
	ctx := context.Background()
	rc := &receiver{secret: "s3cret"}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	s := &Sender{}
	if err := s.Send(ctx, Webhook, Config{URL: srv.URL, Secret: "s3cret"}, 1, payload(t)); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(ctx, Webhook, Config{URL: srv.URL, Secret: "wrong"}, 2, payload(t)); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("a wrong secret: %v, want the receiver's 401", err)
	}
	rc.secret = ""
	if err := s.Send(ctx, Slack, Config{URL: srv.URL}, 3, payload(t)); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(ctx, Teams, Config{URL: srv.URL}, 4, payload(t)); err != nil {
		t.Fatal(err)
	}
	if len(rc.got) != 3 || len(rc.bad) != 1 {
		t.Fatalf("received %d, refused %q", len(rc.got), rc.bad)
	}
	var n ticket.Notice
	if err := json.Unmarshal(rc.got[0], &n); err != nil || n.Ticket.ID != 7 || n.Event != "ticket.opened" || rc.ids[0] != "1" {
		t.Errorf("webhook body %s (%v), delivery %s", rc.got[0], err, rc.ids[0])
	}
	var slack map[string]any
	if err := json.Unmarshal(rc.got[1], &slack); err != nil || !strings.Contains(fmt.Sprint(slack["text"]), "erp01") || len(slack) != 1 {
		t.Errorf("slack body %s", rc.got[1])
	}
	var teams map[string]any
	if err := json.Unmarshal(rc.got[2], &teams); err != nil || teams["@type"] != "MessageCard" || !strings.Contains(fmt.Sprint(teams["text"]), "erp01") {
		t.Errorf("teams body %s", rc.got[2])
	}
	// A redirect is not followed: the signed body stays with the receiver named.
	redir := httptest.NewServer(http.RedirectHandler(srv.URL, http.StatusTemporaryRedirect))
	defer redir.Close()
	if err := s.Send(ctx, Webhook, Config{URL: redir.URL}, 5, payload(t)); err == nil {
		t.Error("a redirect counted as delivered")
	}
	if len(rc.got) != 3 {
		t.Error("the redirect was followed")
	}
}

// openStore opens a migrated store with one channel per URL given.
func openStore(t *testing.T, dsn string) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

func addChannel(t *testing.T, st *store.Store, name, kind string, c Config) {
	t.Helper()
	if err := Validate(name, kind, c); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(c)
	if err := st.Write(context.Background(), func(tx *store.Tx) error {
		return tx.CreateChannel(&store.Channel{Name: name, Kind: kind, Config: b, CreatedBy: "test"})
	}); err != nil {
		t.Fatal(err)
	}
}

func enqueue(t *testing.T, st *store.Store, key string) {
	t.Helper()
	if err := st.Write(context.Background(), func(tx *store.Tx) error {
		_, err := tx.Enqueue("ticket.opened", key, payload(t))
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// clock is a settable time for the store, so that retries come due
// without the test sleeping.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func newClock(st *store.Store) *clock {
	c := &clock{t: time.Date(2026, 12, 8, 12, 0, 0, 0, time.UTC)}
	st.SetClock(c.now)
	return c
}
func outbox(t *testing.T, st *store.Store) []store.OutboxItem {
	t.Helper()
	var all []store.OutboxItem
	for _, s := range []string{store.OutboxPending, store.OutboxSent, store.OutboxDead} {
		its, err := st.ListOutbox(context.Background(), s, 100)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, its...)
	}
	return all
}

// TestRetries sends to receivers that fail in three ways, then recover:
// each notice is retried with growing delays and delivered once.
func TestRetries(t *testing.T) {
	for _, dsn := range storetest.DSNs(t) {
		t.Run(dsn.Name, func(t *testing.T) {
			ctx := context.Background()
			st := openStore(t, dsn.URL)
			clk := newClock(st)
			var mu sync.Mutex
			failing := true
			counts := map[string]int{}
			release := make(chan struct{})
			var servers []*httptest.Server
			defer func() {
				close(release)
				for _, s := range servers {
					s.Close()
				}
			}()
			h := func(mode string) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					mu.Lock()
					f := failing
					counts[mode]++
					mu.Unlock()
					if !f {
						io.Copy(io.Discard, r.Body)
						return
					}
					switch mode {
					case "500":
						http.Error(w, "down", http.StatusInternalServerError)
					case "slow":
						select { // longer than the sender waits
						case <-release:
						case <-r.Context().Done():
						}
					case "close":
						conn, _, _ := w.(http.Hijacker).Hijack()
						conn.Close()
					}
				}
			}
			for _, mode := range []string{"500", "slow", "close"} {
				srv := httptest.NewServer(h(mode))
				servers = append(servers, srv)
				addChannel(t, st, "hook-"+mode, Webhook, Config{URL: srv.URL})
			}
			enqueue(t, st, "n1")
			w := NewWorker(st, nil)
			w.Sender.Client = &http.Client{Timeout: 300 * time.Millisecond}
			w.MaxAttempts = 5
			if sent, err := w.Tick(ctx); err != nil || sent != 0 {
				t.Fatalf("first round: sent %d, %v", sent, err)
			}
			for _, it := range outbox(t, st) {
				if it.State != store.OutboxPending || it.Attempts != 1 || it.LastError == "" || !it.NextAt.Equal(clk.now().Add(30*time.Second)) {
					t.Errorf("after a failure: %+v", it)
				}
			}
			// Not due yet: nothing is tried.
			if _, err := w.Tick(ctx); err != nil {
				t.Fatal(err)
			}
			clk.add(30 * time.Second)
			w.Tick(ctx) // second failure: the next wait doubles
			for _, it := range outbox(t, st) {
				if it.Attempts != 2 || !it.NextAt.Equal(clk.now().Add(time.Minute)) {
					t.Errorf("after two failures: %+v", it)
				}
			}
			mu.Lock()
			failing = false
			mu.Unlock()
			clk.add(time.Minute)
			if sent, err := w.Tick(ctx); err != nil || sent != 3 {
				t.Fatalf("after recovery: sent %d, %v", sent, err)
			}
			for _, it := range outbox(t, st) {
				if it.State != store.OutboxSent || it.Attempts != 3 || it.SentAt == nil {
					t.Errorf("after recovery: %+v", it)
				}
				if n, _ := st.DeliveryAttempts(ctx, it.ID); n != 3 {
					t.Errorf("%d attempts recorded, want 3", n)
				}
			}
			clk.add(time.Hour)
			w.Tick(ctx)
			mu.Lock()
			defer mu.Unlock()
			for mode, n := range counts {
				if n != 3 {
					t.Errorf("receiver %s got %d requests, want 3", mode, n)
				}
			}
		})
	}
}

func TestDeadLetter(t *testing.T) {
	ctx := context.Background()
	st := openStore(t, storetest.DSNs(t)[0].URL)
	clk := newClock(st)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusBadGateway) }))
	defer srv.Close()
	addChannel(t, st, "down", Webhook, Config{URL: srv.URL})
	enqueue(t, st, "n1")
	w := NewWorker(st, nil)
	w.MaxAttempts = 3
	for range 5 {
		w.Tick(ctx)
		clk.add(2 * time.Hour)
	}
	dead, err := st.ListOutbox(ctx, store.OutboxDead, 10)
	if err != nil || len(dead) != 1 || dead[0].Attempts != 3 || !strings.Contains(dead[0].LastError, "502") {
		t.Fatalf("dead letters %+v %v", dead, err)
	}
	if n, _ := st.DeliveryAttempts(ctx, dead[0].ID); n != 3 {
		t.Errorf("%d attempts, want 3", n)
	}
	counts, _ := st.OutboxCounts(ctx)
	if len(counts) != 1 || counts[0].State != store.OutboxDead || counts[0].Count != 1 {
		t.Errorf("counts %+v", counts)
	}
	if w.Backoff(1) != 30*time.Second || w.Backoff(4) != 4*time.Minute || w.Backoff(30) != time.Hour {
		t.Errorf("backoff %s %s %s", w.Backoff(1), w.Backoff(4), w.Backoff(30))
	}
}

// TestRestartSafety stops a worker between its claim and its report (a
// crash mid-delivery): no other worker sends the notice while the lease
// holds; after it ends one does, once; the first worker's late report is
// refused, and a notice sent is never sent again by a new worker.
func TestRestartSafety(t *testing.T) {
	for _, dsn := range storetest.DSNs(t) {
		t.Run(dsn.Name, func(t *testing.T) {
			ctx := context.Background()
			st := openStore(t, dsn.URL)
			clk := newClock(st)
			rc := &receiver{}
			srv := httptest.NewServer(rc)
			defer srv.Close()
			addChannel(t, st, "hook", Webhook, Config{URL: srv.URL})
			enqueue(t, st, "n1")
			enqueue(t, st, "n1") // the same notice again: queued once
			crashed := NewWorker(st, nil)
			claimed, err := st.ClaimOutbox(ctx, crashed.Holder, crashed.Lease, 10)
			if err != nil || len(claimed) != 1 {
				t.Fatalf("claim: %+v %v", claimed, err)
			}
			// A new worker (the restarted server, or another replica).
			w := NewWorker(st, nil)
			if sent, _ := w.Tick(ctx); sent != 0 {
				t.Fatalf("a leased notice was sent by another worker")
			}
			clk.add(crashed.Lease + time.Second)
			if sent, err := w.Tick(ctx); err != nil || sent != 1 {
				t.Fatalf("after the lease: sent %d, %v", sent, err)
			}
			if _, err := st.FinishDelivery(ctx, claimed[0].ID, crashed.Holder, nil, 8, w.Backoff); err != store.ErrLeaseLost {
				t.Errorf("the crashed worker's late report: %v, want ErrLeaseLost", err)
			}
			for range 3 {
				clk.add(time.Hour)
				if sent, _ := NewWorker(st, nil).Tick(ctx); sent != 0 {
					t.Error("a sent notice was sent again")
				}
			}
			if len(rc.got) != 1 {
				t.Errorf("the receiver got %d requests, want 1", len(rc.got))
			}
			if n, _ := st.DeliveryAttempts(ctx, claimed[0].ID); n != 1 {
				t.Errorf("%d attempts recorded, want 1", n)
			}
		})
	}
}

// smtpServer is a small SMTP server for tests: it speaks EHLO, AUTH
// PLAIN, MAIL, RCPT, DATA and QUIT over TCP and keeps what it received.
type smtpServer struct {
	ln       net.Listener
	user     string
	pass     string
	mu       sync.Mutex
	messages []smtpMessage
	authFail int
}

type smtpMessage struct {
	from string
	to   []string
	data string
	auth string
}

func newSMTPServer(t *testing.T, user, pass string) *smtpServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{ln: ln, user: user, pass: pass}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return s
}

func (s *smtpServer) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	say := func(l string) { fmt.Fprintf(c, "%s\r\n", l) }
	say("220 test ESMTP")
	var m smtpMessage
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
		switch verb {
		case "EHLO", "HELO":
			say("250-test greets you")
			say("250-AUTH PLAIN")
			say("250 8BITMIME")
		case "AUTH":
			f := strings.Fields(line)
			if len(f) != 3 || f[1] != "PLAIN" {
				say("504 unsupported")
				continue
			}
			b, _ := base64.StdEncoding.DecodeString(f[2])
			parts := strings.Split(string(b), "\x00")
			if len(parts) != 3 || parts[1] != s.user || parts[2] != s.pass {
				s.mu.Lock()
				s.authFail++
				s.mu.Unlock()
				say("535 5.7.8 authentication credentials invalid")
				continue
			}
			m.auth = parts[1]
			say("235 2.7.0 authenticated")
		case "MAIL":
			if s.user != "" && m.auth == "" {
				say("530 5.7.0 authentication required")
				continue
			}
			m.from = addr(line)
			say("250 ok")
		case "RCPT":
			m.to = append(m.to, addr(line))
			say("250 ok")
		case "DATA":
			say("354 go ahead")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(l)
			}
			m.data = b.String()
			s.mu.Lock()
			s.messages = append(s.messages, m)
			s.mu.Unlock()
			m = smtpMessage{auth: m.auth}
			say("250 queued")
		case "QUIT":
			say("221 bye")
			return
		case "RSET", "NOOP":
			say("250 ok")
		default:
			say("502 unknown command")
		}
	}
}

// addr returns the address between < and > of a MAIL or RCPT command.
func addr(line string) string {
	_, rest, _ := strings.Cut(line, "<")
	a, _, _ := strings.Cut(rest, ">")
	return a
}

func TestEmail(t *testing.T) {
	ctx := context.Background()
	srv := newSMTPServer(t, "patchwave", "pw")
	cfg := Config{SMTP: srv.ln.Addr().String(), From: "patchwave@example.com", To: []string{"ops@example.com", "oncall@example.com"}, Username: "patchwave", Password: "pw"}
	if err := Validate("mail", Email, cfg); err != nil {
		t.Fatal(err)
	}
	s := &Sender{}
	if err := s.Send(ctx, Email, cfg, 9, payload(t)); err != nil {
		t.Fatal(err)
	}
	srv.mu.Lock()
	if len(srv.messages) != 1 {
		t.Fatalf("%d messages", len(srv.messages))
	}
	m := srv.messages[0]
	srv.mu.Unlock()
	if m.from != "patchwave@example.com" || strings.Join(m.to, ",") != "ops@example.com,oncall@example.com" || m.auth != "patchwave" {
		t.Errorf("envelope %+v", m)
	}
	for _, want := range []string{"Subject: Patchwave: [critical] ticket 7", "Message-ID: <patchwave-delivery-9@patchwave>", "Host:     erp01", "\r\n"} {
		if !strings.Contains(m.data, want) {
			t.Errorf("message lacks %q:\n%s", want, m.data)
		}
	}

	// Refused credentials fail the delivery (to be retried), naming AUTH.
	bad := cfg
	bad.Password = "wrong"
	err := s.Send(ctx, Email, bad, 10, payload(t))
	if err == nil || !strings.Contains(err.Error(), "AUTH") || !strings.Contains(err.Error(), "535") {
		t.Errorf("refused auth: %v", err)
	}
	// Without credentials the server wants them: MAIL is refused.
	anon := cfg
	anon.Username, anon.Password = "", ""
	if err := s.Send(ctx, Email, anon, 11, payload(t)); err == nil || !strings.Contains(err.Error(), "530") {
		t.Errorf("no auth: %v", err)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.messages) != 1 || srv.authFail != 1 {
		t.Errorf("%d messages, %d refused logins", len(srv.messages), srv.authFail)
	}
}

// TestEmailThroughOutbox delivers an e-mail notice through the worker.
func TestEmailThroughOutbox(t *testing.T) {
	ctx := context.Background()
	st := openStore(t, storetest.DSNs(t)[0].URL)
	newClock(st)
	srv := newSMTPServer(t, "", "")
	addChannel(t, st, "mail", Email, Config{SMTP: srv.ln.Addr().String(), From: "patchwave@example.com", To: []string{"ops@example.com"}})
	enqueue(t, st, "n1")
	if sent, err := NewWorker(st, nil).Tick(ctx); err != nil || sent != 1 {
		t.Fatalf("sent %d, %v", sent, err)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.messages) != 1 {
		t.Errorf("%d messages", len(srv.messages))
	}
}

func TestRebootNoticeMessage(t *testing.T) {
	at := time.Date(2026, 12, 9, 17, 0, 0, 0, time.UTC)
	n := ticket.Notice{Event: "wave.reboot-notice", Text: "Release 2026-12, wave 0 (lab), may start and reboot 2 hosts", Release: "2026-12", Wave: "lab",
		StartsAt: &at, Hosts: []string{"lab00 (owner alice)", "lab01\r\nBcc: evil@example.com"}}
	m := string(Message(Config{From: "p@example.com", To: []string{"users@example.com"}}, 3, n, at))
	for _, want := range []string{"Subject: Patchwave: Release 2026-12, wave 0 (lab)", "Starts: Wed, 09 Dec 2026 17:00:00 +0000", "  lab00 (owner alice)\r\n"} {
		if !strings.Contains(m, want) {
			t.Errorf("message lacks %q:\n%s", want, m)
		}
	}
	if strings.Contains(m, "\r\nBcc:") {
		t.Errorf("a host name injected a header:\n%s", m)
	}
	b, err := Body(Slack, n)
	if err != nil || !strings.Contains(string(b), "reboot 2 hosts") {
		t.Errorf("slack body %s %v", b, err)
	}
}
