package msgraph

import (
	"fmt"
	"testing"

	"github.com/crmsync/crmsync/local/fakegraph"
	"github.com/crmsync/crmsync/shared/item"
)

// BenchmarkCreateContacts writes 1,000 contacts to the local Graph and
// reports HTTP requests per write of 1,000 (⌈1000/20⌉ = 50 batches plus the
// folder lookup) and records per request.
func BenchmarkCreateContacts(b *testing.B) {
	const n = 1000
	recs := make([]item.Record, n)
	for i := range recs {
		recs[i] = item.Record{Fields: map[string]string{item.FirstName: "F", item.LastName: fmt.Sprint("L", i), item.Email: fmt.Sprintf("p%d@example.com", i)}}
	}
	var calls int64
	for b.Loop() {
		b.StopTimer()
		_, side, _ := localGraph(b, fakegraph.Options{})
		b.StartTimer()
		before := side.c.Requests()
		if _, err := side.Create(b.Context(), item.Contact, recs, make([]string, n)); err != nil {
			b.Fatal(err)
		}
		calls += side.c.Requests() - before
	}
	b.ReportMetric(float64(calls)/float64(b.N), "calls/op")
	b.ReportMetric(float64(n*b.N)/float64(calls), "records/call")
}

// BenchmarkIdleCheck measures an incremental check with no changes over
// contacts, tasks and events from a fresh Side: one delta request each.
func BenchmarkIdleCheck(b *testing.B) {
	_, side, _ := localGraph(b, fakegraph.Options{})
	scopes := []item.Scope{{Kind: item.Contact}, {Kind: item.Task}, eventWindow()}
	cursors := make([]string, len(scopes))
	for i, sc := range scopes {
		ch, err := side.Changes(b.Context(), sc, "")
		if err != nil {
			b.Fatal(err)
		}
		cursors[i] = ch.Cursor
	}
	var calls int64
	for b.Loop() {
		fresh := NewSide(side.c, SideOptions{})
		before := side.c.Requests()
		for i, sc := range scopes {
			ch, err := fresh.Changes(b.Context(), sc, cursors[i])
			if err != nil {
				b.Fatal(err)
			}
			cursors[i] = ch.Cursor
		}
		calls += side.c.Requests() - before
	}
	b.ReportMetric(float64(calls)/float64(b.N), "calls/op")
	b.ReportMetric(float64(calls)/float64(b.N)/float64(len(scopes)), "calls/resource")
}
