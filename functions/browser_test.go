package main

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/crmsync/crmsync/local/fakesalesforce"
	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/dashboard/browsertest"
	"github.com/crmsync/crmsync/shared/settings"
)

// TestBrowserNewcomer is a newcomer's first visit to the whole function app
// (funchost, webguard's headers, body and rate limits, identity's sessions
// and CSRF, the connect flows) in headless Chromium, by clicking only, at
// 1280 and 390 px: sign in with Microsoft at the local identity provider,
// find nothing connected (and no claim that everything synced), connect
// Salesforce by logging in on the local Salesforce's page and Microsoft 365,
// see the first sync in words, save settings, reach the organisation page as
// the bootstrap admin, add a colleague, open the operator's status page,
// and sign out. The app is served over TLS by httptest, so Chromium is told
// to accept its certificate; nothing else is set for it.
func TestBrowserNewcomer(t *testing.T) {
	for _, width := range []int64{1280, 390} {
		t.Run(fmt.Sprintf("%dpx", width), func(t *testing.T) {
			w := newTestWorld(t, worldOptions{email: "wendy@world.example",
				env: map[string]string{settings.NameAdminEmails: "wendy@world.example"}})
			b := browsertest.New(t, w.srv.URL, width, chromedp.Flag("ignore-certificate-errors", true))
			const P = "/api/dashboard"

			b.Open(P + "/")
			b.Expect("Sign in", []string{"Sign in with Microsoft", "Sign in with Salesforce"})
			b.Click(`a[href^="` + P + `/auth/microsoft/login"]`)
			b.Expect("Local sign-in", []string{"Wendy World"})
			b.Click(`button[value="` + w.oid + `"]`)
			b.Expect("Overview", []string{"Signed in as wendy@world.example", "Not connected", "Waiting until both accounts are connected", "No open issues"},
				"Everything synced")
			if c := b.Cookie("__Host-crmsync"); c == nil || !c.Secure || !c.HTTPOnly {
				t.Fatalf("Chromium holds the session cookie as %+v", c)
			}

			b.Click(`a[href="` + P + `/connect/salesforce"]`)
			b.Expect("Log in to Salesforce (local)", nil)
			b.TypeInto("#username", fakesalesforce.DemoUsername)
			b.TypeInto("#password", fakesalesforce.DemoPassword)
			b.Click("#Login")
			b.Expect("Overview", []string{"Connected"})
			b.Click(`a[href="` + P + `/connect/microsoft"]`)
			b.Expect("Overview", []string{"Active"}, "Not connected")
			sess, err := w.app.sessions.Decode(b.Cookie("__Host-crmsync").Value)
			if err != nil {
				t.Fatal(err)
			}
			user := sess.User
			st := w.connectionStatus(t, user)
			if st[connection.Salesforce] != connection.Connected || st[connection.Microsoft] != connection.Connected {
				t.Fatalf("after connecting by clicking the connections are %v", st)
			}

			rep := w.runSession(t, user)
			if rep.Outcome != "ok" {
				t.Fatalf("the first sync: %s %s", rep.Outcome, rep.Detail)
			}
			b.Click(`nav a[href="` + P + `/overview"]`)
			b.Expect("Overview", []string{"finished", "contacts created in your mailbox", "Everything synced"}, "to-mailbox", "partial")

			b.Click(`nav a[href="` + P + `/settings"]`)
			b.Click("#save-settings")
			b.Expect("Settings", []string{"Settings saved", "Plan: Paid"})

			b.Click(`nav a[href="` + P + `/admin"]`)
			b.Expect("Organisation", []string{"wendy@world.example (you)", "Organisation admin, User"})
			b.TypeInto("#addresses", "colleague@world.example")
			b.Click("#add-users")
			b.Expect("Organisation", []string{"colleague@world.example", "Added"})

			b.Open(P + "/status")
			b.Expect("crmsync", []string{"sync-sessions"})
			b.Open(P + "/overview")
			b.Click(`header button[type="submit"]`)
			b.Expect("Sign in", []string{"You signed out."})
			b.OpenExpectingError(P + "/status")
			if got := b.Text("h1"); got != "Operators only" {
				t.Errorf("after signing out the status page shows %q", got)
			}
		})
	}
}
