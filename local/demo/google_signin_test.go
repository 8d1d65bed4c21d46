package demo_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/local/demo"
	"github.com/crmsync/crmsync/shared/access"
	"github.com/crmsync/crmsync/shared/identity"
	"github.com/crmsync/crmsync/shared/settings"
)

// TestDemoGoogleSignIn: in the Google demo, Sign in with Google against
// the demo's local Google (as the dashboard's provider is set up from the
// demo's settings) signs Dana in as the seeded demo user, in the
// organisation of the Workspace domain, not as a new empty user.
func TestDemoGoogleSignIn(t *testing.T) {
	w, tables, _, _ := startDemo(t, func(o *demo.Options) { o.Mailbox = settings.MailboxGoogle })
	users := identity.NewUsers(tables, access.NewStore(tables, nil), nil)
	sessions, err := identity.NewSessions(identity.SessionConfig{Key: []byte("0123456789abcdef0123456789abcdef"), Origins: []string{"https://demo.test"}})
	if err != nil {
		t.Fatal(err)
	}
	si, err := identity.NewSignIn(sessions, users, tables, []identity.Provider{{Name: "google", Kind: identity.Google, Authority: w.GraphURL,
		ClientID: demo.GoogleClient, ClientSecret: "demo-google-secret", RedirectURL: "https://demo.test/auth/google/callback", AnyTenant: true}},
		identity.SignInOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /auth/{provider}/login", si.Login())
	mux.Handle("GET /auth/{provider}/callback", si.Callback())
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/auth/google/login", nil))
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(rec.Header().Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cb, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(cb.String(), "https://demo.test/") {
		t.Fatalf("the local Google answered %d to %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	req := httptest.NewRequest("GET", cb.RequestURI(), nil)
	for _, c := range rec.Result().Cookies() {
		req.AddCookie(c)
	}
	out := httptest.NewRecorder()
	mux.ServeHTTP(out, req)
	var sess identity.Session
	for _, c := range out.Result().Cookies() {
		if c.Name == "__Host-crmsync" && c.Value != "" {
			sess, err = sessions.Decode(c.Value)
		}
	}
	if out.Code != http.StatusSeeOther || err != nil || sess.User != w.User || sess.Org != demo.GoogleDomain {
		t.Fatalf("Sign in with Google: %d %s; session %+v (%v), want the demo user %s in %s", out.Code, out.Body, sess, err, w.User, demo.GoogleDomain)
	}
}
