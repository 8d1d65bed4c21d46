// Package side is the contract every CRM and mailbox connector satisfies and
// the sync engine (shared/session) relies on: the engine and the connectors
// both import it, and a connector never imports the engine. Its suite,
// side/sidetest, is what every implementation passes.
package side

import (
	"context"
	"io"
	"time"

	"github.com/crmsync/crmsync/shared/item"
)

// Result is the outcome of one record in a batched write: the record's ID on
// success (new ID for creates), or a classified error (shared/fault) that
// becomes a per-record issue. Results come back in the order of the input.
type Result struct {
	ID  string
	Err error
}

// Side is what the engine needs from either side of a sync — a CRM or a
// mailbox — for the two-way kinds (item.Contact, item.Task, item.Event).
// Errors: a whole-call failure returns a classified error (shared/fault:
// Reconnect, Quota, Throttled, Temporary, Expired…); per-record failures go in
// Result.Err, also classified (Permanent with Fields for validation and
// duplicate rules, Gone for records deleted meanwhile).
// Implementations batch writes as their API allows (Salesforce collections of
// 200, Graph $batch of 20); the engine passes whole lists.
type Side interface {
	// Changes reports what changed in scope since cursor ("" = first sync: all
	// in-scope records with Full set). An expired cursor is not an error: the
	// side reads everything again and sets Full.
	Changes(ctx context.Context, scope item.Scope, cursor string) (item.Changes, error)
	// Create writes new records; marker[i] (same length as recs, "" = none) is
	// stamped on the record where the side can, so FindCreated finds it.
	Create(ctx context.Context, kind item.Kind, recs []item.Record, markers []string) ([]Result, error)
	// Update changes the given fields of existing records (rec.ID set; only the
	// fields present in rec.Fields are written). A CRM that can only make the
	// change by replacing the record (a classic Salesforce series takes a new
	// pattern only by being made again) returns the new record's ID in
	// Result.ID, and the engine moves the link to it; otherwise Result.ID is
	// the record's own ID or "".
	Update(ctx context.Context, kind item.Kind, recs []item.Record) ([]Result, error)
	// Delete removes records; a record already gone counts as success.
	Delete(ctx context.Context, kind item.Kind, ids []string) ([]Result, error)
	// FindCreated returns, for each intent whose record exists on this side, the
	// record's ID by intent marker. Sides match on the marker where they can stamp
	// one, otherwise on the intent's fields among records the user created since
	// intent.Since.
	FindCreated(ctx context.Context, kind item.Kind, intents []item.Intent) (map[string]string, error)
}

// CRM is the CRM side: a Side plus what e-mail sharing needs.
type CRM interface {
	Side
	// FindPeople maps e-mail addresses (lower case) to the Contacts and Leads
	// that carry them; addresses with no record are absent from the result.
	FindPeople(ctx context.Context, addresses []string) (map[string]item.Person, error)
	// CreateLeads creates a Lead per record (fields FirstName, LastName, Email,
	// and "Company"), in batches.
	CreateLeads(ctx context.Context, leads []item.Record) ([]Result, error)
	// LogEmail records a shared e-mail as a completed Task (TaskSubtype Email)
	// related to every person in whoIDs (TaskRelation) and to whatID (an
	// Account, "" for none), and returns the Task's ID. marker works as in Create.
	LogEmail(ctx context.Context, email item.Record, whoIDs []string, whatID, marker string) (string, error)
	// AttachFile uploads content as a File linked to parentID.
	AttachFile(ctx context.Context, parentID, name string, size int64, content io.Reader) (string, error)
}

// Mailbox is the mailbox side: a Side plus shared e-mails and issue flags.
type Mailbox interface {
	Side
	// SharedEmails reports messages to share into the CRM (in the share folder
	// or carrying the share category) since cursor, not yet marked shared.
	SharedEmails(ctx context.Context, scope item.Scope, cursor string) (item.Changes, error)
	// Attachments lists a message's attachments.
	Attachments(ctx context.Context, messageID string) ([]item.Attachment, error)
	// OpenAttachment streams one attachment's content.
	OpenAttachment(ctx context.Context, messageID, attachmentID string) (io.ReadCloser, error)
	// MarkShared marks a message as shared so it is never shared twice.
	MarkShared(ctx context.Context, messageID, crmID string) error
	// FlagIssue sets (or clears) the "Sync Error" category on an item.
	FlagIssue(ctx context.Context, kind item.Kind, id string, failing bool) error
}

// Prefetcher is an optional Side ability: read the change feeds of several
// kinds at once (Salesforce composite batch), so the Changes calls that follow
// cost no further API calls. Errors are not fatal; Changes then reads itself.
type Prefetcher interface {
	Prefetch(ctx context.Context, scopes []item.Scope, cursors []string) error
}

// Sides are one user's opened CRM and mailbox.
type Sides struct {
	CRM     CRM
	Mailbox Mailbox
}

// Opener opens a user's sides with the user's own credentials. A revoked or
// expired credential is a fault.Reconnect error.
type Opener interface {
	Open(ctx context.Context, user string) (Sides, error)
}

// CustomOpener is an optional Opener ability: opening sides that carry the
// user's custom field mappings (UserSettings.Custom).
type CustomOpener interface {
	OpenCustom(ctx context.Context, user string, custom map[item.Kind][]item.CustomField) (Sides, error)
}

// FieldChecker is an optional CRM ability: checking the custom fields of a
// kind against the CRM's schema before a session reads it. It takes out of
// the side the fields that cannot sync and returns why, by canonical name.
type FieldChecker interface {
	CheckFields(ctx context.Context, kind item.Kind) (map[string]string, error)
}

// CallReporter is an optional side ability: the number of API calls made so
// far, for the session report.
type CallReporter interface {
	Calls() int64
}

// UsageReporter is an optional CRM ability: the organisation's API usage and
// daily limit as the CRM last reported them, for the history page's calls
// per day against the limit.
type UsageReporter interface {
	Usage() (used, limit int)
}

// CallCounter keeps count of one user's API calls over a rolling window
// (Salesforce measures its daily allowance over the last 24 hours), so that a
// connector can keep each user under a share of the organisation's allowance.
// The organisation's own usage cannot say which user made the calls; only
// the callers can count them. A connector calls Used before and Add after
// every counted request, so a storage-backed counter should keep a local
// tally and persist it in batches.
type CallCounter interface {
	// Used returns the calls counted in the window up to now.
	Used(ctx context.Context, now time.Time) (int, error)
	// Add counts n calls made at now.
	Add(ctx context.Context, now time.Time, n int) error
}

// OrgReporter is an optional CRM ability: the organisation the user's CRM
// account belongs to (Salesforce's org id), so e-mails shared by colleagues
// in it are found across their mailboxes.
type OrgReporter interface {
	Org() string
}

// EmailRelater is an optional CRM ability: relating more people to the Task
// a shared e-mail already became.
type EmailRelater interface {
	RelateEmail(ctx context.Context, taskID string, whoIDs []string) error
}
