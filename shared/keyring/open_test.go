package keyring_test

import (
	"path/filepath"
	"strings"
	"testing"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"

	"github.com/crmsync/crmsync/shared/keyring"
)

func TestOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ring.json")
	r, err := keyring.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.(*keyring.FileRing); !ok {
		t.Errorf("Open(path) = %T, want *keyring.FileRing", r)
	}
	r, err = keyring.Open("https://crmsync-test.vault.azure.net/", &azfake.TokenCredential{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.(*keyring.KeyVaultRing); !ok {
		t.Errorf("Open(vault URL) = %T, want *keyring.KeyVaultRing", r)
	}
	for _, bad := range []string{"", "  ", "http://crmsync.vault.azure.net", "s3://bucket/key"} {
		_, err := keyring.Open(bad, &azfake.TokenCredential{})
		if err == nil || !strings.Contains(err.Error(), keyring.Setting) {
			t.Errorf("Open(%q) error = %v, want one naming %s", bad, err, keyring.Setting)
		}
	}
}
