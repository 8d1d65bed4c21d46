// Package syncworker is the queue function that runs one sync session for one
// user per message on the sync-sessions queue.
package syncworker

import (
	"context"
	"log/slog"

	"github.com/crmsync/crmsync/shared/funchost"
	"github.com/crmsync/crmsync/shared/schedule"
	"github.com/crmsync/crmsync/shared/session"
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

// Worker is the queue function.
type Worker struct {
	log   *slog.Logger
	run   Runner
	after AfterSession
}

// New returns the sync worker function; after may be nil.
func New(log *slog.Logger, run Runner, after AfterSession) *Worker {
	return &Worker{log: log.With("function", "syncworker"), run: run, after: after}
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
	if w.after != nil && (rep.Outcome == "ok" || rep.Outcome == "partial") {
		if err := w.after(ctx, req.User); err != nil {
			w.log.WarnContext(ctx, "after-session step failed", "user", req.User, "err", err)
		}
	}
	return nil, nil
}
