package schedule

import (
	"context"
	"flag"
	"fmt"
	"math"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/azurite"
	"github.com/crmsync/crmsync/shared/queue"
	"github.com/crmsync/crmsync/shared/tablestore"
)

func TestMain(m *testing.M) { azurite.Main(m) }

var benchLarge = flag.Bool("schedule.large", false, "BenchmarkTickGrowth also ticks 1,000,000 users (about a minute of setup)")

// dueShare is the share of users due in a benchmark tick: 100,000 paid users
// on a 5-minute interval make 20,000 due a minute.
const dueShare = 5

// recordingQueue counts the session requests per user on their way to a real
// queue, so a benchmark can check that nobody was sent twice without
// draining tens of thousands of messages.
type recordingQueue struct {
	next  Enqueuer // the queue; its batch call is used when it has one
	delay time.Duration
	mu    sync.Mutex
	per   map[string]int
}

func newRecordingQueue(next Enqueuer) *recordingQueue {
	return &recordingQueue{next: next, per: map[string]int{}}
}

func (r *recordingQueue) record(body []byte) error {
	req, err := DecodeRequest(body)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.per[req.User]++
	r.mu.Unlock()
	return nil
}

func (r *recordingQueue) Enqueue(ctx context.Context, name string, body []byte, delay time.Duration) error {
	if r.delay > 0 {
		time.Sleep(r.delay)
	}
	if err := r.next.Enqueue(ctx, name, body, delay); err != nil {
		return err
	}
	return r.record(body)
}

// batchingQueue adds the batch call of an embedded queue to a recordingQueue.
type batchingQueue struct{ *recordingQueue }

func (r batchingQueue) EnqueueBatch(ctx context.Context, name string, bodies [][]byte, delay time.Duration) error {
	if err := r.next.(BatchEnqueuer).EnqueueBatch(ctx, name, bodies, delay); err != nil {
		return err
	}
	for _, b := range bodies {
		if err := r.record(b); err != nil {
			return err
		}
	}
	return nil
}

// slowStore adds a fixed latency to every table call: the embedded store made
// to answer like a remote one.
type slowStore struct {
	tablestore.Store
	get, query, batch, write time.Duration
}

func (s *slowStore) Get(ctx context.Context, t, pk, rk string) (tablestore.Entity, error) {
	time.Sleep(s.get)
	return s.Store.Get(ctx, t, pk, rk)
}
func (s *slowStore) Query(ctx context.Context, t string, q tablestore.Query) (tablestore.Page, error) {
	time.Sleep(s.query)
	return s.Store.Query(ctx, t, q)
}
func (s *slowStore) Batch(ctx context.Context, t string, ops []tablestore.Op) ([]string, error) {
	time.Sleep(s.batch)
	return s.Store.Batch(ctx, t, ops)
}
func (s *slowStore) Insert(ctx context.Context, t string, e tablestore.Entity) (string, error) {
	time.Sleep(s.write)
	return s.Store.Insert(ctx, t, e)
}
func (s *slowStore) Update(ctx context.Context, t string, e tablestore.Entity, ifMatch string) (string, error) {
	time.Sleep(s.write)
	return s.Store.Update(ctx, t, e, ifMatch)
}

// tickWorld is an embedded store with users enrolled, every dueShare-th due at t0.
type tickWorld struct {
	store *tablestore.Embedded
	queue *queue.Embedded
	due   []string
}

func newTickWorld(b *testing.B, users int) *tickWorld {
	b.Helper()
	ctx := context.Background()
	dir := b.TempDir()
	st, err := tablestore.OpenEmbedded(filepath.Join(dir, "tables.sqlite"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	q, err := queue.OpenEmbedded(filepath.Join(dir, "queues.sqlite"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { q.Close() })
	w := &tickWorld{store: st, queue: q}
	// Enrol in bulk through full transactions: the benchmark is about the tick.
	byShard := map[string][]tablestore.Op{}
	flush := func(pk string) {
		if _, err := st.Batch(ctx, Table, byShard[pk]); err != nil {
			b.Fatal(err)
		}
		byShard[pk] = byShard[pk][:0]
	}
	for i := range users {
		u := fmt.Sprintf("user-%07d", i)
		en := Entry{User: u, Plan: "paid", Next: t0.Add(time.Hour)}
		if i%dueShare == 0 {
			en.Next = t0
			w.due = append(w.due, u)
		}
		pk := shardOf(u)
		byShard[pk] = append(byShard[pk], tablestore.Op{Kind: tablestore.OpInsert, Entity: en.entity()},
			tablestore.Op{Kind: tablestore.OpInsert, Entity: indexRowOf(en)})
		if len(byShard[pk]) >= 100 {
			flush(pk)
		}
	}
	for pk, ops := range byShard {
		if len(ops) > 0 {
			flush(pk)
		}
	}
	return w
}

// tickAtOnce ticks instances schedulers over store at t0 at the same time and
// returns their reports summed.
func tickAtOnce(b *testing.B, instances int, store tablestore.Store, q Enqueuer) TickReport {
	b.Helper()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		rep  TickReport
		errs []error
	)
	for i := range instances {
		s := New(store, q)
		s.Owner = fmt.Sprintf("instance-%d", i)
		wg.Go(func() {
			r, err := s.Tick(context.Background(), t0)
			mu.Lock()
			rep.add(r)
			errs = append(errs, err)
			mu.Unlock()
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	return rep
}

// checkSent fails the benchmark unless every due user was sent exactly once,
// and reports the figures.
func checkSent(b *testing.B, w *tickWorld, rec *recordingQueue, rep TickReport) {
	b.Helper()
	missed, doubled := 0, 0
	for _, u := range w.due {
		switch n := rec.per[u]; {
		case n == 0:
			missed++
		case n > 1:
			doubled++
		}
	}
	if missed > 0 || doubled > 0 || len(rec.per) != len(w.due) {
		b.Fatalf("%d due: %d missed, %d sent twice, %d users sent in all", len(w.due), missed, doubled, len(rec.per))
	}
	b.ReportMetric(float64(rep.Enqueued), "enqueued/tick")
	b.ReportMetric(float64(doubled), "double-enqueues")
	b.ReportMetric(float64(rep.Reads), "table-reads/tick")
	b.ReportMetric(float64(rep.Queries), "table-queries/tick")
	b.ReportMetric(float64(rep.Writes), "table-writes/tick")
	b.ReportMetric(float64(rep.Sends), "queue-calls/tick")
}

// BenchmarkTick100kUsers measures one scheduler tick over 100,000 enrolled
// users of whom 20,000 are due, with two instances ticking at the same time on
// the embedded store and queue; it fails unless each due user is enqueued
// exactly once, and reports the table and queue calls of both instances.
func BenchmarkTick100kUsers(b *testing.B) {
	const users = 100_000
	for range b.N {
		b.StopTimer()
		w := newTickWorld(b, users)
		rec := newRecordingQueue(w.queue)
		b.StartTimer()
		rep := tickAtOnce(b, 2, w.store, batchingQueue{rec})
		b.StopTimer()
		checkSent(b, w, rec, rep)
		b.ReportMetric(float64(rep.Shards), "shards-ticked")
	}
}

// BenchmarkTickGrowth ticks 10,000 and 100,000 users (1,000,000 with
// -schedule.large), a fifth of them due, on one instance and prints the growth
// exponent of the tick's time over the number of users.
func BenchmarkTickGrowth(b *testing.B) {
	sizes := []int{10_000, 100_000}
	if *benchLarge {
		sizes = append(sizes, 1_000_000)
	}
	secs := map[int]float64{}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) {
			var total time.Duration
			for range b.N {
				b.StopTimer()
				w := newTickWorld(b, n)
				rec := newRecordingQueue(w.queue)
				b.StartTimer()
				start := time.Now()
				rep := tickAtOnce(b, 1, w.store, batchingQueue{rec})
				total += time.Since(start)
				b.StopTimer()
				checkSent(b, w, rec, rep)
			}
			secs[n] = total.Seconds() / float64(b.N)
			if n != sizes[0] {
				exp := math.Log(secs[n]/secs[sizes[0]]) / math.Log(float64(n)/float64(sizes[0]))
				b.ReportMetric(exp, "growth-exponent")
			}
		})
	}
}

// BenchmarkTickAzureEstimate estimates the 100,000-user tick (20,000 due, two
// instances) on Azure Tables and Queues: it measures the per-call latency of
// Azurite for each kind of call the tick makes, then runs the tick on the
// embedded store with those latencies added to every call and without batch
// enqueues (Azure Storage queues take one message per call). The embedded
// store's own time stays in, so the figure errs high. A second run
// uses 5 ms per call and 20 ms per 100-operation transaction, the range the
// issue quotes for Azure itself.
func BenchmarkTickAzureEstimate(b *testing.B) {
	lat := measureAzurite(b)
	for _, c := range []struct {
		name string
		lat  latencies
	}{
		{"azurite-latency", lat},
		{"azure-5ms", latencies{get: 5 * time.Millisecond, query: 10 * time.Millisecond, batch: 20 * time.Millisecond, write: 5 * time.Millisecond, send: 5 * time.Millisecond}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				w := newTickWorld(b, 100_000)
				// The queue is only the latency: the embedded queue's own
				// commit per message is no part of Azure's cost.
				rec := newRecordingQueue(discard{})
				rec.delay = c.lat.send
				slow := &slowStore{Store: w.store, get: c.lat.get, query: c.lat.query, batch: c.lat.batch, write: c.lat.write}
				b.StartTimer()
				rep := tickAtOnce(b, 2, slow, rec)
				b.StopTimer()
				checkSent(b, w, rec, rep)
			}
			b.ReportMetric(float64(c.lat.get.Microseconds())/1000, "ms/get")
			b.ReportMetric(float64(c.lat.query.Microseconds())/1000, "ms/query")
			b.ReportMetric(float64(c.lat.batch.Microseconds())/1000, "ms/batch")
			b.ReportMetric(float64(c.lat.send.Microseconds())/1000, "ms/enqueue")
		})
	}
}

// discard is a queue that drops every message.
type discard struct{}

func (discard) Enqueue(context.Context, string, []byte, time.Duration) error { return nil }

type latencies struct{ get, query, batch, write, send time.Duration }

// measureAzurite times the tick's kinds of call against Azurite: a point read,
// a query of a page of 1,000 index rows, a claim-sized transaction (96
// operations) and one enqueue.
func measureAzurite(b *testing.B) latencies {
	b.Helper()
	ctx := context.Background()
	conn := azurite.Start(b)
	st, err := tablestore.NewAzure(conn)
	if err != nil {
		b.Fatal(err)
	}
	q, err := queue.NewAzure(conn)
	if err != nil {
		b.Fatal(err)
	}
	table := fmt.Sprintf("schedbench%d", time.Now().UnixNano()%1e9)
	b.Cleanup(func() { _ = st.DeleteTable(ctx, table); _ = q.DeleteQueue(ctx, "schedbench") })
	timeIt := func(n int, f func(i int)) time.Duration {
		start := time.Now()
		for i := range n {
			f(i)
		}
		return time.Since(start) / time.Duration(n)
	}
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	var l latencies
	for i := 0; i < 1000; i += 100 {
		ops := make([]tablestore.Op, 100)
		for j := range ops {
			en := Entry{User: fmt.Sprintf("u%04d", i+j), Plan: "paid", Next: t0}
			ops[j] = tablestore.Op{Kind: tablestore.OpInsert, Entity: indexRowOf(en)}
			ops[j].Entity.PartitionKey = "due-0"
		}
		_, err := st.Batch(ctx, table, ops)
		must(err)
	}
	l.batch = timeIt(10, func(i int) {
		ops := make([]tablestore.Op, 96)
		for j := range ops {
			en := Entry{User: fmt.Sprintf("c%02d-%02d", i, j), Plan: "paid", Next: t0}
			ops[j] = tablestore.Op{Kind: tablestore.OpUpsert, Entity: indexRowOf(en)}
			ops[j].Entity.PartitionKey = "due-1"
		}
		_, err := st.Batch(ctx, table, ops)
		must(err)
	})
	l.write = timeIt(20, func(i int) {
		_, err := st.Upsert(ctx, table, tablestore.Entity{PartitionKey: "due-2", RowKey: leaseKey, Properties: map[string]any{"Until": t0}})
		must(err)
	})
	l.get = timeIt(50, func(i int) {
		_, err := st.Get(ctx, table, "due-2", leaseKey)
		must(err)
	})
	l.query = timeIt(10, func(i int) {
		_, err := st.Query(ctx, table, tablestore.Query{PartitionKey: "due-0", RowKeyFrom: "t|", RowKeyTo: "t}"})
		must(err)
	})
	l.send = timeIt(50, func(i int) {
		must(q.Enqueue(ctx, "schedbench", []byte(`{"user":"u","reason":"schedule"}`), 0))
	})
	return l
}
