package schedule

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/crmsync/crmsync/shared/tablestore"
)

// PushStale is how long an outstanding push session may go without
// finishing before the next push starts another: its message was lost to the
// poison queue or its worker died for good. (A session that fails is retried
// by the queue and finishes then.)
const PushStale = 10 * time.Minute

// pushRetries bounds the re-reads of a schedule row that concurrent pushes
// keep changing; each lost race means another push marked the row.
const pushRetries = 10

// The coalescing rule for pushes: at most one push session per user is
// queued or running. The first push enqueues it at once. Pushes while it is
// outstanding set PushDirty (one write for a whole burst, none after the
// first). When the session finishes (Finished), a dirty mark starts exactly
// one more session at once, which covers every push of the burst; a clean one
// ends the chain. Claims are written under the row's ETag before the message
// is sent, so of any number of concurrent pushes one enqueues.

// requestPush applies the coalescing rule to one push.
func (s *Scheduler) requestPush(ctx context.Context, user string, now time.Time) error {
	now = now.UTC().Truncate(time.Millisecond)
	for range pushRetries {
		cur, err := s.Get(ctx, user)
		if err != nil {
			return err
		}
		switch {
		case cur.Paused:
			return nil // paused users are not woken by their mailbox
		case now.Before(cur.DeferredUntil):
			return ErrDebounced // a deferred session starts after this change
		case outstanding(cur, now) && cur.PushDirty:
			return ErrDebounced
		case outstanding(cur, now):
			cur.PushDirty = true
			if _, err := s.store.Update(ctx, Table, cur.entity(), cur.etag); errors.Is(err, tablestore.ErrPrecondition) {
				continue
			} else if err != nil {
				return err
			}
			return ErrDebounced
		}
		err = s.startPush(ctx, cur, now, 0)
		if errors.Is(err, tablestore.ErrPrecondition) {
			continue
		}
		return err
	}
	return ErrDebounced // every race lost to pushes that marked the row
}

func outstanding(cur Entry, now time.Time) bool {
	return !cur.PushQueued.IsZero() && now.Sub(cur.PushQueued) < PushStale
}

// startPush claims the user's push slot under the row's ETag, then enqueues
// the session visible after delay. When the queue refuses, the claim is
// withdrawn so the next push tries again (if even that fails, the claim goes
// stale after PushStale).
func (s *Scheduler) startPush(ctx context.Context, cur Entry, now time.Time, delay time.Duration) error {
	cur.PushQueued, cur.PushDirty, cur.LastEnqueued = now, false, now
	etag, err := s.store.Update(ctx, Table, cur.entity(), cur.etag)
	if err != nil {
		return err
	}
	req := Request{User: cur.User, Reason: Push, Requested: now}
	if err := s.queue.Enqueue(ctx, SessionsQueue, req.Encode(), delay); err != nil {
		cur.PushQueued = time.Time{}
		if _, uerr := s.store.Update(ctx, Table, cur.entity(), etag); uerr != nil {
			err = errors.Join(err, fmt.Errorf("withdrawing the push claim: %w", uerr))
		}
		return err
	}
	return nil
}

// Finished records that the push session requested at requested ran (any
// outcome but "busy"). When pushes came meanwhile it starts one more session
// at once; otherwise the next push starts one. A request that is not the
// user's outstanding push (a stale one) changes nothing.
func (s *Scheduler) Finished(ctx context.Context, user string, requested, now time.Time) error {
	now = now.UTC().Truncate(time.Millisecond)
	for range pushRetries {
		cur, err := s.Get(ctx, user)
		if errors.Is(err, tablestore.ErrNotFound) {
			return nil // the account was deleted meanwhile
		}
		if err != nil {
			return err
		}
		if !cur.PushQueued.Equal(requested.UTC()) {
			return nil
		}
		if cur.PushDirty && !cur.Paused {
			err = s.startPush(ctx, cur, now, 0)
		} else {
			cur.PushQueued, cur.PushDirty = time.Time{}, false
			_, err = s.store.Update(ctx, Table, cur.entity(), cur.etag)
		}
		if !errors.Is(err, tablestore.ErrPrecondition) {
			return err
		}
	}
	return fmt.Errorf("schedule: finishing %s's push session: the row kept changing", user)
}

// deferPush re-enqueues the outstanding push session that found another
// session of the user running (which may have read the mailbox before the
// change): it becomes visible at after and stays the outstanding one, so
// pushes meanwhile still coalesce into it.
func (s *Scheduler) deferPush(ctx context.Context, user string, now, after time.Time) error {
	now = now.UTC().Truncate(time.Millisecond)
	delay := max(after.Sub(now), 0)
	for range pushRetries {
		cur, err := s.Get(ctx, user)
		if err != nil {
			return err
		}
		err = s.startPush(ctx, cur, now, delay)
		if !errors.Is(err, tablestore.ErrPrecondition) {
			return err
		}
	}
	return fmt.Errorf("schedule: deferring %s's push session: the row kept changing", user)
}
