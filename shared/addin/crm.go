package addin

import (
	"context"
	"io"
	"strings"
	"time"
)

// CRM is what the add-in backend needs from a CRM, always opened with the
// calling user's own credentials so the CRM's sharing rules hold. Errors are
// classified with shared/fault; the status they become is decided in one
// table (errors.go).
type CRM interface {
	// FindPeople returns the Contacts and Leads whose e-mail address is one of
	// emails (lower case, at most PeopleChunk of them), in one query round.
	FindPeople(ctx context.Context, emails []string) ([]Person, error)
	// Accounts returns the named accounts (at most PeopleChunk ids) with up to
	// perAccount open Opportunities and open Cases each, in one query round.
	Accounts(ctx context.Context, ids []string, perAccount int) ([]Account, error)
	// Search finds records of the given objects matching plain text. The
	// text is data: the implementation must escape it so it cannot change
	// the search.
	Search(ctx context.Context, text string, objects []string, limit int) ([]Hit, error)
	// Objects lists the objects (standard and custom) of the org.
	Objects(ctx context.Context) ([]ObjectInfo, error)
	// Describe returns an object's fields.
	Describe(ctx context.Context, object string) (Object, error)
	// Get reads the given fields of one record.
	Get(ctx context.Context, object, id string, fields []string) (map[string]any, error)
	// Create inserts a record and returns its id.
	Create(ctx context.Context, object string, fields map[string]any) (string, error)
	// Update writes the given fields of a record.
	Update(ctx context.Context, object, id string, fields map[string]any) error
	// UploadFile streams a file to the CRM, linked to parentID; size is -1
	// when unknown. It returns the file's id.
	UploadFile(ctx context.Context, parentID, name string, size int64, content io.Reader) (string, error)
	// PostChatter posts text to a record's feed and returns the post's id.
	PostChatter(ctx context.Context, subjectID, text string) (string, error)
	// LogEmail records an e-mail as a completed activity related to whoIDs
	// (Contacts or Leads) and whatID (an account, may be empty) and returns
	// the activity's (Task's) id.
	LogEmail(ctx context.Context, e Email, whoIDs []string, whatID string) (string, error)
}

// CRMOpener opens a user's CRM with that user's own stored credentials.
// A missing or revoked connection is a fault.Reconnect error.
type CRMOpener interface {
	OpenCRM(ctx context.Context, user string) (CRM, error)
}

// Person is a CRM Contact or Lead behind an e-mail address.
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
	Picklist    []string `json:"picklist,omitempty"`
	Restricted  bool     `json:"restricted,omitempty"`
	ReferenceTo []string `json:"referenceTo,omitempty"`
}

// Object is an object's describe.
type Object struct {
	ObjectInfo
	Fields []Field `json:"fields"`
}

// field returns the named field, ignoring case as the CRM does.
func (o Object) field(name string) (Field, bool) {
	for _, f := range o.Fields {
		if strings.EqualFold(f.Name, name) {
			return f, true
		}
	}
	return Field{}, false
}

// Email is an e-mail shared from the add-in. It passes through memory only.
type Email struct {
	Subject string
	From    string
	To      []string
	Cc      []string
	Sent    time.Time
	Body    string
	// Direction is "Inbound" or "Outbound".
	Direction string
}
