package msgraph

import (
	"context"
	"net/http"
)

// Mail is a plain-text message crmsync sends (a notification): no
// attachment, no HTML.
type Mail struct {
	To      []string
	Subject string
	Text    string
	// SaveToSentItems keeps a copy in the sender's Sent Items.
	SaveToSentItems bool
}

type wireSendMail struct {
	Message struct {
		Subject string `json:"subject"`
		Body    struct {
			ContentType string `json:"contentType"`
			Content     string `json:"content"`
		} `json:"body"`
		ToRecipients []wireRecipient `json:"toRecipients"`
	} `json:"message"`
	SaveToSentItems bool `json:"saveToSentItems"`
}

// SendMail sends m from the client's mailbox (POST …/sendMail, Mail.Send).
// Graph answers 202 once it has taken the message in; a recipient that does
// not exist bounces later, as a non-delivery report in the sender's Inbox.
func (c *Client) SendMail(ctx context.Context, m Mail) error {
	var w wireSendMail
	w.Message.Subject = m.Subject
	w.Message.Body.ContentType, w.Message.Body.Content = "Text", m.Text
	for _, a := range m.To {
		w.Message.ToRecipients = append(w.Message.ToRecipients, wireRecipient{EmailAddress: wireEmail{Address: a}})
	}
	w.SaveToSentItems = m.SaveToSentItems
	return c.sendJSON(ctx, http.MethodPost, c.mailbox()+"/sendMail", w, nil)
}

// SendText sends one plain-text e-mail to one address from the client's
// mailbox (the notifications' Sender).
func (c *Client) SendText(ctx context.Context, to, subject, text string) error {
	return c.SendMail(ctx, Mail{To: []string{to}, Subject: subject, Text: text})
}
