package c4c

import (
	"fmt"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
)

// field maps one canonical field to a C4C property.
type field struct {
	canonical, prop string
	kind            fkind
}

type fkind int

const (
	text     fkind = iota
	email          // lower-cased on read
	day            // item.DueDate "2006-01-02" ↔ /Date(ms)/ at UTC midnight
	instant        // RFC 3339 ↔ /Date(ms)/
	flag           // "true"/"false" ↔ bool
	status         // task status code
	priority       // task priority code
)

// kindMap is how one item.Kind lives in C4C.
type kindMap struct {
	coll   string
	fields []field
	// required are canonical fields C4C insists on (a create without one is
	// refused per record, naming the field).
	required []string
	// matchOn is the field FindCreated matches intents on.
	matchOn string
}

// maps are the default tables. Property names: ContactCollection as in the
// C4C OData API reference; Appointment and Tasks as in the sandbox payloads
// of the c4codataapi (see ../shared/reference/c4c.md §3).
// kindMapOf is kind's mapping, or the Permanent error of a kind the C4C
// side does not sync.
func kindMapOf(kind item.Kind) (kindMap, error) {
	m, ok := maps[kind]
	if !ok {
		return kindMap{}, fault.New(fault.Permanent, "kind", fmt.Sprintf("C4C side does not sync %s", kind))
	}
	return m, nil
}

var maps = map[item.Kind]kindMap{
	item.Contact: {coll: "ContactCollection", required: []string{item.LastName}, matchOn: item.LastName, fields: []field{
		{item.FirstName, "FirstName", text}, {item.LastName, "LastName", text}, {item.Email, "Email", email},
		{item.Phone, "Phone", text}, {item.MobilePhone, "Mobile", text}, {item.Title, "JobTitle", text},
		{item.Department, "Department", text},
	}},
	item.Task: {coll: "TasksCollection", required: []string{item.Subject}, matchOn: item.Subject, fields: []field{
		{item.Subject, "Subject", text}, {item.DueDate, "DueDateTime", day}, {item.Status, "Status", status},
		{item.Priority, "PriorityCode", priority},
	}},
	item.Event: {coll: "AppointmentCollection", required: []string{item.Subject, item.Start, item.End}, matchOn: item.Subject, fields: []field{
		{item.Subject, "Subject", text}, {item.Start, "StartDate", instant}, {item.End, "EndDate", instant},
		{item.AllDay, "FullDayIndicator", flag}, {item.Location, "Location", text},
	}},
}

// toItem reads an entity into canonical fields; codes are the tenant's
// code lists (LoadCodes) for its coded properties.
func toItem(kind item.Kind, e Entity, codes *Codes) (item.Record, error) {
	m := maps[kind]
	rec := item.Record{Kind: kind, ID: e.ID(), Version: e.ETag(), Modified: e.Time("EntityLastChangedOn"), Fields: map[string]string{}}
	for _, f := range m.fields {
		v := ""
		switch f.kind {
		case email:
			v = strings.ToLower(e.String(f.prop))
		case day:
			if t := e.Time(f.prop); !t.IsZero() {
				v = t.UTC().Format("2006-01-02")
			}
		case instant:
			if t := e.Time(f.prop); !t.IsZero() {
				v = t.UTC().Format(time.RFC3339)
			}
		case flag:
			b, _ := e[f.prop].(bool)
			v = fmt.Sprint(b)
		case status, priority:
			if code := e.String(f.prop); code != "" {
				cm, ok := codes.lookup(m.coll, f.prop)
				if !ok {
					return rec, fmt.Errorf("the code list of %s.%s is not loaded", m.coll, f.prop)
				}
				var err error
				if v, err = cm.name(f.prop, code); err != nil {
					return rec, err
				}
			}
		default:
			v = e.String(f.prop)
		}
		rec.Fields[f.canonical] = v
	}
	if kind == item.Event {
		// C4C keeps a C4C time-zone code beside the instants; an unknown
		// one means the instants cannot be trusted as UTC.
		for _, p := range []string{"StartDatetimeZoneCode", "EnddatetimeZoneCode"} {
			if code := e.String(p); code != "" {
				if _, err := Location(code); err != nil {
					return rec, err
				}
			}
		}
	}
	return rec, nil
}

// fromItem writes the canonical fields present in rec as C4C properties,
// coded ones as the tenant's codes (a value whose meaning the tenant's
// code list lacks is an error naming the list).
func fromItem(kind item.Kind, rec item.Record, codes *Codes) (map[string]any, error) {
	m := maps[kind]
	out := map[string]any{}
	for _, f := range m.fields {
		v, ok := rec.Fields[f.canonical]
		if !ok {
			continue
		}
		switch f.kind {
		case day:
			if v == "" {
				out[f.prop] = nil
				continue
			}
			t, err := time.Parse("2006-01-02", v)
			if err != nil {
				return nil, fmt.Errorf("%s %q is not a date", f.canonical, v)
			}
			out[f.prop] = FormatDate(t)
		case instant:
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return nil, fmt.Errorf("%s %q is not a time", f.canonical, v)
			}
			out[f.prop] = FormatDate(t)
			if f.prop == "StartDate" {
				out["StartDatetimeZoneCode"] = "UTC"
			} else {
				out["EnddatetimeZoneCode"] = "UTC"
			}
		case flag:
			out[f.prop] = v == "true"
		case status, priority:
			if v == "" {
				out[f.prop] = ""
				continue
			}
			cm, ok := codes.lookup(m.coll, f.prop)
			if !ok {
				return nil, fmt.Errorf("the code list of %s.%s is not loaded", m.coll, f.prop)
			}
			code, err := cm.code(f.canonical, v)
			if err != nil {
				return nil, err
			}
			out[f.prop] = code
		default:
			out[f.prop] = v
		}
	}
	return out, nil
}

// canonicalOf names the canonical field of a C4C property of kind.
func canonicalOf(kind item.Kind, prop string) string {
	for _, f := range maps[kind].fields {
		if f.prop == prop {
			return f.canonical
		}
	}
	return ""
}

// zones maps C4C time-zone codes (the SAP time-zone keys C4C shows in
// StartDatetimeZoneCode) to IANA names. Codes not here are reported as a
// problem with the record, never guessed.
var zones = map[string]string{
	"UTC": "UTC", "GMTUK": "Europe/London", "CET": "Europe/Berlin", "EET": "Europe/Helsinki", "WET": "Europe/Lisbon",
	"EST": "America/New_York", "CST": "America/Chicago", "MST": "America/Denver", "PST": "America/Los_Angeles",
	"INDIA": "Asia/Kolkata", "JAPAN": "Asia/Tokyo", "CHINA": "Asia/Shanghai", "AUSNSW": "Australia/Sydney",
	"BRAZIL": "America/Sao_Paulo", "SINGAP": "Asia/Singapore",
}

// Location returns the IANA zone of a C4C time-zone code.
func Location(code string) (*time.Location, error) {
	name, ok := zones[code]
	if !ok {
		return nil, fmt.Errorf("unknown C4C time zone %q", code)
	}
	return time.LoadLocation(name)
}
