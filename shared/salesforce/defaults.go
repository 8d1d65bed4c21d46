package salesforce

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
)

// fieldDefault works out a field's fixed default from its describe, as
// text written the way the field's value is ("New", "true", "23"), or ""
// when there is none to show.
//
// Describe gives a default three ways (DescribeFieldResult getDefaultValue /
// getDefaultValueFormula, PicklistEntry isDefaultValue):
//   - a picklist's default entry is flagged on the entry (defaultValue true
//     in picklistValues; a multi-select picklist may flag several);
//   - defaultValue holds a typed value: true for a checkbox, 23 for a
//     number, "Yes!" for text (the recorded describe has all three);
//   - defaultValueFormula holds a formula. Only a literal is fixed: a
//     quoted text ('New' or "New"), TRUE/FALSE for a checkbox, a number for
//     a number field. Anything else (TODAY(), $User.Id, an expression) is
//     worked out by Salesforce on create, so it stays "".
//
// A default a picklist does not offer (inactive, say) is not one a form can
// start at, so it is dropped.
func fieldDefault(typ string, picklist, flagged []string, value json.RawMessage, formula *string) string {
	isPicklist := typ == "picklist" || typ == "multipicklist"
	offered := func(v string) bool {
		if !isPicklist {
			return true
		}
		for _, one := range strings.Split(v, ";") {
			if !slices.Contains(picklist, one) {
				return false
			}
		}
		return true
	}
	if len(flagged) > 0 {
		if typ == "multipicklist" {
			return strings.Join(flagged, ";")
		}
		return flagged[0]
	}
	if v := typedDefault(typ, value); v != "" && offered(v) {
		return v
	}
	if formula != nil {
		if v := literalFormula(typ, *formula); v != "" && offered(v) {
			return v
		}
	}
	return ""
}

// numeric are the field types whose values are numbers.
func numeric(typ string) bool {
	switch typ {
	case "double", "currency", "percent", "int", "long":
		return true
	}
	return false
}

// textual are the field types whose values are text a form can show as is.
func textual(typ string) bool {
	switch typ {
	case "string", "textarea", "picklist", "multipicklist", "combobox", "email", "phone", "url":
		return true
	}
	return false
}

var numberLiteral = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)

// typedDefault reads describe's defaultValue, keeping only a value of the
// field's own kind.
func typedDefault(typ string, raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return ""
	}
	switch {
	case typ == "boolean":
		var b bool
		if json.Unmarshal(raw, &b) == nil {
			if b {
				return "true"
			}
			return "false"
		}
	case numeric(typ):
		if numberLiteral.Match(raw) {
			return string(raw)
		}
		var s string
		if json.Unmarshal(raw, &s) == nil && numberLiteral.MatchString(s) {
			return s
		}
	case textual(typ):
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	}
	return ""
}

// literalFormula returns the value of a default formula that is a single
// literal of the field's kind, "" for any other formula.
func literalFormula(typ, formula string) string {
	f := strings.TrimSpace(formula)
	switch {
	case typ == "boolean":
		switch strings.ToUpper(f) {
		case "TRUE":
			return "true"
		case "FALSE":
			return "false"
		}
	case numeric(typ):
		if numberLiteral.MatchString(f) {
			return f
		}
	case textual(typ):
		if s, ok := formulaText(f); ok {
			return s
		}
	}
	return ""
}

// formulaText reads a formula text literal: one pair of single or double quotes
// around the whole formula, with backslash escapes (\' \" \\ \n \r \t). A
// quote of the same kind inside, unescaped, means the formula is more than
// one literal ('a' & 'b'), so it is not read.
func formulaText(f string) (string, bool) {
	if len(f) < 2 || (f[0] != '\'' && f[0] != '"') || f[len(f)-1] != f[0] {
		return "", false
	}
	q, in := f[0], f[1:len(f)-1]
	var b strings.Builder
	for i := 0; i < len(in); i++ {
		c := in[i]
		if c == q {
			return "", false
		}
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i == len(in) {
			return "", false
		}
		switch in[i] {
		case '\'', '"', '\\':
			b.WriteByte(in[i])
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		default:
			return "", false
		}
	}
	return b.String(), true
}
