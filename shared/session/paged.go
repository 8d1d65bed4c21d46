package session

import (
	"context"
	"fmt"
	"slices"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/reconcile"
	"github.com/crmsync/crmsync/shared/side"
)

// syncPaged runs a kind's first sync page by page when the CRM can list its
// scope that way (side.PageLister): each page of CRM records is planned and
// applied before the next is read, so the session holds one page of CRM
// records and its plan, not the whole scope (issue 16: an initial sync of
// 50,000 contacts within a few KB per record). The planner is unchanged and
// pure, given a page at a time.
//
// Cut in pages, the plan is the whole listing's when the kind has no stored
// links: none can be absent from the listing and no guard can trip, so a
// CRM record's plan depends on the mailbox's records alone. Each page is
// planned against the mailbox records no earlier page paired (by marker or
// natural key), with mailbox items not yet created in the CRM; once every
// page is done, the mailbox items left unpaired are planned on their own,
// with the policy's NewItems. The mailbox is read whole, as before. Two
// cases keep the whole listing: events when the mailbox holds some (an
// exception follows its series, which may pair in a page), and a plan's
// record cap with mailbox items to create (a whole plan creates those
// first). Then, or with stored links, it reports done=false having written
// nothing, and the kind is synced from the whole listing.
//
// One difference remains, where a choice was arbitrary anyway: two CRM
// records with one natural key (duplicates in the CRM) and one mailbox item
// with it pair the item with the one listed first, not the lowest ID.
func (s *run) syncPaged(ctx context.Context, kind item.Kind, pol reconcile.Policy, cursors Cursors, crmScope item.Scope,
	pager side.PageLister, mbxCh item.Changes) (done bool, err error) {
	if len(mbxCh.Records) > 0 && (kind == item.Event || s.settings.MaxRecords > 0) {
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
	s.problems(kind, reconcile.Mailbox, mbxCh.Problems)
	// unpaired are the mailbox records no page has paired yet; the pages'
	// plans create none of them in the CRM.
	unpaired := slices.Clone(mbxCh.Records)
	pagePol := pol
	pagePol.NewItems = reconcile.NewNone
	retry, creates, planned := false, 0, 0
	var applyErr error
	planApply := func(crm, mbx item.Changes, pol reconcile.Policy) error {
		out, err := reconcile.Plan(reconcile.Input{
			Kind: kind, Now: s.now, Policy: pol, Key: s.settings.FingerprintKey,
			CRM: crm, Mailbox: mbx, Confirmed: s.confirmed[kind],
		})
		if err != nil {
			applyErr = fault.Wrap(fault.Permanent, err)
			return applyErr
		}
		// The cap counts the creates of earlier pages as linked already.
		s.capCreates(&out, creates)
		paired := map[string]bool{}
		for _, a := range out.Actions {
			switch {
			case a.Op == reconcile.CreateCRM || a.Op == reconcile.CreateMailbox:
				creates++
			case a.Link.CRMID != "" && a.Link.MailboxID != "":
				paired[a.Link.MailboxID] = true
			}
		}
		if len(paired) > 0 {
			unpaired = slices.DeleteFunc(unpaired, func(r item.Record) bool { return paired[r.ID] })
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
	}
	tail, err := pager.ListPages(ctx, crmScope, func(recs []item.Record) error {
		page := item.Changes{Kind: kind, Records: recs}
		s.noteRead(ctx, kind, page)
		return planApply(page, item.Changes{Kind: kind, Records: unpaired}, pagePol)
	})
	if err == nil && applyErr == nil && (len(unpaired) > 0 || len(mbxCh.Removed) > 0) {
		mbxCh.Records = unpaired
		err = planApply(item.Changes{Kind: kind}, mbxCh, pol)
	}
	if applyErr != nil {
		return true, applyErr
	}
	if err != nil {
		return true, fmt.Errorf("%s changes in the CRM: %w", kind, err)
	}
	tail.Kind, tail.Records = kind, nil
	s.noteRead(ctx, kind, item.Changes{Removed: tail.Removed})
	s.problems(kind, reconcile.CRM, tail.Problems)
	mbxCh.Records = nil
	return true, s.endKind(ctx, kind, cursors, reconcile.GuardReport{}, retry, tail, mbxCh, planned+len(tail.Removed))
}
