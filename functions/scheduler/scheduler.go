// Package scheduler is the timer function that, every minute, enqueues a sync
// session request for each user whose next sync is due. The due-time index and
// the enqueueing come with the scheduler issue; until then a tick only logs.
package scheduler

import (
	"context"
	"log/slog"

	"github.com/crmsync/crmsync/shared/funchost"
)

// Schedule is the function's NCRONTAB schedule: every minute, on the minute (UTC).
const Schedule = "0 * * * * *"

// Scheduler is the timer function.
type Scheduler struct {
	log *slog.Logger
}

// New returns the scheduler function.
func New(log *slog.Logger) *Scheduler {
	return &Scheduler{log: log.With("function", "scheduler")}
}

// Run handles one tick. It does not enqueue anything yet: no user can be due
// before the scheduler issue adds users and their due-time index.
func (s *Scheduler) Run(ctx context.Context, tick funchost.TimerTrigger) (funchost.Outputs, error) {
	s.log.InfoContext(ctx, "scheduler tick; no due-time index yet, nothing enqueued",
		"invocation", tick.InvocationID, "pastDue", tick.IsPastDue)
	return nil, nil
}
