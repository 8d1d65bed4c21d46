package salesforce

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/crmsync/crmsync/shared/item"
)

// textTypes are the describe types whose values are text both ways, so a
// custom mapping can carry them to a mailbox text property and back.
var textTypes = []string{"string", "textarea", "picklist", "multipicklist", "combobox", "email", "phone", "url"}

// CustomFields turns a user's custom mappings into the field entries
// SideOptions.Extra adds (text, canonical name item.CustomField.Canonical).
func CustomFields(custom map[item.Kind][]item.CustomField) map[item.Kind][]FieldMap {
	if len(custom) == 0 {
		return nil
	}
	out := make(map[item.Kind][]FieldMap, len(custom))
	for kind, list := range custom {
		for _, c := range list {
			out[kind] = append(out[kind], FieldMap{Canonical: c.Canonical(), Salesforce: c.CRM, Conv: Text})
		}
	}
	return out
}

// StandardField reports whether the default table of kind already maps the
// Salesforce field (case-insensitive), so a custom mapping of it would sync
// one field twice.
func StandardField(kind item.Kind, name string) bool {
	return slices.ContainsFunc(DefaultMappings()[kind].Fields, func(fm FieldMap) bool { return strings.EqualFold(fm.Salesforce, name) })
}

// CheckFields checks the fields SideOptions.Extra added to kind against the
// object's describe (cached): a field Salesforce does not have, cannot
// update, or whose type is not text is taken out of the side's table, and
// the reason is returned by the field's canonical name. It makes no call for
// a kind without added fields.
func (s *Side) CheckFields(ctx context.Context, kind item.Kind) (map[string]string, error) {
	s.mu.Lock()
	extra := s.extra[kind]
	s.mu.Unlock()
	if len(extra) == 0 {
		return nil, nil
	}
	m, err := s.mapping(kind)
	if err != nil {
		return nil, err
	}
	obj, err := s.c.Describe(ctx, m.Object)
	if err != nil {
		return nil, err
	}
	bad := map[string]string{}
	for _, fm := range extra {
		f := obj.Field(fm.Salesforce)
		switch {
		case !validName(fm.Salesforce):
			bad[fm.Canonical] = fmt.Sprintf("%s is not a Salesforce field name", quoteForMessage(fm.Salesforce))
		case f == nil:
			bad[fm.Canonical] = fmt.Sprintf("%s has no field %s", m.Object, fm.Salesforce)
		case !f.Updateable:
			bad[fm.Canonical] = fmt.Sprintf("%s.%s cannot be updated (read-only or formula field)", m.Object, f.Name)
		case !slices.Contains(textTypes, f.Type):
			bad[fm.Canonical] = fmt.Sprintf("%s.%s is of type %s, which does not sync as text (text, picklist, e-mail, phone and URL fields do)", m.Object, f.Name, f.Type)
		}
	}
	if len(bad) == 0 {
		return nil, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	mp := s.maps[kind]
	mp.Fields = slices.DeleteFunc(slices.Clone(mp.Fields), func(fm FieldMap) bool { _, no := bad[fm.Canonical]; return no })
	s.maps[kind] = mp
	s.extra[kind] = slices.DeleteFunc(slices.Clone(extra), func(fm FieldMap) bool { _, no := bad[fm.Canonical]; return no })
	return bad, nil
}
