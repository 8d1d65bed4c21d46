package main

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/dashboard"
	"github.com/crmsync/crmsync/shared/google"
	"github.com/crmsync/crmsync/shared/msgraph"
	"github.com/crmsync/crmsync/shared/settings"
	"github.com/crmsync/crmsync/shared/side"
)

// googleOAuth is the Google OAuth client of a CRMSYNC_MAILBOX=google
// deployment: Google's endpoints, or the local Google's under
// CRMSYNC_GOOGLE_BASE_URL, redirecting to the dashboard's connect callback.
func googleOAuth(cfg settings.Settings) *oauth2.Config {
	var authURL, tokenURL string
	if cfg.GoogleBaseURL != "" {
		authURL, tokenURL = cfg.GoogleBaseURL+"/o/oauth2/v2/auth", cfg.GoogleBaseURL+"/token"
	}
	c := google.OAuthConfig(cfg.GoogleClientID, cfg.GoogleClientSecret, authURL, tokenURL)
	c.RedirectURL = cfg.PublicURL + dashboard.Prefix + "/connect/" + google.Provider + "/callback"
	return c
}

// googleOpener opens users' Google mailboxes with their own OAuth tokens.
// Each opened side keeps a Calendar watch channel per synced calendar
// calling the notifications function (pushKey signs the channel tokens),
// when Google can reach it: over HTTPS, or the local Google at any URL.
func googleOpener(cfg settings.Settings, log *slog.Logger, pushKey []byte, now func() time.Time) *google.Opener {
	o := &google.Opener{OAuth: googleOAuth(cfg), BaseURL: cfg.GoogleBaseURL, Log: log.With("mailbox", google.Provider)}
	if strings.HasPrefix(cfg.PublicURL, "https://") || cfg.GoogleBaseURL != "" {
		o.Push = &google.WatchOptions{Address: cfg.PublicURL + "/api/notifications", Key: pushKey, Now: now}
	}
	return o
}

// pusher is the notifications function's side.Pusher: the Google
// connector's (watch channels) when the mailbox is Google, Graph's
// subscriptions otherwise.
func (a *app) pusher() side.Pusher {
	log := a.log.With("function", "notifications")
	if a.google != nil {
		var key []byte
		if a.google.Push != nil {
			key = a.google.Push.Key
		}
		return google.Push{Key: key, Logger: log, Connected: func(ctx context.Context, user string) bool {
			_, err := a.conns.Get(ctx, user, google.Provider)
			return !errors.Is(err, connection.ErrNotFound)
		}}
	}
	return msgraph.Push{Subscriptions: a.subs, Now: a.now, Logger: log}
}

// googleConnect is the dashboard's Connect Google Workspace: the user OAuth
// flow with the opener's client, so the refresh tokens it stores are the
// ones the opener refreshes.
func (a *app) googleConnect() *google.ConnectProvider {
	return &google.ConnectProvider{OAuth: a.google.OAuth, BaseURL: a.google.BaseURL, HTTPClient: a.google.HTTPClient}
}

// googleRevoker revokes a deleted account's Google refresh token, at the
// local Google under CRMSYNC_GOOGLE_BASE_URL.
func googleRevoker(cfg settings.Settings) *google.Revoker {
	r := &google.Revoker{}
	if cfg.GoogleBaseURL != "" {
		r.URL = cfg.GoogleBaseURL + "/revoke"
	}
	return r
}
