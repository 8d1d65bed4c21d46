package msgraph

import (
	"fmt"
	"net/http"
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

// BenchmarkShareWithPartialEntries: 100 e-mails arrive in the share folder
// while 50 earlier, unshared ones come back as lightweight entries that need
// a full read (the local Graph widened to report category changes that
// way). It reports the Graph requests of the round and checks the full reads
// cost ⌈full reads/20⌉ $batch requests: 50 reads → 3.
func BenchmarkShareWithPartialEntries(b *testing.B) {
	const fresh, partial = 100, 50
	var requests, batches, reads int
	for b.Loop() {
		b.StopTimer()
		fg, side, _ := localGraph(b, fakegraph.Options{LightweightProperties: []string{"isRead", "flag", "categories"}})
		ctx := b.Context()
		scope := item.Scope{Kind: item.SharedEmail}
		start, err := side.SharedEmails(ctx, scope, "")
		if err != nil {
			b.Fatal(err)
		}
		var earlier []string
		for i := range partial {
			earlier = append(earlier, benchEmail(b, side, fmt.Sprint("Earlier ", i)))
		}
		mid, err := side.SharedEmails(ctx, scope, start.Cursor)
		if err != nil || len(mid.Records) != partial {
			b.Fatalf("earlier round: %d records, %v", len(mid.Records), err)
		}
		for _, id := range earlier {
			if err := side.c.sendJSON(ctx, http.MethodPatch, side.c.mailbox()+"/messages/"+id, map[string]any{"categories": []string{"Blue"}}, nil); err != nil {
				b.Fatal(err)
			}
		}
		for i := range fresh {
			benchEmail(b, side, fmt.Sprint("New ", i))
		}
		req0, parts0 := fg.Requests()
		b.StartTimer()
		ch, err := side.SharedEmails(ctx, scope, mid.Cursor)
		b.StopTimer()
		if err != nil || len(ch.Records) != fresh+partial {
			b.Fatalf("%d records, %v; want %d", len(ch.Records), err, fresh+partial)
		}
		req1, parts1 := fg.Requests()
		// Every request but the batches is a delta page or the category
		// query; the batch parts are the full reads.
		n, p := req1-req0, parts1-parts0
		bs := (p + BatchSize - 1) / BatchSize
		if p != partial {
			b.Fatalf("%d full reads, want %d (one per partial entry)", p, partial)
		}
		requests, batches, reads = requests+n, batches+bs, reads+p
		b.StartTimer()
	}
	if bound := (reads/b.N + BatchSize - 1) / BatchSize; batches/b.N > bound {
		b.Errorf("%d batch requests for %d full reads, bound ⌈%d/20⌉ = %d", batches/b.N, reads/b.N, reads/b.N, bound)
	}
	b.ReportMetric(float64(requests)/float64(b.N), "requests/op")
	b.ReportMetric(float64(batches)/float64(b.N), "batches/op")
	b.ReportMetric(float64(reads)/float64(b.N), "fullreads/op")
}

// benchEmail puts a message with a sender and a recipient in the share folder.
func benchEmail(b *testing.B, side *Side, subject string) string {
	b.Helper()
	fid, err := side.shareFolder(b.Context(), emptyScope)
	if err != nil {
		b.Fatal(err)
	}
	body := map[string]any{"subject": subject, "from": wireRecipient{EmailAddress: wireEmail{Address: "ann@acme.test"}},
		"toRecipients": []wireRecipient{{EmailAddress: wireEmail{Address: "bob@acme.test"}}}}
	var got struct {
		ID string `json:"id"`
	}
	if err := side.c.sendJSON(b.Context(), http.MethodPost, side.c.mailbox()+"/mailFolders/"+fid+"/messages", body, &got); err != nil {
		b.Fatal(err)
	}
	return got.ID
}
