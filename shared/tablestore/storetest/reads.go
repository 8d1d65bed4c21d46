package storetest

import (
	"context"
	"sync"

	"github.com/crmsync/crmsync/shared/tablestore"
)

// Reads is a store that counts its reads (point reads and query pages) by
// table, and the rows they returned, for tests and benchmarks that bound what
// an operation reads.
type Reads struct {
	tablestore.Store
	mu   sync.Mutex
	n    map[string]int
	rows map[string]int
}

// CountReads wraps s.
func CountReads(s tablestore.Store) *Reads {
	return &Reads{Store: s, n: map[string]int{}, rows: map[string]int{}}
}

func (r *Reads) count(table string, rows int) {
	r.mu.Lock()
	r.n[table]++
	r.rows[table] += rows
	r.mu.Unlock()
}

// Get counts a point read.
func (r *Reads) Get(ctx context.Context, table, pk, rk string) (tablestore.Entity, error) {
	e, err := r.Store.Get(ctx, table, pk, rk)
	found := 0
	if err == nil {
		found = 1
	}
	r.count(table, found)
	return e, err
}

// Query counts a page read.
func (r *Reads) Query(ctx context.Context, table string, q tablestore.Query) (tablestore.Page, error) {
	p, err := r.Store.Query(ctx, table, q)
	r.count(table, len(p.Entities))
	return p, err
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

// Rows returns the rows the reads of table returned so far (a point read
// that found its row is one); Rows("") those of every table.
func (r *Reads) Rows(table string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if table != "" {
		return r.rows[table]
	}
	all := 0
	for _, n := range r.rows {
		all += n
	}
	return all
}

// Reset starts the counts again.
func (r *Reads) Reset() {
	r.mu.Lock()
	clear(r.n)
	clear(r.rows)
	r.mu.Unlock()
}
