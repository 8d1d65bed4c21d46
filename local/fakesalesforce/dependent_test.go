package fakesalesforce

import (
	"strings"
	"testing"
	"time"
)

// TestDemoDependentPicklists: the demo org's Case describes two dependent
// picklists as a real org does: dependentPicklist, controllerName, and a
// validFor per value whose bit i (MSB first) is the controller's i-th
// value, or unchecked (bit 0) / checked (bit 1) for a checkbox. Before,
// every field said dependentPicklist false and validFor null.
func TestDemoDependentPicklists(t *testing.T) {
	f := newFixture(t, Options{})
	if _, err := SeedDemo(f.srv, time.Now()); err != nil {
		t.Fatal(err)
	}
	var d struct {
		Fields []struct {
			Name              string  `json:"name"`
			DependentPicklist bool    `json:"dependentPicklist"`
			ControllerName    *string `json:"controllerName"`
			DefaultedOnCreate bool    `json:"defaultedOnCreate"`
			Custom            bool    `json:"custom"`
			PicklistValues    []struct {
				Value    string  `json:"value"`
				ValidFor *string `json:"validFor"`
			} `json:"picklistValues"`
		} `json:"fields"`
	}
	f.do("GET", v+"/sobjects/Case/describe", nil, &d)
	got := map[string]string{}
	for _, fd := range d.Fields {
		ctl := ""
		if fd.ControllerName != nil {
			ctl = *fd.ControllerName
		}
		var vals []string
		for _, p := range fd.PicklistValues {
			vf := "null"
			if p.ValidFor != nil {
				vf = *p.ValidFor
			}
			vals = append(vals, p.Value+"="+vf)
		}
		got[fd.Name] = strings.Join([]string{ctl, strings.Join(vals, ",")}, "|")
		if fd.DependentPicklist != (ctl != "") {
			t.Errorf("%s: dependentPicklist %v with controller %q", fd.Name, fd.DependentPicklist, ctl)
		}
		if strings.HasSuffix(fd.Name, "__c") && !fd.Custom {
			t.Errorf("%s is not custom", fd.Name)
		}
	}
	want := map[string]string{
		// Hardware=bit 0 (0x80 "gAAA"), Software=bit 1 (0x40 "QAAA"),
		// Software+Services=bits 1,2 (0x60 "YAAA"), Services=bit 2 (0x20 "IAAA").
		"Product_Detail__c": "Product_Area__c|Laptop=gAAA,Server=gAAA,Licence=QAAA,Upgrade=YAAA,Training=IAAA",
		// Checkbox controller: checked is bit 1, unchecked bit 0.
		"Visit_Window__c": "Onsite_Visit__c|Morning=QAAA,Afternoon=QAAA,Remote only=gAAA",
		"Product_Area__c": "|Hardware=null,Software=null,Services=null",
		"Priority":        "|High=null,Medium=null,Low=null",
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s: got %q, want %q", name, got[name], w)
		}
	}
}

// TestDependentPicklistSchemaMistakes: a dependent picklist naming a
// missing controller or values is refused when the schema loads.
func TestDependentPicklistSchemaMistakes(t *testing.T) {
	for name, schema := range map[string]string{
		"no controller":     `{"objects":[{"name":"X__c","fields":[{"name":"D__c","type":"picklist","picklist":["a"],"controllerName":"C__c","validFor":{"a":["x"]}}]}]}`,
		"text controller":   `{"objects":[{"name":"X__c","fields":[{"name":"C__c","type":"string"},{"name":"D__c","type":"picklist","picklist":["a"],"controllerName":"C__c"}]}]}`,
		"unknown value":     `{"objects":[{"name":"X__c","fields":[{"name":"C__c","type":"picklist","picklist":["x"]},{"name":"D__c","type":"picklist","picklist":["a"],"controllerName":"C__c","validFor":{"b":["x"]}}]}]}`,
		"unknown ctl value": `{"objects":[{"name":"X__c","fields":[{"name":"C__c","type":"boolean"},{"name":"D__c","type":"picklist","picklist":["a"],"controllerName":"C__c","validFor":{"a":["yes"]}}]}]}`,
		"validFor alone":    `{"objects":[{"name":"X__c","fields":[{"name":"D__c","type":"picklist","picklist":["a"],"validFor":{"a":["x"]}}]}]}`,
	} {
		if _, err := New(Options{CustomSchema: []byte(schema)}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	ok := `{"objects":[{"name":"X__c","fields":[{"name":"C__c","type":"boolean"},{"name":"D__c","type":"picklist","picklist":["a"],"controllerName":"C__c","validFor":{"a":["true"]}}]}]}`
	if _, err := New(Options{CustomSchema: []byte(ok)}); err != nil {
		t.Errorf("a right schema is refused: %v", err)
	}
}
