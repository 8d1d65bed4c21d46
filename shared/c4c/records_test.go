package c4c

import (
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/fakec4c"
	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/side"
)

// TestRecordOperations runs the add-in's record operations against the local
// C4C: people behind addresses with their account, the account's open
// opportunities soonest first, search that treats its text as data, a
// describe from $metadata, get/create/update, and Chatter refused.
func TestRecordOperations(t *testing.T) {
	l := newLocal(t, fakec4c.Options{})
	ctx := t.Context()
	var rc side.RecordCRM = l.side
	acct, err := l.srv.Insert("CorporateAccountCollection", map[string]any{"Name": "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := l.client.Batch(ctx, []Op{{Method: "GET", Path: "CorporateAccountCollection('" + acct + "')"}})
	if err != nil || got[0].Err != nil {
		t.Fatal(err, got)
	}
	acctID := got[0].Entity.String("AccountID")
	must := func(_ string, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(l.srv.Insert("ContactCollection", map[string]any{"FirstName": "Alice", "LastName": "Anders", "Email": "alice@acme.example", "AccountID": acctID, "JobTitle": "CTO"}))
	must(l.srv.Insert("LeadCollection", map[string]any{"Name": "Lead A", "ContactLastName": "Anders", "ContactEMail": "alice@acme.example", "Company": "Acme"}))
	day := l.clock.Now().Truncate(24 * time.Hour)
	for i, o := range []struct {
		name, status string
		days         int
	}{{"Later", "2", 30}, {"Sooner", "1", 10}, {"Won", "3", 5}, {"Third", "1", 40}} {
		must(l.srv.Insert("OpportunityCollection", map[string]any{"Name": o.name, "ProspectPartyID": acctID, "LifeCycleStatusCode": o.status,
			"ExpectedProcessingEndDate": FormatDate(day.AddDate(0, 0, o.days)), "ExpectedRevenueAmount": "100" + string(rune('0'+i))}))
	}

	for i, tk := range []struct{ name, status string }{{"Printer down", "1"}, {"Old issue", "6"}, {"Waiting", "3"}, {"Done", "5"}} {
		must(l.srv.Insert("ServiceRequestCollection", map[string]any{"Name": tk.name, "BuyerPartyID": acctID, "ServiceRequestLifeCycleStatusCode": tk.status,
			"CreationDateTime": FormatDate(day.AddDate(0, 0, -i))}))
	}
	before := l.client.Calls()
	people, err := rc.LookupPeople(ctx, []string{"alice@acme.example", "nobody@acme.example"})
	if err != nil {
		t.Fatal(err)
	}
	calls := l.client.Calls() - before
	if len(people) != 2 || people[0].Object != "Contact" || people[0].Company != "Acme" || people[0].AccountID != acctID || people[1].Object != "Lead" {
		t.Errorf("LookupPeople = %+v", people)
	}
	// One $batch for contacts and leads, one for their accounts, and the
	// CSRF token fetch of the side's first $batch.
	if calls > 3 {
		t.Errorf("LookupPeople of one address chunk took %d calls, bound 3", calls)
	}
	accts, err := rc.Accounts(ctx, []string{acctID}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(accts) != 1 || accts[0].Name != "Acme" || len(accts[0].Opportunities) != 2 ||
		accts[0].Opportunities[0].Name != "Sooner" || accts[0].Opportunities[1].Name != "Later" {
		t.Errorf("Accounts = %+v, want Acme with Sooner, Later (open, soonest first, at most 2)", accts)
	}
	if len(accts) == 1 && (len(accts[0].Cases) != 2 || !strings.HasSuffix(accts[0].Cases[0].Name, " Printer down") || accts[0].Cases[0].Status != "Open" ||
		!strings.HasSuffix(accts[0].Cases[1].Name, " Waiting")) {
		t.Errorf("Cases = %+v, want the open tickets Printer down, Waiting (newest first)", accts[0].Cases)
	}

	hits, err := rc.Search(ctx, "Ande", []string{"Contact", "Lead"}, 10)
	if err != nil || len(hits) != 1 || hits[0].Object != "Contact" {
		t.Errorf("Search(Ande) = %+v, %v", hits, err)
	}
	if hits, err := rc.Search(ctx, "x') or startswith(LastName,'", []string{"Contact"}, 10); err != nil || len(hits) != 0 {
		t.Errorf("Search with quotes = %+v, %v; want no hit, no error", hits, err)
	}

	o, err := rc.Describe(ctx, "Task")
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := o.Field("Subject")
	id, _ := o.Field("ID")
	status, _ := o.Field("Status")
	if subject.Nillable || !subject.Createable || id.Createable || id.Updateable {
		t.Errorf("Describe: Subject %+v, ID %+v", subject, id)
	}
	if status.Type != "picklist" || len(status.Picklist) != 5 || status.Picklist[2] != "3" || status.PicklistLabels["3"] != "Completed" {
		t.Errorf("Describe: Status %+v, want the status code list", status)
	}
	objs, err := rc.Objects(ctx)
	if err != nil || len(objs) != len(recordObjects) {
		t.Errorf("Objects = %+v, %v", objs, err)
	}

	tid, err := rc.CreateRecord(ctx, "Task", map[string]any{"Subject": "From the pane", "Status": "1"})
	if err != nil || len(tid) != 32 {
		t.Fatalf("CreateRecord = %q, %v", tid, err)
	}
	if err := rc.UpdateRecord(ctx, "Task", tid, map[string]any{"Status": "2"}); err != nil {
		t.Fatal(err)
	}
	rec, err := rc.GetRecord(ctx, "Task", tid, []string{"Subject", "Status"})
	if err != nil || rec["Subject"] != "From the pane" || rec["Status"] != "2" {
		t.Errorf("GetRecord = %v, %v", rec, err)
	}
	if _, err := rc.CreateRecord(ctx, "Task", map[string]any{"Status": "1"}); !fault.Is(err, fault.Permanent) {
		t.Errorf("CreateRecord without Subject: %v, want Permanent", err)
	} else if fe := err.(*fault.Error); len(fe.Fields) != 1 || fe.Fields[0] != "Subject" {
		t.Errorf("CreateRecord without Subject names fields %v", fe.Fields)
	}
	if _, err := rc.GetRecord(ctx, "Task", "00163E0000000000000000000000DEAD", nil); !fault.Is(err, fault.Gone) {
		t.Errorf("GetRecord of a missing task: %v, want Gone", err)
	}
	if _, err := rc.PostChatter(ctx, tid, "hello"); !fault.Is(err, fault.Permanent) || codeOf(err) != CodeNoChatter {
		t.Errorf("PostChatter: %v, want Permanent %s", err, CodeNoChatter)
	}
	// An object the add-in does not map is refused; Case is the service
	// ticket the account pane lists.
	if _, err := rc.Describe(ctx, "Campaign"); !fault.Is(err, fault.Permanent) {
		t.Errorf("Describe(Campaign): %v, want Permanent", err)
	}
	if d, err := rc.Describe(ctx, "Case"); err != nil || d.Label != "Ticket" {
		t.Errorf("Describe(Case): %+v, %v", d.ObjectInfo, err)
	}
}
