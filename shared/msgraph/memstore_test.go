package msgraph

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/crmsync/crmsync/shared/tablestore"
)

// memStore is a small in-memory tablestore.Store for these tests.
type memStore struct {
	mu   sync.Mutex
	n    int
	rows map[string]tablestore.Entity // table|pk|rk
}

func newMemStore() *memStore { return &memStore{rows: map[string]tablestore.Entity{}} }

func key(t, pk, rk string) string { return t + "|" + pk + "|" + rk }

func (m *memStore) Get(_ context.Context, t, pk, rk string) (tablestore.Entity, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.rows[key(t, pk, rk)]
	if !ok {
		return e, tablestore.ErrNotFound
	}
	return e, nil
}

func (m *memStore) put(t string, e tablestore.Entity) string {
	m.n++
	e.ETag = strconv.Itoa(m.n)
	m.rows[key(t, e.PartitionKey, e.RowKey)] = e
	return e.ETag
}

func (m *memStore) Insert(_ context.Context, t string, e tablestore.Entity) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.rows[key(t, e.PartitionKey, e.RowKey)]; ok {
		return "", tablestore.ErrExists
	}
	return m.put(t, e), nil
}

func (m *memStore) Upsert(_ context.Context, t string, e tablestore.Entity) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.put(t, e), nil
}

func (m *memStore) Update(_ context.Context, t string, e tablestore.Entity, ifMatch string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.rows[key(t, e.PartitionKey, e.RowKey)]
	if !ok {
		return "", tablestore.ErrNotFound
	}
	if ifMatch != "*" && ifMatch != cur.ETag {
		return "", tablestore.ErrPrecondition
	}
	return m.put(t, e), nil
}

func (m *memStore) Delete(_ context.Context, t, pk, rk, ifMatch string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.rows[key(t, pk, rk)]
	if !ok {
		return tablestore.ErrNotFound
	}
	if ifMatch != "*" && ifMatch != cur.ETag {
		return tablestore.ErrPrecondition
	}
	delete(m.rows, key(t, pk, rk))
	return nil
}

func (m *memStore) Batch(context.Context, string, []tablestore.Op) ([]string, error) {
	return nil, tablestore.ErrInvalid
}

func (m *memStore) Query(_ context.Context, t string, q tablestore.Query) (tablestore.Page, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []tablestore.Entity
	for k, e := range m.rows {
		if !strings.HasPrefix(k, t+"|") || q.PartitionKey != "" && e.PartitionKey != q.PartitionKey {
			continue
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b tablestore.Entity) int {
		return strings.Compare(a.PartitionKey+"\x00"+a.RowKey, b.PartitionKey+"\x00"+b.RowKey)
	})
	return tablestore.Page{Entities: out}, nil
}

func (m *memStore) DeleteTable(_ context.Context, t string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k := range m.rows {
		if strings.HasPrefix(k, t+"|") {
			delete(m.rows, k)
		}
	}
	return nil
}
