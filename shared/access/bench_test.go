package access_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/crmsync/crmsync/shared/access"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// countingStore counts the table queries a check costs.
type countingStore struct {
	tablestore.Store
	queries atomic.Int64
}

func (c *countingStore) Query(ctx context.Context, table string, q tablestore.Query) (tablestore.Page, error) {
	c.queries.Add(1)
	return c.Store.Query(ctx, table, q)
}

func BenchmarkCheck(b *testing.B) {
	ctx := context.Background()
	tables := &countingStore{Store: openStore(b)}
	store := access.NewStore(tables, clock)
	admin := access.Principal{User: "u-admin", Org: "org-a"}
	if _, err := store.Add(ctx, access.Principal{}, access.Grant{Principal: admin, Role: access.RoleOrgAdmin, Resource: access.Org("org-a")}); err != nil {
		b.Fatal(err)
	}
	for i := range 50 {
		u := access.Principal{User: "u-" + string(rune('a'+i%26)) + string(rune('a'+i/26)), Org: "org-a"}
		if _, err := store.Add(ctx, access.Principal{}, access.Grant{Principal: u, Role: access.RoleSelf, Resource: access.User("org-a", u.User)}); err != nil {
			b.Fatal(err)
		}
	}
	checker := access.NewChecker(store)
	tables.queries.Store(0)
	for b.Loop() {
		if err := checker.Check(ctx, admin, access.SettingsWrite, access.User("org-a", "u-aa")); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(tables.queries.Load())/float64(b.N), "queries/op")
}
