package account

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/crmsync/crmsync/shared/access"
	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/identity"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/schedule"
	"github.com/crmsync/crmsync/shared/session"
	"github.com/crmsync/crmsync/shared/side"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// Sweep says how account deletion finds a user's rows in one table.
type Sweep string

const (
	// UserPartition: every row of the user has PartitionKey = user id.
	UserPartition Sweep = "user-partition"
	// UserKindPartitions: the user's rows are in partitions user+"|"+kind,
	// one per item.Kinds (session links).
	UserKindPartitions Sweep = "user-kind-partitions"
	// Owner: the owning package's delete function removes them (its keys
	// are its own business: shards, hashes, org partitions).
	Owner Sweep = "owner"
	// NoUserData: the table holds no row that names a user.
	NoUserData Sweep = "no-user-data"
	// Tracking: e-mail open tracking's layout (shared/tracking exports no
	// per-user delete yet): the user's partition "u|"+user lists their
	// tokens; each token's row and its open events go, then the partition.
	Tracking Sweep = "tracking"
)

// Table is one table crmsync has, and how account deletion treats it.
type Table struct {
	Name  string
	Sweep Sweep
	// Why explains Owner and NoUserData entries.
	Why string
}

// Tables is the one list of every table crmsync has with the given
// connectors: the engine's and the service's own, then each connector's
// (side.Connector.Tables). A test parses the code base for table-name
// constants and fails when one is missing here, so a new table cannot be
// forgotten by account deletion.
func Tables(connectors ...side.Connector) []Table {
	tables := []Table{
		{Name: session.LinksTable, Sweep: UserKindPartitions},
		{Name: session.CursorsTable, Sweep: UserPartition},
		{Name: session.IntentsTable, Sweep: UserPartition},
		{Name: session.IssuesTable, Sweep: UserPartition},
		{Name: session.SessionsTable, Sweep: UserPartition},
		{Name: session.LeaseTable, Sweep: UserPartition, Why: "swept last: deletion holds the lease meanwhile so no session starts"},
		{Name: SettingsTable, Sweep: UserPartition, Why: "settings and the sealed fingerprint key"},
		{Name: schedule.Table, Sweep: Owner, Why: "Scheduler.Remove: the rows live in hash shards"},
		{Name: connection.Table, Sweep: Owner, Why: "connection.Store.Delete revokes each refresh token at its provider, then deletes"},
		{Name: access.GrantsTable, Sweep: Owner, Why: "access.Store.DeleteUser: org partitions"},
		{Name: access.GrantIndexTable, Sweep: Owner, Why: "access.Store.DeleteUser"},
		{Name: identity.UsersTable, Sweep: Owner, Why: "identity.Users.Delete: the user row and the hashed identity link"},
		{Name: ProfilesTable, Sweep: Owner, Why: "this package: profile, org member row, invite row"},
		{Name: "addinshares", Sweep: UserPartition, Why: "addin.SharesTable: messages shared from the add-in, PartitionKey user"},
		{Name: "addinlayouts", Sweep: UserPartition, Why: "addin.LayoutsTable: the user's own task-pane layout, PartitionKey user; " +
			"the organisation's default and shared copies name objects and fields, no user"},
		{Name: trackingTable, Sweep: Tracking, Why: "tracking.TokensTable: token rows and the user's partition"},
		{Name: trackingOpensTable, Sweep: Tracking, Why: "tracking.OpensTable: open events, PartitionKey token"},
		{Name: access.AuditTable, Sweep: Owner, Why: "access.Store.DeleteUser: entries about the user go; in other users' " +
			"entries the user as actor becomes access.DeletedUser, so the org's trail of grant changes survives"},
		{Name: identity.StateTable, Sweep: NoUserData, Why: "pending sign-ins: state and PKCE verifier before anyone is known; swept hourly"},
		{Name: "orgwatchusers", Sweep: Owner, Why: "orgwatch.Index.ForgetUser (a Forget deleter the wiring passes): the user's entry in their Salesforce organisation's partition"},
		{Name: "orgwatchorgs", Sweep: NoUserData, Why: "orgwatch.OrgsTable: the organisations the detector polls and their poll leases; no user's rows"},
		{Name: "orgwatch", Sweep: NoUserData, Why: "orgwatch.Table: per organisation, each object's watermark and the record ids seen in its overlap window; no user's rows"},
		{Name: "connectstate", Sweep: NoUserData, Why: "connect.StateTable: pending connect flows, rows name no user; swept hourly"},
		{Name: "historydays", Sweep: UserPartition, Why: "insight.HistoryTable: a user's daily counts, PartitionKey user"},
		{Name: "historyorgs", Sweep: NoUserData, Why: "insight.OrgHistoryTable: an org's daily counts, rows name no user"},
		{Name: "progress", Sweep: UserPartition, Why: "insight.ProgressTable: the user's session progress, PartitionKey user"},
		{Name: "conflicts", Sweep: UserPartition, Why: "insight.ConflictsTable: settled conflicts, PartitionKey user"},
		{Name: "notices", Sweep: UserPartition, Why: "notice.Table: notices sent, attention days and choices, PartitionKey user"},
		{Name: session.SharedTasksTable, Sweep: Owner, Why: "session.ForgetSharedTasks: the user's own and relate partitions go; " +
			"org rows the user made keep their Task for colleagues but no longer name the user"},
	}
	for _, c := range connectors {
		for _, t := range c.Tables {
			sweep := Owner
			if t.PerUser {
				sweep = UserPartition
			}
			tables = append(tables, Table{Name: t.Name, Sweep: sweep, Why: t.Why})
		}
	}
	return tables
}

// leaseTTL bounds how long a crashed deletion blocks sessions; a rerun of
// Delete takes the lease over from its own holder name.
const leaseTTL = 10 * time.Minute

const deletionHolder = "account-deletion"

// Delete removes every row of user in every table (see Tables), after
// revoking the user's tokens at the providers. actor is who asked (the user
// or an org admin), for the grant audit trail. It is idempotent: a deletion
// interrupted midway is finished by calling Delete again.
//
// Order matters: the session lease is taken first so no sync session starts
// or writes meanwhile (ErrBusy while one runs); the schedule goes next so
// none is enqueued; push at the providers is stopped (Unhook) while the
// tokens still work; connections go before state so the tokens are revoked
// while they can still be found; the profile and identity rows go last since
// they tell the user's org.
func (a *Accounts) Delete(ctx context.Context, actor access.Principal, user string) error {
	if user == "" {
		return fmt.Errorf("%w: no user", ErrInvalid)
	}
	tables := Tables(a.d.CRM, a.d.Mailbox)
	unswept := slices.ContainsFunc(slices.Concat(a.d.CRM.Tables, a.d.Mailbox.Tables), func(t side.Table) bool { return !t.PerUser })
	if a.d.Connections == nil || a.d.Identities == nil || unswept && len(a.d.Forget) == 0 {
		return errors.New("account: Delete needs Connections, Identities and, for the connectors' own tables, Forget to remove every row")
	}
	org, err := a.OrgOf(ctx, user)
	if errors.Is(err, access.ErrNoSuchUser) {
		org = ""
	} else if err != nil {
		return err
	}
	lease, err := session.AcquireLease(ctx, a.d.Tables, user, deletionHolder, leaseTTL, a.d.Now())
	if errors.Is(err, session.ErrLeaseHeld) {
		return fmt.Errorf("%w: try again in a minute", ErrBusy)
	}
	if err != nil {
		return fmt.Errorf("account: taking the session lease: %w", err)
	}
	_ = lease // released by deleting its row below

	steps := []step{
		{"schedule", func() error { return a.d.Scheduler.Remove(ctx, user) }},
		{"push", func() error { a.unhook(ctx, user); return nil }},
		{"connections", func() error { return a.d.Connections.Delete(ctx, user) }},
	}
	for _, f := range a.d.Forget {
		steps = append(steps, step{"connector", func() error { return f.Delete(ctx, user) }})
	}
	for _, t := range tables {
		switch t.Sweep {
		case UserPartition:
			if t.Name == session.LeaseTable {
				continue
			}
			steps = append(steps, step{t.Name, func() error { return a.sweep(ctx, t.Name, user) }})
		case UserKindPartitions:
			for _, k := range item.Kinds {
				steps = append(steps, step{t.Name, func() error { return a.sweep(ctx, t.Name, user+"|"+string(k)) }})
			}
		}
	}
	steps = append(steps, step{"tracking", func() error { return a.sweepTracking(ctx, user) }})
	steps = append(steps, step{"shared e-mails", func() error { return session.ForgetSharedTasks(ctx, a.d.Tables, user) }})
	// Without an org (a rerun after the profile and identity went) the grant
	// index still finds every org the user had grants in.
	steps = append(steps, step{"grants", func() error { return a.d.Grants.DeleteUser(ctx, actor, org, user) }})
	steps = append(steps,
		step{"profile", func() error { return a.deleteProfile(ctx, user) }},
		step{"identity", func() error { return a.d.Identities.Delete(ctx, user) }},
		step{"lease", func() error { return a.sweep(ctx, session.LeaseTable, user) }},
	)
	for _, s := range steps {
		if err := s.do(); err != nil {
			return fmt.Errorf("account: deleting %s of user %s: %w", s.what, user, err)
		}
	}
	a.d.Log.InfoContext(ctx, "account deleted", "user", user, "by", actor.User)
	return nil
}

// unhook runs the Unhook deleters while the user's tokens still work. A
// failure never blocks the deletion (see Deps.Unhook): it is logged.
func (a *Accounts) unhook(ctx context.Context, user string) {
	for _, u := range a.d.Unhook {
		if err := u.Delete(ctx, user); err != nil {
			a.d.Log.WarnContext(ctx, "account deletion: stopping push at the provider failed; it lapses at its expiry", "user", user, "err", err)
		}
	}
}

// step is one part of a deletion, named for the error message.
type step struct {
	what string
	do   func() error
}

// Names of the tracking tables (shared/tracking's TokensTable, OpensTable).
const (
	trackingTable      = "tracking"
	trackingOpensTable = "trackingopens"
)

// sweepTracking deletes the user's tracking tokens with their open events,
// then the user's partition, which is what lists the tokens: a deletion
// interrupted midway finds the rest on its rerun.
func (a *Accounts) sweepTracking(ctx context.Context, user string) error {
	pk := "u|" + user
	q := tablestore.Query{PartitionKey: pk}
	var tokens []string
	for {
		page, err := a.d.Tables.Query(ctx, trackingTable, q)
		if err != nil {
			return err
		}
		for _, e := range page.Entities {
			if tok, _ := e.Properties["Token"].(string); tok != "" && !slices.Contains(tokens, tok) {
				tokens = append(tokens, tok)
			}
		}
		if page.Continuation == "" {
			break
		}
		q.Continuation = page.Continuation
	}
	for _, tok := range tokens {
		if err := a.sweep(ctx, trackingOpensTable, tok); err != nil {
			return err
		}
		if err := a.d.Tables.Delete(ctx, trackingTable, tok, "t", "*"); err != nil && !errors.Is(err, tablestore.ErrNotFound) {
			return err
		}
	}
	return a.sweep(ctx, trackingTable, pk)
}

// sweep deletes every row of one partition, in batches of up to 100.
func (a *Accounts) sweep(ctx context.Context, table, partition string) error {
	for {
		page, err := a.d.Tables.Query(ctx, table, tablestore.Query{PartitionKey: partition, Limit: 100})
		if err != nil {
			return err
		}
		if len(page.Entities) == 0 {
			return nil
		}
		ops := make([]tablestore.Op, 0, len(page.Entities))
		for _, e := range page.Entities {
			ops = append(ops, tablestore.Op{Kind: tablestore.OpDelete, Entity: tablestore.Entity{PartitionKey: e.PartitionKey, RowKey: e.RowKey, ETag: "*"}})
		}
		if _, err := a.d.Tables.Batch(ctx, table, ops); err != nil {
			return err
		}
	}
}
