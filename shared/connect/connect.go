// Package connect is how users and admins connect Salesforce and Microsoft 365
// to crmsync for sync: the dashboard's "Connect" routes (OAuth authorization
// code with PKCE for both, Salesforce's legacy username-password flow, and
// two admin routes — Salesforce JWT bearer provisioning and Microsoft app-only
// mailbox onboarding), the token sources for the app-level flows, and the
// revokers account deletion uses.
//
// Every connection ends in connection.Store.Save, which seals the credentials;
// a reconnect is the same Save and clears "needs reconnect", and the injected
// OnConnected hook then lets the user's sync resume where it stopped.
// Credentials never reach a log line or an HTTP response.
package connect

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// DefaultPrefix is where the dashboard mounts the Handler.
const DefaultPrefix = "/api/dashboard/connect"

// Salesforce is crmsync's External Client App in Salesforce.
type Salesforce struct {
	ClientID string
	// ClientSecret is "" for a public client (PKCE only). When set, token
	// responses' signatures are checked with it.
	ClientSecret string
	// LoginURL is https://login.salesforce.com, https://test.salesforce.com,
	// a My Domain URL, or the local Salesforce's base URL. It is also the JWT
	// bearer audience.
	LoginURL string
	// RedirectURL is the absolute URL of {prefix}/salesforce/callback.
	RedirectURL string
	// Scopes default to "api refresh_token offline_access".
	Scopes []string
	// JWTKey signs JWT bearer assertions for admin-provisioned users; the app
	// holds its certificate. nil turns the JWT bearer route off.
	JWTKey *rsa.PrivateKey
}

// DefaultSalesforceScopes are what a user's Salesforce connection asks for:
// API access and a refresh token.
var DefaultSalesforceScopes = []string{"api", "refresh_token", "offline_access"}

func (s *Salesforce) base() string { return strings.TrimRight(s.LoginURL, "/") }

// OAuth2 returns the client configuration that redeems codes and refreshes
// tokens, for connection.Store.TokenSource (salesforce.Opener.OAuth).
func (s *Salesforce) OAuth2() *oauth2.Config {
	scopes := s.Scopes
	if len(scopes) == 0 {
		scopes = DefaultSalesforceScopes
	}
	return &oauth2.Config{
		ClientID: s.ClientID, ClientSecret: s.ClientSecret, RedirectURL: s.RedirectURL, Scopes: scopes,
		Endpoint: oauth2.Endpoint{
			AuthURL:  s.base() + "/services/oauth2/authorize",
			TokenURL: s.base() + "/services/oauth2/token",
			// Salesforce takes the client credentials in the form; probing
			// (the zero value) would send a failing first request.
			AuthStyle: oauth2.AuthStyleInParams,
		},
	}
}

// Microsoft is crmsync's app registration in Microsoft Entra ID.
type Microsoft struct {
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
	// Scopes default to DefaultMicrosoftScopes.
	Scopes []string
	// GraphURL is Graph's base including the version
	// ("https://graph.microsoft.com/v1.0" when empty).
	GraphURL string
	// AppScope is what app-only tokens are asked for
	// ("https://graph.microsoft.com/.default" when empty).
	AppScope string
}

// DefaultMicrosoftScopes are the delegated permissions sync needs, plus
// openid so the token response names the tenant and user (tid, oid), and
// Mail.Send so that, without a service mailbox, notifications go from the
// user's own mailbox to themselves (shared/notice.OwnMailbox).
var DefaultMicrosoftScopes = []string{"openid", "offline_access", "User.Read", "Contacts.ReadWrite",
	"Calendars.ReadWrite", "Tasks.ReadWrite", "Mail.ReadWrite", "MailboxSettings.ReadWrite", "Mail.Send"}

func (m *Microsoft) endpoint(tenant string) oauth2.Endpoint {
	base := strings.TrimRight(m.Authority, "/") + "/" + url.PathEscape(tenant) + "/oauth2/v2.0"
	return oauth2.Endpoint{AuthURL: base + "/authorize", TokenURL: base + "/token", AuthStyle: oauth2.AuthStyleInParams}
}

func (m *Microsoft) graph() string {
	if m.GraphURL == "" {
		return "https://graph.microsoft.com/v1.0"
	}
	return strings.TrimRight(m.GraphURL, "/")
}

// OAuth2 returns the delegated client configuration, for
// connection.Store.TokenSource (msgraph.Opener.OAuth).
func (m *Microsoft) OAuth2() *oauth2.Config {
	scopes := m.Scopes
	if len(scopes) == 0 {
		scopes = DefaultMicrosoftScopes
	}
	return &oauth2.Config{ClientID: m.ClientID, ClientSecret: m.ClientSecret, RedirectURL: m.RedirectURL,
		Scopes: scopes, Endpoint: m.endpoint(m.Tenant)}
}

// AppOnly returns the client-credentials configuration for app-only access
// to the mailboxes an admin onboarded. It needs a tenant id and a secret.
func (m *Microsoft) AppOnly() (*clientcredentials.Config, error) {
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
// (msgraph.Opener.AppOnly). ctx carries the HTTP client
// (oauth2.HTTPClient) and must outlive the source.
func (m *Microsoft) AppOnlySource(ctx context.Context) (oauth2.TokenSource, error) {
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

// CSRF checks a state-changing request's CSRF token; the dashboard's
// session layer implements it. A non-nil error refuses the request.
type CSRF interface {
	CheckCSRF(r *http.Request) error
}

// CSRFFunc adapts a function to CSRF.
type CSRFFunc func(r *http.Request) error

// CheckCSRF calls f.
func (f CSRFFunc) CheckCSRF(r *http.Request) error { return f(r) }

// Options configure a Handler. Connections, Tables, StateKey, CurrentUser
// and CSRF are required, and at least one provider.
type Options struct {
	// Salesforce and Microsoft are the built-in providers (nil: not
	// configured).
	Salesforce *Salesforce
	Microsoft  *Microsoft
	// Providers are further connectors' providers (see Provider).
	Providers []Provider
	// Passwords are the services connected with a stored host, user name
	// and password (password.go).
	Passwords []Password
	// CSRFToken returns the signed-in user's CSRF token, for the password
	// forms (nil: the forms carry none and the CSRF check must pass on
	// Sec-Fetch-Site and Origin alone).
	CSRFToken func(r *http.Request) string

	Connections *connection.Store
	// Tables holds the single-use state of connects in progress (StateTable).
	Tables tablestore.Store
	// StateKey (at least 32 random bytes) seals the browser's pending-connect
	// cookie.
	StateKey []byte
	// CurrentUser names the signed-in user and their org.
	CurrentUser func(r *http.Request) (user, org string, ok bool)
	CSRF        CSRF
	// OnConnected runs after every successful connect or reconnect, so the
	// user's sync resumes (schedule.Scheduler.SetPaused false + RequestNow).
	OnConnected func(ctx context.Context, user string) error
	// ResolveUser finds the crmsync user an admin provisioned for an address
	// in their org (account.Accounts.ClaimInvite). nil turns the admin
	// routes off.
	ResolveUser func(ctx context.Context, org, email string) (user string, ok bool, err error)
	// Integrations keeps organisations' integration connections for the
	// change detector; nil turns its admin route off.
	Integrations IntegrationRegistrar

	// Prefix is where the handler is mounted (DefaultPrefix when empty).
	Prefix string
	// OverviewURL is the dashboard page the browser returns to
	// ("/api/dashboard/" when empty).
	OverviewURL string
	// HTTPClient carries token requests and API checks (nil =
	// http.DefaultClient).
	HTTPClient *http.Client
	Now        func() time.Time
	Logger     *slog.Logger
}

// Handler serves the connect routes (see routes.go).
type Handler struct {
	opts Options
	// providers are the built-in providers (nil pointers when not
	// configured) and Options.Providers, in route order.
	providers []Provider
	sealer    cookieSealer
	mux       *http.ServeMux
	log       *slog.Logger
}

// New checks opts and returns the Handler; the error names every missing
// or bad setting.
func New(opts Options) (*Handler, error) {
	var bad []string
	// The built-in providers come first, configured or not (their routes
	// answer "not configured"), then the connectors' own.
	providers := append([]Provider{opts.Salesforce, opts.Microsoft}, opts.Providers...)
	configured := 0
	seen := map[connection.Provider]bool{}
	for _, p := range providers {
		if p == nil {
			bad = append(bad, "a nil entry in Providers")
			continue
		}
		if seen[p.ID()] {
			bad = append(bad, "provider "+string(p.ID())+" given twice")
		}
		seen[p.ID()] = true
		bad = append(bad, p.Check()...)
		if cfg, _ := p.UserFlow(); cfg != nil {
			configured++
		}
	}
	for _, p := range opts.Passwords {
		if p.Provider == "" || p.Name == "" || p.Check == nil {
			bad = append(bad, fmt.Sprintf("password service %q lacks its provider, name or check", p.Provider))
			continue
		}
		configured++
	}
	if configured == 0 {
		bad = append(bad, "no provider (OAuth or password service) configured")
	}
	if opts.Connections == nil {
		bad = append(bad, "Connections is nil")
	}
	if opts.Tables == nil {
		bad = append(bad, "Tables is nil")
	}
	if len(opts.StateKey) < 32 {
		bad = append(bad, "StateKey must hold at least 32 bytes")
	}
	if opts.CurrentUser == nil {
		bad = append(bad, "CurrentUser is nil")
	}
	if opts.CSRF == nil {
		bad = append(bad, "CSRF is nil")
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("connect: %s", strings.Join(bad, "; "))
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	opts.Prefix = strings.TrimRight(opts.Prefix, "/")
	if opts.OverviewURL == "" {
		opts.OverviewURL = "/api/dashboard/"
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = http.DefaultClient
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{opts: opts, providers: providers, sealer: newCookieSealer(opts.StateKey), log: opts.Logger}
	h.mux = http.NewServeMux()
	for _, r := range h.routes() {
		h.mux.Handle(r.Method+" "+opts.Prefix+r.Path, r.Handler)
	}
	return h, nil
}

func missing(what string, fields map[string]string) []string {
	var out []string
	for name, v := range fields {
		if v == "" {
			out = append(out, what+"."+name+" is empty")
		}
	}
	slices.Sort(out)
	return out
}

// ServeHTTP answers one request under the prefix.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	h.mux.ServeHTTP(w, r)
}

// oauthCtx makes oauth2 use the configured HTTP client.
func (h *Handler) oauthCtx(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, h.opts.HTTPClient)
}

// connected runs the OnConnected hook; its failure does not undo the saved
// connection, but the user is told sync did not resume.
func (h *Handler) connected(ctx context.Context, user string, p connection.Provider) error {
	if h.opts.OnConnected == nil {
		return nil
	}
	if err := h.opts.OnConnected(ctx, user); err != nil {
		h.log.ErrorContext(ctx, "connect: resuming sync after connect failed", "user", user, "provider", string(p), "error", err)
		return err
	}
	return nil
}
