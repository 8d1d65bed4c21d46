package dashboard_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/local/fakesalesforce"
	"github.com/crmsync/crmsync/local/idp"
	"github.com/crmsync/crmsync/shared/access"
	"github.com/crmsync/crmsync/shared/account"
	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/dashboard"
	"github.com/crmsync/crmsync/shared/identity"
	"github.com/crmsync/crmsync/shared/insight"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/keyring"
	"github.com/crmsync/crmsync/shared/msgraph"
	"github.com/crmsync/crmsync/shared/notice"
	"github.com/crmsync/crmsync/shared/queue"
	"github.com/crmsync/crmsync/shared/reconcile"
	"github.com/crmsync/crmsync/shared/salesforce"
	"github.com/crmsync/crmsync/shared/schedule"
	"github.com/crmsync/crmsync/shared/session"
	"github.com/crmsync/crmsync/shared/sides"
	"github.com/crmsync/crmsync/shared/tablestore"
	"github.com/crmsync/crmsync/shared/tracking"
	"github.com/crmsync/crmsync/shared/webguard"
)

const (
	orgA   = "org-a"
	orgOps = "org-ops"
	// The seeded secrets: no response may carry any of them.
	refreshToken = "rt-SEEDED-SECRET-0123456789"
	// sfPassword is the user's local Salesforce password, seeded too.
	sfPassword  = "sf-SEEDED-SECRET-9876543210"
	sfUser      = "user@a.example"
	issueName   = "Jane Roe (Acme)"
	issueReason = "Salesforce refused the record: a required field (Last Name) is empty"
)

// fixture is a dashboard over the real account, schedule, access, identity
// (sessions, sign-in through the local identity provider and the local
// Salesforce) and connection packages on one embedded store. HTTP-level tests
// hold a real session cookie minted by identity for the caller (cookieFor);
// browser tests sign in by clicking through the providers.
type fixture struct {
	tables  *tablestore.Embedded
	q       *queue.Embedded
	sched   *schedule.Scheduler
	grants  *access.Store
	users   *identity.Users
	conns   *connection.Store
	acc     *account.Accounts
	h       *dashboard.Handler
	srv     *httptest.Server
	now     time.Time
	user    access.Principal // a user of org A with seeded state
	peer    access.Principal // another user of org A
	admin   access.Principal // org A's admin
	support access.Principal // support staff with the support role on org A
	other   access.Principal // admin of org B
	// sf is the local Salesforce the user is connected to (user sfID),
	// read for the contact scope's list views and estimate.
	sf    *fakesalesforce.Server
	sfID  string
	sfURL string
	// sessions are identity's real session cookies; idp is the local
	// identity provider ("Sign in with Microsoft") whose users are the
	// fixture's principals, with their addresses.
	sessions *identity.Sessions
	idp      *idp.Server
	// posts records the Origin and Sec-Fetch-Site of every POST the server
	// received (observed, never set by a test).
	mu    sync.Mutex
	posts []postSeen
	// cals are the mailbox calendars the settings page lists (calendars_test.go).
	cals *fakeCalendars
	// insight is the history, progress and conflict store (history_test.go).
	insight *insight.Store
	// notices keeps the notification choices (history_test.go).
	notices *notice.Notifier
	// tracker is open tracking (opt-in); subjects stands in for the
	// user's Sent Items (tracked_test.go).
	tracker  *tracking.Tracker
	subjects *fakeSubjects
	// integrations stands in for the change detector's integration
	// connections and the connect flow's admin route (integration_test.go).
	integrations *fakeIntegrations
}

// postSeen is what a browser said about where a POST came from.
type postSeen struct{ Path, Origin, Site string }

// postsSeen returns the POSTs received so far.
func (f *fixture) postsSeen() []postSeen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.posts)
}

// testCookie is the session cookie's name: identity's default, __Host-.
const testCookie = "__Host-crmsync"

// sessionKey signs the fixture's session cookies.
var sessionKey = []byte("dashboard-test-session-key-0123456789")

// tokenSessions derives CSRF tokens; they depend only on the key and the
// session's secret, which cookieFor makes "secret-of-<user>".
var tokenSessions = func() *identity.Sessions {
	s, err := identity.NewSessions(identity.SessionConfig{Key: sessionKey})
	if err != nil {
		panic(err)
	}
	return s
}()

// csrfFor is the CSRF token of the session cookieFor gives user.
func csrfFor(user string) string {
	return tokenSessions.CSRFToken(identity.Session{CSRF: "secret-of-" + user})
}

// cookieFor is a real session cookie for p, as identity's sign-in would set.
func (f *fixture) cookieFor(t testing.TB, p access.Principal) *http.Cookie {
	t.Helper()
	now := f.now.Unix()
	v, err := f.sessions.Encode(identity.Session{User: p.User, Org: p.Org, Issued: now, Seen: now, CSRF: "secret-of-" + p.User})
	if err != nil {
		t.Fatal(err)
	}
	return &http.Cookie{Name: testCookie, Value: v}
}

func newFixture(t testing.TB) *fixture { return newFixtureOver(t, nil) }

// newFixtureOver is newFixture with the table store wrapped by wrap (nil =
// none), for benchmarks that count table operations.
func newFixtureOver(t testing.TB, wrap func(tablestore.Store) tablestore.Store) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	tables, err := tablestore.OpenEmbedded(filepath.Join(dir, "tables.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tables.Close() })
	q, err := queue.OpenEmbedded(filepath.Join(dir, "queue.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	ring, err := keyring.OpenFileRing(filepath.Join(dir, "keys", "ring.json"))
	if err != nil {
		t.Fatal(err)
	}
	// The clock starts at the real time (to the second): the browser test's
	// Chromium drops a session cookie whose Expires lies in its past.
	f := &fixture{tables: tables, q: q, now: time.Now().UTC().Truncate(time.Second), integrations: &fakeIntegrations{}}
	var store tablestore.Store = tables
	if wrap != nil {
		store = wrap(tables)
	}
	clock := func() time.Time { return f.now }
	f.sched = schedule.New(store, q)
	f.sched.Debounce = time.Minute
	f.grants = access.NewStore(store, clock)
	f.users = identity.NewUsers(store, f.grants, clock)
	f.conns = connection.NewStore(store, ring, connection.Options{Now: clock})
	f.acc, err = account.New(account.Deps{
		Tables: store, Sealer: account.KeysSealer{Keys: ring}, Scheduler: f.sched, Grants: f.grants,
		Connections: f.conns, Identities: f.users,
		Forget:    []account.Deleter{account.DeleterFunc(func(context.Context, string) error { return nil })},
		Directory: f.users, Now: clock,
		CRM: salesforce.Connector, Mailbox: msgraph.Connector,
	})
	if err != nil {
		t.Fatal(err)
	}
	signUp := func(org, subject, email string) access.Principal {
		p, _, err := f.users.SignIn(ctx, identity.Identity{Kind: identity.Entra, Org: org, Subject: subject})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.acc.Register(ctx, p, email); err != nil {
			t.Fatal(err)
		}
		return p
	}
	f.user = signUp(orgA, "s-user", "user@a.example")
	f.peer = signUp(orgA, "s-peer", "peer@a.example")
	f.admin = signUp(orgA, "s-admin", "admin@a.example")
	f.support = signUp(orgOps, "s-support", "support@ops.example")
	f.other = signUp("org-b", "s-other", "other@b.example")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err = f.grants.Add(ctx, access.Principal{}, access.Grant{Principal: f.admin, Role: access.RoleOrgAdmin, Resource: access.Org(orgA)})
	must(err)
	_, err = f.grants.Add(ctx, access.Principal{}, access.Grant{Principal: f.support, Role: access.RoleSupport, Resource: access.Org(orgA)})
	must(err)
	_, err = f.grants.Add(ctx, access.Principal{}, access.Grant{Principal: f.other, Role: access.RoleOrgAdmin, Resource: access.Org("org-b")})
	must(err)

	// The user's sync: connected to Salesforce, Microsoft needing a
	// reconnect, a finished session, an open issue, a schedule.
	f.sf, err = fakesalesforce.New(fakesalesforce.Options{Now: clock, DailyLimit: 1_000_000})
	must(err)
	sfSrv := httptest.NewServer(f.sf)
	t.Cleanup(sfSrv.Close)
	f.sfURL = sfSrv.URL
	f.sfID, err = f.sf.AddUser(fakesalesforce.User{Username: sfUser, Password: sfPassword, Email: sfUser, FirstName: "Uma", LastName: "User"})
	must(err)
	_, err = f.conns.Save(ctx, connection.Connection{User: f.user.User, Provider: connection.Salesforce, Tenant: f.sf.OrgID(),
		InstanceURL: sfSrv.URL, Flow: connection.FlowPassword}, connection.Credentials{Username: sfUser, Password: sfPassword})
	must(err)
	opener := &sides.Opener{Connections: f.conns, Mailbox: &msgraph.Opener{Log: slog.New(slog.DiscardHandler)},
		CRM: &salesforce.Opener{Log: slog.New(slog.DiscardHandler), Now: clock,
			OAuth: &oauth2.Config{ClientID: "crmsync-local", Endpoint: oauth2.Endpoint{TokenURL: sfSrv.URL + "/services/oauth2/token", AuthStyle: oauth2.AuthStyleInParams}}}}
	_, err = f.conns.Save(ctx, connection.Connection{User: f.user.User, Provider: connection.Microsoft, Tenant: "tid", Flow: connection.FlowAuthCode}, connection.Credentials{RefreshToken: refreshToken + "-ms"})
	must(err)
	must(f.conns.MarkNeedsReconnect(ctx, f.user.User, connection.Microsoft, "Microsoft revoked the sign-in"))
	must(f.sched.Enroll(ctx, f.user.User, "free", f.now.Add(10*time.Minute)))
	st := session.NewState(store, f.user.User)
	must(st.RaiseIssues(ctx, []session.Issue{{Kind: item.Contact, Side: reconcile.CRM, RecordID: "003000000000001", Name: issueName, Code: "invalid", Reason: issueReason}}, f.now.Add(-time.Hour)))
	must(st.SaveReport(ctx, session.Report{SessionID: "s1", Reason: "schedule", Started: f.now.Add(-30 * time.Minute), Duration: 1500 * time.Millisecond,
		Outcome: "partial", Detail: "1 item failed", Counts: map[string]int{"contact|to-mailbox|create": 12, "task|to-crm|update": 3}}))
	lease, err := session.AcquireLease(ctx, store, f.user.User, "worker", time.Minute, f.now.Add(-30*time.Minute))
	must(err)
	must(lease.Release(ctx, session.Report{Started: f.now.Add(-30 * time.Minute), Duration: 1500 * time.Millisecond, Outcome: "partial", Detail: "1 item failed", Issues: 1,
		Counts: map[string]int{"contact|to-mailbox|create": 12, "task|to-crm|update": 3}}))
	_, err = f.acc.FingerprintKey(ctx, f.user.User)
	must(err)

	// The dashboard's server starts first: sign-in needs its URL.
	f.srv = httptest.NewUnstartedServer(nil)
	f.srv.Start()
	t.Cleanup(f.srv.Close)
	var idpSrv *httptest.Server
	f.idp, idpSrv, err = idp.NewHTTPTest(idp.WithClock(clock), idp.WithUsers(
		idp.User{ID: "s-user", Name: "Uma User", Tenant: orgA, Email: "user@a.example"},
		idp.User{ID: "s-admin", Name: "Ada Admin", Tenant: orgA, Email: "admin@a.example"},
		idp.User{ID: "s-peer", Name: "Pat Peer", Tenant: orgA, Email: "peer@a.example"},
	))
	must(err)
	t.Cleanup(idpSrv.Close)
	f.sessions, err = identity.NewSessions(identity.SessionConfig{Key: sessionKey, Now: clock, Refuse: dashboard.Refuse})
	must(err)
	authBase := f.srv.URL + dashboard.Prefix + "/auth/"
	signIn, err := identity.NewSignIn(f.sessions, f.users, store, []identity.Provider{
		{Name: "microsoft", Kind: identity.Entra, Authority: f.idp.Authority("organizations"), ClientID: idp.DemoClientID,
			RedirectURL: authBase + "microsoft/callback", AnyTenant: true},
		{Name: "salesforce", Kind: identity.Salesforce, Authority: sfSrv.URL, ClientID: "crmsync-local",
			RedirectURL: authBase + "salesforce/callback", AnyTenant: true},
	}, identity.SignInOptions{Now: clock, Home: dashboard.Prefix + "/overview", SignedOut: dashboard.Prefix + "/?msg=signedout",
		Refuse: dashboard.Refuse, OnSignIn: func(ctx context.Context, p access.Principal, id identity.Identity, created bool) error {
			return f.acc.Register(ctx, p, id.Email)
		}})
	must(err)

	checker := access.NewChecker(f.grants)
	f.cals = &fakeCalendars{}
	f.insight = insight.New(store, f.acc.OrgOf, nil, clock)
	f.tracker, err = tracking.New(tracking.Config{Store: store, Auth: tracking.FromPrincipal, Key: []byte("tracking-test-key-0123456789abcdef"),
		BaseURL: "https://crmsync.example", OptIn: true, Now: clock})
	must(err)
	f.subjects = &fakeSubjects{}
	f.notices, err = notice.New(notice.Deps{Tables: store, Mailer: noMail{}, Profiles: f.acc, Connections: f.conns, Now: clock})
	must(err)
	f.h, err = dashboard.New(dashboard.Deps{
		Accounts: f.acc, Scheduler: f.sched, Connections: f.conns, Tables: store,
		Checker: checker, Directory: f.acc, Grants: access.NewAdmin(f.grants, checker, f.acc, nil),
		CSRF: dashboard.IdentityCSRF{Sessions: f.sessions}, Authenticate: f.sessions.Middleware, Scopes: sides.ContactScopes{Opener: opener}, Calendars: f.cals, AdminRights: sides.AdminRights{Opener: opener},
		Insight: f.insight, Notices: f.notices, Names: salesforce.RecordNames{Client: func(ctx context.Context, user string) (*salesforce.Client, error) {
			c, err := opener.Usable(ctx, user, string(connection.Salesforce))
			if err != nil {
				return nil, err
			}
			s, err := opener.CRM.(*salesforce.Opener).OpenSide(ctx, f.conns, c)
			if err != nil {
				return nil, err
			}
			return s.Client(), nil
		}},
		Tracking: f.tracker, Subjects: f.subjects, Welcome: f.insight,
		EndSession: f.sessions.End,
		SignIn:     dashboard.SignInHandlers{Login: signIn.Login(), Callback: signIn.Callback(), Logout: signIn.Logout()},
		Connect: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/integration") {
				f.integrations.connect(w, r) // integration_test.go
				return
			}
			io.WriteString(w, "connect flow")
		}),
		Integrations: f.integrations,
		AdminPages:   []dashboard.AdminPage{{Title: "The vendor's delegation page", Path: "/admin/vendor"}}, // adminpages_test.go
		CRM:          salesforce.Connector, Mailbox: msgraph.Connector,
		Log: slog.New(slog.DiscardHandler), Now: clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Served as in production: behind webguard's page headers (CSP with
	// form-action 'self', the referrer policy, frame denial).
	page := webguard.Headers{}.Page(f.h)
	f.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			f.mu.Lock()
			f.posts = append(f.posts, postSeen{Path: r.URL.Path, Origin: r.Header.Get("Origin"), Site: r.Header.Get("Sec-Fetch-Site")})
			f.mu.Unlock()
		}
		page.ServeHTTP(w, r)
	})
	return f
}

// call sends one request as who (zero = anonymous), with the CSRF header
// when csrf is set, and returns the status and body.
func (f *fixture) call(t testing.TB, who access.Principal, method, path, body string, csrf bool) (int, string, http.Header) {
	t.Helper()
	path = strings.ReplaceAll(path, "{user}", f.user.User)
	path = strings.ReplaceAll(path, "{org}", orgA)
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if strings.HasPrefix(body, "{") {
		req.Header.Set("Content-Type", "application/json")
	} else if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if !who.Anonymous() {
		req.AddCookie(f.cookieFor(t, who))
		if csrf {
			req.Header.Set("X-CSRF-Token", csrfFor(who.User))
		}
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String(), rec.Header()
}

func tableQuery() tablestore.Query { return tablestore.Query{} }
