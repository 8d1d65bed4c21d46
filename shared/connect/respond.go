package connect

import (
	"context"
	"encoding/json"
	"errors"
	"html/template"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/crmsync/crmsync/shared/connection"
)

// refusal is a failure the user can act on: msg is shown to them, reason
// goes to the log. Neither holds a credential.
type refusal struct {
	status int // for JSON answers; 0 = 400
	code   string
	msg    string
	reason string
}

// Refuse is a provider's failure the user can act on (see Provider's
// Connection): msg is shown to the user, reason goes to the log; neither may
// hold a credential. status is for JSON answers (0 = 400), code the answer's
// error code.
func Refuse(status int, code, msg, reason string) error {
	return &refusal{status: status, code: code, msg: msg, reason: reason}
}

func (e *refusal) Error() string { return "connect: " + e.reason }

// userMessage turns an error into a sentence for the user, logging what
// they should not see.
func (h *Handler) userMessage(ctx context.Context, user string, p connection.Provider, err error) string {
	var rf *refusal
	if errors.As(err, &rf) {
		h.log.InfoContext(ctx, "connect refused", "user", user, "provider", string(p), "reason", rf.reason)
		return rf.msg
	}
	h.log.ErrorContext(ctx, "connect failed", "user", user, "provider", string(p), "error", err)
	return "crmsync could not save the " + h.title(p) + " connection. Try again in a few minutes."
}

// save stores a connection, refusing to swap a connection to one org or
// tenant for another: links and change cursors belong to the old one, and
// resuming them against different data would be wrong.
func (h *Handler) save(ctx context.Context, c connection.Connection, cred connection.Credentials) error {
	old, err := h.opts.Connections.Get(ctx, c.User, c.Provider)
	reconnect := err == nil
	switch {
	case err == nil && old.Tenant != c.Tenant:
		what := "organisation"
		if prov := h.provider(c.Provider); prov != nil {
			what = prov.TenantName()
		}
		return &refusal{status: http.StatusConflict, code: "other_tenant",
			msg:    "This crmsync account syncs with another " + what + ". Remove that connection first, then connect the new one.",
			reason: "reconnect to a different tenant"}
	case err != nil && !errors.Is(err, connection.ErrNotFound):
		return err
	}
	if _, err := h.opts.Connections.Save(ctx, c, cred); err != nil {
		return err
	}
	h.log.InfoContext(ctx, "connected", "user", c.User, "provider", string(c.Provider), "flow", string(c.Flow),
		"tenant", c.Tenant, "reconnect", reconnect)
	return nil
}

var pageTmpl = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}} · crmsync</title></head>
<body><main><h1>{{.Title}}</h1><p id="message">{{.Message}}</p><p><a href="{{.Back}}">Back to the dashboard</a></p></main></body></html>
`))

// page answers a browser navigation that cannot go back to the overview.
func (h *Handler) page(w http.ResponseWriter, status int, title, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = pageTmpl.Execute(w, struct{ Title, Message, Back string }{title, msg, h.opts.OverviewURL})
}

// overview sends the browser back to the dashboard overview with the
// outcome: ?connect=<provider>&result=ok, or result=error and a message
// (always one of ours, never a provider's text or a stack).
func (h *Handler) overview(w http.ResponseWriter, r *http.Request, p connection.Provider, errMsg string) {
	q := url.Values{"connect": {string(p)}, "result": {"ok"}}
	if errMsg != "" {
		q.Set("result", "error")
		q.Set("message", errMsg)
	}
	sep := "?"
	if strings.Contains(h.opts.OverviewURL, "?") {
		sep = "&"
	}
	http.Redirect(w, r, h.opts.OverviewURL+sep+q.Encode(), http.StatusSeeOther)
}

// maxBody bounds a POST body: the largest is an admin's list of addresses.
const maxBody = 256 << 10

// post wraps a state-changing route: a signed-in user, the CSRF check, a
// bounded body.
func (h *Handler) post(fn func(w http.ResponseWriter, r *http.Request, user, org string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, org, ok := h.opts.CurrentUser(r)
		if !ok {
			writeJSON(w, http.StatusUnauthorized, errorBody{Error: "unauthenticated", Message: "sign in to the crmsync dashboard first"})
			return
		}
		// Bound the body first: a CSRF check may read a form field.
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		if err := h.opts.CSRF.CheckCSRF(r); err != nil {
			h.log.InfoContext(r.Context(), "connect: CSRF check failed", "user", user)
			writeJSON(w, http.StatusForbidden, errorBody{Error: "csrf", Message: "the request lacks a valid CSRF token; reload the page"})
			return
		}
		fn(w, r, user, org)
	})
}

type errorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, user string, p connection.Provider, err error) {
	var rf *refusal
	if errors.As(err, &rf) {
		h.log.InfoContext(r.Context(), "connect refused", "user", user, "provider", string(p), "reason", rf.reason)
		status, code := rf.status, rf.code
		if status == 0 {
			status = http.StatusBadRequest
		}
		if code == "" {
			code = "refused"
		}
		writeJSON(w, status, errorBody{Error: code, Message: rf.msg})
		return
	}
	writeJSON(w, http.StatusInternalServerError, errorBody{Error: "internal", Message: h.userMessage(r.Context(), user, p, err)})
}

// decode reads a JSON body into v, or hands a form body to the form
// callback.
func decode(r *http.Request, v any, form func(url.Values)) error {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		// Unknown fields are ignored: the page may send its CSRF token in
		// the body too.
		if err := json.NewDecoder(r.Body).Decode(v); err != nil {
			return &refusal{code: "bad_request", msg: "the request body is not the JSON this route expects", reason: "bad JSON body"}
		}
		return nil
	}
	if err := r.ParseForm(); err != nil {
		return &refusal{code: "bad_request", msg: "the request body cannot be read", reason: "bad form body"}
	}
	form(r.PostForm)
	return nil
}
