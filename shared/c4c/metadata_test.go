package c4c

import (
	"slices"
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/fakec4c"
	"github.com/crmsync/crmsync/shared/item"
)

// TestDescribePicklistsAreTheTenantsCodes: the add-in's describe finds a
// property's picklist through its c4c:value-help and shows the tenant's own
// codes, from the $metadata and code lists the sync already read and cached
// for the connection: a describe of tasks after a task read costs no call,
// and a list first wanted by a describe is read once (one $batch) and kept
// for the connection's next sides.
func TestDescribePicklistsAreTheTenantsCodes(t *testing.T) {
	l := newLocal(t, fakec4c.Options{CodeLists: otherTenant})
	ctx := t.Context()
	cache := &CodeCache{}
	sideOf := func() *Side {
		return NewSide(l.client, SideOptions{Now: l.clock.Now, Owner: syncOwner, CodeCache: cache, CodeKey: "tenant|demo"})
	}
	if _, err := sideOf().Changes(ctx, item.Scope{Kind: item.Task}, ""); err != nil {
		t.Fatal(err)
	}
	meta := l.srv.Calls("GET", "$metadata")
	before := l.client.Calls()
	task, err := sideOf().Describe(ctx, "Task")
	if err != nil {
		t.Fatal(err)
	}
	if calls := l.client.Calls() - before; calls != 0 {
		t.Errorf("describing tasks after a task read made %d calls, want 0 (metadata and lists cached)", calls)
	}
	want := map[string][]string{"Status": {"Z1", "Z2", "Z9", "Z5"}, "PriorityCode": {"P1", "P2", "P3"}}
	for _, f := range task.Fields {
		if w, ok := want[f.Name]; ok {
			if f.Type != "picklist" || !f.Restricted || !slices.Equal(f.Picklist, w) {
				t.Errorf("Task.%s: type %q restricted %v picklist %v, want the tenant's %v", f.Name, f.Type, f.Restricted, f.Picklist, w)
			}
			delete(want, f.Name)
		}
		if f.Name == "Subject" && (f.Type != "string" || f.Nillable) {
			t.Errorf("Task.Subject: type %q nillable %v, want a mandatory string", f.Type, f.Nillable)
		}
	}
	if len(want) != 0 {
		t.Errorf("Task describe lacks %v", want)
	}
	before = l.client.Calls()
	appt, err := sideOf().Describe(ctx, "Appointment")
	if err != nil {
		t.Fatal(err)
	}
	if calls := l.client.Calls() - before; calls != 1 {
		t.Errorf("describing appointments made %d calls, want 1 (the $batch of its code list)", calls)
	}
	found := false
	for _, f := range appt.Fields {
		if f.Name == "LifeCycleStatusCode" {
			found = true
			if !slices.Equal(f.Picklist, []string{"1", "2", "3", "4"}) {
				t.Errorf("Appointment.LifeCycleStatusCode picklist %v", f.Picklist)
			}
		}
	}
	if !found {
		t.Error("Appointment describe lacks LifeCycleStatusCode")
	}
	before = l.client.Calls()
	if _, err := sideOf().Describe(ctx, "Appointment"); err != nil {
		t.Fatal(err)
	}
	if calls := l.client.Calls() - before; calls != 0 {
		t.Errorf("a second side's describe made %d calls, want 0", calls)
	}
	if l.srv.Calls("GET", "$metadata") != meta {
		t.Error("describe read $metadata again despite the connection's cache")
	}
}

// TestRoleCodesFromTenant: the appointment party roles are the tenant's
// codes, found through RoleCode's c4c:value-help and read in the code
// lists' one $batch, once per connection: two sides of one connection read
// the role list once, and the parties carry the tenant's codes.
func TestRoleCodesFromTenant(t *testing.T) {
	l := newLocal(t, fakec4c.Options{CodeLists: map[string][]fakec4c.Code{
		"AppointmentInvolvedPartiesRoleCodeCollection": {{Code: "ORG", Description: "Organizer"}, {Code: "ATT", Description: "Attendee"}},
	}})
	ctx := t.Context()
	if _, err := l.srv.Insert("ContactCollection", map[string]any{"LastName": "Anders", "Email": "alice@acme.example", "ContactOwnerID": syncOwner}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.srv.Insert("EmployeeCollection", map[string]any{"LastName": "Seller", "Email": "dana@contoso.example"}); err != nil {
		t.Fatal(err)
	}
	cache := &CodeCache{}
	start := l.clock.Now().Add(24 * time.Hour).Truncate(time.Hour)
	var ids []string
	for i := range 2 {
		side := NewSide(l.client, SideOptions{Now: l.clock.Now, Owner: syncOwner, CodeCache: cache, CodeKey: "tenant|demo"})
		s := start.Add(time.Duration(i) * time.Hour)
		res, err := side.Create(ctx, item.Event, []item.Record{{Kind: item.Event, Fields: map[string]string{
			item.Subject: "Review", item.Start: s.Format(time.RFC3339), item.End: s.Add(time.Hour).Format(time.RFC3339),
			item.Organizer: "dana@contoso.example", item.Attendees: "alice@acme.example",
		}}}, nil)
		if err != nil || res[0].Err != nil {
			t.Fatalf("Create: %v %+v", err, res)
		}
		ids = append(ids, res[0].ID)
	}
	for _, id := range ids {
		roles := map[string]string{}
		for _, p := range l.srv.Children("AppointmentCollection", id, "AppointmentInvolvedParties") {
			roles[p["EMail"].(string)] = p["RoleCode"].(string)
		}
		if roles["dana@contoso.example"] != "ORG" || roles["alice@acme.example"] != "ATT" || len(roles) != 2 {
			t.Errorf("parties of %s: %v, want dana ORG and alice ATT", id, roles)
		}
	}
	if n := l.srv.Calls("GET", "AppointmentInvolvedPartiesRoleCodeCollection"); n != 1 {
		t.Errorf("the role code list was read %d times by two sides of one connection, want 1", n)
	}
	ch, err := l.side.Changes(ctx, item.Scope{Kind: item.Event, From: start.Add(-48 * time.Hour), To: start.Add(48 * time.Hour)}, "")
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := findRec(ch, ids[0]); !ok || got.Fields[item.Attendees] != "alice@acme.example" {
		t.Errorf("attendees read back %q (found %v)", got.Fields[item.Attendees], ok)
	}
}

// TestUnreadRoleCodesDoNotStopTasks: the role code list rides in the code
// lists' $batch but only appointments need it: when it cannot be read, tasks
// still sync, and the next appointment create reads it again and relates
// its parties.
func TestUnreadRoleCodesDoNotStopTasks(t *testing.T) {
	l := newLocal(t, fakec4c.Options{})
	ctx := t.Context()
	if _, err := l.srv.Insert("ContactCollection", map[string]any{"LastName": "Anders", "Email": "alice@acme.example", "ContactOwnerID": syncOwner}); err != nil {
		t.Fatal(err)
	}
	l.srv.FailNextRead("AppointmentInvolvedPartiesRoleCodeCollection", 500)
	if _, err := l.side.Changes(ctx, item.Scope{Kind: item.Task}, ""); err != nil {
		t.Fatalf("a task read failed with the role codes unread: %v", err)
	}
	start := l.clock.Now().Add(24 * time.Hour).Truncate(time.Hour)
	res, err := l.side.Create(ctx, item.Event, []item.Record{{Kind: item.Event, Fields: map[string]string{
		item.Subject: "Review", item.Start: start.Format(time.RFC3339), item.End: start.Add(time.Hour).Format(time.RFC3339), item.Attendees: "alice@acme.example",
	}}}, nil)
	if err != nil || res[0].Err != nil {
		t.Fatalf("Create: %v %+v", err, res)
	}
	if kids := l.srv.Children("AppointmentCollection", res[0].ID, "AppointmentInvolvedParties"); len(kids) != 1 || kids[0]["RoleCode"] != "27" {
		t.Errorf("parties %v, want alice as attendee (27)", kids)
	}
	if n := l.srv.Calls("GET", "AppointmentInvolvedPartiesRoleCodeCollection"); n != 2 {
		t.Errorf("role code list read %d times, want 2 (failed, then again when needed)", n)
	}
}
