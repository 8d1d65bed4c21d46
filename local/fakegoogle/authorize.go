package fakegoogle

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// codeLifetime is how long an authorization code may wait to be redeemed.
const codeLifetime = 10 * time.Minute

// authCode is an authorization code waiting to be redeemed, bound to what
// the authorization request said.
type authCode struct {
	client, redirect    string
	challenge, method   string
	user                string
	nonce               string
	scopes              []string
	offline             bool
	expires             time.Time
	refreshOnRedemption bool
}

// SignIn makes email the Google account signed in to the browser that
// visits the authorization endpoint, as a user signed in at
// accounts.google.com; "" signs out. A login_hint naming another known
// user wins, as the account chooser would pick it.
func (s *Server) SignIn(email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.signedIn = strings.ToLower(email)
}

// DeclineScopes makes email untick these scopes on the consent screen from
// now on (granular consent): the code and token grant the others only.
func (s *Server) DeclineScopes(email string, scopes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.declined == nil {
		s.declined = map[string][]string{}
	}
	s.declined[strings.ToLower(email)] = scopes
}

// authorize answers GET /o/oauth2/v2/auth: an unknown client or a request
// without a redirect URI gets Google's error page (no redirect); otherwise
// the signed-in user consents at once and the browser returns to the
// redirect URI with a single-use code, the state and the granted scopes.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests["authorize"]++
	q := r.URL.Query()
	errorPage := func(code int, e, desc string) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(code)
		fmt.Fprintf(w, "<!doctype html><title>Error %d: %s</title><h1>Access blocked: authorization error</h1><p>Error %d: %s</p><p>%s</p>",
			code, e, code, e, html.EscapeString(desc))
	}
	client, redirect := q.Get("client_id"), q.Get("redirect_uri")
	if len(s.opts.Clients) > 0 && s.opts.Clients[client] == "" {
		errorPage(http.StatusUnauthorized, "invalid_client", "The OAuth client was not found.")
		return
	}
	back, err := url.Parse(redirect)
	if redirect == "" || err != nil || !back.IsAbs() {
		errorPage(http.StatusBadRequest, "invalid_request", "Missing required parameter: redirect_uri")
		return
	}
	fail := func(e string) {
		v := back.Query()
		v.Set("error", e)
		if st := q.Get("state"); st != "" {
			v.Set("state", st)
		}
		back.RawQuery = v.Encode()
		http.Redirect(w, r, back.String(), http.StatusFound)
	}
	if q.Get("response_type") != "code" {
		errorPage(http.StatusBadRequest, "unsupported_response_type", "Only response_type=code is served by the local Google.")
		return
	}
	method := q.Get("code_challenge_method")
	if q.Get("code_challenge") != "" && method == "" {
		method = "plain"
	}
	if method != "" && method != "S256" && method != "plain" {
		errorPage(http.StatusBadRequest, "invalid_request", "Invalid code_challenge_method value.")
		return
	}
	scopes := strings.Fields(q.Get("scope"))
	if len(scopes) == 0 {
		errorPage(http.StatusBadRequest, "invalid_request", "Missing required parameter: scope")
		return
	}
	who := s.signedIn
	if hint := strings.ToLower(q.Get("login_hint")); s.users[hint] != nil {
		who = hint
	}
	if s.users[who] == nil {
		fail("access_denied")
		return
	}
	var granted []string
	for _, sc := range scopes {
		if !slices.Contains(s.declined[who], sc) {
			granted = append(granted, sc)
		}
	}
	if len(granted) == 0 {
		fail("access_denied")
		return
	}
	// A refresh token comes with the first offline consent of a user to a
	// client, and again only when the consent screen is shown again.
	key := who + "\x00" + client
	offline := q.Get("access_type") == "offline"
	refresh := offline && (!s.consented[key] || slices.Contains(strings.Fields(q.Get("prompt")), "consent"))
	if offline {
		if s.consented == nil {
			s.consented = map[string]bool{}
		}
		s.consented[key] = true
	}
	code := randomID("4/0A")
	if s.codes == nil {
		s.codes = map[string]*authCode{}
	}
	s.codes[code] = &authCode{client: client, redirect: redirect, challenge: q.Get("code_challenge"), method: method,
		user: who, nonce: q.Get("nonce"), scopes: granted, offline: offline, refreshOnRedemption: refresh, expires: s.now().Add(codeLifetime)}
	v := back.Query()
	v.Set("code", code)
	v.Set("scope", strings.Join(granted, " "))
	if st := q.Get("state"); st != "" {
		v.Set("state", st)
	}
	back.RawQuery = v.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

// codeGrant redeems an authorization code (s.mu held): once, by the client
// it was issued to, with the same redirect URI and the PKCE verifier of
// its challenge.
func (s *Server) codeGrant(w http.ResponseWriter, r *http.Request, client string) {
	bad := func(e, desc string) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": e, "error_description": desc})
	}
	code := r.PostForm.Get("code")
	c := s.codes[code]
	delete(s.codes, code)
	switch {
	case c == nil || s.now().After(c.expires) || c.client != client:
		bad("invalid_grant", "Malformed auth code.")
		return
	case r.PostForm.Get("redirect_uri") != c.redirect:
		bad("redirect_uri_mismatch", "Bad Request")
		return
	}
	verifier := r.PostForm.Get("code_verifier")
	if c.challenge != "" {
		want := verifier
		if c.method == "S256" {
			sum := sha256.Sum256([]byte(verifier))
			want = base64.RawURLEncoding.EncodeToString(sum[:])
		}
		switch {
		case verifier == "":
			bad("invalid_grant", "Missing code verifier.")
			return
		case subtle.ConstantTimeCompare([]byte(want), []byte(c.challenge)) != 1:
			bad("invalid_grant", "Invalid code verifier.")
			return
		}
	}
	access := randomID("ya29.")
	s.tokens[access] = c.user
	out := map[string]any{"access_token": access, "expires_in": 3599, "token_type": "Bearer", "scope": strings.Join(c.scopes, " ")}
	if slices.Contains(c.scopes, "openid") {
		out["id_token"] = s.idToken(c)
	}
	if c.refreshOnRedemption {
		rt := randomID("1//")
		s.refresh[rt] = c.user
		out["refresh_token"] = rt
	}
	writeJSON(w, http.StatusOK, out)
}

// revoke answers POST /revoke: token= a refresh or access token; a known
// one stops working (a refresh token also takes the user's consent to the
// client with it), an unknown one is 400 invalid_token.
func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests["revoke"]++
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "malformed form body"})
		return
	}
	tok := r.Form.Get("token")
	switch {
	case tok != "" && s.refresh[tok] != "":
		who := s.refresh[tok]
		delete(s.refresh, tok)
		for k := range s.consented {
			if strings.HasPrefix(k, who+"\x00") {
				delete(s.consented, k)
			}
		}
	case tok != "" && s.tokens[tok] != "":
		delete(s.tokens, tok)
	default:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_token", "error_description": "Token expired or revoked"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}
