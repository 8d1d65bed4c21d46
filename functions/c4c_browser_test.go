package main

import (
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/crmsync/crmsync/local/fakec4c"
	"github.com/crmsync/crmsync/shared/c4c"
	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/dashboard/browsertest"
	"github.com/crmsync/crmsync/shared/settings"
)

// TestBrowserConnectC4C: in a CRMSYNC_CRM=c4c deployment a user signs in
// through the local identity provider by clicking, follows the overview's
// link to connect SAP Cloud for Customer, types the communication user into
// the form and presses Connect — first with a wrong password, which stores
// nothing and says so, then with the right one, which lands on the overview
// connected. No header or cookie is set by the test.
func TestBrowserConnectC4C(t *testing.T) {
	for _, width := range []int64{1280, 390} {
		t.Run(fmt.Sprintf("%dpx", width), func(t *testing.T) {
			srv := fakec4c.New(fakec4c.Options{})
			if err := fakec4c.SeedDemo(srv, time.Now()); err != nil {
				t.Fatal(err)
			}
			hs := httptest.NewServer(srv)
			defer hs.Close()
			w := newTestWorld(t, worldOptions{email: "wendy@world.example", env: map[string]string{settings.NameCRM: settings.CRMC4C}})
			b := browsertest.New(t, w.srv.URL, width, chromedp.Flag("ignore-certificate-errors", true))
			const P = "/api/dashboard"

			b.Open(P + "/")
			b.Click(`a[href^="` + P + `/auth/microsoft/login"]`)
			b.Click(`button[value="` + w.oid + `"]`)
			b.Expect("Overview", []string{"SAP Cloud for Customer", "Not connected"})
			sess, err := w.app.sessions.Decode(b.Cookie("__Host-crmsync").Value)
			if err != nil {
				t.Fatal(err)
			}

			fill := func(password string) {
				b.TypeInto(`input[name="host"]`, hs.URL)
				b.TypeInto(`input[name="username"]`, fakec4c.DemoUser)
				b.TypeInto(`input[name="password"]`, password)
			}
			b.Click(`a[href="` + P + `/connect/c4c"]`)
			b.Expect("Connect SAP Cloud for Customer", []string{"communication user"})
			fill("not-the-password")
			b.Click(`button[type="submit"]`)
			if got := w.connectionStatus(t, sess.User); got[c4c.Provider] != "" {
				t.Fatalf("a refused password stored a connection: %v", got)
			}
			// The overview says why, in the flow's own words.
			b.Expect("Overview", []string{"Connecting SAP Cloud for Customer did not work:", "Not connected"}, "SAP Cloud for Customer connected.")
			b.Open(P + "/connect/c4c")
			fill(fakec4c.DemoPassword)
			b.Click(`button[type="submit"]`)
			b.Expect("Overview", []string{"SAP Cloud for Customer connected.", "Connected"})
			if got := w.connectionStatus(t, sess.User); got[c4c.Provider] != connection.Connected {
				t.Fatalf("after connecting by clicking: %v, want C4C connected", got)
			}
			// Items are shared into C4C by C4C's category, not Salesforce's.
			b.Open(P + "/settings")
			b.Expect("Settings", []string{"Share category (empty: SAP C4C)"}, "empty: Salesforce)")
		})
	}
}
