package fakegoogle

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// TestAuthorizationCode: the authorization endpoint consents for the
// signed-in user and returns a code the token endpoint redeems once, for
// the same client and redirect URI, with the PKCE verifier; a refresh token
// comes with the first offline consent and again only with prompt=consent;
// declined scopes are left out of the grant; an unknown client sees an
// error page and is not redirected.
func TestAuthorizationCode(t *testing.T) {
	s := New(Options{Clients: map[string]string{"app": "sec"}})
	hs := httptest.NewServer(s)
	defer hs.Close()
	s.AddUser("dana@acme.example")
	s.SignIn("dana@acme.example")
	cfg := &oauth2.Config{ClientID: "app", ClientSecret: "sec", RedirectURL: "https://app.example/cb",
		Scopes:   []string{"https://www.googleapis.com/auth/contacts", "https://www.googleapis.com/auth/tasks"},
		Endpoint: oauth2.Endpoint{AuthURL: hs.URL + "/o/oauth2/v2/auth", TokenURL: hs.URL + "/token", AuthStyle: oauth2.AuthStyleInParams}}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	authorize := func(u string) (int, url.Values) {
		resp, err := noFollow.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil || resp.Header.Get("Location") == "" {
			return resp.StatusCode, nil
		}
		return resp.StatusCode, loc.Query()
	}
	ctx := context.Background()
	verifier := oauth2.GenerateVerifier()
	offline := []oauth2.AuthCodeOption{oauth2.AccessTypeOffline, oauth2.S256ChallengeOption(verifier)}
	status, back := authorize(cfg.AuthCodeURL("st-1", offline...))
	if status != http.StatusFound || back.Get("state") != "st-1" || back.Get("code") == "" {
		t.Fatalf("authorize: %d %v", status, back)
	}
	if _, err := cfg.Exchange(ctx, back.Get("code"), oauth2.VerifierOption(oauth2.GenerateVerifier())); !isGrantError(err, "invalid_grant") {
		t.Errorf("wrong verifier: %v, want invalid_grant", err)
	}
	// The failed redemption used the code up.
	if _, err := cfg.Exchange(ctx, back.Get("code"), oauth2.VerifierOption(verifier)); !isGrantError(err, "invalid_grant") {
		t.Errorf("second redemption: %v, want invalid_grant", err)
	}
	_, back = authorize(cfg.AuthCodeURL("st-2", offline...))
	tok, err := cfg.Exchange(ctx, back.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil || tok.AccessToken == "" || tok.Extra("scope") != strings.Join(cfg.Scopes, " ") {
		t.Fatalf("exchange: %+v, %v", tok, err)
	}
	// The user consented before: no refresh token again without prompt=consent.
	if tok.RefreshToken != "" {
		t.Errorf("a second consent without prompt=consent issued a refresh token")
	}
	_, back = authorize(cfg.AuthCodeURL("st-3", append(offline, oauth2.SetAuthURLParam("prompt", "consent"))...))
	tok, err = cfg.Exchange(ctx, back.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil || tok.RefreshToken == "" {
		t.Fatalf("prompt=consent: %+v, %v; want a refresh token", tok, err)
	}
	if _, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err != nil {
		t.Errorf("the issued refresh token does not refresh: %v", err)
	}
	// Another redirect URI at redemption is refused.
	_, back = authorize(cfg.AuthCodeURL("st-4", offline...))
	other := *cfg
	other.RedirectURL = "https://evil.example/cb"
	if _, err := other.Exchange(ctx, back.Get("code"), oauth2.VerifierOption(verifier)); !isGrantError(err, "redirect_uri_mismatch") {
		t.Errorf("redirect mismatch: %v", err)
	}
	s.DeclineScopes("dana@acme.example", "https://www.googleapis.com/auth/tasks")
	_, back = authorize(cfg.AuthCodeURL("st-5", offline...))
	if back.Get("scope") != "https://www.googleapis.com/auth/contacts" {
		t.Errorf("granted scopes after declining tasks: %q", back.Get("scope"))
	}
	bad := *cfg
	bad.ClientID = "nobody"
	if status, back := authorize(bad.AuthCodeURL("st-6", offline...)); status != http.StatusUnauthorized || back != nil {
		t.Errorf("unknown client: %d, redirected with %v", status, back)
	}
	s.SignIn("")
	if _, back := authorize(cfg.AuthCodeURL("st-7", offline...)); back.Get("error") != "access_denied" || back.Get("state") != "st-7" {
		t.Errorf("nobody signed in: %v", back)
	}
}

func isGrantError(err error, code string) bool {
	var re *oauth2.RetrieveError
	return errors.As(err, &re) && re.ErrorCode == code
}
