package fakegraph

import (
	"encoding/base64"
	"net/http"
	"strings"
)

func (s *Server) newAttachment(v any) (*attachment, *apiError) {
	a, _ := v.(map[string]any)
	if !strings.EqualFold(str(a["@odata.type"]), "#microsoft.graph.fileAttachment") {
		return nil, badRequest("ErrorInvalidRequest", "Only file attachments are supported.")
	}
	content, err := base64.StdEncoding.DecodeString(str(a["contentBytes"]))
	if err != nil {
		return nil, badRequest("ErrorInvalidRequest", "contentBytes is not base64.")
	}
	if len(content) > 3<<20 {
		return nil, &apiError{status: 413, code: "ErrorRequestEntityTooLarge", message: "Use an upload session for attachments over 3 MB."}
	}
	ct := str(a["contentType"])
	if ct == "" {
		ct = "application/octet-stream"
	}
	inline, _ := a["isInline"].(bool)
	return &attachment{id: s.newID("at"), name: str(a["name"]), contentType: ct, content: content, inline: inline}, nil
}

func (c *call) attachments(msgID string, rest []string) response {
	e := c.m.get(msgID)
	if e == nil || e.deleted || e.kind != kMessage {
		return fail(notFound())
	}
	render := func(a *attachment, withContent bool) map[string]any {
		out := map[string]any{
			"@odata.type": "#microsoft.graph.fileAttachment", "id": a.id, "name": a.name,
			"contentType": a.contentType, "size": len(a.content), "isInline": a.inline,
			"lastModifiedDateTime": e.modified.Format("2006-01-02T15:04:05Z"),
		}
		if withContent {
			out["contentBytes"] = base64.StdEncoding.EncodeToString(a.content)
		}
		return c.q.project(out)
	}
	switch {
	case len(rest) == 0 && c.method == http.MethodGet:
		var out []map[string]any
		for _, a := range e.attachments {
			out = append(out, render(a, len(c.q.sel) == 0))
		}
		return ok(map[string]any{"value": nonNil(out)})
	case len(rest) == 0 && c.method == http.MethodPost:
		body, aerr := readBody(c.body)
		if aerr != nil {
			return fail(aerr)
		}
		a, aerr := c.s.newAttachment(body)
		if aerr != nil {
			return fail(aerr)
		}
		e.attachments = append(e.attachments, a)
		c.s.touch(c.m, e)
		return response{status: http.StatusCreated, body: render(a, false)}
	}
	if len(rest) == 1 && rest[0] == "createUploadSession" && c.method == http.MethodPost {
		return c.createUploadSession(msgID)
	}
	var a *attachment
	for _, x := range e.attachments {
		if x.id == rest[0] {
			a = x
		}
	}
	if a == nil {
		return fail(notFound())
	}
	switch {
	case len(rest) == 1 && c.method == http.MethodGet:
		return ok(render(a, true))
	case len(rest) == 2 && rest[1] == "$value" && c.method == http.MethodGet:
		// No Content-Length: the raw body goes chunked (see writeChunked).
		h := http.Header{}
		h.Set("Content-Type", a.contentType)
		return response{status: http.StatusOK, body: a.content, header: h}
	}
	return c.notAllowed()
}
