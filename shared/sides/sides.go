// Package sides opens a user's CRM and mailbox for a sync session, with the
// user's own credentials from their stored connections, so the CRM's sharing
// rules and the mailbox's permissions hold for everything crmsync does. It
// works over the two connectors' openers it is given and names no vendor.
package sides

import (
	"context"
	"errors"
	"fmt"

	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/side"
)

var _ side.CustomOpener = (*Opener)(nil)

// CRMOpener opens the CRM side of a user's usable connection
// (salesforce.Opener).
type CRMOpener interface {
	// Connector names the connector, whose Provider is the connection's.
	Connector() side.Connector
	OpenCRM(ctx context.Context, conns *connection.Store, c connection.Connection, custom map[item.Kind][]item.CustomField) (side.CRM, error)
}

// MailboxOpener opens the mailbox side of a user's usable connection
// (msgraph.Opener).
type MailboxOpener interface {
	Connector() side.Connector
	OpenMailbox(ctx context.Context, conns *connection.Store, c connection.Connection, custom map[item.Kind][]item.CustomField) (side.Mailbox, error)
}

// Opener implements side.Opener over stored connections.
type Opener struct {
	Connections *connection.Store
	// CRM and Mailbox open the two sides from the user's connections.
	CRM     CRMOpener
	Mailbox MailboxOpener
}

// Open implements side.Opener. A connection that is missing, paused or
// needs reconnecting is a fault.Reconnect error naming the provider.
func (o *Opener) Open(ctx context.Context, user string) (side.Sides, error) {
	return o.OpenCustom(ctx, user, nil)
}

// OpenCustom implements side.CustomOpener: Open, with the user's custom
// field mappings added to both sides.
func (o *Opener) OpenCustom(ctx context.Context, user string, custom map[item.Kind][]item.CustomField) (side.Sides, error) {
	crm, err := o.OpenCRM(ctx, user, custom)
	if err != nil {
		return side.Sides{}, err
	}
	mbx, err := o.OpenMailbox(ctx, user, custom)
	if err != nil {
		return side.Sides{}, err
	}
	return side.Sides{CRM: crm, Mailbox: mbx}, nil
}

// OpenCRM opens the user's CRM alone.
func (o *Opener) OpenCRM(ctx context.Context, user string, custom map[item.Kind][]item.CustomField) (side.CRM, error) {
	if o.CRM == nil {
		return nil, errors.New("sides: no CRM connector configured")
	}
	c, err := o.Usable(ctx, user, o.CRM.Connector().Provider)
	if err != nil {
		return nil, err
	}
	return o.CRM.OpenCRM(ctx, o.Connections, c, custom)
}

// OpenMailbox opens the user's mailbox alone.
func (o *Opener) OpenMailbox(ctx context.Context, user string, custom map[item.Kind][]item.CustomField) (side.Mailbox, error) {
	if o.Mailbox == nil {
		return nil, errors.New("sides: no mailbox connector configured")
	}
	c, err := o.Usable(ctx, user, o.Mailbox.Connector().Provider)
	if err != nil {
		return nil, err
	}
	return o.Mailbox.OpenMailbox(ctx, o.Connections, c, custom)
}

// Usable returns the user's connection to provider when sync may use it; a
// connection that is missing, paused or needs reconnecting is a
// fault.Reconnect error naming the provider.
func (o *Opener) Usable(ctx context.Context, user, provider string) (connection.Connection, error) {
	p := connection.Provider(provider)
	c, err := o.Connections.Get(ctx, user, p)
	if errors.Is(err, connection.ErrNotFound) {
		return c, fault.New(fault.Reconnect, "not_connected", fmt.Sprintf("no %s connection", p))
	}
	if err != nil {
		return c, err
	}
	if !c.SyncAllowed() {
		return c, fault.New(fault.Reconnect, string(c.Status), fmt.Sprintf("the %s connection is %s", p, c.Status))
	}
	return c, nil
}
