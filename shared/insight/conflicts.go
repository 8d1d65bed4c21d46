package insight

import (
	"context"
	"fmt"
	"time"

	"github.com/crmsync/crmsync/shared/session"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// Conflict is one field conflict the merge settled, as stored: ids, never
// the item's name or the field's values.
type Conflict struct {
	At        time.Time `json:"at"`
	Kind      string    `json:"kind"`
	Field     string    `json:"field"`
	Winner    string    `json:"winner"`
	Rule      string    `json:"rule"`
	CRMID     string    `json:"crmId"`
	MailboxID string    `json:"mailboxId"`
}

// Conflict stores one settled conflict. The row key is the inverted time
// and a sequence, so the log lists newest first and a session's conflicts
// of one second do not overwrite each other.
func (s *Store) Conflict(ctx context.Context, c session.ConflictNote) {
	s.mu.Lock()
	s.seq++
	seq := s.seq
	s.mu.Unlock()
	rk := fmt.Sprintf("%s|%s|%06d", conflictKeyAt(c.At), c.SessionID, seq%1_000_000)
	_, err := s.tables.Upsert(ctx, ConflictsTable, tablestore.Entity{PartitionKey: c.User, RowKey: rk, Properties: map[string]any{
		"At": c.At.UTC(), "Kind": string(c.Kind), "Field": c.Field, "Winner": string(c.Winner), "Rule": c.Rule,
		"CRMID": c.CRMID, "MailboxID": c.MailboxID,
	}})
	if err != nil {
		s.log.Warn("conflict not logged", "user", c.User, "err", err)
	}
}

// Conflicts lists up to limit of user's conflicts of the last Retention,
// newest first (one query page).
func (s *Store) Conflicts(ctx context.Context, user string, limit int) ([]Conflict, error) {
	limit = min(max(limit, 1), 1000)
	cutoff := s.now().Add(-Retention)
	page, err := s.tables.Query(ctx, ConflictsTable, tablestore.Query{PartitionKey: user, Limit: limit,
		RowKeyTo: conflictKeyAt(cutoff)})
	if err != nil {
		return nil, fmt.Errorf("reading conflicts: %w", err)
	}
	out := make([]Conflict, 0, len(page.Entities))
	for _, e := range page.Entities {
		str := func(k string) string { v, _ := e.Properties[k].(string); return v }
		at, _ := e.Properties["At"].(time.Time)
		out = append(out, Conflict{At: at, Kind: str("Kind"), Field: str("Field"), Winner: str("Winner"), Rule: str("Rule"),
			CRMID: str("CRMID"), MailboxID: str("MailboxID")})
	}
	return out, nil
}

// conflictKeyAt is the RowKey prefix of a conflict settled at t: newer
// times sort first.
func conflictKeyAt(t time.Time) string { return fmt.Sprintf("%019d", int64(1<<62)-t.UnixNano()) }
