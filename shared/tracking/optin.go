package tracking

import (
	"context"
	"errors"
	"time"

	"github.com/crmsync/crmsync/shared/tablestore"
)

// choiceKey is the RowKey of a user's tracking choice in their partition
// ("u|" + user) of TokensTable; account deletion sweeps it with the rest.
const choiceKey = "s"

// ErrTrackingOff refuses a token for a user who has not turned tracking on
// (with Config.OptIn).
var ErrTrackingOff = errors.New("tracking: open tracking is off for this user; turn it on in the dashboard")

// Enabled reports whether user turned open tracking on (off until they do).
func (t *Tracker) Enabled(ctx context.Context, user string) (bool, error) {
	e, err := t.cfg.Store.Get(ctx, TokensTable, userPartition(user), choiceKey)
	if errors.Is(err, tablestore.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	on, _ := e.Properties["On"].(bool)
	return on, nil
}

// SetEnabled turns user's open tracking on or off. Messages tracked before
// keep their opens; off only stops new tokens.
func (t *Tracker) SetEnabled(ctx context.Context, user string, on bool) error {
	_, err := t.cfg.Store.Upsert(ctx, TokensTable, tablestore.Entity{PartitionKey: userPartition(user), RowKey: choiceKey,
		Properties: map[string]any{"On": on}})
	return err
}

// MessageHash is the stored form of user's message id, for finding a
// tracked message among the user's messages without storing its id.
func (t *Tracker) MessageHash(user, messageID string) string { return t.messageHash(user, messageID) }

// Tracked is one of a user's tracked messages with its opens.
type Tracked struct {
	MessageStats
	// Message is the keyed hash of the message id (see MessageHash).
	Message string
}

// Recent lists up to limit (1..MaxRecent) of user's newest tracked messages
// with their newest opens.
func (t *Tracker) Recent(ctx context.Context, user string, limit int) ([]Tracked, error) {
	limit = min(max(limit, 1), MaxRecent)
	page, err := t.cfg.Store.Query(ctx, TokensTable, tablestore.Query{
		PartitionKey: userPartition(user), RowKeyFrom: "r|", RowKeyTo: "r}", Limit: limit,
	})
	if err != nil {
		return nil, err
	}
	out := make([]Tracked, 0, len(page.Entities))
	for _, e := range page.Entities {
		token, _ := e.Properties["Token"].(string)
		hash, _ := e.Properties["Message"].(string)
		created, _ := e.Properties["Created"].(time.Time)
		n, _ := e.Properties["Recipients"].(int64)
		st, err := t.stats(ctx, token, created, int(n), true)
		if err != nil {
			return nil, err
		}
		out = append(out, Tracked{MessageStats: st, Message: hash})
	}
	return out, nil
}
