// Package seal encrypts credentials at application level before they reach
// storage: AES-256-GCM under the current key of a keyring.Ring, a fresh random
// 12-byte nonce per value, and associated data that binds each ciphertext to
// its tenant, user, provider and purpose, so a value copied into another row
// does not open.
//
// A sealed value is compact text: "v<key version>.<base64url(nonce|ciphertext)>",
// for example "v3.q0dc…". The version says which key opens it, which is what
// lets keys rotate.
package seal

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/crmsync/crmsync/shared/keyring"
)

const (
	nonceSize = 12
	tagSize   = 16
	// MaxLen bounds a sealed value; longer text is refused unparsed. Credentials
	// are small; Table Storage caps a string property at 64 KiB anyway.
	MaxLen = 32 << 10
	// adLabel starts the associated data so that a value sealed here can never
	// be confused with GCM output of another purpose or format version.
	adLabel = "crmsync-seal-v1"
)

// Errors are classified by behaviour; compare with errors.Is.
var (
	// ErrMalformed: the text is not a sealed value at all.
	ErrMalformed = errors.New("seal: malformed sealed value")
	// ErrTampered: the value does not authenticate: it was altered, or it
	// belongs to another tenant, user, provider or purpose.
	ErrTampered = errors.New("seal: sealed value does not authenticate (altered, or moved from another row)")
	// ErrUnknownKey: the value names a key version the ring does not hold
	// (never existed, or retired). It is keyring.ErrUnknownKey.
	ErrUnknownKey = keyring.ErrUnknownKey
)

// Keys is what sealing needs from a key ring; keyring.Ring satisfies it.
type Keys interface {
	Current(ctx context.Context) (keyring.Key, error)
	Key(ctx context.Context, version int) (keyring.Key, error)
}

// AssociatedData is authenticated with the value but not stored in it: the
// same fields must be given to Open. They come from the row that holds the
// value (its key and columns), which is what binds the value to that row.
type AssociatedData struct {
	// Tenant is the organisation the credential belongs to (Salesforce org
	// id, Entra tenant id).
	Tenant string
	// User is the crmsync user id.
	User string
	// Provider names the service: "salesforce", "microsoft".
	Provider string
	// Purpose names the field: "refresh_token", "password"…, so that one
	// secret of a row cannot be swapped for another.
	Purpose string
}

func (ad AssociatedData) validate() error {
	var missing []string
	if ad.User == "" {
		missing = append(missing, "User")
	}
	if ad.Provider == "" {
		missing = append(missing, "Provider")
	}
	if ad.Purpose == "" {
		missing = append(missing, "Purpose")
	}
	if len(missing) > 0 {
		return fmt.Errorf("seal: associated data lacks %s", strings.Join(missing, ", "))
	}
	return nil
}

// bytes encodes the fields length-prefixed, so ("ab","c") and ("a","bc")
// differ, and includes the key version.
func (ad AssociatedData) bytes(version int) []byte {
	b := []byte(adLabel)
	b = binary.AppendUvarint(b, uint64(version))
	for _, f := range []string{ad.Tenant, ad.User, ad.Provider, ad.Purpose} {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	return b
}

// Seal encrypts plaintext under the ring's current key.
func Seal(ctx context.Context, keys Keys, plaintext []byte, ad AssociatedData) (string, error) {
	if err := ad.validate(); err != nil {
		return "", err
	}
	k, err := keys.Current(ctx)
	if err != nil {
		return "", fmt.Errorf("seal: %w", err)
	}
	return SealWith(k, plaintext, ad)
}

// SealWith encrypts plaintext under one given key; key rotation uses it to
// seal with the version it just added.
func SealWith(k keyring.Key, plaintext []byte, ad AssociatedData) (string, error) {
	if err := ad.validate(); err != nil {
		return "", err
	}
	aead, err := k.AEAD()
	if err != nil {
		return "", fmt.Errorf("seal: %w", err)
	}
	buf := make([]byte, nonceSize, nonceSize+len(plaintext)+tagSize)
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("seal: %w", err)
	}
	buf = aead.Seal(buf, buf[:nonceSize], plaintext, ad.bytes(k.Version))
	s := "v" + strconv.Itoa(k.Version) + "." + base64.RawURLEncoding.EncodeToString(buf)
	if len(s) > MaxLen {
		return "", fmt.Errorf("seal: plaintext of %d bytes is too long to seal", len(plaintext))
	}
	return s, nil
}

// Open decrypts a sealed value, checking it against ad.
func Open(ctx context.Context, keys Keys, sealed string, ad AssociatedData) ([]byte, error) {
	if err := ad.validate(); err != nil {
		return nil, err
	}
	version, raw, err := parse(sealed)
	if err != nil {
		return nil, err
	}
	k, err := keys.Key(ctx, version)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	aead, err := k.AEAD()
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	pt, err := aead.Open(nil, raw[:nonceSize], raw[nonceSize:], ad.bytes(version))
	if err != nil {
		return nil, ErrTampered
	}
	return pt, nil
}

// Version reports which key version sealed a value, without opening it.
func Version(sealed string) (int, error) {
	v, _, err := parse(sealed)
	return v, err
}

// IsSealed reports whether s has the shape of a sealed value.
func IsSealed(s string) bool {
	_, _, err := parse(s)
	return err == nil
}

// parse splits a sealed value. It checks shape only; authenticity is Open's job.
func parse(s string) (int, []byte, error) {
	if len(s) > MaxLen {
		return 0, nil, fmt.Errorf("%w: %d characters, limit %d", ErrMalformed, len(s), MaxLen)
	}
	head, body, ok := strings.Cut(s, ".")
	digits, hasV := strings.CutPrefix(head, "v")
	if !ok || !hasV {
		return 0, nil, fmt.Errorf("%w: want v<version>.<data>", ErrMalformed)
	}
	// Canonical decimal only (no sign, no leading zero, at most 9 digits), so
	// each value has exactly one spelling.
	if digits == "" || len(digits) > 9 || digits[0] == '0' || strings.Trim(digits, "0123456789") != "" {
		return 0, nil, fmt.Errorf("%w: bad key version", ErrMalformed)
	}
	version, err := strconv.Atoi(digits)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: bad key version", ErrMalformed)
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(body)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: data is not unpadded base64url", ErrMalformed)
	}
	if len(raw) < nonceSize+tagSize {
		return 0, nil, fmt.Errorf("%w: data too short", ErrMalformed)
	}
	return version, raw, nil
}
