package c4c

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/shared/connect"
	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// TestSAMLAdminFlow: an org admin sets the SAML bearer up (client, issuer,
// key and certificate), proved by a token before anything is stored; a
// setup C4C refuses stores nothing and says why; the admin then connects
// users by address, who need no password, and their sides sync.
func TestSAMLAdminFlow(t *testing.T) {
	w := newSAMLWorld(t)
	tables, conns := testStores(t)
	users := map[string]string{"ada@acme.example": "u-ada", "bob@acme.example": "u-bob"}
	h, err := connect.New(connect.Options{
		Providers: []connect.Provider{SAMLAdmin{Connections: conns}},
		Passwords: []connect.Password{{Provider: Provider, Name: Connector.Name, Check: func(context.Context, string, string, string) (string, error) {
			return "", errors.New("not used")
		}}},
		Connections: conns, Tables: tables, StateKey: []byte(strings.Repeat("k", 32)),
		CurrentUser: func(*http.Request) (string, string, bool) { return "u-admin", "org1", true },
		CSRF:        connect.CSRFFunc(func(*http.Request) error { return nil }),
		ResolveUser: func(_ context.Context, org, email string) (string, bool, error) {
			u, ok := users[email]
			return u, ok && org == "org1", nil
		},
		Now: w.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	post := func(path string, body any) (int, map[string]any) {
		b, _ := json.Marshal(body)
		req := httptest.NewRequest("POST", connect.DefaultPrefix+path, strings.NewReader(string(b)))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var out map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &out)
		return rec.Code, out
	}
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(w.key)}))
	certPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: w.cert.Raw}))
	otherKey, otherCert := newIdP(t, "other")
	setup := map[string]any{"host": w.http.URL, "client_id": "CRMSYNC", "client_secret": "s3cret", "issuer": "crmsync-idp",
		"key": keyPEM, "certificate": certPEM, "check_user": "ada@acme.example"}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for a, b := range setup {
			m[a] = b
		}
		m[k] = v
		return m
	}
	stored := func() bool {
		_, err := conns.Get(context.Background(), SAMLSetupUser("org1"), Provider)
		return err == nil
	}
	// A key pair the tenant does not trust: C4C refuses the assertion.
	untrusted := with("key", string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(otherKey)})))
	untrusted["certificate"] = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: otherCert.Raw}))
	for _, tc := range []struct {
		name   string
		body   map[string]any
		status int
		want   string
	}{
		{"fields missing", with("issuer", ""), 400, "issuer"},
		{"key and certificate apart", with("certificate", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: otherCert.Raw}))), 400, "not the private key's"},
		{"untrusted identity provider", untrusted, 422, "signature is not the registered identity provider's"},
		{"wrong secret", with("client_secret", "nope"), 422, "OAuth client id or secret"},
		{"unknown check user", with("check_user", "eve@evil.example"), 422, "not a business user"},
		{"not https", with("host", "http://my000001.crm.ondemand.com"), 400, "https://"},
	} {
		status, out := post("/admin/c4c/saml", tc.body)
		if msg, _ := out["message"].(string); status != tc.status || !strings.Contains(msg, tc.want) {
			t.Errorf("%s: %d %v, want %d with %q", tc.name, status, out, tc.status, tc.want)
		}
		if stored() {
			t.Fatalf("%s: a refused setup was stored", tc.name)
		}
	}
	if status, out := post("/admin/c4c/saml", setup); status != 200 || out["tenant"] == "" {
		t.Fatalf("good setup: %d %v", status, out)
	}
	if !stored() {
		t.Fatal("the setup was not stored")
	}
	// The private key is sealed: no table holds it in the clear.
	rows, err := tables.Query(context.Background(), connection.Table, tablestore.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows.Entities) == 0 {
		t.Fatal("no connection rows to scan")
	}
	for _, r := range rows.Entities {
		for _, v := range r.Properties {
			if s, ok := v.(string); ok && (strings.Contains(s, "PRIVATE KEY") || strings.Contains(s, "s3cret")) {
				t.Fatalf("a secret of the setup is stored in the clear in %s", r.RowKey)
			}
		}
	}
	// Ada's records are her employee's: she is connected once C4C has one
	// with her address.
	if _, err := w.srv.Insert("EmployeeCollection", map[string]any{"LastName": "Lovelace", "Email": "ada@acme.example", "EmployeeID": "2001", "BusinessPartnerID": "8000002001"}); err != nil {
		t.Fatal(err)
	}
	status, out := post("/admin/c4c/saml/users", map[string]any{"lines": []string{"ada@acme.example", "bob@acme.example, BOB01", "carol@acme.example"}})
	if status != 200 || out["connected"].(float64) != 1 {
		t.Fatalf("connect users: %d %v", status, out)
	}
	res := out["results"].([]any)
	if e := res[1].(map[string]any)["error"]; !strings.Contains(e.(string), "not a business user") {
		t.Errorf("bob's line: %v", e)
	}
	if e := res[2].(map[string]any)["error"]; e == nil || !strings.Contains(e.(string), "no crmsync user") {
		t.Errorf("carol's line: %v", e)
	}
	c, err := conns.Get(context.Background(), "u-ada", Provider)
	if err != nil || c.Flow != connection.FlowSAMLBearer {
		t.Fatalf("ada's connection: %+v %v", c, err)
	}
	if _, err := conns.Get(context.Background(), "u-bob", Provider); !errors.Is(err, connection.ErrNotFound) {
		t.Errorf("bob was connected although C4C refused him: %v", err)
	}
	// Ada's side opens with the organisation's setup and syncs; two
	// sessions share one token.
	o := &Opener{Tables: tables, Now: w.clock.Now, OrgOf: func(context.Context, string) (string, error) { return "org1", nil }}
	if _, err := w.srv.Insert("ContactCollection", map[string]any{"LastName": "Lovelace"}); err != nil {
		t.Fatal(err)
	}
	tokens := w.srv.Calls("POST", "token")
	for i := 0; i < 2; i++ {
		crm, err := o.OpenCRM(context.Background(), conns, c, nil)
		if err != nil {
			t.Fatal(err)
		}
		if ch, err := crm.Changes(context.Background(), item.Scope{Kind: item.Contact}, ""); err != nil || len(ch.Records) != 1 {
			t.Fatalf("session %d of a SAML bearer user: %+v %v", i, ch.Records, err)
		}
	}
	if n := w.srv.Calls("POST", "token") - tokens; n != 1 {
		t.Errorf("%d tokens for two sessions, want 1", n)
	}
}
