// Package connection keeps the connections users make for sync — to
// Salesforce and to Microsoft 365 — in the table store, with every credential
// sealed (package seal) and bound to its row. It hands out oauth2 token
// sources that refresh by themselves, save a rotated refresh token at once,
// and mark a connection "needs reconnect" when the provider revokes it.
//
// Table "connections": PartitionKey = crmsync user id, RowKey = provider.
// Rows hold identifiers, status and sealed values only, never a plaintext
// credential, and never an access token (those live in memory only).
package connection

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/seal"
	"github.com/crmsync/crmsync/shared/side"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// Table is the table connections live in.
const Table = "connections"

// Provider names the service a connection is to; it is the row key.
type Provider string

// The providers crmsync connects to.
const (
	Salesforce Provider = "salesforce"
	Microsoft  Provider = "microsoft"
)

// Status is the state of a connection.
type Status string

const (
	// Connected: credentials work; sync may run.
	Connected Status = "connected"
	// NeedsReconnect: the provider revoked or expired the credentials; the
	// user's sync is paused until they connect again.
	NeedsReconnect Status = "needs_reconnect"
	// Paused: an admin or the user paused sync; credentials are kept.
	Paused Status = "paused"
)

// Flow is how a connection obtains access tokens.
type Flow string

const (
	// FlowAuthCode: Salesforce web-server flow or Microsoft auth code flow,
	// both with PKCE; a refresh token is stored.
	FlowAuthCode Flow = "auth_code"
	// FlowPassword: Salesforce's legacy username-password flow; the username
	// and password (with security token) are stored.
	FlowPassword Flow = "password"
	// FlowJWTBearer: Salesforce JWT bearer for an admin-provisioned user; the
	// username is stored, the signing key is the app's.
	FlowJWTBearer Flow = "jwt_bearer"
	// FlowClientCredentials: Microsoft app-only access to chosen mailboxes;
	// nothing per user is secret.
	FlowClientCredentials Flow = "client_credentials"
	// FlowSAMLBearer: an OAuth 2.0 SAML bearer assertion (SAP Cloud for
	// Customer) for an admin-provisioned user; the user's name in the
	// service is stored, the signing key is the organisation's setup.
	FlowSAMLBearer Flow = "saml_bearer"
)

// Connection is one user's connection to one provider, without its secrets.
type Connection struct {
	User     string
	Provider Provider
	// Tenant is the provider's organisation: Salesforce org id, Entra tenant id.
	Tenant string
	// InstanceURL is the Salesforce API base (from the token response);
	// empty for Microsoft.
	InstanceURL string
	Flow        Flow
	Scopes      []string
	Status      Status
	// StatusReason says why a connection is not Connected, for the user's
	// status page. It never holds a credential.
	StatusReason string
	Updated      time.Time
}

// SyncAllowed reports whether sync may run on this connection.
func (c Connection) SyncAllowed() bool { return c.Status == Connected }

// Credentials are the secrets of a connection; they exist in plaintext only
// in memory and are sealed before storage.
type Credentials struct {
	RefreshToken string
	// Username is the Salesforce username (password and JWT bearer flows);
	// sealed too, as it is usually an e-mail address.
	Username string
	// Password is the Salesforce password with its security token appended.
	Password string
}

// Revoker revokes a refresh token at its provider; the store calls it before
// deleting a connection. Providers plug in their revocation endpoints.
type Revoker interface {
	Revoke(ctx context.Context, refreshToken string) error
}

// Errors are classified by behaviour; compare with errors.Is, or with
// fault.Is(err, fault.Reconnect) for the reconnect case.
var (
	// ErrNotFound: the user has no connection to that provider.
	ErrNotFound = errors.New("connection: not found")
	// ErrInvalid: a Save or status change with missing or bad fields.
	ErrInvalid = errors.New("connection: invalid")
)

// Options tune a Store; the zero value works.
type Options struct {
	// Now is the clock for Updated; time.Now when nil.
	Now func() time.Time
	// Logger receives events (user id and provider only); discarded when nil.
	Logger *slog.Logger
	// Revokers revoke refresh tokens at deletion, per provider.
	Revokers map[Provider]Revoker
	// Providers are the providers connections may be to, with the flows
	// each offers (ProvidersOf the connectors). Nil accepts any provider
	// and flow, for tests that store connections of their own.
	Providers map[Provider][]Flow
}

// ProvidersOf is Options.Providers for the given connectors.
func ProvidersOf(connectors ...side.Connector) map[Provider][]Flow {
	out := map[Provider][]Flow{}
	for _, c := range connectors {
		for _, f := range c.Flows {
			out[Provider(c.Provider)] = append(out[Provider(c.Provider)], Flow(f))
		}
	}
	return out
}

// Store keeps connections in a table store.
type Store struct {
	tables   tablestore.Store
	keys     seal.Keys
	now      func() time.Time
	log      *slog.Logger
	revokers map[Provider]Revoker
	// providers are Options.Providers.
	providers map[Provider][]Flow
	// refreshing holds one mutex per connection so that token sources in
	// this process refresh one connection one at a time: with refresh-token
	// rotation a second concurrent refresh would use a dead token.
	refreshing sync.Map
}

// NewStore returns a store over tables, sealing with keys.
func NewStore(tables tablestore.Store, keys seal.Keys, opts Options) *Store {
	s := &Store{tables: tables, keys: keys, now: opts.Now, log: opts.Logger, revokers: opts.Revokers, providers: opts.Providers}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

// Save stores a connection with fresh credentials and marks it Connected. A
// reconnect is a Save: it replaces the credentials and clears the status,
// and touches nothing else of the user's (cursors and links live elsewhere),
// so sync resumes where it stopped.
func (s *Store) Save(ctx context.Context, c Connection, cred Credentials) (Connection, error) {
	if err := validate(c, cred, s.providers); err != nil {
		return Connection{}, err
	}
	c.Status, c.StatusReason, c.Updated = Connected, "", s.now().UTC()
	e, err := s.entity(ctx, c, cred)
	if err != nil {
		return Connection{}, err
	}
	if _, err := s.tables.Upsert(ctx, Table, e); err != nil {
		return Connection{}, fmt.Errorf("connection: saving %s for user %s: %w", c.Provider, c.User, err)
	}
	s.log.InfoContext(ctx, "connection saved", "user", c.User, "provider", string(c.Provider), "flow", string(c.Flow))
	return c, nil
}

// validate checks a connection before it is saved: its provider is one of
// providers offering its flow (nil: any), and the flow has what it needs.
func validate(c Connection, cred Credentials, providers map[Provider][]Flow) error {
	var bad []string
	if c.User == "" {
		bad = append(bad, "user is empty")
	}
	flows, known := providers[c.Provider]
	if providers != nil && !known {
		names := slices.Sorted(maps.Keys(providers))
		bad = append(bad, fmt.Sprintf("provider %q is not %s", c.Provider, joinProviders(names, " or ")))
	}
	if known && !slices.Contains(flows, c.Flow) && slices.Contains(allFlows, c.Flow) {
		var offering []Provider
		for _, p := range slices.Sorted(maps.Keys(providers)) {
			if slices.Contains(providers[p], c.Flow) {
				offering = append(offering, p)
			}
		}
		if len(offering) == 0 {
			bad = append(bad, fmt.Sprintf("%s flow is offered by no provider", c.Flow))
		} else {
			bad = append(bad, fmt.Sprintf("%s flow is for %s only", c.Flow, joinProviders(offering, ", ")))
		}
	}
	if c.Tenant == "" {
		bad = append(bad, "tenant (org or tenant id) is empty")
	}
	switch c.Flow {
	case FlowAuthCode:
		if cred.RefreshToken == "" {
			bad = append(bad, "auth_code flow needs a refresh token")
		}
	case FlowPassword:
		if cred.Username == "" || cred.Password == "" {
			bad = append(bad, "password flow needs a username and a password")
		}
	case FlowJWTBearer:
		if cred.Username == "" {
			bad = append(bad, "jwt_bearer flow needs a username")
		}
	case FlowSAMLBearer:
		if cred.Username == "" {
			bad = append(bad, "saml_bearer flow needs a username")
		}
	case FlowClientCredentials:
	default:
		bad = append(bad, fmt.Sprintf("flow %q is unknown", c.Flow))
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(bad, "; "))
	}
	return nil
}

// Get returns one connection; ErrNotFound when absent.
func (s *Store) Get(ctx context.Context, user string, p Provider) (Connection, error) {
	r, err := s.read(ctx, user, p)
	if err != nil {
		return Connection{}, err
	}
	return r.conn, nil
}

// List returns all of a user's connections.
func (s *Store) List(ctx context.Context, user string) ([]Connection, error) {
	entities, err := s.partition(ctx, user)
	if err != nil {
		return nil, err
	}
	out := make([]Connection, 0, len(entities))
	for _, e := range entities {
		out = append(out, fromEntity(e))
	}
	return out, nil
}

// Credentials opens a connection's stored secrets, for flows that use them
// directly (password, JWT bearer). Callers must not log or return them.
func (s *Store) Credentials(ctx context.Context, user string, p Provider) (Credentials, error) {
	r, err := s.read(ctx, user, p)
	if err != nil {
		return Credentials{}, err
	}
	return s.open(ctx, r.entity)
}

// Pause stops sync on a connection, keeping its credentials.
func (s *Store) Pause(ctx context.Context, user string, p Provider, reason string) error {
	return s.setStatus(ctx, user, p, func(c Connection) (Connection, error) {
		if c.Status == NeedsReconnect {
			// Needs-reconnect is the stronger state; pausing must not hide it.
			return c, nil
		}
		c.Status, c.StatusReason = Paused, reason
		return c, nil
	})
}

// Resume lets sync run again on a paused connection. A connection that needs
// reconnecting can only be resumed by saving new credentials.
func (s *Store) Resume(ctx context.Context, user string, p Provider) error {
	return s.setStatus(ctx, user, p, func(c Connection) (Connection, error) {
		if c.Status == NeedsReconnect {
			return c, reconnectError(c, "connection needs reconnecting before sync can resume")
		}
		c.Status, c.StatusReason = Connected, ""
		return c, nil
	})
}

// MarkNeedsReconnect records that the provider refused the connection's
// credentials, for adapters that learn it other than by refreshing (a 401
// right after a fresh token, an admin revocation notice).
func (s *Store) MarkNeedsReconnect(ctx context.Context, user string, p Provider, reason string) error {
	return s.setStatus(ctx, user, p, func(c Connection) (Connection, error) {
		c.Status, c.StatusReason = NeedsReconnect, reason
		return c, nil
	})
}

// setStatus applies change with an ETag-conditional update, retried when a
// concurrent writer (a token refresh) got there first.
func (s *Store) setStatus(ctx context.Context, user string, p Provider, change func(Connection) (Connection, error)) error {
	for range maxAttempts {
		r, err := s.read(ctx, user, p)
		if err != nil {
			return err
		}
		c, err := change(r.conn)
		if err != nil {
			return err
		}
		if c.Status == r.conn.Status && c.StatusReason == r.conn.StatusReason {
			return nil
		}
		c.Updated = s.now().UTC()
		e := withConnection(r.entity, c)
		_, err = s.tables.Update(ctx, Table, e, r.entity.ETag)
		if errors.Is(err, tablestore.ErrPrecondition) {
			continue
		}
		if err != nil {
			return fmt.Errorf("connection: updating %s of user %s: %w", p, user, err)
		}
		s.log.InfoContext(ctx, "connection status changed", "user", user, "provider", string(p), "status", string(c.Status))
		return nil
	}
	return fmt.Errorf("connection: updating %s of user %s: %w (gave up after %d attempts)", p, user, tablestore.ErrPrecondition, maxAttempts)
}

// maxAttempts bounds retries of conditional updates lost to other writers.
const maxAttempts = 8

// Delete removes all of a user's connections, revoking each refresh token at
// its provider first where a Revoker is configured. A failed revocation is
// logged and does not stop the deletion: the user asked for their data to
// go, and the token is useless without the sealed copy being kept.
func (s *Store) Delete(ctx context.Context, user string) error {
	if user == "" {
		return fmt.Errorf("%w: user is empty", ErrInvalid)
	}
	entities, err := s.partition(ctx, user)
	if err != nil {
		return err
	}
	for _, e := range entities {
		p := Provider(e.RowKey)
		if rv := s.revokers[p]; rv != nil {
			s.revoke(ctx, rv, e)
		}
		err := s.tables.Delete(ctx, Table, e.PartitionKey, e.RowKey, "*")
		if err != nil && !errors.Is(err, tablestore.ErrNotFound) {
			return fmt.Errorf("connection: deleting %s of user %s: %w", p, user, err)
		}
		s.log.InfoContext(ctx, "connection deleted", "user", user, "provider", string(p))
	}
	return nil
}

func (s *Store) revoke(ctx context.Context, rv Revoker, e tablestore.Entity) {
	attrs := []any{"user", e.PartitionKey, "provider", e.RowKey}
	cred, err := s.open(ctx, e)
	if err != nil {
		s.log.WarnContext(ctx, "connection: cannot open refresh token to revoke it", append(attrs, "error", err)...)
		return
	}
	if cred.RefreshToken == "" {
		return
	}
	if err := rv.Revoke(ctx, cred.RefreshToken); err != nil {
		s.log.WarnContext(ctx, "connection: revoking refresh token at provider failed", append(attrs, "error", err)...)
	}
}

// row is a stored connection with its entity (and ETag).
type row struct {
	entity tablestore.Entity
	conn   Connection
}

func (s *Store) read(ctx context.Context, user string, p Provider) (row, error) {
	if user == "" || p == "" {
		return row{}, fmt.Errorf("%w: user and provider are required", ErrInvalid)
	}
	e, err := s.tables.Get(ctx, Table, user, string(p))
	if errors.Is(err, tablestore.ErrNotFound) {
		return row{}, fmt.Errorf("%w: user %s has no %s connection", ErrNotFound, user, p)
	}
	if err != nil {
		return row{}, fmt.Errorf("connection: reading %s of user %s: %w", p, user, err)
	}
	return row{entity: e, conn: fromEntity(e)}, nil
}

func (s *Store) partition(ctx context.Context, user string) ([]tablestore.Entity, error) {
	if user == "" {
		return nil, fmt.Errorf("%w: user is empty", ErrInvalid)
	}
	var out []tablestore.Entity
	q := tablestore.Query{PartitionKey: user}
	for {
		page, err := s.tables.Query(ctx, Table, q)
		if err != nil {
			return nil, fmt.Errorf("connection: listing connections of user %s: %w", user, err)
		}
		out = append(out, page.Entities...)
		if page.Continuation == "" {
			return out, nil
		}
		q.Continuation = page.Continuation
	}
}

// reconnectError classifies a refusal as "needs reconnect" for the session
// runner (fault.Reconnect), naming user and provider but no credential.
func reconnectError(c Connection, reason string) error {
	return &fault.Error{
		Class:   fault.Reconnect,
		Code:    "needs_reconnect",
		Message: fmt.Sprintf("user %s must reconnect %s: %s", c.User, c.Provider, reason),
	}
}

// allFlows are the flows the store knows how to keep.
var allFlows = []Flow{FlowAuthCode, FlowPassword, FlowJWTBearer, FlowClientCredentials, FlowSAMLBearer}

// joinProviders names providers for a message.
func joinProviders(ps []Provider, sep string) string {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = string(p)
	}
	return strings.Join(names, sep)
}
