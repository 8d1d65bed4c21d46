package fakesalesforce

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestDescribeDefaults: the describe states defaults the way the recorded
// describe does (restforce's Whizbang: a checkbox's default in the field's
// defaultValue, typed; a picklist's as defaultValue true on its entry, the
// field's own defaultValue null), with a new org's values: Case Status New,
// Priority Medium, no Origin default; Task Status Not Started, Priority
// Normal; Lead Status Open - Not Contacted; and the demo org's Send Survey
// checkbox checked. Creating a record without them fills them in.
func TestDescribeDefaults(t *testing.T) {
	f := newFixture(t, Options{})
	if _, err := SeedDemo(f.srv, time.Now()); err != nil {
		t.Fatal(err)
	}
	type describe struct {
		Fields []struct {
			Name              string          `json:"name"`
			DefaultValue      json.RawMessage `json:"defaultValue"`
			DefaultedOnCreate bool            `json:"defaultedOnCreate"`
			PicklistValues    []struct {
				Value        string `json:"value"`
				DefaultValue bool   `json:"defaultValue"`
			} `json:"picklistValues"`
		} `json:"fields"`
	}
	// got is each field's "defaultValue|flagged entries|defaultedOnCreate".
	got := func(object string) map[string]string {
		var d describe
		f.do("GET", v+"/sobjects/"+object+"/describe", nil, &d)
		out := map[string]string{}
		for _, fd := range d.Fields {
			var flagged []string
			for _, p := range fd.PicklistValues {
				if p.DefaultValue {
					flagged = append(flagged, p.Value)
				}
			}
			dc := "no"
			if fd.DefaultedOnCreate {
				dc = "defaulted"
			}
			out[fd.Name] = string(fd.DefaultValue) + "|" + strings.Join(flagged, ",") + "|" + dc
		}
		return out
	}
	for object, want := range map[string]map[string]string{
		"Case": {"Status": "null|New|defaulted", "Priority": "null|Medium|defaulted", "Origin": "null||no",
			"Send_Survey__c": "true||defaulted", "Onsite_Visit__c": "false||defaulted"},
		"Task": {"Status": "null|Not Started|defaulted", "Priority": "null|Normal|defaulted"},
		"Lead": {"Status": "null|Open - Not Contacted|defaulted"},
	} {
		g := got(object)
		for name, w := range want {
			if g[name] != w {
				t.Errorf("%s.%s: %q, want %q", object, name, g[name], w)
			}
		}
	}
	var c struct {
		ID string `json:"id"`
	}
	f.do("POST", v+"/sobjects/Case", map[string]any{"Subject": "defaults"}, &c)
	var rec map[string]any
	f.do("GET", v+"/sobjects/Case/"+c.ID+"?fields=Status,Priority,Origin,Send_Survey__c", nil, &rec)
	if rec["Status"] != "New" || rec["Priority"] != "Medium" || rec["Origin"] != nil || rec["Send_Survey__c"] != true {
		t.Errorf("a Case created without them: %v", rec)
	}
}
