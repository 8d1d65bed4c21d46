package google

import (
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/fakegoogle"
	"github.com/crmsync/crmsync/shared/item"
)

// TestTaskPollSameInstant: Tasks has no sync token; a change written in the
// same instant as the last one seen is still reported (the poll overlaps by
// taskSkew), and an unchanged task in the overlap is not reported twice.
func TestTaskPollSameInstant(t *testing.T) {
	at := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	_, s := localGoogleWith(t, fakegoogle.Options{Now: func() time.Time { return at }})
	ctx := t.Context()
	scope := item.Scope{Kind: item.Task}
	a, err := s.createTask(ctx, map[string]string{item.Subject: "A"}, "")
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.Changes(ctx, scope, "")
	if err != nil || len(first.Records) != 1 {
		t.Fatalf("full: %+v %v", first, err)
	}
	idle, err := s.Changes(ctx, scope, first.Cursor)
	if err != nil || len(idle.Records) != 0 {
		t.Fatalf("idle: %d records (%v), want none", len(idle.Records), err)
	}
	if err := s.updateTask(ctx, a, map[string]string{item.Subject: "A2"}); err != nil {
		t.Fatal(err)
	}
	b, _ := s.createTask(ctx, map[string]string{item.Subject: "B"}, "")
	ch, err := s.Changes(ctx, scope, idle.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := findRec(ch.Records, a); !ok || got.Fields[item.Subject] != "A2" {
		t.Errorf("update in the same instant: %+v found=%v", got, ok)
	}
	if _, ok := findRec(ch.Records, b); !ok {
		t.Errorf("create in the same instant not reported")
	}
	if err := s.deleteTask(ctx, b); err != nil {
		t.Fatal(err)
	}
	ch2, err := s.Changes(ctx, scope, ch.Cursor)
	if err != nil || len(ch2.Removed) != 1 || ch2.Removed[0].ID != b || len(ch2.Records) != 0 {
		t.Errorf("after delete: %+v %v, want only B removed", ch2, err)
	}
}

func findRec(recs []item.Record, id string) (item.Record, bool) {
	for _, r := range recs {
		if r.ID == id {
			return r, true
		}
	}
	return item.Record{}, false
}

// TestTaskTrailer: what Google Tasks has no field for survives in the
// notes, and the user's text stays theirs.
func TestTaskTrailer(t *testing.T) {
	body, err := applyTask(wireTask{Notes: "Call first.\n\n[crmsync marker=m1]"}, map[string]string{item.Status: "InProgress", item.Priority: "High"})
	if err != nil {
		t.Fatal(err)
	}
	notes := body["notes"].(string)
	if notes != "Call first.\n\n[crmsync marker=m1; priority=High; status=InProgress]" || body["status"] != "needsAction" {
		t.Fatalf("notes %q status %v", notes, body["status"])
	}
	r := wireTask{ID: "t", Title: "x", Notes: notes, Due: "2026-12-07T00:00:00.000Z", Status: "needsAction"}.record()
	want := map[string]string{item.Description: "Call first.", item.Status: "InProgress", item.Priority: "High", item.DueDate: "2026-12-07"}
	for k, v := range want {
		if r.Fields[k] != v {
			t.Errorf("%s = %q, want %q", k, r.Fields[k], v)
		}
	}
	if r.Marker != "m1" {
		t.Errorf("marker %q", r.Marker)
	}
	// Completed in Google wins over a stale trailer status.
	if r := (wireTask{Notes: notes, Status: "completed"}).record(); r.Fields[item.Status] != "Completed" {
		t.Errorf("completed task reads %q", r.Fields[item.Status])
	}
	if _, err := applyTask(wireTask{}, map[string]string{item.DueDate: "next week"}); err == nil {
		t.Errorf("a bad due date was accepted")
	}
}

// TestWritesFollowTheScope: with a contact group and a task list chosen in
// the settings, creates land there, not in the defaults.
func TestWritesFollowTheScope(t *testing.T) {
	_, s := localGoogle(t)
	ctx := t.Context()
	cs := item.Scope{Kind: item.Contact, Container: "Clients"}
	ts := item.Scope{Kind: item.Task, Container: "Follow-ups"}
	c0, err := s.Changes(ctx, cs, "")
	if err != nil {
		t.Fatal(err)
	}
	t0, err := s.Changes(ctx, ts, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, item.Contact, []item.Record{{Fields: map[string]string{item.LastName: "Lee"}}}, []string{""}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, item.Task, []item.Record{{Fields: map[string]string{item.Subject: "Call"}}}, []string{""}); err != nil {
		t.Fatal(err)
	}
	c1, err := s.Changes(ctx, cs, c0.Cursor)
	if err != nil || len(c1.Records) != 1 {
		t.Errorf("contact in the chosen group: %+v %v", c1.Records, err)
	}
	t1, err := s.Changes(ctx, ts, t0.Cursor)
	if err != nil || len(t1.Records) != 1 {
		t.Errorf("task in the chosen list: %+v %v", t1.Records, err)
	}
	if d, err := s.Changes(ctx, item.Scope{Kind: item.Task}, ""); err != nil || len(d.Records) != 0 {
		t.Errorf("default list: %+v %v, want empty", d.Records, err)
	}
}
