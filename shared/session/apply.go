package session

import (
	"context"
	"errors"
	"fmt"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/reconcile"
	"github.com/crmsync/crmsync/shared/side"
)

// sourceOf names the item an action is about, on the side the user changed.
func sourceOf(a reconcile.Action) (reconcile.Side, string) {
	switch a.Op {
	case reconcile.CreateCRM, reconcile.UpdateCRM, reconcile.DeleteCRM:
		if a.Link.MailboxID != "" {
			return reconcile.Mailbox, a.Link.MailboxID
		}
		return reconcile.CRM, a.Link.CRMID
	default:
		if a.Link.CRMID != "" {
			return reconcile.CRM, a.Link.CRMID
		}
		return reconcile.Mailbox, a.Link.MailboxID
	}
}

func (s *run) side(target reconcile.Side) side.Side {
	if target == reconcile.CRM {
		return s.sides.CRM
	}
	return s.sides.Mailbox
}

func direction(target reconcile.Side) string {
	if target == reconcile.CRM {
		return "to-crm"
	}
	return "to-mailbox"
}

// apply runs the plan's actions: consecutive actions of one operation go to
// their side in one batched call, and each success commits its link. It
// reports retry=true when some record failed for a temporary reason.
func (s *run) apply(ctx context.Context, kind item.Kind, actions []reconcile.Action) (retry bool, err error) {
	created := map[string]string{} // marker → new ID, for exceptions of new series
	for start := 0; start < len(actions); {
		end := start + 1
		for end < len(actions) && actions[end].Op == actions[start].Op && (actions[end].SeriesMarker == "") == (actions[start].SeriesMarker == "") {
			end++
		}
		r, err := s.applyRun(ctx, kind, actions[start:end], created)
		if err != nil {
			return retry, err
		}
		retry = retry || r
		start = end
	}
	return retry, nil
}

func linkKeys(kind item.Kind, l reconcile.Link) []string {
	var out []string
	if l.CRMID != "" {
		out = append(out, string(kind)+"|crm|"+l.CRMID)
	}
	if l.MailboxID != "" {
		out = append(out, string(kind)+"|mailbox|"+l.MailboxID)
	}
	return out
}

func (s *run) linkFailed(kind item.Kind, l reconcile.Link) bool {
	for _, k := range linkKeys(kind, l) {
		if s.failed[k] {
			return true
		}
	}
	return false
}

func (s *run) applyRun(ctx context.Context, kind item.Kind, acts []reconcile.Action, created map[string]string) (retry bool, err error) {
	// Skip the actions of links an earlier action failed on in this session.
	kept := make([]reconcile.Action, 0, len(acts))
	for _, a := range acts {
		if !s.linkFailed(kind, a.Link) {
			kept = append(kept, a)
		}
	}
	if acts = kept; len(acts) == 0 {
		return false, nil
	}
	op := acts[0].Op
	var links []LinkChange
	switch op {
	case reconcile.SaveLink, reconcile.Detach:
		for _, a := range acts {
			links = append(links, LinkChange{Link: a.Link})
			s.done(ctx, kind, a)
		}
		return false, s.commit(ctx, kind, links)
	case reconcile.DropLink:
		for _, a := range acts {
			links = append(links, LinkChange{Link: a.Link, Drop: true})
			s.done(ctx, kind, a)
		}
		return false, s.commit(ctx, kind, links)
	}
	target := acts[0].Target()
	sd := s.side(target)
	var results []side.Result
	switch op {
	case reconcile.DeleteCRM, reconcile.DeleteMailbox:
		ids := make([]string, len(acts))
		for i, a := range acts {
			ids[i] = a.Record.ID
		}
		results, err = sd.Delete(ctx, kind, ids)
	case reconcile.UpdateCRM, reconcile.UpdateMailbox:
		recs := make([]item.Record, len(acts))
		for i, a := range acts {
			recs[i] = a.Record
		}
		results, err = sd.Update(ctx, kind, recs)
	case reconcile.CreateCRM, reconcile.CreateMailbox:
		results, err = s.create(ctx, kind, target, sd, acts, created)
	default:
		return false, fmt.Errorf("session: unknown planned operation %q", op)
	}
	if err != nil {
		return false, fmt.Errorf("%s %s: %w", kind, op, err)
	}
	if len(results) != len(acts) {
		return false, fmt.Errorf("session: %s %s returned %d results for %d records", kind, op, len(results), len(acts))
	}
	var settled []string
	for i, a := range acts {
		res := results[i]
		if res.Err != nil {
			if c := fault.ClassOf(res.Err); c == fault.Temporary || c == fault.Throttled {
				retry = true
			}
			if fault.Is(res.Err, fault.Gone) && (op == reconcile.UpdateCRM || op == reconcile.UpdateMailbox) {
				// Deleted meanwhile, perhaps outside the sync's view: drop the
				// link so the pair is planned afresh from what each side shows.
				links = append(links, LinkChange{Link: a.Link, Drop: true})
				continue
			}
			for _, k := range linkKeys(kind, a.Link) {
				s.failed[k] = true
			}
			s.fail(ctx, kind, a, res.Err)
			continue
		}
		l := a.Link
		switch op {
		case reconcile.CreateCRM:
			l.CRMID = res.ID
			created[a.Marker] = res.ID
			settled = append(settled, a.Marker)
		case reconcile.CreateMailbox:
			l.MailboxID = res.ID
			created[a.Marker] = res.ID
			settled = append(settled, a.Marker)
		case reconcile.UpdateCRM:
			// The CRM may have had to replace the record to update it (a
			// classic Salesforce series takes a new pattern only by being
			// made again): the link moves to the new id.
			if res.ID != "" && l.CRMID != "" && res.ID != l.CRMID {
				links = append(links, LinkChange{Link: l, Drop: true})
				l.CRMID, l.CRMVersion = res.ID, ""
			}
		}
		links = append(links, LinkChange{Link: l, Drop: a.DropsLink()})
		s.done(ctx, kind, a)
	}
	if err := s.commit(ctx, kind, links); err != nil {
		return retry, err
	}
	if len(settled) > 0 {
		if err := s.st.ClearIntents(ctx, settled); err != nil {
			return retry, err
		}
		for _, m := range settled {
			delete(s.pending, m)
		}
	}
	return retry, nil
}

// commit saves link changes, then clears the issues of the items they synced.
func (s *run) commit(ctx context.Context, kind item.Kind, links []LinkChange) error {
	if err := s.st.CommitLinks(ctx, kind, links); err != nil {
		return err
	}
	s.clearSynced(ctx)
	return nil
}

// create records intents, adopts records an interrupted session already
// created, and creates the rest.
func (s *run) create(ctx context.Context, kind item.Kind, target reconcile.Side, sd side.Side, acts []reconcile.Action, created map[string]string) ([]side.Result, error) {
	results := make([]side.Result, len(acts))
	// Adopt first: a pending intent with this marker means the create may
	// have happened before a crash.
	var probe []item.Intent
	for _, a := range acts {
		if in, ok := s.pending[a.Marker]; ok {
			probe = append(probe, item.Intent{Marker: a.Marker, Since: in.Since, Record: a.Record})
		}
	}
	found := map[string]string{}
	if len(probe) > 0 {
		var err error
		if found, err = sd.FindCreated(ctx, kind, probe); err != nil {
			return nil, err
		}
	}
	var intents []Intent
	var sendIdx []int
	for i, a := range acts {
		if id, ok := found[a.Marker]; ok {
			results[i] = side.Result{ID: id}
			s.rep.Counts[string(kind)+"|"+direction(target)+"|adopt"]++
			continue
		}
		if a.SeriesMarker != "" {
			id, ok := created[a.SeriesMarker]
			if !ok {
				results[i] = side.Result{Err: fault.New(fault.Permanent, "series-not-created", "the recurring series of this occurrence could not be created")}
				continue
			}
			a.Record.Fields = cloneFields(a.Record.Fields)
			a.Record.Fields[item.SeriesID] = id
			acts[i] = a
		}
		since := s.now
		if in, ok := s.pending[a.Marker]; ok {
			since = in.Since
		}
		intents = append(intents, Intent{Marker: a.Marker, Kind: kind, Target: target, Since: since, Link: a.Link})
		sendIdx = append(sendIdx, i)
	}
	if len(sendIdx) == 0 {
		return results, nil
	}
	if err := s.st.RecordIntents(ctx, intents); err != nil {
		return nil, err
	}
	recs := make([]item.Record, len(sendIdx))
	markers := make([]string, len(sendIdx))
	for j, i := range sendIdx {
		recs[j], markers[j] = acts[i].Record, acts[i].Marker
	}
	sent, err := sd.Create(ctx, kind, recs, markers)
	if err != nil {
		return nil, err
	}
	if len(sent) != len(sendIdx) {
		return nil, fmt.Errorf("session: create returned %d results for %d records", len(sent), len(sendIdx))
	}
	for j, i := range sendIdx {
		results[i] = sent[j]
	}
	return results, nil
}

func cloneFields(m map[string]string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

func opName(op reconcile.Op) string {
	switch op {
	case reconcile.CreateCRM, reconcile.CreateMailbox:
		return "create"
	case reconcile.UpdateCRM, reconcile.UpdateMailbox:
		return "update"
	case reconcile.DeleteCRM, reconcile.DeleteMailbox:
		return "delete"
	case reconcile.Detach, reconcile.DropLink:
		return "unlink"
	}
	return "link"
}

// done counts a successful action and clears any open issue of its item.
func (s *run) done(ctx context.Context, kind item.Kind, a reconcile.Action) {
	s.noteApplied(ctx, true)
	if t := a.Target(); t != "" {
		s.rep.Counts[string(kind)+"|"+direction(t)+"|"+opName(a.Op)]++
	} else if a.Op != reconcile.SaveLink {
		s.rep.Counts[string(kind)+"|link|"+opName(a.Op)]++
	}
	for _, side := range []reconcile.Side{reconcile.CRM, reconcile.Mailbox} {
		id := a.Link.CRMID
		if side == reconcile.Mailbox {
			id = a.Link.MailboxID
		}
		if id == "" && a.Record.ID != "" && a.Target() == side {
			id = a.Record.ID
		}
		if id == "" {
			continue
		}
		k := issueKey(kind, side, id)
		if s.openIssues[k] {
			s.cleared = append(s.cleared, k)
			if side == reconcile.Mailbox {
				if err := s.sides.Mailbox.FlagIssue(ctx, kind, id, false); err != nil {
					s.log.Warn("sync error category not cleared", "err", err)
				}
			}
		}
	}
}

// problems turns the records a side could not read into issues naming them.
func (s *run) problems(kind item.Kind, side reconcile.Side, ps []item.Problem) {
	for _, p := range ps {
		name := p.Name
		if name == "" {
			name = p.ID
		}
		s.issues = append(s.issues, Issue{Kind: kind, Side: side, RecordID: p.ID, Name: name, Code: p.Code, Reason: p.Reason})
		s.log.Warn("item unreadable", "kind", kind, "side", side, "code", p.Code)
	}
}

// fail records a failed action as an issue naming the item, flagging the
// mailbox item with the "Sync Error" category where there is one.
func (s *run) fail(ctx context.Context, kind item.Kind, a reconcile.Action, err error) {
	s.noteApplied(ctx, false)
	side, id := sourceOf(a)
	name := a.Record.Name()
	if name == "" {
		name = id
	}
	code := "rejected"
	var fe *fault.Error
	if errors.As(err, &fe) && fe.Code != "" {
		code = fe.Code
	}
	s.issues = append(s.issues, Issue{Kind: kind, Side: side, RecordID: id, Name: name, Code: code,
		Reason: fmt.Sprintf("could not %s in the %s: %s", opName(a.Op), a.Target(), Explain(err))})
	s.log.Warn("item failed", "kind", kind, "op", a.Op, "class", fault.ClassOf(err).String(), "code", code)
	if side == reconcile.Mailbox && id != "" {
		if ferr := s.sides.Mailbox.FlagIssue(ctx, kind, id, true); ferr != nil {
			s.log.Warn("sync error category not set", "err", ferr)
		}
	}
}

// settleLeftoverIntents resolves intents that no create of this session took
// up (their source changed or vanished): a record that was created is linked,
// and every such intent is cleared.
func (s *run) settleLeftoverIntents(ctx context.Context) error {
	if len(s.pending) == 0 {
		return nil
	}
	type group struct {
		kind   item.Kind
		target reconcile.Side
	}
	groups := map[group][]Intent{}
	for _, in := range s.pending {
		g := group{in.Kind, in.Target}
		groups[g] = append(groups[g], in)
	}
	var markers []string
	for g, ins := range groups {
		if g.kind == item.SharedEmail {
			continue // settled by shareEmails when its message comes round again
		}
		probe := make([]item.Intent, len(ins))
		for i, in := range ins {
			probe[i] = item.Intent{Marker: in.Marker, Since: in.Since}
		}
		found, err := s.side(g.target).FindCreated(ctx, g.kind, probe)
		if err != nil {
			return err
		}
		var links []LinkChange
		for _, in := range ins {
			if id, ok := found[in.Marker]; ok {
				l := in.Link
				if g.target == reconcile.CRM {
					l.CRMID = id
				} else {
					l.MailboxID = id
				}
				links = append(links, LinkChange{Link: l})
			}
			markers = append(markers, in.Marker)
		}
		if err := s.st.CommitLinks(ctx, g.kind, links); err != nil {
			return err
		}
	}
	return s.st.ClearIntents(ctx, markers)
}
