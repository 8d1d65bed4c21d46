package c4c

import (
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/fakec4c"
	"github.com/crmsync/crmsync/shared/item"
)

// TestMeetingCopiesMakeOneAppointment: the organizer's and an attendee's
// copies of one meeting, synced by two users of one tenant in either order,
// make one appointment. The second user's copy is linked to it, it stays in
// that user's scope through reconciliation (their employee is a party), and
// their delete only unlinks; the owner's delete deletes.
func TestMeetingCopiesMakeOneAppointment(t *testing.T) {
	for _, organizerFirst := range []bool{true, false} {
		name := map[bool]string{true: "organizer-first", false: "attendee-first"}[organizerFirst]
		t.Run(name, func(t *testing.T) {
			l := newLocal(t, fakec4c.Options{})
			ctx := t.Context()
			employee := func(first, email string) string {
				id, err := l.srv.Insert("EmployeeCollection", map[string]any{"FirstName": first, "LastName": "Employee", "Email": email})
				if err != nil {
					t.Fatal(err)
				}
				res, err := l.client.Batch(ctx, []Op{{Method: "GET", Path: "EmployeeCollection('" + id + "')"}})
				if err != nil || res[0].Err != nil {
					t.Fatal(err, res)
				}
				return res[0].Entity.String("BusinessPartnerID") // the Owner of a side: OwnerPartyID, PartyID
			}
			dana, walter := employee("Dana", "dana@contoso.example"), employee("Walter", "walter@contoso.example")
			sideOf := func(owner string) *Side {
				return NewSide(l.client, SideOptions{Now: l.clock.Now, Owner: owner, ReconcileEvery: time.Minute})
			}
			danaSide, walterSide := sideOf(dana), sideOf(walter)
			start := l.clock.Now().Add(24 * time.Hour).Truncate(time.Hour)
			copyOf := func(invitation string) item.Record {
				return item.Record{Kind: item.Event, Fields: map[string]string{
					item.Subject: "Quarterly review", item.Start: start.Format(time.RFC3339), item.End: start.Add(time.Hour).Format(time.RFC3339),
					item.Organizer: "dana@contoso.example", item.Attendees: "walter@contoso.example", item.Invitation: invitation,
				}}
			}
			first, second := danaSide, walterSide
			firstCopy, secondCopy := copyOf("false"), copyOf("true")
			if !organizerFirst {
				first, second, firstCopy, secondCopy = walterSide, danaSide, secondCopy, firstCopy
			}
			sc := item.Scope{Kind: item.Event, From: start.Add(-72 * time.Hour), To: start.Add(72 * time.Hour)}
			base, err := second.Changes(ctx, sc, "")
			if err != nil {
				t.Fatal(err)
			}
			a, err := first.Create(ctx, item.Event, []item.Record{firstCopy}, nil)
			if err != nil || a[0].Err != nil {
				t.Fatalf("first copy: %v %+v", err, a)
			}
			b, err := second.Create(ctx, item.Event, []item.Record{secondCopy}, nil)
			if err != nil || b[0].Err != nil {
				t.Fatalf("second copy: %v %+v", err, b)
			}
			if b[0].ID != a[0].ID || l.srv.Count("AppointmentCollection") != 1 {
				t.Fatalf("copies made %d appointments (%s, %s), want one", l.srv.Count("AppointmentCollection"), a[0].ID, b[0].ID)
			}
			// The same user's look-alike meeting is a meeting of its own.
			twin, err := first.Create(ctx, item.Event, []item.Record{firstCopy}, nil)
			if err != nil || twin[0].Err != nil || twin[0].ID == a[0].ID {
				t.Fatalf("a look-alike meeting of the same user: %v %+v (first %s)", err, twin, a[0].ID)
			}
			if res, err := first.Delete(ctx, item.Event, []string{twin[0].ID}); err != nil || res[0].Err != nil {
				t.Fatal(err, res)
			}
			// Past the reconciliation interval, the second user's side
			// still holds the appointment: not deleted, not out of scope.
			l.clock.Add(10 * time.Minute)
			ch, err := second.Changes(ctx, sc, base.Cursor)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range ch.Removed {
				if r.ID == a[0].ID {
					t.Errorf("the second user's side reports the shared appointment removed (%v)", r.Reason)
				}
			}
			// The attendee's delete unlinks; the owner's deletes.
			owner, other := first, second
			if _, err := other.Delete(ctx, item.Event, []string{a[0].ID}); err != nil {
				t.Fatal(err)
			}
			if l.srv.Count("AppointmentCollection") != 1 {
				t.Fatal("a copy missing from one mailbox deleted the shared appointment")
			}
			if res, err := owner.Delete(ctx, item.Event, []string{a[0].ID}); err != nil || res[0].Err != nil {
				t.Fatal(err, res)
			}
			if l.srv.Count("AppointmentCollection") != 0 {
				t.Error("the owner's delete left the appointment")
			}
		})
	}
}

// TestMeetingLookupsAreBatched: looking for colleagues' appointments of 30
// meetings created at once costs one $batch, not a read per meeting.
func TestMeetingLookupsAreBatched(t *testing.T) {
	l := newLocal(t, fakec4c.Options{})
	ctx := t.Context()
	start := l.clock.Now().Add(24 * time.Hour).Truncate(time.Hour)
	var recs []item.Record
	for i := range 30 {
		s := start.Add(time.Duration(i) * time.Hour)
		recs = append(recs, item.Record{Kind: item.Event, Fields: map[string]string{item.Subject: "Meeting", item.Start: s.Format(time.RFC3339),
			item.End: s.Add(time.Hour).Format(time.RFC3339), item.Organizer: "olivia@contoso.example"}})
	}
	// The tenant's code lists (with the party role codes) are read once
	// per connection, in a $batch of their own; they are not what this
	// test counts.
	if _, err := l.side.loadCodes(ctx); err != nil {
		t.Fatal(err)
	}
	before := l.srv.Calls("POST", "$batch")
	res, err := l.side.Create(ctx, item.Event, recs, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Err != nil || r.ID == "" {
			t.Fatalf("create: %+v", r)
		}
	}
	if n := l.srv.Calls("POST", "$batch") - before; n != 2 {
		t.Errorf("creating 30 meetings took %d $batch calls, want 2 (the lookups, the creates)", n)
	}
}
