// Package schedule decides when each user's next sync session runs. It keeps a
// due-time index in the table store so that the scheduler's minute tick costs
// one range query per index shard plus one transaction per due user, however
// many users there are; and it enqueues session requests (scheduled, pushed or
// asked for by the user) with a per-user debounce.
package schedule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/tablestore"
)

// Table is the table holding schedules and the due-time index.
const Table = "schedule"

// SessionsQueue is the queue that carries session requests to the syncworker.
const SessionsQueue = "sync-sessions"

// Shards is the number of index partitions. Each holds the schedule rows of the
// users hashed to it plus their due-time index rows, so moving a user's next
// time is one entity-group transaction, and a tick reads Shards ranges.
const Shards = 16

// Reason says why a session was requested.
type Reason string

// Reasons a session is requested.
const (
	Scheduled Reason = "schedule"
	Push      Reason = "push"
	Manual    Reason = "manual"
)

// Request is the body of a message on the sessions queue.
type Request struct {
	User      string    `json:"user"`
	Reason    Reason    `json:"reason"`
	Requested time.Time `json:"requested"`
}

// Encode renders r as the queue message body (JSON, which is never valid
// base64, so the Functions host's output decoding cannot mangle it).
func (r Request) Encode() []byte {
	b, _ := json.Marshal(r) // a struct of strings and a time cannot fail
	return b
}

// DecodeRequest parses a queue message body, naming what is wrong.
func DecodeRequest(body []byte) (Request, error) {
	var r Request
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return Request{}, fmt.Errorf("session request: malformed JSON: %w", err)
	}
	if r.User == "" {
		return Request{}, errors.New("session request: missing user")
	}
	switch r.Reason {
	case Scheduled, Push, Manual:
	default:
		return Request{}, fmt.Errorf("session request: unknown reason %q", r.Reason)
	}
	return r, nil
}

// Plan is a service plan: how often a user syncs and how many records.
type Plan struct {
	Name string
	// Interval between scheduled sessions.
	Interval time.Duration
	// MaxRecords caps linked records per kind; 0 means no cap.
	MaxRecords int
}

// Plans are the built-in plans by name.
var Plans = map[string]Plan{
	"free": {Name: "free", Interval: 30 * time.Minute, MaxRecords: 500},
	"paid": {Name: "paid", Interval: 5 * time.Minute, MaxRecords: 0},
}

// Entry is one user's schedule.
type Entry struct {
	User   string
	Plan   string
	Next   time.Time
	Paused bool
	// LastEnqueued is when a session was last enqueued for this user (any reason).
	LastEnqueued time.Time
	// DeferredUntil is when a session enqueued with a delay (a burst of
	// pushes) becomes visible; pushes before then are already covered by it.
	DeferredUntil time.Time
	etag          string
}

// Enqueuer puts a message on a queue: the sessions queue of the runtime
// (Azure Storage or the embedded queue; Amazon SQS on AWS Lambda).
type Enqueuer interface {
	Enqueue(ctx context.Context, queue string, body []byte, delay time.Duration) error
}

// Scheduler reads and moves schedules. Construct with New.
type Scheduler struct {
	store tablestore.Store
	queue Enqueuer
	// Debounce is the shortest gap between two pushed or manual sessions of one user.
	Debounce time.Duration
	// Jitter is the largest random delay added to a user's next time, spreading
	// load so users who signed up together do not sync together forever.
	Jitter time.Duration
	rand   func() float64
}

// New returns a Scheduler over store, enqueueing sessions with q.
func New(store tablestore.Store, q Enqueuer) *Scheduler {
	return &Scheduler{store: store, queue: q, Debounce: 30 * time.Second, Jitter: 30 * time.Second, rand: rand.Float64}
}

func shardOf(user string) string {
	h := fnv.New32a()
	h.Write([]byte(user))
	return "due-" + strconv.Itoa(int(h.Sum32()%Shards))
}

func userKey(user string) string { return "u|" + user }

// dueKey orders index rows by time; 13 digits of Unix milliseconds keep the
// lexical order equal to the time order until the year 2286.
func dueKey(t time.Time, user string) string {
	return fmt.Sprintf("t|%013d|%s", t.UnixMilli(), user)
}

func dueBound(t time.Time) string { return fmt.Sprintf("t|%013d|", t.UnixMilli()+1) }

// Get reads a user's schedule; tablestore.ErrNotFound when the user has none.
func (s *Scheduler) Get(ctx context.Context, user string) (Entry, error) {
	e, err := s.store.Get(ctx, Table, shardOf(user), userKey(user))
	if err != nil {
		return Entry{}, err
	}
	return entryFrom(user, e), nil
}

func entryFrom(user string, e tablestore.Entity) Entry {
	out := Entry{User: user, etag: e.ETag}
	out.Plan, _ = e.Properties["Plan"].(string)
	out.Next, _ = e.Properties["Next"].(time.Time)
	out.Paused, _ = e.Properties["Paused"].(bool)
	out.LastEnqueued, _ = e.Properties["LastEnqueued"].(time.Time)
	out.DeferredUntil, _ = e.Properties["DeferredUntil"].(time.Time)
	return out
}

func (en Entry) entity() tablestore.Entity {
	props := map[string]any{"Plan": en.Plan, "Next": en.Next.UTC(), "Paused": en.Paused}
	if !en.LastEnqueued.IsZero() { // table storage dates start in 1601
		props["LastEnqueued"] = en.LastEnqueued.UTC()
	}
	if !en.DeferredUntil.IsZero() {
		props["DeferredUntil"] = en.DeferredUntil.UTC()
	}
	return tablestore.Entity{PartitionKey: shardOf(en.User), RowKey: userKey(en.User), ETag: en.etag, Properties: props}
}

// Enroll starts scheduling a user on plan, first due at first. Enrolling an
// enrolled user changes the plan and keeps the due time.
func (s *Scheduler) Enroll(ctx context.Context, user, plan string, first time.Time) error {
	if _, ok := Plans[plan]; !ok {
		return fmt.Errorf("schedule: unknown plan %q", plan)
	}
	for {
		cur, err := s.Get(ctx, user)
		if errors.Is(err, tablestore.ErrNotFound) {
			en := Entry{User: user, Plan: plan, Next: first.UTC()}
			_, err = s.store.Batch(ctx, Table, []tablestore.Op{
				{Kind: tablestore.OpInsert, Entity: en.entity()},
				{Kind: tablestore.OpInsert, Entity: indexRow(user, en.Next)},
			})
			if errors.Is(err, tablestore.ErrExists) {
				continue // enrolled concurrently: take the other path
			}
			return err
		}
		if err != nil {
			return err
		}
		cur.Plan = plan
		_, err = s.store.Update(ctx, Table, cur.entity(), cur.etag)
		if errors.Is(err, tablestore.ErrPrecondition) {
			continue
		}
		return err
	}
}

func indexRow(user string, next time.Time) tablestore.Entity {
	return tablestore.Entity{PartitionKey: shardOf(user), RowKey: dueKey(next, user), Properties: map[string]any{"User": user}}
}

// SetPaused pauses or resumes a user's scheduled sessions.
func (s *Scheduler) SetPaused(ctx context.Context, user string, paused bool) error {
	for {
		cur, err := s.Get(ctx, user)
		if err != nil {
			return err
		}
		cur.Paused = paused
		_, err = s.store.Update(ctx, Table, cur.entity(), cur.etag)
		if errors.Is(err, tablestore.ErrPrecondition) {
			continue
		}
		return err
	}
}

// Remove deletes a user's schedule and index row (account deletion).
func (s *Scheduler) Remove(ctx context.Context, user string) error {
	cur, err := s.Get(ctx, user)
	if errors.Is(err, tablestore.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	_, err = s.store.Batch(ctx, Table, []tablestore.Op{
		{Kind: tablestore.OpDelete, Entity: tablestore.Entity{PartitionKey: shardOf(user), RowKey: userKey(user), ETag: cur.etag}},
		{Kind: tablestore.OpDelete, Entity: tablestore.Entity{PartitionKey: shardOf(user), RowKey: dueKey(cur.Next, user), ETag: "*"}},
	})
	if errors.Is(err, tablestore.ErrNotFound) || errors.Is(err, tablestore.ErrPrecondition) {
		return s.Remove(ctx, user) // the index moved under us; read again
	}
	return err
}

// TickReport counts what one tick did.
type TickReport struct {
	Due      int
	Enqueued int
	Paused   int
	Queries  int
	Writes   int
}

// Tick enqueues a session for every user due at now and moves each one's next
// time on by the plan's interval plus jitter. Delivery is at least once: the
// message is enqueued before the index moves, so a crash in between can only
// cause one extra session, which the session lease makes harmless.
func (s *Scheduler) Tick(ctx context.Context, now time.Time) (TickReport, error) {
	var rep TickReport
	var errs []error
	for shard := 0; shard < Shards; shard++ {
		pk := "due-" + strconv.Itoa(shard)
		q := tablestore.Query{PartitionKey: pk, RowKeyFrom: "t|", RowKeyTo: dueBound(now)}
		for {
			page, err := s.store.Query(ctx, Table, q)
			rep.Queries++
			if err != nil {
				errs = append(errs, fmt.Errorf("shard %s: %w", pk, err))
				break
			}
			for _, row := range page.Entities {
				user, _ := row.Properties["User"].(string)
				if user == "" {
					continue
				}
				rep.Due++
				if err := s.fire(ctx, user, row.RowKey, now, &rep); err != nil {
					errs = append(errs, fmt.Errorf("user %s: %w", user, err))
				}
			}
			if page.Continuation == "" {
				break
			}
			q.Continuation = page.Continuation
		}
	}
	return rep, errors.Join(errs...)
}

func (s *Scheduler) fire(ctx context.Context, user, indexKey string, now time.Time, rep *TickReport) error {
	cur, err := s.Get(ctx, user)
	if errors.Is(err, tablestore.ErrNotFound) {
		// An index row without its schedule (left by an interrupted removal).
		rep.Writes++
		err := s.store.Delete(ctx, Table, shardOf(user), indexKey, "*")
		if errors.Is(err, tablestore.ErrNotFound) {
			return nil
		}
		return err
	}
	if err != nil {
		return err
	}
	if dueKey(cur.Next, user) != indexKey {
		return nil // moved by someone else since the query
	}
	if !cur.Paused {
		req := Request{User: user, Reason: Scheduled, Requested: now.UTC()}
		if err := s.queue.Enqueue(ctx, SessionsQueue, req.Encode(), 0); err != nil {
			return err
		}
		rep.Enqueued++
		cur.LastEnqueued = now.UTC()
	} else {
		rep.Paused++
	}
	plan, ok := Plans[cur.Plan]
	if !ok {
		plan = Plans["free"]
	}
	old := cur.Next
	cur.Next = now.Add(plan.Interval + time.Duration(s.rand()*float64(s.Jitter))).UTC().Truncate(time.Millisecond)
	_, err = s.store.Batch(ctx, Table, []tablestore.Op{
		{Kind: tablestore.OpUpdate, Entity: cur.entity()},
		{Kind: tablestore.OpDelete, Entity: tablestore.Entity{PartitionKey: shardOf(user), RowKey: dueKey(old, user), ETag: "*"}},
		{Kind: tablestore.OpInsert, Entity: indexRow(user, cur.Next)},
	})
	rep.Writes++
	if errors.Is(err, tablestore.ErrPrecondition) || errors.Is(err, tablestore.ErrNotFound) {
		return nil // another tick moved it first; its session is enqueued
	}
	return err
}

// ErrDebounced reports that a session is already queued to run after this
// request (a deferred one, covering the change that prompted the request).
var ErrDebounced = errors.New("schedule: a session is already queued after this change")

// RequestNow enqueues a session for user (push notification or "sync now").
// A burst is coalesced without losing a change: a request within Debounce of
// the last enqueued session enqueues one session delayed to the end of the
// window, and requests while that one is still waiting return ErrDebounced.
// The message is enqueued before the marks are written, so a failure can
// cause an extra session (harmless under the lease) but never a lost one.
func (s *Scheduler) RequestNow(ctx context.Context, user string, reason Reason, now time.Time) error {
	cur, err := s.Get(ctx, user)
	if err != nil {
		return err
	}
	if cur.Paused && reason == Push {
		return nil // paused users are not woken by their mailbox
	}
	if now.Before(cur.DeferredUntil) {
		return ErrDebounced
	}
	var delay time.Duration
	if !cur.LastEnqueued.IsZero() && now.Sub(cur.LastEnqueued) < s.Debounce {
		delay = cur.LastEnqueued.Add(s.Debounce).Sub(now)
		cur.DeferredUntil = now.Add(delay).UTC()
	}
	req := Request{User: user, Reason: reason, Requested: now.UTC()}
	if err := s.queue.Enqueue(ctx, SessionsQueue, req.Encode(), delay); err != nil {
		return err
	}
	cur.LastEnqueued = now.UTC()
	if delay > 0 {
		cur.LastEnqueued = cur.DeferredUntil
	}
	_, err = s.store.Update(ctx, Table, cur.entity(), cur.etag)
	if errors.Is(err, tablestore.ErrPrecondition) {
		return nil // a concurrent writer marked it; the session is enqueued either way
	}
	return err
}

// RequestAfter enqueues a session for user to start no sooner than after: for
// a push or "sync now" request that found another session of the user
// running, which may have read its sides before the change that prompted the
// request. It coalesces like RequestNow: while a deferred session is still
// waiting it returns ErrDebounced, since that session comes after the change
// too (and defers itself again if it also finds the user busy).
func (s *Scheduler) RequestAfter(ctx context.Context, user string, reason Reason, now, after time.Time) error {
	cur, err := s.Get(ctx, user)
	if err != nil {
		return err
	}
	if now.Before(cur.DeferredUntil) {
		return ErrDebounced
	}
	if after.Before(now) {
		after = now
	}
	req := Request{User: user, Reason: reason, Requested: now.UTC()}
	if err := s.queue.Enqueue(ctx, SessionsQueue, req.Encode(), after.Sub(now)); err != nil {
		return err
	}
	cur.DeferredUntil, cur.LastEnqueued = after.UTC(), after.UTC()
	_, err = s.store.Update(ctx, Table, cur.entity(), cur.etag)
	if errors.Is(err, tablestore.ErrPrecondition) {
		return nil // a concurrent writer marked it; the session is enqueued either way
	}
	return err
}
