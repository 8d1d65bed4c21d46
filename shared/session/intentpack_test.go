package session_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/reconcile"
	"github.com/crmsync/crmsync/shared/session"
	"github.com/crmsync/crmsync/shared/tablestore"
)

func someIntents(n int, t0 time.Time) []session.Intent {
	var out []session.Intent
	for i := range n {
		out = append(out, session.Intent{Marker: fmt.Sprintf("crmsync-m%04d", i), Kind: item.Contact, Target: reconcile.Mailbox,
			Since: t0.Add(time.Duration(i) * time.Millisecond),
			Link: reconcile.Link{Kind: item.Contact, CRMID: fmt.Sprintf("003%04d", i), CRMVersion: "v1",
				Fingerprints: map[string]string{item.FirstName: "fp-first-0123456789abcdef", item.LastName: "fp-last-0123456789abcdef", item.Email: "fp-mail-0123456789abcdef"}}})
	}
	return out
}

func pendingMarkers(t *testing.T, store tablestore.Store) []string {
	t.Helper()
	ins, err := session.NewState(store, "u1").PendingIntents(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, in := range ins {
		out = append(out, in.Marker)
	}
	slices.Sort(out)
	return out
}

// TestIntentsPacked: 2,000 intents are recorded and cleared in a few
// transactions (they took 20 each way, one per 100), read back whole, and
// clearing part of a packed row leaves the rest pending. Rows of the
// earlier format (one intent per row) are still read and cleared.
func TestIntentsPacked(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	t0 := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	if _, err := f.store.Upsert(ctx, session.IntentsTable, tablestore.Entity{PartitionKey: "u1", RowKey: "crmsync-old",
		Properties: map[string]any{"Kind": "contact", "Target": "mailbox", "Since": t0, "CRMID": "003old", "Fingerprints": "{}"}}); err != nil {
		t.Fatal(err)
	}
	st := session.NewState(f.store, "u1")
	in := someIntents(2000, t0)
	if err := st.RecordIntents(ctx, in); err != nil {
		t.Fatal(err)
	}
	if w := st.Writes(); w > 2 {
		t.Errorf("2,000 intents recorded in %d transactions, want at most 2", w)
	}
	back, err := session.NewState(f.store, "u1").PendingIntents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]session.Intent{}
	for _, b := range back {
		got[b.Marker] = b
	}
	for _, w := range in {
		g := got[w.Marker]
		if !g.Since.Equal(w.Since) || g.Kind != w.Kind || g.Target != w.Target || g.Link.CRMID != w.Link.CRMID ||
			g.Link.CRMVersion != w.Link.CRMVersion || g.Link.Fingerprints[item.Email] != w.Link.Fingerprints[item.Email] {
			t.Fatalf("intent %s read back as %+v, want %+v", w.Marker, g, w)
		}
	}
	if _, ok := got["crmsync-old"]; !ok || len(got) != 2001 {
		t.Fatalf("%d intents read back, want 2,001 with the earlier format's", len(got))
	}
	// Clear every other intent, then the rest and the old one.
	var odd, even []string
	for i, w := range in {
		if i%2 == 1 {
			odd = append(odd, w.Marker)
		} else {
			even = append(even, w.Marker)
		}
	}
	before := st.Writes()
	if err := st.ClearIntents(ctx, odd); err != nil {
		t.Fatal(err)
	}
	if w := st.Writes() - before; w > 2 {
		t.Errorf("1,000 intents cleared in %d transactions, want at most 2", w)
	}
	slices.Sort(even)
	left := pendingMarkers(t, f.store)
	if !slices.Equal(left, append(slices.Clone(even), "crmsync-old")) && !slices.Equal(left, append([]string{"crmsync-old"}, even...)) {
		t.Fatalf("%d pending after clearing half, want the other 1,000 and the old one", len(left))
	}
	if err := st.ClearIntents(ctx, append(even, "crmsync-old")); err != nil {
		t.Fatal(err)
	}
	if left := pendingMarkers(t, f.store); len(left) != 0 {
		t.Fatalf("%d pending after clearing all", len(left))
	}
}

// TestPackedIntentsClearedByTwoStates: a State whose copy of a packed row is
// stale (another cleared part of it meanwhile) does not write the other's
// cleared intents back: its rewrite is conditional, fails, and is redone
// from the row read again.
func TestPackedIntentsClearedByTwoStates(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	in := someIntents(10, time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC))
	if err := session.NewState(f.store, "u1").RecordIntents(ctx, in); err != nil {
		t.Fatal(err)
	}
	a, b := session.NewState(f.store, "u1"), session.NewState(f.store, "u1")
	for _, st := range []*session.State{a, b} {
		if _, err := st.PendingIntents(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.ClearIntents(ctx, []string{in[0].Marker, in[1].Marker}); err != nil {
		t.Fatal(err)
	}
	if err := a.ClearIntents(ctx, []string{in[2].Marker}); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, w := range in[3:] {
		want = append(want, w.Marker)
	}
	if got := pendingMarkers(t, f.store); !slices.Equal(got, want) {
		t.Fatalf("pending %v, want %v", got, want)
	}
}
