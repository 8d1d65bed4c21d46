package identity_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/fakegoogle"
	"github.com/crmsync/crmsync/shared/access"
	"github.com/crmsync/crmsync/shared/identity"
)

// TestSignInWithGoogle runs the whole code flow against the local Google:
// a Workspace user signs in with their hd domain as the organisation, a
// gmail.com account and a domain outside the allowed list are refused.
func TestSignInWithGoogle(t *testing.T) {
	clk := &clock{t: time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)}
	g := fakegoogle.New(fakegoogle.Options{Now: clk.Now, Clients: map[string]string{"gclient": "gsecret"}})
	g.AddUser("ann@acme.example")
	g.AddUser("bob@other.example")
	g.AddUser("carl@gmail.com")
	ts := httptest.NewServer(g)
	t.Cleanup(ts.Close)
	tables := openStore(t)
	grants := access.NewStore(tables, clk.Now)
	users := identity.NewUsers(tables, grants, clk.Now)
	sessions, err := identity.NewSessions(identity.SessionConfig{Key: sessionKey, Origins: []string{appOrigin}, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	si, err := identity.NewSignIn(sessions, users, tables, []identity.Provider{{Name: "google", Kind: identity.Google,
		Authority: ts.URL, ClientID: "gclient", ClientSecret: "gsecret", RedirectURL: appOrigin + "/auth/google/callback",
		AllowedTenants: []string{"acme.example"}}}, identity.SignInOptions{HTTPClient: ts.Client(), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /auth/{provider}/login", si.Login())
	mux.Handle("GET /auth/{provider}/callback", si.Callback())
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	run := func(t *testing.T, who string) *httptest.ResponseRecorder {
		t.Helper()
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", "/auth/google/login", nil))
		if rec.Code != http.StatusFound {
			t.Fatalf("login: %d %s", rec.Code, rec.Body)
		}
		auth, _ := url.Parse(rec.Header().Get("Location"))
		q := auth.Query()
		if q.Get("scope") != "openid email profile" || q.Get("nonce") == "" || q.Get("code_challenge_method") != "S256" {
			t.Fatalf("authorize request %s lacks the openid email profile scopes, nonce or PKCE", auth)
		}
		if !strings.HasPrefix(auth.String(), ts.URL+"/o/oauth2/v2/auth") {
			t.Fatalf("authorize at %s, want the local Google's", auth)
		}
		g.SignIn(who)
		resp, err := noFollow.Get(auth.String())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		cb, _ := url.Parse(resp.Header.Get("Location"))
		req := httptest.NewRequest("GET", cb.RequestURI(), nil)
		for _, c := range rec.Result().Cookies() {
			req.AddCookie(c)
		}
		out := httptest.NewRecorder()
		mux.ServeHTTP(out, req)
		return out
	}

	rec := run(t, "ann@acme.example")
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("Workspace sign-in: %d %s", rec.Code, rec.Body)
	}
	var session *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == "__Host-crmsync" && c.Value != "" {
			session = c
		}
	}
	if session == nil {
		t.Fatal("no session cookie after a Workspace sign-in")
	}
	s, err := sessions.Decode(session.Value)
	if err != nil || s.Org != "acme.example" {
		t.Fatalf("session org = %q (%v), want the hd domain acme.example", s.Org, err)
	}

	for _, tc := range []struct{ who, want string }{
		{"carl@gmail.com", "not part of a Google Workspace organisation"},
		{"bob@other.example", "could not be verified"},
	} {
		rec := run(t, tc.who)
		if rec.Code < 400 || !strings.Contains(rec.Body.String(), tc.want) {
			t.Fatalf("%s: %d %s, want a refusal saying %q", tc.who, rec.Code, rec.Body, tc.want)
		}
		for _, c := range rec.Result().Cookies() {
			if c.Name == "__Host-crmsync" && c.Value != "" {
				t.Fatalf("%s got a session", tc.who)
			}
		}
	}
}
