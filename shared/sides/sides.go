// Package sides opens a user's CRM and mailbox for a sync session, with the
// user's own credentials from their stored connections, so the CRM's sharing
// rules and the mailbox's permissions hold for everything crmsync does.
package sides

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/msgraph"
	"github.com/crmsync/crmsync/shared/salesforce"
	"github.com/crmsync/crmsync/shared/side"
)

var (
	_ side.CustomOpener = (*Opener)(nil)
	_ side.FieldChecker = crmSide{}
)

// Opener implements side.Opener over stored connections.
type Opener struct {
	Connections *connection.Store
	// Salesforce and Microsoft are the OAuth client configurations (token
	// endpoint, client id and secret) that refresh the users' tokens.
	Salesforce *oauth2.Config
	Microsoft  *oauth2.Config
	// MicrosoftAppOnly, when set, supplies app-only tokens of a tenant for
	// mailboxes an admin onboarded with the client-credentials flow.
	MicrosoftAppOnly func(tenant string) oauth2.TokenSource
	// SalesforceJWT, when set, supplies tokens for users an admin provisioned
	// with the JWT bearer flow (no refresh token: the app signs an assertion).
	SalesforceJWT func(ctx context.Context, username string) salesforce.TokenSource
	// GraphBaseURL is Microsoft Graph's base ("" = the public cloud).
	GraphBaseURL string
	// HTTPClient carries every API call (nil = http.DefaultClient).
	HTTPClient *http.Client
	// SalesforceMaxShare is the share of the org's daily API allowance
	// crmsync may use (0 = the client's default).
	SalesforceMaxShare float64
	// SalesforceUserShare caps each user's own calls at this share of the
	// org's daily allowance over the rolling 24 hours (0 = no per-user cap),
	// as counted by SalesforceCounter; it may not exceed SalesforceMaxShare.
	SalesforceUserShare float64
	// SalesforceCounter returns a counter of user's calls that spans their
	// sessions (such as session.LeaseCounter), for SalesforceUserShare. It is
	// called for every opened side (nil: each client counts only its own).
	SalesforceCounter func(user string) side.CallCounter
	// Now is the clock of the call count (nil = time.Now).
	Now func() time.Time
	Log *slog.Logger

	describe *salesforce.DescribeCache
	mu       sync.Mutex
	gates    map[string]*msgraph.Gate
	// objectIDs are app-only users' directory object ids, by crmsync user.
	objectIDs map[string]string
}

// Open implements side.Opener. A connection that is missing, paused or
// needs reconnecting is a fault.Reconnect error naming the provider.
func (o *Opener) Open(ctx context.Context, user string) (side.Sides, error) {
	return o.OpenCustom(ctx, user, nil)
}

// OpenCustom implements side.CustomOpener: Open, with the user's custom
// field mappings added to the Salesforce field tables and the mailbox side.
func (o *Opener) OpenCustom(ctx context.Context, user string, custom map[item.Kind][]item.CustomField) (side.Sides, error) {
	crm, err := o.openSalesforce(ctx, user, custom)
	if err != nil {
		return side.Sides{}, err
	}
	mbx, err := o.openMicrosoft(ctx, user, custom)
	if err != nil {
		return side.Sides{}, err
	}
	return side.Sides{CRM: crm, Mailbox: mbx}, nil
}

func (o *Opener) usable(ctx context.Context, user string, p connection.Provider) (connection.Connection, error) {
	c, err := o.Connections.Get(ctx, user, p)
	if errors.Is(err, connection.ErrNotFound) {
		return c, fault.New(fault.Reconnect, "not_connected", fmt.Sprintf("no %s connection", p))
	}
	if err != nil {
		return c, err
	}
	if !c.SyncAllowed() {
		return c, fault.New(fault.Reconnect, string(c.Status), fmt.Sprintf("the %s connection is %s", p, c.Status))
	}
	return c, nil
}

func (o *Opener) ctx(ctx context.Context) context.Context {
	if o.HTTPClient != nil {
		return context.WithValue(ctx, oauth2.HTTPClient, o.HTTPClient)
	}
	return ctx
}

// crmSide exposes the Salesforce client's call count to the session report,
// and the org the user's Salesforce account is in (side.OrgReporter).
type crmSide struct {
	*salesforce.Side
	client *salesforce.Client
	org    string
}

func (s crmSide) Calls() int64 { return s.client.Calls() }

// Org is the Salesforce org id of the user's connection.
func (s crmSide) Org() string { return s.org }

// sfTokens adapts a connection's token source to the Salesforce client, which
// invalidates "the token it was given" after a 401.
type sfTokens struct {
	ts   *connection.TokenSource
	mu   sync.Mutex
	last string
}

func (t *sfTokens) Token() (*oauth2.Token, error) {
	tok, err := t.ts.Token()
	if err == nil {
		t.mu.Lock()
		t.last = tok.AccessToken
		t.mu.Unlock()
	}
	return tok, err
}

func (t *sfTokens) Invalidate() {
	t.mu.Lock()
	last := t.last
	t.mu.Unlock()
	t.ts.Invalidate(last)
}

func (o *Opener) openSalesforce(ctx context.Context, user string, custom map[item.Kind][]item.CustomField) (side.CRM, error) {
	side, client, org, err := o.salesforceSide(ctx, user, custom)
	if err != nil {
		return nil, err
	}
	return crmSide{Side: side, client: client, org: org}, nil
}

// OpenSalesforce opens the user's Salesforce with the user's own
// credentials, for the add-in's reads and writes.
func (o *Opener) OpenSalesforce(ctx context.Context, user string) (*salesforce.Side, error) {
	side, _, _, err := o.salesforceSide(ctx, user, nil)
	return side, err
}

// salesforceSide opens the user's Salesforce side and client, and names the org.
func (o *Opener) salesforceSide(ctx context.Context, user string, custom map[item.Kind][]item.CustomField) (*salesforce.Side, *salesforce.Client, string, error) {
	c, err := o.usable(ctx, user, connection.Salesforce)
	if err != nil {
		return nil, nil, "", err
	}
	var tokens salesforce.TokenSource
	if c.Flow == connection.FlowJWTBearer {
		if o.SalesforceJWT == nil {
			return nil, nil, "", fault.New(fault.Permanent, "jwt_not_configured", "user provisioned with JWT bearer, but no signing key is configured")
		}
		cred, err := o.Connections.Credentials(ctx, user, connection.Salesforce)
		if err != nil {
			return nil, nil, "", err
		}
		tokens = o.SalesforceJWT(o.ctx(ctx), cred.Username)
	} else {
		ts, err := o.Connections.TokenSource(o.ctx(ctx), user, connection.Salesforce, o.Salesforce)
		if err != nil {
			return nil, nil, "", err
		}
		tokens = &sfTokens{ts: ts}
	}
	o.mu.Lock()
	if o.describe == nil {
		o.describe = salesforce.NewDescribeCache(0)
	}
	describe := o.describe
	o.mu.Unlock()
	opts := salesforce.Options{Tokens: tokens, InstanceURL: c.InstanceURL,
		HTTPClient: o.HTTPClient, MaxShare: o.SalesforceMaxShare, Describe: describe, Logger: o.Log}
	if o.SalesforceUserShare > 0 {
		opts.UserShare, opts.Now = o.SalesforceUserShare, o.Now
		if o.SalesforceCounter != nil {
			opts.Counter = o.SalesforceCounter(user)
		}
	}
	client, err := salesforce.New(opts)
	if err != nil {
		return nil, nil, "", err
	}
	side, err := salesforce.NewSide(client, salesforce.SideOptions{Logger: o.Log, Extra: salesforce.CustomFields(custom)})
	if err != nil {
		return nil, nil, "", err
	}
	return side, client, c.Tenant, nil
}

// mbxSide exposes the Graph client's request count to the session report.
type mbxSide struct {
	*msgraph.Side
	client *msgraph.Client
}

func (s mbxSide) Calls() int64 { return s.client.Requests() }

func (o *Opener) gate(user string) *msgraph.Gate {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.gates == nil {
		o.gates = map[string]*msgraph.Gate{}
	}
	g, ok := o.gates[user]
	if !ok {
		g = msgraph.NewGate(msgraph.MailboxConcurrency)
		o.gates[user] = g
	}
	return g
}

func (o *Opener) openMicrosoft(ctx context.Context, user string, custom map[item.Kind][]item.CustomField) (side.Mailbox, error) {
	client, err := o.GraphClient(ctx, user)
	if err != nil {
		return nil, err
	}
	return mbxSide{Side: msgraph.NewSide(client, msgraph.SideOptions{Custom: custom}), client: client}, nil
}

// GraphClient returns a Graph client for the user's mailbox, with the user's
// delegated tokens or, for app-only onboarded mailboxes, the app's.
func (o *Opener) GraphClient(ctx context.Context, user string) (*msgraph.Client, error) {
	c, err := o.usable(ctx, user, connection.Microsoft)
	if err != nil {
		return nil, err
	}
	opts := msgraph.Options{BaseURL: o.GraphBaseURL, HTTPClient: o.HTTPClient, Gate: o.gate(user), Logger: o.Log}
	if c.Flow == connection.FlowClientCredentials {
		if o.MicrosoftAppOnly == nil {
			return nil, fault.New(fault.Permanent, "app_only_not_configured", "mailbox onboarded app-only, but no app-only credentials are configured")
		}
		cred, err := o.Connections.Credentials(ctx, user, connection.Microsoft)
		if err != nil {
			return nil, err
		}
		// Renewable, so a token Graph refuses (expired in flight) is
		// replaced once before the connection counts as needing the user.
		opts.TokenSource = msgraph.NewRenewable(func() oauth2.TokenSource { return o.MicrosoftAppOnly(c.Tenant) })
		opts.User = cred.Username
		o.mu.Lock()
		if id := o.objectIDs[user]; id != "" {
			opts.User = id
		}
		o.mu.Unlock()
		client, err := msgraph.New(opts)
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
	ts, err := o.Connections.TokenSource(o.ctx(ctx), user, connection.Microsoft, o.Microsoft)
	if err != nil {
		return nil, err
	}
	opts.TokenSource = ts
	return msgraph.New(opts)
}

// Subscriber keeps a user's mailbox push subscriptions.
type Subscriber interface {
	ForUser(ctx context.Context, user string) ([]msgraph.SubscriptionRecord, error)
	Ensure(ctx context.Context, c *msgraph.Client, user string, resources []string, now time.Time) ([]string, error)
}

// EnsureSubscriptions creates the user's mailbox subscriptions when they have
// none; with subscriptions in place it costs one table read.
func (o *Opener) EnsureSubscriptions(ctx context.Context, subs Subscriber, user string, now time.Time) error {
	have, err := subs.ForUser(ctx, user)
	if err != nil || len(have) > 0 {
		return err
	}
	client, err := o.GraphClient(ctx, user)
	if err != nil {
		return err
	}
	resources, err := msgraph.NewSide(client, msgraph.SideOptions{}).Resources(ctx)
	if err != nil {
		return err
	}
	_, err = subs.Ensure(ctx, client, user, resources, now)
	return err
}

// Prefetch implements side.Prefetcher with one Salesforce composite call.
func (s crmSide) Prefetch(ctx context.Context, scopes []item.Scope, cursors []string) error {
	reqs := make([]salesforce.FeedRequest, len(scopes))
	for i := range scopes {
		reqs[i] = salesforce.FeedRequest{Scope: scopes[i], Cursor: cursors[i]}
	}
	return s.Side.Prefetch(ctx, reqs)
}
