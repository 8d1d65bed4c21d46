package c4c

import (
	"context"
	"testing"

	"github.com/crmsync/crmsync/local/fakec4c"
	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/side"
	"github.com/crmsync/crmsync/shared/sides"
)

// The generic opener takes the C4C opener as it takes Salesforce's.
var _ sides.CRMOpener = (*Opener)(nil)

func TestOpenerOpensAStoredCommunicationUser(t *testing.T) {
	l := newLocal(t, fakec4c.Options{})
	tables, conns := testStores(t)
	save := func(user, password string) connection.Connection {
		c, err := conns.Save(t.Context(), connection.Connection{User: user, Provider: Provider, Tenant: "local", InstanceURL: l.http.URL, Flow: connection.FlowPassword},
			connection.Credentials{Username: fakec4c.DemoUser, Password: password})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	o := Opener{Tables: tables, Owner: func(_ context.Context, user string) (string, error) {
		if user == "u1" {
			return syncOwner, nil
		}
		return otherOwner, nil
	}}
	if o.Connector().Provider != "c4c" || o.Connector().Role != side.CRMRole {
		t.Errorf("Connector = %+v", o.Connector())
	}
	crm, err := o.OpenCRM(t.Context(), conns, save("u1", fakec4c.DemoPassword), nil)
	if err != nil {
		t.Fatal(err)
	}
	id := fakeHarness{l}.CreateDirect(t, item.Contact, map[string]string{item.LastName: "Opened"})
	other, _ := l.srv.Insert("ContactCollection", owned(t, item.Contact, map[string]string{item.LastName: "Other"}, otherOwner))
	ch, err := crm.Changes(t.Context(), item.Scope{Kind: item.Contact}, "")
	if _, ok := findRec(ch, id); err != nil || !ok {
		t.Errorf("opened side reads no contact: %v", err)
	}
	if _, ok := findRec(ch, other); ok {
		t.Error("opened side reads another employee's contact")
	}
	if _, ok := crm.(side.CallReporter); !ok {
		t.Error("side does not report its calls")
	}
	bad, err := o.OpenCRM(t.Context(), conns, save("u2", "wrong"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Changes(t.Context(), item.Scope{Kind: item.Contact}, ""); !fault.Is(err, fault.Reconnect) {
		t.Errorf("wrong password: %v, want Reconnect", err)
	}
	if _, err := o.OpenCRM(t.Context(), conns, save("u3", fakec4c.DemoPassword), map[item.Kind][]item.CustomField{item.Contact: {{CRM: "X", Mailbox: "Y"}}}); !fault.Is(err, fault.Permanent) {
		t.Errorf("custom fields: %v, want Permanent", err)
	}
	if _, err := conns.Save(t.Context(), connection.Connection{User: "u4", Provider: Provider, Flow: connection.FlowAuthCode}, connection.Credentials{RefreshToken: "r"}); err == nil {
		t.Error("the store accepted an auth_code C4C connection")
	}
}
