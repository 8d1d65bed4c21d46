package session

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/reconcile"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// A kind's links partition holds, beside the links (RowKey = CRM ID), rows
// derived from them, all under RowKeys starting with "~" (after every CRM ID,
// which is alphanumeric), so that a session with a few changes reads the
// links of those changes alone:
//
//	~n          the kind's link counts (All, Live): the planner's guards judge
//	            the whole kind from them
//	~m|<id>     a live link's mailbox ID → its CRM ID: the link of a changed
//	            mailbox item in two point reads
//	~d|<CRM id> a copy of a detached link: the links a new mailbox item may
//	            relink to, in one range query of the detached ones
//
// Every commit changes the links and their derived rows in one transaction
// (one partition), so a crash leaves both or neither: no count ever drifts
// from the rows it counts. Each link operation is conditional on the state it
// was counted from (insert when believed absent, update and delete under the
// ETag read), and the count row is written under its ETag; a retry, a
// replayed session or a second writer (a session that lost its lease) fails
// the transaction instead of counting twice, and the commit reads those rows
// again and recounts (commitCounted). The counts exist once a session has
// read the kind's links in full and written the derived rows of all of them
// (backfill); until then sessions read every link, as before.
const (
	derivedFrom    = "~"
	countRowKey    = "~n"
	mailboxPrefix  = "~m|"
	detachedPrefix = "~d|"
	// detachedTo bounds the range query of the detached copies ('}' follows '|').
	detachedTo = "~d}"
)

// kindIndex is what a State knows of one kind's links partition.
type kindIndex struct {
	// loaded: the count row was read (or written) by this State.
	loaded bool
	// counted: the count row exists; counts and etag are its content.
	counted bool
	counts  reconcile.LinkCounts
	etag    string
	// rows are the link rows known, by CRM ID.
	rows map[string]linkRow
	// complete: rows holds every link row (read in full, and kept since), so
	// a CRM ID not in it has no link — no point read needed to know —
	// unless it is set aside.
	complete bool
	// aside are the CRM IDs of link rows let go of (ReleaseLinkRows): they
	// exist, and their state is read again before they are written.
	aside map[string]struct{}
}

// linkRow is a link row's state as last read or written.
type linkRow struct {
	exists    bool
	etag      string
	mailboxID string // "" = detached
}

func (s *State) kindIndex(kind item.Kind) *kindIndex {
	if s.index == nil {
		s.index = map[item.Kind]*kindIndex{}
	}
	ix := s.index[kind]
	if ix == nil {
		ix = &kindIndex{rows: map[string]linkRow{}}
		s.index[kind] = ix
	}
	return ix
}

// loadCounts reads the kind's count row once.
func (s *State) loadCounts(ctx context.Context, kind item.Kind) (*kindIndex, error) {
	ix := s.kindIndex(kind)
	if ix.loaded {
		return ix, nil
	}
	e, err := s.store.Get(ctx, LinksTable, s.linkPartition(kind), countRowKey)
	switch {
	case errors.Is(err, tablestore.ErrNotFound):
		ix.counted = false
	case err != nil:
		return nil, err
	default:
		ix.counted, ix.etag = true, e.ETag
		all, _ := e.Properties["All"].(int64)
		live, _ := e.Properties["Live"].(int64)
		ix.counts = reconcile.LinkCounts{All: int(all), Live: int(live)}
	}
	ix.loaded = true
	return ix, nil
}

// ReleaseLinkRows lets go of the link rows of kind that this State knows
// (their ETags and mailbox IDs), keeping only the CRM IDs of those that
// exist: a first sync streamed page by page (paged.go) would otherwise hold
// a row per record it linked. A row let go of is point-read again before
// it is written.
func (s *State) ReleaseLinkRows(kind item.Kind) {
	ix := s.kindIndex(kind)
	if !ix.complete {
		clear(ix.rows) // what is not known is read again anyway
		return
	}
	if ix.aside == nil {
		ix.aside = map[string]struct{}{}
	}
	for id, row := range ix.rows {
		if row.exists {
			ix.aside[id] = struct{}{}
		}
	}
	clear(ix.rows)
}

// seenLink records a link row read from the store.
func (s *State) seenLink(kind item.Kind, e tablestore.Entity, l reconcile.Link) {
	s.kindIndex(kind).rows[l.CRMID] = linkRow{exists: true, etag: e.ETag, mailboxID: l.MailboxID}
}

// escapeKey makes an ID usable in a RowKey: Azure refuses / \ # ? and control
// characters there; '%' is escaped too, so the mapping stays one to one.
func escapeKey(id string) string {
	if !strings.ContainsFunc(id, func(r rune) bool { return r < 0x20 || r == 0x7f || strings.ContainsRune(`/\#?%`, r) }) {
		return id
	}
	var b strings.Builder
	for _, c := range []byte(id) {
		if c < 0x20 || c == 0x7f || strings.IndexByte(`/\#?%`, c) >= 0 {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// LinksFor returns the links a plan of kind needs for what the sides
// reported. Once the kind's links are counted, and neither side listed in
// full, that is the links of the reported records (point reads, by CRM ID or
// through the mailbox index; a series' link for each exception), the
// detached links when the mailbox reports an item no link knows, and the
// counts (non-nil). Otherwise, or when point reads would cost more than
// reading the partition, it is every link and nil counts; the first full
// read of a kind not yet counted writes its derived rows and counts.
func (s *State) LinksFor(ctx context.Context, kind item.Kind, crm, mbx item.Changes) ([]reconcile.Link, *reconcile.LinkCounts, error) {
	ix, err := s.loadCounts(ctx, kind)
	if err != nil {
		return nil, nil, err
	}
	if !ix.counted {
		links, err := s.backfill(ctx, kind)
		return links, nil, err
	}
	if crm.Full || mbx.Full {
		links, err := s.Links(ctx, kind)
		return links, nil, err
	}
	crmIDs, mbxIDs := reportedIDs(crm), reportedIDs(mbx)
	// A point read per CRM ID, two per mailbox ID, against a page per 1,000
	// links: whichever reads less.
	if len(crmIDs)+2*len(mbxIDs) > (ix.counts.All+999)/1000 {
		links, err := s.Links(ctx, kind)
		return links, nil, err
	}
	var out []reconcile.Link
	have := map[string]bool{}
	add := func(l reconcile.Link) {
		if !have[l.CRMID] {
			have[l.CRMID] = true
			out = append(out, l)
		}
	}
	for _, id := range crmIDs {
		l, ok, err := s.linkByCRM(ctx, kind, id)
		if err != nil {
			return nil, nil, err
		}
		if ok {
			add(l)
		}
	}
	linkedMbx := map[string]bool{}
	for _, id := range mbxIDs {
		l, ok, err := s.linkByMailbox(ctx, kind, id)
		if err != nil {
			return nil, nil, err
		}
		if ok {
			add(l)
			linkedMbx[id] = true
		}
	}
	if ix.counts.All > ix.counts.Live {
		unknown := false
		for _, r := range mbx.Records {
			if !linkedMbx[r.ID] {
				unknown = true
			}
		}
		if unknown {
			err := s.scan(ctx, LinksTable, tablestore.Query{PartitionKey: s.linkPartition(kind), RowKeyFrom: detachedPrefix, RowKeyTo: detachedTo}, func(e tablestore.Entity) error {
				e.RowKey = strings.TrimPrefix(e.RowKey, detachedPrefix)
				l, err := linkFrom(kind, e)
				if err == nil && l.Detached() {
					add(l)
				}
				return err
			})
			if err != nil {
				return nil, nil, err
			}
		}
	}
	counts := ix.counts
	return out, &counts, nil
}

// reportedIDs lists the IDs a side reported on, and the series its
// exceptions name (the planner finds an exception's series through its link).
func reportedIDs(ch item.Changes) []string {
	seen := map[string]bool{}
	var out []string
	add := func(id string) {
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	for _, r := range ch.Records {
		add(r.ID)
		add(r.Fields[item.SeriesID])
	}
	for _, r := range ch.Removed {
		add(r.ID)
	}
	return out
}

// linkByCRM point-reads the link of a CRM ID.
func (s *State) linkByCRM(ctx context.Context, kind item.Kind, id string) (reconcile.Link, bool, error) {
	if id >= derivedFrom {
		return reconcile.Link{}, false, nil // not a storable CRM ID (see storableIDs)
	}
	e, err := s.store.Get(ctx, LinksTable, s.linkPartition(kind), id)
	if errors.Is(err, tablestore.ErrNotFound) {
		s.kindIndex(kind).rows[id] = linkRow{}
		return reconcile.Link{}, false, nil
	}
	if err != nil {
		return reconcile.Link{}, false, err
	}
	l, err := linkFrom(kind, e)
	if err != nil {
		return l, false, err
	}
	s.seenLink(kind, e, l)
	return l, true, nil
}

// linkByMailbox finds the live link of a mailbox ID through the index.
func (s *State) linkByMailbox(ctx context.Context, kind item.Kind, id string) (reconcile.Link, bool, error) {
	e, err := s.store.Get(ctx, LinksTable, s.linkPartition(kind), mailboxPrefix+escapeKey(id))
	if errors.Is(err, tablestore.ErrNotFound) {
		return reconcile.Link{}, false, nil
	}
	if err != nil {
		return reconcile.Link{}, false, err
	}
	crmID, _ := e.Properties["CRMID"].(string)
	if crmID == "" {
		return reconcile.Link{}, false, nil
	}
	l, ok, err := s.linkByCRM(ctx, kind, crmID)
	if err != nil || !ok || l.MailboxID != id {
		// The index and links change in one transaction, so this does not
		// happen; were it to, the link is not this item's.
		return reconcile.Link{}, false, err
	}
	return l, true, nil
}

// backfill reads the whole partition of kind — links and derived rows — and
// makes the derived rows match the links, the count row last: its existence
// says the rest is complete. A crash part-way leaves no count row, and the
// next full read starts again from what it finds.
func (s *State) backfill(ctx context.Context, kind item.Kind) ([]reconcile.Link, error) {
	ix := s.kindIndex(kind)
	clear(ix.rows)
	clear(ix.aside)
	ix.complete = false
	pk := s.linkPartition(kind)
	var links []reconcile.Link
	derived := map[string]tablestore.Entity{}
	err := s.scan(ctx, LinksTable, tablestore.Query{PartitionKey: pk}, func(e tablestore.Entity) error {
		if strings.HasPrefix(e.RowKey, derivedFrom) {
			derived[e.RowKey] = e
			return nil
		}
		l, err := linkFrom(kind, e)
		if err != nil {
			return err
		}
		s.seenLink(kind, e, l)
		links = append(links, l)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if _, ok := derived[countRowKey]; ok {
		// Written meanwhile by another State: use it.
		ix.loaded = false
		_, err := s.loadCounts(ctx, kind)
		return links, err
	}
	var ops []tablestore.Op
	flush := func(min int) error {
		if len(ops) < min || len(ops) == 0 {
			return nil
		}
		s.writes++
		_, err := s.store.Batch(ctx, LinksTable, ops)
		ops = ops[:0]
		return err
	}
	counts := reconcile.LinkCounts{All: len(links)}
	want := map[string]bool{}
	for _, l := range links {
		var e tablestore.Entity
		if l.Detached() {
			e = s.detachedEntity(l)
		} else {
			counts.Live++
			e = s.mailboxEntity(l.Kind, l.MailboxID, l.CRMID)
		}
		e.PartitionKey = pk
		want[e.RowKey] = true
		if old, ok := derived[e.RowKey]; ok && sameProps(old.Properties, e.Properties) {
			continue
		}
		ops = append(ops, tablestore.Op{Kind: tablestore.OpUpsert, Entity: e})
		if err := flush(maxBatch); err != nil {
			return nil, err
		}
	}
	for key := range derived {
		if !want[key] {
			ops = append(ops, tablestore.Op{Kind: tablestore.OpDelete, Entity: tablestore.Entity{PartitionKey: pk, RowKey: key, ETag: "*"}})
			if err := flush(maxBatch); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(1); err != nil {
		return nil, err
	}
	s.writes++
	etag, err := s.store.Insert(ctx, LinksTable, s.countEntity(kind, counts))
	if errors.Is(err, tablestore.ErrExists) {
		ix.loaded = false
		_, err = s.loadCounts(ctx, kind)
		return links, err
	}
	if err != nil {
		return nil, err
	}
	ix.loaded, ix.counted, ix.counts, ix.etag = true, true, counts, etag
	ix.complete = true
	return links, nil
}

func sameProps(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return true
}

func (s *State) countEntity(kind item.Kind, c reconcile.LinkCounts) tablestore.Entity {
	return tablestore.Entity{PartitionKey: s.linkPartition(kind), RowKey: countRowKey,
		Properties: map[string]any{"All": int64(c.All), "Live": int64(c.Live)}}
}

func (s *State) mailboxEntity(kind item.Kind, mailboxID, crmID string) tablestore.Entity {
	return tablestore.Entity{PartitionKey: s.linkPartition(kind), RowKey: mailboxPrefix + escapeKey(mailboxID),
		Properties: map[string]any{"CRMID": crmID}}
}

// detachedEntity is the copy of a detached link in the detached range.
func (s *State) detachedEntity(l reconcile.Link) tablestore.Entity {
	e := s.linkEntity(l)
	e.RowKey = detachedPrefix + l.CRMID
	return e
}

// commitAttempts bounds how often a counted commit re-reads rows that
// changed under it before it gives the counts up (see commitCounted).
const commitAttempts = 3

// commitCounted writes link changes of a counted kind with their derived
// rows and counts, one transaction per at most 100 rows. Each transaction is
// built from the rows' known states (read now when unknown); when one fails
// because a row is not as believed, those rows and the counts are read again
// and the transaction rebuilt. Should that keep failing, the count row is
// deleted (one more conditional write would not fix what is wrong) and the
// changes committed as for an uncounted kind: the next session reads the
// links in full and counts them afresh.
func (s *State) commitCounted(ctx context.Context, kind item.Kind, changes []LinkChange) error {
	ix := s.kindIndex(kind)
	last := map[string]int{}
	for i, c := range changes {
		last[c.Link.CRMID] = i
	}
	var todo []LinkChange
	for i, c := range changes {
		if last[c.Link.CRMID] == i && c.Link.CRMID != "" {
			c.Link.Kind = kind
			todo = append(todo, c)
		}
	}
	if !ix.complete {
		// Learning many rows' states one point read each costs more than
		// reading the partition once.
		unknown := 0
		for _, c := range todo {
			if _, ok := ix.rows[c.Link.CRMID]; !ok {
				unknown++
			}
		}
		if unknown > (ix.counts.All+999)/1000 {
			if _, err := s.Links(ctx, kind); err != nil {
				return err
			}
		}
	}
	for len(todo) > 0 {
		var n int
		var err error
		for attempt := 1; ; attempt++ {
			n, err = s.commitChunk(ctx, kind, ix, todo)
			if err == nil || !staleRows(err) {
				break
			}
			if attempt == commitAttempts {
				return s.uncount(ctx, kind, todo)
			}
			// Read again what the failed transaction was built from; the
			// rows known are no longer all there are.
			for _, c := range todo[:max(n, 1)] {
				delete(ix.rows, c.Link.CRMID)
			}
			ix.complete = false
			ix.loaded = false
			if _, err := s.loadCounts(ctx, kind); err != nil {
				return err
			}
			if !ix.counted {
				return s.commitPlain(ctx, kind, todo)
			}
		}
		if err != nil {
			return err
		}
		todo = todo[n:]
	}
	return nil
}

// staleRows reports a transaction that failed because a row was not in the
// state it was built from.
func staleRows(err error) bool {
	return errors.Is(err, tablestore.ErrPrecondition) || errors.Is(err, tablestore.ErrExists) || errors.Is(err, tablestore.ErrNotFound)
}

// commitChunk commits the first changes of todo that fit one transaction and
// returns how many it took (also on failure: the ones it was built from).
func (s *State) commitChunk(ctx context.Context, kind item.Kind, ix *kindIndex, todo []LinkChange) (int, error) {
	pk := s.linkPartition(kind)
	var ops []tablestore.Op
	derived := map[string]int{} // RowKey → index in ops, so a key is used once
	counts := ix.counts
	type written struct {
		id  string
		op  int // index of the link's op, -1 for none
		row linkRow
	}
	var done []written
	n := 0
	for _, c := range todo {
		old, known := ix.rows[c.Link.CRMID]
		if _, aside := ix.aside[c.Link.CRMID]; !known && (!ix.complete || aside) {
			delete(ix.aside, c.Link.CRMID)
			if _, _, err := s.linkByCRM(ctx, kind, c.Link.CRMID); err != nil {
				return n, err
			}
			old = ix.rows[c.Link.CRMID]
		}
		var mine []tablestore.Op
		l := c.Link
		live := !c.Drop && !l.Detached()
		oldLive := old.exists && old.mailboxID != ""
		next := linkRow{exists: !c.Drop, mailboxID: l.MailboxID}
		linkOp := -1
		switch {
		case !old.exists && c.Drop:
			// Already gone: nothing to write.
		case c.Drop:
			mine = append(mine, tablestore.Op{Kind: tablestore.OpDelete, Entity: tablestore.Entity{PartitionKey: pk, RowKey: l.CRMID, ETag: old.etag}})
		case old.exists:
			e := s.linkEntity(l)
			e.ETag = old.etag
			mine = append(mine, tablestore.Op{Kind: tablestore.OpUpdate, Entity: e})
		default:
			mine = append(mine, tablestore.Op{Kind: tablestore.OpInsert, Entity: s.linkEntity(l)})
		}
		if len(mine) > 0 {
			linkOp = 0
		}
		if oldLive && (!live || old.mailboxID != l.MailboxID) {
			mine = append(mine, tablestore.Op{Kind: tablestore.OpDelete, Entity: tablestore.Entity{PartitionKey: pk, RowKey: mailboxPrefix + escapeKey(old.mailboxID), ETag: "*"}})
		}
		if live && (!oldLive || old.mailboxID != l.MailboxID) {
			mine = append(mine, tablestore.Op{Kind: tablestore.OpUpsert, Entity: s.mailboxEntity(kind, l.MailboxID, l.CRMID)})
		}
		if !c.Drop && l.Detached() {
			mine = append(mine, tablestore.Op{Kind: tablestore.OpUpsert, Entity: s.detachedEntity(l)})
		} else if old.exists && old.mailboxID == "" {
			mine = append(mine, tablestore.Op{Kind: tablestore.OpDelete, Entity: tablestore.Entity{PartitionKey: pk, RowKey: detachedPrefix + l.CRMID, ETag: "*"}})
		}
		if len(ops)+len(mine) > maxBatch-1 { // one op stays for the count row
			break
		}
		n++
		for i, op := range mine {
			at := len(ops)
			if i > 0 {
				if j, dup := derived[op.Entity.RowKey]; dup {
					// One mailbox ID passing from one link to another within
					// the transaction: the write wins over the delete.
					if op.Kind != tablestore.OpDelete {
						ops[j] = op
					}
					continue
				}
				derived[op.Entity.RowKey] = at
			} else if linkOp == 0 {
				linkOp = at
			}
			ops = append(ops, op)
		}
		counts.All += b2i(next.exists) - b2i(old.exists)
		counts.Live += b2i(live) - b2i(oldLive)
		done = append(done, written{id: l.CRMID, op: linkOp, row: next})
	}
	if len(ops) == 0 {
		return n, nil
	}
	cr := s.countEntity(kind, counts)
	cr.ETag = ix.etag
	ops = append(ops, tablestore.Op{Kind: tablestore.OpUpdate, Entity: cr})
	s.writes++
	etags, err := s.store.Batch(ctx, LinksTable, ops)
	if err != nil {
		return n, err
	}
	for _, w := range done {
		if w.op >= 0 {
			w.row.etag = etags[w.op]
		}
		if !w.row.exists {
			w.row = linkRow{}
		}
		ix.rows[w.id] = w.row
	}
	ix.counts, ix.etag = counts, etags[len(etags)-1]
	return n, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// uncount deletes the count row of kind and commits changes without counts.
func (s *State) uncount(ctx context.Context, kind item.Kind, changes []LinkChange) error {
	s.writes++
	if err := s.store.Delete(ctx, LinksTable, s.linkPartition(kind), countRowKey, "*"); err != nil && !errors.Is(err, tablestore.ErrNotFound) {
		return err
	}
	return s.commitPlain(ctx, kind, changes)
}

// commitPlain commits changes of a kind whose links are not counted.
func (s *State) commitPlain(ctx context.Context, kind item.Kind, changes []LinkChange) error {
	ix := s.kindIndex(kind)
	ix.loaded, ix.counted = true, false
	clear(ix.rows)
	clear(ix.aside)
	ix.complete = false
	return s.commitLinks(ctx, changes)
}

// linkedCount is how many links a kind has, from its counts when the links
// at hand are a subset.
func linkedCount(links []reconcile.Link, counts *reconcile.LinkCounts) int {
	if counts != nil {
		return counts.All
	}
	return len(links)
}

// LinkCounts returns the stored link counts of kind; ok is false while the
// kind's links are not counted yet (no session has read them in full since).
func (s *State) LinkCounts(ctx context.Context, kind item.Kind) (c reconcile.LinkCounts, ok bool, err error) {
	ix, err := s.loadCounts(ctx, kind)
	if err != nil {
		return c, false, err
	}
	return ix.counts, ix.counted, nil
}

// storableIDs refuses link changes whose CRM ID sorts at or after "~", where
// the rows derived from the links begin: such a link would be read as one of
// them, or not at all. No CRM's IDs do (Salesforce's are alphanumeric).
func storableIDs(changes []LinkChange) error {
	for _, c := range changes {
		if c.Link.CRMID >= derivedFrom {
			return fmt.Errorf("session: CRM ID %q cannot be stored as a link (it sorts after the link index rows)", c.Link.CRMID)
		}
	}
	return nil
}
