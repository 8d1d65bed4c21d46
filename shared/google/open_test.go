package google

import (
	"net/http"
	"path/filepath"
	"testing"

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
