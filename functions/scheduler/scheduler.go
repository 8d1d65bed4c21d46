// Package scheduler is the timer function that, every minute, enqueues a sync
// session for each user whose next sync is due (a due-time index keeps the
// tick's cost flat as users grow) and renews mailbox subscriptions before
// they expire.
package scheduler

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/crmsync/crmsync/shared/funchost"
	"github.com/crmsync/crmsync/shared/schedule"
)

// Schedule is the function's NCRONTAB schedule: every minute, on the minute (UTC).
const Schedule = "0 * * * * *"

// Ticker enqueues the sessions that are due.
type Ticker interface {
	Tick(ctx context.Context, now time.Time) (schedule.TickReport, error)
}

// Renewer renews push subscriptions that expire soon.
type Renewer interface {
	Renew(ctx context.Context, now time.Time) (int, error)
}

// Scheduler is the timer function.
type Scheduler struct {
	log    *slog.Logger
	ticker Ticker
	renew  Renewer
	now    func() time.Time
}

// New returns the scheduler function; renew may be nil.
func New(log *slog.Logger, ticker Ticker, renew Renewer, now func() time.Time) *Scheduler {
	return &Scheduler{log: log.With("function", "scheduler"), ticker: ticker, renew: renew, now: now}
}

// Run handles one tick. Timers are not retried, so an error is logged and
// returned for the host's record; the next tick picks up whoever is still due.
func (s *Scheduler) Run(ctx context.Context, tick funchost.TimerTrigger) (funchost.Outputs, error) {
	now := s.now()
	rep, err := s.ticker.Tick(ctx, now)
	s.log.InfoContext(ctx, "scheduler tick", "invocation", tick.InvocationID, "pastDue", tick.IsPastDue,
		"due", rep.Due, "enqueued", rep.Enqueued, "paused", rep.Paused, "recovered", rep.Recovered,
		"shards", rep.Shards, "busyShards", rep.Busy, "queries", rep.Queries, "reads", rep.Reads, "writes", rep.Writes, "sends", rep.Sends)
	var renewErr error
	if s.renew != nil {
		n, err := s.renew.Renew(ctx, now)
		if n > 0 {
			s.log.InfoContext(ctx, "subscriptions renewed", "count", n)
		}
		renewErr = err
	}
	if err := errors.Join(err, renewErr); err != nil {
		s.log.ErrorContext(ctx, "scheduler tick failed", "err", err)
		return nil, err
	}
	return nil, nil
}
