package orgwatch

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/crmsync/crmsync/shared/fault"
)

// Opener opens the Querier of an organisation's integration connection. A
// connection that is gone or revoked is a fault.Reconnect error, from here
// or from the Querier's first query.
type Opener interface {
	Integration(ctx context.Context, org string) (Querier, error)
}

// Runner polls every watched organisation once: the detector's timer.
type Runner struct {
	Detector *Detector
	Index    Index
	Opener   Opener
	// Concurrency bounds the organisations polled at once (default 8).
	Concurrency int
	// Lease is how long one organisation's poll holds it (default 2
	// minutes): a poll still running, or one on another instance, makes the
	// next tick skip the organisation rather than overlap it.
	Lease time.Duration
}

// RunReport counts what one run did; it holds no content and no user.
type RunReport struct {
	Orgs      int
	Polled    int
	Busy      int
	Down      int
	Failed    int
	Queries   int
	Requested int
	Behind    int
}

// Run polls each watched organisation at now, at most Concurrency at once,
// each under its lease. One organisation's failure does not stop the
// others; the errors are joined.
func (r *Runner) Run(ctx context.Context, now time.Time) (RunReport, error) {
	var rep RunReport
	orgs, err := r.Index.Orgs(ctx)
	if err != nil {
		return rep, err
	}
	rep.Orgs = len(orgs)
	n := r.Concurrency
	if n <= 0 {
		n = 8
	}
	ttl := r.Lease
	if ttl <= 0 {
		ttl = 2 * time.Minute
	}
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	slots := make(chan struct{}, n)
	for _, o := range orgs {
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			p, err := r.pollOne(ctx, o.ID, now, ttl)
			mu.Lock()
			defer mu.Unlock()
			rep.Queries += p.Queries
			rep.Requested += len(p.Requested)
			if p.Behind {
				rep.Behind++
			}
			switch {
			case errors.Is(err, ErrBusy):
				rep.Busy++
			case errors.Is(err, ErrDown):
				rep.Down++
			case err != nil:
				rep.Failed++
				errs = append(errs, err)
			default:
				rep.Polled++
			}
		}()
	}
	wg.Wait()
	return rep, errors.Join(errs...)
}

func (r *Runner) pollOne(ctx context.Context, org string, now time.Time, ttl time.Duration) (Report, error) {
	release, err := r.Index.lease(ctx, org, now, ttl)
	if err != nil {
		return Report{}, err
	}
	defer release()
	q, err := r.Opener.Integration(ctx, org)
	if fault.Is(err, fault.Reconnect) {
		// Gone, revoked or refused before any query — even on the
		// organisation's first poll, which makes none: the users'
		// schedules come back to their plan's interval.
		return Report{Changed: map[string]int{}}, r.Detector.down(ctx, org, err, now)
	}
	if err != nil {
		return Report{}, err
	}
	return r.Detector.Poll(ctx, org, q, now)
}

// down records org's detector down (the users told, when that changed) and
// returns cause as ErrDown.
func (d *Detector) down(ctx context.Context, org string, cause error, now time.Time) error {
	_, _, up, err := d.watermarks(ctx, org)
	if err != nil {
		return err
	}
	users, err := d.everyone(ctx, org)
	if err != nil {
		return err
	}
	if werr := d.setUp(ctx, org, false, up, users, now); werr != nil {
		return fmt.Errorf("%w: %w (and the users' schedules: %v)", ErrDown, cause, werr)
	}
	return fmt.Errorf("%w: %w", ErrDown, cause)
}
