// Package account keeps what crmsync knows about a user's account apart from
// sync state: their sync settings, their fingerprint key, their profile (org,
// e-mail, when created), admin provisioning of many users at once, and account
// deletion, which removes every row of the user in every table crmsync has
// (see Tables, the one list of them).
//
// Everything it stores is plain settings, identifiers or sealed values: never
// synced content, and never an e-mail address or a key in plaintext.
package account

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/access"
	"github.com/crmsync/crmsync/shared/side"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// Sealer seals small secrets at application level, binding each value to its
// tenant, user and purpose. The lead adapts shared/seal to it (see SealWith).
type Sealer interface {
	Seal(plaintext []byte, tenant, user, purpose string) (string, error)
	Open(sealed string, tenant, user, purpose string) ([]byte, error)
}

// Scheduler is what accounts need from shared/schedule: enrolment at
// provisioning, pausing until connected, removal at deletion, and the plan,
// which the schedule row holds ("" when the user is not enrolled).
type Scheduler interface {
	Enroll(ctx context.Context, user, plan string, first time.Time) error
	Plan(ctx context.Context, user string) (string, error)
	SetPaused(ctx context.Context, user string, paused bool) error
	Remove(ctx context.Context, user string) error
}

// Grants is what accounts need from shared/access's grant store.
type Grants interface {
	Add(ctx context.Context, actor access.Principal, g access.Grant) (bool, error)
	ListPrincipal(ctx context.Context, user string) ([]access.Grant, error)
	DeleteUser(ctx context.Context, actor access.Principal, org, user string) error
}

// Deleter removes everything one component keeps of a user. The owning
// packages implement it: connection.Store.Delete (which revokes the refresh
// tokens at the provider through its Revokers first), identity.Users.Delete,
// a connector's own (msgraph.Subscriptions.Forget).
type Deleter interface {
	Delete(ctx context.Context, user string) error
}

// DeleterFunc adapts a function to Deleter (a connector's Forget has another
// name).
type DeleterFunc func(ctx context.Context, user string) error

// Delete calls f.
func (f DeleterFunc) Delete(ctx context.Context, user string) error { return f(ctx, user) }

// Deps are an Accounts' collaborators. Tables, Sealer, Scheduler and Grants
// are required; Connections, Identities and Forget may be nil in tests
// that have none, but then Delete refuses to run (it must not leave rows).
type Deps struct {
	Tables    tablestore.Store
	Sealer    Sealer
	Scheduler Scheduler
	Grants    Grants
	// Connections deletes the user's connections, revoking their tokens at
	// the provider first (connection.Store).
	Connections Deleter
	// Identities deletes the user's identity rows (identity.Users).
	Identities Deleter
	// Forget removes what the connectors keep of the user in their own
	// tables that deletion cannot sweep by partition (the mailbox's push
	// subscriptions: msgraph.Subscriptions.Forget via DeleterFunc).
	Forget []Deleter
	// Unhook undo what the connectors hold at their providers for the user
	// and can only undo with the user's tokens (Calendar watch channels,
	// Gmail's users.watch, Graph subscriptions): Delete runs them before the
	// connections go, since that revokes the tokens. A failure is logged and
	// deletion goes on: what is left lapses at its expiry, and its
	// notifications name a user who no longer exists, which the push
	// handlers acknowledge and ignore.
	Unhook []Deleter
	// Directory answers OrgOf for users who signed in but were never
	// provisioned (identity.Users); Accounts.OrgOf asks it after the profiles.
	Directory access.Directory
	// CRM and Mailbox are the connectors of the two sides, whose custom
	// field checks settings pass (zero: no vendor checks).
	CRM, Mailbox side.Connector
	// Saved hear of each user's settings once stored (nil: nobody), for
	// what is kept elsewhere from them: the change detector's directory
	// keeps whether a list view scopes the user, so it is kept up to date
	// where the setting changes rather than checked after every session.
	Saved []SettingsListener
	Now   func() time.Time
	Log   *slog.Logger
}

// Accounts manages users' accounts. Construct with New.
type Accounts struct {
	d Deps
}

// New returns Accounts over d, or an error naming every missing required
// dependency.
func New(d Deps) (*Accounts, error) {
	var missing []string
	for _, dep := range []struct {
		name string
		ok   bool
	}{{"Tables", d.Tables != nil}, {"Sealer", d.Sealer != nil}, {"Scheduler", d.Scheduler != nil}, {"Grants", d.Grants != nil}} {
		if !dep.ok {
			missing = append(missing, dep.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("account: New needs %s", strings.Join(missing, ", "))
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	return &Accounts{d: d}, nil
}

// Errors are classified by what the caller does about them.
var (
	// ErrInvalid: bad input; the message names the problem (400).
	ErrInvalid = errors.New("account: invalid")
	// ErrNotFound: no such user or profile (404).
	ErrNotFound = errors.New("account: not found")
	// ErrBusy: a sync session of the user is running; try again shortly (409).
	ErrBusy = errors.New("account: a sync session is running")
	// ErrTaken: the e-mail address already belongs to a user of the org (409).
	ErrTaken = errors.New("account: address already belongs to a user of the org")
	// ErrConflict: someone else changed the row meanwhile; reload and retry (409).
	ErrConflict = errors.New("account: changed meanwhile")
)
