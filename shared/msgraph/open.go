package msgraph

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/side"
)

// Opener opens users' mailboxes from their stored connections: with the
// user's delegated tokens, or the app's for mailboxes an admin onboarded
// app-only. The generic opener (shared/sides) finds the user's usable
// connection; Opener turns it into a client or a side.
type Opener struct {
	// OAuth is the app registration's token configuration that refreshes
	// the users' delegated tokens.
	OAuth *oauth2.Config
	// AppOnly, when set, supplies app-only tokens of a tenant for mailboxes
	// an admin onboarded with the client-credentials flow.
	AppOnly func(tenant string) oauth2.TokenSource
	// BaseURL is Microsoft Graph's base ("" = the public cloud).
	BaseURL string
	// HTTPClient carries every API call (nil = http.DefaultClient).
	HTTPClient *http.Client
	Log        *slog.Logger
	// ShareCategory is the category that shares an item into the
	// deployment's CRM, which the sides make sure the mailbox has ("" =
	// DefaultShareCategory, Salesforce's).
	ShareCategory string

	mu    sync.Mutex
	gates map[string]*Gate
	// objectIDs are app-only users' directory object ids, by crmsync user.
	objectIDs map[string]string
}

// Connector is the connector Opener opens sides of.
func (o *Opener) Connector() side.Connector { return Connector }

// OpenMailbox opens the mailbox side of a usable connection c, with the
// user's custom field mappings.
func (o *Opener) OpenMailbox(ctx context.Context, conns *connection.Store, c connection.Connection, custom map[item.Kind][]item.CustomField) (side.Mailbox, error) {
	client, err := o.Client(ctx, conns, c)
	if err != nil {
		return nil, err
	}
	return mbxSide{Side: NewSide(client, SideOptions{Custom: custom, ShareCategory: o.ShareCategory}), client: client}, nil
}

// mbxSide exposes the client's request count to the session report.
type mbxSide struct {
	*Side
	client *Client
}

var _ side.CallReporter = mbxSide{}

func (s mbxSide) Calls() int64 { return s.client.Requests() }

func (o *Opener) gate(user string) *Gate {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.gates == nil {
		o.gates = map[string]*Gate{}
	}
	g, ok := o.gates[user]
	if !ok {
		g = NewGate(MailboxConcurrency)
		o.gates[user] = g
	}
	return g
}

func (o *Opener) ctx(ctx context.Context) context.Context {
	if o.HTTPClient != nil {
		return context.WithValue(ctx, oauth2.HTTPClient, o.HTTPClient)
	}
	return ctx
}

// Client returns a Graph client for the mailbox of a usable connection c,
// with the user's delegated tokens or, for app-only onboarded mailboxes, the
// app's.
func (o *Opener) Client(ctx context.Context, conns *connection.Store, c connection.Connection) (*Client, error) {
	user := c.User
	opts := Options{BaseURL: o.BaseURL, HTTPClient: o.HTTPClient, Gate: o.gate(user), Logger: o.Log}
	if c.Flow == connection.FlowClientCredentials {
		if o.AppOnly == nil {
			return nil, fault.New(fault.Permanent, "app_only_not_configured", "mailbox onboarded app-only, but no app-only credentials are configured")
		}
		cred, err := conns.Credentials(ctx, user, c.Provider)
		if err != nil {
			return nil, err
		}
		// Renewable, so a token Graph refuses (expired in flight) is
		// replaced once before the connection counts as needing the user.
		opts.TokenSource = NewRenewable(func() oauth2.TokenSource { return o.AppOnly(c.Tenant) })
		opts.User = cred.Username
		o.mu.Lock()
		if id := o.objectIDs[user]; id != "" {
			opts.User = id
		}
		o.mu.Unlock()
		client, err := New(opts)
		if err != nil {
			return nil, err
		}
		// Paths name the user's directory object id, never the address: no
		// cursor, subscription or log line holds it. Resolved once per
		// process and user.
		if err := client.ResolveUser(ctx); err != nil {
			return nil, err
		}
		o.mu.Lock()
		if o.objectIDs == nil {
			o.objectIDs = map[string]string{}
		}
		o.objectIDs[user] = client.UserID()
		o.mu.Unlock()
		return client, nil
	}
	ts, err := conns.TokenSource(o.ctx(ctx), user, c.Provider, o.OAuth)
	if err != nil {
		return nil, err
	}
	opts.TokenSource = ts
	return New(opts)
}

// Subscriber keeps a user's mailbox push subscriptions (Subscriptions).
type Subscriber interface {
	ForUser(ctx context.Context, user string) ([]SubscriptionRecord, error)
	Ensure(ctx context.Context, c *Client, user string, resources []string, now time.Time) ([]string, error)
}

// EnsureSubscriptions creates the user's mailbox subscriptions when they have
// none, with a client from open; with subscriptions in place it costs one
// table read.
func EnsureSubscriptions(ctx context.Context, subs Subscriber, open func(ctx context.Context, user string) (*Client, error), user string, now time.Time) error {
	have, err := subs.ForUser(ctx, user)
	if err != nil || len(have) > 0 {
		return err
	}
	client, err := open(ctx, user)
	if err != nil {
		return err
	}
	resources, err := NewSide(client, SideOptions{}).Resources(ctx)
	if err != nil {
		return err
	}
	_, err = subs.Ensure(ctx, client, user, resources, now)
	return err
}
