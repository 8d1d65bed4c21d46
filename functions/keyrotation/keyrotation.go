// Package keyrotation is the timer function that adds a version of the
// sealing key and re-seals every stored secret with it; older versions keep
// opening until nothing uses them and they are retired.
package keyrotation

import (
	"context"
	"log/slog"

	"github.com/crmsync/crmsync/shared/funchost"
	"github.com/crmsync/crmsync/shared/keyring"
)

// Schedule is the function's NCRONTAB schedule: on the first day of each month
// at 03:00 UTC.
const Schedule = "0 0 3 1 * *"

// Rotator is the timer function.
type Rotator struct {
	log       *slog.Logger
	ring      keyring.Ring
	resealers []keyring.Resealer
}

// New returns the key rotation function over ring, re-sealing with each resealer.
func New(log *slog.Logger, ring keyring.Ring, resealers ...keyring.Resealer) *Rotator {
	return &Rotator{log: log.With("function", "keyrotation"), ring: ring, resealers: resealers}
}

// Run rotates once and logs counts only.
func (r *Rotator) Run(ctx context.Context, tick funchost.TimerTrigger) (funchost.Outputs, error) {
	rep, err := keyring.Rotate(ctx, r.ring, all(r.resealers))
	r.log.InfoContext(ctx, "key rotated", "invocation", tick.InvocationID, "previous", rep.Previous, "version", rep.Version,
		"counts", rep.ResealCounts, "retired", rep.Retired, "err", err)
	return nil, err
}

// all re-seals with every resealer in turn.
type all []keyring.Resealer

func (a all) Reseal(ctx context.Context, version int) (keyring.ResealCounts, error) {
	var total keyring.ResealCounts
	for _, r := range a {
		c, err := r.Reseal(ctx, version)
		total.Rows += c.Rows
		total.Values += c.Values
		total.Resealed += c.Resealed
		total.Current += c.Current
		total.Retried += c.Retried
		total.Failed += c.Failed
		for v, n := range c.ByVersion {
			if total.ByVersion == nil {
				total.ByVersion = map[int]int{}
			}
			total.ByVersion[v] += n
		}
		if err != nil {
			return total, err
		}
	}
	return total, nil
}
