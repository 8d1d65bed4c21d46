package schedule

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/queue"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// simClock is the simulated time of a push scenario.
type simClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *simClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *simClock) set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// sent records every session request on its way to the queue, with its delay.
type sent struct {
	Enqueuer
	mu   sync.Mutex
	reqs []sentReq
	// onSend is called for every request (under mu).
	onSend func(Request)
}

type sentReq struct {
	Request
	delay time.Duration
}

func (s *sent) Enqueue(ctx context.Context, name string, body []byte, delay time.Duration) error {
	if err := s.Enqueuer.Enqueue(ctx, name, body, delay); err != nil {
		return err
	}
	r, err := DecodeRequest(body)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.reqs = append(s.reqs, sentReq{r, delay})
	if s.onSend != nil {
		s.onSend(r)
	}
	s.mu.Unlock()
	return nil
}

func newPushFixture(t *testing.T, clock *simClock) (*Scheduler, *queue.Embedded, *sent) {
	t.Helper()
	dir := t.TempDir()
	st, err := tablestore.OpenEmbedded(filepath.Join(dir, "tables.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	q, err := queue.OpenEmbedded(filepath.Join(dir, "queues.sqlite"), queue.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	rec := &sent{Enqueuer: q}
	s := New(st, rec)
	s.rand = func() float64 { return 0.5 }
	return s, q, rec
}

func TestFirstPushStartsAtOnceAndABurstCoalesces(t *testing.T) {
	ctx := context.Background()
	clock := &simClock{now: t0}
	s, _, rec := newPushFixture(t, clock)
	enrollBulk(t, s, []string{"ann"})
	// A scheduled session moments ago does not hold the push back.
	if _, err := s.Tick(ctx, t0); err != nil {
		t.Fatal(err)
	}
	rec.reqs = nil
	push := func(at time.Duration) error { return s.RequestNow(ctx, "ann", Push, t0.Add(at)) }
	if err := push(time.Second); err != nil {
		t.Fatal(err)
	}
	if len(rec.reqs) != 1 || rec.reqs[0].delay != 0 || rec.reqs[0].Reason != Push {
		t.Fatalf("first push sent %+v, want one push request without delay", rec.reqs)
	}
	first := rec.reqs[0].Requested
	for i := 2; i < 50; i++ {
		if err := push(time.Duration(i) * 100 * time.Millisecond); !errors.Is(err, ErrDebounced) {
			t.Errorf("push %d while the session is outstanding: %v, want ErrDebounced", i, err)
		}
	}
	if len(rec.reqs) != 1 {
		t.Fatalf("a burst sent %d requests, want the first only", len(rec.reqs))
	}
	// The session finishes: the burst came while it was queued or running,
	// so one more starts at once.
	done := t0.Add(6 * time.Second)
	if err := s.Finished(ctx, "ann", first, done); err != nil {
		t.Fatal(err)
	}
	if len(rec.reqs) != 2 || rec.reqs[1].delay != 0 || !rec.reqs[1].Requested.Equal(done) {
		t.Fatalf("after a dirty finish: %+v, want a second request at %v without delay", rec.reqs, done)
	}
	// That one finishes with no push meanwhile: the chain ends, and the next
	// push starts a session at once again.
	if err := s.Finished(ctx, "ann", done, done.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	if len(rec.reqs) != 2 {
		t.Fatalf("a clean finish sent %d requests, want none more", len(rec.reqs)-2)
	}
	// A stale or foreign request finishing changes nothing.
	if err := s.Finished(ctx, "ann", first, done.Add(3*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := push(10 * time.Second); err != nil || len(rec.reqs) != 3 || rec.reqs[2].delay != 0 {
		t.Fatalf("push after the chain ended: %v, requests %+v", err, rec.reqs)
	}
	en, err := s.Get(ctx, "ann")
	if err != nil {
		t.Fatal(err)
	}
	if !en.PushQueued.Equal(t0.Add(10*time.Second)) || en.PushDirty {
		t.Errorf("schedule %+v, want the last push outstanding and clean", en)
	}
	// A push session that is never finished (lost to the poison queue) goes
	// stale; the next push after that starts another.
	if err := push(10*time.Second + PushStale); err != nil || len(rec.reqs) != 4 {
		t.Errorf("push after a stale session: %v, %d requests, want a fourth", err, len(rec.reqs))
	}
	if err := s.Finished(ctx, "nobody", first, done); err != nil {
		t.Errorf("finishing for a deleted user: %v", err)
	}
}

// Many pushes for the same users at the same instant, from many goroutines:
// one request per user.
func TestConcurrentPushesEnqueueOnce(t *testing.T) {
	ctx := context.Background()
	clock := &simClock{now: t0}
	s, _, rec := newPushFixture(t, clock)
	users := usersIn(5, 10)
	enrollBulk(t, s, users)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 250 {
				err := s.RequestNow(ctx, users[(g+i)%len(users)], Push, t0)
				if err != nil && !errors.Is(err, ErrDebounced) {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	per := map[string]int{}
	for _, r := range rec.reqs {
		per[r.User]++
	}
	for _, u := range users {
		if per[u] != 1 {
			t.Errorf("%s: %d requests, want 1", u, per[u])
		}
	}
}

// A burst of 10,000 pushes in a minute for 100 users, against a simulated
// worker whose sessions take 2 s and scheduled sessions that run besides
// (so some pushes find the user busy): no push is left without a push
// session starting after it, no user ever has two push requests outstanding,
// and the first push of a quiet user starts a session at once.
func TestPushBurstOf10000InAMinute(t *testing.T) {
	ctx := context.Background()
	clock := &simClock{now: t0}
	s, q, rec := newPushFixture(t, clock)
	users := make([]string, 100)
	for i := range users {
		users[i] = fmt.Sprintf("user-%03d", i)
	}
	enrollBulk(t, s, users)
	const (
		pushes   = 10_000
		every    = 6 * time.Millisecond // 10,000 in 60 s
		poll     = 100 * time.Millisecond
		runs     = 2 * time.Second
		busyWait = 10 * time.Second
	)
	type running struct {
		push      bool
		requested time.Time
		end       time.Time
	}
	var (
		outstanding = map[string]int{} // push requests sent and not yet finished or deferred
		active      = map[string]running{}
		lastPush    = map[string]time.Time{}
		firstPush   = map[string]time.Time{}
		pushStarts  = map[string][]time.Time{}
		sessions    int
	)
	rec.onSend = func(r Request) {
		outstanding[r.User]++
		if outstanding[r.User] > 1 {
			t.Errorf("%s has %d push requests outstanding at %v", r.User, outstanding[r.User], r.Requested)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	pollWorker := func(now time.Time) {
		for u, r := range active {
			if r.end.After(now) {
				continue
			}
			delete(active, u)
			if r.push {
				rec.mu.Lock()
				outstanding[u]--
				rec.mu.Unlock()
				if err := s.Finished(ctx, u, r.requested, now); err != nil {
					t.Fatal(err)
				}
			}
		}
		// Scheduled sessions: a few users a poll start one besides.
		for range 2 {
			if u := users[rng.IntN(len(users))]; active[u] == (running{}) {
				active[u] = running{end: now.Add(runs)}
			}
		}
		for {
			msgs, err := q.Dequeue(ctx, SessionsQueue, 32, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) == 0 {
				return
			}
			for _, m := range msgs {
				r, err := DecodeRequest(m.Body)
				if err != nil {
					t.Fatal(err)
				}
				if active[r.User] != (running{}) {
					rec.mu.Lock()
					outstanding[r.User]--
					rec.mu.Unlock()
					if err := s.RequestAfter(ctx, r.User, Push, now, now.Add(busyWait)); err != nil {
						t.Fatal(err)
					}
				} else {
					active[r.User] = running{push: true, requested: r.Requested, end: now.Add(runs)}
					pushStarts[r.User] = append(pushStarts[r.User], now)
					sessions++
				}
				if err := q.Delete(ctx, SessionsQueue, m.ID, m.PopReceipt); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	nextPoll := t0
	for i := range pushes {
		at := t0.Add(time.Duration(i) * every)
		for !nextPoll.After(at) {
			clock.set(nextPoll)
			pollWorker(nextPoll)
			nextPoll = nextPoll.Add(poll)
		}
		clock.set(at)
		u := users[rng.IntN(len(users))]
		if _, ok := firstPush[u]; !ok {
			firstPush[u] = at
		}
		lastPush[u] = at
		before := len(rec.reqs)
		err := s.RequestNow(ctx, u, Push, at)
		if err != nil && !errors.Is(err, ErrDebounced) {
			t.Fatal(err)
		}
		if firstPush[u] == at && active[u] == (running{}) && (len(rec.reqs) != before+1 || rec.reqs[before].delay != 0) {
			t.Errorf("first push of %s at %v did not start a session at once", u, at)
		}
	}
	// Let the last sessions and their follow-ups run out.
	for end := nextPoll.Add(time.Minute); nextPoll.Before(end); nextPoll = nextPoll.Add(poll) {
		clock.set(nextPoll)
		pollWorker(nextPoll)
	}
	var late []string
	for _, u := range users {
		starts := pushStarts[u]
		if len(starts) == 0 || starts[len(starts)-1].Before(lastPush[u]) {
			late = append(late, u)
		}
	}
	sort.Strings(late)
	if len(late) > 0 {
		t.Errorf("no push session started after the last push of %v", late)
	}
	t.Logf("%d pushes → %d push sessions for %d users (%d requests sent)", pushes, sessions, len(users), len(rec.reqs))
	if sessions > len(users)*int(time.Minute/runs+time.Minute/runs) {
		t.Errorf("%d sessions: the burst was not coalesced", sessions)
	}
}
