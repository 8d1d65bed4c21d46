package reconcile

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/item"
)

// This file holds an in-memory world for scenario and property tests: two
// sides that report changes like delta feeds, and an applier that runs plans
// the way the session runner is meant to (the contract in types.go).

// memRec is one record on an in-memory side.
type memRec struct {
	rec     item.Record
	inScope bool
}

// memSide is an in-memory side. Its change feed is a log of touched IDs; a
// cursor is a position in the log, "" asks for a full listing.
type memSide struct {
	side  Side
	kind  item.Kind
	recs  map[string]*memRec
	log   []string
	seq   int
	clock *int
	// stamps says whether the side keeps crmsync's marker on created records.
	stamps bool
	// outage makes the next listing a full one with nothing in it.
	outage bool
}

func newMemSide(side Side, kind item.Kind, clock *int) *memSide {
	return &memSide{side: side, kind: kind, recs: map[string]*memRec{}, clock: clock, stamps: true}
}

func (s *memSide) tick(r *item.Record) {
	*s.clock++
	r.Version = "v" + strconv.Itoa(*s.clock)
	r.Modified = t0.Add(time.Duration(*s.clock) * time.Minute)
}

func (s *memSide) create(id string, f map[string]string, cats []string, marker string) string {
	if id == "" {
		s.seq++
		id = fmt.Sprintf("%s%d", map[Side]string{CRM: "C", Mailbox: "M"}[s.side], s.seq)
	}
	r := item.Record{Kind: s.kind, ID: id, Fields: maps.Clone(f), Categories: slices.Clone(cats)}
	if s.stamps {
		r.Marker = marker
	}
	s.tick(&r)
	s.recs[id] = &memRec{rec: r, inScope: true}
	s.log = append(s.log, id)
	return id
}

// update writes fields; it reports false when the record is gone.
func (s *memSide) update(id string, f map[string]string) bool {
	m, ok := s.recs[id]
	if !ok {
		return false
	}
	if m.rec.Fields == nil {
		m.rec.Fields = map[string]string{}
	}
	maps.Copy(m.rec.Fields, f)
	s.tick(&m.rec)
	s.log = append(s.log, id)
	return true
}

func (s *memSide) setCategories(id string, cats []string) {
	m := s.recs[id]
	m.rec.Categories = cats
	s.tick(&m.rec)
	s.log = append(s.log, id)
}

func (s *memSide) delete(id string) {
	if _, ok := s.recs[id]; ok {
		delete(s.recs, id)
		s.log = append(s.log, id)
	}
}

func (s *memSide) setScope(id string, in bool) {
	if m, ok := s.recs[id]; ok && m.inScope != in {
		m.inScope = in
		s.log = append(s.log, id)
	}
}

func (s *memSide) ids() []string { return slices.Sorted(maps.Keys(s.recs)) }

// changes reports what changed since cursor, like a delta feed.
func (s *memSide) changes(cursor string) item.Changes {
	ch := item.Changes{Kind: s.kind, Cursor: strconv.Itoa(len(s.log))}
	if s.outage {
		// A broken listing: nothing in it, and the cursor stays put.
		ch.Full, ch.Cursor = true, cursor
		return ch
	}
	if cursor == "" {
		ch.Full = true
		for _, id := range s.ids() {
			if m := s.recs[id]; m.inScope {
				ch.Records = append(ch.Records, cloneRec(m.rec))
			}
		}
		return ch
	}
	n, _ := strconv.Atoi(cursor)
	seen := map[string]bool{}
	for _, id := range s.log[n:] {
		if seen[id] {
			continue
		}
		seen[id] = true
		switch m, ok := s.recs[id]; {
		case !ok:
			ch.Removed = append(ch.Removed, item.Removal{ID: id, Reason: item.Deleted})
		case !m.inScope:
			ch.Removed = append(ch.Removed, item.Removal{ID: id, Reason: item.LeftScope})
		default:
			ch.Records = append(ch.Records, cloneRec(m.rec))
		}
	}
	return ch
}

func cloneRec(r item.Record) item.Record {
	r.Fields = maps.Clone(r.Fields)
	r.Categories = slices.Clone(r.Categories)
	return r
}

// world is one user's two sides, stored links and cursors.
type world struct {
	kind      item.Kind
	policy    Policy
	crm, mbx  *memSide
	links     map[string]Link
	crmCursor string
	mbxCursor string
	confirm   bool
	// autoConfirm makes the user confirm whatever a guard held back.
	autoConfirm bool
	clock       int
	sessions    int
	// mayDiverge holds CRM IDs of relinked pairs that may differ until the
	// CRM reports the record again.
	mayDiverge map[string]bool
	// writes counts the writes the applier made to each side.
	writes map[Side]int
}

func newWorld(kind item.Kind) *world {
	w := &world{kind: kind, links: map[string]Link{}, mayDiverge: map[string]bool{}, writes: map[Side]int{}}
	w.crm = newMemSide(CRM, kind, &w.clock)
	w.mbx = newMemSide(Mailbox, kind, &w.clock)
	return w
}

func (w *world) sideOf(s Side) *memSide {
	if s == CRM {
		return w.crm
	}
	return w.mbx
}

// sessionResult is what one session did.
type sessionResult struct {
	out     Output
	crashed bool
	// deleted counts records deleted on each side by the session.
	deleted map[Side]int
	// outage is true when a side's listing was broken (empty).
	outage bool
}

// session reads both feeds, plans and applies. crashAt >= 0 kills the session
// after that many steps (each action is two steps: the write, then the link
// save), leaving the cursors where they were.
func (w *world) session(crashAt int) (sessionResult, error) {
	w.sessions++
	outage := w.crm.outage || w.mbx.outage
	crmCh := w.crm.changes(w.crmCursor)
	mbxCh := w.mbx.changes(w.mbxCursor)
	w.crm.outage, w.mbx.outage = false, false
	links := slices.Collect(maps.Values(w.links))
	in := Input{Kind: w.kind, Now: t0.Add(time.Duration(w.clock) * time.Minute), Policy: w.policy, Key: testKey,
		Links: links, CRM: crmCh, Mailbox: mbxCh, Confirmed: w.confirm}
	out, err := Plan(in)
	if err != nil {
		return sessionResult{}, err
	}
	if err := samePlanFromCounts(in, out); err != nil {
		return sessionResult{}, err
	}
	res := sessionResult{out: out, deleted: map[Side]int{}, outage: outage}
	// A detached CRM record relinked to a returning mailbox item without the
	// CRM reporting it merges against its last synced state: CRM changes
	// made while it was detached reach the mailbox only with the CRM
	// record's next report (see Plan). Note such pairs for the checks.
	reported := map[string]bool{}
	for _, r := range crmCh.Records {
		reported[r.ID] = true
		delete(w.mayDiverge, r.ID)
	}
	for _, a := range out.Actions {
		if old, ok := w.links[a.Link.CRMID]; ok && old.Detached() && a.Link.MailboxID != "" && !reported[a.Link.CRMID] {
			w.mayDiverge[a.Link.CRMID] = true
		}
	}
	res.crashed = w.apply(out, crashAt, res.deleted)
	if res.crashed {
		return res, nil
	}
	if out.Guard.Tripped != "" && !out.Guard.Overridden {
		// The runner keeps the cursors so the held removals are reported
		// again; the property machine's user confirms them at once.
		w.confirm = w.autoConfirm
		return res, nil
	}
	w.confirm = false
	w.crmCursor, w.mbxCursor = crmCh.Cursor, mbxCh.Cursor
	return res, nil
}

// apply runs a plan as the session runner does: write, then save or drop the
// link; after a failure on a link, no later action of the plan saves it; an
// update answered Gone drops the link.
func (w *world) apply(out Output, crashAt int, deleted map[Side]int) (crashed bool) {
	step := 0
	failed := map[string]bool{}
	created := map[string]string{}
	for _, a := range out.Actions {
		if step == crashAt {
			return true
		}
		step++
		l := a.Link
		ok := true
		if tgt := a.Target(); tgt != "" {
			w.writes[tgt]++
		}
		switch a.Op {
		case CreateCRM, CreateMailbox:
			s := w.sideOf(a.Target())
			f := maps.Clone(a.Record.Fields)
			if a.SeriesMarker != "" {
				id, found := created[a.SeriesMarker]
				if !found {
					ok = false
					break
				}
				f[item.SeriesID] = id
			}
			id := s.create("", f, nil, a.Marker)
			created[a.Marker] = id
			if a.Op == CreateCRM {
				l.CRMID = id
			} else {
				l.MailboxID = id
			}
		case UpdateCRM, UpdateMailbox:
			if !w.sideOf(a.Target()).update(a.Record.ID, a.Record.Fields) {
				ok = false
				delete(w.links, l.CRMID)
			}
		case DeleteCRM, DeleteMailbox:
			s := w.sideOf(a.Target())
			if _, exists := s.recs[a.Record.ID]; exists {
				deleted[a.Target()]++
			}
			s.delete(a.Record.ID)
		}
		if step == crashAt {
			return true
		}
		step++
		key := a.Link.CRMID + "|" + a.Link.MailboxID
		if !ok || failed[key] {
			failed[key] = true
			continue
		}
		if a.DropsLink() {
			delete(w.links, l.CRMID)
		} else {
			w.links[l.CRMID] = l
		}
	}
	return false
}

// stateLines renders the world for golden files.
func (w *world) stateLines(f *fixture) []string {
	var lines []string
	for _, id := range slices.Sorted(maps.Keys(w.links)) {
		l := w.links[id]
		lines = append(lines, fmt.Sprintf("link %s|%s %s", l.CRMID, l.MailboxID, f.fps(l.Fingerprints)))
	}
	for _, s := range []*memSide{w.crm, w.mbx} {
		for _, id := range s.ids() {
			m := s.recs[id]
			line := fmt.Sprintf("%s %s %s", s.side, id, kvs(m.rec.Fields))
			if len(m.rec.Categories) > 0 {
				line += " categories=" + strings.Join(m.rec.Categories, ",")
			}
			if !m.inScope {
				line += " out-of-scope"
			}
			lines = append(lines, line)
		}
	}
	return lines
}
