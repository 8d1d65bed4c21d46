package reconcile

import (
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/shared/item"
)

var (
	propertyN    = flag.Int("property.n", 2000, "number of random scenarios TestPropertySync runs")
	propertySeed = flag.Int("property.seed", -1, "run only this TestPropertySync scenario (printed on failure)")
)

// TestPropertySync is a seeded, reproducible state machine at planner level
// (after vdirsyncer's SyncMachine): random creates, updates, conflicting
// edits, deletes, scope changes, category shares, expired cursors, outages
// and wipes on both sides, sessions killed at random points and replayed.
// After each round it checks that the sides converge, nothing is duplicated,
// no change is lost except where the conflict rule says, the session after a
// complete one plans nothing, and an emptied side never deletes the other.
func TestPropertySync(t *testing.T) {
	runScenarios(t, *propertyN, Both)
}

// TestPropertyOneWay runs the machine with one-way directions: the source
// side is never written, everything in its scope reaches the other side, and
// the session after a complete one plans nothing.
func TestPropertyOneWay(t *testing.T) {
	runScenarios(t, *propertyN/4, CRMToMailbox)
	runScenarios(t, *propertyN/4, MailboxToCRM)
}

func runScenarios(t *testing.T, n int, dir Direction) {
	t.Helper()
	first := 0
	if *propertySeed >= 0 {
		first, n = *propertySeed, 1
	}
	for seed := first; seed < first+n; seed++ {
		if err := runScenario(uint64(seed), false, dir); err != nil {
			if traced := runScenario(uint64(seed), true, dir); traced != nil {
				err = traced
			}
			t.Fatalf("%s scenario %d failed (rerun with -run %s -property.seed=%d -v):\n%v", dir, seed, t.Name(), seed, err)
		}
	}
}

// scenario is one random run.
type scenario struct {
	r     *rand.Rand
	w     *world
	kind  item.Kind
	uniq  int
	trace []string
	// edits are this round's user writes: the last value per side, record and field.
	edits map[Side]map[string]map[string]string
	// noLossCheck is set in rounds whose wipes make the lost-change check moot.
	noLossCheck bool
	// watch names a side whose next listing is an outage or a wipe: the
	// session that sees it must delete nothing on the other side.
	watch Side
	// tracing records a trace; a failed scenario is rerun with it on.
	tracing bool
}

func runScenario(seed uint64, tracing bool, dir Direction) (err error) {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	kind := item.Kinds[seed%uint64(len(item.Kinds))]
	s := &scenario{r: r, w: newWorld(kind), kind: kind, tracing: tracing}
	s.w.autoConfirm = true
	s.w.policy = Policy{
		Direction:     dir,
		Conflict:      []ConflictRule{NewerWins, CRMWins, MailboxWins}[r.IntN(3)],
		MailboxDelete: []MailboxDelete{Unlink, DeleteInCRM}[r.IntN(2)],
		// The machine moves records back into the CRM's scope, which only
		// the remove rule handles without duplicates (see KeepInMailbox).
		ScopeLoss: RemoveFromMailbox,
	}
	s.w.crm.stamps = r.IntN(2) == 0
	s.tracef("kind=%s policy=%+v crm-stamps=%t", kind, s.w.policy, s.w.crm.stamps)
	defer func() {
		if err != nil {
			tail := s.trace
			if len(tail) > 200 {
				tail = tail[len(tail)-200:]
			}
			err = fmt.Errorf("%w\ntrace:\n  %s", err, strings.Join(tail, "\n  "))
		}
	}()
	// Both sides start with some records, some of them the same.
	s.startRound()
	for range r.IntN(6) {
		s.create(CRM)
	}
	for range r.IntN(6) {
		s.create(Mailbox)
	}
	for range r.IntN(3) {
		s.createBoth()
	}
	if err := s.syncRound(); err != nil {
		return err
	}
	for round := range 4 + r.IntN(4) {
		s.startRound()
		s.tracef("-- round %d", round)
		for range 1 + r.IntN(6) {
			s.randomOp()
		}
		if err := s.syncRound(); err != nil {
			return err
		}
	}
	return nil
}

func (s *scenario) tracef(format string, args ...any) {
	if s.tracing {
		s.trace = append(s.trace, fmt.Sprintf(format, args...))
	}
}

func (s *scenario) startRound() {
	s.edits = map[Side]map[string]map[string]string{CRM: {}, Mailbox: {}}
	s.noLossCheck = false
	s.watch = ""
}

func (s *scenario) noteEdit(side Side, id string, f map[string]string) {
	e := s.edits[side][id]
	if e == nil {
		e = map[string]string{}
		s.edits[side][id] = e
	}
	maps.Copy(e, f)
}

// fresh returns record fields no other record has.
func (s *scenario) fresh() map[string]string {
	s.uniq++
	n := s.uniq
	f := map[string]string{}
	for _, name := range item.DefaultFields[s.kind] {
		f[name] = ""
	}
	switch s.kind {
	case item.Contact:
		f[item.FirstName], f[item.LastName] = fmt.Sprintf("F%d", n), fmt.Sprintf("L%d", n)
		f[item.Email], f[item.Phone] = fmt.Sprintf("p%d@example.com", n), fmt.Sprint(n)
	case item.Task:
		f[item.Subject], f[item.DueDate], f[item.Status] = fmt.Sprintf("task %d", n), fmt.Sprintf("2026-11-%02d", 1+n%28), "NotStarted"
	case item.Event:
		f[item.Subject] = fmt.Sprintf("event %d", n)
		f[item.Start] = fmt.Sprintf("2026-11-%02dT%02d:00:00Z", 1+n%28, n%24)
		f[item.End] = fmt.Sprintf("2026-11-%02dT%02d:30:00Z", 1+n%28, n%24)
		f[item.AllDay] = "false"
	}
	return f
}

// keyField is the field the no-duplicates check groups by (unique per entity).
func (s *scenario) keyField() string {
	if s.kind == item.Contact {
		return item.Email
	}
	return item.Subject
}

func (s *scenario) create(side Side) string {
	f := s.fresh()
	var cats []string
	if s.kind == item.Event && side == Mailbox && s.r.IntN(2) == 0 {
		cats = []string{"Salesforce"}
	}
	if s.kind == item.Event && s.r.IntN(4) == 0 {
		// A recurring series with an exception of its own.
		f[item.Recurrence] = "FREQ=WEEKLY"
		series := s.w.sideOf(side).create("", f, cats, "")
		s.noteEdit(side, series, f)
		ex := s.fresh()
		ex[item.SeriesID], ex[item.OriginalStart] = series, f[item.Start]
		id := s.w.sideOf(side).create("", ex, cats, "")
		s.noteEdit(side, id, ex)
		s.tracef("%s create series %s with exception %s", side, series, id)
		return series
	}
	id := s.w.sideOf(side).create("", f, cats, "")
	s.noteEdit(side, id, f)
	s.tracef("%s create %s %v %v", side, id, kvs(f), cats)
	return id
}

// createBoth creates one entity on both sides, differing in one field.
func (s *scenario) createBoth() {
	f := s.fresh()
	c := s.w.crm.create("", f, nil, "")
	g := maps.Clone(f)
	other := s.editableField()
	g[other] = g[other] + " (mailbox)"
	var cats []string
	if s.kind == item.Event {
		cats = []string{"Salesforce"}
	}
	m := s.w.mbx.create("", g, cats, "")
	s.noteEdit(CRM, c, f)
	s.noteEdit(Mailbox, m, g)
	s.tracef("both create %s %s %s", c, m, kvs(f))
}

// editableField picks a field to change (never the natural key, so an edit
// does not make two entities look alike).
func (s *scenario) editableField() string {
	var choices []string
	switch s.kind {
	case item.Contact:
		choices = []string{item.Phone, item.Title, item.Department, item.MailingCity}
	case item.Task:
		choices = []string{item.Status, item.Priority, item.Description}
	case item.Event:
		choices = []string{item.Location, item.Description}
	}
	return choices[s.r.IntN(len(choices))]
}

func (s *scenario) pick(side Side) (string, bool) {
	ids := s.w.sideOf(side).ids()
	if len(ids) == 0 {
		return "", false
	}
	return ids[s.r.IntN(len(ids))], true
}

func (s *scenario) linked(side Side, id string) bool {
	for _, l := range s.w.links {
		if (side == CRM && l.CRMID == id) || (side == Mailbox && l.MailboxID == id) {
			return true
		}
	}
	return false
}

func (s *scenario) update(side Side, id, field string) {
	s.uniq++
	f := map[string]string{field: fmt.Sprintf("%s-%s%d", strings.ToLower(field), side, s.uniq)}
	s.w.sideOf(side).update(id, f)
	s.noteEdit(side, id, f)
	s.tracef("%s update %s %s", side, id, kvs(f))
}

func (s *scenario) delete(side Side, id string) {
	ms := s.w.sideOf(side)
	ms.delete(id)
	// Deleting a series deletes its exceptions.
	for _, other := range ms.ids() {
		if ms.recs[other].rec.Fields[item.SeriesID] == id {
			ms.delete(other)
		}
	}
	s.tracef("%s delete %s", side, id)
}

func (s *scenario) randomOp() {
	sides := []Side{CRM, Mailbox}
	side := sides[s.r.IntN(2)]
	switch op := s.r.IntN(100); {
	case op < 20:
		s.create(side)
	case op < 25:
		s.createBoth()
	case op < 55:
		if id, ok := s.pick(side); ok {
			s.update(side, id, s.editableField())
		}
	case op < 65:
		// The same field of a linked pair changed on both sides.
		links := slices.Sorted(maps.Keys(s.w.links))
		if len(links) == 0 {
			return
		}
		l := s.w.links[links[s.r.IntN(len(links))]]
		if l.Detached() || s.w.crm.recs[l.CRMID] == nil || s.w.mbx.recs[l.MailboxID] == nil {
			return
		}
		f := s.editableField()
		s.update(CRM, l.CRMID, f)
		s.update(Mailbox, l.MailboxID, f)
	case op < 75:
		if id, ok := s.pick(side); ok {
			s.delete(side, id)
		}
	case op < 83:
		if id, ok := s.pick(side); ok {
			ms := s.w.sideOf(side)
			in := !ms.recs[id].inScope
			if !in && !s.linked(side, id) {
				// Hiding a record the sync has never seen makes a later
				// duplicate that only the CRM's own duplicate rules can catch.
				return
			}
			ms.setScope(id, in)
			s.tracef("%s scope %s in=%t", side, id, in)
		}
	case op < 88:
		if s.kind != item.Event {
			return
		}
		if id, ok := s.pick(Mailbox); ok {
			var cats []string
			if !s.w.mbx.recs[id].rec.HasCategory("Salesforce") {
				cats = []string{"Salesforce"}
			}
			s.w.mbx.setCategories(id, cats)
			s.tracef("mailbox categories %s %v", id, cats)
		}
	case op < 93:
		// The side's cursor expired: it lists everything again.
		if side == CRM {
			s.w.crmCursor = ""
		} else {
			s.w.mbxCursor = ""
		}
		s.tracef("%s cursor expired", side)
	case op < 97:
		// A broken listing (an empty folder, a failed query). With no link at
		// all it is indistinguishable from a first sync against an empty
		// side, which no planner can catch, so the machine does not try.
		guarded := 0
		for _, l := range s.w.links {
			if side == CRM || !l.Detached() {
				guarded++
			}
		}
		if guarded == 0 {
			return
		}
		s.w.sideOf(side).outage = true
		s.watch = side
		s.tracef("%s outage (empty listing)", side)
	default:
		for _, id := range s.w.sideOf(side).ids() {
			s.w.sideOf(side).delete(id)
		}
		s.watch = side
		s.noLossCheck = true
		s.tracef("%s wiped", side)
	}
}

// syncRound runs sessions — the first few may be killed — until one plans
// nothing, then checks the invariants.
func (s *scenario) syncRound() error {
	liveBefore := 0
	for _, l := range s.w.links {
		if !l.Detached() {
			liveBefore++
		}
	}
	for attempt := 0; ; attempt++ {
		if attempt > 12 {
			return fmt.Errorf("no convergence after %d sessions", attempt)
		}
		crashAt := -1
		if attempt < 3 && s.r.IntN(3) == 0 {
			crashAt = s.r.IntN(12)
		}
		res, err := s.w.session(crashAt)
		if err != nil {
			return fmt.Errorf("session %d: Plan: %v", s.w.sessions, err)
		}
		s.tracef("session %d crashAt=%d crashed=%t guard=%q", s.w.sessions, crashAt, res.crashed, res.out.Guard.Tripped)
		for _, a := range res.out.Actions {
			if !s.tracing {
				break
			}
			s.tracef("  %s %s %s link=%s|%s", a.Op, a.Record.ID, kvs(a.Record.Fields), a.Link.CRMID, a.Link.MailboxID)
		}
		if attempt == 0 && s.watch != "" {
			other := s.watch.Other()
			if res.deleted[other] > 0 {
				return fmt.Errorf("session seeing an emptied %s deleted %d records on the %s", s.watch, res.deleted[other], other)
			}
			if liveBefore >= 2 && res.out.Guard.Tripped == "" {
				return fmt.Errorf("session seeing an emptied %s with %d live links tripped no guard", s.watch, liveBefore)
			}
		}
		if res.crashed || res.outage || (res.out.Guard.Tripped != "" && !res.out.Guard.Overridden) {
			continue
		}
		// A complete session: the next one must find nothing to do, except
		// that a relinked pair heals once the CRM reports its record.
		healing := maps.Clone(s.w.mayDiverge)
		next, err := s.w.session(-1)
		if err != nil {
			return fmt.Errorf("session %d: Plan: %v", s.w.sessions, err)
		}
		if len(next.out.Actions) > 0 && next.out.Guard.Tripped == "" && !next.crashed &&
			!slices.ContainsFunc(next.out.Actions, func(a Action) bool { return !healing[a.Link.CRMID] }) {
			continue
		}
		if len(next.out.Actions) > 0 || next.out.Guard.Tripped != "" {
			for _, a := range next.out.Actions {
				s.tracef("  again: %s %s %s link=%s|%s", a.Op, a.Record.ID, kvs(a.Record.Fields), a.Link.CRMID, a.Link.MailboxID)
			}
			return fmt.Errorf("the session after a complete one planned %d actions (guard %q)", len(next.out.Actions), next.out.Guard.Tripped)
		}
		return s.check()
	}
}

// check verifies the invariants on a quiet world.
func (s *scenario) check() error {
	if s.w.policy.Direction != Both {
		return s.checkOneWay()
	}
	w := s.w
	norm := func(f, v string) string { return item.Normalize(f, v) }
	byMbx := map[string]Link{}
	for _, l := range w.links {
		c := w.crm.recs[l.CRMID]
		if c == nil || !c.inScope {
			return fmt.Errorf("link %s|%s: CRM record gone or out of scope", l.CRMID, l.MailboxID)
		}
		if l.Detached() {
			continue
		}
		byMbx[l.MailboxID] = l
		m := w.mbx.recs[l.MailboxID]
		if m == nil {
			return fmt.Errorf("link %s|%s: mailbox record gone", l.CRMID, l.MailboxID)
		}
		if !m.inScope || w.mayDiverge[l.CRMID] {
			// Moved out of the mailbox's view: its edits are not seen until it
			// comes back. Or relinked without the CRM record at hand.
			continue
		}
		for _, f := range item.DefaultFields[s.kind] {
			if norm(f, c.rec.Fields[f]) != norm(f, m.rec.Fields[f]) {
				return fmt.Errorf("link %s|%s did not converge: %s is %q in the CRM, %q in the mailbox", l.CRMID, l.MailboxID, f, c.rec.Fields[f], m.rec.Fields[f])
			}
		}
	}
	// No duplicates: the key field is unique per entity among each side's
	// synced records (a record moved out of the sync's view by the user is no
	// longer the sync's business, unless it is still linked).
	for _, side := range []*memSide{w.crm, w.mbx} {
		seen := map[string]string{}
		for _, id := range side.ids() {
			_, linked := byMbx[id]
			if side.side == CRM {
				_, linked = w.links[id]
			}
			if !side.recs[id].inScope && !linked {
				continue
			}
			k := side.recs[id].rec.Fields[s.keyField()]
			if prev, ok := seen[k]; ok {
				return fmt.Errorf("duplicate on the %s: %s and %s are both %q", side.side, prev, id, k)
			}
			seen[k] = id
		}
	}
	// Every record in scope is synced, except what the rules leave alone.
	// An exception seen while its series was not synced raises an issue
	// (SeriesNotSynced) and waits for its own next change.
	seriesSynced := func(side *memSide, r item.Record) bool { return r.Fields[item.SeriesID] == "" }
	for _, id := range w.crm.ids() {
		m := w.crm.recs[id]
		if _, ok := w.links[id]; !ok && m.inScope && seriesSynced(w.crm, m.rec) {
			return fmt.Errorf("CRM record %s is in scope but not synced", id)
		}
	}
	for _, id := range w.mbx.ids() {
		m := w.mbx.recs[id]
		if _, ok := byMbx[id]; ok || !m.inScope || !seriesSynced(w.mbx, m.rec) {
			continue
		}
		if s.kind == item.Event && !m.rec.HasCategory("Salesforce") {
			continue
		}
		return fmt.Errorf("mailbox record %s is in scope but not synced", id)
	}
	if s.noLossCheck {
		return nil
	}
	// No lost change: a field written on one side of a pair holds that value
	// on both; written on both, the conflict rule picks one of them.
	for _, l := range w.links {
		if l.Detached() || !w.mbx.recs[l.MailboxID].inScope || w.mayDiverge[l.CRMID] {
			continue
		}
		ce, me := s.edits[CRM][l.CRMID], s.edits[Mailbox][l.MailboxID]
		got := w.crm.recs[l.CRMID].rec.Fields
		for _, f := range item.DefaultFields[s.kind] {
			cv, cOK := ce[f]
			mv, mOK := me[f]
			var ok bool
			switch {
			case cOK && mOK && norm(f, cv) != norm(f, mv):
				switch w.policy.Conflict {
				case CRMWins:
					ok = norm(f, got[f]) == norm(f, cv)
				case MailboxWins:
					ok = norm(f, got[f]) == norm(f, mv)
				default:
					ok = norm(f, got[f]) == norm(f, cv) || norm(f, got[f]) == norm(f, mv)
				}
			case cOK:
				ok = norm(f, got[f]) == norm(f, cv)
			case mOK:
				ok = norm(f, got[f]) == norm(f, mv)
			default:
				ok = true
			}
			if !ok {
				return fmt.Errorf("lost change on %s|%s field %s: have %q, CRM wrote %q (%t), mailbox wrote %q (%t)", l.CRMID, l.MailboxID, f, got[f], cv, cOK, mv, mOK)
			}
		}
	}
	return nil
}

// checkOneWay verifies a one-way world: the source is never written, and
// with the CRM as source every CRM record in scope is synced. (With the
// mailbox as source, an item whose CRM record left the CRM's scope is
// unlinked and left alone, since creating it again would duplicate.)
func (s *scenario) checkOneWay() error {
	w := s.w
	source := CRM
	if w.policy.Direction == MailboxToCRM {
		source = Mailbox
	}
	if n := w.writes[source]; n > 0 {
		return fmt.Errorf("%s sync wrote %d times to its source, the %s", w.policy.Direction, n, source)
	}
	if source == Mailbox {
		return nil
	}
	for _, id := range w.crm.ids() {
		r := w.crm.recs[id]
		if _, linked := w.links[id]; linked || !r.inScope || r.rec.Fields[item.SeriesID] != "" {
			continue
		}
		return fmt.Errorf("CRM record %s is in scope but not synced", id)
	}
	return nil
}
