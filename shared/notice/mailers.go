package notice

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"strings"
	"time"
)

// Sender sends one plain-text e-mail from a mailbox: a mailbox connector's
// client (msgraph.Client's SendText, through Graph's sendMail).
type Sender interface {
	SendText(ctx context.Context, to, subject, text string) error
}

// ServiceMailbox sends from the service mailbox the deployment configures.
// With Microsoft Graph that is the app's own (app-only, client credentials)
// token on a client for that mailbox; application permission Mail.Send
// alone would let the app send as anyone in the tenant, so an Exchange
// Online application access policy must limit it to the service mailbox
// (README, "Notifications").
type ServiceMailbox struct {
	Sender Sender
}

// Send sends m from the service mailbox.
func (g ServiceMailbox) Send(ctx context.Context, _ string, m Mail) error {
	return g.Sender.SendText(ctx, m.To, m.Subject, m.Text)
}

// OwnMailbox sends from the user's own Microsoft 365 connection, to
// themselves: what happens when no service mailbox is configured. It needs
// the connection's Mail.Send permission, and cannot send about a Microsoft
// connection that itself needs reconnecting (the send fails; the dashboard
// still shows it).
type OwnMailbox struct {
	// Senders returns a sender on the user's own mailbox connection.
	Senders func(ctx context.Context, user string) (Sender, error)
}

// Send sends m from and to the user's mailbox.
func (o OwnMailbox) Send(ctx context.Context, user string, m Mail) error {
	c, err := o.Senders(ctx, user)
	if err != nil {
		return err
	}
	return c.SendText(ctx, m.To, m.Subject, m.Text)
}

// SMTP sends through an SMTP server, the alternative setting to Graph:
// STARTTLS when the server offers it, PLAIN authentication when Username
// is set (net/smtp refuses it without TLS except on localhost).
type SMTP struct {
	// Addr is host:port.
	Addr     string
	From     string
	Username string
	Password string
	// Timeout bounds the whole exchange (0 = 30 s).
	Timeout time.Duration
}

// ErrBadHeader refuses an address or subject that would break the headers.
var ErrBadHeader = errors.New("notice: a line break in an address or subject")

// Send sends m as a plain-text message.
func (s SMTP) Send(ctx context.Context, _ string, m Mail) error {
	for _, v := range []string{s.From, m.To, m.Subject} {
		if strings.ContainsAny(v, "\r\n") {
			return ErrBadHeader
		}
	}
	timeout := s.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	host, _, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return fmt.Errorf("notice: SMTP address %q: %w", s.Addr, err)
	}
	conn, err := (&net.Dialer{Timeout: timeout}).DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return err
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}); err != nil {
			return err
		}
	}
	if s.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.Username, s.Password, host)); err != nil {
			return err
		}
	}
	if err := c.Mail(s.From); err != nil {
		return err
	}
	if err := c.Rcpt(m.To); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	body := strings.ReplaceAll(m.Text, "\r\n", "\n")
	body = strings.ReplaceAll(body, "\n", "\r\n")
	msg := "From: " + s.From + "\r\nTo: " + m.To + "\r\nSubject: " + m.Subject + "\r\nDate: " + time.Now().UTC().Format(time.RFC1123Z) +
		"\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + body + "\r\n"
	if _, err := w.Write([]byte(msg)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}
