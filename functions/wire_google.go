package main

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/shared/account"
	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/dashboard"
	"github.com/crmsync/crmsync/shared/google"
	"github.com/crmsync/crmsync/shared/identity"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/msgraph"
	"github.com/crmsync/crmsync/shared/notice"
	"github.com/crmsync/crmsync/shared/reconcile"
	"github.com/crmsync/crmsync/shared/session"
	"github.com/crmsync/crmsync/shared/side"
)

// googleOAuth is the Google OAuth client of a CRMSYNC_MAILBOX=google
// deployment: Google's endpoints, or the local Google's under
// CRMSYNC_GOOGLE_BASE_URL, redirecting to the dashboard's connect callback.
func googleOAuth(cfg config) *oauth2.Config {
	var authURL, tokenURL string
	if cfg.Google.BaseURL != "" {
		authURL, tokenURL = cfg.Google.BaseURL+"/o/oauth2/v2/auth", cfg.Google.BaseURL+"/token"
	}
	c := google.OAuthConfig(cfg.Google.ClientID, cfg.Google.ClientSecret, authURL, tokenURL)
	c.RedirectURL = cfg.PublicURL + dashboard.Prefix + "/connect/" + google.Provider + "/callback"
	return c
}

// googleSignIn is "Sign in with Google" of a CRMSYNC_MAILBOX=google
// deployment: OpenID Connect with the same Google OAuth client the mailbox
// connect flow uses (its redirect URI list gains .../auth/google/callback),
// discovered at accounts.google.com or the local Google. The organisation
// of a Google user is their Workspace domain (hd).
//
// Sign-in asks for "openid email profile" only, not the mailbox scopes:
// the session must not hold mailbox tokens, and the connect flow keeps
// its own state, PKCE and sealed refresh token per connection. Google
// remembers the identity consent, so the connect step that follows shows
// only the mailbox scopes (incremental authorization) — nothing is asked
// twice.
func googleSignIn(cfg config, authBase string) (identity.Provider, dashboard.Provider) {
	authority := "https://accounts.google.com"
	if cfg.Google.BaseURL != "" {
		authority = cfg.Google.BaseURL
	}
	return identity.Provider{Name: google.Provider, Kind: identity.Google, Authority: authority,
			ClientID: cfg.Google.ClientID, ClientSecret: cfg.Google.ClientSecret, RedirectURL: authBase + google.Provider + "/callback",
			AllowedTenants: cfg.Google.Domains(), AnyTenant: anyOf(cfg.Google.Domains())},
		dashboard.Provider{Name: google.Provider, Label: "Sign in with Google"}
}

// googleOpener opens users' Google mailboxes with their own OAuth tokens.
// Each opened side keeps a Calendar watch channel per synced calendar
// calling the notifications function (pushKey signs the channel tokens),
// when Google can reach it: over HTTPS, or the local Google at any URL.
// With CRMSYNC_GOOGLE_PUBSUB_TOPIC each side also calls Gmail's users.watch
// daily and indexes its address's fingerprint for the Pub/Sub push.
func (a *app) googleOpener(pushKey []byte) *google.Opener {
	cfg := a.settings
	o := &google.Opener{OAuth: googleOAuth(cfg), BaseURL: cfg.Google.BaseURL, Log: a.log.With("mailbox", google.Provider)}
	// The service account keys org admins upload for their domains,
	// sealed with the key ring, used for their onboarded users.
	tokenURL := ""
	if cfg.Google.BaseURL != "" {
		tokenURL = cfg.Google.BaseURL + "/token"
	}
	o.Domains = &google.Delegations{Store: a.store, Sealer: account.KeysSealer{Keys: a.ring}, TokenURL: tokenURL, Now: a.now}
	if strings.HasPrefix(cfg.PublicURL, "https://") || cfg.Google.BaseURL != "" {
		o.Push = &google.WatchOptions{Address: cfg.PublicURL + "/api/notifications", Key: pushKey, Now: a.now}
		if cfg.Google.PubSubTopic != "" {
			o.Push.Topic = cfg.Google.PubSubTopic
			o.Push.Mailboxes = &google.MailboxIndex{Store: a.store, Key: subKey(pushKey, "gmail-mailbox-index")}
		}
	}
	return o
}

// googleForget removes what the Google connector keeps of a deleted user
// in its own table (the Gmail mailbox index).
func (a *app) googleForget() []account.Deleter {
	if a.google == nil || a.google.Push == nil || a.google.Push.Mailboxes == nil {
		return nil
	}
	return []account.Deleter{account.DeleterFunc(a.google.Push.Mailboxes.Forget)}
}

// googleUnhook stops a deleted user's push at Google — the Calendar watch
// channels and Gmail watch their cursors hold — while the user's token
// still works: account deletion runs it before revoking the token
// (account.Deps.Unhook). A user without a Google connection has none.
func (a *app) googleUnhook(ctx context.Context, user string) error {
	if _, err := a.conns.Get(ctx, user, google.Provider); errors.Is(err, connection.ErrNotFound) {
		return nil
	}
	st := session.NewState(a.store, user)
	events, err := st.LoadCursors(ctx, item.Event)
	if err != nil {
		return err
	}
	mail, err := st.LoadCursors(ctx, item.SharedEmail)
	if err != nil {
		return err
	}
	c, err := a.opener.Usable(ctx, user, google.Provider)
	if err != nil {
		return err
	}
	client, err := a.google.Client(ctx, a.conns, c)
	if err != nil {
		return err
	}
	return client.StopPush(ctx, events.Old[reconcile.Mailbox], mail.Old[reconcile.Mailbox])
}

// pusher is the notifications function's side.Pusher: the Google
// connector's (watch channels) when the mailbox is Google, Graph's
// subscriptions otherwise.
func (a *app) pusher() side.Pusher {
	log := a.log.With("function", "notifications")
	if a.google != nil {
		p := google.Push{Logger: log, Connected: func(ctx context.Context, user string) bool {
			_, err := a.conns.Get(ctx, user, google.Provider)
			return !errors.Is(err, connection.ErrNotFound)
		}}
		if w := a.google.Push; w != nil {
			p.Key = w.Key
			if w.Topic != "" {
				certs := google.CertsURL
				if a.settings.Google.BaseURL != "" {
					certs = a.settings.Google.BaseURL + "/oauth2/v3/certs"
				}
				p.Mailboxes = w.Mailboxes
				p.PubSub = &google.PubSubAuth{Keys: identity.NewKeySet(certs, nil, a.now), Audience: w.Address,
					ServiceAccount: a.settings.Google.PubSubServiceAccount, Now: a.now}
			}
		}
		return p
	}
	return msgraph.Push{Subscriptions: a.subs, Now: a.now, Logger: log}
}

// googleConnect is the dashboard's Connect Google Workspace: the user OAuth
// flow with the opener's client, so the refresh tokens it stores are the
// ones the opener refreshes, and the org admin's domain-wide delegation
// page over the opener's delegations (csrf: the session's form token).
func (a *app) googleConnect(csrf func(*http.Request) string) *google.ConnectProvider {
	p := &google.ConnectProvider{OAuth: a.google.OAuth, BaseURL: a.google.BaseURL, HTTPClient: a.google.HTTPClient}
	if d, ok := a.google.Domains.(*google.Delegations); ok {
		p.Delegation = &google.DelegationPage{Delegations: d, CSRFToken: csrf, Prefix: dashboard.Prefix + "/connect",
			Overview: dashboard.Prefix + "/overview", Static: dashboard.Prefix + "/static"}
	}
	return p
}

// googleAdminPages are the Google provider's admin pages for the
// dashboard's organisation page.
func googleAdminPages(p *google.ConnectProvider) []dashboard.AdminPage {
	var out []dashboard.AdminPage
	for _, ap := range p.AdminPages() {
		out = append(out, dashboard.AdminPage{Title: ap.Title, Path: ap.Path})
	}
	return out
}

// googleRevoker revokes a deleted account's Google refresh token, at the
// local Google under CRMSYNC_GOOGLE_BASE_URL.
func googleRevoker(cfg config) *google.Revoker {
	r := &google.Revoker{}
	if cfg.Google.BaseURL != "" {
		r.URL = cfg.Google.BaseURL + "/revoke"
	}
	return r
}

// noticeMailer is how notices are sent: in a Google mailbox deployment
// without SMTP or a Graph service mailbox, from each user's own Gmail to
// themselves (users.messages.send, which gmail.modify allows); otherwise as
// notifyMailer decides. Like Microsoft's own-mailbox sending, a Google
// connection that itself needs reconnecting cannot send about itself (the
// dashboard still shows it).
func (a *app) noticeMailer(ctx context.Context, cfg config, ms *msgraph.App) notice.Mailer {
	if a.google != nil && cfg.SMTPAddr == "" && (cfg.NotifyMailbox == "" || ms == nil) {
		return notice.OwnMailbox{Senders: func(ctx context.Context, user string) (notice.Sender, error) {
			c, err := a.opener.Usable(ctx, user, google.Provider)
			if err != nil {
				return nil, err
			}
			return a.google.Client(ctx, a.conns, c)
		}}
	}
	return notifyMailer(ctx, cfg, ms, a.graphClient)
}
