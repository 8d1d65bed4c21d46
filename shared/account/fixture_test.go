package account_test

import (
	"context"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/access"
	"github.com/crmsync/crmsync/shared/account"
	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/identity"
	"github.com/crmsync/crmsync/shared/keyring"
	"github.com/crmsync/crmsync/shared/msgraph"
	"github.com/crmsync/crmsync/shared/orgwatch"
	"github.com/crmsync/crmsync/shared/queue"
	"github.com/crmsync/crmsync/shared/salesforce"
	"github.com/crmsync/crmsync/shared/schedule"
	"github.com/crmsync/crmsync/shared/tablestore"
	"github.com/crmsync/crmsync/shared/tablestore/storetest"
)

// fixture wires Accounts to the real packages over one embedded store.
type fixture struct {
	tables   *recordingStore
	q        *queue.Embedded
	ring     *keyring.FileRing
	sched    *schedule.Scheduler
	grants   *access.Store
	users    *identity.Users
	conns    *connection.Store
	subs     *msgraph.Subscriptions
	debounce *msgraph.TableDebouncer
	revoker  *fakeRevoker
	acc      *account.Accounts
	now      time.Time
}

type fakeRevoker struct {
	mu      sync.Mutex
	revoked []string
}

func (r *fakeRevoker) Revoke(_ context.Context, token string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.revoked = append(r.revoked, token)
	return nil
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	dir := t.TempDir()
	tables, err := tablestore.OpenEmbedded(filepath.Join(dir, "tables.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tables.Close() })
	q, err := queue.OpenEmbedded(filepath.Join(dir, "queue.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	ring, err := keyring.OpenFileRing(filepath.Join(dir, "keys", "ring.json"))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{tables: &recordingStore{Embedded: tables}, q: q, ring: ring, now: time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC), revoker: &fakeRevoker{}}
	clock := func() time.Time { return f.now }
	f.sched = schedule.New(f.tables, q)
	f.grants = access.NewStore(f.tables, clock)
	f.users = identity.NewUsers(f.tables, f.grants, clock)
	f.conns = connection.NewStore(f.tables, ring, connection.Options{Now: clock,
		Revokers: map[connection.Provider]connection.Revoker{connection.Salesforce: f.revoker, connection.Microsoft: f.revoker}})
	f.subs, err = msgraph.NewSubscriptions(msgraph.SubscriptionOptions{Store: f.tables, Key: make([]byte, 32),
		NotificationURL: "https://crmsync.example/api/notifications",
		Clients:         func(context.Context, string) (*msgraph.Client, error) { return nil, nil }})
	if err != nil {
		t.Fatal(err)
	}
	f.debounce = &msgraph.TableDebouncer{Store: f.tables, Window: time.Minute}
	f.acc, err = account.New(account.Deps{
		Tables: f.tables, Sealer: account.KeysSealer{Keys: ring}, Scheduler: f.sched, Grants: f.grants,
		Connections: f.conns, Identities: f.users, Forget: []account.Deleter{account.DeleterFunc(f.subs.Forget), account.DeleterFunc(orgwatch.Index{Store: f.tables}.ForgetUser)},
		Directory: f.users, Now: clock,
		CRM: salesforce.Connector, Mailbox: msgraph.Connector,
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// recordingStore is the embedded store noting every table written to, so a
// test can check every table the service created, not only the ones it knows.
type recordingStore struct {
	*tablestore.Embedded
	mu      sync.Mutex
	written map[string]bool
}

func (r *recordingStore) note(table string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.written == nil {
		r.written = map[string]bool{}
	}
	r.written[strings.ToLower(table)] = true
}

// tablesWritten returns the names of the tables written to so far, sorted.
func (r *recordingStore) tablesWritten() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Sorted(maps.Keys(r.written))
}

func (r *recordingStore) Insert(ctx context.Context, table string, e tablestore.Entity) (string, error) {
	r.note(table)
	return r.Embedded.Insert(ctx, table, e)
}

func (r *recordingStore) Upsert(ctx context.Context, table string, e tablestore.Entity) (string, error) {
	r.note(table)
	return r.Embedded.Upsert(ctx, table, e)
}

func (r *recordingStore) Update(ctx context.Context, table string, e tablestore.Entity, ifMatch string) (string, error) {
	r.note(table)
	return r.Embedded.Update(ctx, table, e, ifMatch)
}

func (r *recordingStore) Batch(ctx context.Context, table string, ops []tablestore.Op) ([]string, error) {
	r.note(table)
	return r.Embedded.Batch(ctx, table, ops)
}

// signUp signs a user in through identity (which grants self) and registers
// their profile.
func (f *fixture) signUp(t testing.TB, org, subject, email string) access.Principal {
	t.Helper()
	ctx := context.Background()
	p, _, err := f.users.SignIn(ctx, identity.Identity{Kind: identity.Entra, Org: org, Subject: subject})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.acc.Register(ctx, p, email); err != nil {
		t.Fatal(err)
	}
	return p
}

// scan returns every row of a table.
var scan = storetest.Rows
