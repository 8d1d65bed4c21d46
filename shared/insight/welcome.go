package insight

import (
	"context"
	"errors"
	"time"

	"github.com/crmsync/crmsync/shared/tablestore"
)

// welcomeKey is the RowKey of a user's first-run choices in ProgressTable
// (the user's partition, so account deletion sweeps it).
const welcomeKey = "welcome"

// ScopeChosen reports when the user confirmed what syncs in the first-run
// wizard (zero: not yet).
func (s *Store) ScopeChosen(ctx context.Context, user string) (time.Time, error) {
	e, err := s.tables.Get(ctx, ProgressTable, user, welcomeKey)
	if errors.Is(err, tablestore.ErrNotFound) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	at, _ := e.Properties["ScopeChosen"].(time.Time)
	return at, nil
}

// ChooseScope records that the user confirmed what syncs.
func (s *Store) ChooseScope(ctx context.Context, user string) error {
	_, err := s.tables.Upsert(ctx, ProgressTable, tablestore.Entity{PartitionKey: user, RowKey: welcomeKey,
		Properties: map[string]any{"ScopeChosen": s.now().UTC()}})
	return err
}
