package connection

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/seal"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// Property names of a connection row. The sealed ones hold seal output only.
const (
	propProvider     = "Provider"
	propTenant       = "Tenant"
	propInstanceURL  = "InstanceURL"
	propFlow         = "Flow"
	propScopes       = "Scopes"
	propStatus       = "Status"
	propStatusReason = "StatusReason"
	propUpdated      = "Updated"

	sealedRefreshToken = "RefreshToken"
	sealedUsername     = "Username"
	sealedPassword     = "Password"
)

// sealedProps lists every property that holds a sealed value.
var sealedProps = []string{sealedRefreshToken, sealedUsername, sealedPassword}

// adFor binds a sealed property to its row: tenant, user, provider and the
// property's own name. A value copied to another row or column fails to open.
func adFor(e tablestore.Entity, prop string) seal.AssociatedData {
	tenant, _ := e.Properties[propTenant].(string)
	return seal.AssociatedData{Tenant: tenant, User: e.PartitionKey, Provider: e.RowKey, Purpose: prop}
}

// entity builds a row for c, sealing the non-empty credentials.
func (s *Store) entity(ctx context.Context, c Connection, cred Credentials) (tablestore.Entity, error) {
	e := withConnection(tablestore.Entity{PartitionKey: c.User, RowKey: string(c.Provider), Properties: map[string]any{}}, c)
	for prop, value := range map[string]string{sealedRefreshToken: cred.RefreshToken, sealedUsername: cred.Username, sealedPassword: cred.Password} {
		if value == "" {
			continue
		}
		sealed, err := seal.Seal(ctx, s.keys, []byte(value), adFor(e, prop))
		if err != nil {
			return tablestore.Entity{}, fmt.Errorf("connection: sealing %s of user %s: %w", prop, c.User, err)
		}
		e.Properties[prop] = sealed
	}
	return e, nil
}

// withConnection returns a copy of e with c's plain fields; sealed
// properties are kept as they are.
func withConnection(e tablestore.Entity, c Connection) tablestore.Entity {
	props := maps.Clone(e.Properties)
	if props == nil {
		props = map[string]any{}
	}
	props[propProvider] = string(c.Provider)
	props[propTenant] = c.Tenant
	props[propInstanceURL] = c.InstanceURL
	props[propFlow] = string(c.Flow)
	props[propScopes] = strings.Join(c.Scopes, " ")
	props[propStatus] = string(c.Status)
	props[propStatusReason] = c.StatusReason
	props[propUpdated] = c.Updated.UTC()
	e.Properties = props
	return e
}

func fromEntity(e tablestore.Entity) Connection {
	str := func(k string) string { s, _ := e.Properties[k].(string); return s }
	c := Connection{
		User:         e.PartitionKey,
		Provider:     Provider(e.RowKey),
		Tenant:       str(propTenant),
		InstanceURL:  str(propInstanceURL),
		Flow:         Flow(str(propFlow)),
		Scopes:       strings.Fields(str(propScopes)),
		Status:       Status(str(propStatus)),
		StatusReason: str(propStatusReason),
	}
	if t, ok := e.Properties[propUpdated].(time.Time); ok {
		c.Updated = t
	}
	return c
}

// open unseals the credentials of a row.
func (s *Store) open(ctx context.Context, e tablestore.Entity) (Credentials, error) {
	var cred Credentials
	for _, prop := range sealedProps {
		sealed, _ := e.Properties[prop].(string)
		if sealed == "" {
			continue
		}
		pt, err := seal.Open(ctx, s.keys, sealed, adFor(e, prop))
		if err != nil {
			return Credentials{}, fmt.Errorf("connection: opening %s of user %s, %s: %w", prop, e.PartitionKey, e.RowKey, err)
		}
		switch prop {
		case sealedRefreshToken:
			cred.RefreshToken = string(pt)
		case sealedUsername:
			cred.Username = string(pt)
		case sealedPassword:
			cred.Password = string(pt)
		}
	}
	return cred, nil
}
