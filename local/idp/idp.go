// Package idp is a local OpenID Connect provider for `make run` and tests. It
// behaves like Microsoft Entra ID's v2.0 endpoints (issuer
// "<base>/<tenant id>/v2.0", tokens carrying oid, tid, scp and aud, JWKS from
// discovery, authorization code with PKCE S256) and, on other paths, like
// "Sign in with Salesforce" (issuer "<base>", JWKS at /id/keys), so crmsync's
// production validation code runs unchanged against it.
//
// It is a demo and test tool: users pick themselves from a list, and there
// are no passwords.
package idp

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"

	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// User is a demo user: ID becomes the Entra object id (oid) or the
// Salesforce user id, Tenant the Entra tenant id (tid) or Salesforce org id.
type User struct {
	ID     string
	Name   string
	Tenant string
	// Email is the address the id_token states (Entra's
	// preferred_username, Salesforce's email); empty states none.
	Email string
}

// Client is a registered application. An empty Secret makes it a public
// client (a single-page app such as the add-in task pane): PKCE alone then
// protects the code.
type Client struct {
	ID           string
	Secret       string
	RedirectURIs []string
}

// Server is the identity provider; it is an http.Handler.
type Server struct {
	base     *url.URL
	users    []User
	clients  map[string]Client
	audience string // the crmsync API's audience (application id URI or client id)
	apiScope string // scope prefix the API's scopes are requested under, e.g. "api://crmsync"
	lifetime time.Duration
	now      func() time.Time
	mux      *http.ServeMux

	mu    sync.Mutex
	keys  []signingKey // last is current
	codes map[string]grant
}

type signingKey struct {
	kid string
	key *rsa.PrivateKey
}

// grant is an issued, not yet redeemed authorization code.
type grant struct {
	client, redirect, scope, nonce, challenge string
	user                                      User
	flavour                                   flavour
	expires                                   time.Time
}

type flavour int

const (
	entra flavour = iota + 1
	salesforce
)

// Option configures a Server.
type Option func(*Server)

// WithUsers sets the demo users.
func WithUsers(users ...User) Option { return func(s *Server) { s.users = users } }

// WithClients registers applications.
func WithClients(clients ...Client) Option {
	return func(s *Server) {
		for _, c := range clients {
			s.clients[c.ID] = c
		}
	}
}

// WithAPI makes the provider issue access tokens for crmsync's API: a scope
// requested as "<scopePrefix>/<name>" yields an access token with aud =
// audience and scp listing the names, as Entra does for an app's exposed API.
func WithAPI(audience, scopePrefix string) Option {
	return func(s *Server) { s.audience, s.apiScope = audience, strings.TrimSuffix(scopePrefix, "/") }
}

// WithKey sets the signing key (tests share one to skip key generation).
func WithKey(key *rsa.PrivateKey) Option {
	return func(s *Server) { s.keys = []signingKey{{kid: kidFor(key), key: key}} }
}

// WithClock sets the clock used for iat/nbf/exp and code expiry.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithTokenLifetime sets how long tokens are valid (default one hour).
func WithTokenLifetime(d time.Duration) Option { return func(s *Server) { s.lifetime = d } }

// Default demo values, used when no option overrides them.
const (
	DemoTenant   = "11111111-1111-4111-8111-111111111111"
	DemoClientID = "crmsync-dashboard"
	DemoAudience = "api://crmsync"
)

// New returns a provider whose base URL is issuerURL (the Entra issuer for
// a tenant is issuerURL + "/" + tenant + "/v2.0"; the Salesforce issuer is
// issuerURL itself). Without options it has two demo users in DemoTenant, the
// dashboard client DemoClientID (public, any redirect on the issuer's host or
// localhost) and the API audience DemoAudience.
func New(issuerURL string, opts ...Option) (*Server, error) {
	base, err := url.Parse(strings.TrimSuffix(issuerURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("idp: issuer URL %q is not an absolute http(s) URL", issuerURL)
	}
	s := &Server{
		base:     base,
		clients:  map[string]Client{},
		audience: DemoAudience,
		apiScope: DemoAudience,
		lifetime: time.Hour,
		now:      time.Now,
		codes:    map[string]grant{},
		users: []User{
			{ID: "aaaaaaaa-0000-4000-8000-000000000001", Name: "Ada Admin", Tenant: DemoTenant},
			{ID: "aaaaaaaa-0000-4000-8000-000000000002", Name: "Sam Seller", Tenant: DemoTenant},
		},
	}
	for _, o := range opts {
		o(s)
	}
	if len(s.clients) == 0 {
		s.clients[DemoClientID] = Client{ID: DemoClientID}
	}
	if len(s.keys) == 0 {
		if err := s.RotateKey(); err != nil {
			return nil, err
		}
	}
	s.routes()
	return s, nil
}

// NewHTTPTest starts a provider on an httptest server (plain HTTP on
// loopback); close the server when done.
func NewHTTPTest(opts ...Option) (*Server, *httptest.Server, error) {
	ts := httptest.NewUnstartedServer(nil)
	ts.Start()
	s, err := New(ts.URL, opts...)
	if err != nil {
		ts.Close()
		return nil, nil, err
	}
	ts.Config.Handler = s
	return s, ts, nil
}

// RotateKey adds a new signing key; tokens are signed with it from now on,
// and the JWKS keeps publishing the older keys.
func (s *Server) RotateKey() error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("idp: generating key: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = append(s.keys, signingKey{kid: kidFor(key), key: key})
	return nil
}

// DropOldKeys stops publishing every key but the current one.
func (s *Server) DropOldKeys() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = s.keys[len(s.keys)-1:]
}

// Issuer returns the Entra-style issuer for a tenant.
func (s *Server) Issuer(tenant string) string { return s.base.String() + "/" + tenant + "/v2.0" }

// Authority returns the base Entra-style authority for a tenant segment
// ("organizations", "common" or a tenant id), under which discovery lives.
func (s *Server) Authority(segment string) string { return s.Issuer(segment) }

// SalesforceIssuer returns the issuer of the Salesforce flavour.
func (s *Server) SalesforceIssuer() string { return s.base.String() }

// Sign signs claims with the current key (RS256, with its kid), for tests
// that need a token the provider would never issue.
func (s *Server) Sign(claims jwt.Claims) (string, error) {
	s.mu.Lock()
	k := s.keys[len(s.keys)-1]
	s.mu.Unlock()
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	t.Header["kid"] = k.kid
	return t.SignedString(k.key)
}

// AccessToken mints an access token for the API as Entra would issue it to
// client on behalf of user, with the given scope names (e.g.
// "access_as_user").
func (s *Server) AccessToken(userID, client string, scopes ...string) (string, error) {
	u, ok := s.user(userID)
	if !ok {
		return "", fmt.Errorf("idp: no user %q", userID)
	}
	return s.Sign(s.accessClaims(u, client, scopes))
}

func (s *Server) accessClaims(u User, client string, scopes []string) jwt.MapClaims {
	now := s.now()
	return jwt.MapClaims{
		"iss": s.Issuer(u.Tenant), "aud": s.audience, "sub": pairwise(u.ID, s.audience),
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(s.lifetime).Unix(),
		"oid": u.ID, "tid": u.Tenant, "azp": client, "scp": strings.Join(scopes, " "),
		"name": u.Name, "ver": "2.0",
	}
}

func (s *Server) user(id string) (User, bool) {
	for _, u := range s.users {
		if u.ID == id {
			return u, true
		}
	}
	return User{}, false
}

// pairwise is a stable per-application subject, like Entra's sub.
func pairwise(userID, app string) string {
	return hex.EncodeToString([]byte(userID + "|" + app))[:32]
}

func kidFor(key *rsa.PrivateKey) string {
	return hex.EncodeToString(key.N.Bytes()[:8])
}

func randomString() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
