// Package syncworker is the queue function that runs one sync session for one
// user per message on the sync-sessions queue.
package syncworker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/crmsync/crmsync/shared/funchost"
	"github.com/crmsync/crmsync/shared/schedule"
	"github.com/crmsync/crmsync/shared/session"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// Queue is the queue the function consumes.
const Queue = schedule.SessionsQueue

// Runner runs a user's session.
type Runner interface {
	Run(ctx context.Context, user, reason string) (session.Report, error)
}

// AfterSession is called after a session that reached both sides, e.g. to make
// sure the user's mailbox push subscriptions exist.
type AfterSession func(ctx context.Context, user string) error

// Deferrer enqueues a session for later (schedule.Scheduler).
type Deferrer interface {
	RequestAfter(ctx context.Context, user string, reason schedule.Reason, now, after time.Time) error
}

// Finisher is told when a push session ran (schedule.Scheduler.Finished):
// pushes that came while it was queued or running start one more at once.
// Found on the Deferrer by type assertion.
type Finisher interface {
	Finished(ctx context.Context, user string, requested, now time.Time) error
}

// BusyRetry is how long a push or "sync now" request that found another
// session of the user running waits before it runs: the running session may
// have read its sides before the change that prompted the request. It is at
// least session.DefaultLeaseTTL, so that a deferred request that found a
// crashed session's lease finds it expired (TestRetryTimingOutlastsTheLease).
const BusyRetry = time.Minute

// Worker is the queue function.
type Worker struct {
	log      *slog.Logger
	run      Runner
	after    AfterSession
	deferrer Deferrer
	now      func() time.Time
}

// New returns the sync worker function; after and deferrer may be nil (then
// a request that finds its user busy is done, not deferred).
func New(log *slog.Logger, run Runner, after AfterSession, deferrer Deferrer, now func() time.Time) *Worker {
	return &Worker{log: log.With("function", "syncworker"), run: run, after: after, deferrer: deferrer, now: now}
}

// Handle runs the session a message asks for. A malformed message fails, so
// the host retries it and finally keeps it in the poison queue, where an
// operator sees it; a session that should be retried (temporary trouble on a
// side or in storage) fails too. Everything else — done, items failed as
// issues, quota reached, needs reconnect, another session running — succeeds,
// because delivering the message again would not change the outcome.
func (w *Worker) Handle(ctx context.Context, msg funchost.QueueTrigger) (funchost.Outputs, error) {
	req, err := schedule.DecodeRequest(msg.Body)
	if err != nil {
		w.log.ErrorContext(ctx, "malformed session request", "err", err, "attempt", msg.DequeueCount, "invocation", msg.InvocationID)
		return nil, err
	}
	rep, err := w.run.Run(ctx, req.User, string(req.Reason))
	w.log.InfoContext(ctx, "session", "user", req.User, "reason", req.Reason, "attempt", msg.DequeueCount,
		"outcome", rep.Outcome, "invocation", msg.InvocationID)
	if err != nil {
		return nil, err
	}
	if rep.Outcome == "busy" && (req.Reason != schedule.Scheduled || msg.DequeueCount > 1) && w.deferrer != nil {
		// Scheduled requests come again by themselves; a push or a user's
		// request would otherwise wait for the next scheduled session. A
		// redelivered message (DequeueCount > 1) is deferred whatever its
		// reason: its earlier attempt most likely crashed holding the lease it
		// now finds held, and BusyRetry, after the queue's visibility timeout,
		// outlasts session.DefaultLeaseTTL, so the deferred session takes the
		// lease over instead of the user waiting for the next schedule.
		now := w.now()
		err := w.deferrer.RequestAfter(ctx, req.User, req.Reason, now, now.Add(BusyRetry))
		if err != nil && !errors.Is(err, schedule.ErrDebounced) && !errors.Is(err, tablestore.ErrNotFound) {
			// Failing the message makes the queue deliver it again.
			return nil, fmt.Errorf("syncworker: deferring a request that found its user busy: %w", err)
		}
		return nil, nil
	}
	if f, ok := w.deferrer.(Finisher); ok && req.Reason == schedule.Push {
		// A failure leaves the push outstanding until schedule.PushStale:
		// later pushes meanwhile wait for the next scheduled session.
		if err := f.Finished(ctx, req.User, req.Requested, w.now()); err != nil {
			w.log.WarnContext(ctx, "recording the end of a push session failed", "user", req.User, "err", err)
		}
	}
	if w.after != nil && (rep.Outcome == "ok" || rep.Outcome == "partial") {
		if err := w.after(ctx, req.User); err != nil {
			w.log.WarnContext(ctx, "after-session step failed", "user", req.User, "err", err)
		}
	}
	return nil, nil
}
