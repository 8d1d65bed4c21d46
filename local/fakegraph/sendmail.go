package fakegraph

import (
	"net/http"
	"slices"
	"strings"
	"time"
)

// SentMail is one message a mailbox sent through sendMail, as the local
// Graph recorded it: tests read what crmsync sent here.
type SentMail struct {
	// From is the sending mailbox's user principal name.
	From        string
	To, Cc, Bcc []string
	Subject     string
	ContentType string
	Body        string
	At          time.Time
	// Bounced is set when a recipient was marked with Bounce: Graph
	// accepted the message and a non-delivery report reached the sender's
	// Inbox.
	Bounced bool
}

// Sent returns every message sent so far, oldest first.
func (s *Server) Sent() []SentMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sent)
}

// Bounce makes messages to addr bounce: sendMail still answers 202 (it only
// accepts the message) and a non-delivery report lands in the sender's Inbox.
func (s *Server) Bounce(addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bounces == nil {
		s.bounces = map[string]bool{}
	}
	s.bounces[strings.ToLower(addr)] = true
}

// sendMail answers POST /me/sendMail and /users/{id}/sendMail: 202 with no
// body; the message is recorded, saved to the sender's Sent Items unless
// saveToSentItems is false, and delivered to recipients that are mailboxes
// here (their Inbox).
func (c *call) sendMail() response {
	if c.method != http.MethodPost {
		return c.notAllowed()
	}
	body, aerr := readBody(c.body)
	if aerr != nil {
		return fail(aerr)
	}
	for k := range body {
		if k != "message" && k != "saveToSentItems" {
			return fail(badRequest("RequestBodyRead", "The parameter '"+k+"' in the request payload is not a valid parameter for the operation 'sendMail'."))
		}
	}
	msg, _ := body["message"].(map[string]any)
	if msg == nil {
		return fail(badRequest("ErrorInvalidParameter", "The value of the parameter 'Message' is empty."))
	}
	sent := SentMail{From: c.m.upn, Subject: str(msg["subject"]), At: c.s.now()}
	if b, ok := msg["body"].(map[string]any); ok {
		sent.ContentType, sent.Body = str(b["contentType"]), str(b["content"])
	}
	for _, list := range []struct {
		prop string
		into *[]string
	}{{"toRecipients", &sent.To}, {"ccRecipients", &sent.Cc}, {"bccRecipients", &sent.Bcc}} {
		rs, _ := msg[list.prop].([]any)
		for _, r := range rs {
			ea, _ := r.(map[string]any)["emailAddress"].(map[string]any)
			addr := str(ea["address"])
			if !validAddress(addr) {
				return fail(badRequest("ErrorInvalidRecipients", "At least one recipient isn't valid., Recipient '"+addr+
					"' isn't resolved. All recipients must be resolved before a message can be submitted."))
			}
			*list.into = append(*list.into, addr)
		}
	}
	if len(sent.To)+len(sent.Cc)+len(sent.Bcc) == 0 {
		return fail(badRequest("ErrorInvalidRecipients", "At least one recipient is not valid., A message can't be sent because it contains no recipients."))
	}
	now := sent.At.UTC().Format(time.RFC3339)
	copyOf := func() map[string]any {
		out := map[string]any{"subject": sent.Subject, "sentDateTime": now, "receivedDateTime": now, "isRead": false,
			"from": map[string]any{"emailAddress": map[string]any{"address": c.m.upn, "name": c.m.name}}}
		for _, k := range []string{"body", "toRecipients", "ccRecipients"} {
			if v, ok := msg[k]; ok {
				out[k] = v
			}
		}
		return out
	}
	if save, ok := body["saveToSentItems"].(bool); !ok || save {
		if f := c.folder(kMailFolder, "sentitems"); f != nil {
			c.s.add(c.m, kMessage, f.id, copyOf())
		}
	}
	for _, addr := range slices.Concat(sent.To, sent.Cc, sent.Bcc) {
		if c.s.bounces[strings.ToLower(addr)] {
			sent.Bounced = true
			if f := c.folder(kMailFolder, "inbox"); f != nil {
				c.s.add(c.m, kMessage, f.id, map[string]any{"subject": "Undeliverable: " + sent.Subject, "receivedDateTime": now, "isRead": false,
					"from":         map[string]any{"emailAddress": map[string]any{"address": "postmaster@" + c.s.opts.TenantID + ".example", "name": "Microsoft Exchange"}},
					"toRecipients": []any{map[string]any{"emailAddress": map[string]any{"address": c.m.upn}}}})
			}
			continue
		}
		if to := c.s.mailboxFor(addr); to != nil {
			inbox := (&call{s: c.s, m: to}).folder(kMailFolder, "inbox")
			if inbox != nil {
				c.s.add(to, kMessage, inbox.id, copyOf())
			}
		}
	}
	c.s.sent = append(c.s.sent, sent)
	return response{status: http.StatusAccepted}
}

// validAddress is a recipient Exchange could resolve: one address, with a
// local part and a domain (several joined by ; or , are refused, as Graph
// refuses them).
func validAddress(a string) bool {
	local, domain, ok := strings.Cut(a, "@")
	return ok && local != "" && domain != "" && !strings.ContainsAny(a, ";, <>") && !strings.Contains(domain, "@")
}
