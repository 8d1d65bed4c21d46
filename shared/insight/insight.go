// Package insight keeps what the dashboard shows about sync over time: a
// daily roll-up of each user's sessions and of each organisation's (history),
// each running session's progress, and the field conflicts the merge settled.
// It implements session.Observer.
//
// Only identifiers, counts and times are stored, never a name or a field
// value (DESIGN.md's privacy rule). Storage stays bounded:
//   - history: one row per user per UTC day it synced, and per organisation
//     per day at most historyShards rows; a day's rows older than Retention
//     are deleted when the partition's next new day is written, and reads
//     never look further back;
//   - progress: one row per user, overwritten;
//   - conflicts: one row per settled conflict, deleted after Retention when
//     the user's next new history day is written.
package insight

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/crmsync/crmsync/shared/tablestore"
)

// Tables this package owns.
const (
	// HistoryTable holds one row per user per day: PartitionKey user,
	// RowKey the day (2006-01-02).
	HistoryTable = "historydays"
	// OrgHistoryTable holds an organisation's days: PartitionKey org,
	// RowKey day + "|" + shard. Its rows name no user.
	OrgHistoryTable = "historyorgs"
	// ProgressTable holds each user's current or last session's progress:
	// PartitionKey user, RowKey "progress".
	ProgressTable = "progress"
	// ConflictsTable holds settled conflicts: PartitionKey user, RowKey an
	// inverted time and a sequence so the newest lists first.
	ConflictsTable = "conflicts"
)

// Retention is how far back history and the conflict log reach.
const Retention = 90 * 24 * time.Hour

// Days is Retention in days: the longest history a page shows.
const Days = 90

// OrgOf tells a user's organisation ("" for none); account.Accounts.OrgOf
// does.
type OrgOf func(ctx context.Context, user string) (string, error)

// Store is the insight tables over a table store. Construct with New.
type Store struct {
	tables tablestore.Store
	orgOf  OrgOf
	log    *slog.Logger
	now    func() time.Time

	mu  sync.Mutex
	seq int
}

// New returns the store. orgOf may be nil (no organisation history); log
// and now default to discarding and time.Now.
func New(tables tablestore.Store, orgOf OrgOf, log *slog.Logger, now func() time.Time) *Store {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &Store{tables: tables, orgOf: orgOf, log: log, now: now}
}

// dayKey is a day's RowKey.
func dayKey(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// firstDay is the first day of a days-long history ending on the day of now.
func firstDay(now time.Time, days int) time.Time {
	return now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -(days - 1))
}
