package identity

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// ErrBadCookie: a cookie was malformed, tampered with, signed for another
// purpose or expired.
var ErrBadCookie = errors.New("identity: cookie rejected")

// maxCookieLen bounds what is decoded at all; browsers cap cookies at 4 KiB.
const maxCookieLen = 4096

// signer makes and opens "v1.<payload>.<mac>" values: base64url JSON and an
// HMAC-SHA256 over the purpose and the encoded payload, so a value signed as
// one kind of cookie never opens as another.
type signer struct {
	key []byte
}

func (s signer) mac(purpose, payload string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("crmsync/" + purpose + "/v1\x00" + payload))
	return m.Sum(nil)
}

func (s signer) seal(purpose string, v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("identity: encoding cookie: %w", err)
	}
	payload := base64.RawURLEncoding.EncodeToString(b)
	return "v1." + payload + "." + base64.RawURLEncoding.EncodeToString(s.mac(purpose, payload)), nil
}

// open verifies the MAC before looking at the payload, then decodes it
// strictly into v.
func (s signer) open(purpose, value string, v any) error {
	if len(value) > maxCookieLen {
		return fmt.Errorf("%w: too long", ErrBadCookie)
	}
	version, rest, ok := strings.Cut(value, ".")
	if !ok || version != "v1" {
		return fmt.Errorf("%w: unknown format", ErrBadCookie)
	}
	payload, sig, ok := strings.Cut(rest, ".")
	if !ok {
		return fmt.Errorf("%w: unknown format", ErrBadCookie)
	}
	got, err := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err != nil || !hmac.Equal(got, s.mac(purpose, payload)) {
		return fmt.Errorf("%w: bad signature", ErrBadCookie)
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(payload)
	if err != nil {
		return fmt.Errorf("%w: bad encoding", ErrBadCookie)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: bad payload", ErrBadCookie)
	}
	return nil
}
