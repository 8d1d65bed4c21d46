package storetest

import (
	"context"
	"sync"

	"github.com/crmsync/crmsync/shared/tablestore"
)

// Reads is a store that counts its reads (point reads and query pages) by
// table, for tests and benchmarks that bound what an operation reads.
type Reads struct {
	tablestore.Store
	mu sync.Mutex
	n  map[string]int
}

// CountReads wraps s.
func CountReads(s tablestore.Store) *Reads { return &Reads{Store: s, n: map[string]int{}} }

func (r *Reads) count(table string) {
	r.mu.Lock()
	r.n[table]++
	r.mu.Unlock()
}

// Get counts a point read.
func (r *Reads) Get(ctx context.Context, table, pk, rk string) (tablestore.Entity, error) {
	r.count(table)
	return r.Store.Get(ctx, table, pk, rk)
}

// Query counts a page read.
func (r *Reads) Query(ctx context.Context, table string, q tablestore.Query) (tablestore.Page, error) {
	r.count(table)
	return r.Store.Query(ctx, table, q)
}

// Of returns the reads of table so far; Of("") the reads of every table.
func (r *Reads) Of(table string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if table != "" {
		return r.n[table]
	}
	all := 0
	for _, n := range r.n {
		all += n
	}
	return all
}

// Reset starts the counts again.
func (r *Reads) Reset() {
	r.mu.Lock()
	clear(r.n)
	r.mu.Unlock()
}
