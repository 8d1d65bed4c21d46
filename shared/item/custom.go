package item

import "strings"

// CustomPrefix starts the canonical name of every custom field mapping
// ("custom:Region__c"), so a custom field can never shadow a standard one.
const CustomPrefix = "custom:"

// CustomField maps one CRM field to one mailbox field, both named by the
// user's configuration. It holds field names only, never a value.
type CustomField struct {
	// CRM is the CRM field's API name ("Department", "Region__c").
	CRM string `json:"crm"`
	// Mailbox names the mailbox field: a property of the mailbox's item
	// ("nickName") or, with the ExtendedPrefix, one of crmsync's own
	// extended properties ("extended:Region").
	Mailbox string `json:"mailbox"`
}

// ExtendedPrefix starts a CustomField.Mailbox that names one of crmsync's own
// extended properties instead of a property of the item.
const ExtendedPrefix = "extended:"

// Canonical is the field's name in policies, fingerprints and conflicts.
func (c CustomField) Canonical() string { return CustomPrefix + c.CRM }

// Extended returns the extended property's name and true when the mapping's
// mailbox field is one of crmsync's extended properties.
func (c CustomField) Extended() (string, bool) {
	return strings.CutPrefix(c.Mailbox, ExtendedPrefix)
}

// IsCustom reports whether a canonical field name is a custom mapping's.
func IsCustom(field string) bool { return strings.HasPrefix(field, CustomPrefix) }
