package fakegoogle

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/mail"
	"slices"
	"strconv"
	"strings"
)

// gmailState is one user's mailbox: labels, messages and the history of
// their changes.
type gmailState struct {
	labels   map[string]*label // by id
	labelSeq []string
	messages map[string]*message
	order    []string
	history  []historyRecord
	// floor is the oldest startHistoryId history.list still accepts.
	floor int64
}

type label struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
}

type message struct {
	id, threadID string
	labels       []string
	historyID    int64
	internal     int64
	raw          []byte
	payload      map[string]any
	attachments  map[string][]byte // attachmentId → content
}

type historyRecord struct {
	id      int64
	kind    string // messagesAdded, labelsAdded, labelsRemoved
	msg     string
	labels  []string // the labels added or removed
	present []string // the message's labels after the change
}

// historyType is the historyTypes value that selects each kind of record.
var historyType = map[string]string{"messagesAdded": "messageAdded", "labelsAdded": "labelAdded", "labelsRemoved": "labelRemoved"}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

var systemLabels = []string{"INBOX", "SENT", "UNREAD", "STARRED", "IMPORTANT", "TRASH", "SPAM", "DRAFT"}

func (u *user) gmail() *gmailState {
	if u.mail == nil {
		u.mail = &gmailState{labels: map[string]*label{}, messages: map[string]*message{}}
		for _, l := range systemLabels {
			u.mail.labels[l] = &label{ID: l, Name: l, Type: "system"}
			u.mail.labelSeq = append(u.mail.labelSeq, l)
		}
	}
	return u.mail
}

func (s *Server) profile(w http.ResponseWriter, r *http.Request, u *user) {
	g := u.gmail()
	writeJSON(w, http.StatusOK, map[string]any{"emailAddress": u.email, "messagesTotal": len(g.messages), "historyId": strconv.FormatInt(s.seq, 10)})
}

func (s *Server) listLabels(w http.ResponseWriter, r *http.Request, u *user) {
	g := u.gmail()
	out := []*label{}
	for _, id := range g.labelSeq {
		out = append(out, g.labels[id])
	}
	writeJSON(w, http.StatusOK, map[string]any{"labels": out})
}

func (s *Server) createLabel(w http.ResponseWriter, r *http.Request, u *user) {
	g := u.gmail()
	b, ok := decodeMap(r)
	name, _ := b["name"].(string)
	if !ok || strings.TrimSpace(name) == "" {
		legacyError(w, http.StatusBadRequest, "invalidArgument", "Invalid label name")
		return
	}
	for _, l := range g.labels {
		if strings.EqualFold(l.Name, name) {
			legacyError(w, http.StatusConflict, "alreadyExists", "Label name exists or conflicts")
			return
		}
	}
	l := &label{ID: fmt.Sprintf("Label_%d", s.next()), Name: name, Type: "user"}
	g.labels[l.ID] = l
	g.labelSeq = append(g.labelSeq, l.ID)
	writeJSON(w, http.StatusOK, l)
}

// insertMessage is messages.insert with a JSON body {raw, labelIds}: raw is
// the RFC 822 message, base64url.
func (s *Server) insertMessage(w http.ResponseWriter, r *http.Request, u *user) {
	g := u.gmail()
	var body struct {
		Raw      string   `json:"raw"`
		LabelIDs []string `json:"labelIds"`
	}
	b, _ := io.ReadAll(r.Body)
	if err := jsonUnmarshal(b, &body); err != nil || body.Raw == "" {
		legacyError(w, http.StatusBadRequest, "invalidArgument", "'raw' RFC822 payload message string or uploading message via /upload/* URL required")
		return
	}
	raw, err := decodeB64URL(body.Raw)
	if err != nil {
		legacyError(w, http.StatusBadRequest, "invalidArgument", "Invalid value for ByteString: "+err.Error())
		return
	}
	for _, l := range body.LabelIDs {
		if g.labels[l] == nil {
			legacyError(w, http.StatusBadRequest, "invalidArgument", "Invalid label: "+l)
			return
		}
	}
	m := &message{id: fmt.Sprintf("%016x", s.next()*0x9E3779B1), raw: raw, labels: slices.Clone(body.LabelIDs), attachments: map[string][]byte{}}
	m.threadID = m.id
	m.internal = s.now().UnixMilli()
	payload, err := parseMIME(raw, m, "")
	if err != nil {
		legacyError(w, http.StatusBadRequest, "invalidArgument", "Invalid RFC822 message: "+err.Error())
		return
	}
	m.payload = payload
	m.historyID = s.next()
	g.messages[m.id] = m
	g.order = append(g.order, m.id)
	g.history = append(g.history, historyRecord{id: m.historyID, kind: "messagesAdded", msg: m.id, present: slices.Clone(m.labels)})
	s.gmailChanged(u, g.history[len(g.history)-1])
	writeJSON(w, http.StatusOK, map[string]any{"id": m.id, "threadId": m.threadID, "labelIds": m.labels})
}

// parseMIME turns a message (or part) into Gmail's payload: headers, body
// data inline for text, attachmentId for parts with a filename.
func parseMIME(raw []byte, m *message, partID string) (map[string]any, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	var headers []map[string]string
	for k, vs := range msg.Header {
		for _, v := range vs {
			headers = append(headers, map[string]string{"name": k, "value": v})
		}
	}
	slices.SortFunc(headers, func(a, b map[string]string) int { return strings.Compare(a["name"], b["name"]) })
	ct := msg.Header.Get("Content-Type")
	if ct == "" {
		ct = "text/plain"
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return nil, err
	}
	p := map[string]any{"partId": partID, "mimeType": mt, "headers": headers, "filename": ""}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(msg.Body, params["boundary"])
		var parts []map[string]any
		for i := 0; ; i++ {
			part, err := mr.NextRawPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, err
			}
			var buf bytes.Buffer
			for k, vs := range part.Header {
				for _, v := range vs {
					fmt.Fprintf(&buf, "%s: %s\r\n", k, v)
				}
			}
			buf.WriteString("\r\n")
			_, _ = io.Copy(&buf, part)
			id := strconv.Itoa(i)
			if partID != "" {
				id = partID + "." + id
			}
			sub, err := parseMIME(buf.Bytes(), m, id)
			if err != nil {
				return nil, err
			}
			parts = append(parts, sub)
		}
		p["parts"] = parts
		p["body"] = map[string]any{"size": 0}
		return p, nil
	}
	content, err := io.ReadAll(msg.Body)
	if err != nil {
		return nil, err
	}
	if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "base64") {
		if content, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(content)), "")); err != nil {
			return nil, err
		}
	}
	_, dp, _ := mime.ParseMediaType(msg.Header.Get("Content-Disposition"))
	name := dp["filename"]
	if name == "" {
		name = params["name"]
	}
	p["filename"] = name
	if name != "" {
		aid := "ANGjdJ" + randomID("")
		m.attachments[aid] = content
		p["body"] = map[string]any{"size": len(content), "attachmentId": aid}
	} else {
		p["body"] = map[string]any{"size": len(content), "data": base64.RawURLEncoding.EncodeToString(content)}
	}
	return p, nil
}

// decodeB64URL accepts base64url with or without padding.
func decodeB64URL(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

func (g *gmailState) view(m *message, format string, headers []string) map[string]any {
	out := map[string]any{"id": m.id, "threadId": m.threadID, "labelIds": m.labels, "historyId": strconv.FormatInt(m.historyID, 10),
		"internalDate": strconv.FormatInt(m.internal, 10), "sizeEstimate": len(m.raw), "snippet": ""}
	switch format {
	case "minimal":
	case "metadata":
		var hs []any
		for _, h := range m.payload["headers"].([]map[string]string) {
			if len(headers) == 0 || slices.ContainsFunc(headers, func(w string) bool { return strings.EqualFold(w, h["name"]) }) {
				hs = append(hs, h)
			}
		}
		out["payload"] = map[string]any{"mimeType": m.payload["mimeType"], "headers": hs}
	case "raw":
		out["raw"] = base64.URLEncoding.EncodeToString(m.raw)
	default:
		out["payload"] = m.payload
	}
	return out
}

func (s *Server) getMessage(w http.ResponseWriter, r *http.Request, u *user) {
	g := u.gmail()
	m := g.messages[r.PathValue("id")]
	if m == nil {
		legacyError(w, http.StatusNotFound, "notFound", "Requested entity was not found.")
		return
	}
	q := r.URL.Query()
	format := q.Get("format")
	if format == "" {
		format = "full"
	}
	if !slices.Contains([]string{"minimal", "metadata", "full", "raw"}, format) {
		legacyError(w, http.StatusBadRequest, "invalidArgument", "Invalid format: "+format)
		return
	}
	writeJSON(w, http.StatusOK, g.view(m, format, q["metadataHeaders"]))
}

func (s *Server) getAttachment(w http.ResponseWriter, r *http.Request, u *user) {
	g := u.gmail()
	m := g.messages[r.PathValue("id")]
	var data []byte
	if m != nil {
		data = m.attachments[r.PathValue("aid")]
	}
	if data == nil {
		legacyError(w, http.StatusNotFound, "notFound", "Requested entity was not found.")
		return
	}
	// base64url; Gmail's own clients must cope with it unpadded.
	writeJSON(w, http.StatusOK, map[string]any{"size": len(data), "data": base64.RawURLEncoding.EncodeToString(data)})
}

func (s *Server) modifyMessage(w http.ResponseWriter, r *http.Request, u *user) {
	g := u.gmail()
	m := g.messages[r.PathValue("id")]
	if m == nil {
		legacyError(w, http.StatusNotFound, "notFound", "Requested entity was not found.")
		return
	}
	var body struct {
		Add    []string `json:"addLabelIds"`
		Remove []string `json:"removeLabelIds"`
	}
	b, _ := io.ReadAll(r.Body)
	if err := jsonUnmarshal(b, &body); err != nil {
		legacyError(w, http.StatusBadRequest, "invalidArgument", "Invalid JSON payload")
		return
	}
	for _, l := range append(slices.Clone(body.Add), body.Remove...) {
		if g.labels[l] == nil {
			legacyError(w, http.StatusBadRequest, "invalidArgument", "Invalid label: "+l)
			return
		}
	}
	var added, removed []string
	for _, l := range body.Add {
		if !slices.Contains(m.labels, l) {
			m.labels = append(m.labels, l)
			added = append(added, l)
		}
	}
	for _, l := range body.Remove {
		if i := slices.Index(m.labels, l); i >= 0 {
			m.labels = slices.Delete(m.labels, i, i+1)
			removed = append(removed, l)
		}
	}
	if len(added) > 0 {
		m.historyID = s.next()
		g.history = append(g.history, historyRecord{id: m.historyID, kind: "labelsAdded", msg: m.id, labels: added, present: slices.Clone(m.labels)})
		s.gmailChanged(u, g.history[len(g.history)-1])
	}
	if len(removed) > 0 {
		m.historyID = s.next()
		g.history = append(g.history, historyRecord{id: m.historyID, kind: "labelsRemoved", msg: m.id, labels: removed, present: slices.Clone(m.labels)})
		s.gmailChanged(u, g.history[len(g.history)-1])
	}
	writeJSON(w, http.StatusOK, g.view(m, "minimal", nil))
}

func (s *Server) listMessages(w http.ResponseWriter, r *http.Request, u *user) {
	g := u.gmail()
	q := r.URL.Query()
	size := 100
	if v := q.Get("maxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			legacyError(w, http.StatusBadRequest, "invalidArgument", "Invalid maxResults")
			return
		}
		size = min(n, 500)
	}
	if pt := q.Get("pageToken"); pt != "" {
		st := s.pages[pt]
		if st == nil || st.api != "gmail" {
			legacyError(w, http.StatusBadRequest, "invalidArgument", "Invalid pageToken")
			return
		}
		delete(s.pages, pt)
		s.writeMessages(w, st, size)
		return
	}
	want := q["labelIds"]
	st := &pageState{api: "gmail"}
	// Newest first, as Gmail lists.
	for i := len(g.order) - 1; i >= 0; i-- {
		m := g.messages[g.order[i]]
		if slices.ContainsFunc(want, func(l string) bool { return !slices.Contains(m.labels, l) }) {
			continue
		}
		if q.Get("includeSpamTrash") != "true" && (slices.Contains(m.labels, "TRASH") || slices.Contains(m.labels, "SPAM")) {
			continue
		}
		st.items = append(st.items, map[string]any{"id": m.id, "threadId": m.threadID})
	}
	s.writeMessages(w, st, size)
}

func (s *Server) writeMessages(w http.ResponseWriter, st *pageState, size int) {
	total := len(st.items)
	items, next := s.page(st, size)
	resp := map[string]any{"resultSizeEstimate": total}
	if len(items) > 0 {
		resp["messages"] = items
	}
	if next != "" {
		resp["nextPageToken"] = next
	}
	writeJSON(w, http.StatusOK, resp)
}

// listHistory is history.list: the changes after startHistoryId, optionally
// of one label and of some history types; an id older than the mailbox keeps
// history for → 404.
func (s *Server) listHistory(w http.ResponseWriter, r *http.Request, u *user) {
	g := u.gmail()
	q := r.URL.Query()
	start, err := strconv.ParseInt(q.Get("startHistoryId"), 10, 64)
	if err != nil {
		legacyError(w, http.StatusBadRequest, "invalidArgument", "Invalid startHistoryId")
		return
	}
	// 0 is no history id; one older than the history kept is gone.
	if start <= 0 || start < g.floor {
		legacyError(w, http.StatusNotFound, "notFound", "Requested entity was not found.")
		return
	}
	types := q["historyTypes"]
	lbl := q.Get("labelId")
	var out []map[string]any
	for _, h := range g.history {
		if h.id <= start || len(types) > 0 && !slices.Contains(types, historyType[h.kind]) {
			continue
		}
		if lbl != "" && !slices.Contains(h.present, lbl) && !slices.Contains(h.labels, lbl) {
			continue
		}
		msg := map[string]any{"id": h.msg, "threadId": h.msg, "labelIds": h.present}
		rec := map[string]any{"id": strconv.FormatInt(h.id, 10), "messages": []any{msg}}
		if h.kind == "messagesAdded" {
			rec[h.kind] = []any{map[string]any{"message": msg}}
		} else {
			rec[h.kind] = []any{map[string]any{"message": msg, "labelIds": h.labels}}
		}
		out = append(out, rec)
	}
	writeJSON(w, http.StatusOK, map[string]any{"history": out, "historyId": strconv.FormatInt(s.seq, 10)})
}
