package google

import (
	"fmt"
	"testing"

	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/side"
)

// TestContactBatches: creates go BatchCreate to a request and deletes
// BatchDelete; a batch People refuses (all or nothing) is retried contact
// by contact, so every record still gets its own result.
func TestContactBatches(t *testing.T) {
	fg, s := localGoogle(t)
	ctx := t.Context()
	start, err := s.Changes(ctx, item.Scope{Kind: item.Contact}, "")
	if err != nil {
		t.Fatal(err)
	}
	recs := make([]item.Record, 450)
	for i := range recs {
		recs[i] = item.Record{Fields: map[string]string{item.LastName: fmt.Sprintf("Lee %d", i)}}
	}
	fg.ResetRequests()
	res, err := s.Create(ctx, item.Contact, recs, nil)
	ids := checkIDs(t, res, err, len(recs))
	if n := fg.Requests()["people"]; n != 3 {
		t.Errorf("450 creates: %d requests, want 3 (batches of %d)", n, BatchCreate)
	}
	// The next batch is refused as a whole: each contact goes alone.
	fg.FailNext("people", 400, "", "")
	res, err = s.Create(ctx, item.Contact, recs[:3], []string{"m1", "", "m3"})
	more := checkIDs(t, res, err, 3)
	found, err := s.FindCreated(ctx, item.Contact, []item.Intent{{Marker: "m1"}, {Marker: "m3"}})
	if err != nil || found["m1"] != more[0] || found["m3"] != more[2] {
		t.Errorf("markers after the one-by-one retry: %v %v", found, err)
	}
	ch, err := s.Changes(ctx, item.Scope{Kind: item.Contact}, start.Cursor)
	if err != nil || len(ch.Records) != 453 {
		t.Fatalf("after creates: %d records, %v", len(ch.Records), err)
	}
	fg.ResetRequests()
	res, err = s.Delete(ctx, item.Contact, append(ids, more...))
	checkIDs(t, res, err, 453)
	if n := fg.Requests()["people"]; n != 1 {
		t.Errorf("453 deletes: %d requests, want 1", n)
	}
	// Deleting again: the batch fails on the first missing contact, the
	// retry counts each as already gone.
	res, err = s.Delete(ctx, item.Contact, ids[:2])
	checkIDs(t, res, err, 2)
}

func checkIDs(t *testing.T, res []side.Result, err error, n int) []string {
	t.Helper()
	if err != nil || len(res) != n {
		t.Fatalf("%d results, %v; want %d", len(res), err, n)
	}
	ids := make([]string, n)
	for i, r := range res {
		if r.Err != nil || r.ID == "" {
			t.Fatalf("result %d: %+v", i, r)
		}
		ids[i] = r.ID
	}
	return ids
}
