package fakesalesforce

import (
	"fmt"
	"time"
)

// The demo org's sign-in.
const (
	DemoUsername = "demo@crmsync.local"
	DemoPassword = "demo-password"
)

// SeedDemo fills s with a small demo org around now: the user
// demo@crmsync.local (password DemoPassword), an admin, accounts, contacts,
// leads, open and recent tasks, meetings in the sync window, and custom
// Case fields with dependent picklists (demoCaseFields). It returns
// the demo user's id.
func SeedDemo(s *Server, now time.Time) (string, error) {
	demo, err := s.AddUser(User{Username: DemoUsername, Password: DemoPassword, Email: DemoUsername, FirstName: "Dana", LastName: "Demo"})
	if err != nil {
		return "", err
	}
	if err := s.addCustomFields("Case", demoCaseFields()); err != nil {
		return "", err
	}
	if _, err := s.AddUser(User{Username: "admin@crmsync.local", Password: "admin-password", Email: "admin@crmsync.local", FirstName: "Ada", LastName: "Admin", Admin: true}); err != nil {
		return "", err
	}
	day := func(d int) string { return now.AddDate(0, 0, d).UTC().Format("2006-01-02") }
	at := func(d, hour int) string {
		t := now.UTC().AddDate(0, 0, d)
		return time.Date(t.Year(), t.Month(), t.Day(), hour, 0, 0, 0, time.UTC).Format(time.RFC3339)
	}
	var firstErr error
	insert := func(obj string, f map[string]any) string {
		id, err := s.Insert(demo, obj, f)
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("fakesalesforce: seed %s: %w", obj, err)
		}
		return id
	}
	acme := insert("Account", map[string]any{"Name": "Acme Corporation", "Phone": "+1 415 555 0100", "Website": "https://acme.example", "Industry": "Manufacturing"})
	globex := insert("Account", map[string]any{"Name": "Globex", "Phone": "+44 20 7946 0000", "Industry": "Energy"})
	contacts := []map[string]any{
		{"FirstName": "Alice", "LastName": "Anders", "Email": "alice@acme.example", "Phone": "+1 415 555 0101", "Title": "CTO", "AccountId": acme, "MailingCity": "San Francisco"},
		{"FirstName": "Bob", "LastName": "Brown", "Email": "bob@acme.example", "MobilePhone": "+1 415 555 0199", "Title": "Buyer", "Department": "Procurement", "AccountId": acme},
		{"FirstName": "Chloé", "LastName": "Dubois", "Email": "chloe@globex.example", "Title": "Head of Operations", "AccountId": globex, "MailingCity": "Paris", "MailingCountry": "France"},
		{"FirstName": "Dmitri", "LastName": "Ivanov", "Email": "dmitri@globex.example", "Phone": "+44 20 7946 0011", "AccountId": globex},
		{"FirstName": "Eve", "LastName": "O'Neil", "Email": "eve@example.org", "Title": "Consultant"},
	}
	var ids []string
	for _, c := range contacts {
		ids = append(ids, insert("Contact", c))
	}
	insert("Lead", map[string]any{"FirstName": "Frank", "LastName": "Fischer", "Company": "Initech", "Email": "frank@initech.example"})
	insert("Lead", map[string]any{"FirstName": "Grace", "LastName": "Ho", "Company": "Hooli", "Email": "grace@hooli.example"})
	insert("Opportunity", map[string]any{"Name": "Acme renewal", "StageName": "Qualification", "CloseDate": day(30), "Amount": 25000.0, "AccountId": acme})
	insert("Task", map[string]any{"Subject": "Send proposal to Acme", "ActivityDate": day(2), "Priority": "High", "WhoId": ids[0], "WhatId": acme})
	insert("Task", map[string]any{"Subject": "Call Bob about the order", "ActivityDate": day(-1), "Status": "In Progress", "WhoId": ids[1]})
	insert("Task", map[string]any{"Subject": "Prepare quarterly review", "ActivityDate": day(7), "Status": "Waiting on someone else"})
	insert("Task", map[string]any{"Subject": "Follow up with Globex", "ActivityDate": day(-5), "Status": "Completed", "WhoId": ids[2]})
	insert("Event", map[string]any{"Subject": "Acme kickoff", "StartDateTime": at(1, 15), "EndDateTime": at(1, 16), "Location": "Zoom", "WhoId": ids[0], "WhatId": acme})
	insert("Event", map[string]any{"Subject": "Globex site visit", "StartDateTime": at(5, 9), "EndDateTime": at(5, 12), "Location": "Paris", "WhoId": ids[2]})
	insert("Event", map[string]any{"Subject": "Trade fair", "IsAllDayEvent": true, "ActivityDate": day(10)})
	insert("Event", map[string]any{"Subject": "Weekly pipeline review", "StartDateTime": at(-3, 8), "EndDateTime": at(-3, 9),
		"IsRecurrence": true, "RecurrenceType": "RecursWeekly", "RecurrenceInterval": 1, "RecurrenceDayOfWeekMask": 2,
		"RecurrenceStartDateTime": at(-3, 8), "RecurrenceEndDateOnly": day(60)})
	if firstErr != nil {
		return "", firstErr
	}
	if _, err := s.AddListView("Contact", "MyContacts", "My Contacts", "", true); err != nil {
		return "", err
	}
	if _, err := s.AddListView("Contact", "AcmeContacts", "Acme contacts", "Account.Name = 'Acme Corporation'", false); err != nil {
		return "", err
	}
	return demo, nil
}
