package notify

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/smtp"
	"strings"
	"time"

	"github.com/patchwave/patchwave/internal/ticket"
)

// mail sends a notice as a plain-text e-mail: STARTTLS when the server
// offers it, then AUTH PLAIN when the channel has a user name (net/smtp
// refuses to send a password in the clear to any host but localhost).
func (s *Sender) mail(ctx context.Context, cfg Config, delivery int64, n ticket.Notice) error {
	host, _, err := net.SplitHostPort(cfg.SMTP)
	if err != nil {
		return fmt.Errorf("smtp %q: %w", cfg.SMTP, err)
	}
	timeout := s.SMTPTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", cfg.SMTP)
	if err != nil {
		return fmt.Errorf("smtp %s: %w", cfg.SMTP, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return fmt.Errorf("smtp %s: greeting: %w", cfg.SMTP, err)
	}
	defer c.Close()
	if err := c.Hello("patchwave"); err != nil {
		return fmt.Errorf("smtp %s: EHLO: %w", cfg.SMTP, err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{ServerName: host, RootCAs: s.TLSRoots, MinVersion: tls.VersionTLS12}); err != nil {
			return fmt.Errorf("smtp %s: STARTTLS: %w", cfg.SMTP, err)
		}
	}
	if cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", cfg.Username, cfg.Password, host)); err != nil {
			return fmt.Errorf("smtp %s: AUTH: %w", cfg.SMTP, err)
		}
	}
	if err := c.Mail(cfg.From); err != nil {
		return fmt.Errorf("smtp %s: MAIL FROM: %w", cfg.SMTP, err)
	}
	for _, to := range cfg.To {
		if err := c.Rcpt(to); err != nil {
			return fmt.Errorf("smtp %s: RCPT TO %s: %w", cfg.SMTP, to, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp %s: DATA: %w", cfg.SMTP, err)
	}
	if _, err := w.Write(Message(cfg, delivery, n, time.Now())); err != nil {
		return fmt.Errorf("smtp %s: DATA: %w", cfg.SMTP, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp %s: end of DATA: %w", cfg.SMTP, err)
	}
	if err := c.Quit(); err != nil {
		return fmt.Errorf("smtp %s: QUIT: %w", cfg.SMTP, err)
	}
	return nil
}

// header makes s safe for a header: one line.
func header(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '\r' || r == '\n' }), " ")
}

// Message renders a notice as an RFC 5322 message with CRLF line ends.
// Its Message-ID is the delivery's, the same for every attempt.
func Message(cfg Config, delivery int64, n ticket.Notice, now time.Time) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\n", header(cfg.From))
	fmt.Fprintf(&b, "To: %s\r\n", header(strings.Join(cfg.To, ", ")))
	fmt.Fprintf(&b, "Subject: %s\r\n", header("Patchwave: "+n.Text))
	fmt.Fprintf(&b, "Date: %s\r\n", now.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <patchwave-delivery-%d@patchwave>\r\n", delivery)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	t := n.Ticket
	if t.ID == 0 {
		lines := []string{n.Text, ""}
		if n.StartsAt != nil {
			lines = append(lines, "Starts: "+n.StartsAt.Format(time.RFC1123Z))
		}
		for _, h := range n.Hosts {
			lines = append(lines, "  "+h)
		}
		for _, l := range lines {
			b.WriteString(header(l))
			b.WriteString("\r\n")
		}
		return []byte(b.String())
	}
	lines := []string{n.Text, "",
		fmt.Sprintf("Ticket:   %d (%s)", t.ID, t.State),
		fmt.Sprintf("Host:     %s (site %s, tier %s)", t.Hostname, t.Site, t.Tier),
		fmt.Sprintf("Severity: %s", t.Severity),
		fmt.Sprintf("Reason:   %s", t.Reason),
		fmt.Sprintf("Task:     %d", t.TaskID),
		fmt.Sprintf("Error:    %s", t.Error),
		"", fmt.Sprintf("patchwave tickets show %d", t.ID)}
	for _, l := range lines {
		// A line of a lone dot is safe: net/smtp's DATA writer escapes it.
		b.WriteString(header(l))
		b.WriteString("\r\n")
	}
	return []byte(b.String())
}
