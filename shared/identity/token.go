package identity

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Skew is the clock difference tolerated on exp, nbf and iat.
const Skew = 2 * time.Minute

// maxTokenLen bounds what is handed to the JWT parser at all.
const maxTokenLen = 16 << 10

// claims are the token claims crmsync reads.
type claims struct {
	jwt.RegisteredClaims
	Nonce string `json:"nonce,omitempty"`
	TID   string `json:"tid,omitempty"`
	OID   string `json:"oid,omitempty"`
	SCP   string `json:"scp,omitempty"`
	Name  string `json:"name,omitempty"`
	// Email (Salesforce, Entra with the email claim) or PreferredUsername
	// (Entra's UPN) tell the user's address; kept only for their profile.
	Email             string `json:"email,omitempty"`
	PreferredUsername string `json:"preferred_username,omitempty"`
	// Salesforce may name the org and user explicitly as well.
	OrganizationID string `json:"organization_id,omitempty"`
	UserID         string `json:"user_id,omitempty"`
	// Google: hd is the Workspace domain (absent for consumer accounts);
	// email_verified is a JSON boolean (older tokens spelled it "true").
	HD            string `json:"hd,omitempty"`
	EmailVerified any    `json:"email_verified,omitempty"`
}

// googleIssuers are the two spellings of Google's issuer an ID token may
// carry (https://developers.google.com/identity/openid-connect/openid-connect#validatinganidtoken).
var googleIssuers = []string{"https://accounts.google.com", "accounts.google.com"}

// Identity is a verified external identity.
type Identity struct {
	Kind Kind
	// Org is the Entra tenant id or the Salesforce org id.
	Org string
	// Subject is the Entra object id (oid) or the Salesforce user id.
	Subject string
	// Scopes are the delegated scopes of an access token (scp).
	Scopes []string
	// Email is the user's address as the provider states it ("" if none).
	// Content: it goes to the user's sealed profile, never to a log.
	Email string
}

// verifier checks tokens of one issuer.
type verifier struct {
	kind           Kind
	meta           Metadata
	keys           *KeySet
	audiences      []string
	allowedTenants []string
	anyTenant      bool
	now            func() time.Time
}

// verify checks signature (RS256 against the issuer's key set), expiry,
// not-before and issued-at with Skew, audience, issuer, tenant and, when
// nonce is not empty, the nonce.
func (v *verifier) verify(ctx context.Context, raw, nonce string) (Identity, *claims, error) {
	if len(raw) > maxTokenLen {
		return Identity{}, nil, fmt.Errorf("%w: token is longer than %d bytes", ErrInvalidToken, maxTokenLen)
	}
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{"RS256"}),
		jwt.WithLeeway(Skew),
		jwt.WithIssuedAt(),
		jwt.WithExpirationRequired(),
		jwt.WithAudience(v.audiences...),
		jwt.WithTimeFunc(v.now),
		// Strict base64: a token has exactly one spelling, so no altered
		// string passes as the signed one.
		jwt.WithStrictDecoding(),
	)
	var c claims
	var keyErr error
	_, err := parser.ParseWithClaims(raw, &c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, errors.New("token has no key id")
		}
		key, err := v.keys.Key(ctx, kid)
		keyErr = err
		return key, err
	})
	if err != nil {
		if errors.Is(keyErr, ErrUnavailable) {
			return Identity{}, nil, keyErr
		}
		return Identity{}, nil, fmt.Errorf("%w: %s", ErrInvalidToken, reason(err))
	}
	if c.IssuedAt != nil && c.ExpiresAt != nil && c.IssuedAt.After(c.ExpiresAt.Time) {
		return Identity{}, nil, fmt.Errorf("%w: issued after it expires", ErrInvalidToken)
	}
	id, err := v.identity(&c)
	if err != nil {
		return Identity{}, nil, err
	}
	if nonce != "" && c.Nonce != nonce {
		return Identity{}, nil, fmt.Errorf("%w: nonce does not match the sign-in request", ErrInvalidToken)
	}
	return id, &c, nil
}

// identity checks the issuer and tenant and names the user.
func (v *verifier) identity(c *claims) (Identity, error) {
	id := Identity{Kind: v.kind, Scopes: strings.Fields(c.SCP), Email: c.Email}
	if v.kind == Entra && strings.Contains(c.PreferredUsername, "@") {
		// Entra's email claim can be set by users in some tenants; the UPN
		// in preferred_username is the directory's own.
		id.Email = c.PreferredUsername
	}
	switch v.kind {
	case Entra:
		id.Org, id.Subject = c.TID, c.OID
	case Salesforce:
		id.Org, id.Subject = salesforceIDs(c)
	case Google:
		return v.googleIdentity(c, id)
	}
	if id.Org == "" || id.Subject == "" {
		return Identity{}, fmt.Errorf("%w: token does not name the organisation and user", ErrInvalidToken)
	}
	if strings.Contains(id.Org, "{") || strings.Contains(id.Org, "/") {
		return Identity{}, fmt.Errorf("%w: malformed tenant id", ErrInvalidToken)
	}
	want := strings.ReplaceAll(v.meta.Issuer, tenantTemplate, id.Org)
	if c.Issuer != want {
		return Identity{}, fmt.Errorf("%w: issuer is not the expected one", ErrInvalidToken)
	}
	if !v.anyTenant && !slices.Contains(v.allowedTenants, id.Org) {
		return Identity{}, fmt.Errorf("%w: tenant %s is not allowed", ErrInvalidToken, id.Org)
	}
	return id, nil
}

// salesforceIDs reads the org and user ids from explicit claims or from the
// identity URL ".../id/<org id>/<user id>" Salesforce puts in sub.
func salesforceIDs(c *claims) (org, user string) {
	if c.OrganizationID != "" && c.UserID != "" {
		return c.OrganizationID, c.UserID
	}
	u, err := url.Parse(c.Subject)
	if err != nil {
		return "", ""
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) < 3 || parts[len(parts)-3] != "id" {
		return "", ""
	}
	return parts[len(parts)-2], parts[len(parts)-1]
}

// reason turns a jwt error into a short, fixed description.
func reason(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed token"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "bad signature or algorithm"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return "signing key not found"
	case errors.Is(err, jwt.ErrTokenExpired):
		return "token expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return "token not valid yet"
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "token issued in the future"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "wrong audience"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "required claim missing"
	}
	return "token rejected"
}

// googleIdentity checks a Google ID token's issuer, verified address and
// Workspace domain: the organisation is the hd domain, the user is sub.
func (v *verifier) googleIdentity(c *claims, id Identity) (Identity, error) {
	if !slices.Contains(googleIssuers, c.Issuer) {
		return Identity{}, fmt.Errorf("%w: issuer is not Google", ErrInvalidToken)
	}
	if c.Subject == "" {
		return Identity{}, fmt.Errorf("%w: token does not name the user", ErrInvalidToken)
	}
	if v, ok := c.EmailVerified.(bool); !(ok && v) && c.EmailVerified != "true" {
		return Identity{}, fmt.Errorf("%w: the Google account's address is not verified", ErrInvalidToken)
	}
	hd := strings.ToLower(c.HD)
	if hd == "" {
		return Identity{}, fmt.Errorf("%w: %w: token has no hd claim", ErrInvalidToken, ErrNotWorkspace)
	}
	if strings.ContainsAny(hd, "/{}@ ") {
		return Identity{}, fmt.Errorf("%w: malformed hd claim", ErrInvalidToken)
	}
	if !v.anyTenant && !slices.ContainsFunc(v.allowedTenants, func(d string) bool { return strings.EqualFold(d, hd) }) {
		return Identity{}, fmt.Errorf("%w: Workspace domain %s is not allowed", ErrInvalidToken, hd)
	}
	id.Org, id.Subject = hd, c.Subject
	return id, nil
}
