package c4c

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/fakec4c"
	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
)

func newIdP(t testing.TB, name string) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2036, 1, 1, 0, 0, 0, 0, time.UTC)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return key, cert
}

type samlWorld struct {
	*local
	key  *rsa.PrivateKey
	cert *x509.Certificate
}

func newSAMLWorld(t *testing.T) samlWorld {
	key, cert := newIdP(t, "crmsync")
	l := newLocal(t, fakec4c.Options{OAuth: &fakec4c.OAuth{ClientID: "CRMSYNC", ClientSecret: "s3cret", Issuer: "crmsync-idp", Cert: cert,
		Users: []string{"ada@acme.example"}}})
	return samlWorld{local: l, key: key, cert: cert}
}

func (w samlWorld) bearer() *SAMLBearer {
	return &SAMLBearer{Host: w.http.URL, ClientID: "CRMSYNC", ClientSecret: "s3cret", Issuer: "crmsync-idp", Key: w.key, Cert: w.cert,
		NameID: "ada@acme.example", Now: w.clock.Now}
}

// TestSAMLBearerSyncsWithoutAPassword: a side whose client holds no
// password reads and writes with tokens of signed assertions; one token
// serves many calls and a new one is fetched when it expires.
func TestSAMLBearerSyncsWithoutAPassword(t *testing.T) {
	w := newSAMLWorld(t)
	ctx := context.Background()
	b := w.bearer()
	tenant, err := CheckSAML(ctx, b)
	if err != nil || tenant == "" {
		t.Fatalf("CheckSAML: %q %v", tenant, err)
	}
	c, err := New(Options{Host: w.http.URL, SAML: b})
	if err != nil {
		t.Fatal(err)
	}
	side := NewSide(c, SideOptions{Now: w.clock.Now})
	if _, err := w.srv.Insert("ContactCollection", map[string]any{"LastName": "Lovelace", "Email": "ada@acme.example"}); err != nil {
		t.Fatal(err)
	}
	ch, err := side.Changes(ctx, item.Scope{Kind: item.Contact}, "")
	if err != nil || len(ch.Records) != 1 {
		t.Fatalf("changes with a bearer token: %+v %v", ch.Records, err)
	}
	res, err := side.Create(ctx, item.Contact, []item.Record{{Kind: item.Contact, Fields: map[string]string{item.LastName: "Hopper"}}}, []string{"m"})
	if err != nil || res[0].Err != nil {
		t.Fatalf("create with a bearer token: %v %+v", err, res)
	}
	if n := w.srv.Calls("POST", "token"); n != 1 {
		t.Errorf("%d token requests for a check, a read and a write; want 1", n)
	}
	// The token expires (the server's clock moves past it): the next call
	// is answered 401, a new assertion brings a new token, the call goes on.
	w.clock.Add(2 * time.Hour)
	if _, err := side.Changes(ctx, item.Scope{Kind: item.Contact}, ch.Cursor); err != nil {
		t.Fatalf("after the token expired: %v", err)
	}
	w.srv.ExpireBearerTokens()
	if _, err := side.Changes(ctx, item.Scope{Kind: item.Contact}, ch.Cursor); err != nil {
		t.Fatalf("after the tokens were revoked: %v", err)
	}
	if n := w.srv.Calls("POST", "token"); n != 3 {
		t.Errorf("%d token requests, want 3 (first, after expiry, after revocation)", n)
	}
}

// TestSAMLBadAssertionIsRefused: every way an assertion or client can be
// wrong is refused by the token endpoint, and CheckSAML says why in words,
// classified as needing the admin (Reconnect).
func TestSAMLBadAssertionIsRefused(t *testing.T) {
	w := newSAMLWorld(t)
	otherKey, otherCert := newIdP(t, "intruder")
	cases := []struct {
		name string
		mod  func(b *SAMLBearer)
		want string
	}{
		{"key not the registered certificate's", func(b *SAMLBearer) { b.Key, b.Cert = otherKey, otherCert }, "signature is not the registered identity provider's"},
		{"unknown issuer", func(b *SAMLBearer) { b.Issuer = "someone" }, `issuer "someone"`},
		{"user not in the tenant", func(b *SAMLBearer) { b.NameID = "eve@evil.example" }, "not a business user"},
		{"expired", func(b *SAMLBearer) { b.Now = func() time.Time { return w.clock.Now().Add(-time.Hour) } }, "expired"},
		{"wrong client secret", func(b *SAMLBearer) { b.ClientSecret = "nope" }, "OAuth client id or secret"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := w.bearer()
			tc.mod(b)
			_, err := CheckSAML(context.Background(), b)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !fault.Is(err, fault.Reconnect) {
				t.Fatalf("CheckSAML: %v, want a Reconnect error containing %q", err, tc.want)
			}
		})
	}
	if n := w.srv.Calls("POST", "token"); n != 0 {
		t.Errorf("%d tokens issued for bad assertions", n)
	}
	// A tenant whose host is another: the assertion's audience is wrong.
	key, cert := newIdP(t, "crmsync")
	other := newLocal(t, fakec4c.Options{OAuth: &fakec4c.OAuth{ClientID: "CRMSYNC", ClientSecret: "s3cret", Issuer: "crmsync-idp", Cert: cert,
		Users: []string{"ada@acme.example"}, Audience: "my123456.crm.ondemand.com"}})
	b := &SAMLBearer{Host: other.http.URL, ClientID: "CRMSYNC", ClientSecret: "s3cret", Issuer: "crmsync-idp", Key: key, Cert: cert, NameID: "ada@acme.example", Now: other.clock.Now}
	if _, err := CheckSAML(context.Background(), b); err == nil || !strings.Contains(err.Error(), "audience") {
		t.Errorf("assertion for another tenant: %v", err)
	}
}

// TestSAMLTamperedAssertion: an assertion changed after signing (another
// user put in its NameID) fails the digest, whatever else is right.
func TestSAMLTamperedAssertion(t *testing.T) {
	w := newSAMLWorld(t)
	b := w.bearer()
	b.NameID = "someone@acme.example"
	a, err := b.Assertion()
	if err != nil {
		t.Fatal(err)
	}
	a = bytes.Replace(a, []byte("someone@acme.example"), []byte("ada@acme.example"), 1)
	form := url.Values{"client_id": {"CRMSYNC"}, "grant_type": {SAMLGrant}, "assertion": {base64.StdEncoding.EncodeToString(a)}}
	req, _ := http.NewRequest(http.MethodPost, w.http.URL+TokenPath, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("CRMSYNC", "s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct{ Error, Error_description string }
	_ = json.NewDecoder(resp.Body).Decode(&e)
	if resp.StatusCode != 400 || e.Error != "invalid_grant" || !strings.Contains(e.Error_description, "digest") {
		t.Fatalf("tampered assertion: %d %+v", resp.StatusCode, e)
	}
	// Untampered, the same request is accepted.
	b.NameID = "ada@acme.example"
	if _, err := b.Token(context.Background()); err != nil {
		t.Fatalf("the untampered assertion: %v", err)
	}
}

// TestParseKeyPair: a key and certificate that do not belong together are
// refused in words.
func TestParseKeyPair(t *testing.T) {
	key, cert := newIdP(t, "a")
	other, _ := newIdP(t, "b")
	kp := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	cp := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
	if _, _, err := ParseKeyPair(kp, cp); err != nil {
		t.Fatal(err)
	}
	op := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(other)})
	if _, _, err := ParseKeyPair(op, cp); err == nil || !strings.Contains(err.Error(), "not the private key's") {
		t.Errorf("mismatched pair: %v", err)
	}
	if _, _, err := ParseKeyPair([]byte("x"), cp); err == nil {
		t.Error("a key that is not PEM was accepted")
	}
}

var _ = httptest.NewServer
