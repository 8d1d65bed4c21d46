package salesforce

import (
	"context"

	"github.com/crmsync/crmsync/shared/item"
)

// ListPages is side.PageLister: a first sync's full listing, handed over a
// query batch at a time (Options.QueryBatch records), so that the session
// holds one batch of records, not the whole scope. It reads and reports what
// Changes with no cursor does. Events come as one page: the series of an
// exception is folded from the occurrences read with it (series.go), so the
// whole window is read before any of it is handed over.
func (s *Side) ListPages(ctx context.Context, scope item.Scope, page func([]item.Record) error) (item.Changes, error) {
	r, now, err := s.openReader(ctx, scope)
	if err != nil {
		return item.Changes{}, err
	}
	if scope.Kind == item.Event {
		out, err := r.full(ctx, now)
		if err != nil {
			return item.Changes{}, err
		}
		if len(out.Records) > 0 {
			if err := page(out.Records); err != nil {
				return item.Changes{}, err
			}
		}
		out.Records = nil
		return out, nil
	}
	q, err := r.soql(ctx, r.and(r.scopeCond()))
	if err != nil {
		return item.Changes{}, err
	}
	size := s.c.opts.QueryBatch
	batch := make([]item.Record, 0, size)
	err = s.c.Query(ctx, q, func(rec Record) error {
		batch = append(batch, s.toItem(r.kind, r.m, rec))
		if len(batch) < size {
			return nil
		}
		err := page(batch)
		clear(batch) // the page's records are the planner's now, not the reader's
		batch = batch[:0]
		return err
	})
	if err == nil && len(batch) > 0 {
		err = page(batch)
	}
	if err != nil {
		return item.Changes{}, err
	}
	return r.fullTail(now), nil
}
