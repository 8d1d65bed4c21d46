package c4c

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/side"
)

// Organizer and attendee copies of one meeting. Each mailbox holds its own
// copy of a meeting: the organizer's and one per attendee, each with its own
// item id. When several users of one tenant share the meeting, C4C must
// still hold one appointment (SAP's own server-side integration once
// duplicated and then cancelled appointments this way, fact sheet §13). So:
//
//   - before creating an appointment for a meeting with an organizer,
//     the side looks for a colleague's appointment of the same meeting: same
//     subject, start and end, with the organizer's address on an involved
//     party in the organizer role (the organizer's copy puts it there, and
//     so does every copy a side creates), owned by another employee; found,
//     the copy is linked to it and nothing is created. The user's own
//     appointments are never adopted, so two meetings of one calendar that
//     look alike stay two. A side reading every record (no owner: one user
//     per tenant) has no colleagues and looks for nothing;
//   - such an appointment may belong to a colleague's employee: it is in
//     this user's scope while their employee is one of its involved
//     parties, so reconciliation never reads it as gone;
//   - deleting an appointment another employee owns only unlinks this
//     user's copy (a meeting missing from one mailbox is never a delete of
//     the appointment); the owner's own side deletes it.
//
// A meeting whose organizer C4C does not know as a contact or employee has
// no organizer party, so its copies are not recognised as one: each user
// sharing it makes their own appointment.

// adoptMeetings links the events of recs about to be created to a
// colleague's appointment already holding their meeting, if any: results[i]
// gets its ObjectID and bodies[i] is cleared. The lookups of one Create go
// as GETs of one $batch (MaxBatch a call). A failed lookup only logs; the
// copies are then created.
func (s *Side) adoptMeetings(ctx context.Context, recs []item.Record, bodies []map[string]any, results []side.Result) {
	if s.opts.Owner == "" {
		return
	}
	var idx []int
	var colls []string
	var qs []url.Values
	for i, r := range recs {
		org := strings.ToLower(strings.TrimSpace(r.Fields[item.Organizer]))
		start, err1 := time.Parse(time.RFC3339, r.Fields[item.Start])
		end, err2 := time.Parse(time.RFC3339, r.Fields[item.End])
		if bodies[i] == nil || org == "" || err1 != nil || err2 != nil {
			continue
		}
		idx = append(idx, i)
		colls = append(colls, "AppointmentCollection")
		qs = append(qs, url.Values{
			"$filter": {"Subject eq " + Quote(r.Fields[item.Subject]) + " and StartDate eq " + Literal(start) + " and EndDate eq " + Literal(end)},
			"$expand": {partiesNav}, "$top": {strconv.Itoa(10)},
		})
	}
	if len(idx) == 0 {
		return
	}
	organizerRole, _, err := s.roles(ctx)
	var found [][]Entity
	if err == nil {
		found, err = s.queries(ctx, colls, qs)
	}
	if err != nil {
		s.log.LogAttrs(ctx, slog.LevelWarn, "c4c: looking for the appointments of meetings failed; creating them", slog.String("class", fault.ClassOf(err).String()))
		return
	}
	for j, i := range idx {
		org := strings.ToLower(strings.TrimSpace(recs[i].Fields[item.Organizer]))
		if id := s.colleagues(found[j], organizerRole, org); id != "" {
			results[i].ID = id
			bodies[i] = nil
		}
	}
}

// colleagues picks, among appointments read with their parties, one another
// employee owns with the organizer's address on an organizer party.
func (s *Side) colleagues(appts []Entity, organizerRole, organizer string) string {
	for _, e := range appts {
		if e.String(ownerProps[item.Event]) == s.opts.Owner {
			continue // the user's own: never one of their copies
		}
		for _, p := range children(e, partiesNav) {
			if organizerRole != "" && p.String("RoleCode") == organizerRole && strings.EqualFold(p.String("EMail"), organizer) {
				return e.ID()
			}
		}
	}
	return ""
}

// involved says whether the side's employee is an involved party of an
// appointment read with its parties expanded.
func (s *Side) involved(e Entity) bool {
	for _, p := range children(e, partiesNav) {
		if s.opts.Owner != "" && p.String("PartyID") == s.opts.Owner {
			return true
		}
	}
	return false
}

// othersAppointments returns which of ids are appointments another
// employee owns (one $batch of reads); ids not found are not among them.
func (s *Side) othersAppointments(ctx context.Context, ids []string) (map[string]bool, error) {
	out := map[string]bool{}
	if s.opts.Owner == "" || len(ids) == 0 {
		return out, nil
	}
	ops := make([]Op, len(ids))
	for i, id := range ids {
		ops[i] = Op{Method: http.MethodGet, Path: "AppointmentCollection('" + id + "')?$select=ObjectID," + ownerProps[item.Event]}
	}
	res, err := s.c.Batch(ctx, ops)
	if err != nil {
		return nil, err
	}
	for i, r := range res {
		if r.Err == nil && r.Entity.String(ownerProps[item.Event]) != s.opts.Owner {
			out[ids[i]] = true
		}
	}
	return out, nil
}
