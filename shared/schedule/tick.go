package schedule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/crmsync/crmsync/shared/tablestore"
)

// Rows of a shard partition besides the schedule rows (u|user) and the due
// index (t|millis|user):
//
//   - l|tick, the shard lease: which instance is ticking the shard and until
//     when, and whether claimed users may still wait for their message.
//   - p|millis|user, a pending row: the users of one claim, written in the
//     transaction that claims them (moves them on), deleted once their session
//     requests are on the queue.
//
// A tick claims before it enqueues, so two instances never enqueue the same
// due slot (the claim deletes the index row under its ETag, and the shard
// lease, updated in every claim, fences off an instance that lost it). A tick
// killed between claiming and enqueueing leaves pending rows, which the next
// holder of the shard enqueues: nobody is skipped.
const (
	leaseKey      = "l|tick"
	pendingPrefix = "p|"
	// claimUsers users per claim transaction: the lease, three ops per user
	// (merge the schedule's next time, delete and insert its index row), the
	// chunk's pending row and the settling of the previous chunk's stay
	// within a transaction's 100 operations.
	claimUsers = 32
	// claimRetries bounds how often one user's claim is retried after another
	// writer changed its index row (a plan change, a pause) mid-tick; after
	// that the user stays due for the next tick.
	claimRetries = 3
)

// pendingKey names a chunk's pending row by the tick and its first user,
// which no other chunk of any tick of the shard shares.
func pendingKey(now time.Time, firstUser string) string {
	return fmt.Sprintf("%s%013d|%s", pendingPrefix, now.UnixMilli(), firstUser)
}

func pendingRow(pk, key string, users []string, claimed time.Time) tablestore.Entity {
	list, _ := json.Marshal(users) // strings cannot fail
	return tablestore.Entity{PartitionKey: pk, RowKey: key, Properties: map[string]any{"Users": string(list), "Claimed": claimed}}
}

// TickReport counts what one tick did.
type TickReport struct {
	// Due counts the due users this instance claimed (or found paused).
	Due      int
	Enqueued int
	Paused   int
	// Recovered counts users claimed by an instance killed before it enqueued
	// them, enqueued by this tick.
	Recovered int
	// Shards counts shards this instance ticked; Busy, shards another instance
	// held.
	Shards, Busy int
	// Queries, Reads and Writes count table calls (range queries, point
	// reads, writes and transactions); Sends counts queue calls.
	Queries, Reads, Writes, Sends int
}

func (r *TickReport) add(o TickReport) {
	r.Due += o.Due
	r.Enqueued += o.Enqueued
	r.Paused += o.Paused
	r.Recovered += o.Recovered
	r.Shards += o.Shards
	r.Busy += o.Busy
	r.Queries += o.Queries
	r.Reads += o.Reads
	r.Writes += o.Writes
	r.Sends += o.Sends
}

// Tick enqueues a session for every user due at now and moves each one's next
// time on by the plan's interval plus jitter. Shards are worked concurrently
// (Workers at a time), each under a lease so that several instances can tick
// at once and share the shards. A user is enqueued once per due slot: a claim
// commits before its message is sent, and only a kill in the moment between
// the queue accepting a chunk's messages and the table clearing its pending
// rows can send that chunk again (see docs/scale.md).
func (s *Scheduler) Tick(ctx context.Context, now time.Time) (TickReport, error) {
	workers := max(1, min(s.Workers, Shards))
	// Instances start at different shards, so two ticking at once mostly take
	// different leases instead of racing for the same ones.
	first := int(s.rand() * Shards)
	shards := make(chan int, Shards)
	for i := range Shards {
		shards <- (first + i) % Shards
	}
	close(shards)
	var (
		mu   sync.Mutex
		rep  TickReport
		errs []error
		wg   sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for shard := range shards {
				r, err := s.tickShard(ctx, shard, now)
				mu.Lock()
				rep.add(r)
				if err != nil {
					errs = append(errs, fmt.Errorf("shard %s: %w", shardKey(shard), err))
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return rep, errors.Join(errs...)
}

// dueRow is one claimed or to-be-claimed index row.
type dueRow struct {
	user, key, etag string
	plan            string
	paused          bool
	watched         bool
}

// shardTick is one instance's work on one shard while it holds the lease.
type shardTick struct {
	s         *Scheduler
	pk        string
	now       time.Time
	leaseETag string
	// settle holds the changes to pending rows whose messages went out
	// (deleted, or rewritten with the users whose send failed), made by the
	// shard's next transaction.
	settle []tablestore.Op
	rep    TickReport
}

func (s *Scheduler) tickShard(ctx context.Context, shard int, now time.Time) (TickReport, error) {
	t := &shardTick{s: s, pk: shardKey(shard), now: now.UTC()}
	lease, err := s.store.Get(ctx, Table, t.pk, leaseKey)
	t.rep.Reads++
	exists := err == nil
	if err != nil && !errors.Is(err, tablestore.ErrNotFound) {
		return t.rep, err
	}
	if until, _ := lease.Properties["Until"].(time.Time); exists && until.After(t.now) {
		t.rep.Busy++
		return t.rep, nil
	}
	pending, _ := lease.Properties["Pending"].(bool)
	// An idle shard costs this query and no write.
	page, err := t.query(ctx, "")
	if err != nil {
		return t.rep, err
	}
	// (Azure may answer an empty page that still has a continuation.)
	if len(page.Entities) == 0 && page.Continuation == "" && !pending {
		return t.rep, nil
	}
	if !t.acquire(ctx, lease, exists, pending) {
		t.rep.Busy++
		return t.rep, nil
	}
	t.rep.Shards++
	if err := t.work(ctx, pending); err != nil {
		// Hand the shard back marked pending, so the next tick enqueues
		// whoever this one claimed and could not send; when even that fails
		// the lease runs out instead.
		t.flushAndRelease(ctx, true)
		return t.rep, err
	}
	return t.rep, t.flushAndRelease(ctx, false)
}

// work recovers what a killed holder left, then claims and sends every due
// user of the shard.
func (t *shardTick) work(ctx context.Context, pending bool) error {
	if pending {
		if err := t.recover(ctx); err != nil {
			return err
		}
	}
	// The page read before the lease may be stale (another instance may have
	// ticked the shard meanwhile): read again under the lease.
	cont := ""
	for {
		page, err := t.query(ctx, cont)
		if err != nil {
			return err
		}
		rows := t.parse(ctx, page.Entities)
		for len(rows) > 0 {
			n := min(claimUsers, len(rows))
			if err := t.claimAndSend(ctx, rows[:n]); err != nil {
				return err
			}
			rows = rows[n:]
		}
		if page.Continuation == "" {
			return nil
		}
		cont = page.Continuation
	}
}

func (t *shardTick) query(ctx context.Context, cont string) (tablestore.Page, error) {
	t.rep.Queries++
	return t.s.store.Query(ctx, Table, tablestore.Query{PartitionKey: t.pk, RowKeyFrom: "t|", RowKeyTo: dueBound(t.now), Continuation: cont})
}

// acquire takes the shard's lease under the ETag read; false when another
// instance took it first.
func (t *shardTick) acquire(ctx context.Context, lease tablestore.Entity, exists, pending bool) bool {
	e := t.leaseEntity(t.now.Add(t.s.LeaseTTL), pending)
	var err error
	t.rep.Writes++
	if exists {
		t.leaseETag, err = t.s.store.Update(ctx, Table, e, lease.ETag)
	} else {
		t.leaseETag, err = t.s.store.Insert(ctx, Table, e)
	}
	return err == nil
}

func (t *shardTick) leaseEntity(until time.Time, pending bool) tablestore.Entity {
	return tablestore.Entity{PartitionKey: t.pk, RowKey: leaseKey,
		Properties: map[string]any{"Owner": t.s.Owner, "Until": until, "Pending": pending}}
}

// leaseOp renews the lease inside a transaction, so a transaction of an
// instance that lost the lease fails as a whole.
func (t *shardTick) leaseOp(pending bool) tablestore.Op {
	e := t.leaseEntity(t.now.Add(t.s.LeaseTTL), pending)
	e.ETag = t.leaseETag
	return tablestore.Op{Kind: tablestore.OpUpdate, Entity: e}
}

// parse reads the index rows of a page. Rows written before the index carried
// the plan (and so any row without one) are checked against their schedule
// row with a point read; a row without a schedule or pointing at another time
// is dropped in the claim without a session.
func (t *shardTick) parse(ctx context.Context, ents []tablestore.Entity) []dueRow {
	rows := make([]dueRow, 0, len(ents))
	for _, e := range ents {
		r := dueRow{key: e.RowKey, etag: e.ETag}
		r.user, _ = e.Properties["User"].(string)
		if r.user == "" {
			continue
		}
		plan, ok := e.Properties["Plan"].(string)
		r.plan, r.paused, r.watched = plan, e.Properties["Paused"] == true, e.Properties["Watched"] == true
		if !ok {
			cur, err := t.s.Get(ctx, r.user)
			t.rep.Reads++
			switch {
			case errors.Is(err, tablestore.ErrNotFound):
				r.plan = "" // stale: deleted by the claim, no session
			case err != nil:
				continue // left due for the next tick
			case dueKey(cur.Next, r.user) != r.key:
				r.plan = ""
			default:
				r.plan, r.paused, r.watched = cur.Plan, cur.Paused, cur.Watched
				if r.plan == "" {
					r.plan = "free"
				}
			}
		}
		rows = append(rows, r)
	}
	return rows
}

// claimAndSend claims a chunk of due users in one transaction (settling the
// previous chunk's pending row in it), then enqueues their requests.
func (t *shardTick) claimAndSend(ctx context.Context, rows []dueRow) error {
	retries := map[string]int{}
	for {
		ops := append([]tablestore.Op{t.leaseOp(true)}, t.settle...)
		owner := make([]int, len(ops)) // the row each op claims; -1 lease, -2 settling
		owner[0] = -1
		for i := 1; i < len(ops); i++ {
			owner[i] = -2
		}
		var send []string
		for i, r := range rows {
			for _, op := range t.claimOps(r) {
				ops = append(ops, op)
				owner = append(owner, i)
			}
			if r.plan != "" && !r.paused {
				send = append(send, r.user)
			}
		}
		key := ""
		if len(send) > 0 {
			key = pendingKey(t.now, send[0])
			ops = append(ops, tablestore.Op{Kind: tablestore.OpUpsert, Entity: pendingRow(t.pk, key, send, t.now)})
			owner = append(owner, -3)
		}
		etags, err := t.s.store.Batch(ctx, Table, ops)
		t.rep.Writes++
		if err == nil {
			t.leaseETag = etags[0]
			t.settle = t.settle[:0]
			for _, r := range rows {
				if r.plan == "" {
					continue
				}
				t.rep.Due++
				if r.paused {
					t.rep.Paused++
				}
			}
			return t.send(ctx, key, send)
		}
		var be *tablestore.BatchError
		if !errors.As(err, &be) || be.Index >= len(owner) || owner[be.Index] == -3 {
			return err
		}
		switch o := owner[be.Index]; {
		case o == -1:
			return fmt.Errorf("lease lost to another instance: %w", err)
		case o == -2:
			// A settling delete of a row that is gone: nothing to settle.
			t.settle = append(t.settle[:be.Index-1:be.Index-1], t.settle[be.Index:]...)
		default:
			// Another writer moved or rewrote this user's index row since the
			// query: read it again, or leave the user to the next tick.
			r := rows[o]
			retries[r.user]++
			fresh, ok := t.reread(ctx, r)
			if !ok || retries[r.user] > claimRetries {
				rows = append(rows[:o:o], rows[o+1:]...)
			} else {
				rows[o] = fresh
			}
			if len(rows) == 0 {
				return nil
			}
		}
	}
}

// reread fetches a due row again after its claim failed; false when it is
// gone or no longer due.
func (t *shardTick) reread(ctx context.Context, r dueRow) (dueRow, bool) {
	e, err := t.s.store.Get(ctx, Table, t.pk, r.key)
	t.rep.Reads++
	if err != nil {
		return dueRow{}, false
	}
	rows := t.parse(ctx, []tablestore.Entity{e})
	if len(rows) != 1 {
		return dueRow{}, false
	}
	return rows[0], true
}

// claimOps moves a due user on: the schedule row's next time (a merge, so a
// concurrent push's marks survive) and the index row under its ETag. A stale
// row (plan "") is only deleted.
func (t *shardTick) claimOps(r dueRow) []tablestore.Op {
	del := tablestore.Op{Kind: tablestore.OpDelete, Entity: tablestore.Entity{PartitionKey: t.pk, RowKey: r.key, ETag: r.etag}}
	if r.plan == "" {
		return []tablestore.Op{del}
	}
	plan, ok := Plans[r.plan]
	if !ok {
		plan = Plans["free"]
	}
	next := t.now.Add(interval(plan, r.watched) + time.Duration(t.s.rand()*float64(t.s.Jitter))).Truncate(time.Millisecond)
	props := map[string]any{"Next": next}
	if !r.paused {
		props["LastEnqueued"] = t.now
	}
	ops := []tablestore.Op{
		{Kind: tablestore.OpMerge, Entity: tablestore.Entity{PartitionKey: t.pk, RowKey: userKey(r.user), Properties: props}},
		del,
		{Kind: tablestore.OpInsert, Entity: indexRowOf(Entry{User: r.user, Plan: r.plan, Paused: r.paused, Watched: r.watched, Next: next})},
	}
	return ops
}

// send enqueues the requests of the users of one pending row (key): one call
// when the queue takes batches, otherwise Senders calls at a time. The next
// transaction deletes the pending row, or keeps in it the users whose send
// failed, whom the next holder of the lease sends.
func (t *shardTick) send(ctx context.Context, key string, users []string) error {
	if len(users) == 0 {
		return nil
	}
	reqs := make([]Request, len(users))
	for i, u := range users {
		reqs[i] = Request{User: u, Reason: Scheduled, Requested: t.now}
	}
	failed := make([]bool, len(reqs))
	var err error
	if bq, ok := t.s.queue.(BatchEnqueuer); ok {
		bodies := make([][]byte, len(reqs))
		for i, r := range reqs {
			bodies[i] = r.Encode()
		}
		t.rep.Sends++
		if err = bq.EnqueueBatch(ctx, SessionsQueue, bodies, 0); err != nil {
			return err // all or none: the pending row stays as it is
		}
	} else {
		errs := make([]error, len(reqs))
		sem := make(chan struct{}, max(1, t.s.Senders))
		var wg sync.WaitGroup
		for i, r := range reqs {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				errs[i] = t.s.queue.Enqueue(ctx, SessionsQueue, r.Encode(), 0)
				failed[i] = errs[i] != nil
			})
		}
		wg.Wait()
		t.rep.Sends += len(reqs)
		err = errors.Join(errs...)
	}
	var left []string
	for i, u := range users {
		if failed[i] {
			left = append(left, u)
		} else {
			t.rep.Enqueued++
		}
	}
	if len(left) == 0 {
		t.settle = append(t.settle, tablestore.Op{Kind: tablestore.OpDelete, Entity: tablestore.Entity{PartitionKey: t.pk, RowKey: key, ETag: "*"}})
	} else if len(left) < len(users) {
		t.settle = append(t.settle, tablestore.Op{Kind: tablestore.OpUpsert, Entity: pendingRow(t.pk, key, left, t.now)})
	}
	return err
}

// recover enqueues the users a killed holder claimed and did not send. Their
// schedules have already moved on; only the message is missing. A user
// removed since is not sent.
func (t *shardTick) recover(ctx context.Context) error {
	q := tablestore.Query{PartitionKey: t.pk, RowKeyFrom: pendingPrefix, RowKeyTo: "p}"} // '}' follows '|'
	for {
		page, err := t.s.store.Query(ctx, Table, q)
		t.rep.Queries++
		if err != nil {
			return err
		}
		for _, e := range page.Entities {
			var users, live []string
			raw, _ := e.Properties["Users"].(string)
			_ = json.Unmarshal([]byte(raw), &users) // a damaged row sends nobody and is deleted
			for _, u := range users {
				_, err := t.s.Get(ctx, u)
				t.rep.Reads++
				if err == nil {
					live = append(live, u)
				} else if !errors.Is(err, tablestore.ErrNotFound) {
					return err
				}
			}
			before := t.rep.Enqueued
			err := t.send(ctx, e.RowKey, live)
			t.rep.Recovered += t.rep.Enqueued - before
			if len(live) == 0 {
				t.settle = append(t.settle, tablestore.Op{Kind: tablestore.OpDelete, Entity: tablestore.Entity{PartitionKey: t.pk, RowKey: e.RowKey, ETag: "*"}})
			}
			if ferr := t.flush(ctx); err != nil || ferr != nil {
				return errors.Join(err, ferr)
			}
		}
		if page.Continuation == "" {
			return nil
		}
		q.Continuation = page.Continuation
	}
}

// flush settles the pending rows sent so far, renewing the lease in the same
// transaction (marked pending: more claims follow).
func (t *shardTick) flush(ctx context.Context) error { return t.clearRows(ctx, true, false) }

// flushAndRelease settles the last pending rows and hands the shard back (its
// lease ends now), so another instance may tick it at once. pending says
// whether claimed users may still wait for their message.
func (t *shardTick) flushAndRelease(ctx context.Context, pending bool) error {
	return t.clearRows(ctx, pending, true)
}

func (t *shardTick) clearRows(ctx context.Context, pending, release bool) error {
	for {
		ops := append([]tablestore.Op{t.leaseOp(pending)}, t.settle...)
		if release {
			ops[0].Entity.Properties["Until"] = t.now
		}
		etags, err := t.s.store.Batch(ctx, Table, ops)
		t.rep.Writes++
		if err == nil {
			t.leaseETag = etags[0]
			t.settle = t.settle[:0]
			return nil
		}
		var be *tablestore.BatchError
		if !errors.As(err, &be) || be.Index == 0 || be.Index >= len(ops) {
			return err
		}
		// A settling delete of a row that is gone: nothing to settle.
		t.settle = append(t.settle[:be.Index-1:be.Index-1], t.settle[be.Index:]...)
	}
}
