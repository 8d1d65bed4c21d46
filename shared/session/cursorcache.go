package session

import (
	"context"

	"github.com/crmsync/crmsync/shared/tablestore"
)

// cursorRows returns the user's stored cursor rows by row key, read with one
// query of the user's partition on first use (a few rows: two per kind),
// instead of one point read per kind and side — eight reads of an idle
// session's eleven. Writes of this State keep the copy current.
func (s *State) cursorRows(ctx context.Context) (map[string]tablestore.Entity, error) {
	if s.cursorCache != nil {
		return s.cursorCache, nil
	}
	rows := map[string]tablestore.Entity{}
	err := s.scan(ctx, CursorsTable, tablestore.Query{PartitionKey: s.user}, func(e tablestore.Entity) error {
		rows[e.RowKey] = e
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.cursorCache = rows
	return rows, nil
}

// cursorWritten records a cursor row written (e) or deleted (nil) by this
// State in the copy, when one was read.
func (s *State) cursorWritten(key string, e *tablestore.Entity) {
	if s.cursorCache == nil {
		return
	}
	if e == nil {
		delete(s.cursorCache, key)
		return
	}
	s.cursorCache[key] = *e
}
