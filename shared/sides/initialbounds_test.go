package sides_test

import (
	"flag"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"
)

var initialContacts = flag.Int("sides.initial.contacts", 10_000, "contacts in BenchmarkInitialSync's world (the issue's heap figure is at 50000)")

// watchHeap samples the live heap until the returned function is called,
// which returns the peak above the heap live at the start (after a GC).
// It counts the whole process: the local Salesforce and Graph, which hold
// every record the session reads and writes, are in it too.
func watchHeap() func() uint64 {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	base := read()
	stop, done := make(chan struct{}), make(chan uint64)
	go func() {
		peak := base
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				done <- max(peak, read()) - base
				return
			case <-t.C:
				peak = max(peak, read())
			}
		}
	}()
	return func() uint64 {
		close(stop)
		return <-done
	}
}

// reportInitialBounds reports the initial sync's table transactions against
// deliverable 2's bound, 2 × ⌈links/100⌉ per kind, and its peak heap per
// record against 3 KB.
func reportInitialBounds(b *testing.B, peak uint64, transactions int, kinds ...int) {
	bound, records := 0, 0
	for _, n := range kinds {
		bound += 2 * ((n + 99) / 100)
		records += n
	}
	b.ReportMetric(float64(transactions), "transactions/op")
	b.ReportMetric(float64(bound), "transactions-bound/op")
	b.ReportMetric(float64(transactions)/float64(bound), "transactions/bound")
	b.ReportMetric(float64(peak)/float64(records), "peak-heap-B/record")
	b.ReportMetric(3000, "peak-heap-bound-B/record")
}
