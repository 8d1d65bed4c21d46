// Package item holds crmsync's side-neutral view of records: what a CRM or a
// mailbox reports, in canonical field names, and what the planner needs to know
// about changes. It does no I/O.
package item

import (
	"strings"
	"time"
)

// Kind is the type of record being synced.
type Kind string

// The kinds crmsync syncs.
const (
	Contact Kind = "contact"
	Task    Kind = "task"
	Event   Kind = "event"
	// SharedEmail is a message shared into the CRM (one way: mailbox → CRM).
	SharedEmail Kind = "email"
)

// Kinds lists the two-way kinds in sync order.
var Kinds = []Kind{Contact, Task, Event}

// Record is one record as a side reports it. Fields carry canonical names (see
// fields.go) with normalized string values; a field absent from the map is
// unknown (not read), a field present with "" is empty.
type Record struct {
	Kind Kind
	// ID is the side's own identifier (Salesforce Id, Graph immutable id).
	ID string
	// Version is the side's change marker (SystemModstamp, changeKey, ETag).
	Version string
	// Modified is when the side last changed the record.
	Modified time.Time
	Fields   map[string]string
	// Categories are the mailbox item's categories (mailbox side only).
	Categories []string
	// Marker is the correlation marker crmsync stamped on a record it created
	// (mailbox side: an extended property or a linked resource), "" if none.
	Marker string
}

// HasCategory reports whether r carries category c (case-insensitive, as Outlook compares).
func (r Record) HasCategory(c string) bool {
	for _, have := range r.Categories {
		if strings.EqualFold(have, c) {
			return true
		}
	}
	return false
}

// Name is the record's display name for issues and logs shown to its owner:
// the contact's name or the item's subject. It is content: never store it except
// in an open issue, never log it.
func (r Record) Name() string {
	switch r.Kind {
	case Contact:
		return strings.TrimSpace(r.Fields[FirstName] + " " + r.Fields[LastName])
	default:
		return r.Fields[Subject]
	}
}

// RemovalReason says why a record disappeared from a side's view.
type RemovalReason int

const (
	// Deleted: the record was deleted on that side.
	Deleted RemovalReason = iota + 1
	// LeftScope: the record still exists but no longer belongs to the sync
	// (list view filter, window, ownership, category removed).
	LeftScope
)

// Removal is a record that left a side's view.
type Removal struct {
	ID     string
	Reason RemovalReason
}

// Changes is what one side reports for one kind since a cursor.
type Changes struct {
	Kind Kind
	// Records are created or changed records in scope.
	Records []Record
	// Removed are records deleted or out of scope since the cursor.
	Removed []Removal
	// Cursor is the side's new change cursor; store it only after the changes
	// have been applied.
	Cursor string
	// Full is true when Records is the complete in-scope set (first sync, or the
	// old cursor expired): the planner then treats linked records absent from
	// Records as having left scope — never as deleted.
	Full bool
	// Problems are records the side could not read into canonical fields (an
	// unknown time zone, a malformed date, an e-mail without participants).
	// They are not in Records; the planner leaves their links alone and the
	// session shows each one as an issue.
	Problems []Problem
}

// Problem is a record a side reported but could not map.
type Problem struct {
	ID string
	// Name is the record's display name (content: kept only in the open issue).
	Name string
	// Code classifies the problem for the issue ("unknown-time-zone").
	Code string
	// Reason says what is wrong, in words for the record's owner.
	Reason string
}

// Scope says which records of one kind take part in a user's sync.
type Scope struct {
	Kind Kind
	// From and To bound time-windowed kinds: events overlapping [From, To);
	// tasks that are open or were due on or after From.
	From, To time.Time
	// ListView is the CRM list view that scopes contacts ("" = records the user owns).
	ListView string
	// Container is the mailbox folder or list ("Business Contacts", "Business
	// Tasks", "Salesforce Emails"); "" selects the default for the kind.
	Container string
	// ShareCategory marks mailbox items to share into the CRM ("Salesforce").
	ShareCategory string
	// Calendars are the mailbox calendars events sync from (ids); none
	// means the default calendar.
	Calendars []string
}

// Intent is a create that a session recorded before sending it, so that a
// rerun after a crash can find the record instead of creating it twice.
type Intent struct {
	// Marker is unique per intent; sides that can stamp records store it.
	Marker string
	// Since is when the intent was recorded; the record cannot be older.
	Since time.Time
	// Record is what was sent (sides that cannot stamp match on its fields).
	Record Record
}

// Attachment describes a file attached to a mailbox message.
type Attachment struct {
	ID          string
	Name        string
	ContentType string
	Size        int64
	// Inline is true for images embedded in the body (signatures, logos).
	Inline bool
}

// Person is a CRM record an e-mail address belongs to.
type Person struct {
	ID string
	// Object is "Contact" or "Lead".
	Object string
	// AccountID is the contact's account ("" for leads and private contacts).
	AccountID string
}
