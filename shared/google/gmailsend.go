package google

import (
	"context"
	"encoding/base64"
	"errors"
	"mime"
	"net/mail"
	"strings"
	"time"
)

// ErrBadHeader refuses a recipient or subject that would break the
// message's headers.
var ErrBadHeader = errors.New("google: a line break in a recipient or subject")

// SendText sends a plain-text e-mail from the mailbox through Gmail's
// users.messages.send: an RFC 2822 message, base64url encoded, which
// gmail.modify allows. Gmail sets From to the mailbox. It makes the client a
// notice.Sender.
func (c *Client) SendText(ctx context.Context, to, subject, text string) error {
	if strings.ContainsAny(to, "\r\n") || strings.ContainsAny(subject, "\r\n") {
		return ErrBadHeader
	}
	addr, err := mail.ParseAddress(to)
	if err != nil {
		return errors.Join(ErrBadHeader, err)
	}
	body := strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\n", "\r\n")
	msg := "To: " + addr.String() + "\r\nSubject: " + mime.QEncoding.Encode("utf-8", subject) +
		"\r\nDate: " + time.Now().UTC().Format(time.RFC1123Z) +
		"\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + body + "\r\n"
	return c.do(ctx, "POST", c.gmail+"/gmail/v1/users/me/messages/send",
		map[string]string{"raw": base64.RawURLEncoding.EncodeToString([]byte(msg))}, nil)
}
