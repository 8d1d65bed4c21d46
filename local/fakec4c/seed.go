package fakec4c

import (
	"fmt"
	"strconv"
	"time"
)

// The demo tenant's employee: the demo user's (same address as the local
// demo's signed-in user, demo@crmsync.local).
const (
	DemoEmployeeEmail   = "demo@crmsync.local"
	DemoEmployeeID      = "1001"
	DemoEmployeePartyID = "8000001001"
)

// SeedDemo fills s with the demo tenant of `make run CRM=c4c`: two
// accounts, five contacts, open tasks and appointments around now, the
// same people as the local Salesforce's demo org.
func SeedDemo(s *Server, now time.Time) error {
	date := func(t time.Time) string { return "/Date(" + strconv.FormatInt(t.UnixMilli(), 10) + ")/" }
	day := func(d int) string {
		t := now.UTC().AddDate(0, 0, d)
		return date(time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC))
	}
	at := func(d, hour int) string {
		t := now.UTC().AddDate(0, 0, d)
		return date(time.Date(t.Year(), t.Month(), t.Day(), hour, 0, 0, 0, time.UTC))
	}
	var firstErr error
	insert := func(coll string, props map[string]any) {
		if _, err := s.Insert(coll, props); err != nil && firstErr == nil {
			firstErr = fmt.Errorf("fakec4c: seed %s: %w", coll, err)
		}
	}
	// The demo user's employee owns every seeded record: crmsync syncs each
	// user's own records, found by the user's address.
	insert("EmployeeCollection", map[string]any{"FirstName": "Dana", "LastName": "Demo", "Email": DemoEmployeeEmail,
		"EmployeeID": DemoEmployeeID, "BusinessPartnerID": DemoEmployeePartyID})
	insert("CorporateAccountCollection", map[string]any{"Name": "Acme Corporation"})
	insert("CorporateAccountCollection", map[string]any{"Name": "Globex"})
	for _, c := range []map[string]any{
		{"FirstName": "Alice", "LastName": "Anders", "Email": "alice@acme.example", "Phone": "+1 415 555 0101", "JobTitle": "CTO"},
		{"FirstName": "Bob", "LastName": "Brown", "Email": "bob@acme.example", "Mobile": "+1 415 555 0199", "JobTitle": "Buyer", "Department": "Procurement"},
		{"FirstName": "Chloé", "LastName": "Dubois", "Email": "chloe@globex.example", "JobTitle": "Head of Operations"},
		{"FirstName": "Dmitri", "LastName": "Ivanov", "Email": "dmitri@globex.example", "Phone": "+44 20 7946 0011"},
		{"FirstName": "Eve", "LastName": "O'Neil", "Email": "eve@example.org", "JobTitle": "Consultant"},
	} {
		c["ContactOwnerID"] = DemoEmployeeID
		insert("ContactCollection", c)
	}
	// Status 1 is open, priority 3 normal and 2 high (standard code lists).
	insert("TasksCollection", map[string]any{"Subject": "Send the Acme proposal", "DueDateTime": day(2), "Status": "1", "PriorityCode": "2", "ProcessorPartyID": DemoEmployeePartyID})
	insert("TasksCollection", map[string]any{"Subject": "Call Globex about the renewal", "DueDateTime": day(5), "Status": "1", "PriorityCode": "3", "ProcessorPartyID": DemoEmployeePartyID})
	insert("AppointmentCollection", map[string]any{"Subject": "Acme quarterly review", "StartDate": at(1, 14), "EndDate": at(1, 15),
		"StartDatetimeZoneCode": "UTC", "EnddatetimeZoneCode": "UTC", "Location": "Acme HQ", "OwnerPartyID": DemoEmployeePartyID})
	insert("AppointmentCollection", map[string]any{"Subject": "Globex site visit", "StartDate": at(3, 9), "EndDate": at(3, 11),
		"StartDatetimeZoneCode": "UTC", "EnddatetimeZoneCode": "UTC", "Location": "Paris", "OwnerPartyID": DemoEmployeePartyID})
	return firstErr
}
