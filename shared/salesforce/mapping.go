package salesforce

import (
	"fmt"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
)

// Conv says how a value moves between Salesforce and crmsync's canonical form.
type Conv int

// The conversions.
const (
	// Text passes strings through; null reads as "".
	Text Conv = iota
	// Email lower-cases on read.
	Email
	// DateOnly is "2006-01-02" on both sides.
	DateOnly
	// DateTime is Salesforce's "…000+0000" form on one side and RFC 3339 UTC
	// on the other.
	DateTime
	// Bool is true/false on one side and "true"/"false" on the other.
	Bool
	// TaskStatus maps the canonical statuses to the org's picklist labels.
	TaskStatus
)

// FieldMap maps one canonical field to one Salesforce field.
type FieldMap struct {
	Canonical  string
	Salesforce string
	Conv       Conv
}

// Mapping is the field table of one kind.
type Mapping struct {
	Object string
	Fields []FieldMap
}

// DefaultMappings returns the standard field tables; custom fields are added
// by appending FieldMaps (SideOptions.Extra).
func DefaultMappings() map[item.Kind]Mapping {
	return map[item.Kind]Mapping{
		item.Contact: {Object: "Contact", Fields: []FieldMap{
			{item.FirstName, "FirstName", Text}, {item.LastName, "LastName", Text}, {item.Email, "Email", Email},
			{item.Phone, "Phone", Text}, {item.MobilePhone, "MobilePhone", Text}, {item.Title, "Title", Text},
			{item.Department, "Department", Text}, {item.MailingStreet, "MailingStreet", Text}, {item.MailingCity, "MailingCity", Text},
			{item.MailingState, "MailingState", Text}, {item.MailingPostalCode, "MailingPostalCode", Text},
			{item.MailingCountry, "MailingCountry", Text},
		}},
		item.Task: {Object: "Task", Fields: []FieldMap{
			{item.Subject, "Subject", Text}, {item.DueDate, "ActivityDate", DateOnly}, {item.Status, "Status", TaskStatus},
			{item.Priority, "Priority", Text}, {item.Description, "Description", Text},
		}},
		item.Event: {Object: "Event", Fields: []FieldMap{
			{item.Subject, "Subject", Text}, {item.Start, "StartDateTime", DateTime}, {item.End, "EndDateTime", DateTime},
			{item.AllDay, "IsAllDayEvent", Bool}, {item.Location, "Location", Text}, {item.Description, "Description", Text},
		}},
		item.SharedEmail: {Object: "Task", Fields: []FieldMap{
			{item.Subject, "Subject", Text}, {item.Description, "Description", Text}, {item.Sent, "ActivityDate", DateOnly},
		}},
	}
}

// statusLabels maps canonical task statuses to the standard picklist values.
var statusLabels = map[string]string{
	"NotStarted": "Not Started", "InProgress": "In Progress", "Completed": "Completed",
	"Waiting": "Waiting on someone else", "Deferred": "Deferred",
}

func statusFromLabel(label string) string {
	for k, v := range statusLabels {
		if strings.EqualFold(v, label) {
			return k
		}
	}
	return label
}

// read converts a Salesforce value to canonical text.
func (fm FieldMap) read(r Record) string {
	v := r.String(fm.Salesforce)
	if v == "" {
		return ""
	}
	switch fm.Conv {
	case Email:
		return strings.ToLower(v)
	case DateTime:
		t, err := ParseTime(v)
		if err != nil {
			return v
		}
		return t.Format(time.RFC3339)
	case TaskStatus:
		return statusFromLabel(v)
	case DateOnly:
		if len(v) > 10 {
			return v[:10]
		}
	}
	return v
}

// write converts canonical text to the JSON value Salesforce accepts.
func (fm FieldMap) write(v string) (any, error) {
	bad := func(what string) error {
		return &fault.Error{Class: fault.Permanent, Code: "INVALID_VALUE", Message: fmt.Sprintf("%s is not %s", fm.Canonical, what), Fields: []string{fm.Canonical}}
	}
	if v == "" {
		if fm.Conv == Bool {
			return false, nil
		}
		return nil, nil
	}
	switch fm.Conv {
	case Email:
		return strings.ToLower(v), nil
	case DateOnly:
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return t.UTC().Format("2006-01-02"), nil
		}
		if _, err := time.Parse("2006-01-02", v); err != nil {
			return nil, bad("a date")
		}
		return v, nil
	case DateTime:
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return nil, bad("an RFC 3339 instant")
		}
		return t.UTC().Format("2006-01-02T15:04:05.000Z"), nil
	case Bool:
		switch v {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, bad("true or false")
	case TaskStatus:
		label, ok := statusLabels[v]
		if !ok {
			return nil, bad("a task status (NotStarted, InProgress, Completed, Waiting, Deferred)")
		}
		return label, nil
	}
	return v, nil
}

// canonicalFields maps Salesforce field names in an error back to canonical
// names, so an issue names the field the user knows.
func (m Mapping) canonicalFields(sf []string) []string {
	out := make([]string, 0, len(sf))
	for _, f := range sf {
		name := f
		for _, fm := range m.Fields {
			if strings.EqualFold(fm.Salesforce, f) {
				name = fm.Canonical
				break
			}
		}
		out = append(out, name)
	}
	return out
}

// salesforceFields lists the Salesforce fields a mapping reads.
func (m Mapping) salesforceFields() []string {
	out := make([]string, 0, len(m.Fields))
	for _, fm := range m.Fields {
		out = append(out, fm.Salesforce)
	}
	return out
}
