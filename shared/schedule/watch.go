package schedule

import (
	"context"
	"errors"
	"time"

	"github.com/crmsync/crmsync/shared/tablestore"
)

// interval is how long after a scheduled session the next one is due.
func interval(p Plan, watched bool) time.Duration {
	if watched && p.SafetyNet > p.Interval {
		return p.SafetyNet
	}
	return p.Interval
}

// SetWatched marks a user's organisation change detector up (watched) or
// down. Up, the user's scheduled sessions stretch to the plan's SafetyNet
// from the next one on. Down, they return to the plan's interval at once: a
// next session due later than now + Interval is brought forward to then, so
// no user waits out a safety-net interval with the detector gone. Without a
// change it writes nothing.
func (s *Scheduler) SetWatched(ctx context.Context, user string, watched bool, now time.Time) error {
	for attempt := 1; ; attempt++ {
		cur, err := s.Get(ctx, user)
		if err != nil {
			return err
		}
		if cur.Watched == watched {
			return nil
		}
		old := cur.Next
		cur.Watched = watched
		plan, ok := Plans[cur.Plan]
		if !ok {
			plan = Plans["free"]
		}
		if limit := now.Add(plan.Interval).UTC().Truncate(time.Millisecond); !watched && cur.Next.After(limit) {
			cur.Next = limit
		}
		if cur.Next.Equal(old) {
			err = s.rewrite(ctx, cur)
		} else {
			// The due-index row moves with the time: the old one goes in the
			// same transaction (a tick that claimed it meanwhile changed the
			// schedule row, and the ETag sends this round again).
			_, err = s.store.Batch(ctx, Table, []tablestore.Op{
				{Kind: tablestore.OpUpdate, Entity: cur.entity()},
				{Kind: tablestore.OpDelete, Entity: tablestore.Entity{PartitionKey: shardOf(user), RowKey: dueKey(old, user), ETag: "*"}},
				{Kind: tablestore.OpInsert, Entity: indexRowOf(cur)},
			})
			var be *tablestore.BatchError
			if errors.As(err, &be) {
				err = be.Err
			}
		}
		if (errors.Is(err, tablestore.ErrPrecondition) || errors.Is(err, tablestore.ErrNotFound)) && attempt < 5 {
			continue // changed meanwhile: read it again
		}
		return err
	}
}
