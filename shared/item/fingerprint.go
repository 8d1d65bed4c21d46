package item

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"hash"
)

// FingerprintBytes is how much of the HMAC a fingerprint keeps: 96 bits make an
// accidental match between two different values of one field vanishingly rare,
// while a stored link stays small.
const FingerprintBytes = 12

// MinKeyBytes is the shortest fingerprint key accepted.
const MinKeyBytes = 16

// Fingerprint returns the keyed fingerprint of one field value: HMAC-SHA256
// with the user's key over "kind|field|normalized value", truncated to
// FingerprintBytes and encoded base64url without padding (16 characters).
// Storage may hold it (the privacy rule): without the key it reveals nothing,
// not even whether two users share a value.
func Fingerprint(key []byte, kind Kind, field, value string) string {
	return NewFingerprinter(key).Fingerprint(kind, field, value)
}

// Fingerprints returns the fingerprints of rec's fields listed in fields.
// Fields absent from rec.Fields (not read) are absent from the result.
func Fingerprints(key []byte, rec Record, fields []string) map[string]string {
	f := NewFingerprinter(key)
	out := make(map[string]string, len(fields))
	for _, name := range fields {
		if v, ok := rec.Fields[name]; ok {
			out[name] = f.Fingerprint(rec.Kind, name, v)
		}
	}
	return out
}

// Fingerprinter computes fingerprints with one key, reusing its HMAC state; a
// planner over 100,000 links calls it often. It is not safe for concurrent use.
type Fingerprinter struct {
	mac hash.Hash
	buf []byte
	sum []byte
}

// NewFingerprinter returns a Fingerprinter for key.
func NewFingerprinter(key []byte) *Fingerprinter {
	return &Fingerprinter{mac: hmac.New(sha256.New, key)}
}

// Fingerprint is the package-level Fingerprint with f's key.
func (f *Fingerprinter) Fingerprint(kind Kind, field, value string) string {
	f.buf = append(f.buf[:0], kind...)
	f.buf = append(f.buf, '|')
	f.buf = append(f.buf, field...)
	f.buf = append(f.buf, '|')
	f.buf = append(f.buf, Normalize(field, value)...)
	f.mac.Reset()
	f.mac.Write(f.buf)
	f.sum = f.mac.Sum(f.sum[:0])
	return base64.RawURLEncoding.EncodeToString(f.sum[:FingerprintBytes])
}
