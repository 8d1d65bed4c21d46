package schedule

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/queue"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// countingStore counts table operations so tests can assert a tick's cost.
type countingStore struct {
	tablestore.Store
	reads, writes atomic.Int64
}

func (c *countingStore) Get(ctx context.Context, t, pk, rk string) (tablestore.Entity, error) {
	c.reads.Add(1)
	return c.Store.Get(ctx, t, pk, rk)
}
func (c *countingStore) Query(ctx context.Context, t string, q tablestore.Query) (tablestore.Page, error) {
	c.reads.Add(1)
	return c.Store.Query(ctx, t, q)
}
func (c *countingStore) Batch(ctx context.Context, t string, ops []tablestore.Op) ([]string, error) {
	c.writes.Add(1)
	return c.Store.Batch(ctx, t, ops)
}
func (c *countingStore) Update(ctx context.Context, t string, e tablestore.Entity, ifMatch string) (string, error) {
	c.writes.Add(1)
	return c.Store.Update(ctx, t, e, ifMatch)
}
func (c *countingStore) Insert(ctx context.Context, t string, e tablestore.Entity) (string, error) {
	c.writes.Add(1)
	return c.Store.Insert(ctx, t, e)
}
func (c *countingStore) Upsert(ctx context.Context, t string, e tablestore.Entity) (string, error) {
	c.writes.Add(1)
	return c.Store.Upsert(ctx, t, e)
}
func (c *countingStore) Delete(ctx context.Context, t, pk, rk, ifMatch string) error {
	c.writes.Add(1)
	return c.Store.Delete(ctx, t, pk, rk, ifMatch)
}

func newFixture(t testing.TB) (*Scheduler, *countingStore, queue.Queue) {
	t.Helper()
	dir := t.TempDir()
	st, err := tablestore.OpenEmbedded(filepath.Join(dir, "tables.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	q, err := queue.OpenEmbedded(filepath.Join(dir, "queues.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	cs := &countingStore{Store: st}
	s := New(cs, q)
	s.rand = func() float64 { return 0.5 }
	return s, cs, q
}

var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

func drain(t *testing.T, q queue.Queue) []Request {
	t.Helper()
	var out []Request
	for {
		msgs, err := q.Dequeue(context.Background(), SessionsQueue, 32, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 0 {
			return out
		}
		for _, m := range msgs {
			r, err := DecodeRequest(m.Body)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, r)
			if err := q.Delete(context.Background(), SessionsQueue, m.ID, m.PopReceipt); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestTickEnqueuesDueUsersAndMovesThemOn(t *testing.T) {
	ctx := context.Background()
	s, _, q := newFixture(t)
	if err := s.Enroll(ctx, "alice", "paid", t0); err != nil {
		t.Fatal(err)
	}
	if err := s.Enroll(ctx, "bob", "free", t0.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	rep, err := s.Tick(ctx, t0.Add(-time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Enqueued != 0 {
		t.Errorf("before anyone is due: enqueued %d, want 0", rep.Enqueued)
	}
	rep, err = s.Tick(ctx, t0.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Due != 1 || rep.Enqueued != 1 {
		t.Errorf("at alice's time: %+v, want one due and enqueued", rep)
	}
	got := drain(t, q)
	if len(got) != 1 || got[0].User != "alice" || got[0].Reason != Scheduled {
		t.Fatalf("queue holds %+v, want one scheduled request for alice", got)
	}
	en, err := s.Get(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	want := t0.Add(time.Second).Add(Plans["paid"].Interval + 15*time.Second)
	if !en.Next.Equal(want) {
		t.Errorf("alice's next time = %v, want %v (interval + half the jitter)", en.Next, want)
	}
	// The same tick again finds nobody: the index row moved with the schedule.
	rep, err = s.Tick(ctx, t0.Add(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Due != 0 {
		t.Errorf("second tick: %d due, want 0", rep.Due)
	}
}

func TestTickCostDependsOnDueUsersNotAllUsers(t *testing.T) {
	ctx := context.Background()
	s, cs, q := newFixture(t)
	for i := 0; i < 300; i++ {
		first := t0.Add(time.Hour)
		if i < 5 {
			first = t0
		}
		if err := s.Enroll(ctx, fmt.Sprintf("user-%03d", i), "paid", first); err != nil {
			t.Fatal(err)
		}
	}
	cs.reads.Store(0)
	cs.writes.Store(0)
	rep, err := s.Tick(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Enqueued != 5 {
		t.Errorf("enqueued %d, want 5", rep.Enqueued)
	}
	// Every shard: its lease read and one query. A shard with due users: the
	// lease taken, the query again under it, one claim transaction (up to 19
	// users) and the release. Nothing per enrolled user, nothing per due user.
	busy := map[string]bool{}
	for i := 0; i < 5; i++ {
		busy[shardOf(fmt.Sprintf("user-%03d", i))] = true
	}
	if got, want := cs.reads.Load(), int64(2*Shards+len(busy)); got != want {
		t.Errorf("reads = %d, want %d", got, want)
	}
	if got, want := cs.writes.Load(), int64(3*len(busy)); got != want {
		t.Errorf("writes = %d, want %d", got, want)
	}
	if rep.Queries+rep.Reads != int(cs.reads.Load()) || rep.Writes != int(cs.writes.Load()) || rep.Sends != len(busy) {
		t.Errorf("report %+v disagrees with the store's counts (%d reads, %d writes) or sends one batch per shard", rep, cs.reads.Load(), cs.writes.Load())
	}
	if n := len(drain(t, q)); n != 5 {
		t.Errorf("queue holds %d requests, want 5", n)
	}
}

func TestPausedUserIsMovedOnButNotEnqueued(t *testing.T) {
	ctx := context.Background()
	s, _, q := newFixture(t)
	if err := s.Enroll(ctx, "carol", "paid", t0); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPaused(ctx, "carol", true); err != nil {
		t.Fatal(err)
	}
	rep, err := s.Tick(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Paused != 1 || rep.Enqueued != 0 {
		t.Errorf("tick = %+v, want one paused, none enqueued", rep)
	}
	if n := len(drain(t, q)); n != 0 {
		t.Errorf("queue holds %d, want 0", n)
	}
	if err := s.RequestNow(ctx, "carol", Push, t0); err != nil {
		t.Fatal(err)
	}
	if n := len(drain(t, q)); n != 0 {
		t.Errorf("a push woke a paused user: queue holds %d", n)
	}
	if err := s.RequestNow(ctx, "carol", Manual, t0); err != nil {
		t.Fatal(err)
	}
	if n := len(drain(t, q)); n != 1 {
		t.Errorf("manual sync now of a paused user: queue holds %d, want 1", n)
	}
}

// "Sync now" keeps its debounce window; pushes follow their own rule (push_test.go).
func TestSyncNowCoalescesBurstsWithoutLosingAChange(t *testing.T) {
	ctx := context.Background()
	s, _, q := newFixture(t)
	if err := s.Enroll(ctx, "dave", "paid", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.RequestNow(ctx, "dave", Manual, t0); err != nil {
		t.Fatal(err)
	}
	// A second request moments later: the first session may already be running,
	// so one more is queued for the end of the window.
	if err := s.RequestNow(ctx, "dave", Manual, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	// Further requests while that one waits are covered by it.
	for i := 2; i < 10; i++ {
		if err := s.RequestNow(ctx, "dave", Manual, t0.Add(time.Duration(i)*time.Second)); !errors.Is(err, ErrDebounced) {
			t.Errorf("request %d within the window: err = %v, want ErrDebounced", i, err)
		}
	}
	if n := len(drain(t, q)); n != 1 {
		t.Errorf("visible now: %d requests, want 1 (the deferred one waits)", n)
	}
	if n, err := q.Len(ctx, SessionsQueue); err != nil || n != 1 {
		t.Errorf("queued: %d (%v), want the deferred request", n, err)
	}
	en, err := s.Get(ctx, "dave")
	if err != nil {
		t.Fatal(err)
	}
	if want := t0.Add(s.Debounce); !en.DeferredUntil.Equal(want) {
		t.Errorf("deferred until %v, want %v", en.DeferredUntil, want)
	}
	// After the deferred session's time, a request enqueues at once again.
	if err := s.RequestNow(ctx, "dave", Manual, t0.Add(2*s.Debounce+time.Second)); err != nil {
		t.Errorf("request after the window: %v", err)
	}
	if err := s.RequestNow(ctx, "nobody", Push, t0); !errors.Is(err, tablestore.ErrNotFound) {
		t.Errorf("push for an unknown user: err = %v, want ErrNotFound", err)
	}
}

func TestConcurrentTicksMoveEachUserOnce(t *testing.T) {
	ctx := context.Background()
	s, _, q := newFixture(t)
	for i := 0; i < 20; i++ {
		if err := s.Enroll(ctx, fmt.Sprintf("u%02d", i), "paid", t0); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Tick(ctx, t0); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got := drain(t, q)
	seen := map[string]int{}
	for _, r := range got {
		seen[r.User]++
	}
	if len(seen) != 20 || len(got) != 20 {
		t.Errorf("%d users got %d sessions, want all 20 once each: %v", len(seen), len(got), seen)
	}
	for i := 0; i < 20; i++ {
		en, err := s.Get(ctx, fmt.Sprintf("u%02d", i))
		if err != nil {
			t.Fatal(err)
		}
		if !en.Next.After(t0) {
			t.Errorf("%s not moved on: next %v", en.User, en.Next)
		}
	}
	// Every user has exactly one index row left.
	rows := 0
	for shard := 0; shard < Shards; shard++ {
		page, err := s.store.Query(ctx, Table, tablestore.Query{PartitionKey: fmt.Sprintf("due-%d", shard), RowKeyFrom: "t|", RowKeyTo: "t}"})
		if err != nil {
			t.Fatal(err)
		}
		rows += len(page.Entities)
	}
	if rows != 20 {
		t.Errorf("%d index rows, want 20", rows)
	}
}

func TestRemoveDeletesScheduleAndIndex(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newFixture(t)
	if err := s.Enroll(ctx, "erin", "free", t0); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(ctx, "erin"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "erin"); !errors.Is(err, tablestore.ErrNotFound) {
		t.Errorf("after Remove: %v, want ErrNotFound", err)
	}
	rep, err := s.Tick(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Due != 0 {
		t.Errorf("removed user still indexed: %+v", rep)
	}
}

func TestDecodeRequestRejectsBadMessages(t *testing.T) {
	for name, body := range map[string]string{
		"not json":       "hello",
		"missing user":   `{"reason":"push"}`,
		"unknown reason": `{"user":"u","reason":"whim"}`,
		"unknown field":  `{"user":"u","reason":"push","extra":1}`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := DecodeRequest([]byte(body)); err == nil {
				t.Errorf("DecodeRequest(%q) accepted it", body)
			}
		})
	}
	r := Request{User: "u", Reason: Manual, Requested: t0}
	got, err := DecodeRequest(r.Encode())
	if err != nil || got != r {
		t.Errorf("round trip = %+v, %v; want %+v", got, err, r)
	}
}

func TestEnrollRejectsUnknownPlan(t *testing.T) {
	s, _, _ := newFixture(t)
	if err := s.Enroll(context.Background(), "u", "platinum", t0); err == nil {
		t.Error("Enroll accepted an unknown plan")
	}
}

// A "sync now" that found another session of the user running is deferred,
// once, however many such requests pile up, and pushes meanwhile are covered
// by it.
func TestRequestAfterDefersOnceAndCoversLaterPushes(t *testing.T) {
	ctx := context.Background()
	s, _, q := newFixture(t)
	if err := s.Enroll(ctx, "erin", "paid", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	after := t0.Add(time.Minute)
	if err := s.RequestAfter(ctx, "erin", Manual, t0, after); err != nil {
		t.Fatal(err)
	}
	for i, at := range []time.Time{t0.Add(time.Second), t0.Add(30 * time.Second)} {
		if err := s.RequestAfter(ctx, "erin", Manual, at, at.Add(time.Minute)); !errors.Is(err, ErrDebounced) {
			t.Errorf("busy request %d while one waits: err = %v, want ErrDebounced", i, err)
		}
		if err := s.RequestNow(ctx, "erin", Push, at); !errors.Is(err, ErrDebounced) {
			t.Errorf("push %d while the deferred session waits: err = %v, want ErrDebounced", i, err)
		}
	}
	if n := len(drain(t, q)); n != 0 {
		t.Errorf("visible now: %d requests, want none before %v", n, after)
	}
	if n, err := q.Len(ctx, SessionsQueue); err != nil || n != 1 {
		t.Errorf("queued: %d (%v), want exactly the deferred request", n, err)
	}
	en, err := s.Get(ctx, "erin")
	if err != nil {
		t.Fatal(err)
	}
	if !en.DeferredUntil.Equal(after) {
		t.Errorf("deferred until %v, want %v", en.DeferredUntil, after)
	}
	// Once it ran (and found the user busy again), it can defer itself anew.
	if err := s.RequestAfter(ctx, "erin", Manual, after, after.Add(time.Minute)); err != nil {
		t.Errorf("deferring again after the deferred time: %v", err)
	}
	if err := s.RequestAfter(ctx, "nobody", Push, t0, after); !errors.Is(err, tablestore.ErrNotFound) {
		t.Errorf("unknown user: err = %v, want ErrNotFound", err)
	}
}
