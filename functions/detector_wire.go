package main

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/crmsync/crmsync/shared/account"
	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/dashboard"
	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/orgwatch"
	"github.com/crmsync/crmsync/shared/settings"
	"github.com/crmsync/crmsync/shared/tablestore"
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

// The directory is kept where its inputs change, not checked after every
// session (which cost three point reads a session, for every user, in
// organisations with no detector too):
//   - a Salesforce connection made: onConnected → noteOwner(force) reads
//     the user's Salesforce user id once;
//   - settings saved: settingsSaved, an account.SettingsListener, updates
//     whether a list view scopes the user, only when that changed;
//   - users with no entry yet (connected before the detector shipped, or
//     whose entry failed to be written at connect time): the integration
//     connection's set-up backfills its organisation's members (see
//     integrationRegistrar), once per set-up, where an admin acts and waits
//     — not in the detector's poll, which runs every minute and would pay
//     for it on every tick.

// noteOwner records user's Salesforce user id (the OwnerId of their
// records) in their organisation's directory partition, with whether a list
// view scopes their contacts (then any change of the organisation concerns
// them). With force false a user already in the directory costs three
// point reads (connection, settings, entry) and no Salesforce call; force
// (a connection made) reads the id from Salesforce again.
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
// mailbox's push subscriptions. The detector's directory is not touched
// here (see above): a session costs it no read.
func (a *app) afterSession(ctx context.Context, user string) error {
	return a.ensureSubscriptions(ctx, user)
}

// settingsSaved keeps the user's directory entry when their contact scope
// changes between their own records and a list view (account's settings
// listener). Any other change costs nothing; a scope change costs the
// connection and the entry (two point reads), and a Salesforce call only
// for a user not in the directory yet.
func (a *app) settingsSaved(ctx context.Context, user string, before, after account.Settings) error {
	if (before.ContactListView != "") == (after.ContactListView != "") {
		return nil
	}
	c, err := a.conns.Get(ctx, user, connection.Salesforce)
	if errors.Is(err, connection.ErrNotFound) {
		return nil // noted when they connect
	}
	if err != nil || !c.SyncAllowed() || c.Tenant == "" {
		return err
	}
	idx := orgwatch.Index{Store: a.store}
	owner, _, ok, err := idx.Entry(ctx, c.Tenant, user)
	if err != nil {
		return err
	}
	if !ok {
		return a.noteOwner(ctx, user, true)
	}
	return idx.Note(ctx, c.Tenant, user, owner, after.ContactListView != "")
}

// integrationRegistrar saves an organisation's integration connection
// (orgwatch.Integrations, connect's admin route), then backfills the
// directory: each member of the admin's crmsync organisation connected to
// that Salesforce organisation without an entry gets one. A member already
// in it costs two point reads; one missing costs a Salesforce call. A
// failure there is logged, not the set-up's: the connection is saved, and
// setting it up again (Replace) backfills again.
type integrationRegistrar struct{ a *app }

func (r integrationRegistrar) Register(ctx context.Context, tenant string, c connection.Connection, cred connection.Credentials) (connection.Connection, error) {
	saved, err := r.a.integrations().Register(ctx, tenant, c, cred)
	if err != nil {
		return saved, err
	}
	added, err := r.a.backfillDirectory(ctx, tenant, saved.Tenant)
	if err != nil {
		r.a.log.WarnContext(ctx, "change detector directory not backfilled", "org", tenant, "salesforceOrg", saved.Tenant, "added", added, "err", err)
	} else if added > 0 {
		r.a.log.InfoContext(ctx, "change detector directory backfilled", "org", tenant, "salesforceOrg", saved.Tenant, "added", added)
	}
	return saved, nil
}

// backfillDirectory notes the owner of each member of tenant connected to
// the Salesforce organisation sfOrg who has no directory entry; it returns
// how many it added. Members are looked at eight at a time: it runs in the
// admin's request, and a 10,000-member organisation is 20,000 point reads.
func (a *app) backfillDirectory(ctx context.Context, tenant, sfOrg string) (int, error) {
	members, err := a.accounts.Members(ctx, tenant)
	if err != nil {
		return 0, err
	}
	idx := orgwatch.Index{Store: a.store}
	var (
		mu    sync.Mutex
		added int
		errs  []error
		wg    sync.WaitGroup
	)
	one := func(user string) (bool, error) {
		c, err := a.conns.Get(ctx, user, connection.Salesforce)
		if errors.Is(err, connection.ErrNotFound) {
			return false, nil
		}
		if err != nil || c.Tenant != sfOrg || !c.SyncAllowed() {
			return false, err
		}
		if _, _, ok, err := idx.Entry(ctx, sfOrg, user); err != nil || ok {
			return false, err
		}
		return true, a.noteOwner(ctx, user, true)
	}
	slots := make(chan struct{}, 8)
	for _, m := range members {
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			noted, err := one(m.User)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			} else if noted {
				added++
			}
		}()
	}
	wg.Wait()
	return added, errors.Join(errs...)
}

// storeWrap, when a test sets it, wraps the wired app's table store (to
// count its reads); nil in the service.
var storeWrap func(tablestore.Store) tablestore.Store

// integrationPage is the dashboard's change detection page's view of the
// integration connections (nil when the deployment has no JWT bearer key,
// so no integration connection can be set up, or the CRM is not
// Salesforce).
func (a *app) integrationPage() dashboard.Integrations {
	if a.crm == nil || a.crm.JWT == nil || a.settings.CRM == settings.CRMC4C {
		return nil
	}
	return integrationView{a}
}

type integrationView struct{ a *app }

func (v integrationView) Integrations(ctx context.Context, tenant string) ([]dashboard.Integration, error) {
	idx := orgwatch.Index{Store: v.a.store}
	orgs, err := idx.OrgsOf(ctx, tenant)
	if err != nil {
		return nil, err
	}
	det := v.a.detectorRunner().Detector
	now := v.a.now()
	out := []dashboard.Integration{}
	for _, o := range orgs {
		in := dashboard.Integration{CRMOrg: o.ID}
		c, err := v.a.conns.Get(ctx, orgwatch.IntegrationUser(o.ID), connection.Salesforce)
		switch {
		case errors.Is(err, connection.ErrNotFound):
			in.Status, in.StatusReason = connection.NeedsReconnect, "the connection is gone"
		case err != nil:
			return nil, err
		default:
			in.Status, in.StatusReason, in.Updated = c.Status, c.StatusReason, c.Updated
		}
		st, err := det.State(ctx, o.ID)
		if err != nil {
			return nil, err
		}
		in.Polled, in.Up, in.LastPoll, in.Behind = !st.LastPoll.IsZero(), st.Up, st.LastPoll, st.Behind(now)
		if in.Users, err = idx.CountUsers(ctx, o.ID); err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, nil
}

func (v integrationView) RemoveIntegration(ctx context.Context, tenant, sfOrg string) error {
	err := v.a.integrations().Remove(ctx, v.a.detectorRunner().Detector, tenant, sfOrg, v.a.now())
	switch {
	case errors.Is(err, orgwatch.ErrBusy):
		return fmt.Errorf("%w: %w", dashboard.ErrIntegrationBusy, err)
	case errors.Is(err, orgwatch.ErrNotWatched):
		return fmt.Errorf("%w: %w", dashboard.ErrNoIntegration, err)
	case err == nil:
		v.a.log.InfoContext(ctx, "integration connection removed", "org", tenant, "salesforceOrg", sfOrg)
	}
	return err
}

// IntegrationNeeds: what Salesforce's JWT bearer flow and the detector's
// queries need of the integration user (README, "Change detector").
func (integrationView) IntegrationNeeds() []string {
	return []string{
		"the API Enabled and View All Data permissions (from its profile or a permission set), so one query sees every user's records;",
		"to be pre-authorized for crmsync's app in Salesforce: in the app's policies, Permitted Users is “Admin approved users are pre-authorized”, and the user's profile or permission set is added to the app;",
		"crmsync's app in Salesforce to hold the certificate of this deployment's signing key (CRMSYNC_SALESFORCE_JWT_KEY), with Use digital signatures on.",
	}
}
