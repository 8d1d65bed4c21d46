// Package digest is the timer function that, once a day, e-mails each
// organisation's admins the members who needed attention (shared/notice).
package digest

import (
	"context"
	"log/slog"

	"github.com/crmsync/crmsync/shared/funchost"
	"github.com/crmsync/crmsync/shared/notice"
)

// Schedule is the function's NCRONTAB schedule: every day at 07:00 UTC.
const Schedule = "0 0 7 * * *"

// Digester sends the day's digests (notice.Notifier).
type Digester interface {
	DigestAll(ctx context.Context) (notice.DigestResult, error)
}

// Digest is the timer function.
type Digest struct {
	log *slog.Logger
	d   Digester
}

// New returns the digest function.
func New(log *slog.Logger, d Digester) *Digest {
	return &Digest{log: log.With("function", "digest"), d: d}
}

// Run sends the digests once and logs counts only. Timers are not retried;
// an admin missed today (an error) is written to tomorrow, as the digest
// covers yesterday too.
func (g *Digest) Run(ctx context.Context, tick funchost.TimerTrigger) (funchost.Outputs, error) {
	res, err := g.d.DigestAll(ctx)
	g.log.InfoContext(ctx, "digests sent", "invocation", tick.InvocationID, "attention", res.Attention, "admins", res.Sent, "err", err)
	return nil, err
}
