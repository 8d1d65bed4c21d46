package session

import (
	"context"
	"fmt"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/reconcile"
	"github.com/crmsync/crmsync/shared/side"
)

// syncPaged runs a kind's first sync page by page when the CRM can list its
// scope that way (side.PageLister): each page of CRM records is planned and
// applied before the next is read, so the session holds one page of records
// and its plan, not the whole scope (issue 16: an initial sync of 50,000
// contacts within a few KB per record).
//
// It is the same plan as the whole listing's, cut in pieces, only when no
// record's plan depends on records of other pages: the kind has no stored
// links (none can be absent from the listing, no guard can trip) and the
// mailbox reported nothing (nothing to match a CRM record against, no
// removal). Then each CRM record is planned on its own — created in the
// mailbox or left alone by the policy — and the planner stays as it is,
// pure, given a page at a time. Otherwise it reports done=false having
// written nothing, and the kind is synced from the whole listing.
func (s *run) syncPaged(ctx context.Context, kind item.Kind, pol reconcile.Policy, cursors Cursors, crmScope item.Scope,
	pager side.PageLister, mbxCh item.Changes) (done bool, err error) {
	if len(mbxCh.Records)+len(mbxCh.Removed)+len(mbxCh.Problems) > 0 {
		return false, nil
	}
	if links, ok := s.links[kind]; ok {
		// Read for the plan's cap (rereadLeftOut): no links, or not paged.
		if len(links) > 0 {
			return false, nil
		}
		delete(s.links, kind)
	}
	counts, counted, err := s.st.LinkCounts(ctx, kind)
	if err != nil {
		return false, err
	}
	if counted && counts.All > 0 {
		return false, nil
	}
	if !counted {
		// Not counted yet: read the links (and count them) as the whole
		// listing's plan would; if there are any, that plan takes them.
		links, _, err := s.st.LinksFor(ctx, kind, item.Changes{Kind: kind, Full: true}, mbxCh)
		if err != nil {
			return false, err
		}
		if len(links) > 0 {
			s.links[kind] = links
			return false, nil
		}
	}
	s.noteRead(ctx, kind, mbxCh)
	retry, creates, planned := false, 0, 0
	var applyErr error
	tail, err := pager.ListPages(ctx, crmScope, func(recs []item.Record) error {
		page := item.Changes{Kind: kind, Records: recs}
		s.noteRead(ctx, kind, page)
		out, err := reconcile.Plan(reconcile.Input{
			Kind: kind, Now: s.now, Policy: pol, Key: s.settings.FingerprintKey,
			CRM: page, Mailbox: mbxCh, Confirmed: s.confirmed[kind],
		})
		if err != nil {
			applyErr = fault.Wrap(fault.Permanent, err)
			return applyErr
		}
		// The cap counts the creates of earlier pages as linked already.
		s.capCreates(&out, creates)
		for _, a := range out.Actions {
			if a.Op == reconcile.CreateCRM || a.Op == reconcile.CreateMailbox {
				creates++
			}
		}
		planned += len(out.Actions)
		s.takePlan(ctx, kind, out)
		r, err := s.apply(ctx, kind, out.Actions)
		retry = retry || r
		applyErr = err
		// Nothing later in this sync writes the page's links again (a
		// failed one is read again if it is): hold their IDs alone.
		s.st.ReleaseLinkRows(kind)
		return err
	})
	if applyErr != nil {
		return true, applyErr
	}
	if err != nil {
		return true, fmt.Errorf("%s changes in the CRM: %w", kind, err)
	}
	tail.Kind, tail.Records = kind, nil
	s.noteRead(ctx, kind, item.Changes{Removed: tail.Removed})
	s.problems(kind, reconcile.CRM, tail.Problems)
	return true, s.endKind(ctx, kind, cursors, reconcile.GuardReport{}, retry, tail, mbxCh, planned+len(tail.Removed))
}
