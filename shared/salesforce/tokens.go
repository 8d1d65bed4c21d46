package salesforce

import (
	"context"
	"sync"

	"golang.org/x/oauth2"
)

// Refreshing returns a TokenSource that refreshes through cfg when the
// current token is invalidated (Salesforce tokens have no expiry, so a 401 is
// the only signal). Refresh responses keep the old refresh token unless the
// connected app rotates them; onRefresh (may be nil) sees every new token so
// the caller can store a rotated refresh token at once.
func Refreshing(ctx context.Context, cfg *oauth2.Config, tok *oauth2.Token, onRefresh func(*oauth2.Token)) TokenSource {
	return &refreshing{ctx: ctx, cfg: cfg, tok: tok, onRefresh: onRefresh}
}

type refreshing struct {
	mu        sync.Mutex
	ctx       context.Context
	cfg       *oauth2.Config
	tok       *oauth2.Token
	onRefresh func(*oauth2.Token)
}

func (r *refreshing) Token() (*oauth2.Token, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tok.AccessToken != "" {
		return r.tok, nil
	}
	next, err := r.cfg.TokenSource(r.ctx, r.tok).Token()
	if err != nil {
		return nil, err
	}
	// A refresh answer carries instance_url and id again; keep the old ones
	// if it did not.
	if _, ok := next.Extra("instance_url").(string); !ok {
		next = next.WithExtra(map[string]any{"instance_url": r.tok.Extra("instance_url"), "id": r.tok.Extra("id")})
	}
	r.tok = next
	if r.onRefresh != nil {
		r.onRefresh(next)
	}
	return next, nil
}

func (r *refreshing) Invalidate() {
	r.mu.Lock()
	defer r.mu.Unlock()
	cp := *r.tok
	cp.AccessToken = ""
	r.tok = &cp
}

// Static returns a TokenSource for a fixed token (tests, short jobs);
// Invalidate cannot refresh it, so a second 401 means reconnect.
func Static(tok *oauth2.Token) TokenSource { return Wrap(oauth2.StaticTokenSource(tok)) }

// Wrap adapts a plain oauth2.TokenSource; Invalidate does nothing, so a
// source that caches tokens must refresh on its own.
func Wrap(ts oauth2.TokenSource) TokenSource { return wrapped{ts} }

type wrapped struct{ oauth2.TokenSource }

func (wrapped) Invalidate() {}
