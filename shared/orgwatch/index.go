package orgwatch

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// UsersTable is the directory: PartitionKey = Salesforce organisation id,
// RowKey = crmsync user id, with the user's Salesforce user id (Owner) and
// whether their scope is a list view (Any). One partition per organisation,
// so a poll reads its own organisation's users and nobody else's.
const UsersTable = "orgwatchusers"

// OrgsTable lists the organisations with an integration connection:
// PartitionKey = orgsPartition, RowKey = Salesforce organisation id, with the
// crmsync organisation whose admin set it up and the poll lease.
const OrgsTable = "orgwatchorgs"

const orgsPartition = "org"

// IntegrationUser is the key the organisation's integration connection is
// stored under in the connections table (in place of a crmsync user id):
// sealed like every other connection, and found without a lookup.
func IntegrationUser(org string) string { return "~orgwatch~" + org }

// Index is the detector's directory and its list of organisations, in the
// table store. It implements Directory.
type Index struct {
	Store tablestore.Store
}

var _ Directory = Index{}

// Note records that user's Salesforce records are owned by owner (their
// Salesforce user id) in org, and whether their scope is a list view. It
// reads the user's row and writes only when something changed, so it may be
// called after every session. A user moving to another org leaves their old
// row behind only until Forget; see Forget.
func (x Index) Note(ctx context.Context, org, user, owner string, anyScope bool) error {
	if org == "" || user == "" || owner == "" {
		return fmt.Errorf("orgwatch: directory entry needs an org, a user and an owner (got %q, %q, %q)", org, user, owner)
	}
	e, err := x.Store.Get(ctx, UsersTable, org, user)
	switch {
	case err == nil:
		if o, _ := e.Properties["Owner"].(string); o == owner {
			if a, _ := e.Properties["Any"].(bool); a == anyScope {
				return nil
			}
		}
	case !errors.Is(err, tablestore.ErrNotFound):
		return err
	}
	_, err = x.Store.Upsert(ctx, UsersTable, tablestore.Entity{PartitionKey: org, RowKey: user,
		Properties: map[string]any{"Owner": owner, "Any": anyScope}})
	return err
}

// Forget removes user from org's directory (no error when absent).
func (x Index) Forget(ctx context.Context, org, user string) error {
	err := x.Store.Delete(ctx, UsersTable, org, user, "*")
	if errors.Is(err, tablestore.ErrNotFound) {
		return nil
	}
	return err
}

// Users reads org's partition of the directory (Directory).
func (x Index) Users(ctx context.Context, org string) (map[string][]string, []string, error) {
	byOwner := map[string][]string{}
	var anyUsers []string
	q := tablestore.Query{PartitionKey: org}
	for {
		page, err := x.Store.Query(ctx, UsersTable, q)
		if err != nil {
			return nil, nil, err
		}
		for _, e := range page.Entities {
			if a, _ := e.Properties["Any"].(bool); a {
				anyUsers = append(anyUsers, e.RowKey)
				continue
			}
			if o, _ := e.Properties["Owner"].(string); o != "" {
				byOwner[o] = append(byOwner[o], e.RowKey)
			}
		}
		if page.Continuation == "" {
			return byOwner, anyUsers, nil
		}
		q.Continuation = page.Continuation
	}
}

// Org is one organisation the detector watches.
type Org struct {
	// ID is the Salesforce organisation id.
	ID string
	// Tenant is the crmsync organisation whose admin set the connection up.
	Tenant string
}

// AddOrg lists org for polling (idempotent; the lease is kept).
func (x Index) AddOrg(ctx context.Context, org Org) error {
	if org.ID == "" {
		return errors.New("orgwatch: organisation id is empty")
	}
	_, err := x.Store.Batch(ctx, OrgsTable, []tablestore.Op{{Kind: tablestore.OpMerge,
		Entity: tablestore.Entity{PartitionKey: orgsPartition, RowKey: org.ID, Properties: map[string]any{"Tenant": org.Tenant}}}})
	return err
}

// RemoveOrg stops polling org (no error when absent).
func (x Index) RemoveOrg(ctx context.Context, org string) error {
	err := x.Store.Delete(ctx, OrgsTable, orgsPartition, org, "*")
	if errors.Is(err, tablestore.ErrNotFound) {
		return nil
	}
	return err
}

// Orgs lists the watched organisations.
func (x Index) Orgs(ctx context.Context) ([]Org, error) {
	var out []Org
	q := tablestore.Query{PartitionKey: orgsPartition}
	for {
		page, err := x.Store.Query(ctx, OrgsTable, q)
		if err != nil {
			return nil, err
		}
		for _, e := range page.Entities {
			t, _ := e.Properties["Tenant"].(string)
			out = append(out, Org{ID: e.RowKey, Tenant: t})
		}
		if page.Continuation == "" {
			return out, nil
		}
		q.Continuation = page.Continuation
	}
}

// ErrBusy: another poll of the organisation holds its lease.
var ErrBusy = errors.New("orgwatch: another poll of this organisation is running")

// lease takes org's poll lease until now+ttl with a conditional write (the
// row's ETag): two instances reading the same free lease cannot both take
// it. The returned release frees it if still held.
func (x Index) lease(ctx context.Context, org string, now time.Time, ttl time.Duration) (release func(), err error) {
	e, err := x.Store.Get(ctx, OrgsTable, orgsPartition, org)
	if err != nil {
		return nil, err
	}
	if until, ok := e.Properties["LeaseUntil"].(time.Time); ok && until.After(now) {
		return nil, ErrBusy
	}
	props := map[string]any{}
	for k, v := range e.Properties {
		props[k] = v
	}
	props["LeaseUntil"] = now.Add(ttl).UTC()
	e.Properties = props
	etag, err := x.Store.Update(ctx, OrgsTable, e, e.ETag)
	if errors.Is(err, tablestore.ErrPrecondition) {
		return nil, ErrBusy
	}
	if err != nil {
		return nil, err
	}
	return func() {
		free := e
		free.Properties = map[string]any{}
		for k, v := range props {
			if k != "LeaseUntil" {
				free.Properties[k] = v
			}
		}
		// Conditional: a lease that expired and was taken over stays with
		// its new holder.
		_, _ = x.Store.Update(context.WithoutCancel(ctx), OrgsTable, free, etag)
	}, nil
}

// Integrations stores organisations' integration connections: sealed in the
// connections table under IntegrationUser, and listed in the Index.
type Integrations struct {
	Index       Index
	Connections *connection.Store
}

// Register saves org's integration connection c (its Tenant is the
// Salesforce organisation) with cred, set up by an admin of the crmsync
// organisation tenant, and lists the organisation for polling. A
// connection already there is replaced (a new integration user).
func (in Integrations) Register(ctx context.Context, tenant string, c connection.Connection, cred connection.Credentials) (connection.Connection, error) {
	if c.Tenant == "" {
		return connection.Connection{}, errors.New("orgwatch: the integration connection names no organisation")
	}
	c.User = IntegrationUser(c.Tenant)
	saved, err := in.Connections.Save(ctx, c, cred)
	if err != nil {
		return connection.Connection{}, err
	}
	return saved, in.Index.AddOrg(ctx, Org{ID: c.Tenant, Tenant: tenant})
}

// ForgetUser removes user from every organisation's directory, for an
// account's deletion (when its connection, which names the organisation,
// may be gone already). It scans the table by RowKey: deletions are rare.
func (x Index) ForgetUser(ctx context.Context, user string) error {
	// No key holds a control character: [user, user+" ") is user alone.
	q := tablestore.Query{RowKeyFrom: user, RowKeyTo: user + " "}
	for {
		page, err := x.Store.Query(ctx, UsersTable, q)
		if err != nil {
			return err
		}
		for _, e := range page.Entities {
			if e.RowKey == user {
				if err := x.Forget(ctx, e.PartitionKey, user); err != nil {
					return err
				}
			}
		}
		if page.Continuation == "" {
			return nil
		}
		q.Continuation = page.Continuation
	}
}

// Owner returns user's Salesforce user id in org's directory (ok false when
// the user is not in it).
func (x Index) Owner(ctx context.Context, org, user string) (string, bool, error) {
	o, _, ok, err := x.Entry(ctx, org, user)
	return o, ok, err
}

// Entry returns user's entry in org's directory: their Salesforce user id
// and whether a list view scopes them (ok false when absent).
func (x Index) Entry(ctx context.Context, org, user string) (owner string, anyScope, ok bool, err error) {
	e, err := x.Store.Get(ctx, UsersTable, org, user)
	if errors.Is(err, tablestore.ErrNotFound) {
		return "", false, false, nil
	}
	if err != nil {
		return "", false, false, err
	}
	owner, _ = e.Properties["Owner"].(string)
	anyScope, _ = e.Properties["Any"].(bool)
	return owner, anyScope, owner != "", nil
}
