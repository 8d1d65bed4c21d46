// Package dashboard is crmsync's self-service dashboard: server-rendered pages
// (html/template, one small embedded script and stylesheet, nothing from the
// internet, readable without JavaScript) and a JSON API for the same, all in
// one route table (routes.go) that every request passes through access.Guard.
//
// A signed-in user sees their connections, when the last and next sync ran
// and what moved, every open issue with the item's name and the reason, and
// can sync now, pause, resume, change settings and delete the account. An org
// admin lists the org's users, provisions many at once and manages grants;
// support reads status and issues only.
//
// Who is signed in comes from an injected middleware (shared/identity's
// session cookie) that puts an access.Principal in the request context; every
// state-changing request must also carry the CSRF token (header X-CSRF-Token
// or form field csrf_token), checked through the injected CSRF interface.
package dashboard

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/access"
	"github.com/crmsync/crmsync/shared/account"
	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/schedule"
	"github.com/crmsync/crmsync/shared/side"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// Prefix is where the Functions host serves the dashboard (route
// "dashboard/{*path}" under the default "api" prefix).
const Prefix = "/api/dashboard"

// Accounts is what the dashboard needs from shared/account.
type Accounts interface {
	Settings(ctx context.Context, user string) (account.Settings, error)
	SaveSettings(ctx context.Context, user string, s account.Settings) error
	Profile(ctx context.Context, user string) (account.Profile, error)
	Members(ctx context.Context, org string) ([]account.Profile, error)
	Provision(ctx context.Context, actor access.Principal, org string, lines []string, plan string) ([]account.Provisioned, error)
	Delete(ctx context.Context, actor access.Principal, user string) error
}

// Scheduler is what the dashboard needs from shared/schedule.
type Scheduler interface {
	Get(ctx context.Context, user string) (schedule.Entry, error)
	SetPaused(ctx context.Context, user string, paused bool) error
	RequestNow(ctx context.Context, user string, reason schedule.Reason, now time.Time) error
}

// Connections lists a user's connections (connection.Store). The values it
// returns carry no credential; the dashboard shows provider and status only.
type Connections interface {
	List(ctx context.Context, user string) ([]connection.Connection, error)
}

// CSRF issues and checks the token that state-changing requests carry.
// shared/identity's Sessions back it (see IdentityCSRF).
type CSRF interface {
	// Token returns the token for the request's session ("" when anonymous).
	Token(r *http.Request) string
	// Verify returns nil when the request carries the session's token in the
	// X-CSRF-Token header or the csrf_token form field.
	Verify(r *http.Request) error
}

// GrantAdmin serves the grant administration API (access.Admin).
type GrantAdmin interface {
	ListGrants() http.Handler
	AddGrant() http.Handler
	RemoveGrant() http.Handler
	ListAudit() http.Handler
}

// Deps are the dashboard's collaborators; all but Log and Now are required.
type Deps struct {
	Accounts    Accounts
	Scheduler   Scheduler
	Connections Connections
	// Tables is read for sync state: issues, session results, the last
	// session (shared/session's tables).
	Tables tablestore.Store
	// Checker and Directory authorize every route (access.Guard), and tell
	// pages which actions to offer.
	Checker   *access.Checker
	Directory access.Directory
	Grants    GrantAdmin
	CSRF      CSRF
	// Authenticate puts the signed-in principal into the request context
	// (identity.Sessions.Middleware); it wraps the whole dashboard.
	Authenticate func(http.Handler) http.Handler
	// EndSession clears the session cookie after account deletion
	// (identity.Sessions.End).
	EndSession func(http.ResponseWriter)
	// SignIn serves /auth/{provider}/login, /auth/{provider}/callback and
	// POST /auth/logout (identity.SignIn's handlers).
	SignIn SignInHandlers
	// Connect starts and completes connecting a provider
	// (/connect/{provider}…), served by the connection flows.
	Connect http.Handler
	// Scopes offers the user's Contact list views and the estimate beside
	// the contact scope setting (nil: a text box for the id, unchecked).
	Scopes ContactScopes
	// Calendars lists the user's mailbox calendars for the choice of which
	// sync (nil: a text box for calendar ids).
	Calendars MailboxCalendars
	// CRM and Mailbox are the connectors of the two sides: their custom
	// field checks and the mailbox fields a mapping may name.
	CRM, Mailbox side.Connector
	// AdminRights tells whether a user holds an administrator right in a
	// service they connected, which making them an organisation admin
	// requires (admins.go; nil: not checked, for tests of other pages).
	AdminRights AdminRights
	// Insight serves history, live progress and the conflict log (nil: those
	// pages answer "not configured" and the overview shows no progress bar).
	Insight Insight
	// Tracking is the user's open tracking and Subjects reads tracked
	// messages' subjects live (nil: no tracked e-mails page).
	Tracking TrackedMail
	Subjects MessageSubjects
	// Names reads record names live for the conflict log (nil: ids only).
	Names RecordNames
	// Welcome keeps the first-run wizard's scope step (nil: no wizard).
	Welcome Welcomer
	// Notices stores which e-mails a user gets (nil: no notifications page).
	Notices NoticePrefs
	// Integrations reads and removes the organisation's integration
	// connections for the change detector; their set-up is Connect's admin
	// route (nil: no change detection page).
	Integrations Integrations
	// AdminPages are the connectors' own organisation admin pages, served
	// by Connect's admin route (Google's domain-wide delegation): the
	// organisation page links them for its admins (nil: none).
	AdminPages []AdminPage
	// Providers are the sign-in buttons, in order (default Microsoft, Salesforce).
	Providers []Provider
	Log       *slog.Logger
	Now       func() time.Time
}

// AdminPage is one organisation admin page a connector declares. The
// dashboard names no vendor: the title is the connector's.
type AdminPage struct {
	// Title is the link's words.
	Title string
	// Path is the page's path under Prefix+"/connect" (its connect.Route
	// Path, "/admin/…"). The page serves the signed-in admin's own
	// organisation.
	Path string
}

// SignInHandlers are shared/identity's sign-in handlers.
type SignInHandlers struct {
	Login, Callback, Logout http.Handler
}

// Provider is one "Sign in with …" button.
type Provider struct {
	// Name is the route segment (/auth/{Name}/login).
	Name  string
	Label string
}

// Handler serves the dashboard. Construct with New.
type Handler struct {
	d    Deps
	mux  http.Handler
	page *pages
	// names are the connectors' display names for the pages' words.
	names sideNames
}

// New returns the dashboard handler, or an error naming what is wrong with
// the route table.
func New(d Deps) (*Handler, error) {
	var missing []string
	for _, dep := range []struct {
		name string
		ok   bool
	}{{"Accounts", d.Accounts != nil}, {"Scheduler", d.Scheduler != nil}, {"Connections", d.Connections != nil}, {"Tables", d.Tables != nil},
		{"Checker", d.Checker != nil}, {"Directory", d.Directory != nil}, {"CSRF", d.CSRF != nil}, {"Authenticate", d.Authenticate != nil}} {
		if !dep.ok {
			missing = append(missing, dep.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("dashboard: New needs %s", strings.Join(missing, ", "))
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Providers == nil {
		d.Providers = []Provider{{Name: "microsoft", Label: "Sign in with Microsoft"}, {Name: "salesforce", Label: "Sign in with Salesforce"}}
	}
	names := namesOf(d.CRM, d.Mailbox)
	h := &Handler{d: d, names: names, page: newPages(names)}
	mux, err := access.MuxWith(d.Checker, d.Directory, d.Log, h.Routes(), h.refuse)
	if err != nil {
		return nil, err
	}
	h.mux = d.Authenticate(h.signInFirst(mux))
	return h, nil
}

// refuse answers the guard's refusals: JSON for the API, else a page.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	if isAPI(r) || r.Header.Get("Accept") == "application/json" {
		writeJSON(w, status, map[string]string{"error": code, "message": msg})
		return
	}
	h.renderError(w, r, status, msg)
}

// ServeHTTP serves one request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mux.ServeHTTP(w, r)
}

// Routes returns the route table of a dashboard with no dependencies, for
// the authorization matrix test (which replaces every handler).
func Routes() []access.Route {
	names := namesOf(side.Connector{}, side.Connector{})
	h := &Handler{d: Deps{Log: slog.New(slog.DiscardHandler), Now: time.Now}, names: names, page: newPages(names)}
	return h.Routes()
}

func (h *Handler) allowed(ctx context.Context, p access.Permission, res access.Resource) bool {
	if h.d.Checker == nil {
		return false
	}
	return h.d.Checker.Check(ctx, access.PrincipalFrom(ctx), p, res) == nil
}

// target is the resource the guard authorized for this request.
func target(r *http.Request) access.Resource {
	res, _ := access.ResourceFrom(r.Context())
	return res
}

// signInFirst sends an anonymous browser asking for a page to the sign-in
// page instead of answering 401: the API and public paths pass through. A
// browser posting a form without a session (it expired while the form was
// open, or the user signed out in another tab) gets the sign-in page with
// what happened: nothing was changed, sign in and do it again.
func (h *Handler) signInFirst(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if access.PrincipalFrom(r.Context()).Anonymous() && !isAPI(r) && !publicPage(r.URL.Path) {
			switch {
			case r.Method == http.MethodGet || r.Method == http.MethodHead:
				// The page asked for comes back after sign-in (identity
				// checks the return path again).
				http.Redirect(w, r, Prefix+"/?return="+url.QueryEscape(r.URL.Path), http.StatusSeeOther)
				return
			case wantsHTML(r):
				d := h.data(r, "Sign in", "")
				d.Error = "Your session ended before this form was sent, so nothing was changed. Sign in again, then repeat the change."
				h.render(w, http.StatusUnauthorized, "signin", d)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func publicPage(path string) bool {
	return path == Prefix || path == Prefix+"/" || strings.HasPrefix(path, Prefix+"/static/") || strings.HasPrefix(path, Prefix+"/auth/") ||
		!strings.HasPrefix(path, Prefix+"/")
}

func isAPI(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, Prefix+"/v1/") }
