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
// accounts with their contacts, open and closed opportunities and service
// tickets, two leads, open tasks and appointments around now with notes —
// the same people as the local Salesforce's demo org, so the task pane
// shows real content for the harness's demo e-mails.
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
	acme, globex := s.accountID("Acme Corporation"), s.accountID("Globex")
	for _, c := range []map[string]any{
		{"FirstName": "Alice", "LastName": "Anders", "Email": "alice@acme.example", "Phone": "+1 415 555 0101", "JobTitle": "CTO", "AccountID": acme, "StatusCode": "2"},
		{"FirstName": "Bob", "LastName": "Brown", "Email": "bob@acme.example", "Mobile": "+1 415 555 0199", "JobTitle": "Buyer", "Department": "Procurement", "AccountID": acme, "StatusCode": "2"},
		{"FirstName": "Chloé", "LastName": "Dubois", "Email": "chloe@globex.example", "JobTitle": "Head of Operations", "AccountID": globex, "StatusCode": "2"},
		{"FirstName": "Dmitri", "LastName": "Ivanov", "Email": "dmitri@globex.example", "Phone": "+44 20 7946 0011", "AccountID": globex},
		{"FirstName": "Eve", "LastName": "O'Neil", "Email": "eve@example.org", "JobTitle": "Consultant"},
	} {
		c["ContactOwnerID"] = DemoEmployeeID
		insert("ContactCollection", c)
	}
	// Leads for the people no account knows yet (the meeting's Frank).
	insert("LeadCollection", map[string]any{"Name": "Initech: Frank Fischer", "ContactFirstName": "Frank", "ContactLastName": "Fischer",
		"ContactEMail": "frank@initech.example", "Company": "Initech"})
	insert("LeadCollection", map[string]any{"Name": "Hooli: Grace Ho", "ContactFirstName": "Grace", "ContactLastName": "Ho",
		"ContactEMail": "grace@hooli.example", "Company": "Hooli"})
	// Opportunities: life cycle 1 Open, 2 In Process, 3 Won, 4 Lost — the
	// pane lists the open ones of the people's accounts.
	insert("OpportunityCollection", map[string]any{"Name": "Acme renewal", "ProspectPartyID": acme, "LifeCycleStatusCode": "2",
		"ExpectedProcessingEndDate": day(30), "ExpectedRevenueAmount": "25000.00"})
	insert("OpportunityCollection", map[string]any{"Name": "Acme service contract", "ProspectPartyID": acme, "LifeCycleStatusCode": "3",
		"ExpectedProcessingEndDate": day(-20), "ExpectedRevenueAmount": "12000.00"})
	insert("OpportunityCollection", map[string]any{"Name": "Globex expansion", "ProspectPartyID": globex, "LifeCycleStatusCode": "1",
		"ExpectedProcessingEndDate": day(45), "ExpectedRevenueAmount": "80000.00"})
	insert("OpportunityCollection", map[string]any{"Name": "Globex pilot", "ProspectPartyID": globex, "LifeCycleStatusCode": "4",
		"ExpectedProcessingEndDate": day(-60), "ExpectedRevenueAmount": "5000.00"})
	// Service tickets: status 1 Open, 2 In Process, 5 Completed.
	insert("ServiceRequestCollection", map[string]any{"Name": "Sensor readings drift", "BuyerPartyID": acme, "ServiceRequestLifeCycleStatusCode": "2", "CreationDateTime": at(-2, 10)})
	insert("ServiceRequestCollection", map[string]any{"Name": "Invoice address wrong", "BuyerPartyID": acme, "ServiceRequestLifeCycleStatusCode": "5", "CreationDateTime": at(-30, 9)})
	insert("ServiceRequestCollection", map[string]any{"Name": "Portal login fails", "BuyerPartyID": globex, "ServiceRequestLifeCycleStatusCode": "1", "CreationDateTime": at(-1, 16)})
	// Status 1 is open, priority 3 normal and 2 high (standard code lists).
	insert("TasksCollection", map[string]any{"Subject": "Send the Acme proposal", "DueDateTime": day(2), "Status": "1", "PriorityCode": "2", "ProcessorPartyID": DemoEmployeePartyID,
		"TasksTextCollection": []map[string]any{{"Text": "Alice wants the price for three years, with the service contract.", "TypeCode": "10002"}}})
	insert("TasksCollection", map[string]any{"Subject": "Call Globex about the renewal", "DueDateTime": day(5), "Status": "1", "PriorityCode": "3", "ProcessorPartyID": DemoEmployeePartyID})
	insert("AppointmentCollection", map[string]any{"Subject": "Acme quarterly review", "StartDate": at(1, 14), "EndDate": at(1, 15),
		"StartDatetimeZoneCode": "UTC", "EnddatetimeZoneCode": "UTC", "Location": "Acme HQ", "OwnerPartyID": DemoEmployeePartyID,
		"AppointmentTextCollection": []map[string]any{{"Text": "Agenda: renewal, the drifting sensors, next year's volumes.", "TypeCode": "10002"}}})
	insert("AppointmentCollection", map[string]any{"Subject": "Globex site visit", "StartDate": at(3, 9), "EndDate": at(3, 11),
		"StartDatetimeZoneCode": "UTC", "EnddatetimeZoneCode": "UTC", "Location": "Paris", "OwnerPartyID": DemoEmployeePartyID})
	return firstErr
}

// accountID is the business ID (AccountID) of the account named name, ""
// when there is none: contacts, opportunities and tickets refer to
// accounts by it.
func (s *Server) accountID(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.data["CorporateAccountCollection"] {
		if e.props["Name"] == name {
			id, _ := e.props["AccountID"].(string)
			return id
		}
	}
	return ""
}
