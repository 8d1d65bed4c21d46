package sides_test

import (
	"flag"
	"fmt"
	"math"
	"runtime"
	"runtime/metrics"
	"strings"
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

var sidesLarge = flag.Bool("sides.large", false, "BenchmarkInitialSyncGrowth also at 50,000 contacts")

// BenchmarkInitialSyncGrowth runs the first session of a user with N
// Salesforce contacts (1,000 and 10,000; 50,000 with -sides.large) and an
// empty mailbox, and reports wall time, table transactions and peak heap per
// record, with the growth exponent of the wall time over N (1 = linear).
func BenchmarkInitialSyncGrowth(b *testing.B) {
	sizes := []int{1_000, 10_000}
	if *sidesLarge {
		sizes = append(sizes, 50_000)
	}
	secs := map[int]float64{}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("contacts=%d", n), func(b *testing.B) {
			var total time.Duration
			for range b.N {
				b.StopTimer()
				w := newWorld(b)
				w.logs = &strings.Builder{}
				w.seedSalesforce(n, 0, 0)
				peak := watchHeap()
				b.StartTimer()
				start := time.Now()
				rep := w.session()
				total += time.Since(start)
				b.StopTimer()
				reportInitialBounds(b, peak(), rep.TableWrites, n)
				if got := rep.Counts["contact|to-mailbox|create"]; got != n {
					b.Fatalf("created %d contacts in the mailbox, want %d (%v)", got, n, rep.Counts)
				}
			}
			secs[n] = total.Seconds() / float64(b.N)
			b.ReportMetric(secs[n], "wall-s")
			if n != sizes[0] {
				b.ReportMetric(math.Log(secs[n]/secs[sizes[0]])/math.Log(float64(n)/float64(sizes[0])), "growth-exponent")
			}
		})
	}
}
