package fakesalesforce

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
)

// Dependent picklists, as the describe shows them (DescribeSObjectResult,
// Field and PicklistEntry: dependentPicklist, controllerName, validFor):
// a dependent value's validFor is base64 of a bit set whose bit i, most
// significant bit of each byte first, says the value is offered when the
// controller holds its i-th picklist value; for a checkbox controller bit 0
// is unchecked and bit 1 checked. FIDELITY.md names the pages.

// checkDependencies refuses a dependent picklist whose controller or
// values do not exist, so a schema mistake shows at start, not as a
// describe no org could give.
func (o *Object) checkDependencies() error {
	byName := map[string]*Field{}
	for i := range o.Fields {
		byName[strings.ToLower(o.Fields[i].Name)] = &o.Fields[i]
	}
	for _, f := range o.Fields {
		if f.Controller == "" {
			if len(f.ValidFor) > 0 {
				return fmt.Errorf("fakesalesforce: %s.%s: validFor without controllerName", o.Name, f.Name)
			}
			continue
		}
		c := byName[strings.ToLower(f.Controller)]
		if c == nil || (c.Type != typePicklist && c.Type != typeBoolean) {
			return fmt.Errorf("fakesalesforce: %s.%s: controller %s is not a picklist or checkbox of %s", o.Name, f.Name, f.Controller, o.Name)
		}
		if f.Type != typePicklist && f.Type != typeMulti {
			return fmt.Errorf("fakesalesforce: %s.%s: only a picklist can be dependent", o.Name, f.Name)
		}
		for v, on := range f.ValidFor {
			if !slices.Contains(f.Picklist, v) {
				return fmt.Errorf("fakesalesforce: %s.%s: validFor names %q, not one of its values", o.Name, f.Name, v)
			}
			for _, cv := range on {
				if controllerIndex(c, cv) < 0 {
					return fmt.Errorf("fakesalesforce: %s.%s: %q is not a value of the controller %s", o.Name, f.Name, cv, c.Name)
				}
			}
		}
	}
	return nil
}

// controllerIndex is a controlling value's bit: its position in the
// controller's picklist, or 0/1 for an unchecked/checked checkbox; -1 when
// the controller has no such value.
func controllerIndex(c *Field, value string) int {
	if c.Type == typeBoolean {
		switch value {
		case "false":
			return 0
		case "true":
			return 1
		}
		return -1
	}
	return slices.Index(c.Picklist, value)
}

// validForBits encodes the controlling values a dependent value is
// offered for. Real orgs send at least three bytes ("gAAA" for the first
// controlling value only) and whole groups of three, so the base64 has no
// padding.
func validForBits(c *Field, on []string) string {
	n := len(c.Picklist)
	if c.Type == typeBoolean {
		n = 2
	}
	size := (n + 7) / 8
	size = max(3, (size+2)/3*3)
	b := make([]byte, size)
	for _, v := range on {
		if i := controllerIndex(c, v); i >= 0 {
			b[i>>3] |= 0x80 >> (i & 7)
		}
	}
	return base64.StdEncoding.EncodeToString(b)
}

// demoCaseFields are custom fields the demo org has on Case: a product
// area with a dependent product detail, and an on-site visit checkbox
// with a dependent visit window, the two kinds of controller an org can
// set up (Salesforce Help "Define Dependent Picklists": the controlling
// field is a picklist or a checkbox); and a checkbox checked by default
// (described as the recorded Checkbox_Field is: defaultValue true), so a
// create form has a default to start at that leaving the field out would
// not undo.
func demoCaseFields() []Field {
	return []Field{
		{Name: "Product_Area__c", Type: typePicklist, Label: "Product Area", Length: 255, Picklist: []string{"Hardware", "Software", "Services"}},
		{Name: "Product_Detail__c", Type: typePicklist, Label: "Product Detail", Length: 255, Controller: "Product_Area__c",
			Picklist: []string{"Laptop", "Server", "Licence", "Upgrade", "Training"},
			ValidFor: map[string][]string{"Laptop": {"Hardware"}, "Server": {"Hardware"}, "Licence": {"Software"}, "Upgrade": {"Software", "Services"}, "Training": {"Services"}}},
		{Name: "Onsite_Visit__c", Type: typeBoolean, Label: "On-site Visit", Default: false},
		{Name: "Visit_Window__c", Type: typePicklist, Label: "Visit Window", Length: 255, Controller: "Onsite_Visit__c",
			Picklist: []string{"Morning", "Afternoon", "Remote only"},
			ValidFor: map[string][]string{"Morning": {"true"}, "Afternoon": {"true"}, "Remote only": {"false"}}},
		{Name: "Send_Survey__c", Type: typeBoolean, Label: "Send Survey", Default: true},
	}
}

// addCustomFields declares custom fields on an existing object, as an org
// admin adds them in Setup.
func (s *Server) addCustomFields(object string, fields []Field) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.object(object)
	if o == nil {
		return fmt.Errorf("fakesalesforce: no object %s", object)
	}
	for _, f := range fields {
		if o.field(f.Name) != nil {
			return fmt.Errorf("fakesalesforce: %s.%s exists", object, f.Name)
		}
		f.custom = strings.HasSuffix(f.Name, "__c")
		o.Fields = append(o.Fields, f)
	}
	if err := o.checkDependencies(); err != nil {
		return err
	}
	o.index()
	return nil
}
