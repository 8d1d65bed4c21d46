package c4c

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"html"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/fakec4c"
	"github.com/crmsync/crmsync/shared/connect"
	"github.com/crmsync/crmsync/shared/testenv"
)

var certArea = regexp.MustCompile(`(?s)<textarea id="certificate"[^>]*>(.*?)</textarea>`)

// TestSAMLAdminPageForms: the admin page's forms, posted as a browser
// posts them, answer with the page. crmsync generates the identity
// provider's key pair and shows its certificate (the key is kept sealed as
// pending); a set-up naming no key uses it once C4C issues a token, and
// the page then shows the client, issuer and the certificate's fingerprint
// and expiry but neither the secret nor the key. A certificate not valid
// now is refused with nothing stored; a replace with an empty secret keeps
// the client's; each address's outcome is said in words; remove removes.
func TestSAMLAdminPageForms(t *testing.T) {
	tables, conns := testStores(t)
	clk := testenv.NewClock(time.Date(2026, 5, 11, 12, 0, 0, 0, time.UTC))
	users := map[string]string{"ada@acme.example": "u-ada", "bob@acme.example": "u-bob"}
	admin := SAMLAdmin{Connections: conns, CSRFToken: func(*http.Request) string { return "tok" }, Prefix: connect.DefaultPrefix, Overview: "/api/dashboard/overview", Static: "/api/dashboard/static"}
	h, err := connect.New(connect.Options{
		Providers: []connect.Provider{admin},
		Passwords: []connect.Password{{Provider: Provider, Name: Connector.Name, Check: func(context.Context, string, string, string) (string, error) {
			return "", errors.New("not used")
		}}},
		Connections: conns, Tables: tables, StateKey: []byte(strings.Repeat("k", 32)),
		CurrentUser: func(*http.Request) (string, string, bool) { return "u-admin", "org1", true },
		CSRF: connect.CSRFFunc(func(r *http.Request) error {
			if r.PostFormValue("csrf_token") != "tok" {
				return errors.New("no token")
			}
			return nil
		}),
		ResolveUser: func(_ context.Context, org, email string) (string, bool, error) {
			u, ok := users[email]
			return u, ok && org == "org1", nil
		},
		Now: clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	post := func(path string, form url.Values) (int, string) {
		t.Helper()
		form.Set("csrf_token", "tok")
		req := httptest.NewRequest("POST", connect.DefaultPrefix+"/admin/c4c/saml"+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Fatalf("POST %s answered %s, not the page: %s", path, ct, rec.Body.String())
		}
		return rec.Code, rec.Body.String()
	}
	stored := func(user string) bool {
		_, err := conns.Get(context.Background(), user, Provider)
		return err == nil
	}

	status, page := post("/generate", url.Values{})
	m := certArea.FindStringSubmatch(page)
	if status != 200 || m == nil || !strings.Contains(page, "A new key pair is generated") {
		t.Fatalf("generating: %d\n%s", status, page)
	}
	block, _ := pem.Decode([]byte(html.UnescapeString(m[1])))
	if block == nil {
		t.Fatalf("the page's certificate is not PEM: %q", m[1])
	}
	gen, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page, Fingerprint(gen)) || strings.Contains(page, "PRIVATE KEY") || !stored(PendingSAMLUser("org1")) {
		t.Fatalf("the generated pair: fingerprint shown %v, key shown %v, pending stored %v",
			strings.Contains(page, Fingerprint(gen)), strings.Contains(page, "PRIVATE KEY"), stored(PendingSAMLUser("org1")))
	}
	// The C4C admin registers that certificate for the issuer "crmsync".
	l := newLocal(t, fakec4c.Options{Now: clk.Now, OAuth: &fakec4c.OAuth{ClientID: "CRMSYNC", ClientSecret: "s3cret", Issuer: "crmsync", Cert: gen,
		Users: []string{"ada@acme.example", "bob@acme.example"}}})
	setup := url.Values{"host": {l.http.URL}, "client_id": {"CRMSYNC"}, "client_secret": {"s3cret"}, "issuer": {"crmsync"}, "check_user": {"ada@acme.example"}}

	// A pasted pair whose certificate expired is refused before C4C is asked.
	oldKey, _ := newIdP(t, "old")
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "old"}, NotBefore: clk.Now().AddDate(-3, 0, 0), NotAfter: clk.Now().AddDate(0, 0, -1)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &oldKey.PublicKey, oldKey)
	expired := url.Values{}
	for k, v := range setup {
		expired[k] = v
	}
	expired.Set("key", string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(oldKey)})))
	expired.Set("certificate", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	if status, page := post("", expired); status != 400 || !strings.Contains(page, "not valid now") || strings.Contains(page, "s3cret") || strings.Contains(page, "PRIVATE KEY") {
		t.Errorf("an expired certificate: %d\n%s", status, page)
	}
	if stored(SAMLSetupUser("org1")) {
		t.Fatal("a refused setup was stored")
	}
	tokens := l.srv.Calls("POST", "token")
	status, page = post("", setup)
	if status != 200 || !strings.Contains(page, "Single sign-on is set up") || !strings.Contains(page, Fingerprint(gen)) ||
		!strings.Contains(page, gen.NotAfter.UTC().Format("2 January 2006")) || strings.Contains(page, "s3cret") || strings.Contains(page, "PRIVATE KEY") {
		t.Fatalf("the set-up with the generated pair: %d\n%s", status, page)
	}
	if l.srv.Calls("POST", "token") == tokens {
		t.Error("the set-up was stored without a token from C4C")
	}
	if stored(PendingSAMLUser("org1")) {
		t.Error("the generated pair stays pending after it was set up")
	}
	// Replacing with an empty secret keeps the client's secret and key.
	keep := url.Values{}
	for k, v := range setup {
		keep[k] = v
	}
	keep.Del("client_secret")
	if status, page := post("", keep); status != 200 || !strings.Contains(page, "Single sign-on is set up") {
		t.Errorf("a replace keeping the secret: %d\n%s", status, page)
	}
	cred, err := conns.Credentials(context.Background(), SAMLSetupUser("org1"), Provider)
	var sec samlSecret
	if err != nil || json.Unmarshal([]byte(cred.Password), &sec) != nil || sec.ClientSecret != "s3cret" || !strings.Contains(sec.Key, "PRIVATE KEY") {
		t.Fatalf("the kept setup: %v", err)
	}

	if _, err := l.srv.Insert("EmployeeCollection", map[string]any{"LastName": "Lovelace", "Email": "ada@acme.example", "EmployeeID": "2001", "BusinessPartnerID": "8000002001"}); err != nil {
		t.Fatal(err)
	}
	status, page = post("/users", url.Values{"lines": {"ada@acme.example\nbob@acme.example\ncarol@acme.example\nada@acme.example"}})
	for _, want := range []string{"Connected 2 of 4", "ada@acme.example: connected", "bob@acme.example: no employee found",
		"carol@acme.example: no crmsync user", "ada@acme.example: already connected"} {
		if status != 200 || !strings.Contains(page, want) {
			t.Errorf("connecting users: %d, the page does not say %q\n%s", status, want, page)
		}
	}
	if !stored("u-ada") || stored("u-bob") {
		t.Errorf("after connecting: ada %v (want true), bob %v (want false)", stored("u-ada"), stored("u-bob"))
	}

	if status, page := post("/remove", url.Values{}); status != 200 || !strings.Contains(page, "Not set up") || stored(SAMLSetupUser("org1")) {
		t.Errorf("removing: %d, still stored %v\n%s", status, stored(SAMLSetupUser("org1")), page)
	}
	// Without the session's token nothing changes.
	req := httptest.NewRequest("POST", connect.DefaultPrefix+"/admin/c4c/saml/generate", strings.NewReader(""))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden || stored(PendingSAMLUser("org1")) {
		t.Errorf("a generate without the CSRF token: %d, pending stored %v", rec.Code, stored(PendingSAMLUser("org1")))
	}
}
