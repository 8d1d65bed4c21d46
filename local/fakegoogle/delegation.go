package fakegoogle

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"
)

// ServiceAccount is a service account an admin granted domain-wide
// delegation: its public key and the scopes granted to it in the admin
// console.
type ServiceAccount struct {
	Key    *rsa.PublicKey
	Scopes []string
}

const jwtBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// jwtGrant answers the JWT bearer grant of a service account: the assertion
// must be signed (RS256) by a known service account, addressed to the token
// endpoint, valid for at most an hour, ask only for granted scopes, and name
// in sub the user to act as.
func (s *Server) jwtGrant(w http.ResponseWriter, r *http.Request) {
	bad := func(code int, e, desc string) {
		writeJSON(w, code, map[string]string{"error": e, "error_description": desc})
	}
	parts := strings.Split(r.PostForm.Get("assertion"), ".")
	if len(parts) != 3 {
		bad(http.StatusBadRequest, "invalid_grant", "Invalid JWT: Token must be a short-lived token and in a reasonable timeframe")
		return
	}
	var claims struct {
		Iss, Scope, Aud, Sub string
		Exp, Iat             int64
	}
	payload, err1 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err2 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || json.Unmarshal(payload, &claims) != nil {
		bad(http.StatusBadRequest, "invalid_grant", "Invalid JWT Signature.")
		return
	}
	sa, ok := s.opts.ServiceAccounts[claims.Iss]
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ok || rsa.VerifyPKCS1v15(sa.Key, crypto.SHA256, sum[:], sig) != nil {
		bad(http.StatusBadRequest, "invalid_grant", "Invalid JWT Signature.")
		return
	}
	now := s.now().Unix()
	if !strings.HasSuffix(claims.Aud, "/token") || claims.Exp < now || claims.Iat > now+60 || claims.Exp-claims.Iat > int64(time.Hour/time.Second) {
		bad(http.StatusBadRequest, "invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.")
		return
	}
	for _, sc := range strings.Fields(claims.Scope) {
		if !slices.Contains(sa.Scopes, sc) {
			bad(http.StatusUnauthorized, "unauthorized_client", "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.")
			return
		}
	}
	key := strings.ToLower(claims.Sub)
	if claims.Sub == "" || s.users[key] == nil {
		// Without sub the service account acts as itself: it has no mailbox.
		bad(http.StatusBadRequest, "invalid_grant", "Invalid email or User ID")
		return
	}
	access := randomID("ya29.c.")
	s.tokens[access] = key
	writeJSON(w, http.StatusOK, map[string]any{"access_token": access, "expires_in": 3599, "token_type": "Bearer"})
}
