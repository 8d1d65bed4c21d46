package salesforce

import (
	"encoding/json"
	"testing"
)

// TestDescribeDefaultsFromRecordedDescribe reads the recorded describe
// (restforce's Whizbang): a checkbox defaulting to true, a number to 23, a
// text to "Yes!" (typed defaultValue), a picklist and a multi-select whose
// default is flagged on an entry. Each reaches Field.Default as the field's
// value would be written; a field without a default has "".
func TestDescribeDefaultsFromRecordedDescribe(t *testing.T) {
	var w wireDescribe
	if err := json.Unmarshal(readSample(t, "sobject_describe_success_response.json"), &w); err != nil {
		t.Fatal(err)
	}
	o := objectFromWire(w)
	for name, want := range map[string]string{
		"Checkbox_Field": "true", "Number_Field": "23", "Text_Field": "Yes!",
		"Picklist_Field": "one", "Picklist_Multiselect_Field": "four",
		"Name": "", "OwnerId": "", "Auto_Number": "",
	} {
		f := o.Field(name)
		if f == nil {
			t.Errorf("%s missing from the recorded describe", name)
			continue
		}
		if f.Default != want {
			t.Errorf("%s: default %q, want %q", name, f.Default, want)
		}
	}
}

// TestFieldDefault covers the ways describe states a default: only a fixed
// value of the field's own kind is one a form can start at; a formula that
// is more than a literal is left to Salesforce ("").
func TestFieldDefault(t *testing.T) {
	str := func(s string) *string { return &s }
	cases := []struct {
		name     string
		typ      string
		picklist []string
		flagged  []string
		value    string
		formula  *string
		want     string
	}{
		{"flagged picklist entry", "picklist", []string{"New", "Closed"}, []string{"New"}, "null", nil, "New"},
		{"flagged entries of a multi-select", "multipicklist", []string{"a", "b", "c"}, []string{"a", "c"}, "null", nil, "a;c"},
		{"picklist default given as value", "picklist", []string{"High", "Medium"}, nil, `"Medium"`, nil, "Medium"},
		{"picklist default not offered", "picklist", []string{"High"}, nil, `"Retired"`, nil, ""},
		{"checkbox true", "boolean", nil, nil, "true", nil, "true"},
		{"checkbox false", "boolean", nil, nil, "false", nil, "false"},
		{"number", "double", nil, nil, "23", nil, "23"},
		{"decimal currency", "currency", nil, nil, "-1.5", nil, "-1.5"},
		{"text", "string", nil, nil, `"Yes!"`, nil, "Yes!"},
		{"text default on a checkbox is not one", "boolean", nil, nil, `"yes"`, nil, ""},
		{"null and no formula", "string", nil, nil, "null", nil, ""},
		{"absent", "string", nil, nil, "", nil, ""},
		{"formula single-quoted text", "string", nil, nil, "null", str("'New'"), "New"},
		{"formula double-quoted text", "textarea", nil, nil, "null", str(`"Open"`), "Open"},
		{"formula text with escapes", "string", nil, nil, "null", str(`'O\'Neil \\ Co'`), `O'Neil \ Co`},
		{"formula picklist literal", "picklist", []string{"New", "Working"}, nil, "null", str("'Working'"), "Working"},
		{"formula TRUE", "boolean", nil, nil, "null", str("TRUE"), "true"},
		{"formula false, any case", "boolean", nil, nil, "null", str(" false "), "false"},
		{"formula number", "percent", nil, nil, "null", str("10"), "10"},
		{"formula TODAY()", "date", nil, nil, "null", str("TODAY()"), ""},
		{"formula user", "string", nil, nil, "null", str("$User.Email"), ""},
		{"formula concatenation", "string", nil, nil, "null", str("'a' & 'b'"), ""},
		{"formula arithmetic", "double", nil, nil, "null", str("1 + 2"), ""},
		{"formula text on a number", "double", nil, nil, "null", str("'23'"), ""},
		{"formula dangling escape", "string", nil, nil, "null", str(`'abc\'`), ""},
		{"formula unknown escape", "string", nil, nil, "null", str(`'a\qb'`), ""},
		{"flagged entry wins over value", "picklist", []string{"A", "B"}, []string{"B"}, `"A"`, nil, "B"},
		{"value wins over formula", "string", nil, nil, `"v"`, str("'f'"), "v"},
	}
	for _, c := range cases {
		var raw json.RawMessage
		if c.value != "" {
			raw = json.RawMessage(c.value)
		}
		if got := fieldDefault(c.typ, c.picklist, c.flagged, raw, c.formula); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
