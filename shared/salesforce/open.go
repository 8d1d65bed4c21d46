package salesforce

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

// Opener opens users' Salesforce sides from their stored connections, with
// the user's own credentials so Salesforce's sharing rules hold for
// everything crmsync does. The generic opener (shared/sides) finds the
// user's usable connection; Opener turns it into a side.
type Opener struct {
	// OAuth is the External Client App's token configuration that refreshes
	// the users' tokens.
	OAuth *oauth2.Config
	// JWT, when set, supplies tokens for users an admin provisioned with the
	// JWT bearer flow (no refresh token: the app signs an assertion).
	JWT func(ctx context.Context, username string) TokenSource
	// HTTPClient carries every API call (nil = http.DefaultClient).
	HTTPClient *http.Client
	// MaxShare is the share of the org's daily API allowance crmsync may use
	// (0 = the client's default).
	MaxShare float64
	// UserShare caps each user's own calls at this share of the org's daily
	// allowance over the rolling 24 hours (0 = no per-user cap), as counted
	// by Counter; it may not exceed MaxShare.
	UserShare float64
	// Counter returns a counter of user's calls that spans their sessions
	// (such as session.LeaseCounter), for UserShare. It is called for every
	// opened side (nil: each client counts only its own).
	Counter func(user string) side.CallCounter
	// Now is the clock of the call count (nil = time.Now).
	Now func() time.Time
	Log *slog.Logger

	mu       sync.Mutex
	describe *DescribeCache
}

// Connector is the connector Opener opens sides of.
func (o *Opener) Connector() side.Connector { return Connector }

// OpenCRM opens the CRM side of a usable connection c (shared/sides checks
// it), with the user's custom field mappings added to the field tables.
func (o *Opener) OpenCRM(ctx context.Context, conns *connection.Store, c connection.Connection, custom map[item.Kind][]item.CustomField) (side.CRM, error) {
	s, client, err := o.open(ctx, conns, c, custom)
	if err != nil {
		return nil, err
	}
	return crmSide{Side: s, client: client, org: c.Tenant}, nil
}

// OpenSide opens the Salesforce side itself of a usable connection, for the
// add-in's reads and writes.
func (o *Opener) OpenSide(ctx context.Context, conns *connection.Store, c connection.Connection) (*Side, error) {
	s, _, err := o.open(ctx, conns, c, nil)
	return s, err
}

func (o *Opener) ctx(ctx context.Context) context.Context {
	if o.HTTPClient != nil {
		return context.WithValue(ctx, oauth2.HTTPClient, o.HTTPClient)
	}
	return ctx
}

// open opens the user's Salesforce side and client.
func (o *Opener) open(ctx context.Context, conns *connection.Store, c connection.Connection, custom map[item.Kind][]item.CustomField) (*Side, *Client, error) {
	var tokens TokenSource
	if c.Flow == connection.FlowJWTBearer {
		if o.JWT == nil {
			return nil, nil, fault.New(fault.Permanent, "jwt_not_configured", "user provisioned with JWT bearer, but no signing key is configured")
		}
		cred, err := conns.Credentials(ctx, c.User, c.Provider)
		if err != nil {
			return nil, nil, err
		}
		tokens = o.JWT(o.ctx(ctx), cred.Username)
	} else {
		ts, err := conns.TokenSource(o.ctx(ctx), c.User, c.Provider, o.OAuth)
		if err != nil {
			return nil, nil, err
		}
		tokens = &connTokens{ts: ts}
	}
	o.mu.Lock()
	if o.describe == nil {
		o.describe = NewDescribeCache(0)
	}
	describe := o.describe
	o.mu.Unlock()
	opts := Options{Tokens: tokens, InstanceURL: c.InstanceURL,
		HTTPClient: o.HTTPClient, MaxShare: o.MaxShare, Describe: describe, Logger: o.Log}
	if o.UserShare > 0 {
		opts.UserShare, opts.Now = o.UserShare, o.Now
		if o.Counter != nil {
			opts.Counter = o.Counter(c.User)
		}
	}
	client, err := New(opts)
	if err != nil {
		return nil, nil, err
	}
	s, err := NewSide(client, SideOptions{Logger: o.Log, Extra: CustomFields(custom)})
	if err != nil {
		return nil, nil, err
	}
	return s, client, nil
}

// crmSide exposes the client's call count to the session report
// (side.CallReporter), the org the user's Salesforce account is in
// (side.OrgReporter), and the composite change-feed read (side.Prefetcher).
type crmSide struct {
	*Side
	client *Client
	org    string
}

var (
	_ side.CallReporter  = crmSide{}
	_ side.UsageReporter = crmSide{}
	_ side.OrgReporter   = crmSide{}
	_ side.Prefetcher    = crmSide{}
	_ side.FieldChecker  = crmSide{}
)

func (s crmSide) Calls() int64 { return s.client.Calls() }

// Org is the Salesforce org id of the user's connection.
func (s crmSide) Org() string { return s.org }

// Prefetch implements side.Prefetcher with one Salesforce composite call.
func (s crmSide) Prefetch(ctx context.Context, scopes []item.Scope, cursors []string) error {
	reqs := make([]FeedRequest, len(scopes))
	for i := range scopes {
		reqs[i] = FeedRequest{Scope: scopes[i], Cursor: cursors[i]}
	}
	return s.Side.Prefetch(ctx, reqs)
}

// connTokens adapts a connection's token source to the client, which
// invalidates "the token it was given" after a 401.
type connTokens struct {
	ts   *connection.TokenSource
	mu   sync.Mutex
	last string
}

func (t *connTokens) Token() (*oauth2.Token, error) {
	tok, err := t.ts.Token()
	if err == nil {
		t.mu.Lock()
		t.last = tok.AccessToken
		t.mu.Unlock()
	}
	return tok, err
}

func (t *connTokens) Invalidate() {
	t.mu.Lock()
	last := t.last
	t.mu.Unlock()
	t.ts.Invalidate(last)
}

// Usage implements side.UsageReporter: the org's API usage and daily limit
// as the last answer reported them.
func (s crmSide) Usage() (used, limit int) { return s.client.Usage() }
