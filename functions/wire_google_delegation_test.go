package main

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/crmsync/crmsync/local/fakegoogle"
	"github.com/crmsync/crmsync/local/idp"
	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/dashboard/browsertest"
	"github.com/crmsync/crmsync/shared/google"
	"github.com/crmsync/crmsync/shared/settings"
)

// serviceAccountFile writes a service account JSON key file as Google Cloud
// creates it, and returns its path and public key.
func serviceAccountFile(t *testing.T, dir, email, clientID string) (string, *rsa.PublicKey, string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	b, _ := json.Marshal(map[string]string{"type": "service_account", "project_id": "acme-sync", "private_key_id": "k-" + clientID,
		"private_key": pemKey, "client_email": email, "client_id": clientID, "token_uri": "https://oauth2.googleapis.com/token"})
	path := filepath.Join(dir, clientID+".json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	// A line from the middle of the key: it must never reach a log or a page.
	lines := strings.Split(pemKey, "\n")
	return path, &key.PublicKey, lines[len(lines)/2]
}

// TestBrowserGoogleDelegation: an organisation admin of a
// CRMSYNC_MAILBOX=google deployment signs in (the local identity
// provider), adds a colleague, opens Google Workspace delegation through
// the organisation page's link and, by
// clicking in Chromium at 1280 and 390 px, uploads files that are not a
// service account key (a P12 file: not JSON; a user credential: wrong
// type), a key whose client the Workspace admin did not authorize for
// crmsync's scopes (the local Google answers unauthorized_client, shown with
// the client ID to authorize), then the authorized key: the domain is
// listed with its client ID and no key material anywhere. Onboarding the
// colleague gives them a jwt_bearer connection without any consent, and
// their mailbox opens through the delegation with sub = their address;
// an address with no crmsync user is refused by name. No key material
// reaches the log.
func TestBrowserGoogleDelegation(t *testing.T) {
	for _, width := range []int64{1280, 390} {
		t.Run(fmt.Sprintf("%dpx", width), func(t *testing.T) {
			dir := t.TempDir()
			const (
				full, partial = "sync@acme-sync.iam.gserviceaccount.com", "partial@acme-sync.iam.gserviceaccount.com"
				cole          = "cole@acme.example"
			)
			fullFile, fullKey, fullLine := serviceAccountFile(t, dir, full, "111111111111111111111")
			partialFile, partialKey, _ := serviceAccountFile(t, dir, partial, "222222222222222222222")
			fg := fakegoogle.New(fakegoogle.Options{Clients: map[string]string{"g-client": "g-secret-Kx9"},
				ServiceAccounts: map[string]fakegoogle.ServiceAccount{full: {Key: fullKey, Scopes: google.Scopes},
					partial: {Key: partialKey, Scopes: google.Scopes[:2]}}})
			fg.AddUser("wendy@acme.example")
			fg.AddUser(cole)
			gs := httptest.NewServer(fg)
			t.Cleanup(gs.Close)
			w := newTestWorld(t, worldOptions{email: "wendy@acme.example", env: map[string]string{settings.NameAdminEmails: "wendy@acme.example",
				settings.NameMailbox: settings.MailboxGoogle, google.NameClientID: "g-client", google.NameClientSecret: "g-secret-Kx9",
				google.NameBaseURL: gs.URL}})
			w.secrets.add("service account key", fullLine)
			notJSON := filepath.Join(dir, "key.p12")
			userCred := filepath.Join(dir, "user.json")
			_ = os.WriteFile(notJSON, []byte{0x30, 0x82, 0x09, 0x6e, 0x02, 0x01, 0x03}, 0o600)
			_ = os.WriteFile(userCred, []byte(`{"type":"authorized_user","client_id":"x.apps.googleusercontent.com","refresh_token":"1//x"}`), 0o600)

			b := browsertest.New(t, w.srv.URL, width, chromedp.Flag("ignore-certificate-errors", true))
			const P = "/api/dashboard"
			b.Open(P + "/")
			b.Click(`a[href^="` + P + `/auth/microsoft/login"]`)
			b.Click(`button[value="` + w.oid + `"]`)
			b.Expect("Overview", []string{"Signed in as wendy@acme.example"})
			b.Click(`nav a[href="` + P + `/admin"]`)
			b.TypeInto("#addresses", cole)
			b.Click("#add-users")
			b.Expect("Organisation", []string{cole, "Added"})

			// The organisation page links the connector's admin page.
			b.Click(`a.org-admin-page[href="` + P + `/connect/admin/google"]`)
			b.Expect("Google Workspace delegation", []string{"No domain is delegated yet", "Manage domain-wide delegation"})
			if got := browsertest.Eval[string](b, `document.getElementById("scopes").value`); got != strings.Join(google.Scopes, ",") {
				t.Errorf("the scopes to authorize read %q", got)
			}
			upload := func(file string) {
				b.Do("choosing "+file, chromedp.SetUploadFiles(chromedp.CSS("#key"), []string{file}))
				b.TypeInto("#check", "wendy@acme.example")
			}
			upload(notJSON)
			b.ClickExpectingError("#upload-key")
			b.Expect("Google Workspace delegation", []string{"That key cannot be used: the file is not JSON"})
			upload(userCred)
			b.ClickExpectingError("#upload-key")
			b.Expect("Google Workspace delegation", []string{`"authorized_user" credential, not a service account key`})
			upload(partialFile)
			b.ClickExpectingError("#upload-key")
			b.Expect("Google Workspace delegation", []string{"unauthorized_client", "client ID 222222222222222222222 is not authorized", "No domain is delegated yet"})
			upload(fullFile)
			b.Click("#upload-key")
			b.Expect("Google Workspace delegation", []string{"Delegation saved for acme.example", "client ID 111111111111111111111", full},
				"No domain is delegated yet", "PRIVATE KEY", fullLine)

			b.TypeInto("#addresses", cole+"\nstranger@acme.example")
			b.Click("#onboard")
			b.Expect("Google Workspace delegation", []string{"Onboarded 1 of 2", cole + ": connected", "stranger@acme.example: no crmsync user"})
			b.Screenshot(fmt.Sprintf("google-delegation-%d", width))

			// The colleague consented to nothing, yet their mailbox opens as them.
			sess, err := w.app.sessions.Decode(b.Cookie("__Host-crmsync").Value)
			if err != nil {
				t.Fatal(err)
			}
			user, ok, err := w.app.accounts.ClaimInvite(t.Context(), sess.Org, cole)
			if err != nil || !ok {
				t.Fatalf("the colleague's user: %v %v", ok, err)
			}
			c, err := w.app.conns.Get(t.Context(), user, google.Provider)
			if err != nil || c.Flow != connection.FlowJWTBearer || c.Tenant != "acme.example" || c.Status != connection.Connected {
				t.Fatalf("the colleague's Google connection: %+v %v", c, err)
			}
			client, err := w.app.google.Client(t.Context(), w.app.conns, c)
			if err != nil {
				t.Fatal(err)
			}
			if addr, err := client.Address(t.Context()); err != nil || addr != cole {
				t.Errorf("the delegated mailbox opened as %q (%v), want %s", addr, err, cole)
			}
			if found := w.secrets.foundIn(w.logs.String(), nil); len(found) > 0 {
				t.Errorf("secrets in the log: %v", found)
			}
		})
	}
}

// TestGoogleDelegationStaysInItsOrganisation: a Workspace domain's
// delegation serves only the crmsync organisation whose admin uploaded it.
// An admin of another organisation cannot upload a key for the same
// domain (409), nor onboard an address of that domain — even one they
// provisioned in their own organisation — through it: nothing is stored.
func TestGoogleDelegationStaysInItsOrganisation(t *testing.T) {
	dir := t.TempDir()
	const sa, otherOID = "sync@acme-sync.iam.gserviceaccount.com", "0d000000-0000-4000-8000-0000000000b2"
	keyFile, pub, _ := serviceAccountFile(t, dir, sa, "111111111111111111111")
	fg := fakegoogle.New(fakegoogle.Options{Clients: map[string]string{"g-client": "g-secret-Kx9"},
		ServiceAccounts: map[string]fakegoogle.ServiceAccount{sa: {Key: pub, Scopes: google.Scopes}}})
	fg.AddUser("wendy@acme.example")
	fg.AddUser("cole@acme.example")
	gs := httptest.NewServer(fg)
	t.Cleanup(gs.Close)
	w := newTestWorld(t, worldOptions{email: "wendy@acme.example", authoritySegment: "organizations",
		extraUsers: []idp.User{{ID: otherOID, Name: "Oscar Other", Tenant: "33333333-3333-4333-8333-333333333333", Email: "oscar@other.example"}},
		env: map[string]string{settings.NameAdminEmails: "wendy@acme.example,oscar@other.example",
			settings.NameMailbox: settings.MailboxGoogle, google.NameClientID: "g-client", google.NameClientSecret: "g-secret-Kx9",
			google.NameBaseURL: gs.URL}})
	upload := func(b *browser) (int, string) {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		_ = mw.WriteField("csrf_token", w.csrf(t, b))
		_ = mw.WriteField("check", "wendy@acme.example")
		fw, _ := mw.CreateFormFile("key", "key.json")
		raw, _ := os.ReadFile(keyFile)
		_, _ = fw.Write(raw)
		_ = mw.Close()
		st, _, page := b.fetch(t, "POST", w.srv.URL+"/api/dashboard/connect/admin/google/delegation", &body,
			map[string]string{"Content-Type": mw.FormDataContentType()})
		return st, page
	}
	wendy := w.newBrowser()
	w.signIn(t, wendy)
	if st, page := upload(wendy); st != http.StatusOK || !strings.Contains(page, "Delegation saved for acme.example") {
		t.Fatalf("Wendy's upload answered %d:\n%.800s", st, page)
	}

	oscar := w.newBrowser()
	wendyOID := w.oid
	w.oid = otherOID // signIn picks w.oid at the identity provider
	w.signIn(t, oscar)
	w.oid = wendyOID
	sess, err := w.app.sessions.Decode(oscar.cookies()[0].Value)
	if err != nil {
		t.Fatal(err)
	}
	if st, page := upload(oscar); st != http.StatusConflict || !strings.Contains(page, "Another crmsync organisation already delegated acme.example") {
		t.Errorf("another org's upload of the domain answered %d:\n%.800s", st, page)
	}
	if st, _, body := oscar.fetch(t, "POST", w.srv.URL+"/api/dashboard/v1/orgs/"+sess.Org+"/users", strings.NewReader(`{"addresses":["cole@acme.example"]}`),
		map[string]string{"Content-Type": "application/json", "X-CSRF-Token": w.csrf(t, oscar)}); st/100 != 2 {
		t.Fatalf("Oscar provisioning cole answered %d: %s", st, body)
	}
	form := url.Values{"csrf_token": {w.csrf(t, oscar)}, "lines": {"cole@acme.example"}}
	st, _, page := oscar.fetch(t, "POST", w.srv.URL+"/api/dashboard/connect/admin/google/users", strings.NewReader(form.Encode()),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if st != http.StatusOK || !strings.Contains(page, "no delegation for acme.example in your organisation") || strings.Contains(page, ": connected") {
		t.Errorf("Oscar onboarding an acme.example address answered %d:\n%.1200s", st, page)
	}
	cole, ok, err := w.app.accounts.ClaimInvite(t.Context(), sess.Org, "cole@acme.example")
	if err != nil || !ok {
		t.Fatalf("cole in Oscar's org: %v %v", ok, err)
	}
	if cs, _ := w.app.conns.List(t.Context(), cole); len(cs) != 0 {
		t.Errorf("cole got connections through another org's delegation: %+v", cs)
	}
}
