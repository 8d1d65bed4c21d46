package side

import (
	"time"

	"github.com/crmsync/crmsync/shared/item"
)

// Role is what a connector connects: the CRM or the mailbox.
type Role string

// The roles a connector plays in a sync.
const (
	CRMRole     Role = "crm"
	MailboxRole Role = "mailbox"
)

// Connector is one vendor's plug-in, the value its package exports: what
// generic packages (settings, the dashboard, account deletion) need to know
// of a side without naming its vendor. Only the wiring (functions/) and the
// demo (local/) pick connectors.
type Connector struct {
	// Provider is the id of the user's stored connection to the vendor
	// ("salesforce", "microsoft").
	Provider string
	// Name is the vendor's display name in messages and pages.
	Name string
	// Role says which side of a sync the connector is.
	Role Role
	// Custom checks this side's half of the user's custom field mappings
	// (nil: the side maps no custom fields).
	Custom CustomFields
	// Tables are the storage tables the connector keeps itself; account
	// deletion removes the user's rows from each.
	Tables []Table
	// Flows are the ways a user's connection gets its tokens, as stored
	// connections name them: "auth_code" (the user connects), and those an
	// admin sets up ("password", "jwt_bearer", "client_credentials").
	Flows []string
	// Budget is the vendor's API allowance as crmsync budgets it (zero:
	// the vendor has no allowance to budget).
	Budget Budget
	// Link is where a person opens one record or item of kind ("contact",
	// "task", "event", "lead", "email") in the vendor's own app, from the
	// connection's instance URL and the record's id; "" when the app has no
	// such link (nil: none at all).
	Link func(instanceURL, kind, id string) string
	// ShareCategory is the mailbox category that shares an item into this
	// CRM when the user chose none ("" = Name: "Salesforce").
	ShareCategory string
}

// DefaultShareCategory is the mailbox category that shares an item into
// the connector's CRM when the user chose none: ShareCategory, else Name
// ("" for the zero Connector, whose callers keep their own default).
func (c Connector) DefaultShareCategory() string {
	if c.ShareCategory != "" {
		return c.ShareCategory
	}
	return c.Name
}

// LinkTo is c.Link's answer, or "" when the connector has no links.
func (c Connector) LinkTo(instanceURL, kind, id string) string {
	if c.Link == nil || id == "" {
		return ""
	}
	return c.Link(instanceURL, kind, id)
}

// Budget is how a vendor measures its API allowance. The share of it one
// user may take is the connector opener's setting (salesforce.Opener.UserShare);
// the engine counts each user's calls over Window (session.Runner.TallyWindow,
// session.NewLeaseCounterOver).
type Budget struct {
	// Window is the rolling span the allowance is measured over
	// (Salesforce: the last 24 hours).
	Window time.Duration
}

// Table is a storage table a connector keeps.
type Table struct {
	Name string
	// PerUser says every row of a user has PartitionKey = the user id, so
	// deletion sweeps that partition; otherwise the connector's own deleter
	// (account.Deps.Forget) removes the user's rows.
	PerUser bool
	// Why says what the table holds and, if not PerUser, what deletes it.
	Why string
}

// CustomFields is what settings need of one side's custom fields.
type CustomFields interface {
	// Check says why field, this side's half of a custom mapping of kind,
	// cannot be used (nil: it can). The error's text is shown to the user.
	Check(kind item.Kind, field string) error
	// Offered lists the fields a mapping of kind may name when the side has
	// a fixed list (nil: any name Check accepts).
	Offered(kind item.Kind) []string
}
