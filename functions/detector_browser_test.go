package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/crmsync/crmsync/local/fakesalesforce"
	"github.com/crmsync/crmsync/local/idp"
	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/dashboard/browsertest"
	"github.com/crmsync/crmsync/shared/orgwatch"
	"github.com/crmsync/crmsync/shared/salesforce"
	"github.com/crmsync/crmsync/shared/settings"
)

// TestBrowserIntegrationConnection: an org admin, signed in at the local
// identity provider by clicking, connects Salesforce (so she is a member
// connected to the organisation, not yet in the detector's directory),
// follows the organisation page's link to change detection, finds no
// integration connection, and sets one up by typing the integration user's
// username: first one no pre-authorized user has, then with the app holding
// another certificate — each refused in words that say what to change, with
// nothing stored — then the right one, which is stored, backfills her into
// the directory and shows the state after the detector's first poll. She
// replaces it, then removes it (stored connection gone, polling stopped).
// A colleague who is not an admin sees no link and is refused the page.
// At 1280 and 390 px; no header or cookie is set by the test.
func TestBrowserIntegrationConnection(t *testing.T) {
	for _, width := range []int64{1280, 390} {
		t.Run(fmt.Sprintf("%dpx", width), func(t *testing.T) {
			ctx := context.Background()
			key, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				t.Fatal(err)
			}
			keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
			// The local Salesforce's copy of the app's certificate: the
			// test swaps its contents to play an app holding another one.
			held := key.PublicKey
			const colleague = "0d000000-0000-4000-8000-0000000000c2"
			w := newTestWorld(t, worldOptions{email: "wendy@world.example",
				extraUsers: []idp.User{{ID: colleague, Name: "Colin Colleague", Tenant: worldTenant, Email: "colin@world.example"}},
				env:        map[string]string{settings.NameAdminEmails: "wendy@world.example", salesforce.NameJWTKey: string(keyPEM)},
				sfApp:      func(c *fakesalesforce.Client) { c.JWTKey = &held }})
			if _, err := w.sf.AddUser(fakesalesforce.User{Username: "integration@world.example", Email: "integration@world.example", LastName: "Integration", Admin: true}); err != nil {
				t.Fatal(err)
			}
			sfOrg := w.sf.OrgID()
			b := browsertest.New(t, w.srv.URL, width, chromedp.Flag("ignore-certificate-errors", true))
			const P = "/api/dashboard"

			b.Open(P + "/")
			b.Click(`a[href^="` + P + `/auth/microsoft/login"]`)
			b.Click(`button[value="` + w.oid + `"]`)
			b.Click(`a[href="` + P + `/connect/salesforce"]`)
			b.TypeInto("#username", fakesalesforce.DemoUsername)
			b.TypeInto("#password", fakesalesforce.DemoPassword)
			b.Click("#Login")
			b.Expect("Overview", []string{"Connected"})
			sess, err := w.app.sessions.Decode(b.Cookie("__Host-crmsync").Value)
			if err != nil {
				t.Fatal(err)
			}
			idx := orgwatch.Index{Store: w.app.store}
			if _, ok, _ := idx.Owner(ctx, sfOrg, sess.User); ok {
				t.Fatal("the admin is in the directory before both accounts are connected; the backfill would test nothing")
			}
			stored := func() bool {
				t.Helper()
				_, err := w.app.conns.Get(ctx, orgwatch.IntegrationUser(sfOrg), connection.Salesforce)
				return err == nil
			}

			b.Click(`nav a[href="` + P + `/admin"]`)
			b.Click("#org-integration")
			b.Expect("Change detection", []string{"has no integration connection", "API Enabled and View All Data", "pre-authorized"})

			b.TypeInto("#integration-username", "nobody@world.example")
			b.ClickExpectingError("#set-up-integration")
			b.Expect("Change detection", []string{"The integration connection was not set up:", "not pre-authorized for crmsync's app in Salesforce", "(invalid_grant)"})
			if got := b.Text("#integration-username"); got != "" && !strings.Contains(got, "nobody") {
				t.Errorf("the username typed is not given back: %q", got)
			}
			other, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				t.Fatal(err)
			}
			held = other.PublicKey
			b.Open(P + "/orgs/" + sess.Org + "/integration")
			b.TypeInto("#integration-username", "integration@world.example")
			b.ClickExpectingError("#set-up-integration")
			b.Expect("Change detection", []string{"could not verify the signature", "upload the matching certificate"})
			if stored() {
				t.Fatal("a refused set-up stored a connection")
			}
			held = key.PublicKey

			b.Open(P + "/orgs/" + sess.Org + "/integration")
			b.TypeInto("#integration-username", "integration@world.example")
			b.Click("#set-up-integration")
			b.Expect("Change detection", []string{"The integration connection is set up.", sfOrg, "waiting for the first poll", "1 user of the organisation"})
			if !stored() {
				t.Fatal("no integration connection stored after setting it up")
			}
			if owner, ok, err := idx.Owner(ctx, sfOrg, sess.User); err != nil || !ok || owner != w.sfUser {
				t.Fatalf("the admin's directory entry after the set-up: %q %v %v, want the backfill to note %s", owner, ok, err, w.sfUser)
			}
			if _, err := w.app.detectorRunner().Run(ctx, w.app.now()); err != nil {
				t.Fatal(err)
			}
			b.Open(P + "/orgs/" + sess.Org + "/integration")
			b.Expect("Change detection", []string{"Working", "Changes up to", "ago are seen", "Replace it"}, "Not yet")
			b.Screenshot("integration.png")

			b.TypeInto("#integration-username", "integration@world.example")
			b.Click("#set-up-integration")
			b.Expect("Change detection", []string{"The integration connection is set up.", "Working"})

			b.Click("#remove-integration")
			b.Expect("Change detection", []string{"The integration connection was removed.", "has no integration connection"}, "Working")
			if stored() {
				t.Fatal("the integration connection is still stored after removing it")
			}
			if orgs, err := idx.Orgs(ctx); err != nil || len(orgs) != 0 {
				t.Fatalf("still polled after removal: %+v %v", orgs, err)
			}

			// A colleague who is not an admin: no link, and 403.
			b.Open(P + "/overview")
			b.Click(`header button[type="submit"]`)
			b.Click(`a[href^="` + P + `/auth/microsoft/login"]`)
			b.Click(`button[value="` + colleague + `"]`)
			b.Expect("Overview", []string{"colin@world.example"}, "Change detection")
			if b.Has(`a[href$="/integration"]`) || b.Has(`nav a[href="`+P+`/admin"]`) {
				t.Error("a non-admin is offered the organisation's pages")
			}
			b.OpenExpectingError(P + "/orgs/" + sess.Org + "/integration")
			if got := b.Text("h1"); got != "Forbidden" {
				t.Errorf("a non-admin opening the page sees %q", got)
			}
			if strings.Contains(b.Text("body"), "integration user") {
				t.Error("a non-admin is shown the page")
			}
		})
	}
}

// TestIntegrationWrongConsumerKey: a deployment whose Salesforce consumer
// key no connected app of the organisation has: setting up the integration
// connection on the dashboard page says so in words (the local Salesforce
// answers invalid_client_id as Salesforce does), and stores nothing.
func TestIntegrationWrongConsumerKey(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	w := newTestWorld(t, worldOptions{email: "wendy@world.example",
		env: map[string]string{settings.NameAdminEmails: "wendy@world.example", salesforce.NameJWTKey: string(keyPEM),
			salesforce.NameClientID: "3MVG9-not-the-apps-key"},
		sfApp: func(c *fakesalesforce.Client) { c.JWTKey = &key.PublicKey }})
	if _, err := w.sf.AddUser(fakesalesforce.User{Username: "integration@world.example", Email: "integration@world.example", LastName: "Integration", Admin: true}); err != nil {
		t.Fatal(err)
	}
	b := w.newBrowser()
	w.signIn(t, b)
	sess, err := w.app.sessions.Decode(b.cookies()[0].Value)
	if err != nil {
		t.Fatal(err)
	}
	page := w.srv.URL + "/api/dashboard/orgs/" + sess.Org + "/integration"
	status, _, body := b.fetch(t, "GET", page, nil, nil)
	m := csrfField.FindStringSubmatch(body)
	if status != http.StatusOK || m == nil {
		t.Fatalf("the page answered %d:\n%.600s", status, body)
	}
	form := url.Values{"csrf_token": {m[1]}, "username": {"integration@world.example"}}
	status, _, body = b.fetch(t, "POST", page, strings.NewReader(form.Encode()), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if status != http.StatusBadRequest || !strings.Contains(body, "does not know crmsync&#39;s consumer key") || !strings.Contains(body, "(invalid_client_id)") {
		t.Fatalf("a wrong consumer key: %d\n%.2000s", status, body)
	}
	if _, err := w.app.conns.Get(context.Background(), orgwatch.IntegrationUser(w.sf.OrgID()), connection.Salesforce); err == nil {
		t.Fatal("a refused set-up stored a connection")
	}
}
