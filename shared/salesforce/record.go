package salesforce

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Record is one sObject record as Salesforce sends it: field names to JSON
// values (string, json.Number, bool, nil, or a nested Record for a parent
// relationship), plus "attributes".
type Record map[string]any

// ID returns the record's Id.
func (r Record) ID() string { return r.String("Id") }

// Type returns the record's sObject type from its attributes.
func (r Record) Type() string {
	if a, ok := r["attributes"].(map[string]any); ok {
		s, _ := a["type"].(string)
		return s
	}
	return ""
}

// Has reports whether the record carries the field (even as null).
func (r Record) Has(field string) bool {
	_, ok := r.lookup(field)
	return ok
}

// String returns a field's value as text ("" for null): numbers in their
// JSON form, booleans as "true"/"false". A dotted path reads a parent.
func (r Record) String(field string) string {
	v, _ := r.lookup(field)
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}

// hasKey reports whether the record carries a top-level field, matching the
// name without regard to case as Salesforce does.
func (r Record) hasKey(name string) bool {
	for k := range r {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

func (r Record) lookup(path string) (any, bool) {
	rel, name, isRel := strings.Cut(path, ".")
	if !isRel {
		v, ok := r[path]
		return v, ok
	}
	parent, ok := r[rel].(map[string]any)
	if !ok {
		return nil, r[rel] == nil
	}
	v, ok := parent[name]
	return v, ok
}

// NewRecord returns a record of the given type for writing.
func NewRecord(object string) Record {
	return Record{"attributes": map[string]any{"type": object}}
}
