package account

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/msgraph"
	"github.com/crmsync/crmsync/shared/salesforce"
)

// fieldName is a Salesforce API name: standard ("Department") or custom
// ("Region__c"). Whether the org has it is checked against describe in the
// first session (a field-mapping issue), since saving settings opens no CRM.
var fieldName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,79}$`)

// validateCustom checks the custom field mappings: known kinds, at most
// MaxCustomFields each, Salesforce names that are field names and not
// already synced by default, mailbox fields the mailbox offers, and no field
// of either side mapped twice.
func (s Settings) validateCustom() []FieldError {
	var errs []FieldError
	for _, k := range slices.Sorted(func(yield func(item.Kind) bool) {
		for k := range s.Custom {
			if !yield(k) {
				return
			}
		}
	}) {
		list := s.Custom[k]
		if !slices.Contains(item.Kinds, k) {
			errs = append(errs, FieldError{Field: "customFields", Message: fmt.Sprintf("unknown kind %q (known: %s)", k, kindList())})
			continue
		}
		name := string(k) + ".customFields"
		if len(list) > MaxCustomFields {
			errs = append(errs, FieldError{Field: name, Message: fmt.Sprintf("%d mappings; at most %d per kind", len(list), MaxCustomFields)})
		}
		crm, mbx := map[string]bool{}, map[string]bool{}
		for i, c := range list {
			add := func(format string, args ...any) {
				errs = append(errs, FieldError{Field: fmt.Sprintf("%s[%d]", name, i), Message: fmt.Sprintf(format, args...)})
			}
			switch {
			case c.CRM == "":
				add("the Salesforce field is missing")
			case !fieldName.MatchString(c.CRM):
				add("%q is not a Salesforce field API name (letters, digits and _, such as Region__c)", c.CRM)
			case salesforce.StandardField(k, c.CRM):
				add("Salesforce field %s is synced by default already", c.CRM)
			case crm[strings.ToLower(c.CRM)]:
				add("Salesforce field %s is mapped twice", c.CRM)
			}
			crm[strings.ToLower(c.CRM)] = true
			switch err := msgraph.CheckCustom(k, c); {
			case c.Mailbox == "":
				add("the mailbox field is missing")
			case err != nil:
				add("%s", err)
			case mbx[strings.ToLower(c.Mailbox)]:
				add("mailbox field %s is mapped twice", c.Mailbox)
			}
			mbx[strings.ToLower(c.Mailbox)] = true
		}
	}
	return errs
}
