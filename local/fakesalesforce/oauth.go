package fakesalesforce

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html/template"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const keyID = "fakesalesforce-1"

type authCode struct {
	userID, clientID, redirectURI, challenge, scope, nonce string
	expires                                                time.Time
}

func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return strings.TrimRight(base64.RawURLEncoding.EncodeToString(b), "=")[:n]
}

// oauthError writes the OAuth error shape ({"error","error_description"}).
func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func (s *Server) client(id string) *Client {
	for i := range s.opts.Clients {
		if s.opts.Clients[i].ID == id {
			return &s.opts.Clients[i]
		}
	}
	return nil
}

func redirectAllowed(c *Client, uri string) bool {
	if len(c.RedirectURIs) == 0 {
		u, err := url.Parse(uri)
		if err != nil || u.Scheme == "" {
			return false
		}
		host := u.Hostname()
		ip := net.ParseIP(host)
		return host == "localhost" || ip != nil && ip.IsLoopback()
	}
	return contains(c.RedirectURIs, uri)
}

var loginPage = template.Must(template.New("login").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Login | Salesforce (local)</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,"></head>
<body><main>
<h1>Log in to Salesforce (local)</h1>
{{if .Error}}<p id="error" role="alert">{{.Error}}</p>{{end}}
<form method="post" action="/services/oauth2/authorize">
{{range $k, $v := .Params}}<input type="hidden" name="{{$k}}" value="{{$v}}">
{{end}}<label>Username <input id="username" name="username" type="email" autocomplete="username" value="{{.Username}}"></label>
<label>Password <input id="password" name="pw" type="password" autocomplete="current-password"></label>
<button id="Login" type="submit">Log In</button>
</form></main></body></html>
`))

type loginData struct {
	Error, Username string
	Params          map[string]string
}

func authorizeParams(v url.Values) map[string]string {
	out := map[string]string{}
	for _, k := range []string{"response_type", "client_id", "redirect_uri", "state", "scope", "code_challenge", "code_challenge_method", "nonce", "prompt", "login_hint"} {
		if x := v.Get(k); x != "" {
			out[k] = x
		}
	}
	return out
}

// checkAuthorize validates the client and redirect URI; errors that cannot be
// redirected are shown as a page, as Salesforce does.
func (s *Server) checkAuthorize(w http.ResponseWriter, p map[string]string) bool {
	c := s.client(p["client_id"])
	if c == nil {
		http.Error(w, "error=invalid_client_id: client identifier invalid", http.StatusBadRequest)
		return false
	}
	if !redirectAllowed(c, p["redirect_uri"]) {
		http.Error(w, "error=redirect_uri_mismatch: redirect_uri must match configuration", http.StatusBadRequest)
		return false
	}
	if p["response_type"] != "code" {
		redirectError(w, p, "unsupported_response_type", "response type not supported")
		return false
	}
	if m := p["code_challenge_method"]; p["code_challenge"] != "" && m != "" && m != "S256" {
		redirectError(w, p, "invalid_request", "code_challenge_method must be S256")
		return false
	}
	return true
}

func redirectError(w http.ResponseWriter, p map[string]string, code, desc string) {
	q := url.Values{"error": {code}, "error_description": {desc}}
	if p["state"] != "" {
		q.Set("state", p["state"])
	}
	w.Header().Set("Location", p["redirect_uri"]+sep(p["redirect_uri"])+q.Encode())
	w.WriteHeader(http.StatusFound)
}

func sep(u string) string {
	if strings.Contains(u, "?") {
		return "&"
	}
	return "?"
}

func (s *Server) authorizePage(w http.ResponseWriter, r *http.Request) {
	p := authorizeParams(r.URL.Query())
	if !s.checkAuthorize(w, p) {
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = loginPage.Execute(w, loginData{Params: p, Username: p["login_hint"]})
}

func (s *Server) authorizeSubmit(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	p := authorizeParams(r.PostForm)
	if !s.checkAuthorize(w, p) {
		return
	}
	s.mu.Lock()
	u := s.userByLogin(r.PostForm.Get("username"), r.PostForm.Get("pw"))
	if u == nil {
		s.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_ = loginPage.Execute(w, loginData{Params: p, Username: r.PostForm.Get("username"),
			Error: "Please check your username and password. If you still can't log in, contact your Salesforce administrator."})
		return
	}
	code := randomToken(40)
	s.codes[code] = &authCode{userID: u.id, clientID: p["client_id"], redirectURI: p["redirect_uri"], challenge: p["code_challenge"],
		scope: p["scope"], nonce: p["nonce"], expires: s.now().Add(15 * time.Minute)}
	s.mu.Unlock()
	q := url.Values{"code": {code}}
	if p["state"] != "" {
		q.Set("state", p["state"])
	}
	w.Header().Set("Location", p["redirect_uri"]+sep(p["redirect_uri"])+q.Encode())
	w.WriteHeader(http.StatusFound)
}

// userByLogin checks a username and password; s.mu is held.
func (s *Server) userByLogin(username, password string) *account {
	for _, u := range s.users {
		if strings.EqualFold(u.username, username) && u.password != "" && hmac.Equal([]byte(u.password), []byte(password)) {
			return u
		}
	}
	return nil
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "bad form body")
		return
	}
	f := r.PostForm
	clientID, secret := f.Get("client_id"), f.Get("client_secret")
	if id, sec, ok := r.BasicAuth(); ok {
		clientID, secret = id, sec
	}
	grantType := f.Get("grant_type")
	if grantType == "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		s.jwtBearer(w, r, f.Get("assertion"))
		return
	}
	c := s.client(clientID)
	if c == nil {
		oauthError(w, http.StatusBadRequest, "invalid_client_id", "client identifier invalid")
		return
	}
	if c.Secret != "" && !hmac.Equal([]byte(c.Secret), []byte(secret)) && grantType != "refresh_token" {
		oauthError(w, http.StatusBadRequest, "invalid_client", "invalid client credentials")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch grantType {
	case "authorization_code":
		code := s.codes[f.Get("code")]
		delete(s.codes, f.Get("code"))
		if code == nil || code.clientID != c.ID || s.now().After(code.expires) {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "invalid authorization code")
			return
		}
		if code.redirectURI != f.Get("redirect_uri") {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri must match configuration")
			return
		}
		verifier := f.Get("code_verifier")
		switch {
		case code.challenge != "" && verifier == "":
			oauthError(w, http.StatusBadRequest, "invalid_grant", "invalid code verifier")
			return
		case code.challenge != "" && pkceChallenge(verifier) != code.challenge:
			oauthError(w, http.StatusBadRequest, "invalid_request", "invalid code verifier")
			return
		case code.challenge == "" && c.Secret == "":
			oauthError(w, http.StatusBadRequest, "invalid_grant", "PKCE required for this client")
			return
		}
		s.issue(w, r, c, code.userID, code.scope, code.nonce, true)
	case "refresh_token":
		g := s.refresh[f.Get("refresh_token")]
		if g == nil || g.clientID != c.ID {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "expired access/refresh token")
			return
		}
		if c.Secret != "" && secret != "" && !hmac.Equal([]byte(c.Secret), []byte(secret)) {
			oauthError(w, http.StatusBadRequest, "invalid_client", "invalid client credentials")
			return
		}
		if c.RotateRefreshTokens {
			delete(s.refresh, f.Get("refresh_token"))
		}
		s.issue(w, r, c, g.userID, g.scope, "", c.RotateRefreshTokens)
	case "password":
		u := s.userByLogin(f.Get("username"), f.Get("password"))
		if u == nil {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "authentication failure")
			return
		}
		s.issue(w, r, c, u.id, "api", "", false)
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant type not supported")
	}
}

func pkceChallenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func (s *Server) jwtBearer(w http.ResponseWriter, r *http.Request, assertion string) {
	var claims jwt.RegisteredClaims
	var client *Client
	_, err := jwt.ParseWithClaims(assertion, &claims, func(t *jwt.Token) (any, error) {
		iss, _ := t.Claims.GetIssuer()
		client = s.client(iss)
		if client == nil || client.JWTKey == nil {
			return nil, fmt.Errorf("unknown client")
		}
		return client.JWTKey, nil
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithTimeFunc(s.now), jwt.WithExpirationRequired())
	if client == nil {
		// The iss claim names no connected app (a wrong consumer key).
		oauthError(w, http.StatusBadRequest, "invalid_client_id", "client identifier invalid")
		return
	}
	if err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "invalid assertion")
		return
	}
	if claims.ExpiresAt.Time.After(s.now().Add(5 * time.Minute)) {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "expiration time too far in the future")
		return
	}
	okAud := false
	for _, a := range claims.Audience {
		okAud = okAud || a == baseURL(r) || a == "https://login.salesforce.com" || a == "https://test.salesforce.com"
	}
	if !okAud {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "audience is invalid")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if strings.EqualFold(u.username, claims.Subject) {
			s.issue(w, r, client, u.id, "api", "", false)
			return
		}
	}
	oauthError(w, http.StatusBadRequest, "invalid_grant", "user hasn't approved this consumer")
}

// issue answers a token request; s.mu is held. Like Salesforce it sends no
// expires_in, and issued_at is a string of epoch milliseconds.
func (s *Server) issue(w http.ResponseWriter, r *http.Request, c *Client, userID, scope, nonce string, withRefresh bool) {
	now := s.now()
	base := baseURL(r)
	tok := s.orgID[:15] + "!" + randomToken(48)
	g := &grant{userID: userID, clientID: c.ID, scope: scope, issued: now}
	s.tokens[tok] = g
	idURL := base + "/id/" + s.orgID + "/" + userID
	issuedAt := strconv.FormatInt(now.UnixMilli(), 10)
	mac := hmac.New(sha256.New, []byte(c.Secret))
	mac.Write([]byte(idURL + issuedAt))
	out := map[string]string{
		"access_token": tok, "signature": base64.StdEncoding.EncodeToString(mac.Sum(nil)),
		"instance_url": base, "id": idURL, "token_type": "Bearer", "issued_at": issuedAt,
	}
	if scope != "" {
		out["scope"] = scope
	}
	scopes := strings.Fields(scope)
	if withRefresh && (contains(scopes, "refresh_token") || contains(scopes, "offline_access")) {
		rt := "5Aep" + randomToken(60)
		s.refresh[rt] = g
		out["refresh_token"] = rt
	}
	if contains(scopes, "openid") {
		out["id_token"] = s.idToken(base, c.ID, userID, nonce, now)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) idToken(base, clientID, userID, nonce string, now time.Time) string {
	u := s.records[userID]
	claims := jwt.MapClaims{
		"iss": base, "sub": base + "/id/" + s.orgID + "/" + userID, "aud": clientID,
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"email": u.str("Email"), "email_verified": true, "preferred_username": u.str("Username"),
		"name": u.str("Name"), "given_name": u.str("FirstName"), "family_name": u.str("LastName"),
		"user_id": userID, "organization_id": s.orgID,
	}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	t.Header["kid"] = keyID
	signed, _ := t.SignedString(s.signingKey())
	return signed
}

func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	tok := r.Form.Get("token")
	s.mu.Lock()
	_, a := s.tokens[tok]
	_, b := s.refresh[tok]
	delete(s.tokens, tok)
	if g := s.refresh[tok]; g != nil {
		for k, v := range s.tokens {
			if v == g {
				delete(s.tokens, k)
			}
		}
	}
	delete(s.refresh, tok)
	s.mu.Unlock()
	if !a && !b {
		oauthError(w, http.StatusBadRequest, "unsupported_token_type", "this token type is not supported")
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) jwks(w http.ResponseWriter, r *http.Request) {
	pub := s.signingKey().PublicKey
	writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "kid": keyID, "use": "sig", "alg": "RS256",
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}

func (s *Server) openidConfiguration(w http.ResponseWriter, r *http.Request) {
	base := baseURL(r)
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer": base, "authorization_endpoint": base + "/services/oauth2/authorize",
		"token_endpoint": base + "/services/oauth2/token", "revocation_endpoint": base + "/services/oauth2/revoke",
		"userinfo_endpoint": base + "/services/oauth2/userinfo", "jwks_uri": base + "/id/keys",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"id", "api", "web", "full", "openid", "refresh_token", "offline_access", "profile", "email"},
		"claims_supported":                      []string{"sub", "email", "email_verified", "name", "preferred_username", "given_name", "family_name", "user_id", "organization_id", "nonce"},
		"code_challenge_methods_supported":      []string{"S256"},
		"grant_types_supported":                 []string{"authorization_code", "refresh_token", "password", "urn:ietf:params:oauth:grant-type:jwt-bearer"},
	})
}

func (s *Server) userinfo(w http.ResponseWriter, r *http.Request) {
	u, ok := s.authenticate(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeJSON(w, http.StatusForbidden, []map[string]string{{"message": "Bad_OAuth_Token", "errorCode": "FORBIDDEN"}})
		return
	}
	s.mu.Lock()
	rec := s.records[u.id]
	info := map[string]any{
		"sub": baseURL(r) + "/id/" + s.orgID + "/" + u.id, "user_id": u.id, "organization_id": s.orgID,
		"preferred_username": rec.str("Username"), "nickname": rec.str("Alias"), "name": rec.str("Name"),
		"email": rec.str("Email"), "email_verified": true, "given_name": rec.str("FirstName"), "family_name": rec.str("LastName"),
		"zoneinfo": "GMT", "active": true, "user_type": "STANDARD", "language": "en_US", "locale": "en_US", "utcOffset": 0,
		"updated_at": formatDateTime(rec.f["LastModifiedDate"].(time.Time)),
		"urls":       s.urls(baseURL(r), u.id),
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, info)
}

func (s *Server) urls(base, userID string) map[string]string {
	v := "/services/data/v{version}/"
	return map[string]string{
		"rest": base + v, "sobjects": base + v + "sobjects/", "search": base + v + "search/", "query": base + v + "query/",
		"recent": base + v + "recent/", "profile": base + "/" + userID, "feeds": base + v + "chatter/feeds",
		"feed_elements": base + v + "chatter/feed-elements", "users": base + v + "chatter/users",
		"custom_domain": base,
	}
}

func (s *Server) identity(w http.ResponseWriter, r *http.Request) {
	u, ok := s.authenticate(r)
	if !ok {
		writeJSON(w, http.StatusForbidden, "Bad_OAuth_Token")
		return
	}
	if r.PathValue("org") != s.orgID || r.PathValue("user") != u.id {
		writeJSON(w, http.StatusForbidden, "Bad_Id")
		return
	}
	s.mu.Lock()
	rec := s.records[u.id]
	out := map[string]any{
		"id": baseURL(r) + "/id/" + s.orgID + "/" + u.id, "asserted_user": true, "user_id": u.id, "organization_id": s.orgID,
		"username": rec.str("Username"), "nick_name": rec.str("Alias"), "display_name": rec.str("Name"), "email": rec.str("Email"),
		"email_verified": true, "first_name": rec.str("FirstName"), "last_name": rec.str("LastName"), "timezone": "GMT",
		"active": true, "user_type": "STANDARD", "language": "en_US", "locale": "en_US", "utcOffset": 0,
		"last_modified_date": formatDateTime(rec.f["LastModifiedDate"].(time.Time)), "is_app_installed": true,
		"urls": s.urls(baseURL(r), u.id),
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}
