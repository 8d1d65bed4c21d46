// Package soql parses the subset of the Salesforce Object Query Language that
// crmsync and the local Salesforce need: field lists with one-level parent
// relationships, COUNT(), WHERE with AND/OR/NOT, comparisons, IN, LIKE, NULL,
// date and date-time values and date literals, USING SCOPE, ORDER BY,
// LIMIT and OFFSET. The parse tree is exported so that tests can check that a
// query means exactly what its author intended.
package soql

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Query is a parsed SELECT statement.
type Query struct {
	// Fields are the selected field paths ("Name", "Owner.Alias"); empty for COUNT().
	Fields []string
	// Count is true for SELECT COUNT().
	Count bool
	// Object is the sObject after FROM.
	Object string
	// Scope is the USING SCOPE value ("mine", "everything"), "" if absent.
	Scope string
	// Where is the filter, nil when there is no WHERE clause.
	Where Expr
	// OrderBy lists the sort keys in order.
	OrderBy []Order
	// Limit is the LIMIT value, -1 when absent.
	Limit int
	// Offset is the OFFSET value, 0 when absent.
	Offset int
}

// Order is one ORDER BY key.
type Order struct {
	Field     string
	Desc      bool
	NullsLast bool
}

// Expr is a node of a WHERE tree: *And, *Or, *Not, *Compare or *In.
type Expr interface {
	String() string
}

// And is a conjunction of two or more terms.
type And struct{ Terms []Expr }

// Or is a disjunction of two or more terms.
type Or struct{ Terms []Expr }

// Not negates its term.
type Not struct{ Term Expr }

// Compare is "Field Op Value"; Op is one of = != < <= > >= LIKE.
type Compare struct {
	Field string
	Op    string
	Value Value
}

// In is "Field [NOT] IN (values)".
type In struct {
	Field  string
	Not    bool
	Values []Value
}

// ValueKind says what a literal is.
type ValueKind int

// The literal kinds.
const (
	String ValueKind = iota + 1
	Number
	Bool
	Null
	Date
	DateTime
	// DateLiteral is a relative date such as TODAY or LAST_N_DAYS:7; Text holds
	// the name and N the number.
	DateLiteral
)

// Value is a literal in a WHERE clause. Text holds the decoded string (escapes
// resolved) for strings, the source text for numbers, dates and date-times,
// and the literal's name for date literals.
type Value struct {
	Kind ValueKind
	Text string
	N    int
}

// Str returns a string literal value.
func Str(s string) Value { return Value{Kind: String, Text: s} }

// Range resolves a date, date-time or date literal to the half-open interval
// of instants it denotes, relative to now (in UTC, as for a user whose time
// zone is GMT).
func (v Value) Range(now time.Time) (lo, hi time.Time, err error) {
	now = now.UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	switch v.Kind {
	case Date:
		d, err := time.Parse("2006-01-02", v.Text)
		if err != nil {
			return lo, hi, err
		}
		return d, d.Add(day), nil
	case DateTime:
		t, err := ParseDateTime(v.Text)
		if err != nil {
			return lo, hi, err
		}
		return t, t.Add(time.Nanosecond), nil
	case DateLiteral:
		switch v.Text {
		case "TODAY":
			return today, today.Add(day), nil
		case "YESTERDAY":
			return today.Add(-day), today, nil
		case "TOMORROW":
			return today.Add(day), today.Add(2 * day), nil
		case "LAST_N_DAYS":
			return today.Add(-time.Duration(v.N) * day), today.Add(day), nil
		case "NEXT_N_DAYS":
			return today.Add(day), today.Add(time.Duration(v.N+1) * day), nil
		}
	}
	return lo, hi, fmt.Errorf("soql: %s is not a date", v)
}

// ParseDateTime reads a SOQL date-time literal or a Salesforce date-time value
// ("2026-05-01T10:00:00Z", "2026-05-01T10:00:00.000+0000", "+01:00" offsets).
func ParseDateTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000-0700", "2006-01-02T15:04:05-0700", "2006-01-02T15:04:05.000Z0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("soql: bad date-time %q", s)
}

// String renders the value for tests and messages (strings Go-quoted).
func (v Value) String() string {
	switch v.Kind {
	case String:
		return strconv.Quote(v.Text)
	case Null:
		return "null"
	case DateLiteral:
		if v.Text == "LAST_N_DAYS" || v.Text == "NEXT_N_DAYS" {
			return fmt.Sprintf("%s:%d", v.Text, v.N)
		}
		return v.Text
	default:
		return v.Text
	}
}

// String renders the node with explicit grouping, for tests and messages.
func (e *And) String() string { return join("AND", e.Terms) }
func (e *Or) String() string  { return join("OR", e.Terms) }
func (e *Not) String() string { return "(NOT " + e.Term.String() + ")" }
func (e *Compare) String() string {
	return "(" + e.Field + " " + e.Op + " " + e.Value.String() + ")"
}
func (e *In) String() string {
	vals := make([]string, len(e.Values))
	for i, v := range e.Values {
		vals[i] = v.String()
	}
	op := "IN"
	if e.Not {
		op = "NOT IN"
	}
	return "(" + e.Field + " " + op + " [" + strings.Join(vals, ", ") + "])"
}

func join(op string, terms []Expr) string {
	parts := make([]string, len(terms))
	for i, t := range terms {
		parts[i] = t.String()
	}
	return "(" + strings.Join(parts, " "+op+" ") + ")"
}
