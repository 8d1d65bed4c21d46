package salesforce

import (
	"flag"
	"math"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/fakesalesforce"
	"github.com/crmsync/crmsync/shared/item"
)

// benchN is how many records the write/read benchmark moves; -salesforce.n
// or CRMSYNC_BENCH_N change it (default 10,000).
var benchN = flag.Int("salesforce.n", envInt("CRMSYNC_BENCH_N", 10000), "records per BenchmarkWriteReadChanged iteration")

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// BenchmarkWriteReadChanged updates N contacts through the side and reads the
// changes back, against the local Salesforce, and reports API calls next to
// their lower bounds: ⌈N/200⌉ collection writes and ⌈N/batch⌉ query batches
// (plus getUpdated and getDeleted), with time and bytes per record.
func BenchmarkWriteReadChanged(b *testing.B) {
	for _, batch := range []int{2000, 200} {
		b.Run("batch="+strconv.Itoa(batch), func(b *testing.B) { benchWriteRead(b, *benchN, batch) })
	}
}

func benchWriteRead(b *testing.B, n, batch int) {
	var writeCalls, readCalls, wire, allocs float64
	var elapsed time.Duration
	for b.Loop() {
		b.StopTimer()
		l := newLocal(b, fakesalesforce.Options{MaxBatchSize: batch, DailyLimit: 1 << 30}, Options{MaxShare: 1})
		ids := make([]string, n)
		for i := range ids {
			id, err := l.srv.Insert(l.user, "Contact", map[string]any{"LastName": "Bench" + strconv.Itoa(i), "Email": "b" + strconv.Itoa(i) + "@example.com"})
			if err != nil {
				b.Fatal(err)
			}
			ids[i] = id
		}
		sc := item.Scope{Kind: item.Contact}
		ch, err := l.side.Changes(b.Context(), sc, "")
		if err != nil || len(ch.Records) != n {
			b.Fatalf("first read: %d records, %v", len(ch.Records), err)
		}
		l.clock.Add(5 * time.Minute)
		recs := make([]item.Record, n)
		for i, id := range ids {
			recs[i] = item.Record{Kind: item.Contact, ID: id, Fields: map[string]string{item.Title: "Changed " + strconv.Itoa(i)}}
		}
		l.srv.ResetCalls()
		sent0, recv0 := l.client.Bytes()
		var ms0, ms1 runtime.MemStats
		runtime.ReadMemStats(&ms0)
		start := time.Now()
		b.StartTimer()

		res, err := l.side.Update(b.Context(), item.Contact, recs)
		if err != nil {
			b.Fatal(err)
		}
		l.clock.Add(5 * time.Minute)
		ch, err = l.side.Changes(b.Context(), sc, ch.Cursor)

		b.StopTimer()
		elapsed += time.Since(start)
		runtime.ReadMemStats(&ms1)
		if err != nil || len(ch.Records) != n || ch.Full {
			b.Fatalf("read back: %d records (full %v), %v", len(ch.Records), ch.Full, err)
		}
		for _, r := range res {
			if r.Err != nil {
				b.Fatal(r.Err)
			}
		}
		calls := l.srv.Calls()
		writeCalls += float64(calls["collections"])
		readCalls += float64(calls["query"] + calls["updated"] + calls["deleted"])
		sent1, recv1 := l.client.Bytes()
		wire += float64(sent1 - sent0 + recv1 - recv0)
		allocs += float64(ms1.TotalAlloc - ms0.TotalAlloc)
		b.StartTimer()
	}
	iters := float64(b.N)
	b.ReportMetric(writeCalls/iters, "write-calls/op")
	b.ReportMetric(math.Ceil(float64(n)/200), "write-lower-bound/op")
	b.ReportMetric(readCalls/iters, "read-calls/op")
	b.ReportMetric(math.Ceil(float64(n)/float64(batch)), "read-lower-bound/op")
	b.ReportMetric(float64(elapsed.Nanoseconds())/iters/float64(n), "ns/record")
	b.ReportMetric(wire/iters/float64(n), "wire-B/record")
	b.ReportMetric(allocs/iters/float64(n), "alloc-B/record")
}
