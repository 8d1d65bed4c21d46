package msgraph

import (
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/item"
)

// Contact mapping, canonical field ↔ Graph contact property:
//
//	FirstName givenName          Email     emailAddresses[0].address
//	LastName  surname            Phone     businessPhones[0]
//	MobilePhone mobilePhone      Title     jobTitle
//	Department department        Mailing*  businessAddress.*
//
// Writing Phone replaces businessPhones with one number, and writing Email
// replaces emailAddresses with one address: the CRM holds one of each.

var addressFields = []string{item.MailingStreet, item.MailingCity, item.MailingState, item.MailingPostalCode, item.MailingCountry}

// contactRecord maps a Graph contact to a record.
func contactRecord(w wireContact) item.Record {
	f := map[string]string{
		item.FirstName:   w.GivenName,
		item.LastName:    w.Surname,
		item.Email:       "",
		item.Phone:       "",
		item.MobilePhone: deref(w.MobilePhone),
		item.Title:       deref(w.JobTitle),
		item.Department:  deref(w.Department),
	}
	if len(w.EmailAddresses) > 0 {
		f[item.Email] = strings.ToLower(strings.TrimSpace(w.EmailAddresses[0].Address))
	}
	if len(w.BusinessPhones) > 0 {
		f[item.Phone] = w.BusinessPhones[0]
	}
	var a wireAddress
	if w.BusinessAddress != nil {
		a = *w.BusinessAddress
	}
	f[item.MailingStreet], f[item.MailingCity], f[item.MailingState] = a.Street, a.City, a.State
	f[item.MailingPostalCode], f[item.MailingCountry] = a.PostalCode, a.CountryOrRegion
	return item.Record{
		Kind:       item.Contact,
		ID:         w.ID,
		Version:    w.ChangeKey,
		Modified:   parseInstant(w.LastModifiedDateTime),
		Fields:     normalized(f),
		Categories: w.Categories,
		Marker:     extProp(w.ExtProps, markerProp),
	}
}

// contactBody maps the fields present in f to a Graph contact body; address
// fields need the whole address (Graph replaces complex values), so callers
// fill the missing parts from current before calling.
func contactBody(f map[string]string) map[string]any {
	b := map[string]any{}
	if v, ok := f[item.FirstName]; ok {
		b["givenName"] = v
	}
	if v, ok := f[item.LastName]; ok {
		b["surname"] = v
	}
	if v, ok := f[item.Email]; ok {
		if v == "" {
			b["emailAddresses"] = []wireEmail{}
		} else {
			b["emailAddresses"] = []wireEmail{{Address: v}}
		}
	}
	if v, ok := f[item.Phone]; ok {
		if v == "" {
			b["businessPhones"] = []string{}
		} else {
			b["businessPhones"] = []string{v}
		}
	}
	if v, ok := f[item.MobilePhone]; ok {
		b["mobilePhone"] = v
	}
	if v, ok := f[item.Title]; ok {
		b["jobTitle"] = v
	}
	if v, ok := f[item.Department]; ok {
		b["department"] = v
	}
	if hasAny(f, addressFields) {
		b["businessAddress"] = wireAddress{
			Street: f[item.MailingStreet], City: f[item.MailingCity], State: f[item.MailingState],
			PostalCode: f[item.MailingPostalCode], CountryOrRegion: f[item.MailingCountry],
		}
	}
	return b
}

func hasAny(f map[string]string, keys []string) bool {
	for _, k := range keys {
		if _, ok := f[k]; ok {
			return true
		}
	}
	return false
}

func hasAll(f map[string]string, keys []string) bool {
	for _, k := range keys {
		if _, ok := f[k]; !ok {
			return false
		}
	}
	return true
}

// normalized puts every field value in item's canonical form (trimmed, LF
// line ends, lower-case addresses, UTC instants), so fingerprints stay stable.
func normalized(f map[string]string) map[string]string {
	for k, v := range f {
		f[k] = item.Normalize(k, v)
	}
	return f
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// parseInstant reads Graph's ISO 8601 instants ("…Z", with or without fraction).
func parseInstant(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}
