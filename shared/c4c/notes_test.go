package c4c

import (
	"errors"
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/fakec4c"
	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
)

// TestAttendeesBecomeInvolvedParties: an appointment created from a meeting
// relates its organizer and attendees as involved parties (deep insert), in
// the roles the tenant's role code list names, matched by address to a
// contact or an employee; an address C4C knows no one by is left out. The
// attendees read back from the parties in the attendee role.
func TestAttendeesBecomeInvolvedParties(t *testing.T) {
	l := newLocal(t, fakec4c.Options{})
	ctx := t.Context()
	if _, err := l.srv.Insert("ContactCollection", map[string]any{"LastName": "Anders", "Email": "alice@acme.example", "ContactOwnerID": syncOwner}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.srv.Insert("EmployeeCollection", map[string]any{"FirstName": "Dana", "LastName": "Seller", "Email": "dana@contoso.example"}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.srv.Insert("EmployeeCollection", map[string]any{"LastName": "Walter", "Email": "walter@contoso.example"}); err != nil {
		t.Fatal(err)
	}
	start := l.clock.Now().Add(24 * time.Hour).Truncate(time.Hour)
	rec := item.Record{Kind: item.Event, Fields: map[string]string{
		item.Subject: "Review", item.Start: start.Format(time.RFC3339), item.End: start.Add(time.Hour).Format(time.RFC3339),
		item.Organizer: "dana@contoso.example", item.Attendees: "alice@acme.example,stranger@else.example,walter@contoso.example",
	}}
	res, err := l.side.Create(ctx, item.Event, []item.Record{rec}, nil)
	if err != nil || res[0].Err != nil {
		t.Fatalf("Create: %v %+v", err, res)
	}
	roles := map[string]string{}
	for _, p := range l.srv.Children("AppointmentCollection", res[0].ID, "AppointmentInvolvedParties") {
		roles[p["EMail"].(string)] = p["RoleCode"].(string)
	}
	want := map[string]string{"dana@contoso.example": "22", "alice@acme.example": "27", "walter@contoso.example": "27"}
	if len(roles) != len(want) {
		t.Errorf("parties %v, want %v", roles, want)
	}
	for addr, code := range want {
		if roles[addr] != code {
			t.Errorf("party %s has role %q, want %q (parties %v)", addr, roles[addr], code, roles)
		}
	}
	ch, err := l.side.Changes(ctx, item.Scope{Kind: item.Event, From: start.Add(-48 * time.Hour), To: start.Add(48 * time.Hour)}, "")
	if err != nil {
		t.Fatal(err)
	}
	got, ok := findRec(ch, res[0].ID)
	if !ok {
		t.Fatal("appointment not read back")
	}
	if a := got.Fields[item.Attendees]; a != "alice@acme.example,walter@contoso.example" {
		t.Errorf("Attendees read back %q", a)
	}
	if got.Fields[item.Recurrence] != "" {
		t.Errorf("Recurrence = %q, want single", got.Fields[item.Recurrence])
	}
}

// TestNotesAreTextEntries: a task's description is the body-text entry of
// its text collection: created with the task, changed, removed and added
// again through the text entity set; a change a user makes to the note in
// C4C is a change of the task, reported by the next change read.
func TestNotesAreTextEntries(t *testing.T) {
	l := newLocal(t, fakec4c.Options{})
	ctx := t.Context()
	sc := item.Scope{Kind: item.Task}
	first, err := l.side.Changes(ctx, sc, "")
	if err != nil {
		t.Fatal(err)
	}
	res, err := l.side.Create(ctx, item.Task, []item.Record{{Kind: item.Task, Fields: map[string]string{item.Subject: "Call", item.Description: "agenda"}}}, nil)
	if err != nil || res[0].Err != nil {
		t.Fatalf("Create: %v %+v", err, res)
	}
	id := res[0].ID
	text := func() []string {
		var out []string
		for _, n := range l.srv.Children("TasksCollection", id, "TasksTextCollection") {
			out = append(out, n["TypeCode"].(string)+":"+n["Text"].(string))
		}
		return out
	}
	if got := text(); len(got) != 1 || got[0] != NoteTypeCode+":agenda" {
		t.Fatalf("notes after create %v", got)
	}
	for _, step := range []struct{ desc, want string }{{"new agenda", NoteTypeCode + ":new agenda"}, {"", ""}, {"again", NoteTypeCode + ":again"}} {
		res, err := l.side.Update(ctx, item.Task, []item.Record{{Kind: item.Task, ID: id, Fields: map[string]string{item.Description: step.desc}}})
		if err != nil || res[0].Err != nil {
			t.Fatalf("Update %q: %v %+v", step.desc, err, res)
		}
		got := text()
		if step.want == "" && len(got) != 0 || step.want != "" && (len(got) != 1 || got[0] != step.want) {
			t.Errorf("after Description %q: notes %v", step.desc, got)
		}
	}
	if n := l.srv.Calls("PATCH", "TasksCollection"); n != 0 {
		t.Errorf("changes of the note alone wrote the task header %d times", n)
	}
	// A user edits the note in C4C.
	l.clock.Add(10 * time.Minute)
	mid, err := l.side.Changes(ctx, sc, first.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	l.clock.Add(10 * time.Minute)
	note := l.srv.Children("TasksCollection", id, "TasksTextCollection")[0]["ObjectID"].(string)
	if _, err := l.client.Batch(ctx, []Op{{Method: "PATCH", Path: "TasksTextCollectionCollection('" + note + "')", Body: map[string]any{"Text": "edited in C4C"}}}); err != nil {
		t.Fatal(err)
	}
	ch, err := l.side.Changes(ctx, sc, mid.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := findRec(ch, id); !ok || got.Fields[item.Description] != "edited in C4C" {
		t.Errorf("note edited in C4C: reported %v %+v", ok, got)
	}
}

// TestSeriesAreRefused: a series, and an exception of one, is refused per
// record with the no-recurrence code, the other records of the batch are
// created, and making a linked appointment recurring is refused without
// changing it.
func TestSeriesAreRefused(t *testing.T) {
	l := newLocal(t, fakec4c.Options{})
	ctx := t.Context()
	start := l.clock.Now().Add(24 * time.Hour).Truncate(time.Hour)
	ev := func(subject string, extra ...string) item.Record {
		f := map[string]string{item.Subject: subject, item.Start: start.Format(time.RFC3339), item.End: start.Add(time.Hour).Format(time.RFC3339)}
		for i := 0; i+1 < len(extra); i += 2 {
			f[extra[i]] = extra[i+1]
		}
		return item.Record{Kind: item.Event, Fields: f}
	}
	res, err := l.side.Create(ctx, item.Event, []item.Record{
		ev("Weekly", item.Recurrence, "FREQ=WEEKLY;INTERVAL=1;BYDAY=MO"),
		ev("Moved occurrence", item.SeriesID, "series-1", item.OriginalStart, start.Format(time.RFC3339)),
		ev("Single"),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res[:2] {
		if !fault.Is(r.Err, fault.Permanent) || codeOf(r.Err) != CodeNoRecurrence || r.ID != "" {
			t.Errorf("record %d: %+v, want refused with %s", i, r, CodeNoRecurrence)
		}
	}
	if res[2].Err != nil || res[2].ID == "" {
		t.Fatalf("single event: %+v", res[2])
	}
	if n := l.srv.Count("AppointmentCollection"); n != 1 {
		t.Errorf("%d appointments, want the single one", n)
	}
	up, err := l.side.Update(ctx, item.Event, []item.Record{{Kind: item.Event, ID: res[2].ID, Fields: map[string]string{item.Location: "Room 9", item.Recurrence: "FREQ=DAILY;INTERVAL=1"}}})
	if err != nil || codeOf(up[0].Err) != CodeNoRecurrence {
		t.Errorf("Update to a series: %v %+v", err, up)
	}
	if calls := l.srv.Calls("PATCH", "AppointmentCollection"); calls != 0 {
		t.Errorf("a refused update still wrote (%d PATCH)", calls)
	}
}

// codeOf is the fault code of err ("" when it has none).
func codeOf(err error) string {
	var fe *fault.Error
	if errors.As(err, &fe) {
		return fe.Code
	}
	return ""
}
