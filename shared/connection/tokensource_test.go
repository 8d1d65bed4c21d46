package connection_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/tablestore"
)

func isReconnect(err error) bool { return fault.Is(err, fault.Reconnect) }

func TestTokenSourceSavesRotatedRefreshToken(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, connection.Options{})
	rt1 := secret("RT")
	srv := newTokenServer(t, true, true, rt1)
	c := sfConn("u-1")
	c.InstanceURL = "https://old.my.salesforce.com"
	mustSave(t, e.store, c, connection.Credentials{RefreshToken: rt1})

	ts, err := e.store.TokenSource(ctx, "u-1", connection.Salesforce, srv.config())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tok.Extra("instance_url"), "https://acme.my.salesforce.com"; got != want {
		t.Errorf("token instance_url = %v, want %s", got, want)
	}
	stored := mustOpen(t, e.store, "u-1", connection.Salesforce).RefreshToken
	if stored == rt1 || !srv.isValid(stored) {
		t.Fatalf("stored refresh token is not the rotated one")
	}
	if got := mustGet(t, e.store, "u-1", connection.Salesforce).InstanceURL; got != "https://acme.my.salesforce.com" {
		t.Errorf("stored instance URL = %s, want the one from the token response", got)
	}
	// A new process, with nothing in memory, carries on with the saved token.
	ts2, err := e.another(t).TokenSource(ctx, "u-1", connection.Salesforce, srv.config())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts2.Token(); err != nil {
		t.Fatalf("Token() in another process after rotation: %v", err)
	}
}

// TestSalesforceTokenWithoutExpiry: Salesforce sends no expires_in, so the
// token is reused until the API says 401; Invalidate then forces a refresh,
// once per stale token however many callers report it.
func TestSalesforceTokenWithoutExpiry(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, connection.Options{})
	rt := secret("RT")
	srv := newTokenServer(t, true, false, rt)
	mustSave(t, e.store, sfConn("u-1"), connection.Credentials{RefreshToken: rt})
	ts, err := e.store.TokenSource(ctx, "u-1", connection.Salesforce, srv.config())
	if err != nil {
		t.Fatal(err)
	}
	first, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	if !first.Expiry.IsZero() {
		t.Errorf("expiry = %v, want none (Salesforce sends no expires_in)", first.Expiry)
	}
	for range 3 {
		if tok, _ := ts.Token(); tok.AccessToken != first.AccessToken {
			t.Fatal("token refreshed without a reason")
		}
	}
	if got := srv.count(); got != 1 {
		t.Errorf("token requests = %d, want 1", got)
	}
	// Three callers got 401 with the same token: one refresh.
	for range 3 {
		ts.Invalidate(first.AccessToken)
	}
	second, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	if second.AccessToken == first.AccessToken {
		t.Error("Invalidate did not force a refresh")
	}
	ts.Invalidate(first.AccessToken) // stale report: ignored
	if tok, _ := ts.Token(); tok.AccessToken != second.AccessToken {
		t.Error("a stale Invalidate forced another refresh")
	}
	if got := srv.count(); got != 2 {
		t.Errorf("token requests = %d, want 2", got)
	}
	ts.Invalidate("")
	if tok, _ := ts.Token(); tok.AccessToken == second.AccessToken {
		t.Error("Invalidate(\"\") did not force a refresh")
	}
}

func TestMicrosoftTokenHasExpiry(t *testing.T) {
	e := newEnv(t, connection.Options{})
	rt := secret("RT")
	srv := newTokenServer(t, false, false, rt)
	mustSave(t, e.store, msConn("u-1"), connection.Credentials{RefreshToken: rt})
	ts, err := e.store.TokenSource(context.Background(), "u-1", connection.Microsoft, srv.config())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	if tok.Expiry.IsZero() || !tok.Valid() {
		t.Errorf("token expiry = %v, valid = %v; want an expiry from expires_in", tok.Expiry, tok.Valid())
	}
	if got := mustOpen(t, e.store, "u-1", connection.Microsoft).RefreshToken; got != rt {
		t.Error("refresh token changed although the provider did not rotate it")
	}
}

// TestInvalidGrantNeedsReconnect walks a revoked refresh token through:
// the connection turns needs_reconnect and sync pauses (no more calls to the
// provider); a reconnect resumes it with the same row and nothing else touched.
func TestInvalidGrantNeedsReconnect(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, connection.Options{})
	rt := secret("RT")
	srv := newTokenServer(t, true, false, rt)
	mustSave(t, e.store, sfConn("u-1"), connection.Credentials{RefreshToken: rt})
	if _, err := e.tables.Upsert(ctx, "cursors", tablestore.Entity{PartitionKey: "u-1", RowKey: "contacts", Properties: map[string]any{"Delta": "d-42"}}); err != nil {
		t.Fatal(err)
	}
	ts, err := e.store.TokenSource(ctx, "u-1", connection.Salesforce, srv.config())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}

	srv.revoke(rt)
	ts.Invalidate(tok.AccessToken)
	_, err = ts.Token()
	if !isReconnect(err) {
		t.Fatalf("Token() after revocation: error = %v, want class reconnect", err)
	}
	if strings.Contains(err.Error(), rt) {
		t.Error("the error carries the refresh token")
	}
	c := mustGet(t, e.store, "u-1", connection.Salesforce)
	if c.Status != connection.NeedsReconnect || c.SyncAllowed() {
		t.Errorf("status = %s, SyncAllowed = %v; want needs_reconnect and paused", c.Status, c.SyncAllowed())
	}
	if !strings.Contains(c.StatusReason, "invalid_grant") {
		t.Errorf("status reason = %q, want it to name invalid_grant", c.StatusReason)
	}

	// Paused: further attempts fail at once without calling the provider.
	calls := srv.count()
	for range 3 {
		if _, err := ts.Token(); !isReconnect(err) {
			t.Fatalf("Token() while needs_reconnect: error = %v", err)
		}
	}
	if got := srv.count(); got != calls {
		t.Errorf("provider called %d more times while needs_reconnect", got-calls)
	}

	// Reconnect: Save with a new token.
	rt2 := secret("RT")
	srv.mu.Lock()
	srv.valid[rt2] = true
	srv.mu.Unlock()
	mustSave(t, e.store, sfConn("u-1"), connection.Credentials{RefreshToken: rt2})
	if c := mustGet(t, e.store, "u-1", connection.Salesforce); c.Status != connection.Connected || c.StatusReason != "" {
		t.Errorf("after reconnect: status %s %q, want connected", c.Status, c.StatusReason)
	}
	if _, err := ts.Token(); err != nil {
		t.Errorf("Token() after reconnect: %v", err)
	}
	cur, err := e.tables.Get(ctx, "cursors", "u-1", "contacts")
	if err != nil || cur.Properties["Delta"] != "d-42" {
		t.Errorf("cursor after reconnect = %v, %v; want it untouched", cur.Properties, err)
	}
}

func TestPasswordFlow(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, connection.Options{})
	srv := newTokenServer(t, true, false)
	user, pw := "api@acme.example", secret("PW")
	srv.passwords[user] = pw
	c := sfConn("u-1")
	c.Flow = connection.FlowPassword
	mustSave(t, e.store, c, connection.Credentials{Username: user, Password: pw})
	ts, err := e.store.TokenSource(ctx, "u-1", connection.Salesforce, srv.config())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Token(); err != nil {
		t.Fatal(err)
	}

	t.Run("org blocks the flow", func(t *testing.T) {
		srv.mu.Lock()
		srv.blockPwd = true
		srv.mu.Unlock()
		ts.Invalidate("")
		if _, err := ts.Token(); !isReconnect(err) {
			t.Fatalf("error = %v, want class reconnect", err)
		}
		reason := mustGet(t, e.store, "u-1", connection.Salesforce).StatusReason
		if !strings.Contains(reason, "username-password flow") {
			t.Errorf("status reason = %q, want it to say the org blocks the username-password flow", reason)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		srv.mu.Lock()
		srv.blockPwd = false
		srv.mu.Unlock()
		mustSave(t, e.store, c, connection.Credentials{Username: user, Password: "wrong"})
		ts.Invalidate("")
		if _, err := ts.Token(); !isReconnect(err) {
			t.Fatalf("error = %v, want class reconnect", err)
		}
		reason := mustGet(t, e.store, "u-1", connection.Salesforce).StatusReason
		if !strings.Contains(reason, "security token") || strings.Contains(reason, "wrong") {
			t.Errorf("status reason = %q", reason)
		}
	})
}

func TestTokenSourceErrorsAreClassified(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, connection.Options{})
	rt := secret("RT")
	srv := newTokenServer(t, false, false, rt)
	mustSave(t, e.store, msConn("u-1"), connection.Credentials{RefreshToken: rt})
	ts, err := e.store.TokenSource(ctx, "u-1", connection.Microsoft, srv.config())
	if err != nil {
		t.Fatal(err)
	}
	srv.mu.Lock()
	srv.failWith = 503
	srv.mu.Unlock()
	if _, err := ts.Token(); !fault.Is(err, fault.Temporary) {
		t.Errorf("503: error = %v, want class temporary", err)
	}
	if c := mustGet(t, e.store, "u-1", connection.Microsoft); c.Status != connection.Connected {
		t.Errorf("a provider outage changed the status to %s", c.Status)
	}
	srv.mu.Lock()
	srv.failWith = 401
	srv.mu.Unlock()
	if _, err := ts.Token(); !fault.Is(err, fault.Permanent) {
		t.Errorf("401 invalid_client: error = %v, want class permanent", err)
	}

	// Flows without a per-user token source say so.
	cc := msConn("u-2")
	cc.Flow = connection.FlowClientCredentials
	mustSave(t, e.store, cc, connection.Credentials{})
	if _, err := e.store.TokenSource(ctx, "u-2", connection.Microsoft, srv.config()); !errors.Is(err, connection.ErrInvalid) {
		t.Errorf("TokenSource(client_credentials) error = %v, want ErrInvalid", err)
	}
	if _, err := e.store.TokenSource(ctx, "u-3", connection.Microsoft, srv.config()); !errors.Is(err, connection.ErrNotFound) {
		t.Errorf("TokenSource(absent) error = %v, want ErrNotFound", err)
	}
}

// TestConcurrentRefreshesKeepTheRotatedToken: with rotation every refresh
// kills the token it used. Many goroutines forcing refreshes at once — in one
// process, and across two processes sharing the table — must leave a stored
// refresh token that still works and the connection connected.
func TestConcurrentRefreshesKeepTheRotatedToken(t *testing.T) {
	ctx := context.Background()
	t.Run("one process", func(t *testing.T) {
		e := newEnv(t, connection.Options{})
		rt := secret("RT")
		srv := newTokenServer(t, true, true, rt)
		mustSave(t, e.store, sfConn("u-1"), connection.Credentials{RefreshToken: rt})
		var wg sync.WaitGroup
		errs := make(chan error, 100)
		for range 8 {
			// Separate token sources, as separate sessions of one worker would have.
			ts, err := e.store.TokenSource(ctx, "u-1", connection.Salesforce, srv.config())
			if err != nil {
				t.Fatal(err)
			}
			wg.Go(func() {
				for range 5 {
					ts.Invalidate("")
					if _, err := ts.Token(); err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("Token(): %v", err)
		}
		checkHealthy(t, e, srv)
	})
	t.Run("two processes", func(t *testing.T) {
		e := newEnv(t, connection.Options{})
		rt := secret("RT")
		srv := newTokenServer(t, true, true, rt)
		mustSave(t, e.store, sfConn("u-1"), connection.Credentials{RefreshToken: rt})
		stores := []*connection.Store{e.store, e.another(t)}
		var wg sync.WaitGroup
		for i := range 6 {
			ts, err := stores[i%2].TokenSource(ctx, "u-1", connection.Salesforce, srv.config())
			if err != nil {
				t.Fatal(err)
			}
			wg.Go(func() {
				for range 5 {
					ts.Invalidate("")
					// Across processes a refresh can lose the race and see its
					// token refused; what matters is the end state below.
					ts.Token()
				}
			})
		}
		wg.Wait()
		checkHealthy(t, e, srv)
	})
}

func checkHealthy(t *testing.T, e *env, srv *tokenServer) {
	t.Helper()
	c := mustGet(t, e.store, "u-1", connection.Salesforce)
	if c.Status != connection.Connected {
		t.Errorf("status = %s (%s), want connected", c.Status, c.StatusReason)
	}
	if stored := mustOpen(t, e.store, "u-1", connection.Salesforce).RefreshToken; !srv.isValid(stored) {
		t.Errorf("stored refresh token is dead at the provider: a rotated token was lost")
	}
}

// TestConnectionLogsHoldNoSecret runs connect → refresh → revoke → reconnect
// → delete with a plain (unredacted) logger: the store itself never logs a
// credential.
func TestConnectionLogsHoldNoSecret(t *testing.T) {
	ctx := context.Background()
	rv := &fakeRevoker{err: errors.New("revocation endpoint down")}
	e := newEnv(t, connection.Options{Revokers: map[connection.Provider]connection.Revoker{connection.Salesforce: rv}})
	rt := secret("RT")
	srv := newTokenServer(t, true, true, rt)
	mustSave(t, e.store, sfConn("u-1"), connection.Credentials{RefreshToken: rt})
	ts, _ := e.store.TokenSource(ctx, "u-1", connection.Salesforce, srv.config())
	if _, err := ts.Token(); err != nil {
		t.Fatal(err)
	}
	for _, v := range srv.allValid() {
		srv.revoke(v)
	}
	ts.Invalidate("")
	ts.Token()
	rt2 := secret("RT")
	srv.mu.Lock()
	srv.valid[rt2] = true
	srv.mu.Unlock()
	mustSave(t, e.store, sfConn("u-1"), connection.Credentials{RefreshToken: rt2})
	ts.Token()
	if err := e.store.Delete(ctx, "u-1"); err != nil {
		t.Fatal(err)
	}
	logs := e.logs.String()
	if logs == "" {
		t.Fatal("nothing was logged")
	}
	for _, s := range append(append([]string{rt, rt2, "client-secret-value"}, srv.allIssued()...), srv.received...) {
		if strings.Contains(logs, s) {
			t.Errorf("logs hold a secret %.8s…", s)
		}
	}
	if strings.Contains(logs, "SECRET") {
		t.Errorf("logs hold something secret-looking:\n%s", logs)
	}
}

// TestReconnectDuringRefreshWins: a user reconnects while a refresh with
// the old token is in flight; the refresh's rotated token must not replace
// the new connection's.
func TestReconnectDuringRefreshWins(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, connection.Options{})
	old, fresh := secret("RT"), secret("RT")
	srv := newTokenServer(t, true, true, old, fresh)
	mustSave(t, e.store, sfConn("u-1"), connection.Credentials{RefreshToken: old})
	racing := &racingStore{
		Store: e.tables,
		match: func(ent tablestore.Entity) bool { return ent.PartitionKey == "u-1" },
		race: func() {
			mustSave(t, e.store, sfConn("u-1"), connection.Credentials{RefreshToken: fresh})
		},
	}
	refresher := connection.NewStore(racing, e.ring, connection.Options{})
	ts, err := refresher.TokenSource(ctx, "u-1", connection.Salesforce, srv.config())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Token(); err != nil {
		t.Fatalf("Token(): %v", err)
	}
	if got := mustOpen(t, e.store, "u-1", connection.Salesforce).RefreshToken; got != fresh {
		t.Error("the refresh overwrote the token saved by the reconnect")
	}
	if c := mustGet(t, e.store, "u-1", connection.Salesforce); c.Status != connection.Connected {
		t.Errorf("status = %s, want connected", c.Status)
	}
}
