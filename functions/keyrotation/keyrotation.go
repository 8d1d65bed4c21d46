// Package keyrotation is the timer function that creates a new version of the
// token-sealing key and re-seals stored tokens with it. The key ring comes with
// its own issue; until then a tick only logs.
package keyrotation

import (
	"context"
	"log/slog"

	"github.com/crmsync/crmsync/shared/funchost"
)

// Schedule is the function's NCRONTAB schedule: daily at 03:00 UTC.
const Schedule = "0 0 3 * * *"

// Rotator is the timer function.
type Rotator struct {
	log *slog.Logger
}

// New returns the key rotation function.
func New(log *slog.Logger) *Rotator {
	return &Rotator{log: log.With("function", "keyrotation")}
}

// Run handles one tick; there is no key ring to rotate yet.
func (r *Rotator) Run(ctx context.Context, tick funchost.TimerTrigger) (funchost.Outputs, error) {
	r.log.InfoContext(ctx, "keyrotation tick; no key ring yet, nothing rotated",
		"invocation", tick.InvocationID, "pastDue", tick.IsPastDue)
	return nil, nil
}
