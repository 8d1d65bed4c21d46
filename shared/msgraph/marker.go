package msgraph

import (
	"github.com/crmsync/crmsync/shared/fault"
)

// propertySet is the GUID of crmsync's named MAPI properties. It never
// changes: items stamped by one release must be found by the next.
const propertySet = "{6E3B9A4C-2F1D-4E8B-9C5A-7D2E1F0B3A61}"

// markerProp holds the correlation marker on contacts and events crmsync
// created; sharedProp holds the CRM id on messages crmsync shared.
const (
	markerProp = "String " + propertySet + " Name crmsyncMarker"
	sharedProp = "String " + propertySet + " Name crmsyncShared"
)

// expandProp is the $expand that returns one extended property.
func expandProp(id string) string {
	return "singleValueExtendedProperties($filter=id eq " + q(id) + ")"
}

// filterProp is the $filter that finds items whose property id has value.
func filterProp(id, value string) string {
	return "singleValueExtendedProperties/Any(ep: ep/id eq " + q(id) + " and ep/value eq " + q(value) + ")"
}

func extProp(props []wireExtProp, id string) string {
	for _, p := range props {
		if p.ID == id {
			return p.Value
		}
	}
	return ""
}

func badField(field, why string) error {
	return &fault.Error{Class: fault.Permanent, Code: "InvalidField", Message: field + ": " + why, Fields: []string{field}}
}
