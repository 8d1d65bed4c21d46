package identity

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// googleKeys serves a JWKS holding one key, as
// https://www.googleapis.com/oauth2/v3/certs does.
func googleKeys(t *testing.T, key *rsa.PrivateKey, kid string) string {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
			"n": base64.RawURLEncoding.EncodeToString(key.N.Bytes()), "e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes())}}})
	}))
	t.Cleanup(ts.Close)
	return ts.URL
}

func TestGoogleIDTokenVerification(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	keys := NewKeySet(googleKeys(t, key, "k1"), nil, clock)
	const client, nonce = "123-abc.apps.googleusercontent.com", "n0nce"
	good := func() jwt.MapClaims {
		return jwt.MapClaims{"iss": "https://accounts.google.com", "aud": client, "sub": "110169484474386276334",
			"email": "ann@example.com", "email_verified": true, "hd": "example.com", "nonce": nonce,
			"iat": now.Add(-time.Minute).Unix(), "exp": now.Add(time.Hour).Unix()}
	}
	sign := func(c jwt.MapClaims, k *rsa.PrivateKey) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
		tok.Header["kid"] = "k1"
		s, err := tok.SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	v := verifier{kind: Google, keys: keys, audiences: []string{client}, anyTenant: true, now: clock}

	id, _, err := v.verify(context.Background(), sign(good(), key), nonce)
	if err != nil {
		t.Fatalf("good token refused: %v", err)
	}
	if id.Kind != Google || id.Org != "example.com" || id.Subject != "110169484474386276334" || id.Email != "ann@example.com" {
		t.Fatalf("identity = %+v, want org example.com, sub, email", id)
	}
	legacy := good()
	legacy["iss"], legacy["email_verified"], legacy["hd"] = "accounts.google.com", "true", "Example.COM"
	if id, _, err := v.verify(context.Background(), sign(legacy, key), nonce); err != nil || id.Org != "example.com" {
		t.Fatalf("legacy issuer spelling: %+v, %v", id, err)
	}

	for _, tc := range []struct {
		name   string
		edit   func(jwt.MapClaims)
		key    *rsa.PrivateKey
		nonce  string
		want   string
		notWS  bool
		domain []string
	}{
		{name: "wrong aud", edit: func(c jwt.MapClaims) { c["aud"] = "someone-else.apps.googleusercontent.com" }, want: "wrong audience"},
		{name: "wrong iss", edit: func(c jwt.MapClaims) { c["iss"] = "https://evil.example" }, want: "issuer is not Google"},
		{name: "expired", edit: func(c jwt.MapClaims) {
			c["exp"] = now.Add(-time.Hour).Unix()
			c["iat"] = now.Add(-2 * time.Hour).Unix()
		}, want: "expired"},
		{name: "bad nonce", nonce: "another", want: "nonce"},
		{name: "no hd (gmail.com)", edit: func(c jwt.MapClaims) { delete(c, "hd"); c["email"] = "ann@gmail.com" }, want: "no hd", notWS: true},
		{name: "unverified email", edit: func(c jwt.MapClaims) { c["email_verified"] = false }, want: "not verified"},
		{name: "no email_verified", edit: func(c jwt.MapClaims) { delete(c, "email_verified") }, want: "not verified"},
		{name: "wrong key", key: other, want: "bad signature"},
		{name: "domain not allowed", domain: []string{"other.example"}, want: "not allowed"},
		{name: "no sub", edit: func(c jwt.MapClaims) { delete(c, "sub") }, want: "user"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good()
			if tc.edit != nil {
				tc.edit(c)
			}
			k, n, vv := key, nonce, v
			if tc.key != nil {
				k = tc.key
			}
			if tc.nonce != "" {
				n = tc.nonce
			}
			if tc.domain != nil {
				vv.anyTenant, vv.allowedTenants = false, tc.domain
			}
			_, _, err := vv.verify(context.Background(), sign(c, k), n)
			if !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrInvalidToken naming %q", err, tc.want)
			}
			if errors.Is(err, ErrNotWorkspace) != tc.notWS {
				t.Fatalf("ErrNotWorkspace = %v, want %v", errors.Is(err, ErrNotWorkspace), tc.notWS)
			}
		})
	}

	allowed := v
	allowed.anyTenant, allowed.allowedTenants = false, []string{"EXAMPLE.com"}
	if _, _, err := allowed.verify(context.Background(), sign(good(), key), nonce); err != nil {
		t.Fatalf("allowed domain (case-insensitive) refused: %v", err)
	}
}
