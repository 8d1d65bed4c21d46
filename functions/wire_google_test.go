package main

import (
	"net/http/httptest"
	"testing"

	"github.com/crmsync/crmsync/local/fakegoogle"
	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/google"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/msgraph"
	"github.com/crmsync/crmsync/shared/settings"
)

// TestWireMailboxChoice: CRMSYNC_MAILBOX=google makes Google Workspace the
// mailbox of sync, accounts, the dashboard and the connection store, and a
// Google connection stored for a user opens a working side against the
// local Google (its refresh token redeemed at the configured token
// endpoint); unset, Microsoft 365 stays.
func TestWireMailboxChoice(t *testing.T) {
	if a := testAppWith(t, nil); a.mailboxConnector.Provider != msgraph.Connector.Provider || a.opener.Mailbox != a.mbx || a.google != nil {
		t.Fatalf("default mailbox %q, opener %T", a.mailboxConnector.Provider, a.opener.Mailbox)
	}
	srv := fakegoogle.New(fakegoogle.Options{Clients: map[string]string{"g-client": "g-secret"}})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	a := testAppWith(t, map[string]string{settings.NameMailbox: settings.MailboxGoogle, google.NameClientID: "g-client",
		google.NameClientSecret: "g-secret", google.NameBaseURL: hs.URL})
	if a.mailboxConnector.Provider != google.Provider {
		t.Fatalf("mailbox %q, want google", a.mailboxConnector.Provider)
	}
	op, ok := a.opener.Mailbox.(*google.Opener)
	if !ok || op != a.google || op.OAuth == nil || op.BaseURL != hs.URL {
		t.Fatalf("the opener's mailbox is %T (%+v), want the wired *google.Opener on the local Google", a.opener.Mailbox, op)
	}
	if got := op.OAuth.RedirectURL; got != a.settings.PublicURL+"/api/dashboard/connect/google/callback" {
		t.Errorf("redirect URL %q", got)
	}
	_, refresh := srv.AddUser("dana@acme.example")
	ctx := t.Context()
	if _, err := a.conns.Save(ctx, connection.Connection{User: "u1", Provider: google.Provider, Tenant: "acme.example", Flow: connection.FlowAuthCode},
		connection.Credentials{RefreshToken: refresh}); err != nil {
		t.Fatal(err)
	}
	mbx, err := a.opener.OpenMailbox(ctx, "u1", nil)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := mbx.Changes(ctx, item.Scope{Kind: item.Contact}, "")
	if err != nil || len(ch.Records) != 0 || ch.Cursor == "" {
		t.Fatalf("contacts through the wired Google side: %+v, %v", ch, err)
	}
	if got := srv.Requests(); got["token"] != 1 || got["people"] == 0 {
		t.Errorf("requests to the local Google %v: want one token refresh and People reads", got)
	}
	// A Microsoft connection is refused: not a provider of this deployment.
	if _, err := a.conns.Save(ctx, connection.Connection{User: "u2", Provider: connection.Microsoft, Tenant: "t", Flow: connection.FlowAuthCode},
		connection.Credentials{RefreshToken: "x"}); err == nil {
		t.Error("a Google deployment stored a Microsoft connection")
	}
}
