package main

import (
	"log/slog"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/shared/dashboard"
	"github.com/crmsync/crmsync/shared/google"
	"github.com/crmsync/crmsync/shared/settings"
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
// Domain-wide delegation and Calendar push are not wired yet: an
// admin-onboarded (jwt_bearer) connection fails to open naming the missing
// service account, and events are polled.
func googleOpener(cfg settings.Settings, log *slog.Logger) *google.Opener {
	return &google.Opener{OAuth: googleOAuth(cfg), BaseURL: cfg.GoogleBaseURL, Log: log.With("mailbox", google.Provider)}
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
