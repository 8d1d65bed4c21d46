package idp_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/local/idp"
	"github.com/golang-jwt/jwt/v5"
)

const redirect = "http://localhost:8080/auth/entra/callback"

var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// authorize runs the authorize step for the first demo user and returns the
// code.
func authorize(t *testing.T, base, verifier, scope string) string {
	t.Helper()
	q := url.Values{
		"client_id": {idp.DemoClientID}, "redirect_uri": {redirect}, "response_type": {"code"},
		"scope": {scope}, "state": {"st"}, "nonce": {"n1"},
		"code_challenge": {challenge(verifier)}, "code_challenge_method": {"S256"},
		"login_hint": {"aaaaaaaa-0000-4000-8000-000000000001"},
	}
	resp, err := noRedirects.Get(base + "/organizations/oauth2/v2.0/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc.Query().Get("state") != "st" || loc.Query().Get("code") == "" {
		t.Fatalf("authorize: %d → %s", resp.StatusCode, loc)
	}
	return loc.Query().Get("code")
}

func redeem(t *testing.T, base string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(base+"/organizations/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

func TestTokenEndpoint(t *testing.T) {
	_, ts, err := idp.NewHTTPTest()
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	const verifier = "verifier-0123456789-0123456789-0123456789-0123456789"
	form := func(code string) url.Values {
		return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {idp.DemoClientID},
			"redirect_uri": {redirect}, "code_verifier": {verifier}}
	}
	tests := []struct {
		name      string
		edit      func(url.Values)
		wantError string
	}{
		{"verifier mismatch", func(f url.Values) { f.Set("code_verifier", "another-verifier-0123456789-0123456789-0123") }, "invalid_grant"},
		{"verifier missing", func(f url.Values) { f.Del("code_verifier") }, "invalid_grant"},
		{"redirect mismatch", func(f url.Values) { f.Set("redirect_uri", "http://localhost:8080/other") }, "invalid_grant"},
		{"unknown client", func(f url.Values) { f.Set("client_id", "nobody") }, "invalid_client"},
		{"wrong grant type", func(f url.Values) { f.Set("grant_type", "password") }, "unsupported_grant_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := form(authorize(t, ts.URL, verifier, "openid"))
			tt.edit(f)
			status, body := redeem(t, ts.URL, f)
			if status < 400 || body["error"] != tt.wantError {
				t.Errorf("token: %d %v, want error %s", status, body, tt.wantError)
			}
			if _, ok := body["id_token"]; ok {
				t.Error("a refused exchange returned an id_token")
			}
		})
	}
	t.Run("success, then the code is spent", func(t *testing.T) {
		f := form(authorize(t, ts.URL, verifier, "openid profile "+idp.DemoAudience+"/access_as_user"))
		status, body := redeem(t, ts.URL, f)
		if status != 200 {
			t.Fatalf("token: %d %v", status, body)
		}
		claims := jwt.MapClaims{}
		if _, _, err := jwt.NewParser().ParseUnverified(body["access_token"].(string), claims); err != nil {
			t.Fatal(err)
		}
		if claims["aud"] != idp.DemoAudience || claims["scp"] != "access_as_user" || claims["tid"] != idp.DemoTenant ||
			claims["iss"] != ts.URL+"/"+idp.DemoTenant+"/v2.0" || claims["oid"] == nil {
			t.Errorf("access token claims = %v", claims)
		}
		idClaims := jwt.MapClaims{}
		if _, _, err := jwt.NewParser().ParseUnverified(body["id_token"].(string), idClaims); err != nil {
			t.Fatal(err)
		}
		if idClaims["aud"] != idp.DemoClientID || idClaims["nonce"] != "n1" {
			t.Errorf("id token claims = %v", idClaims)
		}
		if status, body := redeem(t, ts.URL, f); body["error"] != "invalid_grant" {
			t.Errorf("second redemption: %d %v, want invalid_grant", status, body)
		}
	})
}

func TestAuthorizeRefusals(t *testing.T) {
	_, ts, err := idp.NewHTTPTest()
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	base := url.Values{"client_id": {idp.DemoClientID}, "redirect_uri": {redirect}, "response_type": {"code"},
		"state": {"st"}, "code_challenge": {challenge("v")}, "code_challenge_method": {"S256"}}
	tests := []struct {
		name       string
		edit       func(url.Values)
		wantStatus int
		wantError  string // in the redirect
	}{
		{"unregistered redirect is not followed", func(q url.Values) { q.Set("redirect_uri", "https://evil.test/cb") }, 400, ""},
		{"unknown client", func(q url.Values) { q.Set("client_id", "x") }, 400, ""},
		{"no PKCE", func(q url.Values) { q.Del("code_challenge") }, 302, "invalid_request"},
		{"plain PKCE", func(q url.Values) { q.Set("code_challenge_method", "plain") }, 302, "invalid_request"},
		{"implicit flow", func(q url.Values) { q.Set("response_type", "token") }, 302, "unsupported_response_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := url.Values{}
			for k, v := range base {
				q[k] = v
			}
			tt.edit(q)
			resp, err := noRedirects.Get(ts.URL + "/organizations/oauth2/v2.0/authorize?" + q.Encode())
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if tt.wantError != "" {
				loc, _ := url.Parse(resp.Header.Get("Location"))
				if got := loc.Query().Get("error"); got != tt.wantError || loc.Query().Get("state") != "st" {
					t.Errorf("redirect %s, want error=%s with the state", loc, tt.wantError)
				}
			}
		})
	}
}

func TestLoginFormAndDiscovery(t *testing.T) {
	p, ts, err := idp.NewHTTPTest(idp.WithUsers(idp.User{ID: "u1", Name: "<script>x</script>", Tenant: idp.DemoTenant}))
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	q := url.Values{"client_id": {idp.DemoClientID}, "redirect_uri": {redirect}, "response_type": {"code"},
		"state": {`"><b>`}, "code_challenge": {challenge("v")}, "code_challenge_method": {"S256"}}
	resp, err := http.Get(ts.URL + "/organizations/oauth2/v2.0/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "&lt;script&gt;") || strings.Contains(string(page), "<script>") || strings.Contains(string(page), `"><b>`) {
		t.Errorf("login page does not escape user data:\n%s", page)
	}
	// The form's answer redirects to the client: form-action must allow the
	// redirect URI's origin, or Chromium blocks the redirect after submit.
	if got, want := resp.Header.Get("Content-Security-Policy"), "form-action 'self' http://localhost:8080"; !strings.HasSuffix(got, want) {
		t.Errorf("login page CSP = %q, want it to end with %q", got, want)
	}
	var doc map[string]any
	r, err := http.Get(p.Authority("organizations") + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(r.Body).Decode(&doc)
	r.Body.Close()
	if doc["issuer"] != ts.URL+"/{tenantid}/v2.0" || doc["jwks_uri"] != ts.URL+"/organizations/discovery/v2.0/keys" {
		t.Errorf("Entra discovery = %v", doc)
	}
	r, err = http.Get(p.SalesforceIssuer() + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	doc = nil
	_ = json.NewDecoder(r.Body).Decode(&doc)
	r.Body.Close()
	if doc["issuer"] != ts.URL || doc["jwks_uri"] != ts.URL+"/id/keys" {
		t.Errorf("Salesforce discovery = %v", doc)
	}
}

func TestNewRejectsBadIssuer(t *testing.T) {
	for _, u := range []string{"", "localhost:8080", "ftp://x"} {
		if _, err := idp.New(u); err == nil {
			t.Errorf("New(%q) accepted", u)
		}
	}
}

func TestServedUnderAPathPrefix(t *testing.T) {
	mux := http.NewServeMux()
	ts := httptest.NewServer(mux)
	defer ts.Close()
	p, err := idp.New(ts.URL + "/idp")
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/idp/", p)
	resp, err := http.Get(p.Authority("organizations") + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	if doc["token_endpoint"] != ts.URL+"/idp/organizations/oauth2/v2.0/token" {
		t.Errorf("discovery under /idp = %v", doc)
	}
	keys, err := http.Get(ts.URL + "/idp/organizations/discovery/v2.0/keys")
	if err != nil {
		t.Fatal(err)
	}
	keys.Body.Close()
	if keys.StatusCode != 200 {
		t.Errorf("keys under /idp: %d", keys.StatusCode)
	}
}
