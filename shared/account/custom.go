package account

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/side"
)

// validateCustom checks the custom field mappings: known kinds, at most
// MaxCustomFields each, fields each side's connector accepts (crm.Custom,
// mailbox.Custom; a connector without them accepts any), and no field of
// either side mapped twice.
func (s Settings) validateCustom(crm, mailbox side.Connector) []FieldError {
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
		crmSeen, mbxSeen := map[string]bool{}, map[string]bool{}
		for i, c := range list {
			add := func(format string, args ...any) {
				errs = append(errs, FieldError{Field: fmt.Sprintf("%s[%d]", name, i), Message: fmt.Sprintf(format, args...)})
			}
			crmName := cmp.Or(crm.Name, "CRM")
			switch err := check(crm, k, c.CRM); {
			case c.CRM == "":
				add("the %s field is missing", crmName)
			case err != nil:
				add("%s", err)
			case crmSeen[strings.ToLower(c.CRM)]:
				add("%s field %s is mapped twice", crmName, c.CRM)
			}
			crmSeen[strings.ToLower(c.CRM)] = true
			switch err := check(mailbox, k, c.Mailbox); {
			case c.Mailbox == "":
				add("the mailbox field is missing")
			case err != nil:
				add("%s", err)
			case mbxSeen[strings.ToLower(c.Mailbox)]:
				add("mailbox field %s is mapped twice", c.Mailbox)
			}
			mbxSeen[strings.ToLower(c.Mailbox)] = true
		}
	}
	return errs
}

// check is the connector's verdict on one side's field of a mapping.
func check(c side.Connector, kind item.Kind, field string) error {
	if c.Custom == nil || field == "" {
		return nil
	}
	return c.Custom.Check(kind, field)
}
