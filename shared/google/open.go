package google

import (
	"context"
	"log/slog"
	"net/http"
	"sync"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/side"
)

// Opener opens users' Google mailboxes from their stored connections, with
// each user's own OAuth tokens (the auth_code flow). It satisfies
// sides.MailboxOpener without importing sides.
type Opener struct {
	// OAuth is the OAuth client that refreshes the users' tokens (OAuthConfig).
	OAuth *oauth2.Config
	// BaseURL replaces Google's API roots ("" = the real ones; the local
	// Google's base in the demo and tests).
	BaseURL string
	// HTTPClient carries every API and token call (nil = http.DefaultClient).
	HTTPClient *http.Client
	Log        *slog.Logger

	mu     sync.Mutex
	writes map[string]*sync.Mutex
}

// Connector is the connector Opener opens sides of.
func (o *Opener) Connector() side.Connector { return Connector }

// writeLock is the user's People write lock, shared by every side opened for
// the user in this process (mutate requests of a user go one at a time).
func (o *Opener) writeLock(user string) *sync.Mutex {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.writes == nil {
		o.writes = map[string]*sync.Mutex{}
	}
	if o.writes[user] == nil {
		o.writes[user] = &sync.Mutex{}
	}
	return o.writes[user]
}

// OpenMailbox opens the mailbox side of a usable connection c. Google
// mailboxes map no custom fields yet: custom mappings are refused rather
// than dropped.
func (o *Opener) OpenMailbox(ctx context.Context, conns *connection.Store, c connection.Connection, custom map[item.Kind][]item.CustomField) (side.Mailbox, error) {
	for kind, fields := range custom {
		if len(fields) > 0 {
			return nil, fault.New(fault.Permanent, "custom_fields_unsupported", "the Google mailbox maps no custom fields yet ("+string(kind)+")")
		}
	}
	client, err := o.Client(ctx, conns, c)
	if err != nil {
		return nil, err
	}
	return NewSide(client), nil
}

// Client returns a client for the mailbox of a usable connection c.
func (o *Opener) Client(ctx context.Context, conns *connection.Store, c connection.Connection) (*Client, error) {
	if c.Flow != connection.FlowAuthCode {
		return nil, fault.New(fault.Permanent, "flow_unsupported", "a Google connection is made with the auth_code flow, not "+string(c.Flow))
	}
	if o.OAuth == nil {
		return nil, fault.New(fault.Permanent, "oauth_not_configured", "no Google OAuth client is configured")
	}
	if o.HTTPClient != nil {
		ctx = context.WithValue(ctx, oauth2.HTTPClient, o.HTTPClient)
	}
	ts, err := conns.TokenSource(ctx, c.User, c.Provider, o.OAuth)
	if err != nil {
		return nil, err
	}
	return New(Options{TokenSource: ts, BaseURL: o.BaseURL, HTTPClient: o.HTTPClient, Writes: o.writeLock(c.User), Logger: o.Log})
}
