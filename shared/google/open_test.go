package google

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"path/filepath"
	"testing"

	"golang.org/x/oauth2/jwt"

	"github.com/crmsync/crmsync/local/fakegoogle"
	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/keyring"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// TestOpenerRefreshesAndReconnects opens a side from a stored auth_code
// connection: the refresh token goes to the token endpoint, the side reads;
// once the user revokes the app, opening reads as Reconnect.
func TestOpenerRefreshesAndReconnects(t *testing.T) {
	ctx := t.Context()
	fg := fakegoogle.New(fakegoogle.Options{Clients: map[string]string{"crmsync-test": "s3cret"}})
	_, refresh := fg.AddUser(testUser)
	dir := t.TempDir()
	tables, err := tablestore.OpenEmbedded(filepath.Join(dir, "tables.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tables.Close() })
	ring, err := keyring.OpenFileRing(filepath.Join(dir, "keys", "ring.json"))
	if err != nil {
		t.Fatal(err)
	}
	conns := connection.NewStore(tables, ring, connection.Options{Providers: connection.ProvidersOf(Connector)})
	c, err := conns.Save(ctx, connection.Connection{User: "u1", Provider: Provider, Tenant: "example.test", Flow: connection.FlowAuthCode},
		connection.Credentials{RefreshToken: refresh})
	if err != nil {
		t.Fatal(err)
	}
	o := &Opener{OAuth: OAuthConfig("crmsync-test", "s3cret", "http://google.local/auth", "http://google.local/token"),
		BaseURL: "http://google.local", HTTPClient: &http.Client{Transport: fg.Transport()}}
	if o.Connector().Provider != Provider {
		t.Fatalf("Connector = %+v", o.Connector())
	}
	mb, err := o.OpenMailbox(ctx, conns, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := mb.Changes(ctx, item.Scope{Kind: item.Contact}, "")
	if err != nil || !ch.Full || ch.Cursor == "" {
		t.Fatalf("Changes through the opened side: %+v, %v", ch, err)
	}
	if n := fg.Requests()["token"]; n != 1 {
		t.Errorf("token endpoint called %d times, want 1 (the token is reused)", n)
	}
	if _, err := o.OpenMailbox(ctx, conns, c, map[item.Kind][]item.CustomField{item.Contact: {{Mailbox: "x"}}}); !fault.Is(err, fault.Permanent) {
		t.Errorf("custom fields: %v, want a Permanent refusal", err)
	}
	fg.RevokeRefresh(refresh)
	mb2, err := o.OpenMailbox(ctx, conns, c, nil)
	if err == nil {
		_, err = mb2.Changes(ctx, item.Scope{Kind: item.Task}, "")
	}
	if !fault.Is(err, fault.Reconnect) {
		t.Errorf("after revocation: %v, want Reconnect", err)
	}
}

// TestOpenerDelegation: a mailbox an admin onboarded (jwt_bearer) opens
// through the service account acting as the stored user; scopes the admin
// did not grant read as Reconnect (an admin must fix the grant).
func TestOpenerDelegation(t *testing.T) {
	ctx := t.Context()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	sa := "sync@crmsync-test.iam.gserviceaccount.com"
	for _, tc := range []struct {
		name    string
		granted []string
		want    fault.Class
	}{
		{"granted", Scopes, 0},
		{"scopes not granted", Scopes[:1], fault.Reconnect},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fg := fakegoogle.New(fakegoogle.Options{ServiceAccounts: map[string]fakegoogle.ServiceAccount{sa: {Key: &key.PublicKey, Scopes: tc.granted}}})
			fg.AddUser(testUser)
			conns := newStore(t)
			c, err := conns.Save(ctx, connection.Connection{User: "u1", Provider: Provider, Tenant: "example.test", Flow: connection.FlowJWTBearer},
				connection.Credentials{Username: testUser})
			if err != nil {
				t.Fatal(err)
			}
			o := &Opener{Delegation: &jwt.Config{Email: sa, PrivateKey: pemKey, TokenURL: "http://google.local/token"},
				BaseURL: "http://google.local", HTTPClient: &http.Client{Transport: fg.Transport()}}
			mb, err := o.OpenMailbox(ctx, conns, c, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = mb.Changes(ctx, item.Scope{Kind: item.Task}, "")
			if got := fault.ClassOf(err); got != tc.want {
				t.Errorf("Changes: %v (class %v), want %v", err, got, tc.want)
			}
		})
	}
}

func newStore(t *testing.T) *connection.Store {
	dir := t.TempDir()
	tables, err := tablestore.OpenEmbedded(filepath.Join(dir, "tables.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tables.Close() })
	ring, err := keyring.OpenFileRing(filepath.Join(dir, "keys", "ring.json"))
	if err != nil {
		t.Fatal(err)
	}
	return connection.NewStore(tables, ring, connection.Options{Providers: connection.ProvidersOf(Connector)})
}
