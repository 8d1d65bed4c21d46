package identity_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/access"
	"github.com/crmsync/crmsync/shared/identity"
	"github.com/golang-jwt/jwt/v5"
)

const addinScope = "access_as_user"

func (f *fixture) bearer(t testing.TB) (*identity.Bearer, http.Handler) {
	t.Helper()
	b, err := identity.NewBearer(identity.BearerConfig{
		Authority: f.idp.Authority("organizations"), Audiences: []string{apiAudience},
		AllowedTenants: []string{tenantA}, Scope: addinScope,
		HTTPClient: http.DefaultClient, Now: f.clock.Now,
	}, f.users)
	if err != nil {
		t.Fatal(err)
	}
	mux, err := access.Mux(access.NewChecker(f.grants), f.users, nil, []access.Route{
		{Method: "GET", Path: "/addin/me", Permission: access.StatusRead, Resource: access.OwnUser,
			Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte("hello " + access.PrincipalFrom(r.Context()).User))
			})},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b, b.Middleware(mux)
}

func (f *fixture) claims(tid, oid string) jwt.MapClaims {
	now := f.clock.Now()
	return jwt.MapClaims{
		"iss": f.idp.Issuer(tid), "aud": apiAudience, "tid": tid, "oid": oid, "scp": addinScope,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(), "ver": "2.0",
	}
}

func call(h http.Handler, token string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", "/addin/me", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestBearerTokens(t *testing.T) {
	f := newFixture(t)
	now := f.clock.Now()
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	kid := func() string {
		// The kid the provider signs with: read it back from a real token.
		tok, _ := f.idp.AccessToken(userA, dashboard, addinScope)
		p, _, _ := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
		return p.Header["kid"].(string)
	}()
	with := func(edit func(jwt.MapClaims)) string {
		c := f.claims(tenantA, userA)
		edit(c)
		tok, err := f.idp.Sign(c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	signedBy := func(method jwt.SigningMethod, key any) string {
		tok := jwt.NewWithClaims(method, f.claims(tenantA, userA))
		tok.Header["kid"] = kid
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: must(x509.MarshalPKIXPublicKey(&sharedKey(t).PublicKey))})
	valid, _ := f.idp.AccessToken(userA, dashboard, addinScope)
	tests := []struct {
		name       string
		token      string
		wantStatus int
		wantError  string // error= in WWW-Authenticate
	}{
		{"valid", valid, 200, ""},
		{"expired within skew", with(func(c jwt.MapClaims) {
			c["iat"], c["nbf"], c["exp"] = now.Add(-time.Hour).Unix(), now.Add(-time.Hour).Unix(), now.Add(-time.Minute).Unix()
		}), 200, ""},
		{"no token", "", 401, ""},
		{"garbage", "not.a.jwt", 401, "invalid_token"},
		{"expired", with(func(c jwt.MapClaims) {
			c["iat"], c["nbf"], c["exp"] = now.Add(-time.Hour).Unix(), now.Add(-time.Hour).Unix(), now.Add(-3*time.Minute).Unix()
		}), 401, "invalid_token"},
		{"no expiry", with(func(c jwt.MapClaims) { delete(c, "exp") }), 401, "invalid_token"},
		{"not yet valid", with(func(c jwt.MapClaims) { c["nbf"] = now.Add(5 * time.Minute).Unix() }), 401, "invalid_token"},
		{"issued in the future", with(func(c jwt.MapClaims) { c["iat"] = now.Add(5 * time.Minute).Unix() }), 401, "invalid_token"},
		{"wrong audience", with(func(c jwt.MapClaims) { c["aud"] = "api://someone-else" }), 401, "invalid_token"},
		{"wrong tenant", with(func(c jwt.MapClaims) { c["tid"], c["iss"] = tenantB, f.idp.Issuer(tenantB) }), 401, "invalid_token"},
		{"issuer of another tenant", with(func(c jwt.MapClaims) { c["iss"] = f.idp.Issuer(tenantB) }), 401, "invalid_token"},
		{"foreign issuer", with(func(c jwt.MapClaims) { c["iss"] = "https://evil.test/" + tenantA + "/v2.0" }), 401, "invalid_token"},
		{"no oid", with(func(c jwt.MapClaims) { delete(c, "oid") }), 401, "invalid_token"},
		{"forged with another key", signedBy(jwt.SigningMethodRS256, otherKey), 401, "invalid_token"},
		{"alg none", signedBy(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType), 401, "invalid_token"},
		{"HS256 keyed with the public key", signedBy(jwt.SigningMethodHS256, pubPEM), 401, "invalid_token"},
		{"unknown kid", func() string {
			tok := jwt.NewWithClaims(jwt.SigningMethodRS256, f.claims(tenantA, userA))
			tok.Header["kid"] = "nope"
			s, _ := tok.SignedString(sharedKey(t))
			return s
		}(), 401, "invalid_token"},
		{"missing scope", with(func(c jwt.MapClaims) { c["scp"] = "User.Read" }), 403, "insufficient_scope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, h := f.bearer(t)
			before := len(rows(t, f.tables, identity.UsersTable))
			rec := call(h, tt.token)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.wantStatus, rec.Body)
			}
			if tt.wantStatus == 200 {
				return
			}
			if got := len(rows(t, f.tables, identity.UsersTable)); got != before {
				t.Errorf("users rows %d → %d on a refused token", before, got)
			}
			www := rec.Header().Get("WWW-Authenticate")
			if !strings.HasPrefix(www, `Bearer realm="crmsync"`) {
				t.Errorf("WWW-Authenticate = %q, want a Bearer challenge", www)
			}
			if tt.wantError != "" && !strings.Contains(www, `error="`+tt.wantError+`"`) {
				t.Errorf("WWW-Authenticate = %q, want error=%q", www, tt.wantError)
			}
			if tt.token != "" && (strings.Contains(rec.Body.String(), tt.token) || strings.Contains(www, tt.token)) {
				t.Errorf("the response echoes the token")
			}
		})
	}
}

func TestBearerMapsToTheSignedInUser(t *testing.T) {
	f := newFixture(t)
	session := f.signIn(t, "entra", userA)
	sess, _ := f.sessions.Decode(session.Value)
	_, h := f.bearer(t)
	tok, _ := f.idp.AccessToken(userA, dashboard, addinScope)
	rec := call(h, tok)
	if rec.Code != 200 || rec.Body.String() != "hello "+sess.User {
		t.Errorf("add-in call = %d %q, want the dashboard's user %s", rec.Code, rec.Body, sess.User)
	}
}

func TestJWKSRefreshOnUnknownKid(t *testing.T) {
	f := newFixture(t)
	b, h := f.bearer(t)
	tok, _ := f.idp.AccessToken(userA, dashboard, addinScope)
	if rec := call(h, tok); rec.Code != 200 {
		t.Fatalf("first call: %d", rec.Code)
	}
	if got := b.KeySet().Fetches(); got != 1 {
		t.Fatalf("fetches after first call = %d, want 1", got)
	}
	if err := f.idp.RotateKey(); err != nil {
		t.Fatal(err)
	}
	rotated, _ := f.idp.AccessToken(userA, dashboard, addinScope)
	// Within a minute of the last fetch the unknown kid is refused without
	// another fetch: made-up kids cannot hammer the provider.
	for range 5 {
		if rec := call(h, rotated); rec.Code != 401 {
			t.Fatalf("rotated token within the minute: %d, want 401", rec.Code)
		}
	}
	if got := b.KeySet().Fetches(); got != 1 {
		t.Errorf("fetches within the minute = %d, want 1", got)
	}
	f.clock.Advance(identity.RefreshInterval)
	if rec := call(h, rotated); rec.Code != 200 {
		t.Fatalf("rotated token after the interval: %d, want 200", rec.Code)
	}
	if got := b.KeySet().Fetches(); got != 2 {
		t.Errorf("fetches after refresh = %d, want 2", got)
	}
	// The old key stays published, and known keys need no fetch.
	if rec := call(h, tok); rec.Code != 200 {
		t.Errorf("token of the older key: %d, want 200", rec.Code)
	}
	if got := b.KeySet().Fetches(); got != 2 {
		t.Errorf("fetches = %d, want still 2", got)
	}
}

func TestBearerConfigNamesWhatIsMissing(t *testing.T) {
	_, err := identity.NewBearer(identity.BearerConfig{}, nil)
	if err == nil {
		t.Fatal("NewBearer accepted an empty config")
	}
	for _, name := range []string{"Authority", "Audiences", "Scope", "AllowedTenants"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
