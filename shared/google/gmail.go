package google

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"hash/fnv"
	"io"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
)

// Gmail labels crmsync uses.
const (
	// DefaultShareLabel is the label that plays the share folder.
	DefaultShareLabel = "Salesforce Emails"
	// SharedLabel marks a message already shared, so it is never shared twice.
	SharedLabel = "crmsync/Shared"
)

const gmailCursorPrefix = "gmail1|"

type wireHeader struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type wirePart struct {
	PartID   string       `json:"partId"`
	MimeType string       `json:"mimeType"`
	Filename string       `json:"filename"`
	Headers  []wireHeader `json:"headers"`
	Body     struct {
		Size         int64  `json:"size"`
		Data         string `json:"data"`
		AttachmentID string `json:"attachmentId"`
	} `json:"body"`
	Parts []wirePart `json:"parts"`
}

type wireMessage struct {
	ID       string    `json:"id"`
	LabelIDs []string  `json:"labelIds"`
	Payload  *wirePart `json:"payload"`
}

func (p *wirePart) header(name string) string {
	for _, h := range p.Headers {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

// walk visits the part and its sub-parts, depth first.
func (p *wirePart) walk(f func(*wirePart)) {
	f(p)
	for i := range p.Parts {
		p.Parts[i].walk(f)
	}
}

// b64url decodes Gmail's base64url, padded or not (trap 9).
func b64url(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

// label returns the id of the label name, creating a user label if missing.
func (s *Side) label(ctx context.Context, name string) (string, error) {
	s.mu.Lock()
	id := s.labels[name]
	if id == "" {
		id = s.labelsByHash[labelHash(name)]
		if id != "" {
			s.labels[name] = id
		}
	}
	s.mu.Unlock()
	if id != "" {
		return id, nil
	}
	var w struct {
		Labels []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"labels"`
	}
	if err := s.c.do(ctx, "GET", s.c.gmail+"/gmail/v1/users/me/labels", nil, &w); err != nil {
		return "", err
	}
	for _, l := range w.Labels {
		if strings.EqualFold(l.Name, name) {
			id = l.ID
		}
	}
	if id == "" {
		var l struct {
			ID string `json:"id"`
		}
		if err := s.c.do(ctx, "POST", s.c.gmail+"/gmail/v1/users/me/labels", map[string]string{"name": name, "labelListVisibility": "labelShow", "messageListVisibility": "show"}, &l); err != nil {
			return "", err
		}
		id = l.ID
	}
	s.mu.Lock()
	s.labels[name] = id
	s.mu.Unlock()
	return id, nil
}

// shareLabels are the ids of the labels that share a message: the share
// folder's and the share category's.
func (s *Side) shareLabels(ctx context.Context, scope item.Scope) ([]string, error) {
	names := []string{scope.Container}
	if names[0] == "" {
		names[0] = DefaultShareLabel
	}
	if scope.ShareCategory != "" && !strings.EqualFold(scope.ShareCategory, names[0]) {
		names = append(names, scope.ShareCategory)
	}
	var ids []string
	for _, n := range names {
		id, err := s.label(ctx, n)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// SharedEmails reports the messages carrying a share label and not yet the
// shared label. A full read lists each share label; an incremental one reads
// history.list from the stored historyId (a 404 — history kept about a week
// — reads in full again). Candidates are read as metadata first and in full
// only when they are to be shared.
//
// The cursor is "gmail1|<historyId>|<hash of label name>=<id>,…[|w<unix>]":
// the label ids it carries spare an idle session the label lookup; with
// push, w is when users.watch was last called.
func (s *Side) SharedEmails(ctx context.Context, scope item.Scope, cursor string) (item.Changes, error) {
	cursor, watched := cutGmailWatch(cursor)
	cursor = s.learnLabels(cursor)
	share, err := s.shareLabels(ctx, scope)
	if err != nil {
		return item.Changes{}, err
	}
	shared, err := s.label(ctx, SharedLabel)
	if err != nil {
		return item.Changes{}, err
	}
	start, _ := strconv.ParseInt(strings.TrimPrefix(cursor, gmailCursorPrefix), 10, 64)
	var ids []string
	var next string
	full := !strings.HasPrefix(cursor, gmailCursorPrefix) || start <= 0 // historyId 0 is invalid
	if !full {
		ids, next, err = s.history(ctx, start, share)
		if fault.Is(err, fault.Gone) {
			full, err = true, nil
		}
		if err != nil {
			return item.Changes{}, err
		}
	}
	if full {
		// The profile's historyId first: a change during the listing is
		// then in the next history read, not lost.
		var prof struct {
			HistoryID string `json:"historyId"`
		}
		if err := s.c.do(ctx, "GET", s.c.gmail+"/gmail/v1/users/me/profile", nil, &prof); err != nil {
			return item.Changes{}, err
		}
		next = prof.HistoryID
		for _, l := range share {
			got, err := s.listLabel(ctx, l)
			if err != nil {
				return item.Changes{}, err
			}
			ids = append(ids, got...)
		}
	}
	ch := item.Changes{Kind: item.SharedEmail, Full: full, Cursor: gmailCursorPrefix + next + "|" + s.knownLabels()}
	if s.watch != nil && s.watch.Topic != "" {
		// Push: the time of the last users.watch rides in the cursor.
		if watched = s.renewGmailWatch(ctx, share, watched); watched > 0 {
			ch.Cursor += "|w" + strconv.FormatInt(watched, 10)
		}
	}
	var unique []string
	seen := map[string]bool{}
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			unique = append(unique, id)
		}
	}
	metas, err := s.getMessages(ctx, unique, "metadata&metadataHeaders=Message-ID")
	if err != nil {
		return item.Changes{}, err
	}
	var wanted []string
	for i, m := range metas {
		if m != nil && toShare(m.LabelIDs, share, shared) {
			wanted = append(wanted, unique[i])
		}
	}
	// Only messages to share are read in full.
	fulls, err := s.getMessages(ctx, wanted, "full")
	if err != nil {
		return item.Changes{}, err
	}
	for _, m := range fulls {
		if m == nil {
			continue // deleted meanwhile
		}
		rec, prob := m.record()
		if prob != nil {
			ch.Problems = append(ch.Problems, *prob)
			continue
		}
		ch.Records = append(ch.Records, rec)
	}
	return ch, nil
}

// GmailBatch is how many messages.get go in one batch: Gmail allows 100
// and recommends no more than 50.
const GmailBatch = 50

// getMessages reads messages in format, one request for one message and
// GmailBatch to a batch request for more; a message gone meanwhile is nil.
func (s *Side) getMessages(ctx context.Context, ids []string, format string) ([]*wireMessage, error) {
	out := make([]*wireMessage, len(ids))
	path := func(id string) string {
		return s.c.gmail + "/gmail/v1/users/me/messages/" + url.PathEscape(id) + "?format=" + format
	}
	if len(ids) == 1 {
		var m wireMessage
		err := s.c.do(ctx, "GET", path(ids[0]), nil, &m)
		if fault.Is(err, fault.Gone) {
			return out, nil
		}
		out[0] = &m
		return out, err
	}
	for lo := 0; lo < len(ids); lo += GmailBatch {
		hi := min(lo+GmailBatch, len(ids))
		calls := make([]batchCall, 0, hi-lo)
		for _, id := range ids[lo:hi] {
			calls = append(calls, batchCall{method: "GET", path: pathOf(path(id))})
		}
		bodies, errs, err := s.c.batch(ctx, s.c.gmail+"/batch/gmail/v1", calls)
		if err != nil {
			return nil, err
		}
		for j := range calls {
			switch {
			case fault.Is(errs[j], fault.Gone):
			case errs[j] != nil:
				// A failed read fails the whole read: the cursor must not
				// move past a message not reported.
				return nil, errs[j]
			default:
				var m wireMessage
				if err := json.Unmarshal(bodies[j], &m); err != nil {
					return nil, fault.New(fault.Temporary, "bad_response", "undecodable message")
				}
				out[lo+j] = &m
			}
		}
	}
	return out, nil
}

// learnLabels takes the label ids a cursor carries and returns the cursor
// without them.
func (s *Side) learnLabels(cursor string) string {
	rest, ok := strings.CutPrefix(cursor, gmailCursorPrefix)
	id, labels, has := strings.Cut(rest, "|")
	if !ok || !has {
		return cursor
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.labelsByHash == nil {
		s.labelsByHash = map[string]string{}
	}
	for _, kv := range strings.Split(labels, ",") {
		if h, v, ok := strings.Cut(kv, "="); ok && v != "" {
			s.labelsByHash[h] = v
		}
	}
	return gmailCursorPrefix + id
}

// knownLabels lists the label ids by a hash of their names: the cursor
// keeps no label name (the user chose it).
func (s *Side) knownLabels() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for n, id := range s.labels {
		out = append(out, labelHash(n)+"="+id)
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}

func labelHash(name string) string {
	h := fnv.New64a()
	h.Write([]byte(strings.ToLower(name)))
	return strconv.FormatUint(h.Sum64(), 36)
}

func toShare(labels, share []string, shared string) bool {
	if slices.Contains(labels, shared) || slices.Contains(labels, "TRASH") || slices.Contains(labels, "SPAM") {
		return false
	}
	return slices.ContainsFunc(share, func(l string) bool { return slices.Contains(labels, l) })
}

func (s *Side) listLabel(ctx context.Context, label string) ([]string, error) {
	q := url.Values{"labelIds": {label}, "maxResults": {"500"}}
	var ids []string
	for {
		var w struct {
			Messages []struct {
				ID string `json:"id"`
			} `json:"messages"`
			NextPageToken string `json:"nextPageToken"`
		}
		if err := s.c.do(ctx, "GET", s.c.gmail+"/gmail/v1/users/me/messages?"+q.Encode(), nil, &w); err != nil {
			return nil, err
		}
		for _, m := range w.Messages {
			ids = append(ids, m.ID)
		}
		if w.NextPageToken == "" {
			return ids, nil
		}
		q.Set("pageToken", w.NextPageToken)
	}
}

// history reads the messages added or labelled since start that carry a
// share label.
func (s *Side) history(ctx context.Context, start int64, share []string) ([]string, string, error) {
	q := url.Values{"startHistoryId": {strconv.FormatInt(start, 10)}, "historyTypes": {"messageAdded", "labelAdded"}, "maxResults": {"500"}}
	var ids []string
	for {
		var w struct {
			History []struct {
				MessagesAdded []struct {
					Message wireMessage `json:"message"`
				} `json:"messagesAdded"`
				LabelsAdded []struct {
					Message wireMessage `json:"message"`
				} `json:"labelsAdded"`
			} `json:"history"`
			HistoryID     string `json:"historyId"`
			NextPageToken string `json:"nextPageToken"`
		}
		if err := s.c.do(ctx, "GET", s.c.gmail+"/gmail/v1/users/me/history?"+q.Encode(), nil, &w); err != nil {
			return nil, "", err
		}
		for _, h := range w.History {
			for _, m := range h.MessagesAdded {
				ids = append(ids, m.Message.ID)
			}
			for _, m := range h.LabelsAdded {
				ids = append(ids, m.Message.ID)
			}
		}
		if w.NextPageToken == "" {
			return ids, w.HistoryID, nil
		}
		q.Set("pageToken", w.NextPageToken)
	}
}

// record maps a message read in full to a shared e-mail.
func (m wireMessage) record() (item.Record, *item.Problem) {
	p := m.Payload
	if p == nil {
		return item.Record{}, &item.Problem{ID: m.ID, Code: "malformed-message", Reason: "the message has no content"}
	}
	subject := p.header("Subject")
	from, err := mail.ParseAddress(p.header("From"))
	if err != nil {
		return item.Record{}, &item.Problem{ID: m.ID, Name: subject, Code: "no-sender", Reason: "the message's sender cannot be read"}
	}
	f := map[string]string{item.Subject: subject, item.From: strings.ToLower(from.Address),
		item.To: addressList(p.header("To")), item.Cc: addressList(p.header("Cc")),
		item.MessageID: p.header("Message-ID"), item.Direction: "Inbound"}
	if slices.Contains(m.LabelIDs, "SENT") {
		f[item.Direction] = "Outbound"
	}
	if t, err := mail.ParseDate(p.header("Date")); err == nil {
		f[item.Sent] = t.UTC().Format(time.RFC3339)
	}
	p.walk(func(part *wirePart) {
		if f[item.Description] == "" && part.MimeType == "text/plain" && part.Filename == "" && part.Body.Data != "" {
			if b, err := b64url(part.Body.Data); err == nil {
				f[item.Description] = string(b)
			}
		}
	})
	return item.Record{Kind: item.SharedEmail, ID: m.ID, Fields: f, Categories: nil}, nil
}

func addressList(h string) string {
	if h == "" {
		return ""
	}
	list, err := mail.ParseAddressList(h)
	if err != nil {
		return ""
	}
	out := make([]string, 0, len(list))
	for _, a := range list {
		out = append(out, strings.ToLower(a.Address))
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}

func (s *Side) fullMessage(ctx context.Context, id string) (wireMessage, error) {
	var m wireMessage
	err := s.c.do(ctx, "GET", s.c.gmail+"/gmail/v1/users/me/messages/"+url.PathEscape(id)+"?format=full", nil, &m)
	if err == nil && m.Payload == nil {
		err = fault.New(fault.Permanent, "malformed-message", "the message has no content")
	}
	return m, err
}

// Attachments lists a message's attachments. Their IDs are part ids: Gmail's
// attachmentId is resolved again when the content is opened.
func (s *Side) Attachments(ctx context.Context, messageID string) ([]item.Attachment, error) {
	m, err := s.fullMessage(ctx, messageID)
	if err != nil {
		return nil, err
	}
	var out []item.Attachment
	m.Payload.walk(func(p *wirePart) {
		if p.Filename == "" {
			return
		}
		out = append(out, item.Attachment{ID: p.PartID, Name: p.Filename, ContentType: p.MimeType, Size: p.Body.Size,
			Inline: strings.HasPrefix(strings.ToLower(p.header("Content-Disposition")), "inline") || p.header("Content-ID") != ""})
	})
	return out, nil
}

// OpenAttachment reads one attachment (attachments.get, base64url).
func (s *Side) OpenAttachment(ctx context.Context, messageID, attachmentID string) (io.ReadCloser, error) {
	m, err := s.fullMessage(ctx, messageID)
	if err != nil {
		return nil, err
	}
	var part *wirePart
	m.Payload.walk(func(p *wirePart) {
		if p.PartID == attachmentID && p.Filename != "" {
			part = p
		}
	})
	if part == nil {
		return nil, fault.New(fault.Gone, "no_attachment", "the message has no such attachment")
	}
	data := part.Body.Data
	if part.Body.AttachmentID != "" {
		var w struct {
			Data string `json:"data"`
		}
		if err := s.c.do(ctx, "GET", s.c.gmail+"/gmail/v1/users/me/messages/"+url.PathEscape(messageID)+"/attachments/"+url.PathEscape(part.Body.AttachmentID), nil, &w); err != nil {
			return nil, err
		}
		data = w.Data
	}
	b, err := b64url(data)
	if err != nil {
		return nil, fault.New(fault.Permanent, "bad_attachment", "the attachment's content cannot be decoded: "+err.Error())
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

// MarkShared labels the message as shared.
func (s *Side) MarkShared(ctx context.Context, messageID, crmID string) error {
	shared, err := s.label(ctx, SharedLabel)
	if err != nil {
		return err
	}
	return s.c.do(ctx, "POST", s.c.gmail+"/gmail/v1/users/me/messages/"+url.PathEscape(messageID)+"/modify", map[string][]string{"addLabelIds": {shared}}, nil)
}
