package fakegoogle

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/mail"
	"slices"
	"strings"
)

// SentMail is a message a user sent through messages.send, as a test reads
// it: the sender is the user (Gmail sends as the authenticated mailbox).
type SentMail struct {
	From    string
	To      []string
	Subject string
	Body    string
	// Raw is the RFC 2822 message as sent.
	Raw []byte
}

// sendMessage is users.messages.send: the raw RFC 2822 message (base64url)
// is sent from the user's mailbox and kept in it with the SENT label.
func (s *Server) sendMessage(w http.ResponseWriter, r *http.Request, u *user) {
	var body struct {
		Raw string `json:"raw"`
	}
	b, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(b, &body); err != nil || body.Raw == "" {
		legacyError(w, http.StatusBadRequest, "invalidArgument", "'raw' RFC822 payload message string or uploading message via /upload/* URL required")
		return
	}
	raw, err := decodeB64URL(body.Raw)
	if err != nil {
		legacyError(w, http.StatusBadRequest, "invalidArgument", "Invalid value for ByteString: "+err.Error())
		return
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		legacyError(w, http.StatusBadRequest, "invalidArgument", "Invalid RFC822 message: "+err.Error())
		return
	}
	var to []string
	for _, h := range []string{"To", "Cc", "Bcc"} {
		if msg.Header.Get(h) == "" {
			continue
		}
		list, err := msg.Header.AddressList(h)
		if err != nil {
			legacyError(w, http.StatusBadRequest, "invalidArgument", "Invalid "+strings.ToLower(h)+" header")
			return
		}
		for _, a := range list {
			to = append(to, a.Address)
		}
	}
	if len(to) == 0 {
		legacyError(w, http.StatusBadRequest, "invalidArgument", "Recipient address required")
		return
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		subject = msg.Header.Get("Subject")
	}
	text, _ := io.ReadAll(msg.Body)
	g := u.gmail()
	m := &message{id: fmt.Sprintf("%016x", s.next()*0x9E3779B1), raw: raw, labels: []string{"SENT"}, attachments: map[string][]byte{}}
	m.threadID = m.id
	m.internal = s.now().UnixMilli()
	if m.payload, err = parseMIME(raw, m, ""); err != nil {
		legacyError(w, http.StatusBadRequest, "invalidArgument", "Invalid RFC822 message: "+err.Error())
		return
	}
	m.historyID = s.next()
	g.messages[m.id] = m
	g.order = append(g.order, m.id)
	g.history = append(g.history, historyRecord{id: m.historyID, kind: "messagesAdded", msg: m.id, present: slices.Clone(m.labels)})
	s.gmailChanged(u, g.history[len(g.history)-1])
	s.sent = append(s.sent, SentMail{From: u.email, To: to, Subject: subject, Body: string(text), Raw: raw})
	writeJSON(w, http.StatusOK, map[string]any{"id": m.id, "threadId": m.threadID, "labelIds": m.labels})
}

// Sent lists the messages users sent through messages.send, oldest first.
func (s *Server) Sent() []SentMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sent)
}
