package c4c

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/side"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// Provider is the id of a user's stored connection to SAP Cloud for
// Customer. connection names only the providers it has always known; a
// connector's own id lives with the connector.
const Provider connection.Provider = "c4c"

// Connector is the SAP Cloud for Customer CRM connector. Its one flow is
// "password": an admin stores a communication user (Basic auth, SAP's usual
// integration setup) on the user's connection. Custom fields are not mapped.
var Connector = side.Connector{
	Provider: string(Provider),
	Name:     "SAP Cloud for Customer",
	// The category an Outlook user gives an item to share it into C4C: the
	// vendor's short name, as a category list shows it (not "Salesforce").
	ShareCategory: "SAP C4C",
	Role:          side.CRMRole,
	Flows:         []string{string(connection.FlowPassword), string(connection.FlowSAMLBearer)},
	Tables: []side.Table{{Name: KnownTable, PerUser: true,
		Why: "per user and kind, the ObjectIDs (and an ETag hash) of the C4C records the side reported, to find deletions C4C does not report"},
		{Name: EmployeeTable, PerUser: true,
			Why: "per user, the employee ID and business partner ID of the user's C4C employee, whose records the user syncs"}},
}

// Opener opens users' C4C sides from their stored connections: the
// connection's InstanceURL is the tenant, its sealed Username and Password
// the communication user and Tenant the tenant (myNNNNNN). It satisfies
// shared/sides.CRMOpener.
type Opener struct {
	// Tables holds the users' known-record sets (KnownTable).
	Tables tablestore.Store
	// HTTPClient carries every API call (nil = a default client); each side
	// gets its own cookie jar on a copy.
	HTTPClient *http.Client
	// Owner returns the business partner ID of a user's employee in C4C, so
	// the user's side syncs the records that employee owns (nil: every
	// record the communication user sees — one user per tenant).
	Owner func(ctx context.Context, user string) (string, error)
	// Email returns a user's e-mail address. When set (and Owner is not),
	// each user syncs only the records of their own C4C employee, found
	// by that address in EmployeeCollection and kept in EmployeeTable.
	Email func(ctx context.Context, user string) (string, error)
	// OrgOf names a user's organisation, whose SAML bearer setup
	// (SAMLSetupUser) opens the user's saml_bearer connection.
	OrgOf func(ctx context.Context, user string) (string, error)
	// Now is the clock of SAML assertions and of the sides' reconciliation
	// interval (nil = time.Now).
	Now func() time.Time
	// ReconcileEvery is how often deletions are looked for (0 = the side's
	// default, 5 minutes).
	ReconcileEvery time.Duration
	// Codes keeps each connection's code lists between sessions (nil: one
	// cache of the opener's own, made on first use).
	Codes *CodeCache
	Log   *slog.Logger

	codesOnce sync.Once
	bearers   sync.Map // user → *SAMLBearer, so sessions reuse tokens
}

// Connector is the connector Opener opens sides of.
func (o *Opener) Connector() side.Connector { return Connector }

// OpenCRM opens the CRM side of a usable connection c (shared/sides checks
// it). custom is refused when not empty: C4C custom fields are not mapped.
func (o *Opener) OpenCRM(ctx context.Context, conns *connection.Store, c connection.Connection, custom map[item.Kind][]item.CustomField) (side.CRM, error) {
	if o.Tables == nil {
		return nil, fault.New(fault.Permanent, "no_tables", "the C4C opener has no table store for its known-record sets")
	}
	if c.Flow != connection.FlowPassword && c.Flow != connection.FlowSAMLBearer {
		return nil, fault.New(fault.Reconnect, "flow", fmt.Sprintf("C4C connections use a communication user (flow password) or a SAML bearer assertion, not %q", c.Flow))
	}
	for _, fs := range custom {
		if len(fs) > 0 {
			return nil, fault.New(fault.Permanent, "custom_fields", "custom field mappings are not supported for SAP Cloud for Customer yet")
		}
	}
	client, err := o.client(ctx, conns, c)
	if err != nil {
		return nil, err
	}
	opts := SideOptions{ReconcileEvery: o.ReconcileEvery, Now: o.Now, Logger: o.Log, CodeCache: o.codeCache(), CodeKey: client.codeKey}
	switch {
	case o.Owner != nil:
		if opts.Owner, err = o.Owner(ctx, c.User); err != nil {
			return nil, err
		}
	case o.Email != nil:
		emp, err := o.employee(ctx, client, c.User)
		if err != nil {
			return nil, err
		}
		opts.Owner, opts.OwnerEmployee = emp.PartyID, emp.EmployeeID
	}
	opts.Known = TableKnown{Tables: o.Tables, User: c.User}
	return NewSide(client, opts), nil
}

// codeCache is o.Codes, made on first use.
func (o *Opener) codeCache() *CodeCache {
	o.codesOnce.Do(func() {
		if o.Codes == nil {
			o.Codes = &CodeCache{}
		}
	})
	return o.Codes
}

// client returns a client of connection c: the communication user's Basic
// auth, or the organisation's SAML bearer setup for the user named in it.
func (o *Opener) client(ctx context.Context, conns *connection.Store, c connection.Connection) (*Client, error) {
	cred, err := conns.Credentials(ctx, c.User, c.Provider)
	if err != nil {
		return nil, err
	}
	opts := Options{Host: c.InstanceURL, User: cred.Username, Password: cred.Password, HTTPClient: o.HTTPClient, Logger: o.Log}
	if c.Flow == connection.FlowSAMLBearer {
		if opts.SAML, err = o.samlBearer(ctx, conns, c.User, cred.Username); err != nil {
			return nil, err
		}
		opts.User, opts.Password = "", ""
	}
	client, err := New(opts)
	if err != nil {
		return nil, fault.Wrap(fault.Reconnect, err)
	}
	client.codeKey = c.InstanceURL + "|" + cred.Username
	return client, nil
}

// samlBearer returns the token source of a user's saml_bearer connection,
// the one of the last session while the organisation's setup is the same.
func (o *Opener) samlBearer(ctx context.Context, conns *connection.Store, user, nameID string) (*SAMLBearer, error) {
	if o.OrgOf == nil {
		return nil, fault.New(fault.Permanent, "no_org_of", "the C4C opener cannot find users' organisations for SAML bearer connections")
	}
	org, err := o.OrgOf(ctx, user)
	if err != nil {
		return nil, err
	}
	fresh, err := LoadSAMLSetup(ctx, conns, org, nameID)
	if err != nil {
		return nil, err
	}
	fresh.HTTPClient, fresh.Now = o.HTTPClient, o.Now
	if v, ok := o.bearers.Load(user); ok {
		if old := v.(*SAMLBearer); old.Host == fresh.Host && old.ClientID == fresh.ClientID && old.ClientSecret == fresh.ClientSecret &&
			old.Issuer == fresh.Issuer && old.NameID == nameID && old.Key.Equal(fresh.Key) {
			return old, nil
		}
	}
	o.bearers.Store(user, fresh)
	return fresh, nil
}
