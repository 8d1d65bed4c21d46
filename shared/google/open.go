package google

import (
	"context"
	"log/slog"
	"net/http"
	"sync"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/jwt"

	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/side"
)

// Opener opens users' Google mailboxes from their stored connections, with
// each user's own OAuth tokens (auth_code) or, for mailboxes an admin
// onboarded, a service account with domain-wide delegation (jwt_bearer). It satisfies
// sides.MailboxOpener without importing sides.
type Opener struct {
	// OAuth is the OAuth client that refreshes the users' tokens (OAuthConfig).
	OAuth *oauth2.Config
	// Delegation, when set, is the service account an admin granted
	// domain-wide delegation (Email, PrivateKey, TokenURL; Scopes default
	// to Scopes): mailboxes onboarded with the jwt_bearer flow act as their
	// user through it (sub = the stored username).
	Delegation *jwt.Config
	// Domains, when set, are the service accounts organisation admins
	// uploaded per Workspace domain (Delegations): a jwt_bearer mailbox
	// whose domain (the connection's tenant) has one acts through it.
	Domains DomainDelegations
	// Push, when set, has each opened side keep Calendar watch channels
	// calling Push.Address (User is filled per connection).
	Push *WatchOptions
	// BaseURL replaces Google's API roots ("" = the real ones; the local
	// Google's base in the demo and tests).
	BaseURL string
	// HTTPClient carries every API and token call (nil = http.DefaultClient).
	HTTPClient *http.Client
	Log        *slog.Logger

	mu     sync.Mutex
	writes map[string]*sync.Mutex
}

// DomainDelegations finds the delegated service account of a Workspace
// domain (nil, nil: none).
type DomainDelegations interface {
	Config(ctx context.Context, domain string) (*jwt.Config, error)
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
	s := NewSide(client)
	if o.Push != nil {
		w := *o.Push
		w.User = c.User
		s.WithWatch(w)
	}
	return s, nil
}

// Client returns a client for the mailbox of a usable connection c: with
// the user's own tokens (auth_code) or through the delegated service
// account acting as the user (jwt_bearer).
func (o *Opener) Client(ctx context.Context, conns *connection.Store, c connection.Connection) (*Client, error) {
	if o.HTTPClient != nil {
		ctx = context.WithValue(ctx, oauth2.HTTPClient, o.HTTPClient)
	}
	var ts oauth2.TokenSource
	switch c.Flow {
	case connection.FlowAuthCode:
		if o.OAuth == nil {
			return nil, fault.New(fault.Permanent, "oauth_not_configured", "no Google OAuth client is configured")
		}
		uts, err := conns.TokenSource(ctx, c.User, c.Provider, o.OAuth)
		if err != nil {
			return nil, err
		}
		ts = uts
	case connection.FlowJWTBearer:
		deleg := o.Delegation
		if o.Domains != nil && c.Tenant != "" {
			d, err := o.Domains.Config(ctx, c.Tenant)
			if err != nil {
				return nil, err
			}
			if d != nil {
				deleg = d
			}
		}
		if deleg == nil {
			// The admin removed the domain's delegation (or never made one).
			return nil, fault.New(fault.Reconnect, "delegation_not_configured", "mailbox onboarded by an admin, but no service account with domain-wide delegation is configured for "+c.Tenant)
		}
		cred, err := conns.Credentials(ctx, c.User, c.Provider)
		if err != nil {
			return nil, err
		}
		cfg := *deleg
		// Without sub the service account would act as itself, with no
		// mailbox (trap 10).
		cfg.Subject = cred.Username
		if len(cfg.Scopes) == 0 {
			cfg.Scopes = Scopes
		}
		// The background context carries only the HTTP client: the source
		// outlives this call.
		bg := context.Background()
		if o.HTTPClient != nil {
			bg = context.WithValue(bg, oauth2.HTTPClient, o.HTTPClient)
		}
		ts = cfg.TokenSource(bg)
	default:
		return nil, fault.New(fault.Permanent, "flow_unsupported", "a Google connection is made with the auth_code or jwt_bearer flow, not "+string(c.Flow))
	}
	return New(Options{TokenSource: ts, BaseURL: o.BaseURL, HTTPClient: o.HTTPClient, Writes: o.writeLock(c.User), Logger: o.Log})
}
