package salesforce

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/fault"
)

// Cond is a WHERE condition built from values, never from SOQL text: every
// value is escaped and every field is checked against describe, so no value
// can change what a query means.
type Cond interface {
	write(b *strings.Builder, s schema) error
}

// schema resolves field paths of the queried object.
type schema interface {
	field(path string) (string, *Field, error)
}

// Date is a date-only value (a SOQL date literal, e.g. for ActivityDate).
type Date struct{ time.Time }

// RelativeDate is a SOQL date literal such as TODAY or LAST_N_DAYS:14.
type RelativeDate struct {
	Name string
	N    int
}

var relativeDates = map[string]bool{"TODAY": true, "YESTERDAY": true, "TOMORROW": true, "LAST_N_DAYS": true, "NEXT_N_DAYS": true}

type compare struct {
	field, op string
	value     any
}

// Eq matches field = value. Values: string, bool, int, float64, time.Time
// (date-time), Date, RelativeDate, or nil (null).
func Eq(field string, value any) Cond { return compare{field, "=", value} }

// Ne matches field != value.
func Ne(field string, value any) Cond { return compare{field, "!=", value} }

// Lt matches field < value.
func Lt(field string, value any) Cond { return compare{field, "<", value} }

// Le matches field <= value.
func Le(field string, value any) Cond { return compare{field, "<=", value} }

// Gt matches field > value.
func Gt(field string, value any) Cond { return compare{field, ">", value} }

// Ge matches field >= value.
func Ge(field string, value any) Cond { return compare{field, ">=", value} }

func (c compare) write(b *strings.Builder, s schema) error {
	name, f, err := s.field(c.field)
	if err != nil {
		return err
	}
	lit, err := literal(f, c.value)
	if err != nil {
		return err
	}
	if c.value == nil && c.op != "=" && c.op != "!=" {
		return fault.New(fault.Permanent, "INVALID_FILTER", "null compares only with = or !=")
	}
	b.WriteString(name + " " + c.op + " " + lit)
	return nil
}

type in struct {
	field  string
	values []any
	not    bool
}

// In matches field IN (values); an empty list matches nothing.
func In[T any](field string, values []T) Cond {
	vs := make([]any, len(values))
	for i, v := range values {
		vs[i] = v
	}
	return in{field: field, values: vs}
}

// NotIn matches field NOT IN (values).
func NotIn[T any](field string, values []T) Cond {
	c := In(field, values).(in)
	c.not = true
	return c
}

func (c in) write(b *strings.Builder, s schema) error {
	name, f, err := s.field(c.field)
	if err != nil {
		return err
	}
	if len(c.values) == 0 {
		return fault.New(fault.Permanent, "INVALID_FILTER", "IN needs at least one value")
	}
	b.WriteString(name)
	if c.not {
		b.WriteString(" NOT")
	}
	b.WriteString(" IN (")
	for i, v := range c.values {
		if i > 0 {
			b.WriteString(", ")
		}
		lit, err := literal(f, v)
		if err != nil {
			return err
		}
		b.WriteString(lit)
	}
	b.WriteString(")")
	return nil
}

type like struct {
	field, prefix, text, suffix string
}

// StartsWith matches field LIKE 'text%'; % and _ in text match themselves.
func StartsWith(field, text string) Cond { return like{field, "", text, "%"} }

// Contains matches field LIKE '%text%'.
func Contains(field, text string) Cond { return like{field, "%", text, "%"} }

// EndsWith matches field LIKE '%text'.
func EndsWith(field, text string) Cond { return like{field, "%", text, ""} }

func (c like) write(b *strings.Builder, s schema) error {
	name, f, err := s.field(c.field)
	if err != nil {
		return err
	}
	if !textType(f.Type) {
		return fault.New(fault.Permanent, "INVALID_FILTER", "LIKE needs a text field, not "+f.Name)
	}
	q, err := quote(c.text, true)
	if err != nil {
		return err
	}
	b.WriteString(name + " LIKE '" + c.prefix + q[1:len(q)-1] + c.suffix + "'")
	return nil
}

type junction struct {
	op    string
	terms []Cond
}

// And matches when every term matches.
func And(terms ...Cond) Cond { return junction{"AND", terms} }

// Or matches when any term matches.
func Or(terms ...Cond) Cond { return junction{"OR", terms} }

func (j junction) write(b *strings.Builder, s schema) error {
	var live []Cond
	for _, t := range j.terms {
		if t != nil {
			live = append(live, t)
		}
	}
	if len(live) == 0 {
		return fault.New(fault.Permanent, "INVALID_FILTER", j.op+" needs at least one term")
	}
	// Every term is parenthesised: SOQL refuses mixed AND/OR without them,
	// and parentheses make the grouping explicit whatever a term holds.
	for i, t := range live {
		if i > 0 {
			b.WriteString(" " + j.op + " ")
		}
		b.WriteString("(")
		if err := t.write(b, s); err != nil {
			return err
		}
		b.WriteString(")")
	}
	return nil
}

type not struct{ term Cond }

// Not negates a condition.
func Not(c Cond) Cond { return not{c} }

func (n not) write(b *strings.Builder, s schema) error {
	b.WriteString("NOT (")
	if err := n.term.write(b, s); err != nil {
		return err
	}
	b.WriteString(")")
	return nil
}

func textType(t string) bool {
	switch t {
	case "string", "textarea", "email", "phone", "url", "picklist", "multipicklist", "id", "reference", "combobox":
		return true
	}
	return false
}

// literal renders a value for a field of the given type, refusing values of
// the wrong kind.
func literal(f *Field, v any) (string, error) {
	bad := func() (string, error) {
		return "", fault.New(fault.Permanent, "INVALID_FILTER", fmt.Sprintf("a %T value does not fit field %s (%s)", v, f.Name, f.Type))
	}
	if v == nil {
		return "null", nil
	}
	switch f.Type {
	case "date", "datetime":
		switch x := v.(type) {
		case Date:
			return x.UTC().Format("2006-01-02"), nil
		case time.Time:
			if f.Type == "date" {
				return x.UTC().Format("2006-01-02"), nil
			}
			return x.UTC().Format("2006-01-02T15:04:05Z"), nil
		case RelativeDate:
			if !relativeDates[x.Name] {
				return "", fault.New(fault.Permanent, "INVALID_FILTER", "unknown date literal "+quoteForMessage(x.Name))
			}
			if strings.HasSuffix(x.Name, "_N_DAYS") {
				if x.N < 0 {
					return bad()
				}
				return x.Name + ":" + strconv.Itoa(x.N), nil
			}
			return x.Name, nil
		}
		return bad()
	case "boolean":
		if x, ok := v.(bool); ok {
			return strconv.FormatBool(x), nil
		}
		return bad()
	case "double", "currency", "percent", "int", "long":
		switch x := v.(type) {
		case int:
			return strconv.Itoa(x), nil
		case int64:
			return strconv.FormatInt(x, 10), nil
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64), nil
		}
		return bad()
	}
	s, ok := v.(string)
	if !ok {
		return bad()
	}
	return quote(s, false)
}

// quote renders s as a SOQL string literal. Backslash, both quotes and the
// control characters SOQL has escapes for are escaped; in LIKE patterns % and
// _ are escaped too, so they match themselves. Other control characters are
// refused rather than passed through.
func quote(s string, likePattern bool) (string, error) {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for _, r := range s {
		switch r {
		case '\\':
			b.WriteString(`\\`)
		case '\'':
			b.WriteString(`\'`)
		case '"':
			b.WriteString(`\"`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '%', '_':
			if likePattern {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		default:
			if r < 0x20 || r == 0x7f {
				return "", fault.New(fault.Permanent, "INVALID_FILTER", fmt.Sprintf("filter value holds control character U+%04X", r))
			}
			b.WriteRune(r)
		}
	}
	b.WriteByte('\'')
	return b.String(), nil
}

// Select is a query to build.
type Select struct {
	Object string
	Fields []string
	Where  Cond
	// OrderBy lists fields, each optionally followed by " DESC".
	OrderBy []string
	// Limit caps the rows (0 = no limit).
	Limit int
	// Count builds SELECT COUNT() instead of a field list.
	Count bool
}

// objectSchema checks field paths against describe results; parent paths
// ("Account.Name") are checked against the parent object's describe.
type objectSchema struct {
	obj     *Object
	parents func(name string) (*Object, error)
}

func (s objectSchema) field(path string) (string, *Field, error) {
	rel, name, isRel := strings.Cut(path, ".")
	if !isRel {
		f := s.obj.Field(path)
		if f == nil {
			return "", nil, fault.New(fault.Permanent, "INVALID_FIELD", fmt.Sprintf("%s has no field %s", s.obj.Name, quoteForMessage(path)))
		}
		return f.Name, f, nil
	}
	ref := s.obj.relationships[strings.ToLower(rel)]
	if ref == nil || len(ref.ReferenceTo) == 0 || s.parents == nil {
		return "", nil, fault.New(fault.Permanent, "INVALID_FIELD", fmt.Sprintf("%s has no relationship %s", s.obj.Name, quoteForMessage(rel)))
	}
	for _, target := range ref.ReferenceTo {
		parent, err := s.parents(target)
		if err != nil {
			return "", nil, err
		}
		if f := parent.Field(name); f != nil {
			return ref.RelationshipName + "." + f.Name, f, nil
		}
	}
	return "", nil, fault.New(fault.Permanent, "INVALID_FIELD", fmt.Sprintf("%s.%s is not a field", ref.RelationshipName, quoteForMessage(name)))
}

// Build renders a query after checking every name against describe results.
func Build(sel Select, obj *Object, parents func(name string) (*Object, error)) (string, error) {
	s := objectSchema{obj: obj, parents: parents}
	var b strings.Builder
	b.WriteString("SELECT ")
	if sel.Count {
		b.WriteString("COUNT()")
	} else {
		if len(sel.Fields) == 0 {
			return "", fault.New(fault.Permanent, "INVALID_FIELD", "a query needs at least one field")
		}
		for i, f := range sel.Fields {
			name, _, err := s.field(f)
			if err != nil {
				return "", err
			}
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(name)
		}
	}
	b.WriteString(" FROM " + obj.Name)
	if sel.Where != nil {
		b.WriteString(" WHERE ")
		if err := sel.Where.write(&b, s); err != nil {
			return "", err
		}
	}
	for i, o := range sel.OrderBy {
		field, dir, _ := strings.Cut(o, " ")
		name, _, err := s.field(field)
		if err != nil {
			return "", err
		}
		switch strings.ToUpper(dir) {
		case "", "ASC":
			dir = " ASC"
		case "DESC":
			dir = " DESC"
		default:
			return "", fault.New(fault.Permanent, "INVALID_FIELD", "bad sort direction "+quoteForMessage(dir))
		}
		if i == 0 {
			b.WriteString(" ORDER BY ")
		} else {
			b.WriteString(", ")
		}
		b.WriteString(name + dir)
	}
	if sel.Limit > 0 {
		b.WriteString(" LIMIT " + strconv.Itoa(sel.Limit))
	}
	return b.String(), nil
}

// Build renders a query, describing the object (and parents of relationship
// paths) as needed.
func (c *Client) Build(ctx context.Context, sel Select) (string, error) {
	obj, err := c.Describe(ctx, sel.Object)
	if err != nil {
		return "", err
	}
	return Build(sel, obj, func(name string) (*Object, error) { return c.Describe(ctx, name) })
}

// SOSLTerm escapes text for a SOSL FIND {…} clause: every reserved character
// is backslash-escaped so the text is searched as words, never as syntax.
func SOSLTerm(text string) string {
	var b strings.Builder
	for _, r := range text {
		if strings.ContainsRune(`?&|!{}[]()^~*:\"'+-`, r) {
			b.WriteByte('\\')
		}
		if r < 0x20 {
			r = ' '
		}
		b.WriteRune(r)
	}
	return b.String()
}
