package google

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/shared/connect"
	"github.com/crmsync/crmsync/shared/connection"
)

// ConnectProvider is the Google user's OAuth flow as a connect.Provider:
// the dashboard's Connect Google Workspace at {prefix}/google (PKCE added by
// connect), offline access with the consent screen shown every time (Google
// issues a refresh token only with a consent), the scopes of Scopes and no
// more (no openid or e-mail scopes: the address is read from Gmail's
// profile, which gmail.modify already allows).
type ConnectProvider struct {
	// OAuth is the client (OAuthConfig, with RedirectURL at
	// {prefix}/google/callback); nil = users cannot connect Google.
	OAuth *oauth2.Config
	// BaseURL replaces Google's API roots (the local Google's base).
	BaseURL string
	// HTTPClient carries the profile read (nil = http.DefaultClient).
	HTTPClient *http.Client
	// Delegation, when set, serves the organisation admin's domain-wide
	// delegation page and its forms (delegationpage.go).
	Delegation *DelegationPage
}

var _ connect.Provider = (*ConnectProvider)(nil)

// ID implements connect.Provider.
func (p *ConnectProvider) ID() connection.Provider { return Provider }

// Name implements connect.Provider.
func (p *ConnectProvider) Name() string { return Connector.Name }

// TenantName implements connect.Provider.
func (p *ConnectProvider) TenantName() string { return "Google Workspace domain" }

// Check implements connect.Provider: a configured client needs its id,
// secret (Google's web clients redeem codes with it), endpoints and
// redirect URL.
func (p *ConnectProvider) Check() []string {
	if p == nil || p.OAuth == nil {
		return nil
	}
	var out []string
	for _, f := range []struct{ name, v string }{{"ClientID", p.OAuth.ClientID}, {"ClientSecret", p.OAuth.ClientSecret},
		{"AuthURL", p.OAuth.Endpoint.AuthURL}, {"TokenURL", p.OAuth.Endpoint.TokenURL}, {"RedirectURL", p.OAuth.RedirectURL}} {
		if f.v == "" {
			out = append(out, "Google."+f.name+" is empty")
		}
	}
	return out
}

// UserFlow implements connect.Provider.
func (p *ConnectProvider) UserFlow() (*oauth2.Config, []oauth2.AuthCodeOption) {
	if p == nil || p.OAuth == nil {
		return nil, nil
	}
	// prompt=consent: after a first consent Google leaves the refresh
	// token out unless the consent screen is shown again, and a reconnect
	// needs one. select_account: the user picks the mailbox rather than
	// whichever account the browser is signed in with.
	return p.OAuth, []oauth2.AuthCodeOption{oauth2.AccessTypeOffline, oauth2.SetAuthURLParam("prompt", "consent select_account")}
}

// Connection implements connect.Provider: every scope of Scopes must be
// granted (with granular consent a user can untick some, and the token
// response's scope says which were kept), and the connection's tenant is
// the domain of the Gmail address the token reads. The address itself is
// not stored.
func (p *ConnectProvider) Connection(ctx context.Context, _ *connect.Handler, user string, tok *oauth2.Token) (connection.Connection, error) {
	granted := strings.Fields(scopeOf(tok))
	var missing []string
	for _, s := range Scopes {
		if !slices.Contains(granted, s) {
			missing = append(missing, strings.TrimPrefix(s, "https://www.googleapis.com/auth/"))
		}
	}
	if len(missing) > 0 {
		return connection.Connection{}, connect.Refuse(0, "scopes_declined",
			"Google Workspace did not grant everything crmsync needs ("+strings.Join(missing, ", ")+"). Connect again and leave every permission ticked.",
			"scopes declined: "+strings.Join(missing, " "))
	}
	c, err := New(Options{TokenSource: oauth2.StaticTokenSource(tok), BaseURL: p.BaseURL, HTTPClient: p.HTTPClient})
	if err != nil {
		return connection.Connection{}, err
	}
	addr, err := c.Address(ctx)
	if err != nil {
		return connection.Connection{}, err
	}
	at := strings.LastIndex(addr, "@")
	if at < 1 || at == len(addr)-1 {
		return connection.Connection{}, connect.Refuse(0, "no_mailbox", "The Google account has no Gmail mailbox crmsync can sync.", "profile without an address")
	}
	return connection.Connection{User: user, Provider: Provider, Tenant: strings.ToLower(addr[at+1:]), Flow: connection.FlowAuthCode, Scopes: granted}, nil
}

// Routes implements connect.Provider: the organisation admin's
// domain-wide delegation page (the user flow is connect's own).
func (p *ConnectProvider) Routes(h *connect.Handler) []connect.Route { return p.delegationRoutes(h) }

// scopeOf is the scope a token response granted ("" when it says none).
func scopeOf(tok *oauth2.Token) string {
	s, _ := tok.Extra("scope").(string)
	return s
}

// Address is the mailbox's own address, from Gmail's profile.
func (c *Client) Address(ctx context.Context) (string, error) {
	var prof struct {
		EmailAddress string `json:"emailAddress"`
	}
	if err := c.do(ctx, "GET", c.gmail+"/gmail/v1/users/me/profile", nil, &prof); err != nil {
		return "", err
	}
	return prof.EmailAddress, nil
}
