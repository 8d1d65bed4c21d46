package c4c

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/fakec4c"
	"github.com/crmsync/crmsync/shared/item"
)

// TestChangesNeitherLoseNorRepeat runs random edits in C4C between change
// reads, some of whose sessions die before their cursor is stored. The view
// built from the stored chain of cursors must end equal to C4C: every live
// contact at its latest ETag, every deleted one removed, and no record
// reported twice at the same version within the chain.
func TestChangesNeitherLoseNorRepeat(t *testing.T) {
	for seed := range uint64(8) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 17))
			l := newLocal(t, fakec4c.Options{})
			l.side = NewSide(l.client, SideOptions{Now: l.clock.Now, Owner: syncOwner, Known: TableKnown{Tables: embedded(t), User: "u"}})
			sc := item.Scope{Kind: item.Contact}
			var live []string
			view := map[string]string{}
			cursor := ""
			dups, kills := 0, 0
			sync := func(commit bool) {
				t.Helper()
				ch, err := l.side.Changes(t.Context(), sc, cursor)
				if err != nil {
					t.Fatal(err)
				}
				if !commit {
					kills++
					return // the session dies: nothing applied, cursor not stored
				}
				if ch.Full {
					clear(view)
				}
				for _, rec := range ch.Records {
					if view[rec.ID] == rec.Version {
						dups++
					}
					view[rec.ID] = rec.Version
				}
				for _, rm := range ch.Removed {
					delete(view, rm.ID)
				}
				cursor = ch.Cursor
			}
			for step := range 300 {
				switch n := r.IntN(10); {
				case n < 3 || len(live) == 0:
					id, err := l.srv.Insert("ContactCollection", owned(t, item.Contact, map[string]string{item.LastName: fmt.Sprint("P", step)}, syncOwner))
					if err != nil {
						t.Fatal(err)
					}
					live = append(live, id)
				case n < 6:
					id := live[r.IntN(len(live))]
					if err := l.srv.Update("ContactCollection", id, map[string]any{"JobTitle": fmt.Sprint("T", step)}); err != nil {
						t.Fatal(err)
					}
				case n < 7:
					i := r.IntN(len(live))
					if err := l.srv.Delete("ContactCollection", live[i]); err != nil {
						t.Fatal(err)
					}
					live = append(live[:i], live[i+1:]...)
				case n < 9:
					l.clock.Add([]time.Duration{0, time.Second, 30 * time.Second, 2 * time.Minute, 6 * time.Minute}[r.IntN(5)])
				default:
					sync(r.IntN(4) != 0)
				}
			}
			l.clock.Add(10 * time.Minute)
			sync(true)
			l.clock.Add(10 * time.Minute)
			sync(true)
			want := map[string]string{}
			if err := l.client.List(t.Context(), "ContactCollection", nil, func(e Entity) error {
				want[e.ID()] = e.ETag()
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			for id, v := range want {
				if view[id] != v {
					t.Errorf("contact %s: view has version %q, C4C %q (lost change)", id, view[id], v)
				}
			}
			for id := range view {
				if _, ok := want[id]; !ok {
					t.Errorf("contact %s deleted in C4C, still in the view (lost deletion)", id)
				}
			}
			if dups != 0 {
				t.Errorf("%d records reported again at the same version", dups)
			}
			t.Logf("%d contacts, %d killed sessions", len(want), kills)
		})
	}
}
