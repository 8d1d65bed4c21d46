package access_test

import (
	"testing"

	"github.com/crmsync/crmsync/shared/tablestore"
	"github.com/crmsync/crmsync/shared/tablestore/storetest"
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
var rows = storetest.Rows
