package c4c

import (
	"context"
	"log/slog"
	"net/url"
	"slices"
	"strings"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
)

// Attendees of appointments. C4C relates people to an appointment as
// involved parties (c4codataapi $metadata: navigation
// AppointmentInvolvedParties to AppointmentInvolvedPartiesCollection, with
// PartyID, RoleCode, PartyTypeCode, MainIndicator and the derived EMail and
// PartyName). A party is a business partner named by business ID: a
// contact's ContactID or an employee's BusinessPartnerID, matched by e-mail
// address. Addresses with neither are left out: C4C cannot relate a bare
// address. Role codes come from the tenant's code list that $metadata names
// as RoleCode's value help (AppointmentInvolvedPartiesRoleCodeCollection),
// read with the other code lists (LoadCodes) and found by description.
//
// item.Attendees reads back as the addresses of the parties in the attendee
// role; the organizer (item.Organizer) is related in the organizer role.
// Parties are written when crmsync creates an appointment, never changed
// afterwards: like the mailbox, which never writes attendees (that would
// send invitations), C4C's party list is the CRM user's.

const partiesNav = "AppointmentInvolvedParties"

// Role descriptions of the code list entries crmsync uses.
const (
	organizerRole = "Organizer"
	attendeeRole  = "Attendee"
)

// roles returns the role codes of the organizer and of an attendee from
// the tenant's code lists (cached with them per connection).
func (s *Side) roles(ctx context.Context) (organizer, attendee string, err error) {
	cs, err := s.loadCodes(ctx)
	if err != nil {
		return "", "", err
	}
	list := cs.md.ValueHelp[roleCodeSet][roleCodeProp]
	if list == "" {
		return "", "", fault.New(fault.Permanent, "no_role_codes", "C4C's $metadata names no code list (c4c:value-help) for "+roleCodeSet+"."+roleCodeProp)
	}
	if err := cs.readLists(ctx, s.c, []string{list}); err != nil {
		return "", "", err
	}
	entries, _ := cs.list(list)
	codes := map[string]string{}
	for _, e := range entries {
		if _, ok := codes[e.Description]; !ok && e.Description != "" {
			codes[e.Description] = e.Code
		}
	}
	if codes[attendeeRole] == "" {
		return "", "", fault.New(fault.Permanent, "no_attendee_role", "the tenant's appointment party role codes have no \"Attendee\"")
	}
	return codes[organizerRole], codes[attendeeRole], nil
}

// readAttendees sets rec's Attendees from e's expanded involved parties
// (unset when e was read without them). Parties of a role code crmsync
// cannot name (the role code list unread) make the list unknown: unset.
func (s *Side) readAttendees(ctx context.Context, e Entity, rec *item.Record) {
	if _, expanded := e[partiesNav]; !expanded {
		return
	}
	parties := children(e, partiesNav)
	var addrs []string
	if len(parties) > 0 {
		_, attendee, err := s.roles(ctx)
		if err != nil {
			s.log.LogAttrs(ctx, slog.LevelWarn, "c4c: appointment party roles unread; attendees not reported", slog.String("class", fault.ClassOf(err).String()))
			return
		}
		for _, p := range parties {
			if a := strings.ToLower(strings.TrimSpace(p.String("EMail"))); a != "" && p.String("RoleCode") == attendee {
				addrs = append(addrs, a)
			}
		}
	}
	slices.Sort(addrs)
	rec.Fields[item.Attendees] = strings.Join(slices.Compact(addrs), ",")
}

// partiesByEmail maps addresses (lower case) to the business ID of the
// contact or, failing that, the employee with that address (its business
// partner ID, which OwnerPartyID also holds): one read per collection and
// 40 addresses.
func (s *Side) partiesByEmail(ctx context.Context, addrs []string) (map[string]string, error) {
	out := map[string]string{}
	addrs = slices.Compact(slices.Sorted(slices.Values(addrs)))
	for _, src := range []struct{ coll, id string }{{"ContactCollection", "ContactID"}, {"EmployeeCollection", "BusinessPartnerID"}} {
		for start := 0; start < len(addrs); start += chunk {
			var terms []string
			for _, a := range addrs[start:min(start+chunk, len(addrs))] {
				if _, ok := out[a]; !ok {
					terms = append(terms, "Email eq "+Quote(a))
				}
			}
			if len(terms) == 0 {
				continue
			}
			q := url.Values{"$filter": {strings.Join(terms, " or ")}, "$select": {"ObjectID,Email," + src.id}}
			if err := s.c.List(ctx, src.coll, q, func(e Entity) error {
				if a := strings.ToLower(e.String("Email")); a != "" && out[a] == "" && e.String(src.id) != "" {
					out[a] = e.String(src.id)
				}
				return nil
			}); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// splitAddrs splits a comma-separated address list into lower-case addresses.
func splitAddrs(v string) []string {
	var out []string
	for _, a := range strings.Split(v, ",") {
		if a = strings.ToLower(strings.TrimSpace(a)); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// insertParties adds the involved parties of the appointments about to be
// created to their create bodies (deep insert): the organizer in the
// organizer role, the attendees in the attendee role, each matched to a
// contact or employee by address. A failed lookup only logs: the
// appointments are still created, without parties, as failing them would
// lose the meetings themselves.
func (s *Side) insertParties(ctx context.Context, recs []item.Record, bodies []map[string]any) {
	var addrs []string
	for i, r := range recs {
		if bodies[i] != nil {
			addrs = append(addrs, splitAddrs(r.Fields[item.Attendees])...)
			addrs = append(addrs, splitAddrs(r.Fields[item.Organizer])...)
		}
	}
	if len(addrs) == 0 {
		return
	}
	organizer, attendee, err := s.roles(ctx)
	var ids map[string]string
	if err == nil {
		ids, err = s.partiesByEmail(ctx, addrs)
	}
	if err != nil {
		s.log.LogAttrs(ctx, slog.LevelWarn, "c4c: appointment attendees not related", slog.String("class", fault.ClassOf(err).String()))
		return
	}
	for i, r := range recs {
		if bodies[i] == nil {
			continue
		}
		var parties []map[string]any
		seen := map[string]bool{}
		add := func(addr, role string) {
			id := ids[addr]
			if id == "" || role == "" || seen[id+"|"+role] {
				return
			}
			seen[id+"|"+role] = true
			parties = append(parties, map[string]any{"PartyID": id, "RoleCode": role})
		}
		for _, a := range splitAddrs(r.Fields[item.Organizer]) {
			add(a, organizer)
		}
		for _, a := range splitAddrs(r.Fields[item.Attendees]) {
			add(a, attendee)
		}
		if len(parties) > 0 {
			bodies[i][partiesNav] = parties
		}
	}
}
