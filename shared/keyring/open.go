package keyring

import (
	"errors"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// Setting is the name of the setting that says where the key ring lives.
const Setting = "CRMSYNC_KEYRING"

// Open returns the ring the CRMSYNC_KEYRING setting names: a Key Vault URL
// ("https://<name>.vault.azure.net/") gives a KeyVaultRing, anything else is
// the path of a FileRing. For Key Vault, cred authenticates; when nil,
// azidentity.NewDefaultAzureCredential is used, which in Azure picks the
// function app's managed identity (set AZURE_CLIENT_ID for a user-assigned one).
func Open(setting string, cred azcore.TokenCredential) (Ring, error) {
	setting = strings.TrimSpace(setting)
	switch {
	case setting == "":
		return nil, errors.New("keyring: setting " + Setting + " is empty: want a Key Vault URL or a key ring file path")
	case strings.HasPrefix(strings.ToLower(setting), "https://"):
		if cred == nil {
			c, err := azidentity.NewDefaultAzureCredential(nil)
			if err != nil {
				return nil, fmt.Errorf("keyring: %s: no Azure credential: %w", Setting, err)
			}
			cred = c
		}
		return NewKeyVaultRing(setting, cred, nil)
	case strings.Contains(setting, "://"):
		return nil, fmt.Errorf("keyring: setting %s = %q: want https:// for Key Vault, or a file path", Setting, setting)
	default:
		return OpenFileRing(setting)
	}
}
