package keyring

import (
	"context"
	"fmt"
	"slices"
)

// Resealer re-seals stored values under a new key version. The connection
// store implements it; Rotate calls it.
type Resealer interface {
	// Reseal re-seals every stored value that another version sealed so that
	// version seals it, without overwriting a concurrent change (conditional
	// updates, retried), and counts what it did.
	Reseal(ctx context.Context, version int) (ResealCounts, error)
}

// ResealCounts tells what one re-sealing pass did.
type ResealCounts struct {
	// Rows is how many stored rows were read.
	Rows int
	// Values is how many sealed values those rows held.
	Values int
	// Resealed values moved to the new version.
	Resealed int
	// Current values were already sealed with the new version.
	Current int
	// Retried counts conditional updates lost to a concurrent writer and redone.
	Retried int
	// Failed values did not open (tampered, or their key is gone); they stay
	// as they were and are reported, never dropped.
	Failed int
	// ByVersion counts the values per key version after the pass, failed
	// ones included.
	ByVersion map[int]int
}

// Report is what Rotate did.
type Report struct {
	// Previous is the version that was current before the rotation.
	Previous int
	// Version is the version Rotate added.
	Version int
	ResealCounts
	// Retired lists the versions retired at the end.
	Retired []int
}

// Rotate adds a key version, re-seals every value the older versions sealed,
// and then retires the versions that are both unused and older than the
// previous current one. The previous version is kept for one more period:
// other instances may still seal with it for up to CurrentTTL after the Add,
// and must be able to open what they wrote; the next rotation retires it.
// A version that still seals anything — a value that did not open included —
// is never retired.
func Rotate(ctx context.Context, ring Ring, r Resealer) (Report, error) {
	prev, err := ring.Current(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("keyring: rotate: %w", err)
	}
	rep := Report{Previous: prev.Version}
	if rep.Version, err = ring.Add(ctx); err != nil {
		return rep, fmt.Errorf("keyring: rotate: %w", err)
	}
	if rep.ResealCounts, err = r.Reseal(ctx, rep.Version); err != nil {
		return rep, fmt.Errorf("keyring: rotate: re-sealing under version %d: %w", rep.Version, err)
	}
	versions, err := ring.Versions(ctx)
	if err != nil {
		return rep, fmt.Errorf("keyring: rotate: %w", err)
	}
	for _, v := range versions {
		if v >= prev.Version || rep.ByVersion[v] > 0 {
			continue
		}
		if err := ring.Retire(ctx, v); err != nil {
			return rep, fmt.Errorf("keyring: rotate: %w", err)
		}
		rep.Retired = append(rep.Retired, v)
	}
	slices.Sort(rep.Retired)
	return rep, nil
}
