// Package connect is how users and admins connect their CRM and mailbox to
// crmsync for sync: the dashboard's "Connect" routes over the connectors'
// providers (Provider: OAuth authorization code with PKCE, plus each
// provider's own routes, such as admin provisioning) and the password
// services (Password). The providers themselves live in the vendors'
// packages; this package names none of them.
//
// Every connection ends in connection.Store.Save, which seals the credentials;
// a reconnect is the same Save and clears "needs reconnect", and the injected
// OnConnected hook then lets the user's sync resume where it stopped.
// Credentials never reach a log line or an HTTP response.
package connect

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// DefaultPrefix is where the dashboard mounts the Handler.
const DefaultPrefix = "/api/dashboard/connect"

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
	// Providers are the connectors' OAuth providers (see Provider), in
	// route order. A typed nil pointer is a provider that is not configured,
	// if its type says so (its routes then answer "not configured").
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
	// providers are Options.Providers, in route order.
	providers []Provider
	sealer    cookieSealer
	mux       *http.ServeMux
	log       *slog.Logger
}

// New checks opts and returns the Handler; the error names every missing
// or bad setting.
func New(opts Options) (*Handler, error) {
	var bad []string
	providers := slices.Clone(opts.Providers)
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
