package orgwatch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// State is what an org admin is shown of an organisation's detector.
type State struct {
	// Known is false before the first poll.
	Known bool
	// Up: the last poll went through (false: the integration connection
	// failed and the users' scheduled sessions are what syncs them).
	Up bool
	// LastPoll is when a poll last went through; Covered is up to when it
	// saw changes (the last whole minute before it: see Poll).
	LastPoll, Covered time.Time
}

// Behind is how long a change made now could wait unseen as of now: the
// time since Covered (zero before the first poll).
func (s State) Behind(now time.Time) time.Duration {
	if s.Covered.IsZero() || now.Before(s.Covered) {
		return 0
	}
	return now.Sub(s.Covered)
}

// State reads org's detector state (one point read).
func (d *Detector) State(ctx context.Context, org string) (State, error) {
	e, err := d.Store.Get(ctx, Table, org, stateKey)
	if errors.Is(err, tablestore.ErrNotFound) {
		return State{}, nil
	}
	if err != nil {
		return State{}, err
	}
	var s State
	s.Known = true
	s.Up, _ = e.Properties["Up"].(bool)
	s.LastPoll, _ = e.Properties["LastPoll"].(time.Time)
	s.Covered, _ = e.Properties["Covered"].(time.Time)
	return s, nil
}

// OrgsOf lists the watched organisations a crmsync organisation's admin set
// up (one query of the short list of watched organisations).
func (x Index) OrgsOf(ctx context.Context, tenant string) ([]Org, error) {
	all, err := x.Orgs(ctx)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(o Org) bool { return o.Tenant != tenant }), nil
}

// CountUsers counts org's directory entries: the users whose changes the
// detector can attribute.
func (x Index) CountUsers(ctx context.Context, org string) (int, error) {
	n := 0
	q := tablestore.Query{PartitionKey: org}
	for {
		page, err := x.Store.Query(ctx, UsersTable, q)
		if err != nil {
			return 0, err
		}
		n += len(page.Entities)
		if page.Continuation == "" {
			return n, nil
		}
		q.Continuation = page.Continuation
	}
}

// ErrNotWatched: the organisation has no integration connection set up by
// that crmsync organisation.
var ErrNotWatched = errors.New("orgwatch: the organisation is not watched for this crmsync organisation")

// Remove takes org's integration connection away, for an admin of tenant:
// under the poll lease (ErrBusy while a poll runs), it stops polling, tells
// the Watcher every user of the organisation is back on their plan's
// interval (unless the detector was down already), deletes the watermarks
// and the sealed connection. The directory stays: it is the users', kept
// where their connection and settings change, and a new integration
// connection uses it at once.
func (in Integrations) Remove(ctx context.Context, d *Detector, tenant, org string, now time.Time) error {
	orgs, err := in.Index.OrgsOf(ctx, tenant)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(orgs, func(o Org) bool { return o.ID == org }) {
		return ErrNotWatched
	}
	release, err := in.Index.lease(ctx, org, now, 2*time.Minute)
	if err != nil {
		return err
	}
	defer release() // a no-op once the row is gone
	if err := in.Index.RemoveOrg(ctx, org); err != nil {
		return err
	}
	_, _, up, err := d.watermarks(ctx, org)
	if err != nil {
		return err
	}
	if up != nil && *up {
		users, err := d.everyone(ctx, org)
		if err != nil {
			return err
		}
		if err := d.setUp(ctx, org, false, up, users, now); err != nil {
			return err
		}
	}
	if err := d.forget(ctx, org); err != nil {
		return err
	}
	if err := in.Connections.Delete(ctx, IntegrationUser(org)); err != nil && !errors.Is(err, connection.ErrNotFound) {
		return fmt.Errorf("orgwatch: deleting the integration connection of %s: %w", org, err)
	}
	return nil
}

// everyone is org's users in the directory, sorted, each once.
func (d *Detector) everyone(ctx context.Context, org string) ([]string, error) {
	byOwner, anyUser, err := d.Directory.Users(ctx, org)
	if err != nil {
		return nil, err
	}
	users := slices.Clone(anyUser)
	for _, us := range byOwner {
		users = append(users, us...)
	}
	slices.Sort(users)
	return slices.Compact(users), nil
}

// forget deletes org's watermarks and state: a connection set up again
// starts from its first poll.
func (d *Detector) forget(ctx context.Context, org string) error {
	page, err := d.Store.Query(ctx, Table, tablestore.Query{PartitionKey: org})
	if err != nil {
		return err
	}
	var ops []tablestore.Op
	for _, e := range page.Entities {
		ops = append(ops, tablestore.Op{Kind: tablestore.OpDelete, Entity: tablestore.Entity{PartitionKey: org, RowKey: e.RowKey, ETag: "*"}})
	}
	_, err = d.Store.Batch(ctx, Table, ops)
	return err
}
