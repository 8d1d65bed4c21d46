package insight

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/session"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// historyShards spreads an organisation's day over this many rows, so its
// users' sessions ending at the same moment seldom race for one ETag. An
// organisation's 90 days are then at most 90×historyShards rows: one query
// page.
const historyShards = 8

// writeAttempts bounds the read-merge-write retries of one day row.
const writeAttempts = 8

// Day is one day's roll-up: counts only.
type Day struct {
	// Day is the UTC day's midnight.
	Day time.Time
	// Moved counts records moved by "kind|direction" (direction to-crm,
	// to-mailbox or link).
	Moved map[string]int
	// Problems counts the issues sessions raised that day.
	Problems int
	// Outcomes counts sessions by outcome (ok, partial, quota, reconnect,
	// error, retry). Sessions that changed nothing and raised nothing are
	// not counted: they write no row, so an idle sync costs no table write.
	Outcomes map[string]int
	// CRMCalls are the Salesforce API calls made that day, idle sessions'
	// included (as of the day's last counted session); CRMLimit is the
	// org's daily API limit as Salesforce last reported it (0 unknown).
	CRMCalls int
	CRMLimit int
	// Conflicts counts the field conflicts the merge settled.
	Conflicts int
}

// Sessions is the number of counted sessions.
func (d Day) Sessions() int {
	n := 0
	for _, v := range d.Outcomes {
		n += v
	}
	return n
}

// MovedTotal is the number of records moved.
func (d Day) MovedTotal() int {
	n := 0
	for _, v := range d.Moved {
		n += v
	}
	return n
}

// idle is a session that changed nothing and raised nothing.
func idle(r session.Report) bool {
	return r.Outcome == "ok" && len(r.Counts) == 0 && r.Issues == 0 && r.Conflicts == 0
}

// Ended rolls a finished session into its user's day and its
// organisation's. Failures are logged: history must never fail a sync.
func (s *Store) Ended(ctx context.Context, e session.Ended) {
	if idle(e.Report) {
		return
	}
	at := e.Report.Started
	add := dayFromReport(e)
	var before Day
	err := s.merge(ctx, HistoryTable, e.User, dayKey(at), func(d *Day) {
		before = *d
		d.add(add)
		d.CRMCalls = max(before.CRMCalls, e.CRMCallsToday)
	})
	if err != nil {
		s.log.Warn("history: user day not saved", "user", e.User, "err", err)
		return
	}
	if s.orgOf == nil {
		return
	}
	org, err := s.orgOf(ctx, e.User)
	if err != nil || org == "" {
		if err != nil {
			s.log.Warn("history: user's organisation unknown", "user", e.User, "err", err)
		}
		return
	}
	// The user's tally is a running total for the day: the organisation
	// gains what it grew by since this user's last counted session.
	add.CRMCalls = max(0, e.CRMCallsToday-before.CRMCalls)
	err = s.merge(ctx, OrgHistoryTable, org, dayKey(at)+"|"+shardOf(e.User), func(d *Day) { d.add(add) })
	if err != nil {
		s.log.Warn("history: organisation day not saved", "user", e.User, "err", err)
	}
}

func dayFromReport(e session.Ended) Day {
	d := Day{Moved: map[string]int{}, Outcomes: map[string]int{e.Report.Outcome: 1}, Problems: e.Report.Issues,
		Conflicts: e.Report.Conflicts, CRMLimit: e.CRMLimit}
	for k, n := range e.Report.Counts {
		parts := strings.SplitN(k, "|", 3)
		if len(parts) < 2 || n <= 0 {
			continue
		}
		d.Moved[parts[0]+"|"+parts[1]] += n
	}
	return d
}

// add adds o's counts to d (the limit is the larger one).
func (d *Day) add(o Day) {
	if d.Moved == nil {
		d.Moved = map[string]int{}
	}
	if d.Outcomes == nil {
		d.Outcomes = map[string]int{}
	}
	for k, n := range o.Moved {
		d.Moved[k] += n
	}
	for k, n := range o.Outcomes {
		d.Outcomes[k] += n
	}
	d.Problems += o.Problems
	d.Conflicts += o.Conflicts
	d.CRMCalls += o.CRMCalls
	d.CRMLimit = max(d.CRMLimit, o.CRMLimit)
}

func shardOf(user string) string {
	h := fnv.New32a()
	h.Write([]byte(user))
	return fmt.Sprint(h.Sum32() % historyShards)
}

// merge reads a day row, changes it and writes it back under its ETag,
// again when another writer came first. A new row first prunes the
// partition's rows older than Retention.
func (s *Store) merge(ctx context.Context, table, pk, rk string, change func(*Day)) error {
	for range writeAttempts {
		e, err := s.tables.Get(ctx, table, pk, rk)
		switch {
		case errors.Is(err, tablestore.ErrNotFound):
			d := Day{}
			change(&d)
			_, err = s.tables.Insert(ctx, table, dayEntity(pk, rk, d))
			if errors.Is(err, tablestore.ErrExists) {
				continue
			}
			if err == nil {
				s.prune(ctx, table, pk)
			}
			return err
		case err != nil:
			return err
		}
		d := dayFrom(e)
		change(&d)
		_, err = s.tables.Update(ctx, table, dayEntity(pk, rk, d), e.ETag)
		if errors.Is(err, tablestore.ErrPrecondition) || errors.Is(err, tablestore.ErrNotFound) {
			continue
		}
		return err
	}
	return fmt.Errorf("%s %s %s: still contended after %d attempts", table, pk, rk, writeAttempts)
}

// prune deletes a partition's rows keyed before the first day Retention
// keeps. It runs once per new day of the partition, so it finds a row or
// two; a partition idle for months loses its old rows on its next new day
// (reads never show them meanwhile).
func (s *Store) prune(ctx context.Context, table, pk string) {
	cutoff := dayKey(firstDay(s.now(), Days))
	if err := deleteRange(ctx, s.tables, table, pk, "", cutoff); err != nil {
		s.log.Warn("insight: old rows not pruned", "table", table, "err", err)
	}
	if table == HistoryTable {
		// The user's conflict log is keyed newest first: old rows sort last.
		if err := deleteRange(ctx, s.tables, ConflictsTable, pk, conflictKeyAt(s.now().Add(-Retention)), ""); err != nil {
			s.log.Warn("insight: old conflicts not pruned", "err", err)
		}
	}
}

// deleteRange deletes a partition's rows with from <= RowKey < to ("" =
// open), in batches of up to 100.
func deleteRange(ctx context.Context, tables tablestore.Store, table, pk, from, to string) error {
	for {
		page, err := tables.Query(ctx, table, tablestore.Query{PartitionKey: pk, RowKeyFrom: from, RowKeyTo: to, Limit: 100})
		if err != nil {
			return err
		}
		if len(page.Entities) == 0 {
			return nil
		}
		ops := make([]tablestore.Op, 0, len(page.Entities))
		for _, e := range page.Entities {
			ops = append(ops, tablestore.Op{Kind: tablestore.OpDelete, Entity: tablestore.Entity{PartitionKey: pk, RowKey: e.RowKey, ETag: "*"}})
		}
		if _, err := tables.Batch(ctx, table, ops); err != nil {
			return err
		}
	}
}

func dayEntity(pk, rk string, d Day) tablestore.Entity {
	moved, _ := json.Marshal(d.Moved)
	outcomes, _ := json.Marshal(d.Outcomes)
	return tablestore.Entity{PartitionKey: pk, RowKey: rk, Properties: map[string]any{
		"Moved": string(moved), "Outcomes": string(outcomes), "Problems": int64(d.Problems),
		"Conflicts": int64(d.Conflicts), "CRMCalls": int64(d.CRMCalls), "CRMLimit": int64(d.CRMLimit),
	}}
}

func dayFrom(e tablestore.Entity) Day {
	d := Day{Moved: map[string]int{}, Outcomes: map[string]int{}}
	if s, ok := e.Properties["Moved"].(string); ok {
		_ = json.Unmarshal([]byte(s), &d.Moved)
	}
	if s, ok := e.Properties["Outcomes"].(string); ok {
		_ = json.Unmarshal([]byte(s), &d.Outcomes)
	}
	num := func(k string) int { n, _ := e.Properties[k].(int64); return int(n) }
	d.Problems, d.Conflicts, d.CRMCalls, d.CRMLimit = num("Problems"), num("Conflicts"), num("CRMCalls"), num("CRMLimit")
	day, _ := time.Parse(time.DateOnly, strings.SplitN(e.RowKey, "|", 2)[0])
	d.Day = day
	return d
}

// History is a run of days, oldest first, one per day (days without a
// counted session are zero).
type History struct {
	Days []Day
	// Kinds are the "kind|direction" keys that moved anything, sorted.
	Kinds []string
}

// ClampDays keeps a requested span within 1..Days: a longer range is
// answered with the 90 days kept, never with a longer read.
func ClampDays(days int) int { return min(max(days, 1), Days) }

// UserHistory returns user's last days (ClampDays) ending today.
func (s *Store) UserHistory(ctx context.Context, user string, days int) (History, error) {
	return s.history(ctx, HistoryTable, user, days)
}

// OrgHistory returns an organisation's last days (ClampDays) ending today:
// every user's sessions summed. It reads one query page (at most
// Days×historyShards rows), however many users the organisation has.
func (s *Store) OrgHistory(ctx context.Context, org string, days int) (History, error) {
	return s.history(ctx, OrgHistoryTable, org, days)
}

func (s *Store) history(ctx context.Context, table, pk string, days int) (History, error) {
	days = ClampDays(days)
	first := firstDay(s.now(), days)
	byDay := map[string]*Day{}
	h := History{Days: make([]Day, days)}
	for i := range h.Days {
		h.Days[i] = Day{Day: first.AddDate(0, 0, i), Moved: map[string]int{}, Outcomes: map[string]int{}}
		byDay[dayKey(h.Days[i].Day)] = &h.Days[i]
	}
	q := tablestore.Query{PartitionKey: pk, RowKeyFrom: dayKey(first)}
	kinds := map[string]bool{}
	for {
		page, err := s.tables.Query(ctx, table, q)
		if err != nil {
			return History{}, fmt.Errorf("reading history: %w", err)
		}
		for _, e := range page.Entities {
			d := dayFrom(e)
			if slot := byDay[dayKey(d.Day)]; slot != nil {
				slot.add(d)
				for k := range d.Moved {
					kinds[k] = true
				}
			}
		}
		if page.Continuation == "" {
			break
		}
		q.Continuation = page.Continuation
	}
	h.Kinds = slices.Sorted(maps.Keys(kinds))
	return h, nil
}
