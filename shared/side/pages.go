package side

import (
	"context"

	"github.com/crmsync/crmsync/shared/item"
)

// PageLister is an optional Side ability: a full listing handed over page by
// page, so that a first sync over a large scope need not hold every record
// at once. The engine uses it for a kind's first listing (no cursor) when
// the kind has no stored links (none to find absent from the listing),
// matching each page against the other side's records. Sides without it
// are read with Changes as before.
type PageLister interface {
	// ListPages reads every record in scope, as Changes with cursor "" would,
	// and calls page with them a batch at a time, in the side's own order;
	// page may keep none of the slice it is given. A record whose planning
	// needs another record (an exception of a recurring event needs its
	// series) comes in the same page as that record. It returns the rest of
	// what Changes would: Kind, Cursor, Full (true), Removed and Problems,
	// with Records empty. An error from page ends the listing with it.
	ListPages(ctx context.Context, scope item.Scope, page func(recs []item.Record) error) (item.Changes, error)
}
