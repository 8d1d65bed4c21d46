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
	// CRMChange: the organisation's change detector (shared/orgwatch) saw
	// the user's CRM records change.
	CRMChange Reason = "crm-change"
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
	case Scheduled, Push, Manual, CRMChange:
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
	// SafetyNet is the interval of a user whose organisation's change
	// detector is up (Entry.Watched): the detector starts a session when the
	// user's CRM records change, scheduled sessions catch what it cannot see.
	SafetyNet time.Duration
}

// Plans are the built-in plans by name.
var Plans = map[string]Plan{
	"free": {Name: "free", Interval: 30 * time.Minute, MaxRecords: 500, SafetyNet: 4 * time.Hour},
	"paid": {Name: "paid", Interval: 5 * time.Minute, MaxRecords: 0, SafetyNet: time.Hour},
}

// Entry is one user's schedule.
type Entry struct {
	User   string
	Plan   string
	Next   time.Time
	Paused bool
	// Watched: the user's organisation's change detector is up, and
	// scheduled sessions come at the plan's SafetyNet (watch.go).
	Watched bool
	// LastEnqueued is when a session was last enqueued for this user (any reason).
	LastEnqueued time.Time
	// DeferredUntil is when a session enqueued with a delay (a burst of
	// pushes) becomes visible; pushes before then are already covered by it.
	DeferredUntil time.Time
	// PushQueued is when the user's outstanding push session was enqueued
	// (zero when none). Pushes meanwhile only set PushDirty.
	PushQueued time.Time
	// PushDirty says a push came while that session was queued or running,
	// so it may have read the mailbox before the change: one more session
	// starts the moment it finishes.
	PushDirty bool
	etag      string
}

// Enqueuer puts a message on a queue: the sessions queue of the runtime
// (Azure Storage or the embedded queue; Amazon SQS on AWS Lambda).
type Enqueuer interface {
	Enqueue(ctx context.Context, queue string, body []byte, delay time.Duration) error
}

// BatchEnqueuer is an Enqueuer that can also put many messages on a queue in
// one call, all or none (the embedded queue: one transaction). The tick uses
// it when the queue has it, instead of one call per due user.
type BatchEnqueuer interface {
	EnqueueBatch(ctx context.Context, queue string, bodies [][]byte, delay time.Duration) error
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
	// Workers bounds how many shards one tick works at once.
	Workers int
	// Senders bounds how many single enqueues one shard has in flight when
	// the queue cannot take batches (Azure Storage, SQS).
	Senders int
	// LeaseTTL is how long a ticking instance holds a shard. A shard whose
	// holder was killed mid-tick is taken over, and its claimed users enqueued,
	// by the first tick after the lease ran out.
	LeaseTTL time.Duration
	// Owner names this instance on the shard leases it takes (diagnostics only).
	Owner string
	rand  func() float64
}

// New returns a Scheduler over store, enqueueing sessions with q.
func New(store tablestore.Store, q Enqueuer) *Scheduler {
	return &Scheduler{store: store, queue: q, Debounce: 30 * time.Second, Jitter: 30 * time.Second,
		Workers: 4, Senders: 16, LeaseTTL: 2 * time.Minute, Owner: randomOwner(), rand: rand.Float64}
}

func randomOwner() string { return "tick-" + strconv.FormatUint(rand.Uint64(), 36) }

func shardOf(user string) string {
	h := fnv.New32a()
	h.Write([]byte(user))
	return shardKey(int(h.Sum32() % Shards))
}

func shardKey(shard int) string { return "due-" + strconv.Itoa(shard) }

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
	out.Watched, _ = e.Properties["Watched"].(bool)
	out.LastEnqueued, _ = e.Properties["LastEnqueued"].(time.Time)
	out.DeferredUntil, _ = e.Properties["DeferredUntil"].(time.Time)
	out.PushQueued, _ = e.Properties["PushQueued"].(time.Time)
	out.PushDirty, _ = e.Properties["PushDirty"].(bool)
	return out
}

func (en Entry) entity() tablestore.Entity {
	props := map[string]any{"Plan": en.Plan, "Next": en.Next.UTC(), "Paused": en.Paused}
	if en.Watched {
		props["Watched"] = true
	}
	if !en.LastEnqueued.IsZero() { // table storage dates start in 1601
		props["LastEnqueued"] = en.LastEnqueued.UTC()
	}
	if !en.DeferredUntil.IsZero() {
		props["DeferredUntil"] = en.DeferredUntil.UTC()
	}
	if !en.PushQueued.IsZero() {
		props["PushQueued"] = en.PushQueued.UTC()
	}
	if en.PushDirty {
		props["PushDirty"] = true
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
			en := Entry{User: user, Plan: plan, Next: first.UTC().Truncate(time.Millisecond)}
			_, err = s.store.Batch(ctx, Table, []tablestore.Op{
				{Kind: tablestore.OpInsert, Entity: en.entity()},
				{Kind: tablestore.OpInsert, Entity: indexRowOf(en)},
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
		if err := s.rewrite(ctx, cur); errors.Is(err, tablestore.ErrPrecondition) {
			continue
		} else {
			return err
		}
	}
}

// rewrite stores a changed schedule row together with its index row, which
// carries copies of the plan and the pause flag so that a tick moves a due
// user on without reading the schedule row. The schedule row's ETag guards
// both: ErrPrecondition when another writer came first.
func (s *Scheduler) rewrite(ctx context.Context, cur Entry) error {
	_, err := s.store.Batch(ctx, Table, []tablestore.Op{
		{Kind: tablestore.OpUpdate, Entity: cur.entity()},
		{Kind: tablestore.OpUpsert, Entity: indexRowOf(cur)},
	})
	var be *tablestore.BatchError
	if errors.As(err, &be) {
		return be.Err
	}
	return err
}

func indexRow(user string, next time.Time) tablestore.Entity {
	return tablestore.Entity{PartitionKey: shardOf(user), RowKey: dueKey(next, user), Properties: map[string]any{"User": user}}
}

// indexRowOf is the due-index row of a schedule: the user, and the plan and
// pause flag the tick needs.
func indexRowOf(en Entry) tablestore.Entity {
	e := indexRow(en.User, en.Next)
	e.Properties["Plan"] = en.Plan
	e.Properties["Paused"] = en.Paused
	if en.Watched {
		e.Properties["Watched"] = true
	}
	return e
}

// SetPaused pauses or resumes a user's scheduled sessions.
func (s *Scheduler) SetPaused(ctx context.Context, user string, paused bool) error {
	for {
		cur, err := s.Get(ctx, user)
		if err != nil {
			return err
		}
		cur.Paused = paused
		if err := s.rewrite(ctx, cur); errors.Is(err, tablestore.ErrPrecondition) {
			continue
		} else {
			return err
		}
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
	// A tick that claimed the user and was killed before sending it checks
	// for the schedule row before it sends (shardTick.recover).
	return err
}

// ErrDebounced reports that a session is already queued to run after this
// request (a deferred one, covering the change that prompted the request).
var ErrDebounced = errors.New("schedule: a session is already queued after this change")

// RequestNow enqueues a session for user (push notification or "sync now").
// A push starts a session at once and coalesces the pushes that follow while
// it is queued or running (see requestPush). A "sync now" burst is coalesced
// without losing a change: a request within Debounce of the last enqueued
// session enqueues one session delayed to the end of the window, and requests
// while that one is still waiting return ErrDebounced. The message is enqueued
// before the marks are written, so a failure can cause an extra session
// (harmless under the lease) but never a lost one.
func (s *Scheduler) RequestNow(ctx context.Context, user string, reason Reason, now time.Time) error {
	if reason == Push {
		return s.requestPush(ctx, user, now)
	}
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
	if reason == Push {
		return s.deferPush(ctx, user, now, after)
	}
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
