package reconcile

import (
	"maps"

	"github.com/crmsync/crmsync/shared/item"
)

// changed reports whether r (on side s) differs from l's last synced state in
// any synced field.
func (pl *planner) changed(l Link, r item.Record, s Side) bool {
	if r.Version != "" && r.Version == pl.version(l, s) {
		return false
	}
	for _, f := range pl.p.Fields {
		v, ok := r.Fields[f]
		if !ok {
			continue
		}
		base, has := l.Fingerprints[f]
		if !has || pl.fp.Fingerprint(pl.kind, f, v) != base {
			return true
		}
	}
	return false
}

func (pl *planner) version(l Link, s Side) string {
	if s == CRM {
		return l.CRMVersion
	}
	return l.MailboxVersion
}

// merge plans the field-level merge of a linked (or just matched) pair; c or
// m is nil when that side did not report the record. adopt forces a SaveLink
// for a pair that is new even when nothing needs writing.
func (pl *planner) merge(l Link, c, m *item.Record, adopt bool) {
	cSame := c != nil && c.Version != "" && c.Version == l.CRMVersion
	mSame := m != nil && m.Version != "" && m.Version == l.MailboxVersion
	newFP := make(map[string]string, len(pl.p.Fields))
	maps.Copy(newFP, l.Fingerprints)
	var toCRM, toMbx map[string]string
	for _, f := range pl.p.Fields {
		base, hasBase := l.Fingerprints[f]
		var cv, mv, cfp, mfp string
		var cCh, mCh, cHas, mHas bool
		// A field without a fingerprint on a pair that synced before (a
		// mapping added since) has an unknown last state: it is read even
		// from a record whose version did not move, and an empty value is
		// nothing to bring, so the side holding a value fills the other
		// without a conflict. Two different values are a real conflict. A
		// pair never synced (no fingerprints at all) merges as before.
		unknown := !hasBase && len(l.Fingerprints) > 0
		if c != nil && (!cSame || unknown) {
			if v, ok := c.Fields[f]; ok {
				cv, cfp, cHas = v, pl.fp.Fingerprint(pl.kind, f, v), true
				cCh = !hasBase || cfp != base
				if unknown {
					cCh = v != ""
				}
			}
		}
		if m != nil && (!mSame || unknown) {
			if v, ok := m.Fields[f]; ok {
				mv, mfp, mHas = v, pl.fp.Fingerprint(pl.kind, f, v), true
				mCh = !hasBase || mfp != base
				if unknown {
					mCh = v != ""
				}
			}
		}
		if unknown && !cCh && !mCh && cHas && mHas {
			// Both empty: the state is known now.
			newFP[f] = cfp
			continue
		}
		switch {
		case cCh && mCh:
			if cfp == mfp {
				newFP[f] = cfp
				continue
			}
			winner, rule := pl.winner(c, m)
			pl.out.Conflicts = append(pl.out.Conflicts, Conflict{CRMID: l.CRMID, MailboxID: l.MailboxID, Field: f, Winner: winner, Rule: rule})
			if winner == CRM {
				toMbx = put(toMbx, f, cv)
				newFP[f] = cfp
			} else {
				toCRM = put(toCRM, f, mv)
				newFP[f] = mfp
			}
		case cCh:
			if pl.p.sendsToMailbox() {
				toMbx = put(toMbx, f, cv)
				newFP[f] = cfp
			}
		case mCh:
			if pl.p.sendsToCRM() {
				toCRM = put(toCRM, f, mv)
				newFP[f] = mfp
			}
		}
	}
	next := l
	next.Kind = pl.kind
	next.Fingerprints = newFP
	if c != nil {
		next.CRMVersion = c.Version
	}
	if m != nil {
		next.MailboxVersion = m.Version
	}
	next.LastSynced = pl.in.Now
	phase := 0
	if c != nil && m != nil {
		phase = pl.phaseOf(*c, *m)
	} else if c != nil {
		phase = pl.phaseOf(*c, item.Record{})
	} else if m != nil {
		phase = pl.phaseOf(item.Record{}, *m)
	}
	if len(toCRM) > 0 {
		// The CRM update comes first; its link assumes only its own fields
		// moved on, so a failed mailbox update after it loses nothing: the
		// mailbox fields keep their old fingerprints and differ next time.
		first := next
		first.Fingerprints = maps.Clone(newFP)
		for f := range toMbx {
			if base, ok := l.Fingerprints[f]; ok {
				first.Fingerprints[f] = base
			} else {
				delete(first.Fingerprints, f)
			}
		}
		pl.add(planned{Action: Action{Op: UpdateCRM, Record: item.Record{Kind: pl.kind, ID: l.CRMID, Fields: toCRM}, Link: first}, phase: phase})
	}
	if len(toMbx) > 0 {
		pl.add(planned{Action: Action{Op: UpdateMailbox, Record: item.Record{Kind: pl.kind, ID: l.MailboxID, Fields: toMbx}, Link: next}, phase: phase})
	}
	if len(toCRM) == 0 && len(toMbx) == 0 && (adopt || !maps.Equal(newFP, l.Fingerprints)) {
		pl.add(planned{Action: Action{Op: SaveLink, Link: next}, phase: phase})
	}
}

func put(m map[string]string, k, v string) map[string]string {
	if m == nil {
		m = map[string]string{}
	}
	m[k] = v
	return m
}

// winner settles a field changed on both sides. A one-way direction always
// favours its source; otherwise the policy's rule decides.
func (pl *planner) winner(c, m *item.Record) (Side, string) {
	switch pl.p.Direction {
	case CRMToMailbox:
		return CRM, string(CRMToMailbox)
	case MailboxToCRM:
		return Mailbox, string(MailboxToCRM)
	}
	switch pl.p.Conflict {
	case CRMWins:
		return CRM, string(CRMWins)
	case MailboxWins:
		return Mailbox, string(MailboxWins)
	}
	if m.Modified.After(c.Modified) {
		return Mailbox, string(NewerWins)
	}
	return CRM, string(NewerWins)
}
