package reconcile

import (
	"time"

	"github.com/crmsync/crmsync/shared/item"
)

// Side names one side of a sync.
type Side string

// The two sides.
const (
	CRM     Side = "crm"
	Mailbox Side = "mailbox"
)

// Other returns the opposite side.
func (s Side) Other() Side {
	if s == CRM {
		return Mailbox
	}
	return CRM
}

// Link is the stored state of one synced pair: identifiers, change markers and
// keyed fingerprints of the last synced values — never a value (the privacy
// rule). A saved link always has a CRMID; the runner may key link rows by it.
type Link struct {
	Kind  item.Kind
	CRMID string
	// MailboxID is "" for a detached link: the mailbox copy was deleted and the
	// policy said to keep the CRM record (Unlink), so the record must not be
	// put back into the mailbox. A detached link is not a live link.
	MailboxID string
	// Fingerprints maps each synced field to the keyed fingerprint
	// (item.Fingerprint) of its value as last synced; both sides held that
	// value then. A field missing from the map has no known synced value.
	Fingerprints map[string]string
	// CRMVersion and MailboxVersion are the change markers last seen on each
	// side ("" = unknown). A record reporting the same version is unchanged,
	// which spares computing its fingerprints.
	CRMVersion     string
	MailboxVersion string
	// LastSynced is when the pair was last merged (Input.Now of that plan).
	LastSynced time.Time
}

// Detached reports whether l only remembers a CRM record that was taken out of
// the mailbox on purpose.
func (l Link) Detached() bool { return l.MailboxID == "" }

// Input is everything Plan needs for one kind of one user's session.
type Input struct {
	Kind item.Kind
	// Now stamps saved links (Link.LastSynced); the planner reads no clock.
	Now time.Time
	// Policy is the user's settings for Kind (zero values mean defaults).
	Policy Policy
	// Key is the user's fingerprint key (item.Fingerprint); at least 16 bytes.
	Key []byte
	// Links are all stored links of Kind, detached ones included — or, when
	// Counts is set, at least the links of every record either side reported
	// (by either ID, and of the series an exception names), and every
	// detached link when the mailbox reports a record no link knows.
	Links []Link
	// Counts, when set, are the kind's stored links counted (kept beside them
	// by the caller), so that the guards judge the whole kind from a subset of
	// its links. A side's full listing needs every link, Counts or not.
	Counts *LinkCounts
	// CRM and Mailbox are what each side reported for Kind since its cursor.
	CRM     item.Changes
	Mailbox item.Changes
	// Confirmed lets through what a guard would hold back: the user saw the
	// guard's issue and confirmed it for this session.
	Confirmed bool
}

// Op is the kind of one planned action.
type Op string

// The planned operations, in the order Output.Actions lists them (except that
// exceptions of recurring events come after every series action).
const (
	// SaveLink writes Action.Link; no side is touched (a match adopted, or
	// fingerprints moved on because both sides already agree).
	SaveLink Op = "save-link"
	// Detach writes Action.Link, which is detached: the mailbox copy is gone
	// (deleted with MailboxDelete Unlink, or absent from a full listing) and
	// the CRM record stays, not to be put back.
	Detach Op = "detach"
	// DropLink deletes the stored link (Action.Link.CRMID); no side is touched.
	DropLink Op = "unlink"
	// DeleteMailbox deletes Action.Record.ID from the mailbox, then drops the link.
	DeleteMailbox Op = "delete-mailbox"
	// DeleteCRM deletes Action.Record.ID from the CRM, then drops the link.
	DeleteCRM Op = "delete-crm"
	// UpdateCRM writes Action.Record.Fields (only the changed fields) to the CRM
	// record Action.Record.ID, then saves Action.Link.
	UpdateCRM Op = "update-crm"
	// UpdateMailbox is UpdateCRM towards the mailbox.
	UpdateMailbox Op = "update-mailbox"
	// CreateCRM creates Action.Record in the CRM, stamped with Action.Marker;
	// the runner records an intent with the marker first. On success it sets
	// Action.Link.CRMID to the new ID and saves the link.
	CreateCRM Op = "create-crm"
	// CreateMailbox is CreateCRM towards the mailbox (sets Link.MailboxID).
	CreateMailbox Op = "create-mailbox"
)

// Action is one planned step, as data.
type Action struct {
	Op Op
	// Record is what to write: for creates the whole record (ID ""), for
	// updates the target's ID and only the fields to change, for deletes the
	// ID only. Its fields are content: never store or log them.
	Record item.Record
	// Marker is set on creates: deterministic from the source record (see
	// MarkerFor), so a replayed plan records and stamps the same marker.
	Marker string
	// SeriesMarker is set on the create of an exception whose series is
	// created by the same plan: the runner puts the series' new ID into
	// Record.Fields[item.SeriesID] before sending (the series is planned first).
	SeriesMarker string
	// Link is the link state to save once the action succeeds (for DropLink and
	// the deletes: the link to drop). When one link has two actions (an update
	// of each side), the first one's Link moves on only its own fields.
	Link Link
}

// Target returns the side the action writes to ("" for link-only actions).
func (a Action) Target() Side {
	switch a.Op {
	case CreateCRM, UpdateCRM, DeleteCRM:
		return CRM
	case CreateMailbox, UpdateMailbox, DeleteMailbox:
		return Mailbox
	}
	return ""
}

// DropsLink reports whether success removes the stored link instead of saving
// Action.Link.
func (a Action) DropsLink() bool {
	return a.Op == DropLink || a.Op == DeleteCRM || a.Op == DeleteMailbox
}

// Conflict records a field changed on both sides since the last sync, for the
// session log and the dashboard. It holds no value.
type Conflict struct {
	CRMID     string
	MailboxID string
	// Field is the canonical field name; "" when a whole record was deleted on
	// one side and changed on the other.
	Field  string
	Winner Side
	// Rule is what decided: a ConflictRule; a one-way Direction (its source
	// wins); or "delete" when a delete on one side met a change on the other
	// (see the package documentation).
	Rule string
}

// IssueCode classifies an issue for the dashboard.
type IssueCode string

// Issue codes.
const (
	// GuardTripped: deletions of the kind were held back by a guard.
	GuardTripped IssueCode = "guard"
	// SeriesNotSynced: an exception of a recurring event whose series is not
	// synced cannot be created on the other side.
	SeriesNotSynced IssueCode = "series-not-synced"
	// DeletedWhileChanged: a record changed on one side was deleted on the
	// other; what happened is in the message.
	DeletedWhileChanged IssueCode = "deleted-while-changed"
)

// Issue is something the user should see: which item, on which side, and why.
type Issue struct {
	Code IssueCode
	// Side and RecordID name the item ("" for the kind as a whole).
	Side     Side
	RecordID string
	// Name is the item's display name (item.Record.Name): content, kept in
	// storage only while the issue is open.
	Name string
	// Message says what happened and what the user can do, without values.
	Message string
}

// GuardName names a guard.
type GuardName string

// The guards.
const (
	// EmptyCRM: the CRM side looks empty (a full listing with no records, or
	// every live link removed) while the mailbox is not.
	EmptyCRM GuardName = "empty-crm"
	// EmptyMailbox is EmptyCRM for the mailbox side.
	EmptyMailbox GuardName = "empty-mailbox"
	// MassRemove: the plan would delete or unlink more than Guard.MaxRemoveShare
	// of the live links.
	MassRemove GuardName = "mass-remove"
)

// GuardReport says whether a guard held deletions back, with the counts.
type GuardReport struct {
	// Tripped is the guard that held deletions back ("" = none).
	Tripped GuardName
	// LiveLinks is the number of live (not detached) links before the plan.
	LiveLinks int
	// Removals is how many live links the plan would delete or unlink.
	Removals int
	// Limit is the most removals the mass-remove guard allows.
	Limit int
	// Overridden is true when a guard would have tripped but Input.Confirmed let
	// the removals through.
	Overridden bool
}

// Output is a plan: the actions to run, and what to report.
type Output struct {
	Kind item.Kind
	// Actions are in a deterministic order (see Op).
	Actions []Action
	// Conflicts are the fields settled by a rule, for the session log.
	Conflicts []Conflict
	// Issues are what the user should see on the dashboard.
	Issues []Issue
	// Guard says whether a guard held removals back.
	Guard GuardReport
}

// LinkCounts are how many links of a kind are stored: All of them, and the
// Live ones (not detached).
type LinkCounts struct {
	All, Live int
}
