package connect_test

import (
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"
)

func oauth2HTTPClient() any { return oauth2.HTTPClient }

func sfConfig(w *world) *oauth2.Config {
	return &oauth2.Config{ClientID: sfClientID, ClientSecret: sfClientSecret,
		Endpoint: oauth2.Endpoint{TokenURL: w.sfSrv.URL + "/services/oauth2/token", AuthStyle: oauth2.AuthStyleInParams}}
}

func msConfig(w *world) *oauth2.Config {
	return &oauth2.Config{ClientID: msClientID, ClientSecret: msClientSecret,
		Endpoint: oauth2.Endpoint{TokenURL: w.graphSr.URL + "/" + msTenant + "/oauth2/v2.0/token", AuthStyle: oauth2.AuthStyleInParams}}
}

func decodeJSON(t *testing.T, resp *http.Response, v any) {
	t.Helper()
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

func jarWith(w *world, name, value string) http.CookieJar {
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(w.app.URL)
	jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/", Secure: true}})
	return jar
}

func cloneURL(u *url.URL) *url.URL {
	c := *u
	return &c
}

func jwtClaims(t *testing.T, raw string, key *rsa.PublicKey) *jwt.RegisteredClaims {
	t.Helper()
	var c jwt.RegisteredClaims
	tok, err := jwt.ParseWithClaims(raw, &c, func(*jwt.Token) (any, error) { return key, nil }, jwt.WithValidMethods([]string{"RS256"}))
	if err != nil || !tok.Valid {
		t.Fatalf("assertion does not verify with the app's public key: %v", err)
	}
	return &c
}
