package c4c

import (
	"fmt"
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/fakec4c"
	"github.com/crmsync/crmsync/shared/item"
)

// TestCreatedThenGoneIsReported: a contact the side created is given to
// another owner (or deleted) before any change read saw it. The change read
// hides it (owner filter, or no tombstone), so only the known set can tell:
// the next session, with the cursor stored after the create or with the one
// before it (the session died before storing its cursor), must report it
// removed. Found by TestPropertySessionsC4C (seed 93); before the fix the
// side never reported it and the mailbox copy stayed linked.
func TestCreatedThenGoneIsReported(t *testing.T) {
	for _, how := range []string{"owner", "delete"} {
		for _, stored := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/new-cursor=%v", how, stored), func(t *testing.T) {
				l := newLocal(t, fakec4c.Options{})
				l.side = NewSide(l.client, SideOptions{Now: l.clock.Now, Owner: syncOwner, Known: TableKnown{Tables: embedded(t), User: "u"}})
				sc := item.Scope{Kind: item.Contact}
				ctx := t.Context()
				old, err := l.side.Changes(ctx, sc, "")
				if err != nil {
					t.Fatal(err)
				}
				l.clock.Add(time.Minute)
				cur, err := l.side.Changes(ctx, sc, old.Cursor) // the session that creates
				if err != nil {
					t.Fatal(err)
				}
				res, err := l.side.Create(ctx, item.Contact, []item.Record{{Kind: item.Contact, Fields: map[string]string{item.LastName: "Gone"}}}, []string{""})
				if err != nil || res[0].Err != nil {
					t.Fatal(err, res)
				}
				id := res[0].ID
				l.clock.Add(time.Minute)
				if how == "owner" {
					err = l.srv.Update("ContactCollection", id, map[string]any{"ContactOwnerID": otherOwner})
				} else {
					err = l.srv.Delete("ContactCollection", id)
				}
				if err != nil {
					t.Fatal(err)
				}
				l.clock.Add(10 * time.Minute)
				cursor := old.Cursor
				if stored {
					cursor = cur.Cursor
				}
				// A fresh side: the next session opens its own.
				next := NewSide(l.client, SideOptions{Now: l.clock.Now, Owner: syncOwner, Known: l.side.known})
				ch, err := next.Changes(ctx, sc, cursor)
				if err != nil {
					t.Fatal(err)
				}
				want := map[string]item.RemovalReason{"owner": item.LeftScope, "delete": item.Deleted}[how]
				for _, rm := range ch.Removed {
					if rm.ID == id && rm.Reason == want {
						return
					}
				}
				t.Fatalf("the created contact, then %s, is not reported removed (%v): removed %+v, records %d", how, want, ch.Removed, len(ch.Records))
			})
		}
	}
}
