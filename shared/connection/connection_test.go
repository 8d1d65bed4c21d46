package connection_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/msgraph"
	"github.com/crmsync/crmsync/shared/salesforce"
	"github.com/crmsync/crmsync/shared/seal"
	"github.com/crmsync/crmsync/shared/side"
	"github.com/crmsync/crmsync/shared/tablestore"
)

func TestSaveGetList(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	e := newEnv(t, connection.Options{Now: func() time.Time { return now }})
	mustSave(t, e.store, sfConn("u-1"), connection.Credentials{RefreshToken: secret("RT")})
	mustSave(t, e.store, msConn("u-1"), connection.Credentials{RefreshToken: secret("RT")})
	mustSave(t, e.store, sfConn("u-2"), connection.Credentials{RefreshToken: secret("RT")})

	got, err := e.store.List(ctx, "u-1")
	if err != nil {
		t.Fatal(err)
	}
	want := []connection.Connection{msConn("u-1"), sfConn("u-1")}
	for i := range want {
		want[i].Status, want[i].Updated = connection.Connected, now
	}
	if diff := cmp.Diff(want, got, cmpopts.SortSlices(func(a, b connection.Connection) bool { return a.Provider < b.Provider })); diff != "" {
		t.Errorf("List(u-1) mismatch (-want +got):\n%s", diff)
	}
	if c := mustGet(t, e.store, "u-2", connection.Salesforce); !c.SyncAllowed() {
		t.Errorf("fresh connection: SyncAllowed() = false")
	}
	if _, err := e.store.Get(ctx, "u-3", connection.Salesforce); !errors.Is(err, connection.ErrNotFound) {
		t.Errorf("Get(absent) error = %v, want ErrNotFound", err)
	}
}

func TestSaveRejectsBadInput(t *testing.T) {
	e := newEnv(t, connection.Options{Providers: connection.ProvidersOf(salesforce.Connector, msgraph.Connector)})
	ok := sfConn("u-1")
	with := func(f func(*connection.Connection)) connection.Connection { c := ok; f(&c); return c }
	rt := connection.Credentials{RefreshToken: "x"}
	tests := []struct {
		name    string
		c       connection.Connection
		cred    connection.Credentials
		wantErr string
	}{
		{"no user", with(func(c *connection.Connection) { c.User = "" }), rt, "user is empty"},
		{"unknown provider", with(func(c *connection.Connection) { c.Provider = "hubspot" }), rt, `provider "hubspot"`},
		{"no tenant", with(func(c *connection.Connection) { c.Tenant = "" }), rt, "tenant"},
		{"no refresh token", ok, connection.Credentials{}, "needs a refresh token"},
		{"unknown flow", with(func(c *connection.Connection) { c.Flow = "magic" }), rt, `flow "magic"`},
		{"password without password", with(func(c *connection.Connection) { c.Flow = connection.FlowPassword }), connection.Credentials{Username: "a"}, "username and a password"},
		{"password for microsoft", with(func(c *connection.Connection) { c.Provider, c.Flow = connection.Microsoft, connection.FlowPassword }), connection.Credentials{Username: "a", Password: "b"}, "salesforce only"},
		{"client credentials for salesforce", with(func(c *connection.Connection) { c.Flow = connection.FlowClientCredentials }), connection.Credentials{}, "microsoft only"},
		{"jwt without username", with(func(c *connection.Connection) { c.Flow = connection.FlowJWTBearer }), connection.Credentials{}, "needs a username"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.store.Save(context.Background(), tt.c, tt.cred)
			if !errors.Is(err, connection.ErrInvalid) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Save error = %v, want ErrInvalid mentioning %q", err, tt.wantErr)
			}
		})
	}
}

// TestSaveProvidersFromConnectors: the providers a store accepts, and their
// flows, are the connectors' it is given; a new vendor needs no edit here.
func TestSaveProvidersFromConnectors(t *testing.T) {
	c4c := side.Connector{Provider: "c4c", Name: "SAP Cloud for Customer", Role: side.CRMRole, Flows: []string{"auth_code"}}
	e := newEnv(t, connection.Options{Providers: connection.ProvidersOf(c4c, msgraph.Connector)})
	ctx := context.Background()
	conn := connection.Connection{User: "u-1", Provider: "c4c", Tenant: "my123456", Flow: connection.FlowAuthCode}
	if _, err := e.store.Save(ctx, conn, connection.Credentials{RefreshToken: "x"}); err != nil {
		t.Fatalf("Save(c4c auth_code) = %v, want it stored", err)
	}
	for _, tt := range []struct {
		name    string
		c       connection.Connection
		wantErr string
	}{
		{"a provider no connector has", sfConn("u-2"), `provider "salesforce" is not c4c or microsoft`},
		{"a flow the connector lacks", func() connection.Connection { c := conn; c.Flow = connection.FlowClientCredentials; return c }(), "client_credentials flow is for microsoft only"},
		{"a flow no connector has", func() connection.Connection { c := conn; c.Flow = connection.FlowJWTBearer; return c }(), "jwt_bearer flow is offered by no provider"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.store.Save(ctx, tt.c, connection.Credentials{RefreshToken: "x", Username: "u"})
			if !errors.Is(err, connection.ErrInvalid) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Save error = %v, want ErrInvalid mentioning %q", err, tt.wantErr)
			}
		})
	}
}

// TestTokensAtRestAreCiphertext: after connecting, refreshing (with
// rotation), and saving passwords, no row property — and no byte of the
// database files — holds a plaintext credential or access token.
func TestTokensAtRestAreCiphertext(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, connection.Options{})
	rt1, rt2 := secret("RT"), secret("RT")
	srv := newTokenServer(t, true, true, rt1)
	mustSave(t, e.store, sfConn("u-1"), connection.Credentials{RefreshToken: rt1})
	mustSave(t, e.store, msConn("u-1"), connection.Credentials{RefreshToken: rt2})
	pwd := sfConn("u-2")
	pwd.Flow = connection.FlowPassword
	username, password := "alice@example.com"+secret("U"), secret("PW")
	mustSave(t, e.store, pwd, connection.Credentials{Username: username, Password: password})
	jwtConn := sfConn("u-3")
	jwtConn.Flow = connection.FlowJWTBearer
	jwtUser := "bob@example.com" + secret("U")
	mustSave(t, e.store, jwtConn, connection.Credentials{Username: jwtUser})

	ts, err := e.store.TokenSource(ctx, "u-1", connection.Salesforce, srv.config())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Token(); err != nil {
		t.Fatal(err)
	}
	secrets := append([]string{rt1, rt2, password, username, jwtUser}, srv.allIssued()...)
	secrets = append(secrets, srv.allValid()...) // the rotated refresh token

	page, err := e.tables.Query(ctx, connection.Table, tablestore.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Entities) != 4 {
		t.Fatalf("rows = %d, want 4", len(page.Entities))
	}
	for _, ent := range page.Entities {
		for k, v := range ent.Properties {
			s, ok := v.(string)
			if !ok {
				continue
			}
			for _, sec := range secrets {
				if strings.Contains(s, sec) {
					t.Errorf("row %s/%s property %s holds a plaintext secret", ent.PartitionKey, ent.RowKey, k)
				}
			}
			if k == "RefreshToken" || k == "Password" || k == "Username" {
				if !seal.IsSealed(s) {
					t.Errorf("row %s/%s property %s is not a sealed value", ent.PartitionKey, ent.RowKey, k)
				}
			}
		}
	}
	// Nothing in the database files either (WAL included).
	files, _ := filepath.Glob(filepath.Join(e.dir, "db.sqlite*"))
	if len(files) == 0 {
		t.Fatal("no database files found")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, sec := range secrets {
			if strings.Contains(string(b), sec) {
				t.Errorf("database file %s holds a plaintext secret", filepath.Base(f))
			}
		}
	}
}

func TestCiphertextMovedToAnotherUserFailsToOpen(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, connection.Options{})
	aliceRT, bobRT := secret("RT"), secret("RT")
	srv := newTokenServer(t, true, false, aliceRT, bobRT)
	mustSave(t, e.store, sfConn("u-alice"), connection.Credentials{RefreshToken: aliceRT})
	mustSave(t, e.store, sfConn("u-bob"), connection.Credentials{RefreshToken: bobRT})
	mustSave(t, e.store, msConn("u-alice"), connection.Credentials{RefreshToken: secret("RT")})

	copyProp := func(t *testing.T, from, to tablestore.Entity, fromProp, toProp string) {
		t.Helper()
		to.Properties[toProp] = from.Properties[fromProp]
		if _, err := e.tables.Update(ctx, connection.Table, to, to.ETag); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("another user", func(t *testing.T) {
		copyProp(t, e.entity(t, "u-alice", connection.Salesforce), e.entity(t, "u-bob", connection.Salesforce), "RefreshToken", "RefreshToken")
		if _, err := e.store.Credentials(ctx, "u-bob", connection.Salesforce); !errors.Is(err, seal.ErrTampered) {
			t.Fatalf("Credentials(bob) error = %v, want ErrTampered", err)
		}
		ts, err := e.store.TokenSource(ctx, "u-bob", connection.Salesforce, srv.config())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ts.Token(); !isReconnect(err) {
			t.Errorf("Token() error = %v, want a needs-reconnect error", err)
		}
		if srv.sawRefreshToken(aliceRT) {
			t.Error("alice's refresh token reached the provider on bob's behalf")
		}
		if c := mustGet(t, e.store, "u-bob", connection.Salesforce); c.Status != connection.NeedsReconnect {
			t.Errorf("bob's status = %s, want needs_reconnect", c.Status)
		}
		// Alice's own row still works.
		if got := mustOpen(t, e.store, "u-alice", connection.Salesforce).RefreshToken; got != aliceRT {
			t.Error("alice's refresh token changed")
		}
	})
	t.Run("another provider", func(t *testing.T) {
		copyProp(t, e.entity(t, "u-alice", connection.Salesforce), e.entity(t, "u-alice", connection.Microsoft), "RefreshToken", "RefreshToken")
		if _, err := e.store.Credentials(ctx, "u-alice", connection.Microsoft); !errors.Is(err, seal.ErrTampered) {
			t.Errorf("error = %v, want ErrTampered", err)
		}
	})
	t.Run("another tenant", func(t *testing.T) {
		ent := e.entity(t, "u-alice", connection.Salesforce)
		ent.Properties["Tenant"] = "00D000000000002AAA"
		if _, err := e.tables.Update(ctx, connection.Table, ent, ent.ETag); err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.Credentials(ctx, "u-alice", connection.Salesforce); !errors.Is(err, seal.ErrTampered) {
			t.Errorf("error = %v, want ErrTampered", err)
		}
	})
	t.Run("another field", func(t *testing.T) {
		c := sfConn("u-carol")
		c.Flow = connection.FlowPassword
		mustSave(t, e.store, c, connection.Credentials{Username: "carol", Password: secret("PW")})
		ent := e.entity(t, "u-carol", connection.Salesforce)
		copyProp(t, ent, ent, "Password", "Username")
		if _, err := e.store.Credentials(ctx, "u-carol", connection.Salesforce); !errors.Is(err, seal.ErrTampered) {
			t.Errorf("error = %v, want ErrTampered", err)
		}
	})
}

func TestPauseAndResume(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, connection.Options{})
	mustSave(t, e.store, sfConn("u-1"), connection.Credentials{RefreshToken: secret("RT")})
	if err := e.store.Pause(ctx, "u-1", connection.Salesforce, "paused by org admin"); err != nil {
		t.Fatal(err)
	}
	c := mustGet(t, e.store, "u-1", connection.Salesforce)
	if c.Status != connection.Paused || c.StatusReason != "paused by org admin" || c.SyncAllowed() {
		t.Errorf("after Pause: %s %q SyncAllowed=%v", c.Status, c.StatusReason, c.SyncAllowed())
	}
	if err := e.store.Resume(ctx, "u-1", connection.Salesforce); err != nil {
		t.Fatal(err)
	}
	if c := mustGet(t, e.store, "u-1", connection.Salesforce); c.Status != connection.Connected || c.StatusReason != "" {
		t.Errorf("after Resume: %s %q", c.Status, c.StatusReason)
	}
	if err := e.store.MarkNeedsReconnect(ctx, "u-1", connection.Salesforce, "401 after refresh"); err != nil {
		t.Fatal(err)
	}
	if err := e.store.Pause(ctx, "u-1", connection.Salesforce, "x"); err != nil {
		t.Fatal(err)
	}
	if c := mustGet(t, e.store, "u-1", connection.Salesforce); c.Status != connection.NeedsReconnect {
		t.Errorf("Pause hid needs_reconnect: status %s", c.Status)
	}
	if err := e.store.Resume(ctx, "u-1", connection.Salesforce); !isReconnect(err) {
		t.Errorf("Resume of needs_reconnect: error = %v, want a needs-reconnect error", err)
	}
	if err := e.store.Pause(ctx, "u-9", connection.Salesforce, "x"); !errors.Is(err, connection.ErrNotFound) {
		t.Errorf("Pause(absent) error = %v, want ErrNotFound", err)
	}
}

type fakeRevoker struct {
	revoked []string
	err     error
}

func (r *fakeRevoker) Revoke(_ context.Context, rt string) error {
	r.revoked = append(r.revoked, rt)
	return r.err
}

func TestDeleteRevokesAndRemovesEveryRow(t *testing.T) {
	ctx := context.Background()
	sf, ms := &fakeRevoker{}, &fakeRevoker{err: errors.New("provider down")}
	e := newEnv(t, connection.Options{Revokers: map[connection.Provider]connection.Revoker{connection.Salesforce: sf, connection.Microsoft: ms}})
	sfRT, msRT, otherRT := secret("RT"), secret("RT"), secret("RT")
	mustSave(t, e.store, sfConn("u-1"), connection.Credentials{RefreshToken: sfRT})
	mustSave(t, e.store, msConn("u-1"), connection.Credentials{RefreshToken: msRT})
	mustSave(t, e.store, sfConn("u-2"), connection.Credentials{RefreshToken: otherRT})
	// A row of another table for the same user must survive: cursors and
	// links are not the connection store's to delete.
	if _, err := e.tables.Upsert(ctx, "cursors", tablestore.Entity{PartitionKey: "u-1", RowKey: "contacts", Properties: map[string]any{"Delta": "d1"}}); err != nil {
		t.Fatal(err)
	}

	if err := e.store.Delete(ctx, "u-1"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{sfRT}, sf.revoked); diff != "" {
		t.Errorf("salesforce revocations (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{msRT}, ms.revoked); diff != "" {
		t.Errorf("microsoft revocations (-want +got):\n%s", diff)
	}
	if got, _ := e.store.List(ctx, "u-1"); len(got) != 0 {
		t.Errorf("after Delete, u-1 has %d connections", len(got))
	}
	if got := mustOpen(t, e.store, "u-2", connection.Salesforce).RefreshToken; got != otherRT {
		t.Error("another user's connection changed")
	}
	if _, err := e.tables.Get(ctx, "cursors", "u-1", "contacts"); err != nil {
		t.Errorf("cursor row of u-1: %v, want it kept", err)
	}
	if !strings.Contains(e.logs.String(), "revoking refresh token at provider failed") {
		t.Error("failed revocation was not logged")
	}
	if err := e.store.Delete(ctx, "u-1"); err != nil {
		t.Errorf("second Delete: %v", err)
	}
}
