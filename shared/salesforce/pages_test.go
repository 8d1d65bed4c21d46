package salesforce

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/crmsync/crmsync/local/fakesalesforce"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/side"
)

var _ side.PageLister = (*Side)(nil)

// TestListPagesIsTheFirstListingInBatches: a first sync's listing handed
// over in pages of one query batch holds the records Changes with no cursor
// reports, each once, and ends with the same kind of cursor.
func TestListPagesIsTheFirstListingInBatches(t *testing.T) {
	ctx := context.Background()
	l := newLocal(t, fakesalesforce.Options{MaxBatchSize: 200}, Options{QueryBatch: 200})
	for i := range 450 {
		if _, err := l.srv.Insert(l.user, "Contact", map[string]any{"LastName": fmt.Sprint("P", i), "Email": fmt.Sprintf("p%d@acme.example", i)}); err != nil {
			t.Fatal(err)
		}
	}
	scope := item.Scope{Kind: item.Contact}
	whole, err := l.side.Changes(ctx, scope, "")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]item.Record{}
	for _, r := range whole.Records {
		want[r.ID] = r
	}
	got := map[string]item.Record{}
	var sizes []int
	tail, err := l.side.ListPages(ctx, scope, func(recs []item.Record) error {
		sizes = append(sizes, len(recs))
		for _, r := range recs {
			if _, dup := got[r.ID]; dup {
				t.Errorf("record %s listed twice", r.ID)
			}
			got[r.ID] = r
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sizes, []int{200, 200, 50}) {
		t.Errorf("page sizes %v, want one query batch each: [200 200 50]", sizes)
	}
	if len(got) != 450 || len(want) != 450 {
		t.Fatalf("listed %d records in pages and %d whole, want 450", len(got), len(want))
	}
	for id, w := range want {
		if g := got[id]; !maps.Equal(g.Fields, w.Fields) || g.Version != w.Version {
			t.Errorf("record %s in pages %+v, whole %+v", id, g, w)
		}
	}
	if !tail.Full || tail.Kind != item.Contact || len(tail.Records) != 0 || tail.Cursor == "" {
		t.Errorf("listing's tail %+v, want Full with a cursor and no records", tail)
	}
	// The cursor works as a first listing's: the next read is incremental.
	next, err := l.side.Changes(ctx, scope, tail.Cursor)
	if err != nil || next.Full {
		t.Errorf("changes after the paged listing: full=%v err=%v, want an incremental read", next.Full, err)
	}
}
