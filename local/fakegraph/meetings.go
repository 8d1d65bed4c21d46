package fakegraph

import (
	"slices"
	"strings"
)

// Meetings: an event a mailbox creates is organized by it (organizer is the
// owner, isOrganizer true, responseStatus "organizer"). Attendees that are
// mailboxes of this server get a copy in their calendar: an invitation with
// isOrganizer false, the organizer's address and responseStatus
// "notResponded". The organizer's later changes reach the copies; deleting
// the meeting cancels them (isCancelled). An online meeting gets a Teams join
// link in onlineMeeting.joinUrl.

// organizerProps are the properties an organizer's update carries to the
// attendees' copies.
var organizerProps = []string{"subject", "body", "start", "end", "isAllDay", "location", "attendees", "recurrence",
	"isOnlineMeeting", "onlineMeetingProvider", "onlineMeeting"}

// organize stamps a new event as organized by m, with a join link when it is
// an online meeting.
func (s *Server) organize(m *mailbox, body map[string]any) {
	body["isOrganizer"] = true
	body["organizer"] = map[string]any{"emailAddress": map[string]any{"name": m.name, "address": m.upn}}
	body["responseStatus"] = map[string]any{"response": "organizer", "time": "0001-01-01T00:00:00Z"}
	if online, _ := body["isOnlineMeeting"].(bool); online {
		if str(body["onlineMeetingProvider"]) == "" {
			body["onlineMeetingProvider"] = "teamsForBusiness"
		}
		body["onlineMeeting"] = map[string]any{"joinUrl": "https://teams.microsoft.com/l/meetup-join/19%3ameeting_" + s.newID("tm") + "%40thread.v2/0"}
	}
}

// invite puts a copy of the organizer's new event e into the calendar of
// each attendee that is a mailbox here.
func (s *Server) invite(org *mailbox, e *entry) {
	for _, a := range asSlice(e.obj["attendees"]) {
		addr := strings.ToLower(str(asMap(asMap(a)["emailAddress"])["address"]))
		id, ok := s.byUPN[addr]
		if !ok || id == org.id {
			continue
		}
		am := s.mailboxes[id]
		obj := clone(e.obj)
		delete(obj, "singleValueExtendedProperties")
		delete(obj, "categories")
		obj["isOrganizer"] = false
		obj["responseStatus"] = map[string]any{"response": "notResponded", "time": "0001-01-01T00:00:00Z"}
		c := s.add(am, kEvent, am.calendar, obj)
		e.copies = append(e.copies, copyRef{m: am, id: c.id})
		s.notify(am, c, "created")
	}
}

// updateCopies carries an organizer's change of the props in body to the
// attendees' copies.
func (s *Server) updateCopies(e *entry, body map[string]any) {
	changed := map[string]any{}
	for k, v := range body {
		if slices.Contains(organizerProps, k) {
			changed[k] = v
		}
	}
	if len(changed) == 0 {
		return
	}
	for _, c := range e.copies {
		x := c.m.entries[c.id]
		if x == nil || x.deleted {
			continue
		}
		merge(x.obj, clone(changed))
		s.touch(c.m, x)
		s.notify(c.m, x, "updated")
	}
}

// cancelCopies marks the attendees' copies of a deleted meeting cancelled.
func (s *Server) cancelCopies(e *entry) {
	for _, c := range e.copies {
		x := c.m.entries[c.id]
		if x == nil || x.deleted {
			continue
		}
		x.obj["isCancelled"] = true
		x.obj["subject"] = "Canceled: " + str(x.obj["subject"])
		s.touch(c.m, x)
		s.notify(c.m, x, "updated")
	}
}
