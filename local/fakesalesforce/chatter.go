package fakesalesforce

import (
	"net/http"
	"strings"
	"time"
)

// postFeedElement creates a FeedItem on a record or user feed
// (POST /chatter/feed-elements), answering 201 with the feed element.
func (s *Server) postFeedElement(c *reqCtx) {
	var body struct {
		FeedElementType string `json:"feedElementType"`
		SubjectID       string `json:"subjectId"`
		Body            struct {
			MessageSegments []struct {
				Type string `json:"type"`
				Text string `json:"text"`
				ID   string `json:"id"`
			} `json:"messageSegments"`
		} `json:"body"`
	}
	if !decodeBody(c, &body) {
		return
	}
	if body.FeedElementType != "FeedItem" {
		writeErrors(c.w, http.StatusBadRequest, apiError{"feedElementType must be FeedItem", "INVALID_INPUT", nil})
		return
	}
	subject := body.SubjectID
	if subject == "me" {
		subject = c.user.id
	}
	var text strings.Builder
	segments := []map[string]any{}
	mentions := 0
	for _, seg := range body.Body.MessageSegments {
		switch seg.Type {
		case "Text":
			text.WriteString(seg.Text)
			segments = append(segments, map[string]any{"type": "Text", "text": seg.Text})
		case "Mention":
			mentions++
			segments = append(segments, map[string]any{"type": "Mention", "text": "@" + seg.ID, "record": map[string]string{"id": seg.ID}})
			text.WriteString("@" + seg.ID)
		default:
			writeErrors(c.w, http.StatusBadRequest, apiError{"unsupported message segment type " + seg.Type, "INVALID_INPUT", nil})
			return
		}
	}
	if mentions > 25 || text.Len() == 0 || text.Len() > 10000 {
		writeErrors(c.w, http.StatusBadRequest, apiError{"The feed item body must have 1 to 10,000 characters and at most 25 mentions.", "INVALID_INPUT", nil})
		return
	}
	s.mu.Lock()
	parent := s.lookupID(subject)
	if parent == nil || parent.deleted || !s.canSee(c.user, parent) {
		s.mu.Unlock()
		writeErrors(c.w, http.StatusNotFound, apiError{"The requested resource does not exist", "NOT_FOUND", nil})
		return
	}
	id, err := s.insert(c.user, s.object("FeedItem"), map[string]any{"ParentId": parent.id, "Body": text.String()}, "")
	var created string
	if err == nil {
		created = formatDateTime(s.records[id].f["CreatedDate"].(time.Time))
	}
	s.mu.Unlock()
	if err != nil {
		s.writeOneError(c, err)
		return
	}
	writeJSON(c.w, http.StatusCreated, map[string]any{
		"id": id, "feedElementType": "FeedItem", "type": "TextPost", "createdDate": created,
		"body":   map[string]any{"text": text.String(), "messageSegments": segments, "isRichText": false},
		"parent": map[string]any{"id": parent.id, "type": parent.obj.Name},
		"actor":  map[string]any{"id": c.user.id, "type": "User"},
		"url":    c.dataPath() + "/chatter/feed-elements/" + id,
	})
}
