package schedule

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/azurite"
	"github.com/crmsync/crmsync/shared/queue"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// enroll puts n paid users due at t0 (user-000 …).
func enroll(t testing.TB, s *Scheduler, n int) []string {
	t.Helper()
	users := make([]string, n)
	for i := range users {
		users[i] = fmt.Sprintf("user-%03d", i)
		if err := s.Enroll(context.Background(), users[i], "paid", t0); err != nil {
			t.Fatal(err)
		}
	}
	return users
}

// enrollBulk writes n paid users due at t0 a shard at a time (one
// transaction per shard), as Enroll would write them one by one.
func enrollBulk(t testing.TB, s *Scheduler, users []string) {
	t.Helper()
	byShard := map[string][]tablestore.Op{}
	for i := range users {
		en := Entry{User: users[i], Plan: "paid", Next: t0}
		pk := shardOf(users[i])
		byShard[pk] = append(byShard[pk], tablestore.Op{Kind: tablestore.OpInsert, Entity: en.entity()},
			tablestore.Op{Kind: tablestore.OpInsert, Entity: indexRowOf(en)})
	}
	for _, ops := range byShard {
		if _, err := s.store.Batch(context.Background(), Table, ops); err != nil {
			t.Fatal(err)
		}
	}
}

// usersIn names n users who hash to shard.
func usersIn(shard, n int) []string {
	var users []string
	for i := 0; len(users) < n; i++ {
		if u := fmt.Sprintf("user-%d", i); shardOf(u) == shardKey(shard) {
			users = append(users, u)
		}
	}
	return users
}

// sessionsPerUser drains the queue, making every delayed message visible.
func sessionsPerUser(t *testing.T, q queue.Queue) map[string]int {
	t.Helper()
	seen := map[string]int{}
	for _, r := range drain(t, q) {
		seen[r.User]++
	}
	return seen
}

// checkIndex asserts the table is consistent after ticks at or before at:
// every user has one index row, in the future and matching its schedule, no
// pending row is left and no lease is held.
func checkIndex(t *testing.T, s *Scheduler, users []string, at time.Time) {
	t.Helper()
	ctx := context.Background()
	rows := map[string]int{}
	for shard := range Shards {
		page, err := s.store.Query(ctx, Table, tablestore.Query{PartitionKey: shardKey(shard), Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Entities {
			switch e.RowKey[:2] {
			case "t|":
				u, _ := e.Properties["User"].(string)
				rows[u]++
				en, err := s.Get(ctx, u)
				if err != nil || dueKey(en.Next, u) != e.RowKey || !en.Next.After(at) {
					t.Errorf("index row %s: schedule %+v (%v), want it to point here, after %v", e.RowKey, en, err, at)
				}
			case "p|":
				t.Errorf("pending row %s left behind", e.RowKey)
			case "l|":
				if until, _ := e.Properties["Until"].(time.Time); until.After(at) || e.Properties["Pending"] == true {
					t.Errorf("shard %s lease still held: %v", e.PartitionKey, e.Properties)
				}
			}
		}
	}
	for _, u := range users {
		if rows[u] != 1 {
			t.Errorf("%s has %d index rows, want 1", u, rows[u])
		}
	}
}

func TestTwoInstancesTickAtOnceSendEachUserOnce(t *testing.T) {
	ctx := context.Background()
	a, _, q := newFixture(t)
	users := enroll(t, a, 300)
	b := New(a.store, q)
	b.rand = func() float64 { return 0 } // starts at shard 0; a starts at shard 8
	var (
		wg         sync.WaitGroup
		repA, repB TickReport
		errA, errB error
	)
	wg.Go(func() { repA, errA = a.Tick(ctx, t0) })
	wg.Go(func() { repB, errB = b.Tick(ctx, t0) })
	wg.Wait()
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	seen := sessionsPerUser(t, q)
	for _, u := range users {
		if seen[u] != 1 {
			t.Errorf("%s: %d sessions, want 1", u, seen[u])
		}
	}
	if got := repA.Enqueued + repB.Enqueued; got != len(users) {
		t.Errorf("instances report %d + %d enqueued, want %d in all", repA.Enqueued, repB.Enqueued, len(users))
	}
	checkIndex(t, a, users, t0)
}

// killable fails every call after its budget of calls is spent, as an
// instance does once it is killed. It records the kind of the last call it let
// through.
type killable struct {
	tablestore.Store
	q      *queue.Embedded
	mu     sync.Mutex
	budget int
	last   string
}

var errKilled = errors.New("instance killed")

func (k *killable) call(kind string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.budget <= 0 {
		return errKilled
	}
	k.budget--
	k.last = kind
	return nil
}

func (k *killable) Get(ctx context.Context, t, pk, rk string) (tablestore.Entity, error) {
	if err := k.call("get"); err != nil {
		return tablestore.Entity{}, err
	}
	return k.Store.Get(ctx, t, pk, rk)
}
func (k *killable) Query(ctx context.Context, t string, q tablestore.Query) (tablestore.Page, error) {
	if err := k.call("query"); err != nil {
		return tablestore.Page{}, err
	}
	return k.Store.Query(ctx, t, q)
}
func (k *killable) Batch(ctx context.Context, t string, ops []tablestore.Op) ([]string, error) {
	if err := k.call("batch"); err != nil {
		return nil, err
	}
	return k.Store.Batch(ctx, t, ops)
}
func (k *killable) Insert(ctx context.Context, t string, e tablestore.Entity) (string, error) {
	if err := k.call("insert"); err != nil {
		return "", err
	}
	return k.Store.Insert(ctx, t, e)
}
func (k *killable) Update(ctx context.Context, t string, e tablestore.Entity, ifMatch string) (string, error) {
	if err := k.call("update"); err != nil {
		return "", err
	}
	return k.Store.Update(ctx, t, e, ifMatch)
}
func (k *killable) Enqueue(ctx context.Context, name string, body []byte, delay time.Duration) error {
	if err := k.call("send"); err != nil {
		return err
	}
	return k.q.Enqueue(ctx, name, body, delay)
}
func (k *killable) EnqueueBatch(ctx context.Context, name string, bodies [][]byte, delay time.Duration) error {
	if err := k.call("send"); err != nil {
		return err
	}
	return k.q.EnqueueBatch(ctx, name, bodies, delay)
}

// An instance killed after any number of calls into its tick: the next tick
// after the lease runs out sends every due user it did not, and no user is
// sent twice — except that a kill in the one moment between the queue taking
// a chunk's messages and the table clearing their pending rows sends that
// chunk (at most 19 users) again, which no table and queue pair can tell
// apart without a receiver-side key (docs/scale.md).
func TestKilledTickSkipsNobodyAndSendsOnce(t *testing.T) {
	ctx := context.Background()
	// Two chunks in one shard, one in another.
	users := append(usersIn(3, claimUsers+6), usersIn(11, 3)...)
	run := func(t *testing.T, budget int) (calls int, last string, seen map[string]int, s *Scheduler) {
		s, _, q := newFixture(t)
		enrollBulk(t, s, users)
		emb := q.(*queue.Embedded)
		k := &killable{Store: s.store, q: emb, budget: budget}
		killed := New(k, k)
		killed.rand, killed.Workers = func() float64 { return 0.5 }, 1
		if _, err := killed.Tick(ctx, t0); err != nil && !errors.Is(err, errKilled) {
			t.Fatalf("budget %d: %v", budget, err)
		}
		calls, last = budget-k.budget, k.last
		// Before the dead instance's leases run out its shards are left alone.
		early, err := s.Tick(ctx, t0.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if early.Recovered != 0 {
			t.Errorf("budget %d: recovered %d users from a lease still running", budget, early.Recovered)
		}
		if _, err := s.Tick(ctx, t0.Add(s.LeaseTTL)); err != nil {
			t.Fatal(err)
		}
		return calls, last, sessionsPerUser(t, q), s
	}
	full, _, seen, s := run(t, 1<<30)
	for _, u := range users {
		if seen[u] != 1 {
			t.Fatalf("unkilled tick: %s has %d sessions", u, seen[u])
		}
	}
	checkIndex(t, s, users, t0.Add(s.LeaseTTL))
	dupWindows := 0
	for budget := 0; budget < full; budget++ {
		_, last, seen, s := run(t, budget)
		dups := 0
		for _, u := range users {
			switch {
			case seen[u] == 0:
				t.Errorf("killed after %d calls: %s skipped", budget, u)
			case seen[u] > 1:
				dups++
			}
		}
		if dups > 0 && (last != "send" || dups > claimUsers) {
			t.Errorf("killed after %d calls (last a %s): %d users sent twice", budget, last, dups)
		}
		if dups > 0 {
			dupWindows++
		}
		checkIndex(t, s, users, t0.Add(s.LeaseTTL))
	}
	t.Logf("%d kill points, %d of them between a send and its clearing", full, dupWindows)
}

// Index rows written before they carried the plan are checked against the
// schedule row: a current one is sent, one without a schedule or pointing at
// another time is deleted without a session.
func TestTickReadsScheduleForOldIndexRows(t *testing.T) {
	ctx := context.Background()
	s, _, q := newFixture(t)
	old := Entry{User: "old", Plan: "paid", Next: t0}
	if _, err := s.store.Batch(ctx, Table, []tablestore.Op{
		{Kind: tablestore.OpInsert, Entity: old.entity()},
		{Kind: tablestore.OpInsert, Entity: indexRow("old", t0)},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.store.Insert(ctx, Table, indexRow("orphan", t0)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.store.Insert(ctx, Table, indexRow("old", t0.Add(-time.Minute))); err != nil {
		t.Fatal(err) // a stale second row of the same user
	}
	rep, err := s.Tick(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	if got := sessionsPerUser(t, q); len(got) != 1 || got["old"] != 1 {
		t.Errorf("sessions %v, want one for old", got)
	}
	if rep.Due != 1 {
		t.Errorf("due = %d, want 1", rep.Due)
	}
	checkIndex(t, s, []string{"old"}, t0)
}

// hookStore runs a hook once before the first claim transaction, to change a
// row under a tick.
type hookStore struct {
	tablestore.Store
	once sync.Once
	hook func()
}

func (h *hookStore) Batch(ctx context.Context, t string, ops []tablestore.Op) ([]string, error) {
	if len(ops) > 2 {
		h.once.Do(h.hook)
	}
	return h.Store.Batch(ctx, t, ops)
}

// A user paused after the tick read the index (which changes the index row
// under the tick's ETag) is read again and moved on unsent; the others in the
// same claim are sent.
func TestPauseDuringTickIsReadAgain(t *testing.T) {
	ctx := context.Background()
	s, _, q := newFixture(t)
	// Users of one shard, so they share a claim.
	users := usersIn(3, 5)
	enrollBulk(t, s, users)
	h := &hookStore{Store: s.store}
	h.hook = func() {
		if err := s.SetPaused(ctx, users[2], true); err != nil {
			t.Error(err)
		}
	}
	ticker := New(h, q)
	ticker.rand = s.rand
	rep, err := ticker.Tick(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	seen := sessionsPerUser(t, q)
	var got []string
	for u := range seen {
		got = append(got, u)
	}
	sort.Strings(got)
	want := append(append([]string{}, users[:2]...), users[3:]...)
	sort.Strings(want)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("sessions for %v, want %v (not the paused %s)", got, want, users[2])
	}
	if rep.Paused != 1 || rep.Due != 5 {
		t.Errorf("report %+v, want 5 due, 1 paused", rep)
	}
	checkIndex(t, s, users, t0)
}

// A removed user's pending row goes with it: a later recovery sends nothing.
func TestRemoveDropsPendingClaim(t *testing.T) {
	ctx := context.Background()
	// Find the kill point right after the claim, before the send.
	for budget := 1; budget < 100; budget++ {
		s, _, q := newFixture(t)
		users := enroll(t, s, 1)
		k := &killable{Store: s.store, q: q.(*queue.Embedded), budget: budget}
		killed := New(k, k)
		killed.rand, killed.Workers = s.rand, 1
		_, _ = killed.Tick(ctx, t0)
		page, err := s.store.Query(ctx, Table, tablestore.Query{PartitionKey: shardOf(users[0]), RowKeyFrom: "p|", RowKeyTo: "p}"})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Entities) != 1 || k.budget != 0 || k.last != "batch" {
			continue
		}
		if err := s.Remove(ctx, users[0]); err != nil {
			t.Fatal(err)
		}
		rep, err := s.Tick(ctx, t0.Add(s.LeaseTTL))
		if err != nil {
			t.Fatal(err)
		}
		if n := len(drain(t, q)); n != 0 || rep.Recovered != 0 {
			t.Errorf("removed user: %d sessions, %d recovered; want none", n, rep.Recovered)
		}
		return
	}
	t.Fatal("no kill point between claim and send")
}

// The tick's transactions (lease update under its ETag, merges, deletes under
// ETags, inserts, upserts, up to 99 operations in one partition) hold on the
// Azure table store too: two instances ticking at once against Azurite send
// each due user once and leave the index consistent.
func TestTwoInstancesTickOnAzurite(t *testing.T) {
	ctx := context.Background()
	st, err := tablestore.NewAzure(azurite.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.DeleteTable(ctx, Table) })
	_ = st.DeleteTable(ctx, Table)
	dir := t.TempDir()
	q, err := queue.OpenEmbedded(filepath.Join(dir, "queues.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	a := New(st, q)
	a.rand = func() float64 { return 0.5 }
	users := append(usersIn(2, claimUsers+8), usersIn(9, 5)...)
	enrollBulk(t, a, users)
	b := New(st, q)
	b.rand = func() float64 { return 0 }
	var wg sync.WaitGroup
	var errA, errB error
	wg.Go(func() { _, errA = a.Tick(ctx, t0) })
	wg.Go(func() { _, errB = b.Tick(ctx, t0) })
	wg.Wait()
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	seen := sessionsPerUser(t, q)
	for _, u := range users {
		if seen[u] != 1 {
			t.Errorf("%s: %d sessions, want 1", u, seen[u])
		}
	}
	checkIndex(t, a, users, t0)
}

// A claim that fails on Azure (reported as the failed operation's index of
// the transaction) is retried without losing the chunk's other users.
func TestPauseDuringTickOnAzurite(t *testing.T) {
	ctx := context.Background()
	st, err := tablestore.NewAzure(azurite.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	_ = st.DeleteTable(ctx, Table)
	t.Cleanup(func() { _ = st.DeleteTable(ctx, Table) })
	q, err := queue.OpenEmbedded(filepath.Join(t.TempDir(), "queues.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	s := New(st, q)
	users := usersIn(4, 6)
	enrollBulk(t, s, users)
	h := &hookStore{Store: st}
	h.hook = func() {
		if err := s.SetPaused(ctx, users[4], true); err != nil {
			t.Error(err)
		}
	}
	ticker := New(h, q)
	rep, err := ticker.Tick(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	seen := sessionsPerUser(t, q)
	if len(seen) != 5 || seen[users[4]] != 0 || rep.Paused != 1 {
		t.Errorf("sessions %v, report %+v; want the five unpaused users once and one paused", seen, rep)
	}
	checkIndex(t, s, users, t0)
}

// emptyFirstPage answers every query's first page empty with a continuation,
// as Azure may (a page may hold fewer entities than asked and still go on).
type emptyFirstPage struct{ tablestore.Store }

func (e emptyFirstPage) Query(ctx context.Context, t string, q tablestore.Query) (tablestore.Page, error) {
	switch q.Continuation {
	case "":
		return tablestore.Page{Entities: []tablestore.Entity{}, Continuation: "start"}, nil
	case "start":
		q.Continuation = ""
	}
	return e.Store.Query(ctx, t, q)
}

func TestTickFollowsAnEmptyFirstPage(t *testing.T) {
	ctx := context.Background()
	s, _, q := newFixture(t)
	users := usersIn(6, 3)
	enrollBulk(t, s, users)
	ticker := New(emptyFirstPage{s.store}, q)
	ticker.rand = s.rand
	if _, err := ticker.Tick(ctx, t0); err != nil {
		t.Fatal(err)
	}
	if seen := sessionsPerUser(t, q); len(seen) != len(users) {
		t.Errorf("sessions %v, want one for each of %v", seen, users)
	}
}
