package c4c

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/fakec4c"
	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/side"
)

// TestTwoUsersSeeTheirOwnRecords: two crmsync users of one tenant, through
// the same communication user, each sync only their own employee's
// contacts and tasks (the employee found once by e-mail and kept as IDs);
// what a user creates belongs to their employee; a contact reassigned to
// the other employee leaves the first user's sync (LeftScope: its mailbox
// copy goes, as for a Salesforce owner change) and enters the other's.
func TestTwoUsersSeeTheirOwnRecords(t *testing.T) {
	l := newLocal(t, fakec4c.Options{})
	ctx := context.Background()
	tables, conns := testStores(t)
	for _, e := range []map[string]any{
		{"LastName": "Lovelace", "Email": "ada@acme.example", "EmployeeID": "E1", "BusinessPartnerID": "8000000101"},
		{"LastName": "Babbage", "Email": "bob@acme.example", "EmployeeID": "E2", "BusinessPartnerID": "8000000102"},
	} {
		if _, err := l.srv.Insert("EmployeeCollection", e); err != nil {
			t.Fatal(err)
		}
	}
	adaContact, _ := l.srv.Insert("ContactCollection", map[string]any{"LastName": "Ada's", "ContactOwnerID": "E1"})
	bobContact, _ := l.srv.Insert("ContactCollection", map[string]any{"LastName": "Bob's", "ContactOwnerID": "E2"})
	adaTask, _ := l.srv.Insert("TasksCollection", map[string]any{"Subject": "Ada's task", "Status": "1", "ProcessorPartyID": "8000000101"})
	bobTask, _ := l.srv.Insert("TasksCollection", map[string]any{"Subject": "Bob's task", "Status": "1", "ProcessorPartyID": "8000000102"})
	emails := map[string]string{"u-ada": "ada@acme.example", "u-bob": "Bob@Acme.example", "u-eve": "eve@acme.example"}
	o := &Opener{Tables: tables, Now: l.clock.Now, Email: func(_ context.Context, user string) (string, error) { return emails[user], nil }}
	open := func(user string) (side.CRM, error) {
		c, err := conns.Save(ctx, connection.Connection{User: user, Provider: Provider, Tenant: "local", InstanceURL: l.http.URL, Flow: connection.FlowPassword},
			connection.Credentials{Username: fakec4c.DemoUser, Password: fakec4c.DemoPassword})
		if err != nil {
			t.Fatal(err)
		}
		return o.OpenCRM(ctx, conns, c, nil)
	}
	ids := func(crm side.CRM, kind item.Kind, cursor string) (map[string]bool, item.Changes) {
		ch, err := crm.Changes(ctx, item.Scope{Kind: kind}, cursor)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, r := range ch.Records {
			out[r.ID] = true
		}
		return out, ch
	}
	ada, err := open("u-ada")
	if err != nil {
		t.Fatal(err)
	}
	bob, err := open("u-bob")
	if err != nil {
		t.Fatal(err)
	}
	adaSees, adaCh := ids(ada, item.Contact, "")
	bobSees, bobCh := ids(bob, item.Contact, "")
	if !adaSees[adaContact] || adaSees[bobContact] || !bobSees[bobContact] || bobSees[adaContact] {
		t.Fatalf("contacts: ada sees %v, bob sees %v", adaSees, bobSees)
	}
	adaTasks, _ := ids(ada, item.Task, "")
	if !adaTasks[adaTask] || adaTasks[bobTask] {
		t.Errorf("ada's tasks: %v", adaTasks)
	}
	if emp, ok, err := (Employees{Tables: tables}).Get(ctx, "u-ada"); err != nil || !ok || emp != (Employee{EmployeeID: "E1", PartyID: "8000000101"}) {
		t.Errorf("ada's stored employee: %+v %v %v", emp, ok, err)
	}
	// The employee is looked up once per user, not per session.
	lookups := l.srv.Calls("GET", "EmployeeCollection")
	if lookups != 2 {
		t.Errorf("%d employee lookups for two users, want 2", lookups)
	}
	if _, err := open("u-ada"); err != nil || l.srv.Calls("GET", "EmployeeCollection") != lookups {
		t.Errorf("a second session looked the employee up again (%v)", err)
	}
	// Ada creates a contact: it is her employee's.
	res, err := ada.Create(ctx, item.Contact, []item.Record{{Kind: item.Contact, Fields: map[string]string{item.LastName: "New"}}}, []string{"m"})
	if err != nil || res[0].Err != nil {
		t.Fatal(err, res)
	}
	q := map[string][]string{"$filter": {"ContactOwnerID eq 'E1'"}}
	owned := 0
	if err := l.client.List(ctx, "ContactCollection", q, func(Entity) error { owned++; return nil }); err != nil || owned != 2 {
		t.Errorf("contacts owned by E1 after ada's create: %d %v", owned, err)
	}
	// Ada's contact is given to Bob.
	l.clock.Add(10 * time.Minute)
	if err := l.srv.Update("ContactCollection", adaContact, map[string]any{"ContactOwnerID": "E2"}); err != nil {
		t.Fatal(err)
	}
	_, adaNext := ids(ada, item.Contact, adaCh.Cursor)
	left := false
	for _, r := range adaNext.Removed {
		left = left || r.ID == adaContact && r.Reason == item.LeftScope
	}
	if !left {
		t.Errorf("ada's changes after the reassignment: %+v, want %s removed as LeftScope", adaNext.Removed, adaContact)
	}
	if bobNext, _ := ids(bob, item.Contact, bobCh.Cursor); !bobNext[adaContact] {
		t.Errorf("bob's changes after the reassignment lack the contact: %v", bobNext)
	}
	// A user with no employee of their address is refused in words that
	// name neither the address nor a credential.
	_, err = open("u-eve")
	if !errors.Is(err, ErrNoEmployee) || !fault.Is(err, fault.Permanent) || strings.Contains(err.Error(), "eve@") {
		t.Errorf("user without an employee: %v", err)
	}
}
