package c4c

import (
	"strconv"
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/fakec4c"
	"github.com/crmsync/crmsync/shared/item"
)

// seeded is a local C4C holding n contacts, read once by the side.
func seeded(tb testing.TB, n int) (*local, string) {
	tb.Helper()
	l := newLocal(tb, fakec4c.Options{})
	for i := range n {
		if _, err := l.srv.Insert("ContactCollection", map[string]any{"FirstName": "F", "LastName": "L" + strconv.Itoa(i), "Email": "p" + strconv.Itoa(i) + "@example.com", "ContactOwnerID": syncOwner}); err != nil {
			tb.Fatal(err)
		}
	}
	ch, err := l.side.Changes(tb.Context(), item.Scope{Kind: item.Contact}, "")
	if err != nil || len(ch.Records) != n {
		tb.Fatalf("first read: %d records, %v", len(ch.Records), err)
	}
	return l, ch.Cursor
}

// calls counts the requests of one Changes.
func calls(tb testing.TB, l *local, cursor string) (int64, item.Changes) {
	tb.Helper()
	before := l.client.Calls()
	ch, err := l.side.Changes(tb.Context(), item.Scope{Kind: item.Contact}, cursor)
	if err != nil {
		tb.Fatal(err)
	}
	return l.client.Calls() - before, ch
}

// TestCallBounds holds the call counts the benchmarks report: a first read
// of 10,000 contacts takes 10 calls (the 1000-row page bound), an idle
// change read 1 once the overlap after a change has passed, an idle read
// with reconciliation 1 + 10 (ObjectIDs only).
func TestCallBounds(t *testing.T) {
	l := newLocal(t, fakec4c.Options{})
	for i := range 10000 {
		if _, err := l.srv.Insert("ContactCollection", map[string]any{"LastName": "L" + strconv.Itoa(i), "ContactOwnerID": syncOwner}); err != nil {
			t.Fatal(err)
		}
	}
	n, ch := calls(t, l, "")
	if n != 10 || len(ch.Records) != 10000 {
		t.Errorf("first read: %d calls, %d records; want 10 calls (1000 a page)", n, len(ch.Records))
	}
	l.clock.Add(3 * time.Minute)
	n, ch = calls(t, l, ch.Cursor)
	if n != 10 || len(ch.Records)+len(ch.Removed) != 0 {
		t.Errorf("read within the overlap of a bulk change: %d calls, %d records, %d removed; want 10 (the overlap read again), 0, 0", n, len(ch.Records), len(ch.Removed))
	}
	l.clock.Add(time.Minute)
	n, ch = calls(t, l, ch.Cursor)
	if n != 1 || len(ch.Records)+len(ch.Removed) != 0 {
		t.Errorf("idle read: %d calls, %d records, %d removed; want 1, 0, 0", n, len(ch.Records), len(ch.Removed))
	}
	l.clock.Add(10 * time.Minute)
	n, ch = calls(t, l, ch.Cursor)
	if n != 11 || len(ch.Removed) != 0 {
		t.Errorf("idle read with reconciliation: %d calls, %d removed; want 11, 0", n, len(ch.Removed))
	}
	res, err := l.side.Create(t.Context(), item.Contact, make1000(), nil)
	if err != nil || res[999].ID == "" {
		t.Fatalf("Create: %v", err)
	}
	if got := l.srv.Calls("POST", "$batch"); got != 10 {
		t.Errorf("1000 creates took %d $batch calls, want 10 (%d a batch)", got, MaxBatch)
	}
}

func make1000() []item.Record {
	recs := make([]item.Record, 1000)
	for i := range recs {
		recs[i] = item.Record{Kind: item.Contact, Fields: map[string]string{item.LastName: "N" + strconv.Itoa(i)}}
	}
	return recs
}

// BenchmarkInitialRead10000Contacts is a first sync's read of 10,000
// contacts (10 pages of the server's fixed 1000).
func BenchmarkInitialRead10000Contacts(b *testing.B) {
	l, _ := seeded(b, 10000)
	var n int64
	var ch item.Changes
	for b.Loop() {
		n, ch = calls(b, l, "")
	}
	b.ReportMetric(float64(n), "calls/op")
	b.ReportMetric(float64(len(ch.Cursor)), "cursor-bytes")
}

// BenchmarkIdleSession is a change read with nothing changed and no
// reconciliation due.
func BenchmarkIdleSession(b *testing.B) {
	l, cursor := seeded(b, 10000)
	l.clock.Add(3 * time.Minute)
	_, ch := calls(b, l, cursor) // past the overlap of the seeding
	cursor = ch.Cursor
	l.clock.Add(time.Minute)
	var n int64
	for b.Loop() {
		n, _ = calls(b, l, cursor)
	}
	b.ReportMetric(float64(n), "calls/op")
}

// BenchmarkReconcile10000 is a change read with the reconciliation of
// 10,000 ObjectIDs due: 1 change read and 10 pages of ObjectIDs.
func BenchmarkReconcile10000(b *testing.B) {
	l, cursor := seeded(b, 10000)
	l.clock.Add(3 * time.Minute)
	_, ch := calls(b, l, cursor) // past the overlap of the seeding
	cursor = ch.Cursor
	l.clock.Add(time.Hour)
	var n int64
	for b.Loop() {
		n, _ = calls(b, l, cursor)
	}
	b.ReportMetric(float64(n), "calls/op")
}

// BenchmarkCreate1000Contacts writes 1000 contacts in $batch requests of
// MaxBatch changesets.
func BenchmarkCreate1000Contacts(b *testing.B) {
	l := newLocal(b, fakec4c.Options{})
	recs := make1000()
	var n int64
	for b.Loop() {
		before := l.client.Calls()
		if _, err := l.side.Create(b.Context(), item.Contact, recs, nil); err != nil {
			b.Fatal(err)
		}
		n = l.client.Calls() - before
	}
	b.ReportMetric(float64(n), "calls/op")
}
