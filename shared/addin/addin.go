// Package addin is the backend API of crmsync's Outlook add-in: the CRM
// records behind an e-mail's people, search, create and edit of any object
// (validated against describe), pre-fill from a signature, share an e-mail
// now (once, however often the button is pressed), file upload and Chatter.
//
// Every route needs a bearer token that the injected Authenticator accepts;
// CRM data is read and written with the calling user's own CRM credentials
// (CRMOpener). Nothing the add-in sends is stored: the only rows written are
// a keyed hash of a shared message's id and the Task id it became.
package addin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/crmsync/crmsync/shared/tablestore"
)

// Authenticator checks a request's bearer token and names its crmsync user
// and org. Any error means the request is not authenticated.
type Authenticator interface {
	Authenticate(r *http.Request) (user, org string, err error)
}

// AuthenticatorFunc adapts a function to Authenticator.
type AuthenticatorFunc func(r *http.Request) (user, org string, err error)

// Authenticate calls f.
func (f AuthenticatorFunc) Authenticate(r *http.Request) (string, string, error) { return f(r) }

// Limits of the API.
const (
	// PeopleChunk is how many addresses (or account ids) go into one CRM
	// lookup: a SOQL IN list of 100 addresses stays far below the query
	// length limit.
	PeopleChunk = 100
	// MaxPeople caps the addresses of one /people call (a large
	// distribution list is not a reading pane).
	MaxPeople = 500
	// PerAccount bounds the open Opportunities and Cases listed per account.
	PerAccount = 5
	// DefaultMaxUpload is the file upload limit when Config.MaxUpload is 0
	// (Outlook's own attachment limit for most tenants is 35 MB).
	DefaultMaxUpload = 35 << 20
	// DefaultDescribeTTL is how long describe results are cached per user.
	DefaultDescribeTTL = 15 * time.Minute
	// maxJSON caps JSON request bodies; a shared e-mail's text is the largest.
	maxJSON = 4 << 20
)

// Config wires an API.
type Config struct {
	Auth Authenticator
	CRM  CRMOpener
	// CRMName is the CRM's display name the pane words itself with
	// (side.Connector.Name; "" = "the CRM").
	CRMName string
	// ShareCategory is the mailbox category that shares an item into the
	// CRM, as the deployment's sync looks for it ("" = "Salesforce"); the
	// pane gives it to a meeting or e-mail it shares.
	ShareCategory string
	// Store holds the share idempotency rows (table SharesTable).
	Store tablestore.Store
	// ShareKey keys the hash of shared message ids (at least 16 bytes), so
	// the stored hash reveals nothing about the message.
	ShareKey []byte
	// MaxUpload caps one uploaded file (0 = DefaultMaxUpload).
	MaxUpload int64
	// DescribeTTL is how long describe results are cached (0 = default).
	DescribeTTL time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Log gets diagnostics; never tokens, bodies or addresses.
	Log *slog.Logger
}

// API is the add-in backend, an http.Handler serving the paths of Routes().
type API struct {
	cfg      Config
	mux      *http.ServeMux
	log      *slog.Logger
	now      func() time.Time
	describe *describeCache
}

// New checks cfg and returns the API.
func New(cfg Config) (*API, error) {
	var errs []error
	if cfg.Auth == nil {
		errs = append(errs, errors.New("config: Auth is required"))
	}
	if cfg.CRM == nil {
		errs = append(errs, errors.New("config: CRM is required"))
	}
	if cfg.Store == nil {
		errs = append(errs, errors.New("config: Store is required"))
	}
	if len(cfg.ShareKey) < 16 {
		errs = append(errs, fmt.Errorf("ShareKey must be at least 16 bytes, got %d", len(cfg.ShareKey)))
	}
	if cfg.MaxUpload < 0 {
		errs = append(errs, errors.New("MaxUpload must not be negative"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("addin: %w", errors.Join(errs...))
	}
	if cfg.MaxUpload == 0 {
		cfg.MaxUpload = DefaultMaxUpload
	}
	if cfg.DescribeTTL == 0 {
		cfg.DescribeTTL = DefaultDescribeTTL
	}
	a := &API{cfg: cfg, log: cfg.Log, now: cfg.Now}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	a.describe = newDescribeCache(cfg.DescribeTTL, a.now)
	a.mux = http.NewServeMux()
	handlers := a.handlers()
	for _, rt := range Routes() {
		h, ok := handlers[rt.Key()]
		if !ok {
			return nil, fmt.Errorf("addin: route %s has no handler", rt.Key())
		}
		a.mux.Handle(rt.Key(), a.authenticated(h))
	}
	return a, nil
}

// ServeHTTP serves the routes of Routes(); paths keep their /api/addin prefix.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

type callerKey struct{}

// caller is the authenticated user of a request.
type caller struct{ user, org string }

func callerOf(ctx context.Context) caller { c, _ := ctx.Value(callerKey{}).(caller); return c }

// authenticated answers 401 with a Bearer challenge unless the Authenticator
// accepts the request.
func (a *API) authenticated(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, org, err := a.cfg.Auth.Authenticate(r)
		if err != nil || user == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="crmsync", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "unauthenticated", "a valid bearer token is required")
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, caller{user: user, org: org})))
	})
}

// openCRM opens the caller's CRM, answering the request itself on failure.
func (a *API) openCRM(w http.ResponseWriter, r *http.Request) (CRM, bool) {
	crm, err := a.cfg.CRM.OpenCRM(r.Context(), callerOf(r.Context()).user)
	if err != nil {
		a.crmError(w, r, "open CRM", err)
		return nil, false
	}
	return crm, true
}
