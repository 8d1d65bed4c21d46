package main

import (
	"net/http/httptest"
	"testing"

	"github.com/crmsync/crmsync/local/fakec4c"
	"github.com/crmsync/crmsync/shared/access"
	"github.com/crmsync/crmsync/shared/c4c"
	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/salesforce"
	"github.com/crmsync/crmsync/shared/settings"
)

// TestWireCRMChoice: CRMSYNC_CRM=c4c makes SAP Cloud for Customer the CRM
// of sync, accounts and the dashboard, and a C4C connection stored for a
// user opens a working side against the local C4C, scoped to the records of
// the user's employee (found by the user's address); unset, Salesforce stays.
func TestWireCRMChoice(t *testing.T) {
	if a := testAppWith(t, nil); a.crmConnector.Provider != salesforce.Connector.Provider || a.opener.CRM != a.crm {
		t.Fatalf("default CRM %q, opener %T", a.crmConnector.Provider, a.opener.CRM)
	}
	a := testAppWith(t, map[string]string{settings.NameCRM: settings.CRMC4C})
	if a.crmConnector.Provider != string(c4c.Provider) {
		t.Fatalf("CRM %q, want c4c", a.crmConnector.Provider)
	}
	op, ok := a.opener.CRM.(*c4c.Opener)
	if !ok || op.Tables == nil {
		t.Fatalf("the opener's CRM is %T (%+v), want a *c4c.Opener with a table store", a.opener.CRM, op)
	}
	srv := fakec4c.New(fakec4c.Options{})
	// u1's employee (found by u1's address) owns one contact; another
	// employee's contact is not u1's to sync.
	if _, err := srv.Insert("EmployeeCollection", map[string]any{"LastName": "Lovelace", "Email": "ada@acme.example", "EmployeeID": "E1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Insert("ContactCollection", map[string]any{"FirstName": "Ada", "LastName": "Lovelace", "Email": "ada@acme.example", "ContactOwnerID": "E1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Insert("ContactCollection", map[string]any{"LastName": "Elsewhere", "ContactOwnerID": "E2"}); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	ctx := t.Context()
	if _, err := a.conns.Save(ctx, connection.Connection{User: "u1", Provider: c4c.Provider, Tenant: "local", InstanceURL: hs.URL, Flow: connection.FlowPassword},
		connection.Credentials{Username: fakec4c.DemoUser, Password: fakec4c.DemoPassword}); err != nil {
		t.Fatal(err)
	}
	if err := a.accounts.Register(ctx, access.Principal{User: "u1", Org: "o1"}, "ada@acme.example"); err != nil {
		t.Fatal(err)
	}
	crm, err := a.opener.OpenCRM(ctx, "u1", nil)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := crm.Changes(ctx, item.Scope{Kind: item.Contact}, "")
	if err != nil || len(ch.Records) != 1 || ch.Records[0].Fields[item.Email] != "ada@acme.example" {
		t.Fatalf("changes through the wired C4C side: %+v, %v", ch.Records, err)
	}
	// A Salesforce connection is refused: not a provider of this deployment.
	if _, err := a.conns.Save(ctx, connection.Connection{User: "u2", Provider: connection.Salesforce, Tenant: "00D", Flow: connection.FlowPassword},
		connection.Credentials{Username: "x", Password: "y"}); err == nil {
		t.Error("a C4C deployment stored a Salesforce connection")
	}
}
