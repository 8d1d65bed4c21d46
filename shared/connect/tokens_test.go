package connect_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/msgraph"
	"github.com/crmsync/crmsync/shared/salesforce"
)

// The JWT source must fit where the Salesforce client takes its tokens.
var _ salesforce.TokenSource = (*salesforce.JWTSource)(nil)

func TestJWTSource(t *testing.T) {
	w := newWorld(t)
	var tokenCalls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/services/oauth2/token" {
			tokenCalls.Add(1)
		}
		w.sf.ServeHTTP(rw, r)
	}))
	t.Cleanup(srv.Close)
	cfg := &salesforce.App{ClientID: sfClientID, LoginURL: srv.URL}
	ctx := context.Background()
	src := salesforce.JWTBearerSource(ctx, cfg, sfUsername, appKey(t))

	first, err := src.Token()
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := first.Extra("instance_url").(string); got != srv.URL {
		t.Errorf("instance_url = %q, want %q", got, srv.URL)
	}
	again, _ := src.Token()
	if again.AccessToken != first.AccessToken || tokenCalls.Load() != 1 {
		t.Errorf("a second Token call asked Salesforce again (%d calls)", tokenCalls.Load())
	}
	// The org's session timeout passes: the API answers 401 and the
	// client invalidates; a new assertion gets a new token.
	w.sf.ExpireSessions()
	src.Invalidate()
	next, err := src.Token()
	if err != nil {
		t.Fatal(err)
	}
	if next.AccessToken == first.AccessToken || tokenCalls.Load() != 2 {
		t.Errorf("after Invalidate: same token or %d calls, want a new token from a second call", tokenCalls.Load())
	}
	api, _ := http.NewRequest(http.MethodGet, srv.URL+"/services/data/v66.0/limits", nil)
	next.SetAuthHeader(api)
	resp, err := http.DefaultClient.Do(api)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the new token does not work: %d", resp.StatusCode)
	}
}

func TestJWTSourceAssertion(t *testing.T) {
	cfg := &salesforce.App{ClientID: "client-1", LoginURL: "https://test.salesforce.com/"}
	src := salesforce.JWTBearerSource(context.Background(), cfg, "ops@acme.example", appKey(t))
	before := time.Now()
	raw, err := src.Assertion()
	if err != nil {
		t.Fatal(err)
	}
	claims := jwtClaims(t, raw, &appKey(t).PublicKey)
	if claims.Issuer != "client-1" || claims.Subject != "ops@acme.example" || len(claims.Audience) != 1 || claims.Audience[0] != "https://test.salesforce.com" {
		t.Errorf("claims iss=%q sub=%q aud=%v, want client id, username, login URL", claims.Issuer, claims.Subject, claims.Audience)
	}
	if exp := claims.ExpiresAt.Time; exp.Sub(before) > 3*time.Minute+time.Second || exp.Before(before) {
		t.Errorf("exp %v is not within 3 minutes of %v", exp, before)
	}
}

func TestJWTSourceErrors(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		ctype  string
		want   fault.Class
	}{
		{"not pre-authorized", 400, `{"error":"invalid_grant","error_description":"user hasn't approved this consumer"}`, "application/json", fault.Reconnect},
		{"bad client", 400, `{"error":"invalid_client_id","error_description":"client identifier invalid"}`, "application/json", fault.Permanent},
		{"server error", 503, `{"error":"server_error"}`, "application/json", fault.Temporary},
		{"proxy page", 502, `<html>bad gateway</html>`, "text/html", fault.Temporary},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				rw.Header().Set("Content-Type", tt.ctype)
				rw.WriteHeader(tt.status)
				rw.Write([]byte(tt.body))
			}))
			t.Cleanup(srv.Close)
			src := salesforce.JWTBearerSource(context.Background(), &salesforce.App{ClientID: "c", LoginURL: srv.URL}, "u@acme.example", appKey(t))
			_, err := src.Token()
			if got := fault.ClassOf(err); got != tt.want {
				t.Errorf("class %v (%v), want %v", got, err, tt.want)
			}
		})
	}
}

func TestAppOnlySource(t *testing.T) {
	w := newWorld(t)
	w.graph.AddMailbox("alice@acme.example", "Alice")
	ms := &msgraph.App{ClientID: msClientID, ClientSecret: msClientSecret, Authority: w.graphSr.URL, Tenant: msTenant}
	src, err := ms.AppOnlySource(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := src.Token()
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, w.graphSr.URL+"/v1.0/users/alice@acme.example/mailFolders/inbox", nil)
	tok.SetAuthHeader(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("app-only token on a mailbox: %d", resp.StatusCode)
	}

	for _, tenant := range []string{"organizations", "common", ""} {
		bad := *ms
		bad.Tenant = tenant
		if _, err := bad.AppOnlySource(context.Background()); err == nil {
			t.Errorf("tenant %q: app-only source made, want an error asking for a tenant id", tenant)
		}
	}
	wrong := *ms
	wrong.ClientSecret = "wrong"
	src, _ = wrong.AppOnlySource(context.Background())
	var re *oauth2.RetrieveError
	if _, err := src.Token(); !errors.As(err, &re) || re.ErrorCode != "invalid_client" {
		t.Errorf("wrong secret: %v, want invalid_client", err)
	}
}

func TestSalesforceRevoker(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	if _, res, msg := result(w.browser(testUser).connectSalesforce()); res != "ok" {
		t.Fatalf("connect: %q", msg)
	}
	cred, _ := w.store.Credentials(ctx, testUser, connection.Salesforce)
	rv := &salesforce.Revoker{LoginURL: w.sfSrv.URL}
	if err := rv.Revoke(ctx, cred.RefreshToken); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	// The refresh token is dead at Salesforce now.
	if _, err := sfConfig(w).TokenSource(ctx, &oauth2.Token{RefreshToken: cred.RefreshToken}).Token(); err == nil {
		t.Error("the revoked refresh token still refreshes")
	}
	// Revoking again is not an error: the token is gone either way.
	if err := rv.Revoke(ctx, cred.RefreshToken); err != nil {
		t.Errorf("second Revoke: %v", err)
	}
	// Wired into the store, account deletion revokes too.
	if _, res, msg := result(w.browser(testUser).connectSalesforce()); res != "ok" {
		t.Fatalf("connect: %q", msg)
	}
	cred, _ = w.store.Credentials(ctx, testUser, connection.Salesforce)
	store := connection.NewStore(w.tables, w.ring, connection.Options{Revokers: map[connection.Provider]connection.Revoker{
		connection.Salesforce: rv, connection.Microsoft: msgraph.Revoker{}}})
	if err := store.Delete(ctx, testUser); err != nil {
		t.Fatal(err)
	}
	if _, err := sfConfig(w).TokenSource(ctx, &oauth2.Token{RefreshToken: cred.RefreshToken}).Token(); err == nil {
		t.Error("after account deletion the refresh token still refreshes")
	}
	if err := (msgraph.Revoker{}).Revoke(ctx, "anything"); err != nil {
		t.Errorf("MicrosoftRevoker: %v", err)
	}
	down := &salesforce.Revoker{LoginURL: "http://127.0.0.1:1"}
	if err := down.Revoke(ctx, cred.RefreshToken); !fault.Is(err, fault.Temporary) {
		t.Errorf("unreachable Salesforce: %v, want a temporary error", err)
	}
	if strings.Contains(errString(down.Revoke(ctx, cred.RefreshToken)), cred.RefreshToken) {
		t.Error("the revocation error holds the token")
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
