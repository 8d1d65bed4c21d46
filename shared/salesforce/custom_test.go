package salesforce

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/crmsync/crmsync/local/fakesalesforce"
	"github.com/crmsync/crmsync/shared/item"
)

// customSchema adds the custom fields the mapping tests use to Contact.
const customSchema = `{"objects":[{"name":"Contact","fields":[{"name":"Region__c","type":"string"},
{"name":"Score__c","type":"double"},{"name":"Formula__c","type":"string","readOnly":true}]}]}`

func TestCheckFieldsTakesOutFieldsThatCannotSync(t *testing.T) {
	l := newLocal(t, fakesalesforce.Options{CustomSchema: []byte(customSchema)}, Options{})
	custom := map[item.Kind][]item.CustomField{item.Contact: {
		{CRM: "Region__c", Mailbox: "extended:Region"}, {CRM: "Description", Mailbox: "personalNotes"},
		{CRM: "Nope__c", Mailbox: "nickName"}, {CRM: "Score__c", Mailbox: "extended:Score"},
		{CRM: "Formula__c", Mailbox: "extended:F"},
	}}
	side, err := NewSide(l.client, SideOptions{UserID: l.user, Extra: CustomFields(custom)})
	if err != nil {
		t.Fatal(err)
	}
	bad, err := side.CheckFields(t.Context(), item.Contact)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"custom:Nope__c":    "Contact has no field Nope__c",
		"custom:Score__c":   "Contact.Score__c is of type double, which does not sync as text (text, picklist, e-mail, phone and URL fields do)",
		"custom:Formula__c": "Contact.Formula__c cannot be updated (read-only or formula field)",
	}
	if diff := cmp.Diff(want, bad); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	// The fields that can sync read and write; the others are out of the table.
	id, err := l.srv.Insert(l.user, "Contact", map[string]any{"LastName": "Anders", "Region__c": "West", "Description": "Met at the fair"})
	if err != nil {
		t.Fatal(err)
	}
	ch, err := side.Changes(t.Context(), item.Scope{Kind: item.Contact}, "")
	if err != nil {
		t.Fatal(err)
	}
	r, ok := findRec(ch, id)
	if !ok || r.Fields["custom:Region__c"] != "West" || r.Fields["custom:Description"] != "Met at the fair" {
		t.Fatalf("read %+v, want the custom values", r.Fields)
	}
	if _, has := r.Fields["custom:Nope__c"]; has {
		t.Errorf("a field that failed the check is still read: %v", r.Fields)
	}
	res, err := side.Update(t.Context(), item.Contact, []item.Record{{Kind: item.Contact, ID: id, Fields: map[string]string{"custom:Region__c": "East"}}})
	if err != nil || res[0].Err != nil {
		t.Fatalf("update: %v %+v", err, res)
	}
	if got := l.srv.Record(id)["Region__c"]; got != "East" {
		t.Errorf("Region__c = %v, want East", got)
	}
	// A kind without added fields costs no call.
	l.srv.ResetCalls()
	if bad, err := side.CheckFields(t.Context(), item.Task); err != nil || bad != nil {
		t.Errorf("task check = %v, %v", bad, err)
	}
	if n := len(l.srv.Calls()); n != 0 {
		t.Errorf("calls for a kind without custom fields: %v", l.srv.Calls())
	}
}
