package notice_test

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/shared/notice"
)

// smtpSink is a minimal SMTP server (RFC 5321's commands, no TLS, no
// auth): it keeps the envelope and data of each message.
type smtpSink struct {
	addr string
	got  chan string
}

func newSMTPSink(t *testing.T) *smtpSink {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	s := &smtpSink{addr: l.Addr().String(), got: make(chan string, 4)}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *smtpSink) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	say := func(line string) { c.Write([]byte(line + "\r\n")) }
	say("220 sink ready")
	var msg strings.Builder
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			say("250 sink")
		case strings.HasPrefix(cmd, "MAIL FROM:"), strings.HasPrefix(cmd, "RCPT TO:"):
			msg.WriteString(strings.TrimSpace(line) + "\n")
			say("250 ok")
		case cmd == "DATA":
			say("354 go on")
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				msg.WriteString(l)
			}
			s.got <- msg.String()
			say("250 queued")
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("502 not here")
		}
	}
}

// TestSMTPMailer: the SMTP alternative sends a plain-text message with the
// sender, recipient and subject; a line break in a header value is refused
// before anything is sent.
func TestSMTPMailer(t *testing.T) {
	sink := newSMTPSink(t)
	m := notice.SMTP{Addr: sink.addr, From: "crmsync@contoso.example"}
	if err := m.Send(context.Background(), "u1", notice.Mail{To: "uma@acme.example", Subject: "crmsync: reconnect", Text: "Line one\nLine two"}); err != nil {
		t.Fatal(err)
	}
	got := <-sink.got
	for _, want := range []string{"MAIL FROM:<crmsync@contoso.example>", "RCPT TO:<uma@acme.example>", "Subject: crmsync: reconnect\r\n",
		"Content-Type: text/plain; charset=utf-8", "Line one\r\nLine two"} {
		if !strings.Contains(got, want) {
			t.Errorf("the message lacks %q:\n%s", want, got)
		}
	}
	err := m.Send(context.Background(), "u1", notice.Mail{To: "uma@acme.example", Subject: "x\r\nBcc: all@acme.example", Text: "y"})
	if !errors.Is(err, notice.ErrBadHeader) {
		t.Errorf("a subject with a line break: %v, want ErrBadHeader", err)
	}
}
