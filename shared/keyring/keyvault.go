package keyring

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
)

const (
	// SecretPrefix starts the name of every key secret: version 7 lives in
	// the secret "crmsync-key-7".
	SecretPrefix = "crmsync-key-"
	// CurrentTTL bounds how long a KeyVaultRing trusts its cached idea of the
	// current version. After another instance adds a key, this instance keeps
	// sealing with the previous (still valid) version for at most this long;
	// Rotate relies on that bound when it retires versions.
	CurrentTTL = 5 * time.Minute

	versionTag  = "crmsync-key-version"
	contentType = "application/vnd.crmsync.aes256-key+base64"
)

// KeyVaultRing keeps each key version in its own Key Vault secret named
// SecretPrefix + version, e.g. "crmsync-key-7".
//
// One secret per version (rather than one secret with a Key Vault version per
// key) because: a key is then read by name in one call, without listing
// versions to map an integer to Key Vault's opaque version ids; the vault's
// 500-versions-per-backup limit never bites; each key can be retired by
// deleting its secret, which soft-delete keeps recoverable by an operator for
// the vault's retention period; and names in the portal say what they hold.
//
// Key Vault has no conditional writes, so two instances adding the same
// version at once would each create a Key Vault version of the same secret.
// The ring therefore always uses the oldest Key Vault version of a secret and
// never trusts the value it just wrote: the first write wins everywhere.
//
// Keys are cached in memory for the life of the process (a version's material
// never changes); the current version is re-read after CurrentTTL.
type KeyVaultRing struct {
	client *azsecrets.Client

	mu        sync.Mutex
	keys      map[int]Key
	current   int
	currentAt time.Time
}

// NewKeyVaultRing returns a ring in the vault at vaultURL (for example
// "https://crmsync-prod.vault.azure.net/"), authenticating with cred: in Azure
// a managed identity via azidentity.NewDefaultAzureCredential or
// azidentity.NewManagedIdentityCredential. The identity needs "get", "list",
// "set" and "delete" permissions on secrets (role Key Vault Secrets Officer).
// opts may be nil; tests pass a fake transport in it.
func NewKeyVaultRing(vaultURL string, cred azcore.TokenCredential, opts *azsecrets.ClientOptions) (*KeyVaultRing, error) {
	u, err := url.Parse(vaultURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("keyring: key vault URL %q: want https://<name>.vault.azure.net/", vaultURL)
	}
	if cred == nil {
		return nil, errors.New("keyring: key vault ring needs a token credential")
	}
	client, err := azsecrets.NewClient(vaultURL, cred, opts)
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	return &KeyVaultRing{client: client, keys: map[int]Key{}}, nil
}

// Current returns the highest version, creating version 1 in an empty vault.
func (r *KeyVaultRing) Current(ctx context.Context) (Key, error) {
	r.mu.Lock()
	v, fresh := r.current, r.current > 0 && time.Since(r.currentAt) < CurrentTTL
	r.mu.Unlock()
	if !fresh {
		vs, err := r.Versions(ctx)
		if err != nil {
			return Key{}, err
		}
		if len(vs) == 0 {
			if v, err = r.Add(ctx); err != nil {
				return Key{}, err
			}
		} else {
			v = vs[len(vs)-1]
		}
		r.mu.Lock()
		r.current, r.currentAt = v, time.Now()
		r.mu.Unlock()
	}
	return r.Key(ctx, v)
}

// Key returns one version, from the cache or the vault.
func (r *KeyVaultRing) Key(ctx context.Context, version int) (Key, error) {
	if version < 1 {
		return Key{}, fmt.Errorf("key version %d: %w", version, ErrUnknownKey)
	}
	r.mu.Lock()
	k, ok := r.keys[version]
	r.mu.Unlock()
	if ok {
		return k, nil
	}
	k, err := r.fetch(ctx, version)
	if err != nil {
		return Key{}, err
	}
	r.mu.Lock()
	r.keys[version] = k
	r.mu.Unlock()
	return k, nil
}

// fetch reads the oldest enabled Key Vault version of a key's secret.
func (r *KeyVaultRing) fetch(ctx context.Context, version int) (Key, error) {
	name := secretName(version)
	var (
		oldest    string
		oldestAt  time.Time
		hasOldest bool
	)
	pager := r.client.NewListSecretPropertiesVersionsPager(name, nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if isNotFound(err) {
			return Key{}, fmt.Errorf("key version %d: %w", version, ErrUnknownKey)
		}
		if err != nil {
			return Key{}, fmt.Errorf("keyring: listing versions of secret %s: %w", name, err)
		}
		for _, p := range page.Value {
			if p == nil || p.ID == nil || !enabled(p.Attributes) {
				continue
			}
			at := time.Time{}
			if p.Attributes != nil && p.Attributes.Created != nil {
				at = *p.Attributes.Created
			}
			id := p.ID.Version()
			if !hasOldest || at.Before(oldestAt) || (at.Equal(oldestAt) && id < oldest) {
				oldest, oldestAt, hasOldest = id, at, true
			}
		}
	}
	if !hasOldest {
		return Key{}, fmt.Errorf("key version %d: %w", version, ErrUnknownKey)
	}
	resp, err := r.client.GetSecret(ctx, name, oldest, nil)
	if isNotFound(err) {
		return Key{}, fmt.Errorf("key version %d: %w", version, ErrUnknownKey)
	}
	if err != nil {
		return Key{}, fmt.Errorf("keyring: reading secret %s: %w", name, err)
	}
	if resp.Value == nil {
		return Key{}, fmt.Errorf("keyring: secret %s has no value", name)
	}
	material, err := base64.StdEncoding.DecodeString(*resp.Value)
	if err != nil {
		return Key{}, fmt.Errorf("keyring: secret %s is not base64 key material", name)
	}
	return NewKey(version, material)
}

// Versions lists the versions whose secrets exist and are enabled.
func (r *KeyVaultRing) Versions(ctx context.Context) ([]int, error) {
	var vs []int
	pager := r.client.NewListSecretPropertiesPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("keyring: listing key vault secrets: %w", err)
		}
		for _, p := range page.Value {
			if p == nil || p.ID == nil || !enabled(p.Attributes) {
				continue
			}
			if v, ok := parseSecretName(p.ID.Name()); ok {
				vs = append(vs, v)
			}
		}
	}
	slices.Sort(vs)
	return slices.Compact(vs), nil
}

// Add writes a fresh key one version above the highest listed one. Retired
// secrets are deleted and not listed, but the highest version is always the
// current one, which cannot be retired, so numbers are never reused.
func (r *KeyVaultRing) Add(ctx context.Context) (int, error) {
	vs, err := r.Versions(ctx)
	if err != nil {
		return 0, err
	}
	next := 1
	if len(vs) > 0 {
		next = vs[len(vs)-1] + 1
	}
	material, err := newMaterial()
	if err != nil {
		return 0, err
	}
	value := base64.StdEncoding.EncodeToString(material)
	ct, tag := contentType, strconv.Itoa(next)
	_, err = r.client.SetSecret(ctx, secretName(next), azsecrets.SetSecretParameters{
		Value:       &value,
		ContentType: &ct,
		Tags:        map[string]*string{versionTag: &tag},
	}, nil)
	if err != nil {
		return 0, fmt.Errorf("keyring: writing secret %s: %w", secretName(next), err)
	}
	r.mu.Lock()
	r.current, r.currentAt = next, time.Now()
	r.mu.Unlock()
	return next, nil
}

// Retire deletes a version's secret. With soft delete on (the Azure default)
// an operator can recover it during the vault's retention period.
func (r *KeyVaultRing) Retire(ctx context.Context, version int) error {
	vs, err := r.Versions(ctx)
	if err != nil {
		return err
	}
	if !slices.Contains(vs, version) {
		return fmt.Errorf("retire key version %d: %w", version, ErrUnknownKey)
	}
	if version == vs[len(vs)-1] {
		return fmt.Errorf("retire key version %d: %w", version, ErrRetireCurrent)
	}
	if _, err := r.client.DeleteSecret(ctx, secretName(version), nil); err != nil && !isNotFound(err) {
		return fmt.Errorf("keyring: deleting secret %s: %w", secretName(version), err)
	}
	r.mu.Lock()
	delete(r.keys, version)
	r.mu.Unlock()
	return nil
}

func secretName(version int) string { return SecretPrefix + strconv.Itoa(version) }

// parseSecretName accepts only names this ring writes, so other secrets in
// the same vault are ignored.
func parseSecretName(name string) (int, bool) {
	s, ok := strings.CutPrefix(name, SecretPrefix)
	if !ok || s == "" || s[0] == '0' {
		return 0, false
	}
	v, err := strconv.Atoi(s)
	return v, err == nil && v > 0 && strconv.Itoa(v) == s
}

func enabled(a *azsecrets.SecretAttributes) bool {
	return a == nil || a.Enabled == nil || *a.Enabled
}

func isNotFound(err error) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusNotFound
}
