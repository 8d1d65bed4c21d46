package session

import (
	"context"
	"fmt"

	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/reconcile"
)

// capCreates enforces the plan's record cap: creates beyond it are dropped
// and each becomes an issue saying so. The cursors move on all the same; the
// issue is what brings a left-out item back (see rereadLeftOut).
func (s *run) capCreates(out *reconcile.Output, linked int) {
	limit := s.settings.MaxRecords
	if limit == 0 {
		return
	}
	room := limit - linked
	kept := out.Actions[:0]
	for _, a := range out.Actions {
		if a.Op == reconcile.CreateCRM || a.Op == reconcile.CreateMailbox {
			if room <= 0 {
				side, id := sourceOf(a)
				s.issues = append(s.issues, Issue{Kind: out.Kind, Side: side, RecordID: id, Name: a.Record.Name(), Code: planLimit,
					Reason: fmt.Sprintf("your plan syncs up to %d records of this kind; this one was left out and syncs once there is room (a larger plan, or fewer synced records)", limit)})
				continue
			}
			room--
		}
		kept = append(kept, a)
	}
	out.Actions = kept
}

// planLimit is the issue code of an item the plan's record cap left out.
const planLimit = "plan-limit"

// leftOut indexes the open plan-limit issues by kind and source side.
func leftOut(open []Issue) map[item.Kind]map[reconcile.Side][]string {
	out := map[item.Kind]map[reconcile.Side][]string{}
	for _, is := range open {
		if is.Code != planLimit {
			continue
		}
		if out[is.Kind] == nil {
			out[is.Kind] = map[reconcile.Side][]string{}
		}
		out[is.Kind][is.Side] = append(out[is.Kind][is.Side], issueKey(is.Kind, is.Side, is.RecordID))
	}
	return out
}

// rereadLeftOut makes the kind's sync read a side in full when items of it
// were left out under the plan's cap and there is room now (the plan grew or
// synced records went away): the change feed has moved past them, so only a
// full listing plans their creates again. While the cap is still reached the
// feed is read as usual, so a user at the cap pays nothing for it.
func (s *run) rereadLeftOut(ctx context.Context, kind item.Kind, c Cursors) error {
	sides := s.leftOut[kind]
	if len(sides) == 0 {
		return nil
	}
	if limit := s.settings.MaxRecords; limit > 0 {
		links, err := s.st.Links(ctx, kind)
		if err != nil {
			return err
		}
		s.links[kind] = links
		if len(links) >= limit {
			return nil
		}
	}
	for side := range sides {
		c.Old[side] = ""
		s.reread[kind] = append(s.reread[kind], side)
	}
	return nil
}

// settleLeftOut clears, after a full listing of a side, the plan-limit
// issues of its items that this session neither synced nor left out again:
// they were deleted or left the scope meanwhile, and no later session would
// ever plan them to clear their issue.
func (s *run) settleLeftOut(kind item.Kind, full map[reconcile.Side]bool) {
	raised := map[string]bool{}
	for _, is := range s.issues {
		raised[issueKey(is.Kind, is.Side, is.RecordID)] = true
	}
	for side, keys := range s.leftOut[kind] {
		if !full[side] {
			continue
		}
		for _, k := range keys {
			if !raised[k] {
				s.cleared = append(s.cleared, k)
			}
		}
	}
}
