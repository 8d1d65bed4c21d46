package msgraph

import (
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/fakegraph"
	"github.com/crmsync/crmsync/shared/item"
)

func TestCustomFieldsRoundTrip(t *testing.T) {
	_, plain, _ := localGraph(t, fakegraph.Options{})
	custom := map[item.Kind][]item.CustomField{
		item.Contact: {{CRM: "Region__c", Mailbox: "extended:Region"}, {CRM: "Nick__c", Mailbox: "nickName"}, {CRM: "Tier__c", Mailbox: "extended:Tier"}},
		item.Event:   {{CRM: "Region__c", Mailbox: "extended:Region"}},
	}
	side := NewSide(plain.c, SideOptions{Custom: custom})
	ctx := t.Context()
	res, err := side.Create(ctx, item.Contact, []item.Record{{Kind: item.Contact, Fields: map[string]string{
		item.LastName: "Anders", "custom:Region__c": "West", "custom:Nick__c": "Al"}}}, []string{"mk-1"})
	if err != nil || res[0].Err != nil {
		t.Fatalf("create: %v %+v", err, res)
	}
	id := res[0].ID
	read := func(kind item.Kind, scope item.Scope) item.Record {
		t.Helper()
		ch, err := side.Changes(ctx, scope, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(ch.Records) != 1 {
			t.Fatalf("%s records = %+v, want one", kind, ch.Records)
		}
		return ch.Records[0]
	}
	got := read(item.Contact, item.Scope{Kind: item.Contact})
	for f, want := range map[string]string{"custom:Region__c": "West", "custom:Nick__c": "Al", "custom:Tier__c": ""} {
		if v, ok := got.Fields[f]; !ok || v != want {
			t.Errorf("%s = %q (present %v), want %q", f, v, ok, want)
		}
	}
	// Updating one extended property keeps the other and the marker.
	if res, err := side.Update(ctx, item.Contact, []item.Record{{Kind: item.Contact, ID: id, Fields: map[string]string{"custom:Tier__c": "Gold", "custom:Nick__c": ""}}}); err != nil || res[0].Err != nil {
		t.Fatalf("update: %v %+v", err, res)
	}
	got = read(item.Contact, item.Scope{Kind: item.Contact})
	if got.Fields["custom:Region__c"] != "West" || got.Fields["custom:Tier__c"] != "Gold" || got.Fields["custom:Nick__c"] != "" {
		t.Errorf("after the update: %v", got.Fields)
	}
	if found, err := side.FindCreated(ctx, item.Contact, []item.Intent{{Marker: "mk-1"}}); err != nil || found["mk-1"] != id {
		t.Errorf("marker lost: %v %v", found, err)
	}
	// A side without the mappings neither reads nor needs them.
	if r, _ := plain.Changes(ctx, item.Scope{Kind: item.Contact}, ""); len(r.Records) != 1 || r.Records[0].Fields["custom:Region__c"] != "" {
		t.Errorf("plain side read %+v", r.Records)
	}
	// Events carry extended properties too.
	start := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	res, err = side.Create(ctx, item.Event, []item.Record{{Kind: item.Event, Fields: map[string]string{item.Subject: "Review",
		item.Start: start.Format(time.RFC3339), item.End: start.Add(time.Hour).Format(time.RFC3339), "custom:Region__c": "North"}}}, []string{""})
	if err != nil || res[0].Err != nil {
		t.Fatalf("create event: %v %+v", err, res)
	}
	ev := read(item.Event, item.Scope{Kind: item.Event, From: start.AddDate(0, 0, -1), To: start.AddDate(0, 0, 1)})
	if ev.Fields["custom:Region__c"] != "North" {
		t.Errorf("event custom field = %q, want North", ev.Fields["custom:Region__c"])
	}
}

func TestCheckCustom(t *testing.T) {
	for _, tc := range []struct {
		kind item.Kind
		c    item.CustomField
		ok   bool
	}{
		{item.Contact, item.CustomField{CRM: "X__c", Mailbox: "nickName"}, true},
		{item.Contact, item.CustomField{CRM: "X__c", Mailbox: "department"}, false}, // the default table maps it
		{item.Contact, item.CustomField{CRM: "X__c", Mailbox: "extended:Region"}, true},
		{item.Contact, item.CustomField{CRM: "X__c", Mailbox: "extended:crmsyncMarker"}, false},
		{item.Contact, item.CustomField{CRM: "X__c", Mailbox: "extended:bad name"}, false},
		{item.Event, item.CustomField{CRM: "X__c", Mailbox: "extended:Region"}, true},
		{item.Event, item.CustomField{CRM: "X__c", Mailbox: "nickName"}, false},
		{item.Task, item.CustomField{CRM: "X__c", Mailbox: "extended:Region"}, false},
	} {
		if err := CheckCustom(tc.kind, tc.c); (err == nil) != tc.ok {
			t.Errorf("CheckCustom(%s, %+v) = %v, want ok %v", tc.kind, tc.c, err, tc.ok)
		}
	}
}
