package tablestore_test

import (
	"testing"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/crmsync/crmsync/shared/azurite"
	"github.com/crmsync/crmsync/shared/tablestore"
	"github.com/crmsync/crmsync/shared/tablestore/storetest"
)

func TestMain(m *testing.M) { azurite.Main(m) }

func newAzure(t testing.TB) *tablestore.Azure {
	t.Helper()
	s, err := tablestore.NewAzure(azurite.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformanceAzure(t *testing.T) {
	storetest.Run(t, func(t *testing.T) tablestore.Store { return newAzure(t) })
}

// The managed-identity constructor needs no network to build a client.
func TestNewAzureWithCredential(t *testing.T) {
	s, err := tablestore.NewAzureWithCredential("https://account.table.core.windows.net", &azfake.TokenCredential{})
	if err != nil || s == nil {
		t.Fatalf("NewAzureWithCredential = %v, %v", s, err)
	}
	if _, err := tablestore.NewAzure("not a connection string"); err == nil {
		t.Error("NewAzure accepted a malformed connection string")
	}
}
