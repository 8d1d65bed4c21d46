package fakegoogle

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"time"
)

// googleIssuer is the iss of every ID token Google issues (the modern
// spelling; accounts.google.com is the legacy one).
const googleIssuer = "https://accounts.google.com"

// consumerDomains are the domains of Google accounts that belong to no
// Workspace organisation: their ID tokens carry no hd claim.
var consumerDomains = []string{"gmail.com", "googlemail.com"}

// discovery answers GET /.well-known/openid-configuration as
// accounts.google.com does, with the endpoints at this server.
func (s *Server) discovery(w http.ResponseWriter, r *http.Request) {
	base := "http://" + r.Host
	if r.TLS != nil {
		base = "https://" + r.Host
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                googleIssuer,
		"authorization_endpoint":                base + "/o/oauth2/v2/auth",
		"token_endpoint":                        base + "/token",
		"revocation_endpoint":                   base + "/revoke",
		"jwks_uri":                              base + "/oauth2/v3/certs",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"openid", "email", "profile"},
		"code_challenge_methods_supported":      []string{"plain", "S256"},
		"claims_supported":                      []string{"aud", "email", "email_verified", "exp", "family_name", "given_name", "iat", "iss", "name", "sub"},
	})
}

// googleSub is the account's stable numeric id (sub): Google's are up to
// 255 ASCII characters, digits in practice; here derived from the address.
func googleSub(email string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(email)))
	return "1" + new(big.Int).SetBytes(sum[:9]).String()
}

// idToken is the ID token the token endpoint returns for a code whose
// scopes include openid: RS256 with the key at /oauth2/v3/certs, aud the
// client, the authorization request's nonce, email and email_verified with
// the email scope, hd only for a Workspace (non-consumer) domain.
func (s *Server) idToken(c *authCode) string {
	k := s.signingKey()
	now := s.now()
	claims := map[string]any{"iss": googleIssuer, "aud": c.client, "azp": c.client, "sub": googleSub(c.user),
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	if c.nonce != "" {
		claims["nonce"] = c.nonce
	}
	domain := c.user[strings.LastIndex(c.user, "@")+1:]
	if !slices.Contains(consumerDomains, domain) {
		claims["hd"] = domain
	}
	if slices.Contains(c.scopes, "email") {
		claims["email"], claims["email_verified"] = c.user, true
	}
	if slices.Contains(c.scopes, "profile") {
		local := c.user[:strings.LastIndex(c.user, "@")]
		claims["name"] = strings.ToUpper(local[:1]) + local[1:]
	}
	hdr, _ := json.Marshal(map[string]string{"alg": "RS256", "kid": k.kid, "typ": "JWT"})
	body, _ := json.Marshal(claims)
	in := base64.RawURLEncoding.EncodeToString(hdr) + "." + base64.RawURLEncoding.EncodeToString(body)
	sum := sha256.Sum256([]byte(in))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, k.key, crypto.SHA256, sum[:])
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// Subject is the sub of the ID tokens the local Google issues for email:
// the same for every sign-in, so a demo can sign its user up as the
// Google account that later signs in.
func Subject(email string) string { return googleSub(email) }
