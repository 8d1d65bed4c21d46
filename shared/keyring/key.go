// Package keyring holds crmsync's versioned data-encryption keys: 32-byte
// AES-256 keys, each with an integer version. New values are sealed with the
// current (highest) version; older versions keep opening what they sealed until
// they are retired. Two rings exist: FileRing (a 0600 JSON file for local and
// on-premises runs) and KeyVaultRing (Azure Key Vault, one secret per version).
// Both pass the conformance suite in package ringtest.
package keyring

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
)

// KeySize is the length of every key in bytes (AES-256).
const KeySize = 32

// Errors are classified by behaviour; compare with errors.Is.
var (
	// ErrUnknownKey: the ring has no such version, or it was retired. Values
	// sealed with it cannot be opened any more.
	ErrUnknownKey = errors.New("keyring: unknown or retired key version")
	// ErrRetireCurrent: the current key cannot be retired; add a newer key first.
	ErrRetireCurrent = errors.New("keyring: the current key cannot be retired")
)

// Ring is a versioned key ring. Implementations are safe for concurrent use.
type Ring interface {
	// Current returns the key new values are sealed with: the highest active version.
	Current(ctx context.Context) (Key, error)
	// Key returns one version; ErrUnknownKey when absent or retired.
	Key(ctx context.Context, version int) (Key, error)
	// Add creates a fresh random key one version above every version ever
	// used (retired ones included) and makes it current.
	Add(ctx context.Context) (version int, err error)
	// Retire removes a version for good: values it sealed stop opening.
	// ErrRetireCurrent for the current version, ErrUnknownKey when absent.
	Retire(ctx context.Context, version int) error
	// Versions lists the active (not retired) versions in ascending order.
	Versions(ctx context.Context) ([]int, error)
}

// Key is one version of the ring. The key material is unexported so that it
// cannot be logged or serialized by accident: String, GoString and LogValue
// print the version only.
type Key struct {
	// Version numbers keys from 1 upwards; 0 means "no key".
	Version  int
	material [KeySize]byte
}

// NewKey builds a key from its material, for Ring implementations and tests.
func NewKey(version int, material []byte) (Key, error) {
	if version < 1 {
		return Key{}, fmt.Errorf("keyring: key version %d: must be 1 or more", version)
	}
	if len(material) != KeySize {
		return Key{}, fmt.Errorf("keyring: key version %d: %d bytes of key material, want %d", version, len(material), KeySize)
	}
	k := Key{Version: version}
	copy(k.material[:], material)
	return k, nil
}

// AEAD returns AES-256-GCM under this key (standard 12-byte nonce, 16-byte tag).
func (k Key) AEAD() (cipher.AEAD, error) {
	if k.Version < 1 {
		return nil, errors.New("keyring: zero Key")
	}
	block, err := aes.NewCipher(k.material[:])
	if err != nil {
		return nil, fmt.Errorf("keyring: key version %d: %w", k.Version, err)
	}
	return cipher.NewGCM(block)
}

// Equal reports whether two keys have the same version and material, in
// constant time with respect to the material.
func (k Key) Equal(o Key) bool {
	return k.Version == o.Version && subtle.ConstantTimeCompare(k.material[:], o.material[:]) == 1
}

// String names the key by version only.
func (k Key) String() string { return "keyring.Key{version " + strconv.Itoa(k.Version) + "}" }

// GoString keeps %#v from printing the material.
func (k Key) GoString() string { return k.String() }

// LogValue keeps slog from printing the material.
func (k Key) LogValue() slog.Value { return slog.IntValue(k.Version) }
