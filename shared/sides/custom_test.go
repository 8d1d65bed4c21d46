package sides_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/msgraph"
	"github.com/crmsync/crmsync/shared/reconcile"
	"github.com/crmsync/crmsync/shared/session"
	"github.com/crmsync/crmsync/shared/tablestore/storetest"
)

// regionSchema declares the custom field the mapping tests sync.
var regionSchema = []byte(`{"objects":[{"name":"Contact","fields":[{"name":"Region__c","type":"string","length":80}]},
{"name":"Event","fields":[{"name":"Region__c","type":"string","length":80}]}]}`)

const region = "custom:Region__c"

var regionMapping = item.CustomField{CRM: "Region__c", Mailbox: "extended:Region"}

// mapFields gives the user custom mappings of contacts (as account's
// settings source does: the mappings, and their canonical names among the
// policy's fields) with the contact conflict rule.
func (w *world) mapFields(rule reconcile.ConflictRule, custom ...item.CustomField) {
	src := w.runner.Settings.(settingsFor)
	us := src[w.user]
	fields := slices.Clone(item.DefaultFields[item.Contact])
	for _, c := range custom {
		fields = append(fields, c.Canonical())
	}
	us.Custom = map[item.Kind][]item.CustomField{item.Contact: custom}
	us.Policies = map[item.Kind]reconcile.Policy{item.Contact: {Conflict: rule, Fields: fields}}
	src[w.user] = us
}

// userMailbox acts in the mailbox as the user would, seeing the custom field.
func (w *world) userMailbox() *msgraph.Side {
	return msgraph.NewSide(w.mailbox.Client(), msgraph.SideOptions{Custom: map[item.Kind][]item.CustomField{item.Contact: {regionMapping}}})
}

func (w *world) mailboxContacts(side *msgraph.Side) map[string]item.Record {
	w.t.Helper()
	ch, err := side.Changes(context.Background(), item.Scope{Kind: item.Contact}, "")
	if err != nil {
		w.t.Fatal(err)
	}
	return emails(ch.Records)
}

// TestCustomFieldAddedToSyncedUser: a user whose contacts synced adds a
// mapping of a custom Salesforce field to a crmsync extended property. The
// first session fills the field where one side has a value and settles the
// one pair whose sides differ by the user's rule (mailbox wins), writing
// nothing else; later changes flow both ways, a conflict follows the rule,
// and no custom value ever reaches storage or the logs.
func TestCustomFieldAddedToSyncedUser(t *testing.T) {
	w := newWorldSchema(t, regionSchema)
	ctx := context.Background()
	ids := map[string]string{}
	for _, c := range []struct{ name, region string }{{"alice", "Region-West-4417"}, {"bob", ""}, {"carol", "Region-North-9120"}, {"dave", ""}} {
		f := map[string]any{"LastName": c.name, "Email": c.name + "@acme.example"}
		if c.region != "" {
			f["Region__c"] = c.region
		}
		id, err := w.sf.Insert(w.sfID, "Contact", f)
		if err != nil {
			t.Fatal(err)
		}
		ids[c.name] = id
	}
	for i := 0; i < 10; i++ { // enough linked contacts that a rewrite storm would show
		if _, err := w.sf.Insert(w.sfID, "Contact", map[string]any{"LastName": fmt.Sprint("quiet", i), "Email": fmt.Sprintf("q%d@acme.example", i)}); err != nil {
			t.Fatal(err)
		}
	}
	w.session()
	w.session()
	// Before the mapping exists, the user puts values into the mailbox
	// copies' property (another add-in, say): Bob's fills Salesforce, Carol's
	// differs from Salesforce's.
	user := w.userMailbox()
	mbx := w.mailboxContacts(user)
	if res, err := user.Update(ctx, item.Contact, []item.Record{
		{Kind: item.Contact, ID: mbx["bob@acme.example"].ID, Fields: map[string]string{region: "Region-East-2208"}},
		{Kind: item.Contact, ID: mbx["carol@acme.example"].ID, Fields: map[string]string{region: "Region-South-5531"}},
	}); err != nil || res[0].Err != nil || res[1].Err != nil {
		t.Fatalf("mailbox edit: %v %+v", err, res)
	}
	// The mailbox edit moved the two items' versions: sync that first, as
	// any session would, so the next one sees only the mapping's effect.
	w.session()

	w.mapFields(reconcile.MailboxWins, regionMapping)
	rep := w.session()
	want := map[string]int{"contact|to-mailbox|update": 1, "contact|to-crm|update": 2}
	for k, n := range want {
		if rep.Counts[k] != n {
			t.Errorf("first session with the mapping: %s = %d, want %d (counts %v)", k, rep.Counts[k], n, rep.Counts)
		}
	}
	if total := rep.Counts["contact|to-mailbox|update"] + rep.Counts["contact|to-crm|update"]; total != 3 {
		t.Errorf("updates = %v, want only the three pairs with a value", rep.Counts)
	}
	if rep.Conflicts != 1 {
		t.Errorf("conflicts = %d, want 1 (Carol: both sides held different values)", rep.Conflicts)
	}
	mbx = w.mailboxContacts(user)
	for name, want := range map[string]string{"alice": "Region-West-4417", "bob": "Region-East-2208", "carol": "Region-South-5531", "dave": ""} {
		if got := w.sf.Record(ids[name])["Region__c"]; fmt.Sprint(got) != want && !(want == "" && got == nil) {
			t.Errorf("Salesforce %s Region__c = %v, want %q", name, got, want)
		}
		if got := mbx[name+"@acme.example"].Fields[region]; got != want {
			t.Errorf("mailbox %s region = %q, want %q", name, got, want)
		}
	}
	// Settled: the next session writes nothing.
	w.session()
	if rep := w.session(); len(rep.Counts) != 0 {
		t.Errorf("idle session after the mapping: %v", rep.Counts)
	}

	// Changes flow both ways, and a conflict follows the rule.
	if err := w.sf.Update(w.sfID, ids["alice"], map[string]any{"Region__c": "Region-Alps-3306"}); err != nil {
		t.Fatal(err)
	}
	if res, err := user.Update(ctx, item.Contact, []item.Record{{Kind: item.Contact, ID: mbx["bob@acme.example"].ID, Fields: map[string]string{region: "Region-Fjord-7702"}}}); err != nil || res[0].Err != nil {
		t.Fatalf("mailbox edit: %v %+v", err, res)
	}
	if err := w.sf.Update(w.sfID, ids["carol"], map[string]any{"Region__c": "Region-Crm-6644"}); err != nil {
		t.Fatal(err)
	}
	if res, err := user.Update(ctx, item.Contact, []item.Record{{Kind: item.Contact, ID: mbx["carol@acme.example"].ID, Fields: map[string]string{region: "Region-Mbx-1187"}}}); err != nil || res[0].Err != nil {
		t.Fatalf("mailbox edit: %v %+v", err, res)
	}
	rep = w.session()
	if rep.Conflicts != 1 {
		t.Errorf("conflicts = %d, want 1 (Carol)", rep.Conflicts)
	}
	mbx = w.mailboxContacts(user)
	if got := mbx["alice@acme.example"].Fields[region]; got != "Region-Alps-3306" {
		t.Errorf("Alice in the mailbox = %q, want the Salesforce change", got)
	}
	if got := w.sf.Record(ids["bob"])["Region__c"]; got != "Region-Fjord-7702" {
		t.Errorf("Bob in Salesforce = %v, want the mailbox change", got)
	}
	if got, gotM := w.sf.Record(ids["carol"])["Region__c"], mbx["carol@acme.example"].Fields[region]; got != "Region-Mbx-1187" || gotM != "Region-Mbx-1187" {
		t.Errorf("Carol = %v in Salesforce, %q in the mailbox; want the mailbox's value on both (mailbox wins)", got, gotM)
	}

	// Privacy: the custom values never reach a table or the logs.
	values := []string{"Region-West-4417", "Region-East-2208", "Region-North-9120", "Region-South-5531", "Region-Alps-3306",
		"Region-Fjord-7702", "Region-Crm-6644", "Region-Mbx-1187"}
	for _, table := range []string{session.LinksTable, session.CursorsTable, session.IntentsTable, session.IssuesTable,
		session.SessionsTable, session.LeaseTable, connection.Table} {
		for _, e := range storetest.Rows(t, w.tables, table) {
			text := e.PartitionKey + " " + e.RowKey + fmt.Sprint(e.Properties)
			for _, v := range values {
				if strings.Contains(text, v) {
					t.Errorf("table %s row %s holds %q", table, e.RowKey, v)
				}
			}
		}
	}
	for _, v := range values {
		if strings.Contains(w.logs.String(), v) {
			t.Errorf("logs hold %q", v)
		}
	}
}

// TestCustomFieldSalesforceCannotSync: a mapping of a field the org does not
// have becomes one issue of the kind naming it; the kind's other fields, and
// its valid custom fields, sync all the same, and the issue clears once the
// mapping is gone.
func TestCustomFieldSalesforceCannotSync(t *testing.T) {
	w := newWorldSchema(t, regionSchema)
	id, err := w.sf.Insert(w.sfID, "Contact", map[string]any{"LastName": "Anders", "Email": "alice@acme.example", "Region__c": "Region-West-4417"})
	if err != nil {
		t.Fatal(err)
	}
	w.mapFields("", regionMapping, item.CustomField{CRM: "Missing__c", Mailbox: "extended:Missing"})
	w.now = w.now.Add(5 * time.Minute)
	rep, err := w.runner.Run(context.Background(), w.user, "test")
	if err != nil || rep.Outcome != "partial" {
		t.Fatalf("session = %q %v, want partial with the mapping issue\n%s", rep.Outcome, err, w.logs.String())
	}
	issues, err := session.NewState(w.tables, w.user).Issues(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(issues) != 1 || issues[0].Code != "field-mapping" || issues[0].Kind != item.Contact ||
		!strings.Contains(issues[0].Reason, "Missing__c: Contact has no field Missing__c") {
		t.Fatalf("issues = %+v, want one naming Missing__c", issues)
	}
	if got := w.mailboxContacts(w.userMailbox())["alice@acme.example"].Fields[region]; got != "Region-West-4417" {
		t.Errorf("the valid custom field did not sync: %q", got)
	}
	_ = id
	w.mapFields("", regionMapping)
	w.session()
	if issues, _ := session.NewState(w.tables, w.user).Issues(context.Background()); len(issues) != 0 {
		t.Errorf("issues after fixing the mapping: %+v", issues)
	}
}

// TestCustomEventFieldBothWays: an event's custom field reaches the
// meeting's extended property, and an edit in Outlook comes back.
func TestCustomEventFieldBothWays(t *testing.T) {
	w := newWorldSchema(t, regionSchema)
	ctx := context.Background()
	src := w.runner.Settings.(settingsFor)
	us := src[w.user]
	us.Custom = map[item.Kind][]item.CustomField{item.Event: {regionMapping}}
	us.Policies = map[item.Kind]reconcile.Policy{item.Event: {Fields: append(slices.Clone(item.DefaultFields[item.Event]), region)}}
	src[w.user] = us
	start := w.now.Add(24 * time.Hour).UTC().Truncate(time.Hour)
	id, err := w.sf.Insert(w.sfID, "Event", map[string]any{"Subject": "Kickoff", "StartDateTime": start.Format(time.RFC3339),
		"EndDateTime": start.Add(time.Hour).Format(time.RFC3339), "Region__c": "Region-Delta-5150"})
	if err != nil {
		t.Fatal(err)
	}
	w.session()
	user := msgraph.NewSide(w.mailbox.Client(), msgraph.SideOptions{Custom: us.Custom})
	day := w.now.UTC().Truncate(24 * time.Hour)
	ch, err := user.Changes(ctx, item.Scope{Kind: item.Event, From: day.AddDate(0, 0, -14), To: day.AddDate(0, 0, 28)}, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Records) != 1 || ch.Records[0].Fields[region] != "Region-Delta-5150" {
		t.Fatalf("mailbox events = %+v, want the meeting with its region", ch.Records)
	}
	if res, err := user.Update(ctx, item.Event, []item.Record{{Kind: item.Event, ID: ch.Records[0].ID, Fields: map[string]string{region: "Region-Gamma-8080"}}}); err != nil || res[0].Err != nil {
		t.Fatalf("mailbox edit: %v %+v", err, res)
	}
	w.session()
	if got := w.sf.Record(id)["Region__c"]; got != "Region-Gamma-8080" {
		t.Errorf("Salesforce Region__c = %v, want the Outlook edit", got)
	}
}
