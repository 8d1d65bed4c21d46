package sides_test

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/item"
)

var (
	initialContacts = flag.Int("sides.initial.contacts", 10_000, "contacts in BenchmarkInitialSync's world (the issue's heap figure is at 50000)")
	fakesInProcess  = flag.Bool("sides.fakes.inprocess", false, "initial-sync benchmarks run the local Salesforce and Graph in the benchmark's process, so the peak heap counts them too")
	heapProfile     = flag.String("sides.heapprofile", "", "write a heap profile (in-use as of the last GC) to this file each time the initial sync's heap reaches a new peak")
)

// initialWorld is the world of the initial-sync benchmarks: the local
// servers in a child process (newWorldApart), seeded with the records, so
// that the peak heap measured here is what crmsync itself needs; with
// -sides.fakes.inprocess, in this process as every test has them.
func initialWorld(b *testing.B, contacts, tasks, events int) *world {
	if *fakesInProcess {
		w := newWorld(b)
		w.seedSalesforce(contacts, tasks, events)
		return w
	}
	return newWorldApart(b, contacts, tasks, events)
}

// watchHeap samples the live heap until the returned function is called,
// which returns the peak above the heap live at the start (after a GC).
// It counts the whole process: with the local servers in a child process
// (initialWorld), that is the session's runner, planner, vendor clients and
// table store; with -sides.fakes.inprocess, the local Salesforce and Graph,
// which hold every record the session reads and writes, are in it too.
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
				if now := read(); now > peak {
					if *heapProfile != "" && now > peak+peak/20 {
						writeHeapProfile(*heapProfile)
					}
					peak = now
				}
			}
		}
	}()
	return func() uint64 {
		close(stop)
		return <-done
	}
}

// writeHeapProfile writes the heap profile to path (for pprof
// -sample_index=inuse_space: what was live at the last collection).
func writeHeapProfile(path string) {
	f, err := os.Create(path)
	if err != nil {
		return
	}
	defer f.Close()
	_ = pprof.Lookup("heap").WriteTo(f, 0)
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
				w := initialWorld(b, n, 0, 0)
				w.logs = &strings.Builder{}
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

// BenchmarkInitialSyncIntoMailbox is BenchmarkInitialSyncGrowth at 10,000
// contacts (50,000 with -sides.large) into a mailbox that already holds a
// tenth of them (the same names and e-mails: they pair, not duplicate) and
// 200 contacts of its own (created in Salesforce): a first sync that matches
// as it streams the CRM listing, with the same metrics.
func BenchmarkInitialSyncIntoMailbox(b *testing.B) {
	n := 10_000
	if *sidesLarge {
		n = 50_000
	}
	matched, own := n/10, 200
	for range b.N {
		b.StopTimer()
		w := initialWorld(b, n, 0, 0)
		w.logs = &strings.Builder{}
		w.seedMailboxContacts(matched, own)
		peak := watchHeap()
		b.StartTimer()
		start := time.Now()
		rep := w.session()
		elapsed := time.Since(start)
		b.StopTimer()
		reportInitialBounds(b, peak(), rep.TableWrites, n+own)
		b.ReportMetric(elapsed.Seconds(), "wall-s")
		if got := rep.Counts["contact|to-mailbox|create"]; got != n-matched {
			b.Fatalf("created %d contacts in the mailbox, want %d (%v)", got, n-matched, rep.Counts)
		}
		if got := rep.Counts["contact|to-crm|create"]; got != own {
			b.Fatalf("created %d contacts in Salesforce, want the mailbox's %d (%v)", got, own, rep.Counts)
		}
	}
}

// seedMailboxContacts creates, through Graph as Outlook would, the first
// matched of seedSalesforce's contacts and own contacts of the mailbox's own.
func (w *world) seedMailboxContacts(matched, own int) {
	w.t.Helper()
	var recs []item.Record
	for j := range matched {
		recs = append(recs, item.Record{Kind: item.Contact, Fields: map[string]string{item.FirstName: "C", item.LastName: fmt.Sprint(j),
			item.Email: fmt.Sprintf("c%d@acme.example", j), item.Title: "Buyer"}})
	}
	for j := range own {
		recs = append(recs, item.Record{Kind: item.Contact, Fields: map[string]string{item.FirstName: "M", item.LastName: fmt.Sprint(j),
			item.Email: fmt.Sprintf("m%d@globex.example", j)}})
	}
	res, err := w.mailbox.Create(context.Background(), item.Contact, recs, make([]string, len(recs)))
	if err != nil {
		w.t.Fatal(err)
	}
	for _, r := range res {
		if r.Err != nil {
			w.t.Fatal(r.Err)
		}
	}
}
