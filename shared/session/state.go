package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/reconcile"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// Tables the session state lives in. Every row is keyed by the user so that
// deleting an account is a partition sweep per table.
const (
	LinksTable    = "links"
	CursorsTable  = "cursors"
	IntentsTable  = "intents"
	IssuesTable   = "issues"
	SessionsTable = "sessions"
)

// maxBatch is the table store's entity-group transaction limit.
const maxBatch = 100

// State reads and writes one user's sync state. It stores only identifiers,
// change markers and keyed fingerprints (the privacy rule); the one exception is
// an open issue's item name, which the user needs to recognise the item and
// which is deleted with the issue.
type State struct {
	store tablestore.Store
	user  string
	// writes counts table write operations (a transaction counts once).
	writes int
	// cursorCache holds the user's cursor rows once read (cursorcache.go).
	cursorCache map[string]tablestore.Entity
	// index holds each kind's link counts and known link rows (linkindex.go).
	index map[item.Kind]*kindIndex
	// packs are the packed intent rows read or written (intentpack.go).
	packs map[string]*packRow
}

// NewState returns the state of user in store.
func NewState(store tablestore.Store, user string) *State {
	return &State{store: store, user: user}
}

func (s *State) linkPartition(kind item.Kind) string { return s.user + "|" + string(kind) }

// Links loads every stored link of kind (not the rows derived from them,
// which sort after every link: see linkindex.go).
func (s *State) Links(ctx context.Context, kind item.Kind) ([]reconcile.Link, error) {
	var out []reconcile.Link
	ix := s.kindIndex(kind)
	clear(ix.rows)
	clear(ix.aside)
	ix.complete = false
	err := s.scan(ctx, LinksTable, tablestore.Query{PartitionKey: s.linkPartition(kind), RowKeyTo: derivedFrom}, func(e tablestore.Entity) error {
		l, err := linkFrom(kind, e)
		if err != nil {
			return err
		}
		s.seenLink(kind, e, l)
		out = append(out, l)
		return nil
	})
	ix.complete = err == nil
	return out, err
}

func (s *State) scan(ctx context.Context, table string, q tablestore.Query, each func(tablestore.Entity) error) error {
	for {
		page, err := s.store.Query(ctx, table, q)
		if err != nil {
			return err
		}
		for _, e := range page.Entities {
			if err := each(e); err != nil {
				return err
			}
		}
		if page.Continuation == "" {
			return nil
		}
		q.Continuation = page.Continuation
	}
}

func linkFrom(kind item.Kind, e tablestore.Entity) (reconcile.Link, error) {
	l := reconcile.Link{Kind: kind, CRMID: e.RowKey}
	l.MailboxID, _ = e.Properties["MailboxID"].(string)
	l.CRMVersion, _ = e.Properties["CRMVersion"].(string)
	l.MailboxVersion, _ = e.Properties["MailboxVersion"].(string)
	l.LastSynced, _ = e.Properties["LastSynced"].(time.Time)
	if fp, _ := e.Properties["Fingerprints"].(string); fp != "" {
		if err := json.Unmarshal([]byte(fp), &l.Fingerprints); err != nil {
			return l, fmt.Errorf("session: link %s has unreadable fingerprints: %w", e.RowKey, err)
		}
	}
	return l, nil
}

func (s *State) linkEntity(l reconcile.Link) tablestore.Entity {
	fp, _ := json.Marshal(l.Fingerprints) // map[string]string cannot fail
	props := map[string]any{
		"MailboxID": l.MailboxID, "CRMVersion": l.CRMVersion, "MailboxVersion": l.MailboxVersion,
		"Fingerprints": string(fp),
	}
	if !l.LastSynced.IsZero() { // table storage dates start in 1601
		props["LastSynced"] = l.LastSynced.UTC()
	}
	return tablestore.Entity{PartitionKey: s.linkPartition(l.Kind), RowKey: l.CRMID, Properties: props}
}

// LinkChange is one link to save (Drop false) or delete (Drop true).
type LinkChange struct {
	Link reconcile.Link
	Drop bool
}

// CommitLinks writes link changes of one kind in transactions of up to 100,
// with the kind's counts and derived rows once it has them (linkindex.go).
func (s *State) CommitLinks(ctx context.Context, kind item.Kind, changes []LinkChange) error {
	if len(changes) == 0 {
		return nil
	}
	if err := storableIDs(changes); err != nil {
		return err
	}
	ix, err := s.loadCounts(ctx, kind)
	if err != nil {
		return err
	}
	if ix.counted {
		return s.commitCounted(ctx, kind, changes)
	}
	return s.commitLinks(ctx, changes)
}

// commitLinks writes link changes alone (a kind not counted yet).
func (s *State) commitLinks(ctx context.Context, changes []LinkChange) error {
	// One key may only appear once per transaction: keep the last change of each.
	last := map[string]int{}
	for i, c := range changes {
		last[c.Link.CRMID] = i
	}
	var ops []tablestore.Op
	flush := func() error {
		if len(ops) == 0 {
			return nil
		}
		s.writes++
		_, err := s.store.Batch(ctx, LinksTable, ops)
		ops = ops[:0]
		return err
	}
	for i, c := range changes {
		if last[c.Link.CRMID] != i || c.Link.CRMID == "" {
			continue
		}
		e := s.linkEntity(c.Link)
		if c.Drop {
			ops = append(ops, tablestore.Op{Kind: tablestore.OpDelete, Entity: tablestore.Entity{PartitionKey: e.PartitionKey, RowKey: e.RowKey, ETag: "*"}})
		} else {
			ops = append(ops, tablestore.Op{Kind: tablestore.OpUpsert, Entity: e})
		}
		if len(ops) == maxBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	err := flush()
	if errors.Is(err, tablestore.ErrNotFound) {
		// A drop of a link already gone fails its whole transaction; replay the
		// changes one by one so the rest still commits.
		return s.commitOneByOne(ctx, changes, last)
	}
	return err
}

func (s *State) commitOneByOne(ctx context.Context, changes []LinkChange, last map[string]int) error {
	for i, c := range changes {
		if last[c.Link.CRMID] != i || c.Link.CRMID == "" {
			continue
		}
		e := s.linkEntity(c.Link)
		s.writes++
		var err error
		if c.Drop {
			err = s.store.Delete(ctx, LinksTable, e.PartitionKey, e.RowKey, "*")
			if errors.Is(err, tablestore.ErrNotFound) {
				err = nil
			}
		} else {
			_, err = s.store.Upsert(ctx, LinksTable, e)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func cursorKey(kind item.Kind, side reconcile.Side) string { return string(kind) + "|" + string(side) }

// cursor returns the stored change cursor of kind on side ("" if none) and
// when it was saved.
func (s *State) cursor(ctx context.Context, kind item.Kind, side reconcile.Side) (string, time.Time, string, error) {
	rows, err := s.cursorRows(ctx)
	if err != nil {
		return "", time.Time{}, "", err
	}
	e, ok := rows[cursorKey(kind, side)]
	if !ok {
		return "", time.Time{}, "", nil
	}
	c, _ := e.Properties["Cursor"].(string)
	saved, _ := e.Properties["Saved"].(time.Time)
	fields, _ := e.Properties["Fields"].(string)
	return c, saved, fields, nil
}

// Cursors are the change cursors of one kind on both sides, as loaded.
type Cursors struct {
	Old   map[reconcile.Side]string
	saved time.Time
	// had are the fields beyond the kind's defaults that each side's stored
	// cursor was read with (field names: configuration, never content);
	// want are those of this session, stored with the next cursors.
	had  map[reconcile.Side][]string
	want []string
}

// addedFields lists the fields of fields beyond kind's defaults, sorted.
func addedFields(kind item.Kind, fields []string) []string {
	var out []string
	for _, f := range fields {
		if !slices.Contains(item.DefaultFields[kind], f) {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return out
}

// readWith makes the cursors carry the fields a session syncs. When a field
// is new to a stored cursor (a custom mapping added since), no change feed
// would bring the records whose values it should fill, so the cursors are
// dropped and both sides read in full once; it reports whether they were.
func (c *Cursors) readWith(kind item.Kind, fields []string) bool {
	c.want = addedFields(kind, fields)
	full := false
	for side, cur := range c.Old {
		if cur == "" {
			continue
		}
		for _, f := range c.want {
			if !slices.Contains(c.had[side], f) {
				full = true
			}
		}
	}
	if full {
		c.Old = map[reconcile.Side]string{}
	}
	return full
}

// LoadCursors reads the cursors of kind on both sides.
func (s *State) LoadCursors(ctx context.Context, kind item.Kind) (Cursors, error) {
	cs := Cursors{Old: map[reconcile.Side]string{}}
	for _, side := range []reconcile.Side{reconcile.CRM, reconcile.Mailbox} {
		c, saved, fields, err := s.cursor(ctx, kind, side)
		if err != nil {
			return cs, err
		}
		cs.Old[side] = c
		if fields != "" {
			if cs.had == nil {
				cs.had = map[reconcile.Side][]string{}
			}
			cs.had[side] = strings.Split(fields, ",")
		}
		if c != "" && (cs.saved.IsZero() || saved.Before(cs.saved)) {
			cs.saved = saved
		}
	}
	return cs, nil
}

// CursorRefresh is how long a session that saw no change may keep the stored
// cursors instead of writing the newer ones: idle sessions then write nothing
// but their lease, while cursors never fall far behind the sides' windows
// (Salesforce replicates 15 to 30 days back; Graph delta tokens age out).
const CursorRefresh = 6 * time.Hour

// SaveCursors stores the cursors of kind for both sides in one transaction,
// skipping the write when neither changed, and — when quiet (the session saw
// no change of this kind) — while the stored ones are younger than CursorRefresh.
func (s *State) SaveCursors(ctx context.Context, kind item.Kind, cs Cursors, next map[reconcile.Side]string, quiet bool, now time.Time) error {
	if quiet && !cs.saved.IsZero() && now.Sub(cs.saved) < CursorRefresh {
		return nil
	}
	var ops []tablestore.Op
	for _, side := range []reconcile.Side{reconcile.CRM, reconcile.Mailbox} {
		if next[side] == "" || (next[side] == cs.Old[side] && !quiet) {
			continue
		}
		props := map[string]any{"Cursor": next[side], "Saved": now.UTC()}
		if len(cs.want) > 0 {
			props["Fields"] = strings.Join(cs.want, ",")
		}
		ops = append(ops, tablestore.Op{Kind: tablestore.OpUpsert, Entity: tablestore.Entity{
			PartitionKey: s.user, RowKey: cursorKey(kind, side), Properties: props,
		}})
	}
	if len(ops) == 0 {
		return nil
	}
	s.writes++
	if _, err := s.store.Batch(ctx, CursorsTable, ops); err != nil {
		s.cursorCache = nil // unknown what stands: read again
		return err
	}
	for _, op := range ops {
		s.cursorWritten(op.Entity.RowKey, &op.Entity)
	}
	return nil
}

// ForgetCursors deletes the stored cursors of kind on sides, so that the next
// session reads those sides in full.
func (s *State) ForgetCursors(ctx context.Context, kind item.Kind, sides []reconcile.Side) error {
	for _, side := range sides {
		s.writes++
		if err := s.store.Delete(ctx, CursorsTable, s.user, cursorKey(kind, side), "*"); err != nil && !errors.Is(err, tablestore.ErrNotFound) {
			s.cursorCache = nil
			return err
		}
		s.cursorWritten(cursorKey(kind, side), nil)
	}
	return nil
}

// Intent is a create recorded before it is sent: the marker stamped on the
// record, which side it goes to, and the link to save once it exists.
type Intent struct {
	Marker string
	Kind   item.Kind
	Target reconcile.Side
	Since  time.Time
	// Link is the planned link; the created record's ID completes it.
	Link reconcile.Link
	// Record is only in memory (never stored): what was sent, for sides that
	// find created records by their fields. After a crash it is unknown, and
	// such sides find the record by marker or by the fields of the re-planned
	// create (the runner passes that record instead).
	Record item.Record
}

// RecordIntents stores intents before their creates are sent, packed
// (intentpack.go).
func (s *State) RecordIntents(ctx context.Context, intents []Intent) error {
	return s.recordPacked(ctx, intents)
}

// PendingIntents lists intents left by a session that did not finish.
func (s *State) PendingIntents(ctx context.Context) ([]Intent, error) {
	var out []Intent
	err := s.scan(ctx, IntentsTable, tablestore.Query{PartitionKey: s.user}, func(e tablestore.Entity) error {
		if isPacked(e.RowKey) {
			ins, err := s.unpack(e)
			out = append(out, ins...)
			return err
		}
		in := Intent{Marker: e.RowKey}
		k, _ := e.Properties["Kind"].(string)
		t, _ := e.Properties["Target"].(string)
		in.Kind, in.Target = item.Kind(k), reconcile.Side(t)
		in.Since, _ = e.Properties["Since"].(time.Time)
		in.Link.Kind = in.Kind
		in.Link.CRMID, _ = e.Properties["CRMID"].(string)
		in.Link.MailboxID, _ = e.Properties["MailboxID"].(string)
		in.Link.CRMVersion, _ = e.Properties["CRMVersion"].(string)
		in.Link.MailboxVersion, _ = e.Properties["MailboxVersion"].(string)
		if fp, _ := e.Properties["Fingerprints"].(string); fp != "" {
			if err := json.Unmarshal([]byte(fp), &in.Link.Fingerprints); err != nil {
				return fmt.Errorf("session: intent %s unreadable: %w", e.RowKey, err)
			}
		}
		out = append(out, in)
		return nil
	})
	return out, err
}

// ClearIntents deletes intents whose creates are settled (linked or known not
// to have happened).
func (s *State) ClearIntents(ctx context.Context, markers []string) error {
	markers, err := s.clearPacked(ctx, markers)
	if err != nil {
		return err
	}
	var ops []tablestore.Op
	flush := func() error {
		if len(ops) == 0 {
			return nil
		}
		s.writes++
		_, err := s.store.Batch(ctx, IntentsTable, ops)
		if errors.Is(err, tablestore.ErrNotFound) {
			for _, op := range ops {
				if err := s.store.Delete(ctx, IntentsTable, s.user, op.Entity.RowKey, "*"); err != nil && !errors.Is(err, tablestore.ErrNotFound) {
					return err
				}
			}
			err = nil
		}
		ops = ops[:0]
		return err
	}
	seen := map[string]bool{}
	for _, m := range markers {
		if seen[m] {
			continue
		}
		seen[m] = true
		ops = append(ops, tablestore.Op{Kind: tablestore.OpDelete, Entity: tablestore.Entity{PartitionKey: s.user, RowKey: m, ETag: "*"}})
		if len(ops) == maxBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// Issue is an item that could not sync, as the user sees it.
type Issue struct {
	Kind     item.Kind
	Side     reconcile.Side
	RecordID string
	// Name is the item's display name: content, kept only while the issue is open.
	Name      string
	Code      string
	Reason    string
	FirstSeen time.Time
	LastSeen  time.Time
	Attempts  int64
	// Confirmed is when the user confirmed a guard issue's held-back removals
	// (zero = not confirmed); see ConfirmGuard.
	Confirmed time.Time
}

func issueKey(kind item.Kind, side reconcile.Side, id string) string {
	return string(kind) + "|" + string(side) + "|" + id
}

// Issues lists the user's open issues.
func (s *State) Issues(ctx context.Context) ([]Issue, error) {
	var out []Issue
	err := s.scan(ctx, IssuesTable, tablestore.Query{PartitionKey: s.user}, func(e tablestore.Entity) error {
		out = append(out, issueFrom(e))
		return nil
	})
	return out, err
}

func issueFrom(e tablestore.Entity) Issue {
	var is Issue
	k, _ := e.Properties["Kind"].(string)
	sd, _ := e.Properties["Side"].(string)
	is.Kind, is.Side = item.Kind(k), reconcile.Side(sd)
	is.RecordID, _ = e.Properties["RecordID"].(string)
	is.Name, _ = e.Properties["Name"].(string)
	is.Code, _ = e.Properties["Code"].(string)
	is.Reason, _ = e.Properties["Reason"].(string)
	is.FirstSeen, _ = e.Properties["FirstSeen"].(time.Time)
	is.LastSeen, _ = e.Properties["LastSeen"].(time.Time)
	is.Attempts, _ = e.Properties["Attempts"].(int64)
	is.Confirmed, _ = e.Properties["Confirmed"].(time.Time)
	return is
}

// RaiseIssues records issues, keeping FirstSeen and counting attempts.
func (s *State) RaiseIssues(ctx context.Context, issues []Issue, now time.Time) error {
	if len(issues) == 0 {
		return nil
	}
	existing := map[string]Issue{}
	open, err := s.Issues(ctx)
	if err != nil {
		return err
	}
	for _, is := range open {
		existing[issueKey(is.Kind, is.Side, is.RecordID)] = is
	}
	var ops []tablestore.Op
	seen := map[string]bool{}
	for _, is := range issues {
		key := issueKey(is.Kind, is.Side, is.RecordID)
		if seen[key] {
			continue
		}
		seen[key] = true
		is.FirstSeen, is.LastSeen, is.Attempts = now.UTC(), now.UTC(), 1
		if old, ok := existing[key]; ok {
			is.FirstSeen, is.Attempts = old.FirstSeen, old.Attempts+1
		}
		// Merge, not replace: a confirmation the user gave while this session
		// ran (ConfirmGuard) stays on the row for the next session.
		ops = append(ops, tablestore.Op{Kind: tablestore.OpMerge, Entity: tablestore.Entity{
			PartitionKey: s.user, RowKey: key,
			Properties: map[string]any{
				"Kind": string(is.Kind), "Side": string(is.Side), "RecordID": is.RecordID, "Name": is.Name,
				"Code": is.Code, "Reason": is.Reason, "FirstSeen": is.FirstSeen, "LastSeen": is.LastSeen,
				"Attempts": is.Attempts,
			},
		}})
		if len(ops) == maxBatch {
			s.writes++
			if _, err := s.store.Batch(ctx, IssuesTable, ops); err != nil {
				return err
			}
			ops = ops[:0]
		}
	}
	if len(ops) > 0 {
		s.writes++
		_, err := s.store.Batch(ctx, IssuesTable, ops)
		return err
	}
	return nil
}

// ClearIssues deletes the open issues of records that have synced, given the
// set of open issue keys loaded at the start of the session.
func (s *State) ClearIssues(ctx context.Context, keys []string) error {
	for _, k := range keys {
		s.writes++
		if err := s.store.Delete(ctx, IssuesTable, s.user, k, "*"); err != nil && !errors.Is(err, tablestore.ErrNotFound) {
			return err
		}
	}
	return nil
}

// Report is what one session did, stored for the dashboard. It holds counts
// and classes, never content.
type Report struct {
	SessionID string
	Reason    string
	Started   time.Time
	Duration  time.Duration
	// Outcome is "ok", "partial" (some items failed), "quota", "reconnect",
	// "busy" (another session held the lease) or "error".
	Outcome string
	// Detail is a short, content-free explanation of a non-ok outcome.
	Detail string
	// Counts maps "kind|direction|op" (e.g. "contact|to-mailbox|create") to a count.
	Counts map[string]int
	// Calls are the API calls used per side.
	Calls map[string]int64
	// TableWrites counts table write transactions, the lease included.
	TableWrites int
	Issues      int
	Conflicts   int
}

// SaveReport stores r under an inverted time key so the newest lists first.
func (s *State) SaveReport(ctx context.Context, r Report) error {
	counts, _ := json.Marshal(r.Counts)
	calls, _ := json.Marshal(r.Calls)
	key := reportKey(r.Started, r.SessionID)
	s.writes++
	_, err := s.store.Upsert(ctx, SessionsTable, tablestore.Entity{
		PartitionKey: s.user, RowKey: key,
		Properties: map[string]any{
			"SessionID": r.SessionID, "Reason": r.Reason, "Started": r.Started.UTC(),
			"DurationMs": r.Duration.Milliseconds(), "Outcome": r.Outcome, "Detail": r.Detail,
			"Counts": string(counts), "Calls": string(calls), "TableWrites": int64(r.TableWrites),
			"Issues": int64(r.Issues), "Conflicts": int64(r.Conflicts),
		},
	})
	return err
}

// Reports lists up to limit of the user's latest session results, newest first.
func (s *State) Reports(ctx context.Context, limit int) ([]Report, error) {
	page, err := s.store.Query(ctx, SessionsTable, tablestore.Query{PartitionKey: s.user, Limit: limit})
	if err != nil {
		return nil, err
	}
	var out []Report
	for _, e := range page.Entities {
		out = append(out, reportFrom(e))
	}
	return out, nil
}

// crmCalls is the key of the CRM side's API calls in Report.Calls.
const crmCalls = "crm"

// reportKey is a report's RowKey: the inverted start time, so the newest
// lists first, then the session.
func reportKey(started time.Time, sessionID string) string {
	return invertedTime(started) + "|" + sessionID
}

// invertedTime is the RowKey prefix of the reports started at t.
func invertedTime(t time.Time) string {
	return fmt.Sprintf("%019d", int64(1<<62)-t.UnixNano())
}

// Writes reports how many table write operations this State made.
func (s *State) Writes() int { return s.writes }
