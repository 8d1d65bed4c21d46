package main

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/crmsync/crmsync/local/idp"
)

// peopleWith calls the add-in API's people route with a bearer token.
func peopleWith(t *testing.T, w *testWorld, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, w.srv.URL+"/api/addin/people?email=alice%40acme.example", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := w.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestTaskPaneNAATokens: the token nested app authentication gets for the
// pane (Entra's claims, minted by the local identity provider: aud = the
// API, scp = access_as_user, azp = the add-in's client, tid, oid) opens the
// user's CRM; the same token with another scope, audience or an expiry in
// the past does not.
func TestTaskPaneNAATokens(t *testing.T) {
	w := taskPaneWorld(t)
	good, err := w.provider.AccessToken(w.oid, "crmsync-addin", "access_as_user")
	if err != nil {
		t.Fatal(err)
	}
	if st, body := peopleWith(t, w, good); st != http.StatusOK || !strings.Contains(body, "Alice") {
		t.Fatalf("the NAA token: %d %s", st, body)
	}
	now := time.Now()
	base := jwt.MapClaims{"iss": w.provider.Issuer(w.tenant), "aud": idp.DemoAudience, "sub": "x", "oid": w.oid, "tid": w.tenant,
		"azp": "crmsync-addin", "scp": "access_as_user", "ver": "2.0", "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	for name, change := range map[string]jwt.MapClaims{
		"another scope":    {"scp": "Mail.Read"},
		"another audience": {"aud": "api://someone-else"},
		"expired":          {"exp": now.Add(-time.Hour).Unix(), "iat": now.Add(-2 * time.Hour).Unix(), "nbf": now.Add(-2 * time.Hour).Unix()},
		"another issuer":   {"iss": "https://evil.example/" + w.tenant + "/v2.0"},
	} {
		t.Run(name, func(t *testing.T) {
			claims := jwt.MapClaims{}
			for k, v := range base {
				claims[k] = v
			}
			for k, v := range change {
				claims[k] = v
			}
			tok, err := w.provider.Sign(claims)
			if err != nil {
				t.Fatal(err)
			}
			want := http.StatusUnauthorized
			if name == "another scope" {
				want = http.StatusForbidden // RFC 6750 insufficient_scope
			}
			if st, body := peopleWith(t, w, tok); st != want {
				t.Errorf("got %d %s, want %d", st, body, want)
			}
		})
	}
}

var dialogMessage = regexp.MustCompile(`data-message="([^"]*)"`)

// dialogAnswer follows the sign-in dialog from path and returns the message
// its last page hands to the pane.
func dialogAnswer(t *testing.T, w *testWorld, b *browser, path string) map[string]any {
	t.Helper()
	resp, err := b.Get(w.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("the dialog's last page may be cached: %q", resp.Header.Get("Cache-Control"))
	}
	m := dialogMessage.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no message in the dialog's page (%s): %s", resp.Status, body)
	}
	var msg map[string]any
	if err := json.Unmarshal([]byte(html.UnescapeString(string(m[1]))), &msg); err != nil {
		t.Fatal(err)
	}
	return msg
}

// TestTaskPaneDialogSignIn: the dialog fallback signs in at the identity
// provider (authorization code with PKCE, redeemed by crmsync) and hands the
// pane an API token that opens the user's CRM; a callback without the
// dialog's own state, or one the provider refused, ends with words and no
// token.
func TestTaskPaneDialogSignIn(t *testing.T) {
	w := taskPaneWorld(t)
	msg := dialogAnswer(t, w, w.newBrowser(), "/api/taskpane/signin?login_hint="+url.QueryEscape(w.oid))
	tok, _ := msg["token"].(string)
	if tok == "" {
		t.Fatalf("the dialog ended with %v", msg)
	}
	if st, body := peopleWith(t, w, tok); st != http.StatusOK || !strings.Contains(body, "Alice") {
		t.Fatalf("the dialog's token: %d %s", st, body)
	}

	for name, path := range map[string]string{
		"forged callback": "/api/taskpane/signin/callback?code=abc&state=def",
		"refused":         "/api/taskpane/signin/callback?error=access_denied&state=def",
	} {
		t.Run(name, func(t *testing.T) {
			msg := dialogAnswer(t, w, w.newBrowser(), path)
			if msg["token"] != nil || msg["message"] == nil || msg["message"] == "" {
				t.Errorf("got %v, want words and no token", msg)
			}
		})
	}
}
