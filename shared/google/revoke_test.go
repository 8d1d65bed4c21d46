package google_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/local/fakegoogle"
	"github.com/crmsync/crmsync/shared/google"
)

// TestRevoker: a revoked refresh token no longer refreshes, and revoking it
// again (Google: invalid_token) still counts as revoked.
func TestRevoker(t *testing.T) {
	fg := fakegoogle.New(fakegoogle.Options{})
	hs := httptest.NewServer(fg)
	defer hs.Close()
	_, refresh := fg.AddUser("dana@acme.example")
	cfg := google.OAuthConfig("c", "s", "", hs.URL+"/token")
	ctx := context.Background()
	if _, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: refresh}).Token(); err != nil {
		t.Fatalf("before revocation: %v", err)
	}
	r := &google.Revoker{URL: hs.URL + "/revoke"}
	if err := r.Revoke(ctx, refresh); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if _, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: refresh}).Token(); err == nil {
		t.Error("a revoked refresh token still refreshes")
	}
	if err := r.Revoke(ctx, refresh); err != nil {
		t.Errorf("revoking again: %v, want nil (already revoked)", err)
	}
	if got := fg.Requests()["revoke"]; got != 2 {
		t.Errorf("%d revocation requests, want 2", got)
	}
}
