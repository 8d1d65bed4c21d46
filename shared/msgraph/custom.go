package msgraph

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
)

// customProperties are, per kind, the Graph properties the default tables
// leave free that a custom mapping may use: plain strings on the item, so
// their values sync as text. Events and To Do tasks have none (their free
// properties are enums, dates or flags); events take crmsync extended
// properties instead, and To Do tasks have no extended properties at all.
var customProperties = map[item.Kind][]string{
	item.Contact: {"assistantName", "companyName", "manager", "nickName", "officeLocation", "personalNotes", "profession", "spouseName"},
}

// extendedKinds are the kinds whose items carry extended properties.
var extendedKinds = []item.Kind{item.Contact, item.Event}

// CustomProperties lists the Graph properties a custom mapping of kind may
// name (sorted).
func CustomProperties(kind item.Kind) []string { return slices.Clone(customProperties[kind]) }

// ExtendedSupported reports whether items of kind carry crmsync's extended
// properties (a custom mapping's "extended:Name" target).
func ExtendedSupported(kind item.Kind) bool { return slices.Contains(extendedKinds, kind) }

// CheckCustom says why a custom mapping's mailbox field cannot be used for
// kind, or returns nil.
func CheckCustom(kind item.Kind, c item.CustomField) error {
	if name, ok := c.Extended(); ok {
		switch {
		case !ExtendedSupported(kind):
			return fmt.Errorf("%ss have no extended properties", kindName(kind))
		case !validPropName(name):
			return fmt.Errorf("extended property name %q is not 1 to 64 letters, digits, '.', '-' or '_'", name)
		case strings.HasPrefix(strings.ToLower(name), "crmsync"):
			return fmt.Errorf("extended property names starting with crmsync are reserved")
		}
		return nil
	}
	if !slices.Contains(customProperties[kind], c.Mailbox) {
		if len(customProperties[kind]) == 0 {
			return fmt.Errorf("%q is not a free %s property; %s", c.Mailbox, kindName(kind), freeHint(kind))
		}
		return fmt.Errorf("%q is not a free %s property (free: %s, or extended:Name)", c.Mailbox, kindName(kind), strings.Join(customProperties[kind], ", "))
	}
	return nil
}

func freeHint(kind item.Kind) string {
	if ExtendedSupported(kind) {
		return "use an extended property (extended:Name)"
	}
	return "To Do tasks have no free text property and no extended properties"
}

func kindName(kind item.Kind) string {
	if kind == item.Task {
		return "To Do task"
	}
	return string(kind)
}

func validPropName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// customProp is the id of the String extended property in crmsync's
// property set that holds a custom mapping's value.
func customProp(name string) string { return "String " + propertySet + " Name " + name }

// custom returns the side's valid mappings of kind (those CheckCustom
// refuses are left out: settings validate them before they are stored).
func (s *Side) custom(kind item.Kind) (props, ext []item.CustomField) {
	for _, c := range s.opts.Custom[kind] {
		if CheckCustom(kind, c) != nil {
			continue
		}
		if _, ok := c.Extended(); ok {
			ext = append(ext, c)
		} else {
			props = append(props, c)
		}
	}
	return props, ext
}

// customSelect lists the Graph properties of kind's mappings, for $select.
func (s *Side) customSelect(kind item.Kind) string {
	props, _ := s.custom(kind)
	var b strings.Builder
	for _, c := range props {
		b.WriteString("," + c.Mailbox)
	}
	return b.String()
}

// readCustomProps sets the values of kind's property mappings on rec from
// the item's JSON ("" when absent).
func (s *Side) readCustomProps(kind item.Kind, raw json.RawMessage, rec *item.Record) error {
	props, _ := s.custom(kind)
	if len(props) == 0 {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return malformed(string(kind), err)
	}
	for _, c := range props {
		var v string
		if b, ok := m[c.Mailbox]; ok {
			_ = json.Unmarshal(b, &v) // null and non-strings read as ""
		}
		rec.Fields[c.Canonical()] = item.Normalize(c.Canonical(), v)
	}
	return nil
}

// fillExtended reads the extended properties of kind's mappings for recs,
// in $batch GETs (delta rounds do not return extended properties), and sets
// their values ("" when the item has none).
func (s *Side) fillExtended(ctx context.Context, kind item.Kind, recs []item.Record) error {
	_, ext := s.custom(kind)
	if len(ext) == 0 || len(recs) == 0 {
		return nil
	}
	ids := make([]string, len(ext))
	for i, c := range ext {
		name, _ := c.Extended()
		ids[i] = "id eq " + q(customProp(name))
	}
	expand := "singleValueExtendedProperties($filter=" + strings.Join(ids, " or ") + ")"
	parts := make([]part, len(recs))
	for i, r := range recs {
		path, err := s.itemPath(ctx, kind, r.ID)
		if err != nil {
			return err
		}
		parts[i] = part{method: http.MethodGet, path: withQuery(path, "$select", "id", "$expand", expand)}
	}
	res, err := s.c.batch(ctx, parts)
	if err != nil {
		return err
	}
	for i, p := range res {
		if p.err != nil && !fault.Is(p.err, fault.Gone) {
			return p.err
		}
		var w struct {
			ExtProps []wireExtProp `json:"singleValueExtendedProperties"`
		}
		if p.err == nil {
			if err := json.Unmarshal(p.body, &w); err != nil {
				return malformed(string(kind), err)
			}
		}
		for _, c := range ext {
			name, _ := c.Extended()
			v := ""
			for _, x := range w.ExtProps {
				if strings.EqualFold(x.ID, customProp(name)) {
					v = x.Value
				}
			}
			recs[i].Fields[c.Canonical()] = item.Normalize(c.Canonical(), v)
		}
	}
	return nil
}

// writeCustom adds the custom fields present in f to a write body.
func (s *Side) writeCustom(kind item.Kind, f map[string]string, body map[string]any) {
	props, ext := s.custom(kind)
	for _, c := range props {
		if v, ok := f[c.Canonical()]; ok {
			body[c.Mailbox] = v
		}
	}
	for _, c := range ext {
		v, ok := f[c.Canonical()]
		if !ok {
			continue
		}
		name, _ := c.Extended()
		list, _ := body["singleValueExtendedProperties"].([]wireExtProp)
		body["singleValueExtendedProperties"] = append(list, wireExtProp{ID: customProp(name), Value: v})
	}
}
