package reconcile

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/crmsync/crmsync/shared/item"
)

// view is one side's report, indexed.
type view struct {
	side Side
	recs map[string]item.Record
	// order lists the IDs of recs sorted, for a deterministic plan.
	order   []string
	removed map[string]item.RemovalReason
	// absent holds linked IDs a full listing left out (also in removed, as
	// LeftScope): deleted or moved, the listing cannot say which.
	absent map[string]bool
	full   bool
}

// planned is an action with what the planner needs to order and guard it.
type planned struct {
	Action
	// phase 1 holds exceptions of recurring events, planned after every series.
	phase int
	// live marks the removal of a live link (counted by the guards).
	live bool
}

// holdable reports whether a tripped guard holds the action back.
func (a planned) holdable() bool { return a.DropsLink() || a.Op == Detach }

type planner struct {
	in     Input
	p      Policy
	kind   item.Kind
	fp     *item.Fingerprinter
	crm    view
	mbx    view
	links  []Link
	byCRM  map[string]int
	byMbx  map[string]int
	acts   []planned
	out    Output
	emptyF map[string]string
	// paired maps IDs paired in this plan (matches and relinks) to the other
	// side's ID, per side, so exceptions find their series.
	paired map[Side]map[string]string
	// creating maps a source record's ID to the marker of its planned create,
	// per source side, so exceptions created with their series find it.
	creating map[Side]map[string]string
}

// newPlanner indexes the input; it reports links it cannot plan from.
func newPlanner(in Input) (*planner, []error) {
	pl := &planner{
		in:       in,
		p:        in.Policy.WithDefaults(in.Kind),
		kind:     in.Kind,
		fp:       item.NewFingerprinter(in.Key),
		emptyF:   map[string]string{},
		paired:   map[Side]map[string]string{CRM: {}, Mailbox: {}},
		creating: map[Side]map[string]string{CRM: {}, Mailbox: {}},
	}
	pl.out.Kind = in.Kind
	// Links are used in input order: the output is sorted at the end, so
	// no order of the (large) link list needs establishing here.
	pl.links = in.Links
	pl.byCRM = make(map[string]int, len(pl.links))
	pl.byMbx = make(map[string]int, len(pl.links))
	var bad []error
	for i, l := range pl.links {
		switch {
		case l.Kind != "" && l.Kind != in.Kind:
			bad = append(bad, fmt.Errorf("link %s is of kind %q, want %q", l.CRMID, l.Kind, in.Kind))
			continue
		case l.CRMID == "":
			bad = append(bad, fmt.Errorf("a link (mailbox ID %s) has no CRM ID", l.MailboxID))
			continue
		}
		if _, dup := pl.byCRM[l.CRMID]; dup {
			bad = append(bad, fmt.Errorf("two links share CRM ID %s", l.CRMID))
			continue
		}
		pl.byCRM[l.CRMID] = i
		if !l.Detached() {
			if _, dup := pl.byMbx[l.MailboxID]; dup {
				bad = append(bad, fmt.Errorf("two links share mailbox ID %s", l.MailboxID))
				continue
			}
			pl.byMbx[l.MailboxID] = i
		}
	}
	pl.crm = pl.index(CRM, in.CRM)
	pl.mbx = pl.index(Mailbox, in.Mailbox)
	return pl, bad
}

// index builds a side's view. A record reported twice counts once (the last
// report, as delta feeds repeat items across pages); a record reported both
// changed and removed counts as removed, the later state of a feed that
// merges updates and deletes. A full listing's absent linked records count as
// having left scope.
func (pl *planner) index(side Side, ch item.Changes) view {
	v := view{side: side, recs: make(map[string]item.Record, len(ch.Records)), removed: make(map[string]item.RemovalReason, len(ch.Removed)), absent: map[string]bool{}, full: ch.Full}
	for _, r := range ch.Records {
		r.Kind = pl.kind
		v.recs[r.ID] = r
	}
	for _, rm := range ch.Removed {
		v.removed[rm.ID] = rm.Reason
		delete(v.recs, rm.ID)
	}
	held := map[string]bool{}
	for _, p := range ch.Problems {
		// Reported but unreadable: still there, so never "left scope".
		held[p.ID] = true
	}
	if ch.Full {
		for _, l := range pl.links {
			id := l.CRMID
			if side == Mailbox {
				id = l.MailboxID
			}
			if id == "" || held[id] {
				continue
			}
			if _, ok := v.recs[id]; !ok {
				if _, ok := v.removed[id]; !ok {
					v.removed[id] = item.LeftScope
					v.absent[id] = true
				}
			}
		}
	}
	v.order = slices.Sorted(maps.Keys(v.recs))
	return v
}

func (pl *planner) plan() Output {
	if pl.p.Direction == Off {
		return pl.out
	}
	// Only links a side reported on need planning: a session over 100,000
	// links with a few changes costs the changes, plus indexing.
	for _, i := range pl.touched() {
		if l := pl.links[i]; l.Detached() {
			pl.planDetached(l)
		} else {
			pl.planLinked(l)
		}
	}
	pl.planUnlinked()
	pl.guard()
	pl.finish()
	return pl.out
}

// touched returns the indexes of the links either side reported on, in order.
func (pl *planner) touched() []int {
	var out []int
	add := func(idx map[string]int, id string) {
		if i, ok := idx[id]; ok {
			out = append(out, i)
		}
	}
	for id := range pl.crm.recs {
		add(pl.byCRM, id)
	}
	for id := range pl.crm.removed {
		add(pl.byCRM, id)
	}
	for id := range pl.mbx.recs {
		add(pl.byMbx, id)
	}
	for id := range pl.mbx.removed {
		add(pl.byMbx, id)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// planDetached handles a link whose mailbox copy was taken away on purpose:
// the CRM record is not put back; the link goes when the CRM record does.
func (pl *planner) planDetached(l Link) {
	if _, gone := pl.crm.removed[l.CRMID]; gone {
		pl.add(planned{Action: Action{Op: DropLink, Link: l}})
	}
}

// planLinked handles a live link: removals on either side, else a merge.
func (pl *planner) planLinked(l Link) {
	c, cOK := pl.crm.recs[l.CRMID]
	m, mOK := pl.mbx.recs[l.MailboxID]
	cWhy, cGone := pl.crm.removed[l.CRMID]
	mWhy, mGone := pl.mbx.removed[l.MailboxID]
	phase := pl.phaseOf(c, m)
	// A linked item a full mailbox listing left out was deleted or moved away:
	// it is detached (the CRM record stays and is not put back; a move back
	// relinks by natural key), never deleted in the CRM.
	mAbsent := pl.mbx.absent[l.MailboxID]
	mLeft := mGone && mWhy == item.LeftScope && !mAbsent
	if mLeft {
		// The item left the mailbox's view (moved out of the folder, out of
		// the window): it stays linked and changes nothing in the CRM, so a
		// move back resumes syncing without a duplicate.
		mGone = false
	}
	switch {
	case cGone && mGone && !mAbsent:
		// Deleted in the mailbox too: only the link remains to drop.
		pl.add(planned{Action: Action{Op: DropLink, Link: l}, phase: phase, live: true})
	case cGone:
		if !pl.p.sendsToMailbox() || (cWhy == item.LeftScope && pl.p.ScopeLoss == KeepInMailbox) {
			pl.add(planned{Action: Action{Op: DropLink, Link: l}, phase: phase, live: true})
			return
		}
		if mOK && pl.changed(l, m, Mailbox) {
			pl.out.Conflicts = append(pl.out.Conflicts, Conflict{CRMID: l.CRMID, MailboxID: l.MailboxID, Winner: CRM, Rule: "delete"})
		}
		pl.add(planned{Action: Action{Op: DeleteMailbox, Record: item.Record{Kind: pl.kind, ID: l.MailboxID}, Link: l}, phase: phase, live: true})
	case mGone:
		if pl.p.MailboxDelete == DeleteInCRM && pl.p.sendsToCRM() && !mAbsent {
			if !cOK || !pl.changed(l, c, CRM) {
				pl.add(planned{Action: Action{Op: DeleteCRM, Record: item.Record{Kind: pl.kind, ID: l.CRMID}, Link: l}, phase: phase, live: true})
				return
			}
			// Someone changed the CRM record while the mailbox copy was
			// deleted: keep the change, and tell the user the delete did not
			// reach the CRM.
			pl.out.Conflicts = append(pl.out.Conflicts, Conflict{CRMID: l.CRMID, MailboxID: l.MailboxID, Winner: CRM, Rule: "delete"})
			pl.out.Issues = append(pl.out.Issues, Issue{Code: DeletedWhileChanged, Side: CRM, RecordID: l.CRMID, Name: c.Name(),
				Message: "Deleted in the mailbox while it was changed in the CRM; the CRM record was kept and is no longer synced to the mailbox."})
		}
		d := l
		d.MailboxID, d.MailboxVersion, d.LastSynced = "", "", pl.in.Now
		d.Fingerprints = maps.Clone(l.Fingerprints)
		pl.add(planned{Action: Action{Op: Detach, Link: d}, phase: phase, live: true})
	default:
		var cp, mp *item.Record
		if cOK {
			cp = &c
		}
		if mOK {
			mp = &m
		}
		if cp != nil || mp != nil {
			pl.merge(l, cp, mp, false)
		}
	}
}

// phaseOf puts exceptions of recurring events after everything else.
func (pl *planner) phaseOf(c, m item.Record) int {
	if c.Fields[item.SeriesID] != "" || m.Fields[item.SeriesID] != "" {
		return 1
	}
	return 0
}

func (pl *planner) add(a planned) {
	a.Link.Kind = pl.kind
	pl.acts = append(pl.acts, a)
}

// opRank orders the operations in a plan (see the Op constants).
func opRank(op Op) int {
	return slices.Index([]Op{SaveLink, Detach, DropLink, DeleteMailbox, DeleteCRM, UpdateCRM, UpdateMailbox, CreateCRM, CreateMailbox}, op)
}

// finish orders the plan deterministically.
func (pl *planner) finish() {
	slices.SortStableFunc(pl.acts, func(a, b planned) int {
		return cmp.Or(
			cmp.Compare(a.phase, b.phase),
			cmp.Compare(opRank(a.Op), opRank(b.Op)),
			strings.Compare(a.Link.CRMID, b.Link.CRMID),
			strings.Compare(a.Link.MailboxID, b.Link.MailboxID),
		)
	})
	pl.out.Actions = make([]Action, len(pl.acts))
	for i, a := range pl.acts {
		pl.out.Actions[i] = a.Action
	}
	slices.SortStableFunc(pl.out.Conflicts, func(a, b Conflict) int {
		return cmp.Or(strings.Compare(a.CRMID, b.CRMID), strings.Compare(a.MailboxID, b.MailboxID), strings.Compare(a.Field, b.Field))
	})
	slices.SortStableFunc(pl.out.Issues, func(a, b Issue) int {
		return cmp.Or(strings.Compare(string(a.Code), string(b.Code)), strings.Compare(string(a.Side), string(b.Side)), strings.Compare(a.RecordID, b.RecordID))
	})
}
