package identity

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"math/big"
	"net/http"
	"sync"
	"time"
)

// KeySet is a cached JSON Web Key Set. An unknown key id triggers a refetch,
// at most once per RefreshInterval, so a token signed with a freshly rotated
// key verifies while a flood of made-up key ids cannot hammer the provider.
type KeySet struct {
	url    string
	client *http.Client
	now    func() time.Time

	mu      sync.Mutex
	keys    map[string]*rsa.PublicKey
	fetched time.Time
	fetches int
}

// RefreshInterval is the least time between two fetches of a key set.
const RefreshInterval = time.Minute

// maxKeyAge makes even a known key set refresh daily, so retired keys go.
const maxKeyAge = 24 * time.Hour

// NewKeySet returns a key set read from jwksURL; now is the clock (time.Now
// when nil).
func NewKeySet(jwksURL string, client *http.Client, now func() time.Time) *KeySet {
	if client == nil {
		client = http.DefaultClient
	}
	if now == nil {
		now = time.Now
	}
	return &KeySet{url: jwksURL, client: client, now: now}
}

// Fetches reports how many times the key set was fetched (for tests and
// metrics).
func (k *KeySet) Fetches() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.fetches
}

// Key returns the RSA public key with the given key id.
func (k *KeySet) Key(ctx context.Context, kid string) (*rsa.PublicKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if key, ok := k.keys[kid]; ok && k.now().Sub(k.fetched) < maxKeyAge {
		return key, nil
	}
	if k.keys == nil || k.now().Sub(k.fetched) >= RefreshInterval {
		if err := k.fetch(ctx); err != nil {
			return nil, err
		}
	}
	if key, ok := k.keys[kid]; ok {
		return key, nil
	}
	return nil, fmt.Errorf("%w: signing key is not in the issuer's key set", ErrInvalidToken)
}

type jwk struct {
	Kty string `json:"kty"`
	Use string `json:"use"`
	Kid string `json:"kid"`
	N   string `json:"n"`
	E   string `json:"e"`
}

func (k *KeySet) fetch(ctx context.Context) error {
	var set struct {
		Keys []jwk `json:"keys"`
	}
	k.fetched = k.now() // failures count too: they must not be retried per request
	k.fetches++
	if err := getJSON(ctx, k.client, k.url, &set); err != nil {
		return err
	}
	keys := map[string]*rsa.PublicKey{}
	for _, j := range set.Keys {
		if j.Kty != "RSA" || (j.Use != "" && j.Use != "sig") || j.Kid == "" {
			continue
		}
		n, errN := base64.RawURLEncoding.DecodeString(j.N)
		e, errE := base64.RawURLEncoding.DecodeString(j.E)
		if errN != nil || errE != nil || len(e) == 0 || len(e) > 4 {
			continue
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		if pub.N.BitLen() < 2048 || pub.E < 3 {
			continue // too weak to trust
		}
		keys[j.Kid] = pub
	}
	k.keys = keys
	return nil
}
