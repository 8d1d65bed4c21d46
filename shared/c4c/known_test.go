package c4c

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/fakec4c"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/tablestore"
)

func embedded(t testing.TB) *tablestore.Embedded {
	t.Helper()
	tables, err := tablestore.OpenEmbedded(filepath.Join(t.TempDir(), "tables.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tables.Close() })
	return tables
}

func TestTableKnownKeepsGenerations(t *testing.T) {
	k := TableKnown{Tables: embedded(t), User: "u1"}
	set := Known{"00163E03A0701ED28A8644CF8D83AE76": 7, "not-hex-id": 9}
	for i := range 10000 {
		set[fmt.Sprintf("00163E03A0701ED2%016X", i)] = uint64(i)
	}
	g1, err := k.Save(t.Context(), item.Contact, set, "")
	if err != nil {
		t.Fatal(err)
	}
	got, err := k.Load(t.Context(), item.Contact, g1)
	if err != nil || len(got) != len(set) || got["not-hex-id"] != 9 || got["00163E03A0701ED28A8644CF8D83AE76"] != 7 || got["00163E03A0701ED2000000000000270F"] != 9999 {
		t.Fatalf("Load = %d entries, %v", len(got), err)
	}
	g2, _ := k.Save(t.Context(), item.Contact, Known{}, g1)
	g3, _ := k.Save(t.Context(), item.Contact, Known{"X": 1}, g2)
	if _, err := k.Load(t.Context(), item.Contact, g1); err == nil {
		t.Error("generation two saves old is still there")
	}
	if e, err := k.Load(t.Context(), item.Contact, g2); err != nil || len(e) != 0 {
		t.Errorf("kept (empty) generation: %v, %v", e, err)
	}
	if e, err := k.Load(t.Context(), item.Contact, g3); err != nil || e["X"] != 1 {
		t.Errorf("newest generation: %v, %v", e, err)
	}
	if _, err := k.Load(t.Context(), item.Task, g3); err == nil {
		t.Error("another kind's generation read")
	}
}

// A session that dies after Changes but before storing the new cursor runs
// again with the old one: the deletion is reported again, not lost.
func TestDeletionSurvivesALostCursor(t *testing.T) {
	l := newLocal(t, fakec4c.Options{})
	l.side = NewSide(l.client, SideOptions{Now: l.clock.Now, Known: TableKnown{Tables: embedded(t), User: "u1"}})
	h := fakeHarness{l}
	id := h.CreateDirect(t, item.Contact, map[string]string{item.LastName: "Doomed"})
	sc := item.Scope{Kind: item.Contact}
	ch, err := l.side.Changes(t.Context(), sc, "")
	if err != nil {
		t.Fatal(err)
	}
	stored := ch.Cursor
	h.DeleteDirect(t, item.Contact, id)
	l.clock.Add(10 * time.Minute)
	for run := range 2 {
		ch, err = l.side.Changes(t.Context(), sc, stored)
		if err != nil {
			t.Fatal(err)
		}
		if len(ch.Removed) != 1 || ch.Removed[0].ID != id || ch.Removed[0].Reason != item.Deleted {
			t.Errorf("run %d with the stored cursor: removed %+v, want %s deleted", run, ch.Removed, id)
		}
	}
	ch, err = l.side.Changes(t.Context(), sc, ch.Cursor)
	if err != nil || len(ch.Removed) != 0 {
		t.Errorf("after the new cursor is stored: removed %+v, %v; want none", ch.Removed, err)
	}
}
