package fakesalesforce

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/crmsync/crmsync/shared/testenv"
)

// describeField is the part of a describe's field the tests look at.
type describeField struct {
	Name               string   `json:"name"`
	Type               string   `json:"type"`
	Label              string   `json:"label"`
	Createable         bool     `json:"createable"`
	Updateable         bool     `json:"updateable"`
	Nillable           bool     `json:"nillable"`
	AutoNumber         bool     `json:"autoNumber"`
	RestrictedPicklist bool     `json:"restrictedPicklist"`
	ReferenceTo        []string `json:"referenceTo"`
	Polymorphic        bool     `json:"polymorphicForeignKey"`
	PicklistValues     []struct {
		Value string `json:"value"`
	} `json:"picklistValues"`
}

func (f *fixture) describeFields(object string) map[string]describeField {
	f.t.Helper()
	var d struct {
		Fields []describeField `json:"fields"`
	}
	if resp := f.do("GET", v+"/sobjects/"+object+"/describe", nil, &d); resp.StatusCode != 200 {
		f.t.Fatalf("describe %s: status %d", object, resp.StatusCode)
	}
	out := map[string]describeField{}
	for _, fd := range d.Fields {
		out[fd.Name] = fd
	}
	return out
}

// realFields are standard fields each object's real describe has (Salesforce
// Object Reference; a real org's field profile), beyond what crmsync maps.
var realFields = map[string][]string{
	"Contact": {"Salutation", "MiddleName", "Suffix", "OtherStreet", "OtherCity", "OtherPhone", "HomePhone", "Fax",
		"AssistantName", "AssistantPhone", "ReportsToId", "LeadSource", "Birthdate", "HasOptedOutOfEmail", "DoNotCall",
		"LastActivityDate", "IsEmailBounced", "EmailBouncedReason", "PhotoUrl", "MasterRecordId", "IndividualId", "TitleType"},
	"Lead": {"Street", "City", "State", "PostalCode", "Country", "Website", "LeadSource", "Industry", "Rating",
		"AnnualRevenue", "NumberOfEmployees", "ConvertedDate", "ConvertedAccountId", "ConvertedContactId", "IsUnreadByOwner", "MasterRecordId"},
	"Account": {"Type", "ParentId", "BillingStreet", "BillingPostalCode", "ShippingStreet", "ShippingCity", "ShippingCountry",
		"Fax", "AccountNumber", "Sic", "AnnualRevenue", "NumberOfEmployees", "Ownership", "TickerSymbol", "Rating", "Site",
		"AccountSource", "SicDesc", "PhotoUrl", "LastActivityDate", "MasterRecordId"},
	"Event": {"WhoCount", "WhatCount", "EndDate", "AccountId", "IsPrivate", "IsGroupEvent", "GroupEventType", "IsArchived",
		"RecurrenceActivityId", "IsReminderSet", "ReminderDateTime", "EventSubtype", "IsRecurrence2", "IsRecurrence2Exception",
		"IsRecurrence2Exclusion", "Recurrence2PatternText", "Recurrence2PatternVersion", "Recurrence2PatternStartDate",
		"Recurrence2PatternTimeZone", "RecurrenceTimeZoneSidKey", "IsChild"},
	"Task": {"WhoCount", "WhatCount", "IsHighPriority", "CallType", "CallDurationInSeconds", "CallDisposition", "IsReminderSet",
		"RecurrenceActivityId", "IsRecurrence", "CompletedDateTime", "IsArchived", "TaskSubtype"},
	"Case":        {"CaseNumber", "Type", "Reason", "Origin", "IsClosed", "ClosedDate", "IsEscalated", "SuppliedEmail", "ContactEmail", "ParentId"},
	"Opportunity": {"IsPrivate", "Probability", "ExpectedRevenue", "Type", "NextStep", "LeadSource", "IsClosed", "IsWon", "ForecastCategory", "FiscalYear", "ContactId"},
	"User":        {"TimeZoneSidKey", "LocaleSidKey", "LanguageLocaleKey", "EmailEncodingKey", "ProfileId", "UserType", "ManagerId", "CompanyName"},
}

// TestDescribesLikeRealOnes checks the local Salesforce's describes of the
// objects crmsync touches against what real describes say: field sets,
// types, restricted picklists, nillable, createable/updateable, polymorphic
// references, labels. The local describes before this had none of the
// realFields, served Subject as string, Industry and LeadSource as strings,
// ShowAs unrestricted, OwnerId nillable, labels empty.
func TestDescribesLikeRealOnes(t *testing.T) {
	f := newFixture(t, Options{})
	type want struct {
		object, field, typ                           string
		createable, updateable, nillable, restricted bool
	}
	for _, w := range []want{
		{"Event", "Subject", "combobox", true, true, true, false},
		{"Task", "Subject", "combobox", true, true, true, false},
		{"Event", "ShowAs", "picklist", true, true, true, true},
		{"Event", "RecurrenceTimeZoneSidKey", "picklist", true, true, true, true},
		{"Event", "IsRecurrence", "boolean", true, false, false, false},
		{"Event", "IsRecurrence2", "boolean", true, false, false, false},
		{"Event", "Recurrence2PatternText", "textarea", true, true, true, false},
		{"Event", "IsRecurrence2Exception", "boolean", false, false, false, false},
		{"Event", "IsChild", "boolean", false, false, false, false},
		{"Event", "OwnerId", "reference", true, true, false, false},
		{"Task", "TaskSubtype", "picklist", true, false, true, true},
		{"Account", "Industry", "picklist", true, true, true, false},
		{"Account", "Name", "string", true, true, false, false},
		{"Lead", "LeadSource", "picklist", true, true, true, false},
		{"Lead", "Name", "string", false, false, false, false},
		{"Contact", "Name", "string", false, false, false, false},
		{"Contact", "OwnerId", "reference", true, true, false, false},
		{"Contact", "CreatedDate", "datetime", false, false, false, false},
		{"Contact", "SystemModstamp", "datetime", false, false, false, false},
		{"Case", "CaseNumber", "string", false, false, false, false},
		{"User", "TimeZoneSidKey", "picklist", true, true, false, true},
	} {
		fd, ok := f.describeFields(w.object)[w.field]
		if !ok {
			t.Errorf("%s.%s missing", w.object, w.field)
			continue
		}
		got := want{w.object, w.field, fd.Type, fd.Createable, fd.Updateable, fd.Nillable, fd.RestrictedPicklist}
		if got != w {
			t.Errorf("%s.%s = %+v, want %+v", w.object, w.field, got, w)
		}
	}
	ev := f.describeFields("Event")
	if o := ev["OwnerId"]; !slices.Equal(o.ReferenceTo, []string{"Calendar", "User"}) || !o.Polymorphic {
		t.Errorf("Event.OwnerId referenceTo %v polymorphic %v, want [Calendar User] true", o.ReferenceTo, o.Polymorphic)
	}
	if !f.describeFields("Case")["CaseNumber"].AutoNumber {
		t.Error("Case.CaseNumber is not an auto-number")
	}
	var zones []string
	for _, p := range ev["RecurrenceTimeZoneSidKey"].PicklistValues {
		zones = append(zones, p.Value)
	}
	for _, z := range []string{"GMT", "Europe/London", "America/New_York", "Europe/Berlin"} {
		if !slices.Contains(zones, z) {
			t.Errorf("RecurrenceTimeZoneSidKey lacks %s", z)
		}
	}
	for object, names := range realFields {
		fields := f.describeFields(object)
		for _, n := range names {
			if _, ok := fields[n]; !ok {
				t.Errorf("%s.%s missing from the describe", object, n)
			}
		}
		for _, fd := range fields {
			if fd.Label == "" {
				t.Errorf("%s.%s has no label", object, fd.Name)
			}
		}
	}
}

// TestDescribeKeysLikeRecorded compares the keys of each field of the local
// describe with those of a recorded real describe
// (../shared/reference/payloads, restforce's fixtures).
func TestDescribeKeysLikeRecorded(t *testing.T) {
	// SamplesDir skips in a plain clone and fails in CI, where the
	// recordings must be present.
	path := filepath.Join(testenv.SamplesDir(t, "salesforce-restforce"), "sobject", "sobject_describe_success_response.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("recorded describe: %v", err)
	}
	var rec struct {
		Fields []map[string]any `json:"fields"`
	}
	if err := json.Unmarshal(data, &rec); err != nil || len(rec.Fields) == 0 {
		t.Fatalf("recorded describe: %v", err)
	}
	f := newFixture(t, Options{})
	var got struct {
		Fields []map[string]any `json:"fields"`
	}
	f.do("GET", v+"/sobjects/Event/describe", nil, &got)
	for _, fd := range got.Fields {
		var missing []string
		for k := range rec.Fields[0] {
			if _, ok := fd[k]; !ok {
				missing = append(missing, k)
			}
		}
		sort.Strings(missing)
		if len(missing) > 0 {
			t.Errorf("Event.%v lacks %v", fd["name"], missing)
		}
	}
}

// TestWritesEnforceDescribe: the local Salesforce refuses what a real org
// refuses, per record: a field that is not updateable on an update, a value
// outside a restricted picklist.
func TestWritesEnforceDescribe(t *testing.T) {
	f := newFixture(t, Options{})
	var created []struct {
		ID      *string `json:"id"`
		Success bool    `json:"success"`
		Errors  []struct {
			StatusCode string   `json:"statusCode"`
			Fields     []string `json:"fields"`
		} `json:"errors"`
	}
	ev := map[string]any{"attributes": map[string]string{"type": "Event"}, "Subject": "Weekly", "StartDateTime": "2026-05-12T09:00:00.000Z",
		"EndDateTime": "2026-05-12T10:00:00.000Z"}
	f.do("POST", v+"/composite/sobjects", map[string]any{"allOrNone": false, "records": []any{ev,
		map[string]any{"attributes": map[string]string{"type": "Event"}, "Subject": "x", "StartDateTime": "2026-05-12T09:00:00.000Z", "EndDateTime": "2026-05-12T10:00:00.000Z", "ShowAs": "Tentative-ish"},
		map[string]any{"attributes": map[string]string{"type": "Event"}, "Subject": "x", "StartDateTime": "2026-05-12T09:00:00.000Z", "EndDateTime": "2026-05-12T10:00:00.000Z", "RecurrenceTimeZoneSidKey": "Mars/Olympus"},
	}}, &created)
	if len(created) != 3 || !created[0].Success {
		t.Fatalf("create: %+v", created)
	}
	for i, field := range map[int]string{1: "ShowAs", 2: "RecurrenceTimeZoneSidKey"} {
		if c := created[i]; c.Success || len(c.Errors) != 1 || c.Errors[0].StatusCode != "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" || !slices.Equal(c.Errors[0].Fields, []string{field}) {
			t.Errorf("bad %s: %+v", field, c)
		}
	}
	var updated []struct {
		Success bool `json:"success"`
		Errors  []struct {
			StatusCode string   `json:"statusCode"`
			Fields     []string `json:"fields"`
		} `json:"errors"`
	}
	f.do("PATCH", v+"/composite/sobjects", map[string]any{"allOrNone": false, "records": []any{
		map[string]any{"attributes": map[string]string{"type": "Event"}, "id": *created[0].ID, "IsRecurrence": false},
		map[string]any{"attributes": map[string]string{"type": "Event"}, "id": *created[0].ID, "Location": "Room 1"},
	}}, &updated)
	if len(updated) != 2 || updated[0].Success || updated[0].Errors[0].StatusCode != "INVALID_FIELD_FOR_INSERT_UPDATE" || !updated[1].Success {
		t.Errorf("update: %+v", updated)
	}
}
