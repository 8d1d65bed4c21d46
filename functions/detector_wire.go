package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/orgwatch"
)

// The organisation-level Salesforce change detector's wiring: its timer's
// runner, the integration connections it queries through, and the directory
// of users' Salesforce user ids it finds owners in.

// detectorRunner is the detector's timer: every watched organisation, eight
// at a time, each under its lease.
func (a *app) detectorRunner() *orgwatch.Runner {
	idx := orgwatch.Index{Store: a.store}
	return &orgwatch.Runner{
		Detector: &orgwatch.Detector{Store: a.store, Directory: idx, Requester: a.sched, Watcher: a.sched,
			Log: a.log.With("function", "detector")},
		Index:  idx,
		Opener: integrationOpener{a},
	}
}

// integrations keeps the integration connections an org admin sets up
// (connect's admin route).
func (a *app) integrations() orgwatch.Integrations {
	return orgwatch.Integrations{Index: orgwatch.Index{Store: a.store}, Connections: a.conns}
}

// integrationOpener opens an organisation's integration connection; one
// that Salesforce refuses is marked needs-reconnect for the admin to see,
// and stays down until an admin sets it up again.
type integrationOpener struct{ a *app }

func (o integrationOpener) Integration(ctx context.Context, org string) (orgwatch.Querier, error) {
	key := orgwatch.IntegrationUser(org)
	c, err := o.a.conns.Get(ctx, key, connection.Salesforce)
	if errors.Is(err, connection.ErrNotFound) {
		return nil, fault.New(fault.Reconnect, "no_integration", "the organisation has no integration connection")
	}
	if err != nil {
		return nil, err
	}
	q, err := o.a.crm.OpenIntegration(ctx, o.a.conns, c)
	if err != nil {
		return nil, err
	}
	return markRefused{q: q, conns: o.a.conns, user: key}, nil
}

// markRefused marks the integration connection needs-reconnect when a query
// fails for a reason only an admin can fix.
type markRefused struct {
	q     orgwatch.Querier
	conns *connection.Store
	user  string
}

func (m markRefused) QueryAll(ctx context.Context, soql string, fn func(map[string]any) error) error {
	err := m.q.QueryAll(ctx, soql, fn)
	if fault.Is(err, fault.Reconnect) {
		if merr := m.conns.MarkNeedsReconnect(ctx, m.user, connection.Salesforce, "Salesforce refused the integration connection"); merr != nil {
			return errors.Join(err, merr)
		}
	}
	return err
}

// noteOwner records user's Salesforce user id (the OwnerId of their
// records) in their organisation's directory partition, with whether a list
// view scopes their contacts (then any change of the organisation concerns
// them). With force false (after a session) a user already in the
// directory costs three point reads (connection, settings, entry) and no
// Salesforce call; force (a connection made) reads the id from Salesforce
// again.
func (a *app) noteOwner(ctx context.Context, user string, force bool) error {
	c, err := a.conns.Get(ctx, user, connection.Salesforce)
	if errors.Is(err, connection.ErrNotFound) {
		return nil
	}
	if err != nil || !c.SyncAllowed() || c.Tenant == "" {
		return err
	}
	s, err := a.accounts.Settings(ctx, user)
	if err != nil {
		return err
	}
	anyScope := s.ContactListView != ""
	idx := orgwatch.Index{Store: a.store}
	if !force {
		owner, was, ok, err := idx.Entry(ctx, c.Tenant, user)
		switch {
		case err != nil:
			return err
		case ok && was == anyScope:
			return nil
		case ok:
			return idx.Note(ctx, c.Tenant, user, owner, anyScope)
		}
	}
	side, err := a.crm.OpenSide(ctx, a.conns, c)
	if err != nil {
		return err
	}
	owner, err := side.Client().UserID()
	if err != nil {
		return fmt.Errorf("the Salesforce user id of %s: %w", user, err)
	}
	return idx.Note(ctx, c.Tenant, user, owner, anyScope)
}

// afterSession runs after each session that reached both sides: the
// mailbox's push subscriptions, and the user's directory entry.
func (a *app) afterSession(ctx context.Context, user string) error {
	return errors.Join(a.ensureSubscriptions(ctx, user), a.noteOwner(ctx, user, false))
}
