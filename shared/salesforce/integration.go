package salesforce

import (
	"context"

	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/fault"
)

// Integration is a Salesforce organisation's integration connection as the
// change detector (shared/orgwatch) queries it: an integration user with
// "View All Data", authorised with the JWT bearer flow, whose queries see
// every user's records.
type Integration struct{ client *Client }

// OpenIntegration opens the integration connection c (a jwt_bearer
// connection an admin set up). One that is not usable — revoked, paused, of
// another flow — is a fault.Reconnect error naming why.
func (o *Opener) OpenIntegration(ctx context.Context, conns *connection.Store, c connection.Connection) (*Integration, error) {
	if c.Flow != connection.FlowJWTBearer {
		return nil, fault.New(fault.Reconnect, "integration_flow", "the organisation's integration connection is not a JWT bearer connection")
	}
	if !c.SyncAllowed() {
		return nil, fault.New(fault.Reconnect, "integration_"+string(c.Status), "the organisation's integration connection is "+string(c.Status))
	}
	if o.JWT == nil {
		return nil, fault.New(fault.Reconnect, "jwt_not_configured", "the integration connection needs the JWT bearer signing key, which is not configured")
	}
	cred, err := conns.Credentials(ctx, c.User, c.Provider)
	if err != nil {
		return nil, err
	}
	client, err := New(Options{Tokens: o.JWT(o.ctx(ctx), cred.Username), InstanceURL: c.InstanceURL,
		HTTPClient: o.HTTPClient, MaxShare: o.MaxShare, Logger: o.Log})
	if err != nil {
		return nil, err
	}
	return &Integration{client: client}, nil
}

// QueryAll runs soql over queryAll (deleted records too), fn seeing each row
// (orgwatch.Querier).
func (i *Integration) QueryAll(ctx context.Context, soql string, fn func(map[string]any) error) error {
	return i.client.QueryAll(ctx, soql, func(r Record) error { return fn(r) })
}

// Calls is the number of API calls the connection made.
func (i *Integration) Calls() int64 { return i.client.Calls() }
