package connect

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/shared/connection"
)

// microsoftConnection reads who connected from a Microsoft token response:
// the tenant and user from the id_token's tid and oid claims, else the
// configured single tenant; and it proves the token reaches the user's
// mailbox with GET /me before anything is saved.
//
// The id_token's signature is not checked here: it came straight from the
// token endpoint over TLS in the code exchange, which OpenID Connect Core
// §3.1.3.7 accepts in place of the signature. Nothing here signs anyone in.
func (h *Handler) microsoftConnection(ctx context.Context, user string, tok *oauth2.Token) (connection.Connection, error) {
	ms := h.opts.Microsoft
	tenant, oid := idTokenTenant(stringExtra(tok, "id_token"))
	if tenant == "" && isTenantID(ms.Tenant) {
		tenant = ms.Tenant
	}
	if tenant == "" {
		return connection.Connection{}, &refusal{status: http.StatusBadGateway, code: "bad_provider_answer",
			msg:    "Microsoft did not say which organisation the account belongs to, so nothing was connected. Try again.",
			reason: "no tenant in the token response"}
	}
	me, status, err := h.graphGet(ctx, tok.AccessToken, "/me?$select=id")
	switch {
	case err != nil:
		return connection.Connection{}, err
	case status != http.StatusOK:
		return connection.Connection{}, &refusal{status: http.StatusBadGateway, code: "mailbox_unreachable",
			msg:    "The Microsoft 365 account connected, but its mailbox could not be reached (Graph answered " + http.StatusText(status) + "). Check that the account has an Exchange Online mailbox.",
			reason: "GET /me answered " + http.StatusText(status)}
	}
	var who struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(me, &who) != nil || who.ID == "" || oid != "" && !strings.EqualFold(oid, who.ID) {
		return connection.Connection{}, &refusal{status: http.StatusBadGateway, code: "bad_provider_answer",
			msg: "Microsoft's answer could not be verified, so nothing was connected. Try again.", reason: "GET /me disagrees with the id_token"}
	}
	scopes := strings.Fields(stringExtra(tok, "scope"))
	if len(scopes) == 0 {
		scopes = ms.OAuth2().Scopes
	}
	return connection.Connection{User: user, Provider: connection.Microsoft, Tenant: tenant, Flow: connection.FlowAuthCode, Scopes: scopes}, nil
}

// idTokenTenant reads tid and oid from an id_token's payload.
func idTokenTenant(raw string) (tid, oid string) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return "", ""
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", ""
	}
	var c struct {
		TID string `json:"tid"`
		OID string `json:"oid"`
	}
	if json.Unmarshal(b, &c) != nil {
		return "", ""
	}
	return c.TID, c.OID
}

// graphGet calls Graph with an access token and returns the body (at most
// 64 KiB) and status. Only transport failures are errors.
func (h *Handler) graphGet(ctx context.Context, accessToken, path string) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.opts.Microsoft.graph()+path, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", "application/json")
	resp, err := h.opts.HTTPClient.Do(req)
	if err != nil {
		return nil, 0, &refusal{status: http.StatusBadGateway, code: "unavailable",
			msg: "Microsoft Graph could not be reached. Try again in a few minutes.", reason: "graph request failed"}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return b, resp.StatusCode, nil
}

// adminAppOnly answers POST {prefix}/admin/microsoft/app-only: for each
// line (a mailbox's UPN, which is also its crmsync user's address) it checks
// with the app-only token that the app may reach the mailbox — an Exchange
// application access policy or RBAC for Applications scope decides that —
// and saves a client_credentials connection for that user.
func (h *Handler) adminAppOnly(w http.ResponseWriter, r *http.Request, admin, org string) {
	p := connection.Microsoft
	if h.opts.Microsoft == nil || h.opts.ResolveUser == nil {
		writeJSON(w, http.StatusNotFound, errorBody{Error: "not_configured", Message: "app-only onboarding is not configured"})
		return
	}
	cfg, err := h.opts.Microsoft.AppOnly()
	if err != nil {
		h.log.ErrorContext(r.Context(), "connect: app-only onboarding misconfigured", "error", err)
		writeJSON(w, http.StatusNotFound, errorBody{Error: "not_configured", Message: "app-only onboarding needs the app's tenant id and client secret in crmsync's settings"})
		return
	}
	lines, err := readLines(r)
	if err != nil {
		h.fail(w, r, admin, p, err)
		return
	}
	ctx := r.Context()
	tok, err := cfg.Token(h.oauthCtx(ctx))
	if err != nil {
		code := errorCode(err)
		h.log.WarnContext(ctx, "connect: app-only token refused", "admin", admin, "code", code)
		writeJSON(w, http.StatusBadGateway, errorBody{Error: "app_token_refused",
			Message: "Microsoft Entra ID gave crmsync no app-only token (" + code + "). Check the app's client secret, its application permissions and the admin consent."})
		return
	}
	results := make([]lineResult, 0, len(lines))
	ok := 0
	for _, l := range lines {
		res := lineResult{Line: l.n, Address: l.address}
		var reason string
		res.User, reason = h.resolve(ctx, org, l.address)
		if reason == "" {
			reason = h.onboardMailbox(ctx, tok.AccessToken, res.User, l.address, cfg.Scopes)
		}
		res.Error = reason
		if reason == "" {
			ok++
			h.log.InfoContext(ctx, "connect: mailbox onboarded app-only", "admin", admin, "user", res.User)
		}
		results = append(results, res)
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": results, "connected": ok, "failed": len(results) - ok})
}

// onboardMailbox checks the app reaches upn's mailbox and saves the
// connection; it returns "" or why the line failed.
func (h *Handler) onboardMailbox(ctx context.Context, appToken, user, upn string, scopes []string) string {
	_, status, err := h.graphGet(ctx, appToken, "/users/"+url.PathEscape(upn)+"/mailFolders/inbox?$select=id")
	switch {
	case err != nil:
		return "Microsoft Graph could not be reached; try again"
	case status == http.StatusNotFound:
		return "no mailbox with this address in the tenant"
	case status == http.StatusForbidden:
		return "the app may not access this mailbox: add it to the application access policy or the RBAC for Applications scope"
	case status == http.StatusUnauthorized:
		return "Microsoft Graph refused the app-only token"
	case status != http.StatusOK:
		return "Microsoft Graph answered " + http.StatusText(status) + "; try again"
	}
	c := connection.Connection{User: user, Provider: connection.Microsoft, Tenant: h.opts.Microsoft.Tenant,
		Flow: connection.FlowClientCredentials, Scopes: scopes}
	if err := h.save(ctx, c, connection.Credentials{Username: upn}); err != nil {
		var rf *refusal
		if errors.As(err, &rf) {
			return rf.msg
		}
		h.log.ErrorContext(ctx, "connect: saving an app-only connection", "user", user, "error", err)
		return "could not save the connection; try again"
	}
	if h.connected(ctx, user, connection.Microsoft) != nil {
		return "connected, but sync could not be resumed yet"
	}
	return ""
}
