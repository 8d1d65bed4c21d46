package dashboard_test

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/crmsync/crmsync/shared/access"
	"github.com/crmsync/crmsync/shared/dashboard"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// countingStore counts the table operations a page costs.
type countingStore struct {
	tablestore.Store
	reads atomic.Int64
}

func (c *countingStore) Get(ctx context.Context, table, pk, rk string) (tablestore.Entity, error) {
	c.reads.Add(1)
	return c.Store.Get(ctx, table, pk, rk)
}

func (c *countingStore) Query(ctx context.Context, table string, q tablestore.Query) (tablestore.Page, error) {
	c.reads.Add(1)
	return c.Store.Query(ctx, table, q)
}

// BenchmarkOverview measures the overview page: time and table reads per view.
func BenchmarkOverview(b *testing.B) {
	var cs *countingStore
	f := newFixtureOver(b, func(s tablestore.Store) tablestore.Store { cs = &countingStore{Store: s}; return cs })
	cs.reads.Store(0)
	for b.Loop() {
		if code, body, _ := f.call(b, f.user, http.MethodGet, dashboard.Prefix+"/overview", "", false); code != http.StatusOK {
			b.Fatalf("status %d: %s", code, body)
		}
	}
	b.ReportMetric(float64(cs.reads.Load())/float64(b.N), "table-reads/op")
}

// BenchmarkOrgPage measures the admin's user list of an org with 50 users:
// the list reads each user's status, so reads grow with the org.
func BenchmarkOrgPage(b *testing.B) {
	var cs *countingStore
	f := newFixtureOver(b, func(s tablestore.Store) tablestore.Store { cs = &countingStore{Store: s}; return cs })
	var lines []string
	for i := range 47 {
		lines = append(lines, fmt.Sprintf("user%d@a.example", i))
	}
	if _, err := f.acc.Provision(context.Background(), f.admin, orgA, lines, ""); err != nil {
		b.Fatal(err)
	}
	members, _ := f.acc.Members(context.Background(), orgA)
	cs.reads.Store(0)
	for b.Loop() {
		if code, body, _ := f.call(b, f.admin, http.MethodGet, dashboard.Prefix+"/orgs/"+orgA, "", false); code != http.StatusOK {
			b.Fatalf("status %d: %s", code, body)
		}
	}
	b.ReportMetric(float64(cs.reads.Load())/float64(b.N), "table-reads/op")
	b.ReportMetric(float64(len(members)), "users")
	_ = access.Public
}
