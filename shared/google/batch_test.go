package google

import (
	"fmt"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
)

// TestBatchCreates: events and tasks go WriteBatch to a batch request; a
// record the side refuses and a part Google fails are that record's result
// alone, the others are created once.
func TestBatchCreates(t *testing.T) {
	fg, s := localGoogle(t)
	ctx := t.Context()
	scope := window()
	start, err := s.Changes(ctx, scope, "")
	if err != nil {
		t.Fatal(err)
	}
	recs := make([]item.Record, 120)
	for i := range recs {
		at := scope.From.Add(time.Duration(i+24) * time.Hour)
		recs[i] = item.Record{Fields: map[string]string{item.Subject: fmt.Sprintf("E%d", i), item.Start: at.Format(time.RFC3339), item.End: at.Add(time.Hour).Format(time.RFC3339)}}
	}
	recs[7].Fields[item.Start] = "soon"
	fg.FailNext("calendar", 500, "backendError", "") // the first part of the first batch
	fg.ResetRequests()
	res, err := s.Create(ctx, item.Event, recs, nil)
	if err != nil || len(res) != len(recs) {
		t.Fatalf("Create: %d results, %v", len(res), err)
	}
	if n := fg.Requests()["batch"]; n != 3 {
		t.Errorf("120 events: %d batch requests, want 3", n)
	}
	if !fault.Is(res[0].Err, fault.Temporary) || !fault.Is(res[7].Err, fault.Permanent) {
		t.Errorf("failed part: %v; refused record: %v", res[0].Err, res[7].Err)
	}
	ok := 0
	for i, r := range res {
		if i != 0 && i != 7 {
			if r.Err != nil || r.ID == "" {
				t.Fatalf("record %d: %+v", i, r)
			}
			ok++
		}
	}
	ch, err := s.Changes(ctx, scope, start.Cursor)
	if err != nil || len(ch.Records) != ok {
		t.Errorf("events created: %d, want %d (%v)", len(ch.Records), ok, err)
	}
	tasks := make([]item.Record, 60)
	for i := range tasks {
		tasks[i] = item.Record{Fields: map[string]string{item.Subject: fmt.Sprintf("T%d", i), item.DueDate: "2026-12-24"}}
	}
	fg.ResetRequests()
	res, err = s.Create(ctx, item.Task, tasks, nil)
	if err != nil || len(res) != 60 || res[59].ID == "" {
		t.Fatalf("tasks: %v %v", res, err)
	}
	if n := fg.Requests()["batch"]; n != 2 {
		t.Errorf("60 tasks: %d batch requests, want 2", n)
	}
}

// TestBatchDeletes: events and tasks are deleted WriteBatch to a batch; a
// record already gone counts as deleted.
func TestBatchDeletes(t *testing.T) {
	fg, s := localGoogle(t)
	ctx := t.Context()
	scope := window()
	recs := make([]item.Record, 60)
	for i := range recs {
		at := scope.From.Add(time.Duration(i+24) * time.Hour)
		recs[i] = item.Record{Fields: map[string]string{item.Subject: fmt.Sprintf("E%d", i), item.Start: at.Format(time.RFC3339), item.End: at.Add(time.Hour).Format(time.RFC3339)}}
	}
	res, err := s.Create(ctx, item.Event, recs, nil)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(res))
	for i, r := range res {
		ids[i] = r.ID
	}
	if err := s.deleteEvent(ctx, ids[3]); err != nil {
		t.Fatal(err)
	}
	fg.ResetRequests()
	res, err = s.Delete(ctx, item.Event, append(ids, "nosuchevent"))
	if err != nil || len(res) != 61 {
		t.Fatalf("Delete: %v %v", res, err)
	}
	for i, r := range res {
		if r.Err != nil {
			t.Errorf("delete %d: %v", i, r.Err)
		}
	}
	if n := fg.Requests()["batch"]; n != 2 {
		t.Errorf("61 deletes: %d batches, want 2", n)
	}
	ch, err := s.Changes(ctx, scope, "")
	if err != nil || len(ch.Records) != 0 {
		t.Errorf("after deletes: %d events left, %v", len(ch.Records), err)
	}
	tres, err := s.Create(ctx, item.Task, []item.Record{{Fields: map[string]string{item.Subject: "x"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := s.Delete(ctx, item.Task, []string{tres[0].ID, "gone"}); err != nil || res[0].Err != nil || res[1].Err != nil {
		t.Errorf("task deletes: %+v %v", res, err)
	}
}

// TestBatchUpdates: events and tasks are updated with a batch of reads and
// a batch of patches per WriteBatch records; a refused record and a read
// Google failed are their records' results alone.
func TestBatchUpdates(t *testing.T) {
	fg, s := localGoogle(t)
	ctx := t.Context()
	scope := window()
	recs := make([]item.Record, 60)
	for i := range recs {
		at := scope.From.Add(time.Duration(i+24) * time.Hour)
		recs[i] = item.Record{Fields: map[string]string{item.Subject: fmt.Sprintf("E%d", i), item.Start: at.Format(time.RFC3339), item.End: at.Add(time.Hour).Format(time.RFC3339)}}
	}
	res, err := s.Create(ctx, item.Event, recs, nil)
	if err != nil {
		t.Fatal(err)
	}
	start, err := s.Changes(ctx, scope, "")
	if err != nil {
		t.Fatal(err)
	}
	upd := make([]item.Record, len(res))
	for i, r := range res {
		upd[i] = item.Record{ID: r.ID, Fields: map[string]string{item.Subject: fmt.Sprintf("Renamed %d", i)}}
	}
	upd[5].Fields[item.End] = "later"
	fg.FailNext("calendar", 500, "backendError", "") // the first read
	fg.ResetRequests()
	out, err := s.Update(ctx, item.Event, upd)
	if err != nil || len(out) != 60 {
		t.Fatalf("Update: %v", err)
	}
	if !fault.Is(out[0].Err, fault.Temporary) || !fault.Is(out[5].Err, fault.Permanent) {
		t.Errorf("failed read: %v; refused record: %v", out[0].Err, out[5].Err)
	}
	if n := fg.Requests()["batch"]; n != 4 {
		t.Errorf("60 updates: %d batches, want 4 (reads and patches of two batches)", n)
	}
	ch, err := s.Changes(ctx, scope, start.Cursor)
	if err != nil || len(ch.Records) != 58 {
		t.Fatalf("changed events: %d, want 58 (%v)", len(ch.Records), err)
	}
	for _, r := range ch.Records {
		if r.Fields[item.Subject][:7] != "Renamed" {
			t.Errorf("not renamed: %+v", r.Fields)
		}
	}
	tres, err := s.Create(ctx, item.Task, []item.Record{{Fields: map[string]string{item.Subject: "a"}}, {Fields: map[string]string{item.Subject: "b"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tout, err := s.Update(ctx, item.Task, []item.Record{{ID: tres[0].ID, Fields: map[string]string{item.Status: "Completed"}}, {ID: "gone", Fields: map[string]string{item.Subject: "x"}}})
	if err != nil || tout[0].Err != nil || !fault.Is(tout[1].Err, fault.Gone) {
		t.Errorf("task updates: %+v %v", tout, err)
	}
}

// TestConflictsReadAgain: a write refused because the record changed since
// it was read (People 400 failedPrecondition, Calendar 412) is read again
// and redone, and succeeds.
func TestConflictsReadAgain(t *testing.T) {
	fg, s := localGoogle(t)
	ctx := t.Context()
	if _, err := s.Changes(ctx, item.Scope{Kind: item.Contact}, ""); err != nil {
		t.Fatal(err)
	}
	res, err := s.Create(ctx, item.Contact, []item.Record{{Fields: map[string]string{item.LastName: "Lee"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	fg.FailAt("people", 1, 400, "failedPrecondition") // the updateContact after the read
	fg.ResetRequests()
	out, err := s.Update(ctx, item.Contact, []item.Record{{ID: res[0].ID, Fields: map[string]string{item.Title: "CEO"}}})
	if err != nil || out[0].Err != nil {
		t.Fatalf("contact update after a conflict: %+v %v", out, err)
	}
	if n := fg.Requests()["people"]; n != 4 {
		t.Errorf("people requests: %d, want 4 (read, refused write, read, write)", n)
	}
	p, _ := s.getPerson(ctx, res[0].ID)
	if got := p.record(nil, "").Fields[item.Title]; got != "CEO" {
		t.Errorf("title %q", got)
	}
	scope := window()
	at := scope.From.Add(30 * time.Hour)
	ev, err := s.Create(ctx, item.Event, []item.Record{{Fields: map[string]string{item.Subject: "A", item.Start: at.Format(time.RFC3339), item.End: at.Add(time.Hour).Format(time.RFC3339)}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	fg.FailAt("calendar", 1, 412, "conditionNotMet") // the patch after the batched read
	out, err = s.Update(ctx, item.Event, []item.Record{{ID: ev[0].ID, Fields: map[string]string{item.Subject: "B"}}})
	if err != nil || out[0].Err != nil {
		t.Fatalf("event update after a conflict: %+v %v", out, err)
	}
	if e, _ := s.getEvent(ctx, "primary", ev[0].ID); e.Summary != "B" {
		t.Errorf("summary %q", e.Summary)
	}
}
