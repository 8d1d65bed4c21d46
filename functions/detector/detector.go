// Package detector is the timer function of the organisation-level
// Salesforce change detector (shared/orgwatch): every minute it polls each
// organisation that has an integration connection — one query per synced
// object — and starts sessions for the users whose records changed.
package detector

import (
	"context"
	"log/slog"
	"time"

	"github.com/crmsync/crmsync/shared/funchost"
	"github.com/crmsync/crmsync/shared/orgwatch"
)

// Schedule is the function's NCRONTAB schedule: every minute, as the minute
// turns (orgwatch.TickOffset). A poll sees the changes up to the last whole
// minute (see orgwatch.Poll), so a change waits at most 60 s to have its
// session requested (at second 5 it was 65 s, at second 30 90 s).
// TestScheduleIsTickOffset holds the two together.
const Schedule = "0 * * * * *"

// Poller polls every watched organisation once (orgwatch.Runner).
type Poller interface {
	Run(ctx context.Context, now time.Time) (orgwatch.RunReport, error)
}

// Detector is the timer function.
type Detector struct {
	log  *slog.Logger
	poll Poller
	now  func() time.Time
}

// New returns the detector function.
func New(log *slog.Logger, poll Poller, now func() time.Time) *Detector {
	return &Detector{log: log.With("function", "detector"), poll: poll, now: now}
}

// Run polls once and logs counts only (no organisation's content, no user).
// Timers are not retried: the next tick catches up from the watermarks.
func (d *Detector) Run(ctx context.Context, tick funchost.TimerTrigger) (funchost.Outputs, error) {
	rep, err := d.poll.Run(ctx, d.now())
	d.log.InfoContext(ctx, "change detector tick", "invocation", tick.InvocationID, "pastDue", tick.IsPastDue,
		"orgs", rep.Orgs, "polled", rep.Polled, "busy", rep.Busy, "down", rep.Down, "failed", rep.Failed,
		"queries", rep.Queries, "requested", rep.Requested, "behind", rep.Behind)
	if err != nil {
		d.log.ErrorContext(ctx, "change detector tick failed", "err", err)
		return nil, err
	}
	return nil, nil
}
