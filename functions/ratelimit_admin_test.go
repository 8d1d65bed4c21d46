package main

import (
	"net/http"
	"testing"

	"github.com/crmsync/crmsync/local/fakec4c"
	"github.com/crmsync/crmsync/shared/settings"
)

// TestAdminPagesAreNotSignInRateLimited: the sign-in limit
// (CRMSYNC_SIGNIN_RATE per client address) slows credential and code
// guessing, so a signed-in organisation admin reloading the C4C SAML set-up
// page 50 times from one address is served every time, while sign-in
// attempts from that same address past the limit still get 429.
func TestAdminPagesAreNotSignInRateLimited(t *testing.T) {
	w := newTestWorld(t, worldOptions{email: fakec4c.DemoEmployeeEmail,
		env: map[string]string{settings.NameCRM: settings.CRMC4C, settings.NameAdminEmails: fakec4c.DemoEmployeeEmail,
			settings.NameSignInRate: "6"}})
	b := w.newBrowser()
	w.signIn(t, b)
	page := w.srv.URL + "/api/dashboard/connect/admin/c4c/saml"
	for i := range 50 {
		if status, at, body := b.fetch(t, "GET", page, nil, nil); status != http.StatusOK || at.Path != "/api/dashboard/connect/admin/c4c/saml" {
			t.Fatalf("reload %d of the admin page answered %d at %s, want 200 there:\n%.400s", i+1, status, at, body)
		}
	}
	// Sign-in starts are still limited: a browser that does not follow the
	// redirect to the identity provider, as a guessing script would.
	guesser := w.newBrowser()
	guesser.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for i := range 7 {
		status, _, _ := guesser.fetch(t, "GET", w.srv.URL+"/api/dashboard/auth/microsoft/login", nil, nil)
		if status == http.StatusTooManyRequests {
			if i == 0 {
				t.Fatalf("the first sign-in attempt after the reloads got 429: the admin page spent the sign-in allowance")
			}
			return
		}
		if status/100 != 3 {
			t.Fatalf("sign-in attempt %d answered %d, want a redirect to the identity provider or 429", i+1, status)
		}
	}
	t.Fatalf("7 sign-in attempts from one address within a minute were all served, want 429 within 6/minute")
}
