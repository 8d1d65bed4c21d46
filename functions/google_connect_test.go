package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/local/fakegoogle"
	"github.com/crmsync/crmsync/local/fakesalesforce"
	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/google"
	"github.com/crmsync/crmsync/shared/settings"
)

// TestConnectGoogleThroughTheDashboard: in a CRMSYNC_MAILBOX=google
// deployment a signed-in user connects Salesforce, then Google Workspace
// through the dashboard's connect route — the local Google's authorization
// endpoint (PKCE, offline access, exactly google.Scopes asked) and back to
// the overview — and the first session brings the Salesforce contacts into
// the Google mailbox. Unticking a scope on Google's consent screen connects
// nothing and says which permission is missing; Microsoft is not offered as
// the mailbox; no secret reaches the log.
func TestConnectGoogleThroughTheDashboard(t *testing.T) {
	const dana = "dana@acme.example"
	fg := fakegoogle.New(fakegoogle.Options{Clients: map[string]string{"g-client": "g-secret-Kx9"}})
	fg.AddUser(dana)
	fg.SignIn(dana)
	var seen url.Values
	// The world's secret set, once there is a world (no request comes before).
	var secrets *secretSet
	gs := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/o/oauth2/v2/auth" {
			seen = r.URL.Query()
		}
		recordTokens(secrets, "google", fg).ServeHTTP(rw, r)
	}))
	defer gs.Close()
	w := newTestWorld(t, worldOptions{env: map[string]string{settings.NameMailbox: settings.MailboxGoogle,
		google.NameClientID: "g-client", google.NameClientSecret: "g-secret-Kx9", google.NameBaseURL: gs.URL}})
	secrets = w.secrets
	w.secrets.add("Google client secret", "g-secret-Kx9")
	b := w.newBrowser()
	w.signIn(t, b)
	user := w.signedInUser(t, b)
	form := url.Values{"username": {fakesalesforce.DemoUsername}, "password": {fakesalesforce.DemoPassword}}
	if status, _, body := b.fetch(t, "POST", w.srv.URL+"/api/dashboard/connect/salesforce/password", strings.NewReader(form.Encode()),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded", "X-CSRF-Token": w.csrf(t, b)}); status != http.StatusOK {
		t.Fatalf("Salesforce connect answered %d: %s", status, body)
	}
	// connectGoogle follows the flow up to connect's answer, the redirect to
	// the overview that says how it went.
	stopAtResult := *b.Client
	stopAtResult.CheckRedirect = func(r *http.Request, _ []*http.Request) error {
		if r.URL.Host == b.appURL.Host && r.URL.Query().Get("connect") != "" {
			return http.ErrUseLastResponse
		}
		return nil
	}
	connectGoogle := func() url.Values {
		t.Helper()
		resp, err := stopAtResult.Get(w.srv.URL + "/api/dashboard/connect/google")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		at, err := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusSeeOther || err != nil {
			t.Fatalf("connecting Google ended with %d at %s (Location %q)", resp.StatusCode, resp.Request.URL, resp.Header.Get("Location"))
		}
		return at.Query()
	}

	// The overview offers Google Workspace as the mailbox, not Microsoft 365.
	_, _, page := b.fetch(t, "GET", w.srv.URL+"/api/dashboard/overview", nil, nil)
	if !strings.Contains(page, `href="/api/dashboard/connect/google"`) || !strings.Contains(page, "Google Workspace") ||
		strings.Contains(page, `href="/api/dashboard/connect/microsoft"`) {
		t.Errorf("the overview does not offer Connect Google Workspace alone:\n%.3000s", page)
	}

	fg.DeclineScopes(dana, "https://www.googleapis.com/auth/gmail.modify")
	if q := connectGoogle(); q.Get("result") != "error" || !strings.Contains(q.Get("message"), "gmail.modify") {
		t.Errorf("a declined scope ended at %v, want an error naming gmail.modify", q)
	}
	if got := w.connectionStatus(t, user); got[google.Provider] != "" {
		t.Fatalf("a connect missing a scope stored a connection: %v", got)
	}
	fg.DeclineScopes(dana)
	if q := connectGoogle(); q.Get("result") != "ok" || q.Get("connect") != google.Provider {
		t.Fatalf("connecting Google ended at %v", q)
	}
	if seen.Get("code_challenge_method") != "S256" || seen.Get("code_challenge") == "" || seen.Get("access_type") != "offline" ||
		seen.Get("scope") != strings.Join(google.Scopes, " ") || !strings.Contains(seen.Get("prompt"), "consent") {
		t.Errorf("authorization request %v: want PKCE (S256), offline access, consent and exactly google.Scopes", seen)
	}
	c, err := w.app.conns.Get(t.Context(), user, google.Provider)
	if err != nil || c.Status != connection.Connected || c.Tenant != "acme.example" || c.Flow != connection.FlowAuthCode {
		t.Fatalf("stored Google connection %+v, %v", c, err)
	}
	if status, _, _ := b.fetch(t, "GET", w.srv.URL+"/api/dashboard/connect/microsoft", nil, nil); status != http.StatusNotFound {
		t.Errorf("Connect Microsoft in a Google deployment answered %d, want 404", status)
	}

	first := w.runSession(t, user)
	created := first.Counts["contact|to-mailbox|create"]
	if first.Outcome != "ok" || created == 0 {
		t.Fatalf("first session: outcome %q (%s), counts %v; want ok with the Salesforce contacts in the mailbox", first.Outcome, first.Detail, first.Counts)
	}
	t.Logf("first session: %v", first.Counts)
	// The contacts are in Dana's Google account.
	access, _ := fg.AddUser(dana)
	req, _ := http.NewRequest("GET", gs.URL+"/v1/people/me/connections?personFields=names&pageSize=1000", nil)
	req.Header.Set("Authorization", "Bearer "+access)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct{ Connections []json.RawMessage }
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || len(list.Connections) != created {
		t.Errorf("Google holds %d contacts (%v), the session created %d", len(list.Connections), err, created)
	}
	if k := w.secrets.kinds(); k["google refresh_token"] == 0 || k["google authorization code"] == 0 {
		t.Errorf("the Google flow's secrets were not recorded: %v", k)
	}
	// Deleting the account revokes the Google refresh token at Google.
	if status, _, body := b.fetch(t, "DELETE", w.srv.URL+"/api/dashboard/v1/me", nil, map[string]string{"X-CSRF-Token": w.csrf(t, b)}); status/100 != 2 {
		t.Fatalf("account deletion answered %d: %s", status, body)
	}
	if got := fg.Requests()["revoke"]; got != 1 {
		t.Errorf("account deletion made %d revocation requests to Google, want 1", got)
	}
	if cs, err := w.app.conns.List(t.Context(), user); err != nil || len(cs) != 0 {
		t.Errorf("after deletion the user has connections %v (%v)", cs, err)
	}
	if strings.Contains(w.logs.String(), "after-session step failed") {
		t.Errorf("a step after the session failed (Graph subscriptions for a Google mailbox?):\n%s", w.logs.String())
	}
	if found := w.secrets.foundIn(w.logs.String(), nil); len(found) > 0 {
		t.Errorf("secrets in the log: %v", found)
	}
}
