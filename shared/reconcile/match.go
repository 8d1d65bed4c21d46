package reconcile

import (
	"slices"
	"strings"

	"github.com/crmsync/crmsync/shared/item"
)

// planUnlinked pairs records that no link knows — by crmsync's marker, then by
// natural key, then against detached links — and creates the rest on the
// other side where the policy says so.
func (pl *planner) planUnlinked() {
	var cNew, mNew []item.Record
	for _, id := range pl.crm.order {
		if _, ok := pl.byCRM[id]; !ok {
			cNew = append(cNew, pl.crm.recs[id])
		}
	}
	for _, id := range pl.mbx.order {
		if _, ok := pl.byMbx[id]; !ok {
			mNew = append(mNew, pl.mbx.recs[id])
		}
	}
	if len(cNew) == 0 && len(mNew) == 0 {
		return
	}
	cUsed := make(map[string]bool)
	mUsed := make(map[string]bool)
	pair := func(c, m item.Record) {
		cUsed[c.ID], mUsed[m.ID] = true, true
		pl.paired[CRM][c.ID], pl.paired[Mailbox][m.ID] = m.ID, c.ID
		pl.merge(Link{Kind: pl.kind, CRMID: c.ID, MailboxID: m.ID}, &c, &m, true)
	}

	// A copy crmsync created carries the marker of its source: a session
	// killed after the create and before saving the link left it unlinked.
	if len(cNew) > 0 && len(mNew) > 0 {
		cByMarker := make(map[string]item.Record, len(cNew))
		for _, c := range cNew {
			cByMarker[MarkerFor(pl.kind, CRM, c.ID)] = c
		}
		mByMarker := make(map[string]item.Record, len(mNew))
		for _, m := range mNew {
			mByMarker[MarkerFor(pl.kind, Mailbox, m.ID)] = m
		}
		for _, m := range mNew {
			if c, ok := cByMarker[m.Marker]; ok && m.Marker != "" && !cUsed[c.ID] && !mUsed[m.ID] {
				pair(c, m)
			}
		}
		for _, c := range cNew {
			if m, ok := mByMarker[c.Marker]; ok && c.Marker != "" && !cUsed[c.ID] && !mUsed[m.ID] {
				pair(c, m)
			}
		}

		// Records both sides already hold (a first sync, or a replay on a side
		// that cannot stamp markers) pair by natural key, in ID order.
		cByKey := map[string][]item.Record{}
		for _, c := range cNew {
			if k := pl.recordKey(c); k != "" && !cUsed[c.ID] {
				cByKey[k] = append(cByKey[k], c)
			}
		}
		for _, m := range mNew {
			if mUsed[m.ID] {
				continue
			}
			k := pl.recordKey(m)
			if k == "" || len(cByKey[k]) == 0 {
				continue
			}
			c := cByKey[k][0]
			cByKey[k] = cByKey[k][1:]
			pair(c, m)
		}
	}

	// A mailbox item matching a CRM record whose copy was deleted (a detached
	// link) — typed in again, or restored — relinks instead of duplicating.
	var detached map[string][]int
	for i, l := range pl.links {
		if l.Detached() && len(mNew) > 0 {
			if _, gone := pl.crm.removed[l.CRMID]; gone {
				continue
			}
			if k := pl.linkKey(l); k != "" {
				if detached == nil {
					detached = map[string][]int{}
				}
				detached[k] = append(detached[k], i)
			}
		}
	}
	for _, is := range detached {
		slices.SortFunc(is, func(a, b int) int { return strings.Compare(pl.links[a].CRMID, pl.links[b].CRMID) })
	}
	for _, m := range mNew {
		if mUsed[m.ID] || len(detached) == 0 || !pl.p.sendsToCRM() {
			continue
		}
		k := pl.recordKey(m)
		if k == "" || len(detached[k]) == 0 {
			continue
		}
		l := pl.links[detached[k][0]]
		detached[k] = detached[k][1:]
		mUsed[m.ID] = true
		pl.paired[CRM][l.CRMID], pl.paired[Mailbox][m.ID] = m.ID, l.CRMID
		l.MailboxID, l.MailboxVersion = m.ID, ""
		var cp *item.Record
		if c, ok := pl.crm.recs[l.CRMID]; ok {
			cp = &c
		}
		pl.merge(l, cp, &m, true)
	}

	// The rest are new: series before their exceptions, so an exception's
	// create can name its series' marker.
	for _, exceptions := range []bool{false, true} {
		if pl.p.sendsToMailbox() {
			for _, c := range cNew {
				if !cUsed[c.ID] && (c.Fields[item.SeriesID] != "") == exceptions {
					pl.create(CRM, c)
				}
			}
		}
		if pl.p.sendsToCRM() && pl.p.NewItems != NewNone {
			for _, m := range mNew {
				if mUsed[m.ID] || (m.Fields[item.SeriesID] != "") != exceptions {
					continue
				}
				if pl.p.NewItems == NewShared && !m.HasCategory(pl.p.ShareCategory) && !pl.followsSeries(m) {
					continue
				}
				pl.create(Mailbox, m)
			}
		}
	}
}

// followsSeries reports whether a mailbox exception belongs to a series
// already synced (linked, or created in this plan): it goes where its series
// went without a share category of its own: the user shared the series,
// and an occurrence whose categories were changed on its own (or never
// given them) is still part of it.
func (pl *planner) followsSeries(m item.Record) bool {
	series := m.Fields[item.SeriesID]
	if series == "" {
		return false
	}
	target, marker := pl.otherID(Mailbox, series)
	return target != "" || marker != ""
}

// create plans the copy of r (on side from) on the other side.
func (pl *planner) create(from Side, r item.Record) {
	fields := make(map[string]string, len(pl.p.Fields)+2)
	for _, f := range pl.p.Fields {
		if v, ok := r.Fields[f]; ok {
			fields[f] = v
		}
	}
	a := Action{Op: CreateMailbox, Marker: MarkerFor(pl.kind, from, r.ID)}
	if from == Mailbox {
		a.Op = CreateCRM
	}
	phase := 0
	if series := r.Fields[item.SeriesID]; series != "" {
		phase = 1
		switch target, marker := pl.otherID(from, series); {
		case target != "":
			fields[item.SeriesID] = target
		case marker != "":
			a.SeriesMarker = marker
		default:
			pl.out.Issues = append(pl.out.Issues, Issue{Code: SeriesNotSynced, Side: from, RecordID: r.ID, Name: r.Name(),
				Message: "This occurrence was changed on its own, but its recurring series is not synced, so it cannot be copied."})
			return
		}
		if v, ok := r.Fields[item.OriginalStart]; ok {
			fields[item.OriginalStart] = v
		}
	}
	a.Record = item.Record{Kind: pl.kind, Fields: fields}
	l := Link{Kind: pl.kind, Fingerprints: make(map[string]string, len(pl.p.Fields)), LastSynced: pl.in.Now}
	for _, f := range pl.p.Fields {
		if v, ok := r.Fields[f]; ok {
			l.Fingerprints[f] = pl.fp.Fingerprint(pl.kind, f, v)
		}
	}
	if from == CRM {
		l.CRMID, l.CRMVersion = r.ID, r.Version
	} else {
		l.MailboxID, l.MailboxVersion = r.ID, r.Version
	}
	a.Link = l
	pl.creating[from][r.ID] = a.Marker
	pl.add(planned{Action: a, phase: phase})
}

// otherID finds where series id (on side from) lives on the other side: its
// ID there when linked, else the marker of its create in this plan.
func (pl *planner) otherID(from Side, id string) (target, marker string) {
	if t, ok := pl.paired[from][id]; ok {
		return t, ""
	}
	if from == CRM {
		if i, ok := pl.byCRM[id]; ok && !pl.links[i].Detached() {
			return pl.links[i].MailboxID, ""
		}
	} else if i, ok := pl.byMbx[id]; ok {
		return pl.links[i].CRMID, ""
	}
	return "", pl.creating[from][id]
}

// Natural keys are built from fingerprints, so that records and stored links
// (which hold no values) compare alike.

// recordKey is r's natural key ("" = none): contacts by e-mail (normalized:
// lower case), else first and last name; tasks by subject and due date;
// events by subject and start.
func (pl *planner) recordKey(r item.Record) string {
	get := func(f string) string { return pl.fp.Fingerprint(pl.kind, f, r.Fields[f]) }
	return pl.key(get)
}

// linkKey is the natural key of a link's last synced values.
func (pl *planner) linkKey(l Link) string {
	get := func(f string) string {
		if v, ok := l.Fingerprints[f]; ok {
			return v
		}
		return pl.empty(f)
	}
	return pl.key(get)
}

func (pl *planner) key(get func(field string) string) string {
	switch pl.kind {
	case item.Contact:
		if e := get(item.Email); e != pl.empty(item.Email) {
			return "e" + e
		}
		first, last := get(item.FirstName), get(item.LastName)
		if first == pl.empty(item.FirstName) && last == pl.empty(item.LastName) {
			return ""
		}
		return "n" + first + last
	case item.Task:
		if s := get(item.Subject); s != pl.empty(item.Subject) {
			return "t" + s + get(item.DueDate)
		}
	case item.Event:
		s, start := get(item.Subject), get(item.Start)
		if s != pl.empty(item.Subject) || start != pl.empty(item.Start) {
			return "v" + s + start
		}
	}
	return ""
}

// empty is the fingerprint of an empty value of field f.
func (pl *planner) empty(f string) string {
	e, ok := pl.emptyF[f]
	if !ok {
		e = pl.fp.Fingerprint(pl.kind, f, "")
		pl.emptyF[f] = e
	}
	return e
}
