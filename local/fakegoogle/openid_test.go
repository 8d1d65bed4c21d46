package fakegoogle

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// TestIDToken: with the openid scope the token endpoint returns an ID token
// whose claims are Google's: iss https://accounts.google.com, aud the
// client, the request's nonce, email and email_verified, hd for a
// Workspace domain and none for gmail.com; the discovery document points at
// this server. (The signature is checked end to end by shared/identity's
// TestSignInWithGoogle.)
func TestIDToken(t *testing.T) {
	s := New(Options{Clients: map[string]string{"app": "sec"}})
	hs := httptest.NewServer(s)
	defer hs.Close()
	s.AddUser("dana@acme.example")
	s.AddUser("carl@gmail.com")

	resp, err := http.Get(hs.URL + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var disc map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&disc)
	resp.Body.Close()
	if disc["issuer"] != "https://accounts.google.com" || disc["jwks_uri"] != hs.URL+"/oauth2/v3/certs" || disc["token_endpoint"] != hs.URL+"/token" {
		t.Fatalf("discovery = %v", disc)
	}

	cfg := &oauth2.Config{ClientID: "app", ClientSecret: "sec", RedirectURL: "https://app.example/cb", Scopes: []string{"openid", "email", "profile"},
		Endpoint: oauth2.Endpoint{AuthURL: hs.URL + "/o/oauth2/v2/auth", TokenURL: hs.URL + "/token", AuthStyle: oauth2.AuthStyleInParams}}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	claimsOf := func(who string, scopes ...string) map[string]any {
		s.SignIn(who)
		c := *cfg
		if scopes != nil {
			c.Scopes = scopes
		}
		v := oauth2.GenerateVerifier()
		resp, err := noFollow.Get(c.AuthCodeURL("st", oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("nonce", "n-123")))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		tok, err := c.Exchange(context.Background(), loc.Query().Get("code"), oauth2.VerifierOption(v))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := tok.Extra("id_token").(string)
		if raw == "" {
			return nil
		}
		parts := strings.Split(raw, ".")
		body, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil || len(parts) != 3 {
			t.Fatalf("id_token %q is not a JWS", raw)
		}
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		return m
	}
	c := claimsOf("dana@acme.example")
	if c["iss"] != "https://accounts.google.com" || c["aud"] != "app" || c["nonce"] != "n-123" || c["hd"] != "acme.example" ||
		c["email"] != "dana@acme.example" || c["email_verified"] != true || c["sub"] == "" || c["exp"] == nil {
		t.Fatalf("Workspace claims = %v", c)
	}
	if g := claimsOf("carl@gmail.com"); g["hd"] != nil || g["email"] != "carl@gmail.com" {
		t.Fatalf("gmail.com claims = %v, want no hd", g)
	}
	if c2 := claimsOf("dana@acme.example"); c2["sub"] != c["sub"] {
		t.Fatalf("sub changed between sign-ins: %v then %v", c["sub"], c2["sub"])
	}
	if c := claimsOf("dana@acme.example", "https://www.googleapis.com/auth/tasks"); c != nil {
		t.Fatalf("an ID token without the openid scope: %v", c)
	}
}
