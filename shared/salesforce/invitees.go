package salesforce

import (
	"context"
	"log/slog"
	"strings"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/side"
)

// attendees splits an event's Attendees list (comma-separated addresses).
func attendees(rec item.Record) []string {
	var out []string
	for _, a := range strings.Split(rec.Fields[item.Attendees], ",") {
		if a = strings.ToLower(strings.TrimSpace(a)); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// invite relates each event just created to the Contacts and Leads among its
// attendees. Salesforce has no attendee field on Event: invitees are
// EventRelation rows (IsInvitee), which need the event's id, so they are
// written after the events. The addresses of the whole batch are matched in
// one FindPeople lookup and the rows go out through sObject Collections (200 a
// call). Attendees with no Contact or Lead are left out, as Salesforce cannot
// invite a bare address.
//
// A failure here is logged, not returned: the events exist, and reporting
// them as failed would make the session create them again.
func (s *Side) invite(ctx context.Context, recs []item.Record, out []side.Result) {
	var addrs []string
	for i, rec := range recs {
		if out[i].Err == nil && out[i].ID != "" {
			addrs = append(addrs, attendees(rec)...)
		}
	}
	if len(addrs) == 0 {
		return
	}
	people, err := s.FindPeople(ctx, addrs)
	if err != nil {
		s.log.LogAttrs(ctx, slog.LevelWarn, "salesforce event invitees not matched", slog.String("class", fault.ClassOf(err).String()))
		return
	}
	var rows []Record
	for i, rec := range recs {
		if out[i].Err != nil || out[i].ID == "" {
			continue
		}
		related := map[string]bool{}
		for _, a := range attendees(rec) {
			p, ok := people[a]
			if !ok || related[p.ID] {
				continue
			}
			related[p.ID] = true
			r := NewRecord("EventRelation")
			r["EventId"], r["RelationId"], r["IsInvitee"] = out[i].ID, p.ID, true
			rows = append(rows, r)
		}
	}
	res, err := s.c.Create(ctx, rows)
	failed := 0
	for _, r := range res {
		if r.Err != nil {
			failed++
		}
	}
	if err != nil || failed > 0 {
		attrs := []slog.Attr{slog.Int("rows", len(rows)), slog.Int("failed", failed)}
		if err != nil {
			attrs = append(attrs, slog.String("class", fault.ClassOf(err).String()))
		}
		s.log.LogAttrs(ctx, slog.LevelWarn, "salesforce event invitees not all written", attrs...)
	}
}
