package session

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/reconcile"
	"github.com/crmsync/crmsync/shared/side"
)

// scopes returns the CRM and mailbox scopes of kind at the session's time.
func (s *run) scopes(kind item.Kind, pol reconcile.Policy) (crm, mbx item.Scope) {
	past, future := s.settings.PastDays, s.settings.FutureDays
	if past == 0 {
		past = 14
	}
	if future == 0 {
		future = 28
	}
	day := s.now.UTC().Truncate(24 * time.Hour)
	sc := item.Scope{Kind: kind, ShareCategory: pol.ShareCategory}
	switch kind {
	case item.Contact:
		sc.ListView = s.settings.ContactListView
	case item.Task:
		sc.From = day.AddDate(0, 0, -past)
	case item.Event:
		sc.From, sc.To = day.AddDate(0, 0, -past), day.AddDate(0, 0, future)
	}
	mbx = sc
	if kind == item.Event {
		mbx.Calendars = slices.Clone(s.settings.Calendars)
	}
	return sc, mbx
}

func (s *run) syncKind(ctx context.Context, kind item.Kind, cursors Cursors) error {
	pol := s.settings.Policies[kind].WithDefaults(kind)
	crmScope, mbxScope := s.scopes(kind, pol)
	// A first CRM listing may come page by page (paged.go); the mailbox is
	// read first then, as whether paging can work depends on what it holds.
	pager, paged := s.sides.CRM.(side.PageLister)
	paged = paged && cursors.Old[reconcile.CRM] == ""
	var crmCh item.Changes
	var err error
	if !paged {
		if crmCh, err = s.sides.CRM.Changes(ctx, crmScope, cursors.Old[reconcile.CRM]); err != nil {
			return fmt.Errorf("%s changes in the CRM: %w", kind, err)
		}
	}
	mbxCh, err := s.sides.Mailbox.Changes(ctx, mbxScope, cursors.Old[reconcile.Mailbox])
	if err != nil {
		return fmt.Errorf("%s changes in the mailbox: %w", kind, err)
	}
	mbxCh.Kind = kind
	if paged {
		done, err := s.syncPaged(ctx, kind, pol, cursors, crmScope, pager, mbxCh)
		if done || err != nil {
			return err
		}
		if crmCh, err = s.sides.CRM.Changes(ctx, crmScope, cursors.Old[reconcile.CRM]); err != nil {
			return fmt.Errorf("%s changes in the CRM: %w", kind, err)
		}
	}
	crmCh.Kind = kind
	s.noteRead(ctx, kind, crmCh, mbxCh)
	s.problems(kind, reconcile.CRM, crmCh.Problems)
	s.problems(kind, reconcile.Mailbox, mbxCh.Problems)
	links, ok := s.links[kind]
	var counts *reconcile.LinkCounts
	if delete(s.links, kind); !ok && !idleKind(crmCh, mbxCh) {
		if links, counts, err = s.st.LinksFor(ctx, kind, crmCh, mbxCh); err != nil {
			return err
		}
	}
	out, err := reconcile.Plan(reconcile.Input{
		Kind: kind, Now: s.now, Policy: pol, Key: s.settings.FingerprintKey,
		Links: links, Counts: counts, CRM: crmCh, Mailbox: mbxCh, Confirmed: s.confirmed[kind],
	})
	if err != nil {
		return fault.Wrap(fault.Permanent, err)
	}
	s.capCreates(&out, linkedCount(links, counts))
	// The plan holds what it writes: the records read (like the links and
	// the planner's indexes) are not needed while it is applied.
	reported := len(crmCh.Records) + len(crmCh.Removed) + len(mbxCh.Records) + len(mbxCh.Removed)
	crmCh.Records, crmCh.Removed, mbxCh.Records, mbxCh.Removed = nil, nil, nil, nil
	s.takePlan(ctx, kind, out)
	retry, err := s.apply(ctx, kind, out.Actions)
	if err != nil {
		return err
	}
	return s.endKind(ctx, kind, cursors, out.Guard, retry, crmCh, mbxCh, len(out.Actions)+reported)
}

// takePlan reports a plan's conflicts and issues.
func (s *run) takePlan(ctx context.Context, kind item.Kind, out reconcile.Output) {
	s.notePlan(ctx, kind, out)
	for _, c := range out.Conflicts {
		s.log.Info("conflict settled", "kind", kind, "field", c.Field, "winner", c.Winner, "rule", c.Rule)
	}
	s.rep.Conflicts += len(out.Conflicts)
	for _, is := range out.Issues {
		s.issues = append(s.issues, Issue{Kind: kind, Side: is.Side, RecordID: is.RecordID, Name: is.Name, Code: string(is.Code), Reason: is.Message})
	}
}

// endKind settles a kind's sync once its plan is applied: the guard's issue,
// the left-out items, and the cursors. busy counts the actions planned and
// the records and removals the sides reported (0 = a quiet session).
func (s *run) endKind(ctx context.Context, kind item.Kind, cursors Cursors, guard reconcile.GuardReport, retry bool, crmCh, mbxCh item.Changes, busy int) error {
	if guard.Tripped == "" || guard.Overridden {
		// The side recovered, or the confirmed removals went through (those
		// that failed are issues of their own): the guard issue is settled,
		// and a confirmation on it is used up with it. Left-out items are
		// judged here too, never on a held plan, which may drop creates.
		s.cleared = append(s.cleared, guardKey(kind))
		s.settleLeftOut(kind, map[reconcile.Side]bool{reconcile.CRM: crmCh.Full, reconcile.Mailbox: mbxCh.Full})
	}
	if retry || (guard.Tripped != "" && !guard.Overridden) {
		// Some records failed for a temporary reason, or a guard held
		// deletions back: keep the old cursors so the next session sees those
		// changes again. Everything that did apply is linked and will be
		// recognised as already in sync.
		if retry && len(s.reread[kind]) > 0 {
			// The stored cursor is past the left-out items this full read
			// tried to create: only another full read retries them.
			return s.st.ForgetCursors(ctx, kind, s.reread[kind])
		}
		return nil
	}
	quiet := !crmCh.Full && !mbxCh.Full && busy == 0
	return s.st.SaveCursors(ctx, kind, cursors, map[reconcile.Side]string{reconcile.CRM: crmCh.Cursor, reconcile.Mailbox: mbxCh.Cursor}, quiet, s.now)
}
