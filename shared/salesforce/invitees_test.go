package salesforce

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/local/fakesalesforce"
	"github.com/crmsync/crmsync/shared/item"
)

func meeting(subject, attendees string) item.Record {
	f := map[string]string{item.Subject: subject, item.Start: "2026-05-12T09:00:00Z", item.End: "2026-05-12T10:00:00Z"}
	if attendees != "" {
		f[item.Attendees] = attendees
	}
	return item.Record{Kind: item.Event, Fields: f}
}

// invitees returns "EventId RelationId" for every invitee row of the events.
func invitees(t *testing.T, l *local, events []string) []string {
	t.Helper()
	rows, err := l.client.Collect(t.Context(), "SELECT EventId, RelationId, IsInvitee FROM EventRelation WHERE EventId IN ('"+strings.Join(events, "','")+"')")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows {
		if r.String("IsInvitee") != "true" {
			t.Errorf("EventRelation %s: IsInvitee = %q, want true", r.String("RelationId"), r.String("IsInvitee"))
		}
		out = append(out, r.String("EventId")+" "+r.String("RelationId"))
	}
	slices.Sort(out)
	return out
}

func TestEventAttendeesBecomeInvitees(t *testing.T) {
	l := newLocal(t, fakesalesforce.Options{}, Options{})
	ada, _ := l.srv.Insert(l.user, "Contact", map[string]any{"LastName": "Lovelace", "Email": "ada@analytical.example"})
	bob, _ := l.srv.Insert(l.user, "Lead", map[string]any{"LastName": "Lead", "Company": "Acme", "Email": "bob@acme.example"})
	l.srv.ResetCalls()
	res, err := l.side.Create(t.Context(), item.Event, []item.Record{
		meeting("Kick-off", "ada@analytical.example,bob@acme.example,carol@nowhere.example"),
		meeting("Follow-up", "ADA@analytical.example, ada@analytical.example"),
		meeting("Alone", ""),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i, r := range res {
		if r.Err != nil || r.ID == "" {
			t.Fatalf("event %d: %+v", i, r)
		}
		ids = append(ids, r.ID)
		if _, ok := l.srv.Record(r.ID)["Attendees"]; ok {
			t.Errorf("event %d has an Attendees field", i)
		}
	}
	calls := l.srv.Calls()
	got := invitees(t, l, ids)
	want := []string{ids[0] + " " + ada, ids[0] + " " + bob, ids[1] + " " + ada}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("invitees = %v, want %v (unknown addresses left out, one row per person)", got, want)
	}
	// Events, then invitees: two collections calls; Contacts then Leads for
	// the addresses of the whole batch: two queries.
	if calls["collections"] != 2 || calls["query"] != 2 {
		t.Errorf("calls = %v, want 2 collections and 2 queries", calls)
	}
}

func TestEventInviteesAreBatched(t *testing.T) {
	l := newLocal(t, fakesalesforce.Options{}, Options{})
	var addrs []string
	for i := range 70 {
		a := fmt.Sprintf("guest%02d@example.com", i)
		if _, err := l.srv.Insert(l.user, "Contact", map[string]any{"LastName": "Guest", "Email": a}); err != nil {
			t.Fatal(err)
		}
		addrs = append(addrs, a)
	}
	list := strings.Join(addrs, ",")
	l.srv.ResetCalls()
	res, err := l.side.Create(t.Context(), item.Event, []item.Record{meeting("A", list), meeting("B", list), meeting("C", list)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{res[0].ID, res[1].ID, res[2].ID}
	if got := len(invitees(t, l, ids)); got != 210 {
		t.Errorf("invitee rows = %d, want 210", got)
	}
	// One call for the events and ⌈210/200⌉ = 2 for the invitees.
	if got, want := l.srv.Calls()["collections"], 3; got != want {
		t.Errorf("collections calls = %d, want %d", got, want)
	}
}

func TestAttendeesAreNeverAnEventField(t *testing.T) {
	l := newLocal(t, fakesalesforce.Options{}, Options{})
	// Even a mapping that names an Attendees field must not write it: the
	// local Salesforce, like the real one, refuses an unknown Event field.
	side, err := NewSide(l.client, SideOptions{UserID: l.user, Extra: map[item.Kind][]FieldMap{item.Event: {{item.Attendees, "Attendees__c", Text}}}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := side.Create(t.Context(), item.Event, []item.Record{meeting("Plan", "x@example.com")}, nil)
	if err != nil || res[0].Err != nil {
		t.Fatalf("create: %v %v", err, res[0].Err)
	}
	rec := meeting("Plan (moved)", "x@example.com,y@example.com")
	rec.ID = res[0].ID
	res, err = side.Update(t.Context(), item.Event, []item.Record{rec})
	if err != nil || res[0].Err != nil {
		t.Fatalf("update with Attendees: %v %v; want the other fields written", err, res[0].Err)
	}
	if got, want := l.srv.Record(rec.ID)["Subject"], "Plan (moved)"; got != want {
		t.Errorf("Subject = %v, want %v", got, want)
	}
}
