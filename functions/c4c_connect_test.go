package main

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/fakec4c"
	"github.com/crmsync/crmsync/shared/c4c"
	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/settings"
)

// TestConnectC4CThroughTheDashboard: in a CRMSYNC_CRM=c4c deployment a
// signed-in user opens Connect SAP Cloud for Customer, submits the
// communication user on the form (CSRF token from the page), is sent back
// to the overview connected, connects the mailbox, and the first session
// syncs the local C4C with the mailbox; the password reaches no log. A
// wrong password stores nothing.
func TestConnectC4CThroughTheDashboard(t *testing.T) {
	srv := fakec4c.New(fakec4c.Options{})
	if err := fakec4c.SeedDemo(srv, time.Now()); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	// The signed-in user's address is the demo employee's: the user syncs
	// that employee's records.
	w := newTestWorld(t, worldOptions{email: fakec4c.DemoEmployeeEmail, env: map[string]string{settings.NameCRM: settings.CRMC4C}})
	w.secrets.add("C4C communication user's password", "demo-C4C-pw")
	b := w.newBrowser()
	w.signIn(t, b)
	user := w.signedInUser(t, b)

	status, _, page := b.fetch(t, "GET", w.srv.URL+"/api/dashboard/connect/c4c", nil, nil)
	token := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(page)
	if status != http.StatusOK || token == nil || !strings.Contains(page, "SAP Cloud for Customer") {
		t.Fatalf("connect form: %d\n%.800s", status, page)
	}
	post := func(password string) (int, *url.URL) {
		form := url.Values{"host": {hs.URL}, "username": {fakec4c.DemoUser}, "password": {password}, "csrf_token": {token[1]}}
		status, at, _ := b.fetch(t, "POST", w.srv.URL+"/api/dashboard/connect/password/c4c", strings.NewReader(form.Encode()),
			map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": w.srv.URL})
		return status, at
	}
	if status, at := post("demo-C4C-pw"); status != http.StatusOK || at.Host != b.appURL.Host {
		t.Fatalf("a wrong password ended at %s with %d", at, status)
	}
	if got := w.connectionStatus(t, user); got[c4c.Provider] != "" {
		t.Fatalf("a refused password stored a connection: %v", got)
	}
	if status, at := post(fakec4c.DemoPassword); status != http.StatusOK || at.Host != b.appURL.Host {
		t.Fatalf("connecting C4C ended at %s with %d", at, status)
	}
	w.connectMicrosoft(t, b)
	if got := w.connectionStatus(t, user); got[c4c.Provider] != connection.Connected || got[connection.Microsoft] != connection.Connected {
		t.Fatalf("after connecting: %v, want C4C and Microsoft connected", got)
	}
	first := w.runSession(t, user)
	if first.Outcome != "ok" || first.Counts["contact|to-mailbox|create"] != 5 {
		t.Fatalf("first session: outcome %q (%s), counts %v; want ok with the 5 seeded contacts in the mailbox", first.Outcome, first.Detail, first.Counts)
	}
	if found := w.secrets.foundIn(w.logs.String(), nil); len(found) > 0 {
		t.Errorf("secrets in the log: %v", found)
	}
}
