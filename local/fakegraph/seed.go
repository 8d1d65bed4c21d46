package fakegraph

import (
	"time"
)

// DemoUser is the seeded demo mailbox.
const DemoUser = "demo@crmsync.local"

// SeedDemo creates the demo mailbox with a few contacts in "Business
// Contacts", events around now (one a weekly series with a moved
// occurrence), To Do tasks in "Business Tasks", and a message with an
// attachment in "Salesforce Emails". It returns the mailbox's user id.
func SeedDemo(s *Server, now time.Time) string { return SeedDemoShared(s, now, "Salesforce") }

// SeedDemoShared is SeedDemo with category as the share category: the
// category of the shared meeting and of the mailbox's category list, the
// one the deployment's CRM syncs by ("SAP C4C" for a C4C demo).
func SeedDemoShared(s *Server, now time.Time, category string) string {
	id := s.AddMailbox(DemoUser, "Demo User")
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.mailboxes[id]
	day := now.UTC().Truncate(24 * time.Hour)

	contacts := s.add(m, kContactFolder, "", map[string]any{"displayName": "Business Contacts"})
	for _, c := range []struct{ first, last, mail, title, phone string }{
		{"Ada", "Lovelace", "ada@analytical.example", "Chief Engineer", "+44 20 7946 0018"},
		{"Grace", "Hopper", "grace@cobol.example", "Rear Admiral", "+1 202 555 0142"},
		{"Alan", "Turing", "alan@bletchley.example", "Cryptanalyst", "+44 1908 640404"},
	} {
		s.add(m, kContact, contacts.id, map[string]any{
			"givenName": c.first, "surname": c.last, "jobTitle": c.title,
			"emailAddresses":  []any{map[string]any{"address": c.mail, "name": c.first + " " + c.last}},
			"businessPhones":  []any{c.phone},
			"businessAddress": map[string]any{"street": "1 Example Road", "city": "London", "postalCode": "N1 9GU", "countryOrRegion": "United Kingdom"},
		})
	}

	at := func(d, h int) time.Time { return day.AddDate(0, 0, d).Add(time.Duration(h) * time.Hour) }
	s.add(m, kEvent, m.calendar, map[string]any{
		"type": "singleInstance", "subject": "Quarterly review with Acme", "start": dtz(at(1, 14)), "end": dtz(at(1, 15)),
		"location": map[string]any{"displayName": "Room 4"}, "body": map[string]any{"contentType": "text", "content": "Agenda to follow."},
		"attendees":  []any{map[string]any{"emailAddress": map[string]any{"address": "ada@analytical.example"}, "type": "required"}},
		"categories": []any{category}, // shared into the CRM, with Ada as invitee
	})
	s.add(m, kEvent, m.calendar, map[string]any{
		"type": "singleInstance", "subject": "Conference", "isAllDay": true, "start": dtz(day.AddDate(0, 0, 7)), "end": dtz(day.AddDate(0, 0, 8)),
	})
	first := at(-7, 9)
	series := s.add(m, kEvent, m.calendar, map[string]any{
		"type": "seriesMaster", "subject": "Weekly pipeline call", "start": dtz(first), "end": dtz(first.Add(30 * time.Minute)),
		"recurrence": map[string]any{
			"pattern": map[string]any{"type": "weekly", "interval": 1, "daysOfWeek": []any{weekdayName(first.Weekday())}, "firstDayOfWeek": "sunday"},
			"range":   map[string]any{"type": "endDate", "startDate": first.Format(time.DateOnly), "endDate": first.AddDate(0, 0, 56).Format(time.DateOnly)},
		},
	})
	moved := first.AddDate(0, 0, 14)
	exc := &entry{kind: kEvent, id: occurrenceID(series.id, moved), container: m.calendar, created: s.now(), modified: s.now(),
		obj: map[string]any{"type": "exception", "seriesMasterId": series.id, "originalStart": moved.Format(time.RFC3339),
			"occurrenceId": occurrenceIDOf(series.id, moved, seriesZone(series)),
			"subject":      "Weekly pipeline call (moved)", "start": dtz(moved.Add(2 * time.Hour)), "end": dtz(moved.Add(150 * time.Minute))}}
	exc.restID = exc.id
	m.entries[exc.id], m.rest[exc.id] = exc, exc.id
	m.logChange(exc)
	exc.seq = m.seq

	tasks := s.add(m, kTaskList, "", map[string]any{"displayName": "Business Tasks"})
	s.add(m, kTask, tasks.id, map[string]any{"title": "Send proposal to Acme", "importance": "high", "status": "inProgress",
		"dueDateTime": dtz(day.AddDate(0, 0, 3))})
	s.add(m, kTask, tasks.id, map[string]any{"title": "Call Grace about renewal", "status": "notStarted",
		"body": map[string]any{"contentType": "text", "content": "Ask about the 2027 budget."}})

	s.add(m, kCategory, "", map[string]any{"displayName": category, "color": "preset7"})
	share := s.add(m, kMailFolder, "", map[string]any{"displayName": "Salesforce Emails"})
	msg := s.add(m, kMessage, share.id, map[string]any{
		"subject": "Re: Proposal", "body": map[string]any{"contentType": "text", "content": "Thanks, the figures look right."},
		"from":         map[string]any{"emailAddress": map[string]any{"address": "ada@analytical.example", "name": "Ada Lovelace"}},
		"toRecipients": []any{map[string]any{"emailAddress": map[string]any{"address": DemoUser}}},
		"sentDateTime": now.UTC().Add(-time.Hour).Format(time.RFC3339), "receivedDateTime": now.UTC().Add(-time.Hour).Format(time.RFC3339),
	})
	msg.attachments = []*attachment{{id: s.newID("at"), name: "figures.csv", contentType: "text/csv", content: []byte("quarter,amount\nQ1,1200\nQ2,1350\n")}}
	return id
}

func weekdayName(d time.Weekday) string {
	return [...]string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}[d]
}
