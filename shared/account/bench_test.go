package account_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/account"
	"github.com/crmsync/crmsync/shared/msgraph"
	"github.com/crmsync/crmsync/shared/salesforce"
	"github.com/crmsync/crmsync/shared/tablestore"
)

type countingStore struct {
	tablestore.Store
	ops atomic.Int64
}

func (c *countingStore) Get(ctx context.Context, table, pk, rk string) (tablestore.Entity, error) {
	c.ops.Add(1)
	return c.Store.Get(ctx, table, pk, rk)
}

func (c *countingStore) Query(ctx context.Context, table string, q tablestore.Query) (tablestore.Page, error) {
	c.ops.Add(1)
	return c.Store.Query(ctx, table, q)
}

func (c *countingStore) Batch(ctx context.Context, table string, ops []tablestore.Op) ([]string, error) {
	c.ops.Add(1)
	return c.Store.Batch(ctx, table, ops)
}

func (c *countingStore) Delete(ctx context.Context, table, pk, rk, ifMatch string) error {
	c.ops.Add(1)
	return c.Store.Delete(ctx, table, pk, rk, ifMatch)
}

// BenchmarkUserSettings measures what every sync session pays to load its
// user's settings: time and table operations (reads) per call.
func BenchmarkUserSettings(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	p := f.signUp(b, "org-1", "s", "ann@example.com")
	cs := &countingStore{Store: f.tables}
	acc, err := account.New(account.Deps{Tables: cs, Sealer: account.KeysSealer{Keys: f.ring}, Scheduler: f.sched, Grants: f.grants, Directory: f.users, Now: func() time.Time { return f.now }})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := acc.UserSettings(ctx, p.User); err != nil {
		b.Fatal(err)
	}
	cs.ops.Store(0)
	for b.Loop() {
		if _, err := acc.UserSettings(ctx, p.User); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cs.ops.Load())/float64(b.N), "table-ops/op")
}

// BenchmarkDelete measures deleting an account with state in every table:
// time and table operations per deletion (the seeding is not timed).
func BenchmarkDelete(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	var ops int64
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		p := f.signUp(b, "org-1", fmt.Sprintf("subject-%d", i), "")
		f.seedUser(b, p, "rt")
		cs := &countingStore{Store: f.tables}
		acc, err := account.New(account.Deps{Tables: cs, Sealer: account.KeysSealer{Keys: f.ring}, Scheduler: f.sched, Grants: f.grants,
			Connections: f.conns, Identities: f.users, Forget: []account.Deleter{account.DeleterFunc(f.subs.Forget)},
			CRM: salesforce.Connector, Mailbox: msgraph.Connector, Directory: f.users, Now: func() time.Time { return f.now }})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := acc.Delete(ctx, p, p.User); err != nil {
			b.Fatal(err)
		}
		ops += cs.ops.Load()
	}
	b.ReportMetric(float64(ops)/float64(b.N), "own-table-ops/op")
}
