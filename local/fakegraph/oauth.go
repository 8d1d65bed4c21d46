package fakegraph

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// tokenInfo is what an access token grants: one mailbox (delegated) or
// every mailbox (mailbox == "", app-only).
type tokenInfo struct {
	mailbox string
	expires time.Time
}

type authCode struct {
	mailbox     string
	clientID    string
	redirectURI string
	challenge   string
	expires     time.Time
}

func randomToken(prefix string) string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// Token mints a delegated access token for the mailbox upn (for tests and
// the demo; real clients use the token endpoint).
func (s *Server) Token(upn string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.mailboxFor(upn)
	if m == nil {
		return ""
	}
	t := randomToken("eyJ0.delegated.")
	s.tokens[t] = tokenInfo{mailbox: m.id, expires: s.now().Add(time.Hour)}
	return t
}

// AppToken mints an app-only access token that reaches every mailbox.
func (s *Server) AppToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := randomToken("eyJ0.app.")
	s.tokens[t] = tokenInfo{expires: s.now().Add(time.Hour)}
	return t
}

// RevokeTokens invalidates every access and refresh token of the mailbox
// (the user changed their password or an admin revoked the grant).
func (s *Server) RevokeTokens(upn string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.mailboxFor(upn)
	if m == nil {
		return
	}
	for k, v := range s.tokens {
		if v.mailbox == m.id {
			delete(s.tokens, k)
		}
	}
	for k, v := range s.refresh {
		if v == m.id {
			delete(s.refresh, k)
		}
	}
}

func (s *Server) authenticate(r *http.Request) (tokenInfo, *apiError) {
	h := r.Header.Get("Authorization")
	tok, found := strings.CutPrefix(h, "Bearer ")
	unauth := &apiError{status: 401, code: "InvalidAuthenticationToken", message: "Access token is empty or invalid."}
	if !found || tok == "" {
		return tokenInfo{}, unauth
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	info, ok := s.tokens[tok]
	if !ok {
		return tokenInfo{}, unauth
	}
	if s.now().After(info.expires) {
		return tokenInfo{}, &apiError{status: 401, code: "InvalidAuthenticationToken", message: "Lifetime validation failed, the token is expired."}
	}
	return info, nil
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]any{"error": code, "error_description": desc})
}

// serveAuthorize signs in the user named by login_hint at once (there is no
// password in the local Graph) and redirects back with a code.
func (s *Server) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	redirect := v.Get("redirect_uri")
	ru, err := url.Parse(redirect)
	if err != nil || ru.Scheme == "" {
		http.Error(w, "redirect_uri must be absolute", http.StatusBadRequest)
		return
	}
	if v.Get("response_type") != "code" || v.Get("client_id") == "" {
		http.Error(w, "response_type=code and client_id are required", http.StatusBadRequest)
		return
	}
	if v.Get("code_challenge") == "" || v.Get("code_challenge_method") != "S256" {
		http.Error(w, "PKCE with S256 is required", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	m := s.mailboxFor(v.Get("login_hint"))
	if m == nil && len(s.order) > 0 && v.Get("login_hint") == "" {
		m = s.mailboxes[s.order[0]]
	}
	if m == nil {
		s.mu.Unlock()
		http.Error(w, "unknown user", http.StatusBadRequest)
		return
	}
	code := randomToken("code.")
	s.codes[code] = authCode{mailbox: m.id, clientID: v.Get("client_id"), redirectURI: redirect, challenge: v.Get("code_challenge"), expires: s.now().Add(10 * time.Minute)}
	s.mu.Unlock()
	q := ru.Query()
	q.Set("code", code)
	if st := v.Get("state"); st != "" {
		q.Set("state", st)
	}
	ru.RawQuery = q.Encode()
	http.Redirect(w, r, ru.String(), http.StatusFound)
}

// serveToken is the v2.0 token endpoint: authorization_code (with PKCE),
// refresh_token (rotating) and client_credentials.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		oauthError(w, 405, "invalid_request", "POST required")
		return
	}
	if err := r.ParseForm(); err != nil {
		oauthError(w, 400, "invalid_request", "bad form")
		return
	}
	f := r.PostForm
	clientID, secret := f.Get("client_id"), f.Get("client_secret")
	if id, sec, ok := r.BasicAuth(); ok {
		clientID, secret = id, sec
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.opts.Clients) > 0 {
		want, known := s.opts.Clients[clientID]
		if !known {
			oauthError(w, 400, "unauthorized_client", "AADSTS700016: application not found")
			return
		}
		if f.Get("grant_type") == "client_credentials" && secret != want {
			oauthError(w, 401, "invalid_client", "AADSTS7000215: invalid client secret")
			return
		}
	}
	var mb string
	switch f.Get("grant_type") {
	case "authorization_code":
		c, found := s.codes[f.Get("code")]
		delete(s.codes, f.Get("code"))
		if !found || s.now().After(c.expires) || c.clientID != clientID || c.redirectURI != f.Get("redirect_uri") {
			oauthError(w, 400, "invalid_grant", "AADSTS70008: the authorization code is invalid or expired")
			return
		}
		sum := sha256.Sum256([]byte(f.Get("code_verifier")))
		if base64.RawURLEncoding.EncodeToString(sum[:]) != c.challenge {
			oauthError(w, 400, "invalid_grant", "AADSTS501481: the code_verifier does not match the code_challenge")
			return
		}
		mb = c.mailbox
	case "refresh_token":
		m, found := s.refresh[f.Get("refresh_token")]
		if !found {
			oauthError(w, 400, "invalid_grant", "AADSTS70000: the refresh token is invalid or revoked")
			return
		}
		delete(s.refresh, f.Get("refresh_token"))
		mb = m
	case "client_credentials":
		if !strings.HasSuffix(f.Get("scope"), "/.default") {
			oauthError(w, 400, "invalid_scope", "client_credentials needs a /.default scope")
			return
		}
		t := randomToken("eyJ0.app.")
		s.tokens[t] = tokenInfo{expires: s.now().Add(time.Hour)}
		writeJSON(w, 200, map[string]any{"token_type": "Bearer", "access_token": t, "expires_in": 3599, "ext_expires_in": 3599})
		return
	default:
		oauthError(w, 400, "unsupported_grant_type", "grant_type is not supported")
		return
	}
	t, rt := randomToken("eyJ0.delegated."), randomToken("rt.")
	s.tokens[t] = tokenInfo{mailbox: mb, expires: s.now().Add(time.Hour)}
	s.refresh[rt] = mb
	scope := f.Get("scope")
	if scope == "" {
		scope = "https://graph.microsoft.com/.default offline_access"
	}
	writeJSON(w, 200, map[string]any{"token_type": "Bearer", "access_token": t, "refresh_token": rt, "expires_in": 3599, "ext_expires_in": 3599, "scope": scope})
}
