package c4c

import (
	"path/filepath"
	"testing"

	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/keyring"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// testStores opens embedded tables and a file key ring in a temporary
// folder, closed when the test ends, and the connection store on them that
// knows the C4C connector.
func testStores(t *testing.T) (*tablestore.Embedded, *connection.Store) {
	t.Helper()
	dir := t.TempDir()
	tables, err := tablestore.OpenEmbedded(filepath.Join(dir, "tables.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tables.Close() })
	ring, err := keyring.OpenFileRing(filepath.Join(dir, "keys", "ring.json"))
	if err != nil {
		t.Fatal(err)
	}
	return tables, connection.NewStore(tables, ring, connection.Options{Providers: connection.ProvidersOf(Connector)})
}
