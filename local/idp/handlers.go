package idp

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func (s *Server) routes() {
	mux := http.NewServeMux()
	// Entra ID v2.0 shapes; {tenant} is a tenant id, "organizations" or "common".
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", s.discoveryEntra)
	mux.HandleFunc("GET /{tenant}/discovery/v2.0/keys", s.jwks)
	mux.HandleFunc("GET /{tenant}/oauth2/v2.0/authorize", s.authorize(entra))
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/authorize", s.authorize(entra))
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", s.token(entra))
	// Salesforce shapes.
	mux.HandleFunc("GET /.well-known/openid-configuration", s.discoverySalesforce)
	mux.HandleFunc("GET /id/keys", s.jwks)
	mux.HandleFunc("GET /services/oauth2/authorize", s.authorize(salesforce))
	mux.HandleFunc("POST /services/oauth2/authorize", s.authorize(salesforce))
	mux.HandleFunc("POST /services/oauth2/token", s.token(salesforce))
	s.mux = mux
}

// ServeHTTP serves the provider under the issuer URL's path.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	prefix := strings.TrimSuffix(s.base.Path, "/")
	if prefix == "" {
		s.mux.ServeHTTP(w, r)
		return
	}
	http.StripPrefix(prefix, s.mux).ServeHTTP(w, r)
}

func (s *Server) discoveryEntra(w http.ResponseWriter, r *http.Request) {
	seg := r.PathValue("tenant")
	issuer := s.Issuer(seg)
	if seg == "organizations" || seg == "common" {
		issuer = s.Issuer("{tenantid}") // Entra's multi-tenant template
	}
	base := s.base.String() + "/" + seg
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                issuer,
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"jwks_uri":                              base + "/discovery/v2.0/keys",
		"response_types_supported":              []string{"code"},
		"response_modes_supported":              []string{"query"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"scopes_supported":                      []string{"openid", "profile", "offline_access"},
		"claims_supported":                      []string{"sub", "iss", "aud", "exp", "iat", "nbf", "nonce", "oid", "tid", "name"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "client_secret_basic", "none"},
	})
}

func (s *Server) discoverySalesforce(w http.ResponseWriter, r *http.Request) {
	base := s.base.String()
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                base,
		"authorization_endpoint":                base + "/services/oauth2/authorize",
		"token_endpoint":                        base + "/services/oauth2/token",
		"jwks_uri":                              base + "/id/keys",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"scopes_supported":                      []string{"openid", "id", "api", "refresh_token"},
	})
}

func (s *Server) jwks(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	keys := make([]map[string]string, 0, len(s.keys))
	for _, k := range s.keys {
		keys = append(keys, map[string]string{
			"kty": "RSA", "use": "sig", "alg": "RS256", "kid": k.kid,
			"n": base64.RawURLEncoding.EncodeToString(k.key.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.key.E)).Bytes()),
		})
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"keys": keys})
}

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>crmsync local sign-in</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto}button{display:block;width:100%;margin:.5rem 0;padding:.75rem;font-size:1rem}</style>
</head><body>
<h1>Local sign-in</h1>
<p>This is crmsync's local identity provider. Pick a demo user.</p>
<form method="post">
{{range $k, $v := .Params}}<input type="hidden" name="{{$k}}" value="{{$v}}">
{{end}}{{range .Users}}<button type="submit" name="login_hint" value="{{.ID}}">{{.Name}} <small>({{with .Email}}{{.}}{{else}}{{.Tenant}}{{end}})</small></button>
{{else}}<p>No user belongs to this tenant.</p>{{end}}
</form></body></html>`))

// authorize shows the user picker (GET) or, once a user is chosen (POST, or
// a login_hint naming a demo user), redirects back with a code.
func (s *Server) authorize(f flavour) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, "malformed request", http.StatusBadRequest)
			return
		}
		q := r.Form
		client, ok := s.clients[q.Get("client_id")]
		if !ok {
			http.Error(w, "unknown client_id", http.StatusBadRequest)
			return
		}
		redirect := q.Get("redirect_uri")
		if !s.redirectAllowed(client, redirect) {
			// Never redirect to an unregistered URI: show the error instead.
			http.Error(w, "redirect_uri is not registered for this client", http.StatusBadRequest)
			return
		}
		fail := func(code, desc string) {
			redirectWith(w, r, redirect, url.Values{"error": {code}, "error_description": {desc}, "state": {q.Get("state")}})
		}
		switch {
		case q.Get("response_type") != "code":
			fail("unsupported_response_type", "only response_type=code is supported")
			return
		case q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256":
			fail("invalid_request", "PKCE with code_challenge_method=S256 is required")
			return
		}
		tenantSeg := r.PathValue("tenant")
		eligible := s.eligible(f, tenantSeg)
		hint := q.Get("login_hint")
		var chosen *User
		for i := range eligible {
			if eligible[i].ID == hint {
				chosen = &eligible[i]
			}
		}
		if chosen == nil {
			if r.Method == http.MethodPost {
				fail("access_denied", "the chosen user cannot sign in here")
				return
			}
			params := map[string]string{}
			for _, k := range []string{"client_id", "redirect_uri", "response_type", "scope", "state", "nonce", "code_challenge", "code_challenge_method"} {
				params[k] = q.Get(k)
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			// form-action governs the redirects that follow a form's
			// submission too (Chromium enforces it on them): 'self' alone
			// blocks the answer's 302 back to the client. The validated
			// redirect URI's origin is the one other place this form may
			// lead, as at Entra's and Salesforce's own login pages.
			w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self' "+origin(redirect))
			_ = loginPage.Execute(w, map[string]any{"Params": params, "Users": eligible})
			return
		}
		code := randomString()
		s.mu.Lock()
		s.codes[code] = grant{
			client: client.ID, redirect: redirect, scope: q.Get("scope"), nonce: q.Get("nonce"),
			challenge: q.Get("code_challenge"), user: *chosen, flavour: f, expires: s.now().Add(5 * time.Minute),
		}
		s.mu.Unlock()
		redirectWith(w, r, redirect, url.Values{"code": {code}, "state": {q.Get("state")}})
	}
}

// eligible lists the users who may sign in at a tenant segment: everyone for
// "organizations"/"common" and the Salesforce flavour, else that tenant's.
func (s *Server) eligible(f flavour, seg string) []User {
	if f == salesforce || seg == "organizations" || seg == "common" {
		return slices.Clone(s.users)
	}
	var out []User
	for _, u := range s.users {
		if u.Tenant == seg {
			out = append(out, u)
		}
	}
	return out
}

func (s *Server) redirectAllowed(c Client, redirect string) bool {
	if len(c.RedirectURIs) > 0 {
		return slices.Contains(c.RedirectURIs, redirect)
	}
	u, err := url.Parse(redirect)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Fragment != "" {
		return false
	}
	host := u.Hostname()
	if host == "localhost" || host == s.base.Hostname() {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// origin is scheme://host[:port] of a validated redirect URI.
func origin(redirect string) string {
	u, err := url.Parse(redirect)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

func redirectWith(w http.ResponseWriter, r *http.Request, target string, params url.Values) {
	u, _ := url.Parse(target)
	q := u.Query()
	for k, v := range params {
		if len(v) > 0 && v[0] != "" {
			q[k] = v
		}
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// token redeems an authorization code: the code is single use, bound to its
// client and redirect URI, and the code_verifier must hash to the challenge.
func (s *Server) token(f flavour) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			tokenError(w, http.StatusBadRequest, "invalid_request", "malformed form body")
			return
		}
		if r.PostForm.Get("grant_type") != "authorization_code" {
			tokenError(w, http.StatusBadRequest, "unsupported_grant_type", "only authorization_code is supported")
			return
		}
		clientID, secret, basic := r.BasicAuth()
		if basic {
			clientID, _ = url.QueryUnescape(clientID)
			secret, _ = url.QueryUnescape(secret)
		} else {
			clientID, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
		}
		client, ok := s.clients[clientID]
		if !ok || (client.Secret != "" && subtle.ConstantTimeCompare([]byte(secret), []byte(client.Secret)) != 1) {
			tokenError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
			return
		}
		code := r.PostForm.Get("code")
		s.mu.Lock()
		g, found := s.codes[code]
		delete(s.codes, code) // single use, even when the rest fails
		s.mu.Unlock()
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		switch {
		case !found || g.flavour != f:
			tokenError(w, http.StatusBadRequest, "invalid_grant", "the code is unknown or was already used")
		case s.now().After(g.expires):
			tokenError(w, http.StatusBadRequest, "invalid_grant", "the code has expired")
		case g.client != clientID:
			tokenError(w, http.StatusBadRequest, "invalid_grant", "the code was issued to another client")
		case g.redirect != r.PostForm.Get("redirect_uri"):
			tokenError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri does not match the authorization request")
		case r.PostForm.Get("code_verifier") == "":
			tokenError(w, http.StatusBadRequest, "invalid_grant", "code_verifier is required")
		case subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(g.challenge)) != 1:
			tokenError(w, http.StatusBadRequest, "invalid_grant", "code_verifier does not match the code_challenge")
		default:
			resp, err := s.tokenResponse(g)
			if err != nil {
				tokenError(w, http.StatusInternalServerError, "server_error", "could not sign the token")
				return
			}
			writeJSON(w, http.StatusOK, resp)
		}
	}
}

func (s *Server) tokenResponse(g grant) (map[string]any, error) {
	now := s.now()
	scopes := strings.Fields(g.scope)
	resp := map[string]any{"token_type": "Bearer", "scope": g.scope}
	var apiScopes []string
	for _, sc := range scopes {
		if name, ok := strings.CutPrefix(sc, s.apiScope+"/"); ok && s.apiScope != "" {
			apiScopes = append(apiScopes, name)
		}
	}
	access := randomString() // an opaque token for anything but our API
	if len(apiScopes) > 0 && g.flavour == entra {
		t, err := s.Sign(s.accessClaims(g.user, g.client, apiScopes))
		if err != nil {
			return nil, err
		}
		access = t
	}
	resp["access_token"] = access
	if slices.Contains(scopes, "openid") {
		claims := jwt.MapClaims{
			"aud": g.client, "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(s.lifetime).Unix(),
			"name": g.user.Name,
		}
		if g.nonce != "" {
			claims["nonce"] = g.nonce
		}
		if g.flavour == entra {
			claims["iss"] = s.Issuer(g.user.Tenant)
			claims["sub"] = pairwise(g.user.ID, g.client)
			claims["oid"], claims["tid"], claims["ver"] = g.user.ID, g.user.Tenant, "2.0"
			if g.user.Email != "" {
				// Entra's UPN claim, which crmsync reads as the address.
				claims["preferred_username"] = g.user.Email
			}
		} else {
			claims["iss"] = s.SalesforceIssuer()
			claims["sub"] = s.SalesforceIssuer() + "/id/" + g.user.Tenant + "/" + g.user.ID
			if g.user.Email != "" {
				claims["email"] = g.user.Email
			}
		}
		id, err := s.Sign(claims)
		if err != nil {
			return nil, err
		}
		resp["id_token"] = id
	}
	if g.flavour == entra {
		resp["expires_in"] = int(s.lifetime.Seconds())
	} else {
		// Salesforce sends no expires_in, and issued_at as a millisecond string.
		resp["instance_url"] = s.SalesforceIssuer()
		resp["id"] = s.SalesforceIssuer() + "/id/" + g.user.Tenant + "/" + g.user.ID
		resp["issued_at"] = strconv.FormatInt(now.UnixMilli(), 10)
	}
	return resp, nil
}

func tokenError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
