package side

import (
	"context"
	"strings"
)

// RecordCRM is an optional CRM ability: the record operations the Outlook
// add-in offers (people behind addresses, their accounts, search, object
// describes, reading and writing records, Chatter), always on a CRM opened
// with the calling user's own credentials so the CRM's sharing rules hold.
// With CRM's LogEmail and AttachFile it is everything the add-in needs of a
// CRM (shared/addin). Errors are classified with shared/fault.
//
// Its people lookup is not a second FindPeople: CRM.FindPeople maps each
// address to the one record e-mail sharing relates to; LookupPeople lists
// every record behind the addresses, with what the reading pane shows.
type RecordCRM interface {
	// LookupPeople returns every Contact and Lead whose e-mail address is one
	// of emails (lower case, a few hundred at most), in one query round.
	LookupPeople(ctx context.Context, emails []string) ([]Person, error)
	// Accounts returns the named accounts with up to perAccount open
	// Opportunities and open Cases each, in one query round.
	Accounts(ctx context.Context, ids []string, perAccount int) ([]Account, error)
	// Search finds records of the given objects matching plain text. The
	// text is data: the implementation must escape it so it cannot change
	// the search.
	Search(ctx context.Context, text string, objects []string, limit int) ([]Hit, error)
	// Objects lists the objects (standard and custom) of the org.
	Objects(ctx context.Context) ([]ObjectInfo, error)
	// Describe returns an object's fields.
	Describe(ctx context.Context, object string) (Object, error)
	// GetRecord reads the given fields of one record.
	GetRecord(ctx context.Context, object, id string, fields []string) (map[string]any, error)
	// CreateRecord inserts a record and returns its id.
	CreateRecord(ctx context.Context, object string, fields map[string]any) (string, error)
	// UpdateRecord writes the given fields of a record.
	UpdateRecord(ctx context.Context, object, id string, fields map[string]any) error
	// PostChatter posts text to a record's feed and returns the post's id.
	PostChatter(ctx context.Context, subjectID, text string) (string, error)
}

// Person is a CRM Contact or Lead behind an e-mail address, as the add-in's
// reading pane shows it.
type Person struct {
	// Object is "Contact" or "Lead".
	Object    string `json:"object"`
	ID        string `json:"id"`
	Name      string `json:"name"`
	Email     string `json:"email"`
	Title     string `json:"title,omitempty"`
	Phone     string `json:"phone,omitempty"`
	Company   string `json:"company,omitempty"`
	AccountID string `json:"accountId,omitempty"`
}

// Summary is one related record shown in the reading pane (an open
// Opportunity or Case).
type Summary struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Status string `json:"status,omitempty"`
	// Date is the close date of an opportunity or the creation date of a case.
	Date   string `json:"date,omitempty"`
	Amount string `json:"amount,omitempty"`
}

// Account is an account with its open Opportunities and Cases.
type Account struct {
	ID            string    `json:"id"`
	Name          string    `json:"name"`
	Opportunities []Summary `json:"opportunities"`
	Cases         []Summary `json:"cases"`
}

// Hit is one search result.
type Hit struct {
	Object string `json:"object"`
	ID     string `json:"id"`
	Name   string `json:"name"`
}

// ObjectInfo is what a global describe says about one object.
type ObjectInfo struct {
	Name       string `json:"name"`
	Label      string `json:"label"`
	Custom     bool   `json:"custom"`
	Createable bool   `json:"createable"`
	Updateable bool   `json:"updateable"`
}

// Field is one field of an object's describe.
type Field struct {
	Name       string `json:"name"`
	Label      string `json:"label"`
	Type       string `json:"type"`
	Length     int    `json:"length,omitempty"`
	Createable bool   `json:"createable"`
	Updateable bool   `json:"updateable"`
	Nillable   bool   `json:"nillable"`
	Custom     bool   `json:"custom"`
	// Picklist lists a picklist's active values; Restricted says no other
	// value is accepted.
	Picklist   []string `json:"picklist,omitempty"`
	Restricted bool     `json:"restricted,omitempty"`
	// PicklistLabels are the words a person sees for picklist values that
	// are codes (C4C's code lists: "2" is "Active"); a value without one
	// shows as itself.
	PicklistLabels map[string]string `json:"picklistLabels,omitempty"`
	ReferenceTo    []string          `json:"referenceTo,omitempty"`
	// DefaultedOnCreate says the CRM gives the field a value when a record
	// is created without one, so a form need not ask for it even when it
	// is not nillable.
	DefaultedOnCreate bool `json:"defaultedOnCreate"`
	// Default is the value the CRM gives the field on create when it is
	// known and fixed, written as the field's value would be ("New",
	// "true", "23"), so a create form can start there. "" = none, or one
	// the CRM works out itself (a formula): a form then leaves the field
	// to the CRM. Optional: a connector that does not know defaults leaves
	// it empty.
	Default string `json:"default,omitempty"`
	// ControllerName names the field a dependent picklist depends on ("" =
	// not dependent).
	ControllerName string `json:"controllerName,omitempty"`
	// ValidFor maps each value of a dependent picklist to the controlling
	// values it is valid for, as Salesforce's describe gives it: base64 of
	// a bit set whose bit i (most significant bit of each byte first) is the
	// controller's i-th picklist value (for a checkbox controller, 0 is
	// false and 1 is true). Nil when the field is not dependent.
	ValidFor map[string]string `json:"validFor,omitempty"`
}

// Object is an object's describe.
type Object struct {
	ObjectInfo
	Fields []Field `json:"fields"`
}

// Field returns the named field, ignoring case as CRMs do.
func (o Object) Field(name string) (Field, bool) {
	for _, f := range o.Fields {
		if strings.EqualFold(f.Name, name) {
			return f, true
		}
	}
	return Field{}, false
}
