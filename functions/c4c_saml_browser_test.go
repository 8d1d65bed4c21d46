package main

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/crmsync/crmsync/local/fakec4c"
	"github.com/crmsync/crmsync/local/idp"
	"github.com/crmsync/crmsync/shared/c4c"
	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/dashboard/browsertest"
	"github.com/crmsync/crmsync/shared/settings"
)

// TestBrowserC4CSAMLSetup: an organisation admin of a CRMSYNC_CRM=c4c
// deployment signs in through the local identity provider and, by clicking
// in Chromium at 1280 and 390 px, adds two colleagues, follows the
// organisation page's link to the C4C single sign-on page, has crmsync
// generate the identity provider key pair and reads the certificate to
// register — the test then plays the C4C admin and registers it in the
// local C4C. A setup with the wrong client secret is refused in plain words
// and stores nothing; the right one is proved by a token and shows the
// client ID, issuer and the certificate's fingerprint and expiry, never the
// secret or key. Connecting addresses says per address: connected, no
// employee found, no crmsync user, and on a repeat already connected. The
// colleague who was connected signs in, connects their mailbox and their
// first session syncs their employee's records without any C4C password;
// as a non-admin they are offered no link and the page answers them 403.
// Neither the client secret nor the private key reaches a page or the log.
func TestBrowserC4CSAMLSetup(t *testing.T) {
	for _, width := range []int64{1280, 390} {
		t.Run(fmt.Sprintf("%dpx", width), func(t *testing.T) {
			const (
				admin, cole, stranger = "wendy@world.example", "cole@world.example", "stranger@world.example"
				danaOID               = "0d000000-0000-4000-8000-0000000000d1"
				secret                = "c4c-client-secret-Qz7w"
			)
			dana := fakec4c.DemoEmployeeEmail // the demo employee: owns the seeded records
			w := newTestWorld(t, worldOptions{email: admin,
				extraUsers: []idp.User{{ID: danaOID, Name: "Dana Demo", Tenant: worldTenant, Email: dana}},
				env:        map[string]string{settings.NameCRM: settings.CRMC4C, settings.NameAdminEmails: admin}})
			w.secrets.add("C4C OAuth client secret", secret)
			b := browsertest.New(t, w.srv.URL, width, chromedp.Flag("ignore-certificate-errors", true))
			const P = "/api/dashboard"
			const title = "SAP Cloud for Customer single sign-on"

			b.Open(P + "/")
			b.Click(`a[href^="` + P + `/auth/microsoft/login"]`)
			b.Click(`button[value="` + w.oid + `"]`)
			b.Expect("Overview", []string{"Signed in as " + admin})
			sess, err := w.app.sessions.Decode(b.Cookie("__Host-crmsync").Value)
			if err != nil {
				t.Fatal(err)
			}
			org := sess.Org
			b.Click(`nav a[href="` + P + `/admin"]`)
			b.TypeInto("#addresses", dana+"\n"+cole)
			b.Click("#add-users")
			b.Expect("Organisation", []string{dana, cole, "Added"})

			// The organisation page links the connector's admin page.
			b.Click(`a.org-admin-page[href="` + P + `/connect/admin/c4c/saml"]`)
			b.Expect(title, []string{"Not set up", "Generate a key pair"}, "Connect these users")
			b.Click("#generate")
			b.Expect(title, []string{"A new key pair is generated", "Configure OAuth 2.0 Identity Provider", "primary signing certificate"})
			certPEM := browsertest.Eval[string](b, `document.getElementById("certificate").value`)
			block, _ := pem.Decode([]byte(certPEM))
			if block == nil || block.Type != "CERTIFICATE" {
				t.Fatalf("the page shows no PEM certificate: %q", certPEM)
			}
			cert, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			if got := b.Text("#pending-fingerprint"); got != c4c.Fingerprint(cert) {
				t.Errorf("the page's fingerprint %q is not the certificate's %q", got, c4c.Fingerprint(cert))
			}

			// The C4C admin registers crmsync as an OAuth 2.0 identity
			// provider with that certificate, and an OAuth client for it.
			srv := fakec4c.New(fakec4c.Options{OAuth: &fakec4c.OAuth{ClientID: "CRMSYNC", ClientSecret: secret, Issuer: "crmsync",
				Cert: cert, Users: []string{admin, dana, cole}}})
			if err := fakec4c.SeedDemo(srv, time.Now()); err != nil {
				t.Fatal(err)
			}
			hs := httptest.NewServer(srv)
			defer hs.Close()

			stored := func() bool {
				_, err := w.app.conns.Get(t.Context(), c4c.SAMLSetupUser(org), c4c.Provider)
				return err == nil
			}
			b.TypeInto("#host", hs.URL)
			b.TypeInto("#client-id-input", "CRMSYNC")
			b.TypeInto("#client-secret", "not-the-secret")
			b.TypeInto("#check-user", admin)
			b.ClickExpectingError("#setup")
			b.Expect(title, []string{"OAuth client id or secret", "Not set up"}, "not-the-secret")
			if stored() {
				t.Fatal("a setup C4C refused was stored")
			}
			// The form keeps what was typed but the secret.
			b.TypeInto("#client-secret", secret)
			b.Click("#setup")
			b.Expect(title, []string{"Single sign-on is set up", "CRMSYNC", "crmsync", c4c.Fingerprint(cert), cert.NotAfter.UTC().Format("2 January 2006")},
				"Not set up", secret, "PRIVATE KEY")
			if !stored() {
				t.Fatal("the setup was not stored")
			}
			cred, err := w.app.conns.Credentials(t.Context(), c4c.SAMLSetupUser(org), c4c.Provider)
			if err != nil {
				t.Fatal(err)
			}
			var sealed struct {
				Key string `json:"key"`
			}
			if err := json.Unmarshal([]byte(cred.Password), &sealed); err != nil || !strings.Contains(sealed.Key, "PRIVATE KEY") {
				t.Fatalf("the setup holds no private key: %v", err)
			}
			keyLines := strings.Split(sealed.Key, "\n")
			keyLine := keyLines[len(keyLines)/2]
			w.secrets.add("generated SAML IdP private key", keyLine)

			b.TypeInto("#addresses", dana+"\n"+cole+"\n"+stranger)
			b.Click("#connect-users")
			b.Expect(title, []string{"Connected 1 of 3", dana + ": connected", cole + ": no employee found", stranger + ": no crmsync user"})
			b.TypeInto("#addresses", dana)
			b.Click("#connect-users")
			b.Expect(title, []string{"Connected 1 of 1", dana + ": already connected"})
			b.Screenshot(fmt.Sprintf("c4c-saml-%d", width))
			html := browsertest.Eval[string](b, `document.documentElement.outerHTML`)
			for _, s := range []string{secret, keyLine, "PRIVATE KEY"} {
				if strings.Contains(html, s) {
					t.Errorf("the page's HTML carries %.20q", s)
				}
			}

			// Dana, connected by the admin, signs in and connects a mailbox.
			danaUser, ok, err := w.app.accounts.ClaimInvite(t.Context(), org, dana)
			if err != nil || !ok {
				t.Fatalf("Dana's user: %v %v", ok, err)
			}
			if c, err := w.app.conns.Get(t.Context(), danaUser, c4c.Provider); err != nil || c.Flow != connection.FlowSAMLBearer || c.Status != connection.Connected {
				t.Fatalf("Dana's C4C connection: %+v %v", c, err)
			}
			if coleUser, ok, _ := w.app.accounts.ClaimInvite(t.Context(), org, cole); ok {
				if _, err := w.app.conns.Get(t.Context(), coleUser, c4c.Provider); err == nil {
					t.Error("Cole, who has no employee, was connected")
				}
			}
			db := w.newBrowser()
			adminOID := w.oid
			w.oid = danaOID
			w.signIn(t, db)
			w.oid = adminOID
			if got := w.signedInUser(t, db); got != danaUser {
				t.Fatalf("Dana signed in as %s, the admin connected %s", got, danaUser)
			}
			// Not an admin: no link, and the page is refused.
			if _, _, page := db.fetch(t, "GET", w.srv.URL+P+"/orgs/"+org, nil, nil); strings.Contains(page, "/connect/admin/c4c/saml") {
				t.Error("a non-admin is offered the C4C single sign-on page")
			}
			if status, _, _ := db.fetch(t, "GET", w.srv.URL+P+"/connect/admin/c4c/saml", nil, nil); status != http.StatusForbidden {
				t.Errorf("a non-admin opening the C4C single sign-on page: %d, want 403", status)
			}
			w.connectMicrosoft(t, db)
			first := w.runSession(t, danaUser)
			if first.Outcome != "ok" || first.Counts["contact|to-mailbox|create"] != 5 {
				t.Fatalf("Dana's first session: %q (%s), counts %v; want ok with her employee's 5 contacts", first.Outcome, first.Detail, first.Counts)
			}
			if found := w.secrets.foundIn(w.logs.String(), nil); len(found) > 0 {
				t.Errorf("secrets in the log: %v", found)
			}
		})
	}
}
