package access_test

import (
	"context"
	"testing"

	"github.com/crmsync/crmsync/shared/tablestore"
)

// openStore opens an embedded table store in a fresh directory.
func openStore(t testing.TB) *tablestore.Embedded {
	t.Helper()
	s, err := tablestore.OpenEmbedded(t.TempDir() + "/db.sqlite")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// rows returns every entity of a table, for assertions.
func rows(t testing.TB, s tablestore.Store, table string) []tablestore.Entity {
	t.Helper()
	var out []tablestore.Entity
	q := tablestore.Query{}
	for {
		page, err := s.Query(context.Background(), table, q)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page.Entities...)
		if page.Continuation == "" {
			return out
		}
		q.Continuation = page.Continuation
	}
}
