package identity

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/access"
)

// BearerConfig configures validation of the Entra ID access tokens the
// add-in sends (nested app authentication).
type BearerConfig struct {
	// Authority is the Entra authority whose discovery document names the
	// issuer and key set: "https://login.microsoftonline.com/organizations/v2.0"
	// for multi-tenant, ".../<tenant id>/v2.0" for one tenant, or the local
	// identity provider's equivalent.
	Authority string
	// Audiences are accepted aud values: the API's application id URI
	// ("api://…") and/or its client id.
	Audiences []string
	// AllowedTenants lists the tenant ids whose users may call; AnyTenant
	// lifts the list (multi-tenant mode).
	AllowedTenants []string
	AnyTenant      bool
	// Scope must be among the token's delegated scopes (scp), e.g.
	// "access_as_user".
	Scope string
	// HTTPClient fetches discovery and keys (http.DefaultClient when nil).
	HTTPClient *http.Client
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Log receives rejections with their reason, never the token.
	Log *slog.Logger
}

// Bearer validates add-in bearer tokens and maps them to crmsync users.
type Bearer struct {
	cfg   BearerConfig
	meta  *metadataCache
	users *Users
}

// NewBearer checks cfg; discovery happens on first use.
func NewBearer(cfg BearerConfig, users *Users) (*Bearer, error) {
	var missing []string
	if cfg.Authority == "" {
		missing = append(missing, "Authority")
	}
	if len(cfg.Audiences) == 0 {
		missing = append(missing, "Audiences")
	}
	if cfg.Scope == "" {
		missing = append(missing, "Scope")
	}
	if len(cfg.AllowedTenants) == 0 && !cfg.AnyTenant {
		missing = append(missing, "AllowedTenants (or AnyTenant)")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("identity: bearer validation needs %s", strings.Join(missing, ", "))
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Bearer{
		cfg:   cfg,
		meta:  &metadataCache{authority: cfg.Authority, client: cfg.HTTPClient, now: cfg.Now},
		users: users,
	}, nil
}

// ErrScope: the token is valid but lacks the required scope.
var ErrScope = errors.New("identity: token lacks the required scope")

// Validate checks an access token and returns its identity.
func (b *Bearer) Validate(ctx context.Context, raw string) (Identity, error) {
	meta, keys, err := b.meta.get(ctx)
	if err != nil {
		return Identity{}, err
	}
	v := verifier{
		kind: Entra, meta: meta, keys: keys, audiences: b.cfg.Audiences,
		allowedTenants: b.cfg.AllowedTenants, anyTenant: b.cfg.AnyTenant, now: b.cfg.Now,
	}
	id, _, err := v.verify(ctx, raw, "")
	if err != nil {
		return Identity{}, err
	}
	if !slices.Contains(id.Scopes, b.cfg.Scope) {
		return Identity{}, ErrScope
	}
	return id, nil
}

// KeySet returns the issuer's cached key set once discovery succeeded (nil
// before), for metrics and tests.
func (b *Bearer) KeySet() *KeySet {
	b.meta.mu.Lock()
	defer b.meta.mu.Unlock()
	return b.meta.keys
}

// Middleware requires a valid bearer token: 401 with a WWW-Authenticate
// Bearer challenge when it is missing or invalid, 403 when it lacks the
// scope, 503 when the identity provider cannot be reached. A valid token's
// user (created on first use) becomes the request's principal.
func (b *Bearer) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, ok := bearerToken(r)
		if !ok {
			challenge(w, http.StatusUnauthorized, "", "")
			return
		}
		id, err := b.Validate(r.Context(), raw)
		switch {
		case errors.Is(err, ErrScope):
			b.cfg.Log.InfoContext(r.Context(), "bearer token refused", "reason", "missing scope")
			challenge(w, http.StatusForbidden, "insufficient_scope", "the token lacks the required scope")
			return
		case errors.Is(err, ErrUnavailable):
			b.cfg.Log.WarnContext(r.Context(), "bearer validation unavailable", "err", err)
			writeJSONError(w, http.StatusServiceUnavailable, "unavailable", "cannot validate tokens right now; try again")
			return
		case err != nil:
			b.cfg.Log.InfoContext(r.Context(), "bearer token refused", "reason", err.Error())
			challenge(w, http.StatusUnauthorized, "invalid_token", "the access token is invalid or expired")
			return
		}
		p, _, err := b.users.SignIn(r.Context(), id)
		if err != nil {
			b.cfg.Log.ErrorContext(r.Context(), "mapping bearer identity to a user", "err", err)
			writeJSONError(w, http.StatusInternalServerError, "internal", "could not look up the user; try again")
			return
		}
		next.ServeHTTP(w, r.WithContext(access.WithPrincipal(r.Context(), p)))
	})
}

func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// challenge answers with RFC 6750's WWW-Authenticate header; descriptions are
// fixed strings, never request data.
func challenge(w http.ResponseWriter, status int, code, desc string) {
	v := `Bearer realm="crmsync"`
	if code != "" {
		v += fmt.Sprintf(`, error=%q, error_description=%q`, code, desc)
	}
	w.Header().Set("WWW-Authenticate", v)
	msg := desc
	if msg == "" {
		msg = "an access token is required"
		code = "unauthenticated"
	}
	writeJSONError(w, status, code, msg)
}
