// Package identity signs people in to the crmsync dashboard with OpenID
// Connect (Microsoft Entra ID and "Sign in with Salesforce"), keeps them
// signed in with a signed session cookie guarded against CSRF, validates the
// Entra ID bearer tokens the Outlook add-in sends (nested app
// authentication), and maps every external identity to a crmsync user.
//
// Every verified request ends with access.WithPrincipal; what the principal
// may then do is the access package's business.
package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Kind is the identity provider's flavour.
type Kind string

const (
	// Entra is Microsoft Entra ID v2.0: organisation = tenant id (tid), user =
	// object id (oid).
	Entra Kind = "entra"
	// Salesforce is "Sign in with Salesforce": organisation = org id, user =
	// user id, both taken from the identity URL in sub.
	Salesforce Kind = "salesforce"
	// Google is "Sign in with Google" for Google Workspace: organisation =
	// the Workspace domain in the hd claim, user = sub. Accounts without hd
	// (consumer accounts such as gmail.com) are refused.
	Google Kind = "google"
)

// Metadata is the part of an OpenID discovery document crmsync uses. Entra's
// multi-tenant documents carry "{tenantid}" in Issuer.
type Metadata struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	JWKSURI               string `json:"jwks_uri"`
}

// tenantTemplate is the placeholder in Entra's multi-tenant issuer.
const tenantTemplate = "{tenantid}"

// Errors callers can tell apart.
var (
	// ErrInvalidToken: a token failed validation (signature, issuer,
	// audience, time, nonce, tenant, scope). The message names the check,
	// never the token.
	ErrInvalidToken = errors.New("identity: invalid token")
	// ErrUnavailable: the identity provider could not be reached or answered
	// nonsense; try again later.
	ErrUnavailable = errors.New("identity: identity provider unavailable")
	// ErrNotWorkspace: a Google account that belongs to no Google Workspace
	// organisation (no hd claim, e.g. a gmail.com account) tried to sign
	// in. It wraps into ErrInvalidToken as well.
	ErrNotWorkspace = errors.New("identity: not a Google Workspace account")
)

// discover fetches authority + "/.well-known/openid-configuration".
func discover(ctx context.Context, client *http.Client, authority string) (Metadata, error) {
	u := strings.TrimSuffix(authority, "/") + "/.well-known/openid-configuration"
	var m Metadata
	if err := getJSON(ctx, client, u, &m); err != nil {
		return Metadata{}, err
	}
	if m.Issuer == "" || m.JWKSURI == "" || m.AuthorizationEndpoint == "" || m.TokenEndpoint == "" {
		return Metadata{}, fmt.Errorf("%w: discovery document at %s lacks issuer, jwks_uri or an endpoint", ErrUnavailable, u)
	}
	return m, nil
}

func getJSON(ctx context.Context, client *http.Client, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: GET %s answered %d", ErrUnavailable, u, resp.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v); err != nil {
		return fmt.Errorf("%w: GET %s: %v", ErrUnavailable, u, err)
	}
	return nil
}

// metadataCache discovers lazily, so a service can start before its
// identity provider answers, and retries a failed discovery at most every
// few seconds.
type metadataCache struct {
	authority string
	client    *http.Client
	now       func() time.Time

	mu      sync.Mutex
	meta    *Metadata
	keys    *KeySet
	lastErr error
	tried   time.Time
}

const rediscoverAfter = 5 * time.Second

func (c *metadataCache) get(ctx context.Context) (Metadata, *KeySet, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.meta != nil {
		return *c.meta, c.keys, nil
	}
	if c.lastErr != nil && c.now().Sub(c.tried) < rediscoverAfter {
		return Metadata{}, nil, c.lastErr
	}
	c.tried = c.now()
	m, err := discover(ctx, c.client, c.authority)
	if err != nil {
		c.lastErr = err
		return Metadata{}, nil, err
	}
	c.meta, c.lastErr = &m, nil
	c.keys = NewKeySet(m.JWKSURI, c.client, c.now)
	return m, c.keys, nil
}
