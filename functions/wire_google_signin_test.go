package main

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/crmsync/crmsync/local/fakegoogle"
	"github.com/crmsync/crmsync/shared/dashboard/browsertest"
	"github.com/crmsync/crmsync/shared/google"
	"github.com/crmsync/crmsync/shared/settings"
)

// TestBrowserSignInWithGoogle: in a CRMSYNC_MAILBOX=google world the
// sign-in page offers Google first; clicking it goes through the local
// Google's authorization (consent) and lands signed in on the overview,
// as a member of the organisation named by the Workspace domain (hd), the
// bootstrap admin by CRMSYNC_ADMIN_EMAILS. A personal gmail.com account is
// refused in words, with no session.
func TestBrowserSignInWithGoogle(t *testing.T) {
	const dana, carl = "dana@acme.example", "carl@gmail.com"
	fg := fakegoogle.New(fakegoogle.Options{Clients: map[string]string{"g-client": "g-secret-Kx9"}})
	fg.AddUser(dana)
	fg.AddUser(carl)
	var secrets *secretSet
	gs := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		recordTokens(secrets, "google", fg).ServeHTTP(rw, r)
	}))
	defer gs.Close()
	w := newTestWorld(t, worldOptions{env: map[string]string{settings.NameMailbox: settings.MailboxGoogle,
		google.NameClientID: "g-client", google.NameClientSecret: "g-secret-Kx9", google.NameBaseURL: gs.URL,
		google.NameAllowedDomains: "acme.example", settings.NameAdminEmails: dana}})
	secrets = w.secrets
	w.secrets.add("Google client secret", "g-secret-Kx9")
	b := browsertest.New(t, w.srv.URL, 1280, chromedp.Flag("ignore-certificate-errors", true))
	const P = "/api/dashboard"

	fg.SignIn(carl)
	b.Open(P + "/")
	b.Expect("Sign in", []string{"Sign in with Google"})
	if first := b.Text(`a[href^="` + P + `/auth/"]`); first != "Sign in with Google" {
		t.Errorf("the first sign-in button is %q, want Sign in with Google", first)
	}
	b.ClickExpectingError(`a[href^="` + P + `/auth/google/login"]`)
	b.Expect("Sign-in did not finish", []string{"not part of a Google Workspace organisation", "gmail.com"})
	if c := b.Cookie("__Host-crmsync"); c != nil && c.Value != "" {
		t.Fatalf("a gmail.com account got a session cookie")
	}

	fg.SignIn(dana)
	b.Open(P + "/")
	b.Click(`a[href^="` + P + `/auth/google/login"]`)
	b.Expect("Overview", []string{"Signed in as " + dana, "Not connected"})
	c := b.Cookie("__Host-crmsync")
	if c == nil {
		t.Fatal("no session cookie after signing in with Google")
	}
	sess, err := w.app.sessions.Decode(c.Value)
	if err != nil || sess.Org != "acme.example" {
		t.Fatalf("session %+v (%v), want the organisation acme.example", sess, err)
	}
	b.Click(`nav a[href="` + P + `/admin"]`)
	b.Expect("Organisation", []string{dana + " (you)", "Organisation admin"})
	for _, leak := range w.secrets.foundIn(w.logs.String(), nil) {
		t.Errorf("the log holds a %s", leak)
	}
}
