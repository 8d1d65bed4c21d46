package connect

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/shared/connection"
)

// This file is the kit a provider's own routes are built with (see
// Provider): the same sign-in, CSRF, answers, saving and admin-list
// handling the built-in flows use, so a connector's routes behave like
// every other connect route without this package naming the connector.

// Post wraps a provider's state-changing route: a signed-in user, the CSRF
// check and a bounded body; fn gets the user and their org.
func (h *Handler) Post(fn func(w http.ResponseWriter, r *http.Request, user, org string)) http.Handler {
	return h.post(fn)
}

// Fail answers a JSON route with err: a Refuse error's status, code and
// message, anything else a 500 with a generic sentence (logged).
func (h *Handler) Fail(w http.ResponseWriter, r *http.Request, user string, p connection.Provider, err error) {
	h.fail(w, r, user, p, err)
}

// Save stores a connection, refusing a reconnect to another tenant (see
// save).
func (h *Handler) Save(ctx context.Context, c connection.Connection, cred connection.Credentials) error {
	return h.save(ctx, c, cred)
}

// Connected runs the OnConnected hook after a successful connect; an error
// means sync did not resume (already logged).
func (h *Handler) Connected(ctx context.Context, user string, p connection.Provider) error {
	return h.connected(ctx, user, p)
}

// OAuthContext is ctx carrying the handler's HTTP client for oauth2.
func (h *Handler) OAuthContext(ctx context.Context) context.Context { return h.oauthCtx(ctx) }

// HTTPClient is the client that carries token requests and API checks.
func (h *Handler) HTTPClient() *http.Client { return h.opts.HTTPClient }

// Now is the handler's clock.
func (h *Handler) Now() time.Time { return h.opts.Now() }

// Clock is the handler's clock function (Options.Now).
func (h *Handler) Clock() func() time.Time { return h.opts.Now }

// Logger is the handler's logger.
func (h *Handler) Logger() *slog.Logger { return h.log }

// CanResolve reports whether admin routes can find provisioned users
// (Options.ResolveUser is set).
func (h *Handler) CanResolve() bool { return h.opts.ResolveUser != nil }

// Resolve finds the crmsync user of an address in the admin's org; reason
// is "" or why the line failed, shown to the admin.
func (h *Handler) Resolve(ctx context.Context, org, address string) (user, reason string) {
	return h.resolve(ctx, org, address)
}

// Integrations is Options.Integrations (nil: not configured).
func (h *Handler) Integrations() IntegrationRegistrar { return h.opts.Integrations }

// WriteJSON answers with v as JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) { writeJSON(w, status, v) }

// WriteError answers with the connect routes' error body
// {"error": code, "message": msg}.
func WriteError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, errorBody{Error: code, Message: msg})
}

// Decode reads a JSON body into v, or hands a form body to form; its error
// is a Refuse error.
func Decode(r *http.Request, v any, form func(url.Values)) error { return decode(r, v, form) }

// ErrorCode is an OAuth error's code, safe to log and show.
func ErrorCode(err error) string { return errorCode(err) }

// SafeCode keeps an OAuth error code loggable: letters, digits and _ only.
func SafeCode(code string) string { return safeCode(code) }

// RefusalMessage is the user's sentence of a Refuse error in err's chain.
func RefusalMessage(err error) (string, bool) {
	var rf *refusal
	if errors.As(err, &rf) {
		return rf.msg, true
	}
	return "", false
}

// Missing lists what's empty among fields as "what.Name is empty", sorted:
// a provider's Check.
func Missing(what string, fields map[string]string) []string { return missing(what, fields) }

// StringExtra is a token response's string field.
func StringExtra(tok *oauth2.Token, key string) string {
	s, _ := tok.Extra(key).(string)
	return s
}

// Line is one parsed line of an admin's list: "address[, extra]".
type Line struct {
	N       int
	Address string
	Extra   string
}

// LineResult is the outcome of one line of an admin request. Address is the
// admin's own input echoed back to them; it is never logged.
type LineResult struct {
	Line    int    `json:"line"`
	Address string `json:"address"`
	User    string `json:"user,omitempty"`
	Error   string `json:"error,omitempty"`
}

// maxLines bounds one admin request (each line costs provider calls), like
// account.MaxProvision.
const maxLines = 500

type linesRequest struct {
	Lines []string `json:"lines"`
}

// ReadLines reads "address[, second]" lines from {"lines": [...]} or a
// form's "lines" text area.
func ReadLines(r *http.Request) ([]Line, error) {
	var req linesRequest
	if err := decode(r, &req, func(f url.Values) { req.Lines = strings.Split(f.Get("lines"), "\n") }); err != nil {
		return nil, err
	}
	var out []Line
	for i, raw := range req.Lines {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		a, b, _ := strings.Cut(raw, ",")
		out = append(out, Line{N: i + 1, Address: strings.TrimSpace(a), Extra: strings.TrimSpace(b)})
	}
	switch {
	case len(out) == 0:
		return nil, &refusal{code: "bad_request", msg: "the list is empty: put one address per line", reason: "no lines"}
	case len(out) > maxLines:
		return nil, &refusal{code: "bad_request", msg: "more than 500 lines in one request; split the list", reason: "too many lines"}
	}
	return out, nil
}

// WriteLines answers an admin list with each line's outcome and the counts.
func WriteLines(w http.ResponseWriter, results []LineResult) {
	ok := 0
	for _, r := range results {
		if r.Error == "" {
			ok++
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": results, "connected": ok, "failed": len(results) - ok})
}

// ValidAddress is a light check of an e-mail-shaped name (a UPN or a
// CRM username): the providers have the last word.
func ValidAddress(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	return ok && local != "" && strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && len(s) <= 256 &&
		!strings.ContainsAny(domain, "@") && !strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '<' || r == '>' })
}

// resolve finds the crmsync user of an address in the admin's org.
func (h *Handler) resolve(ctx context.Context, org, address string) (string, string) {
	if !ValidAddress(address) {
		return "", "not an e-mail address"
	}
	u, ok, err := h.opts.ResolveUser(ctx, org, address)
	switch {
	case err != nil:
		h.log.ErrorContext(ctx, "connect: resolving a user", "org", org, "error", err)
		return "", "could not look the address up; try again"
	case !ok:
		return "", "no crmsync user with this address in your organisation; provision it first"
	}
	return u, ""
}

// IntegrationRegistrar keeps an organisation's integration connection — the
// one the organisation-level change detector queries through
// (orgwatch.Integrations). tenant is the crmsync organisation of the admin
// who set it up; c.Tenant is the CRM's organisation.
type IntegrationRegistrar interface {
	Register(ctx context.Context, tenant string, c connection.Connection, cred connection.Credentials) (connection.Connection, error)
}
