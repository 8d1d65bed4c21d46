package salesforce

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDescribeDependentPicklist reads a dependent picklist as describe gives
// it (sObject Describe's field entries: dependentPicklist, controllerName,
// and each picklist value's validFor, a base64 bit set over the controlling
// field's values, first value = most significant bit): the controller's name
// and each active value's validFor reach Field, so the add-in's describe can
// offer only the values valid for the controller's current value.
func TestDescribeDependentPicklist(t *testing.T) {
	const body = `{"name":"Account","label":"Account","createable":true,"updateable":true,"fields":[
	 {"name":"Country__c","type":"picklist","label":"Country","createable":true,"updateable":true,"nillable":true,"custom":true,
	  "dependentPicklist":false,"controllerName":null,"defaultedOnCreate":false,
	  "picklistValues":[{"value":"DE","label":"Germany","active":true,"validFor":null},{"value":"FR","label":"France","active":true,"validFor":null}]},
	 {"name":"Region__c","type":"picklist","label":"Region","createable":true,"updateable":true,"nillable":true,"custom":true,
	  "dependentPicklist":true,"controllerName":"Country__c","defaultedOnCreate":false,
	  "picklistValues":[{"value":"Bavaria","label":"Bavaria","active":true,"validFor":"gAAA"},
	                    {"value":"Brittany","label":"Brittany","active":true,"validFor":"QAAA"},
	                    {"value":"Old","label":"Old","active":false,"validFor":"wAAA"}]},
	 {"name":"OwnerId","type":"reference","label":"Owner ID","createable":true,"updateable":true,"nillable":false,
	  "defaultedOnCreate":true,"dependentPicklist":false,"controllerName":null,"picklistValues":[]}]}`
	var w wireDescribe
	if err := json.Unmarshal([]byte(body), &w); err != nil {
		t.Fatal(err)
	}
	o := objectFromWire(w)
	region := o.Field("Region__c")
	if region == nil {
		t.Fatal("Region__c missing")
	}
	if region.ControllerName != "Country__c" {
		t.Errorf("controller %q, want Country__c", region.ControllerName)
	}
	if diff := cmp.Diff(map[string]string{"Bavaria": "gAAA", "Brittany": "QAAA"}, region.ValidFor); diff != "" {
		t.Errorf("validFor (-want +got):\n%s", diff)
	}
	if c := o.Field("Country__c"); c.ControllerName != "" || c.ValidFor != nil {
		t.Errorf("independent picklist has dependency %+v", c)
	}
	if !o.Field("OwnerId").DefaultedOnCreate || region.DefaultedOnCreate {
		t.Errorf("defaultedOnCreate: OwnerId %v, Region__c %v; want true, false", o.Field("OwnerId").DefaultedOnCreate, region.DefaultedOnCreate)
	}
}
