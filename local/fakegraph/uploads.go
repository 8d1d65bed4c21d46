package fakegraph

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Large attachments reach a message as they do on Graph: POST
// …/messages/{id}/attachments/createUploadSession with an AttachmentItem
// naming the size answers an uploadUrl, the client PUTs the bytes there in
// ranges (Content-Range: bytes start-end/total) without a bearer token (the
// URL is the credential), and the last range creates the attachment. A plain
// POST of an attachment stays limited to 3 MB, as on Graph.
const (
	// uploadPath prefixes upload URLs, outside /v1.0 as Graph's are.
	uploadPath = "upload/attachments/"
	// maxUploadChunk is Graph's limit on one PUT to an upload session.
	maxUploadChunk = 4 << 20
	// maxLargeAttachment is Graph's limit on an attachment of a message.
	maxLargeAttachment = 150 << 20
	uploadLifetime     = 15 * time.Minute
)

// upload is an attachment upload session in progress.
type upload struct {
	mailbox, message  string
	name, contentType string
	inline            bool
	size              int
	data              []byte
	expires           time.Time
}

// createUploadSession answers POST …/attachments/createUploadSession for
// the message msgID (the caller holds the lock and found the message).
func (c *call) createUploadSession(msgID string) response {
	body, aerr := readBody(c.body)
	if aerr != nil {
		return fail(aerr)
	}
	it, _ := body["AttachmentItem"].(map[string]any)
	if it == nil {
		it, _ = body["attachmentItem"].(map[string]any)
	}
	if it == nil || !strings.EqualFold(str(it["attachmentType"]), "file") || str(it["name"]) == "" {
		return fail(badRequest("ErrorInvalidRequest", "AttachmentItem needs attachmentType file and a name."))
	}
	size := num(it["size"])
	if size <= 0 || size > maxLargeAttachment {
		return fail(badRequest("ErrorAttachmentSizeShouldNotBeLessThanMinimumSize", "size must be between 1 byte and 150 MB."))
	}
	ct := str(it["contentType"])
	if ct == "" {
		ct = "application/octet-stream"
	}
	inline, _ := it["isInline"].(bool)
	token := randomToken("us")
	u := &upload{mailbox: c.m.id, message: msgID, name: str(it["name"]), contentType: ct, inline: inline, size: size,
		expires: c.s.now().Add(uploadLifetime)}
	c.s.uploads[token] = u
	return response{status: http.StatusCreated, body: map[string]any{
		"@odata.context":     c.base + "/$metadata#microsoft.graph.uploadSession",
		"uploadUrl":          strings.TrimSuffix(c.base, "/v1.0") + "/" + uploadPath + token,
		"expirationDateTime": u.expires.Format(time.RFC3339Nano),
		"nextExpectedRanges": []string{"0-"},
	}}
}

// serveUpload answers a PUT of one range to an upload URL, or a DELETE that
// cancels the session.
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request, token string) {
	defer s.deliver()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	u := s.uploads[token]
	if u != nil && s.now().After(u.expires) {
		delete(s.uploads, token)
		u = nil
	}
	switch {
	case u == nil:
		notFound().write(w)
		return
	case r.Header.Get("Authorization") != "":
		// Graph refuses a bearer token on an upload URL.
		(&apiError{status: 401, code: "InvalidAuthenticationToken", message: "Do not send an Authorization header to an upload URL."}).write(w)
		return
	case r.Method == http.MethodDelete:
		delete(s.uploads, token)
		w.WriteHeader(http.StatusNoContent)
		return
	case r.Method != http.MethodPut:
		(&apiError{status: 405, code: "ErrorInvalidRequest", message: "Upload URLs take PUT and DELETE."}).write(w)
		return
	}
	chunk, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxUploadChunk))
	if err != nil {
		(&apiError{status: 413, code: "RequestEntityTooLarge", message: "Send at most 4 MB per request."}).write(w)
		return
	}
	var start, end, total int
	if _, err := fmt.Sscanf(r.Header.Get("Content-Range"), "bytes %d-%d/%d", &start, &end, &total); err != nil ||
		total != u.size || start != len(u.data) || end < start || end >= total || end-start+1 != len(chunk) {
		(&apiError{status: 416, code: "InvalidRange", message: "The Content-Range does not match the next expected range " +
			strconv.Itoa(len(u.data)) + "-."}).write(w)
		return
	}
	u.data = append(u.data, chunk...)
	if len(u.data) < u.size {
		writeJSON(w, http.StatusOK, map[string]any{"expirationDateTime": u.expires.Format(time.RFC3339Nano),
			"nextExpectedRanges": []string{strconv.Itoa(len(u.data)) + "-"}})
		return
	}
	delete(s.uploads, token)
	m := s.mailboxes[u.mailbox]
	e := m.get(u.message)
	if e == nil || e.deleted || e.kind != kMessage {
		notFound().write(w)
		return
	}
	a := &attachment{id: s.newID("at"), name: u.name, contentType: u.contentType, content: u.data, inline: u.inline}
	e.attachments = append(e.attachments, a)
	s.touch(m, e)
	w.Header().Set("Location", s.baseURL(r)+"/users/"+m.id+"/messages/"+u.message+"/attachments/"+a.id)
	w.WriteHeader(http.StatusCreated)
}
