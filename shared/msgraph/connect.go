package msgraph

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/crmsync/crmsync/shared/connect"
	"github.com/crmsync/crmsync/shared/connection"
)

// App is crmsync's app registration in Microsoft Entra ID, and Microsoft
// 365's way of connecting (connect.Provider): the user's authorization-code
// flow with PKCE and the admin's app-only mailbox onboarding.
//
// A nil *App is a provider that is not configured: it offers no user flow
// and its own route answers that it is not configured, so the route table
// is the same whatever is configured.
type App struct {
	ClientID     string
	ClientSecret string
	// Authority is https://login.microsoftonline.com, or the local Graph's
	// base URL (its identity endpoints live at /{tenant}/oauth2/v2.0/…).
	Authority string
	// Tenant is "organizations" for any work account (multi-tenant) or one
	// tenant id. App-only onboarding needs a tenant id: the app acts in
	// that tenant only.
	Tenant string
	// RedirectURL is the absolute URL of {prefix}/microsoft/callback.
	RedirectURL string
	// Scopes default to DefaultScopes.
	Scopes []string
	// GraphURL is Graph's base including the version
	// ("https://graph.microsoft.com/v1.0" when empty).
	GraphURL string
	// AppScope is what app-only tokens are asked for
	// ("https://graph.microsoft.com/.default" when empty).
	AppScope string
}

var _ connect.Provider = (*App)(nil)

// DefaultScopes are the delegated permissions sync needs, plus openid so
// the token response names the tenant and user (tid, oid), and Mail.Send so
// that, without a service mailbox, notifications go from the user's own
// mailbox to themselves (shared/notice.OwnMailbox).
var DefaultScopes = []string{"openid", "offline_access", "User.Read", "Contacts.ReadWrite",
	"Calendars.ReadWrite", "Tasks.ReadWrite", "Mail.ReadWrite", "MailboxSettings.ReadWrite", "Mail.Send"}

func (m *App) endpoint(tenant string) oauth2.Endpoint {
	base := strings.TrimRight(m.Authority, "/") + "/" + url.PathEscape(tenant) + "/oauth2/v2.0"
	return oauth2.Endpoint{AuthURL: base + "/authorize", TokenURL: base + "/token", AuthStyle: oauth2.AuthStyleInParams}
}

func (m *App) graph() string {
	if m.GraphURL == "" {
		return "https://graph.microsoft.com/v1.0"
	}
	return strings.TrimRight(m.GraphURL, "/")
}

// OAuth2 returns the delegated client configuration, for
// connection.Store.TokenSource (Opener.OAuth).
func (m *App) OAuth2() *oauth2.Config {
	scopes := m.Scopes
	if len(scopes) == 0 {
		scopes = DefaultScopes
	}
	return &oauth2.Config{ClientID: m.ClientID, ClientSecret: m.ClientSecret, RedirectURL: m.RedirectURL,
		Scopes: scopes, Endpoint: m.endpoint(m.Tenant)}
}

// AppOnly returns the client-credentials configuration for app-only access
// to the mailboxes an admin onboarded. It needs a tenant id and a secret.
func (m *App) AppOnly() (*clientcredentials.Config, error) {
	if !isTenantID(m.Tenant) {
		return nil, fmt.Errorf("connect: app-only access needs Microsoft.Tenant to be a tenant id, not %q", m.Tenant)
	}
	if m.ClientSecret == "" {
		return nil, errors.New("connect: app-only access needs Microsoft.ClientSecret")
	}
	scope := m.AppScope
	if scope == "" {
		scope = "https://graph.microsoft.com/.default"
	}
	return &clientcredentials.Config{ClientID: m.ClientID, ClientSecret: m.ClientSecret,
		TokenURL: m.endpoint(m.Tenant).TokenURL, Scopes: []string{scope}, AuthStyle: oauth2.AuthStyleInParams}, nil
}

// AppOnlySource returns a self-renewing app-only token source
// (Opener.AppOnly). ctx carries the HTTP client (oauth2.HTTPClient) and
// must outlive the source.
func (m *App) AppOnlySource(ctx context.Context) (oauth2.TokenSource, error) {
	cfg, err := m.AppOnly()
	if err != nil {
		return nil, err
	}
	return cfg.TokenSource(ctx), nil
}

// isTenantID reports whether t names one tenant (a GUID or a verified
// domain) rather than a multi-tenant alias.
func isTenantID(t string) bool {
	switch strings.ToLower(t) {
	case "", "common", "organizations", "consumers":
		return false
	}
	return true
}

// ID implements connect.Provider.
func (m *App) ID() connection.Provider { return connection.Microsoft }

// Name implements connect.Provider.
func (m *App) Name() string { return "Microsoft 365" }

// TenantName implements connect.Provider.
func (m *App) TenantName() string { return "Microsoft 365 organisation" }

// Check implements connect.Provider.
func (m *App) Check() []string {
	if m == nil {
		return nil
	}
	return connect.Missing("Microsoft", map[string]string{"ClientID": m.ClientID, "Authority": m.Authority,
		"Tenant": m.Tenant, "RedirectURL": m.RedirectURL})
}

// UserFlow implements connect.Provider. The user picks the mailbox rather
// than silently reusing whichever account the browser is signed in with.
func (m *App) UserFlow() (*oauth2.Config, []oauth2.AuthCodeOption) {
	if m == nil {
		return nil, nil
	}
	return m.OAuth2(), []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("prompt", "select_account")}
}

// Routes implements connect.Provider: the admin's app-only mailbox
// onboarding.
func (m *App) Routes(h *connect.Handler) []connect.Route {
	return []connect.Route{{Method: "POST", Path: "/admin/microsoft/app-only", Admin: true,
		Handler: h.Post(func(w http.ResponseWriter, r *http.Request, admin, org string) { m.adminAppOnly(h, w, r, admin, org) })}}
}

// Connection implements connect.Provider: it reads who connected from a
// Microsoft token response — the tenant and user from the id_token's tid
// and oid claims, else the configured single tenant — and proves the token
// reaches the user's mailbox with GET /me before anything is saved.
//
// The id_token's signature is not checked here: it came straight from the
// token endpoint over TLS in the code exchange, which OpenID Connect Core
// §3.1.3.7 accepts in place of the signature. Nothing here signs anyone in.
func (m *App) Connection(ctx context.Context, h *connect.Handler, user string, tok *oauth2.Token) (connection.Connection, error) {
	tenant, oid := idTokenTenant(connect.StringExtra(tok, "id_token"))
	if tenant == "" && isTenantID(m.Tenant) {
		tenant = m.Tenant
	}
	if tenant == "" {
		return connection.Connection{}, connect.Refuse(http.StatusBadGateway, "bad_provider_answer",
			"Microsoft did not say which organisation the account belongs to, so nothing was connected. Try again.",
			"no tenant in the token response")
	}
	me, status, err := m.graphGet(ctx, h, tok.AccessToken, "/me?$select=id")
	switch {
	case err != nil:
		return connection.Connection{}, err
	case status != http.StatusOK:
		return connection.Connection{}, connect.Refuse(http.StatusBadGateway, "mailbox_unreachable",
			"The Microsoft 365 account connected, but its mailbox could not be reached (Graph answered "+http.StatusText(status)+"). Check that the account has an Exchange Online mailbox.",
			"GET /me answered "+http.StatusText(status))
	}
	var who struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(me, &who) != nil || who.ID == "" || oid != "" && !strings.EqualFold(oid, who.ID) {
		return connection.Connection{}, connect.Refuse(http.StatusBadGateway, "bad_provider_answer",
			"Microsoft's answer could not be verified, so nothing was connected. Try again.", "GET /me disagrees with the id_token")
	}
	scopes := strings.Fields(connect.StringExtra(tok, "scope"))
	if len(scopes) == 0 {
		scopes = m.OAuth2().Scopes
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
func (m *App) graphGet(ctx context.Context, h *connect.Handler, accessToken, path string) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.graph()+path, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", "application/json")
	resp, err := h.HTTPClient().Do(req)
	if err != nil {
		return nil, 0, connect.Refuse(http.StatusBadGateway, "unavailable",
			"Microsoft Graph could not be reached. Try again in a few minutes.", "graph request failed")
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
func (m *App) adminAppOnly(h *connect.Handler, w http.ResponseWriter, r *http.Request, admin, org string) {
	p := connection.Microsoft
	if m == nil || !h.CanResolve() {
		connect.WriteError(w, http.StatusNotFound, "not_configured", "app-only onboarding is not configured")
		return
	}
	cfg, err := m.AppOnly()
	if err != nil {
		h.Logger().ErrorContext(r.Context(), "connect: app-only onboarding misconfigured", "error", err)
		connect.WriteError(w, http.StatusNotFound, "not_configured", "app-only onboarding needs the app's tenant id and client secret in crmsync's settings")
		return
	}
	lines, err := connect.ReadLines(r)
	if err != nil {
		h.Fail(w, r, admin, p, err)
		return
	}
	ctx := r.Context()
	tok, err := cfg.Token(h.OAuthContext(ctx))
	if err != nil {
		code := connect.ErrorCode(err)
		h.Logger().WarnContext(ctx, "connect: app-only token refused", "admin", admin, "code", code)
		connect.WriteError(w, http.StatusBadGateway, "app_token_refused",
			"Microsoft Entra ID gave crmsync no app-only token ("+code+"). Check the app's client secret, its application permissions and the admin consent.")
		return
	}
	results := make([]connect.LineResult, 0, len(lines))
	for _, l := range lines {
		res := connect.LineResult{Line: l.N, Address: l.Address}
		var reason string
		res.User, reason = h.Resolve(ctx, org, l.Address)
		if reason == "" {
			reason = m.onboardMailbox(ctx, h, tok.AccessToken, res.User, l.Address, cfg.Scopes)
		}
		res.Error = reason
		if reason == "" {
			h.Logger().InfoContext(ctx, "connect: mailbox onboarded app-only", "admin", admin, "user", res.User)
		}
		results = append(results, res)
	}
	connect.WriteLines(w, results)
}

// onboardMailbox checks the app reaches upn's mailbox and saves the
// connection; it returns "" or why the line failed.
func (m *App) onboardMailbox(ctx context.Context, h *connect.Handler, appToken, user, upn string, scopes []string) string {
	_, status, err := m.graphGet(ctx, h, appToken, "/users/"+url.PathEscape(upn)+"/mailFolders/inbox?$select=id")
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
	c := connection.Connection{User: user, Provider: connection.Microsoft, Tenant: m.Tenant,
		Flow: connection.FlowClientCredentials, Scopes: scopes}
	if err := h.Save(ctx, c, connection.Credentials{Username: upn}); err != nil {
		if msg, ok := connect.RefusalMessage(err); ok {
			return msg
		}
		h.Logger().ErrorContext(ctx, "connect: saving an app-only connection", "user", user, "error", err)
		return "could not save the connection; try again"
	}
	if h.Connected(ctx, user, connection.Microsoft) != nil {
		return "connected, but sync could not be resumed yet"
	}
	return ""
}
