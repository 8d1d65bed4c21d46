package reconcile

import (
	"fmt"
	"math"
	"slices"
)

// guard trips when a side looks empty or the plan removes too much; then it
// holds back every delete and unlink of the kind and raises an issue.
func (pl *planner) guard() {
	// Detached links count for the CRM side: a CRM listing that lost every
	// link, detached ones included, looks broken even when no live link is left.
	all, live, crmLost, mbxLost := len(pl.links), len(pl.byMbx), 0, 0
	if c := pl.in.Counts; c != nil {
		// Only the links of the reported records are at hand: the losses are
		// counted from them (a lost link is a reported one), the whole from
		// the counts.
		all, live = c.All, c.Live
	}
	for id := range pl.crm.removed {
		if _, ok := pl.byCRM[id]; ok {
			crmLost++
		}
	}
	for id := range pl.mbx.removed {
		if _, ok := pl.byMbx[id]; ok {
			mbxLost++
		}
	}
	removals, held := 0, 0
	for _, a := range pl.acts {
		if a.live {
			removals++
		}
		if a.holdable() {
			held++
		}
	}
	g := &pl.out.Guard
	g.LiveLinks, g.Removals = live, removals
	g.Limit = int(math.Floor(pl.p.Guard.MaxRemoveShare * float64(live)))
	// A side "looks empty" when it lost every link, through a full listing
	// with none of them or through removals. Even one link counts: deleting
	// one's last synced item is rare, a broken listing is not, and a
	// confirmation costs the user one click.
	crmEmpty := all >= 1 && crmLost == all
	mbxEmpty := live >= 1 && mbxLost == live
	switch {
	case crmEmpty:
		g.Tripped = EmptyCRM
	case mbxEmpty:
		g.Tripped = EmptyMailbox
	case live >= pl.p.Guard.MinLinks && removals > g.Limit:
		g.Tripped = MassRemove
	}
	if g.Tripped == "" || held == 0 {
		// Nothing to hold back: a side that merely looks empty without costing
		// a link (items moved out of the mailbox's view) is no reason to alarm.
		g.Tripped = ""
		return
	}
	if pl.in.Confirmed {
		g.Overridden = true
		return
	}
	pl.acts = slices.DeleteFunc(pl.acts, planned.holdable)
	// What the held removals would have logged goes with them.
	pl.out.Conflicts = slices.DeleteFunc(pl.out.Conflicts, func(c Conflict) bool { return c.Rule == "delete" })
	pl.out.Issues = slices.DeleteFunc(pl.out.Issues, func(i Issue) bool { return i.Code == DeletedWhileChanged })
	// Creating into a side that looks empty would duplicate whatever its
	// broken listing hid. The runner keeps the cursors of a guarded kind, so
	// these creates are planned again once the side answers properly.
	pl.acts = slices.DeleteFunc(pl.acts, func(a planned) bool {
		return (crmEmpty && a.Op == CreateCRM) || (mbxEmpty && a.Op == CreateMailbox)
	})
	var msg string
	switch g.Tripped {
	case EmptyCRM:
		msg = fmt.Sprintf("The CRM reported none of the %d synced %ss, which looks like an outage or a wiped CRM; crmsync deleted, unlinked and created nothing in it. Confirm on the dashboard if the removals are intended.", all, pl.kind)
	case EmptyMailbox:
		msg = fmt.Sprintf("The mailbox reported none of the %d synced %ss, which looks like an outage or a wiped mailbox; crmsync deleted, unlinked and created nothing in it. Confirm on the dashboard if the removals are intended.", live, pl.kind)
	default:
		msg = fmt.Sprintf("This sync would delete or unlink %d of %d synced %ss (more than the limit of %d); crmsync held the removals back. Confirm on the dashboard if they are intended.", removals, live, pl.kind, g.Limit)
	}
	pl.out.Issues = append(pl.out.Issues, Issue{Code: GuardTripped, Message: msg})
}
