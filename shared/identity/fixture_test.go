package identity_test

import (
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/idp"
	"github.com/crmsync/crmsync/shared/access"
	"github.com/crmsync/crmsync/shared/identity"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// clock is a settable test clock shared by the provider and crmsync.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var (
	keyOnce sync.Once
	testKey *rsa.PrivateKey
)

// sharedKey spares each test a 2048-bit key generation.
func sharedKey(t testing.TB) *rsa.PrivateKey {
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		testKey = k
	})
	return testKey
}

const (
	tenantA     = "aaaaaaaa-1111-4111-8111-111111111111"
	tenantB     = "bbbbbbbb-2222-4222-8222-222222222222"
	sfOrg       = "00D000000000001EAA"
	userA       = "0000000a-0000-4000-8000-00000000000a"
	userB       = "0000000b-0000-4000-8000-00000000000b"
	sfUser      = "005000000000001AAA"
	dashboard   = "crmsync-dashboard"
	appOrigin   = "https://app.test"
	apiAudience = "api://crmsync-test"
)

var sessionKey = []byte("0123456789abcdef0123456789abcdef")

type fixture struct {
	idp      *idp.Server
	idpURL   string
	clock    *clock
	tables   *tablestore.Embedded
	grants   *access.Store
	users    *identity.Users
	sessions *identity.Sessions
	signin   *identity.SignIn
	app      http.Handler
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{clock: &clock{t: time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)}, tables: openStore(t)}
	p, ts, err := idp.NewHTTPTest(
		idp.WithKey(sharedKey(t)),
		idp.WithClock(f.clock.Now),
		idp.WithUsers(
			idp.User{ID: userA, Name: "Ann", Tenant: tenantA},
			idp.User{ID: userB, Name: "Bob", Tenant: tenantB},
			idp.User{ID: sfUser, Name: "Sal", Tenant: sfOrg},
		),
		idp.WithClients(idp.Client{ID: dashboard, Secret: "s3cret", RedirectURIs: []string{
			appOrigin + "/auth/entra/callback", appOrigin + "/auth/salesforce/callback",
		}}),
		idp.WithAPI(apiAudience, apiAudience),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ts.Close)
	f.idp, f.idpURL = p, ts.URL
	f.grants = access.NewStore(f.tables, f.clock.Now)
	f.users = identity.NewUsers(f.tables, f.grants, f.clock.Now)
	f.sessions, err = identity.NewSessions(identity.SessionConfig{Key: sessionKey, Origins: []string{appOrigin}, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	f.signin, err = identity.NewSignIn(f.sessions, f.users, f.tables, []identity.Provider{
		{Name: "entra", Kind: identity.Entra, Authority: p.Authority("organizations"), ClientID: dashboard, ClientSecret: "s3cret",
			RedirectURL: appOrigin + "/auth/entra/callback", AllowedTenants: []string{tenantA}},
		{Name: "salesforce", Kind: identity.Salesforce, Authority: p.SalesforceIssuer(), ClientID: dashboard, ClientSecret: "s3cret",
			RedirectURL: appOrigin + "/auth/salesforce/callback", AllowedTenants: []string{sfOrg}},
	}, identity.SignInOptions{HTTPClient: ts.Client(), Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("hello " + access.PrincipalFrom(r.Context()).User))
	})
	routes := []access.Route{
		{Method: "GET", Path: "/auth/{provider}/login", Resource: access.Public, Handler: f.signin.Login()},
		{Method: "GET", Path: "/auth/{provider}/callback", Resource: access.Public, Handler: f.signin.Callback()},
		{Method: "GET", Path: "/api/me", Permission: access.StatusRead, Resource: access.OwnUser, Handler: ok},
		{Method: "POST", Path: "/api/me/settings", Permission: access.SettingsWrite, Resource: access.OwnUser, Handler: ok},
		{Method: "GET", Path: "/api/csrf", Permission: access.StatusRead, Resource: access.OwnUser, Handler: f.sessions.CSRFHandler()},
	}
	mux, err := access.Mux(access.NewChecker(f.grants), f.users, nil, routes)
	if err != nil {
		t.Fatal(err)
	}
	f.app = f.sessions.Middleware(mux)
	return f
}

// serve runs one request against the app with the given cookies.
func (f *fixture) serve(method, target string, cookies []*http.Cookie, hdr map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	f.app.ServeHTTP(rec, req)
	return rec
}

// startLogin runs the app's login and the provider's authorize step (the
// user picked via login_hint) and returns the callback URL and the pending
// cookie.
func (f *fixture) startLogin(t *testing.T, provider, user string) (string, []*http.Cookie) {
	t.Helper()
	rec := f.serve("GET", "/auth/"+provider+"/login?return=/settings", nil, nil)
	if rec.Code != http.StatusFound {
		t.Fatalf("login: status %d: %s", rec.Code, rec.Body)
	}
	authURL, err := url.Parse(rec.Header().Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	q := authURL.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("state") == "" || q.Get("nonce") == "" {
		t.Fatalf("authorize URL lacks PKCE, state or nonce: %s", authURL)
	}
	q.Set("login_hint", user)
	authURL.RawQuery = q.Encode()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(authURL.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: status %d", resp.StatusCode)
	}
	cb, _ := url.Parse(resp.Header.Get("Location"))
	if !strings.HasPrefix(cb.String(), appOrigin) {
		t.Fatalf("authorize redirected to %s", cb)
	}
	return cb.RequestURI(), rec.Result().Cookies()
}

// signIn runs a whole sign-in and returns the session cookie.
func (f *fixture) signIn(t *testing.T, provider, user string) *http.Cookie {
	t.Helper()
	cb, cookies := f.startLogin(t, provider, user)
	rec := f.serve("GET", cb, cookies, nil)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("callback: status %d: %s", rec.Code, rec.Body)
	}
	for _, c := range rec.Result().Cookies() {
		if c.Name == "__Host-crmsync" && c.Value != "" {
			return c
		}
	}
	t.Fatal("callback set no session cookie")
	return nil
}
