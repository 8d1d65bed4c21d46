package salesforce

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/redact"
)

// jwtBearerGrant is RFC 7523's grant type.
const jwtBearerGrant = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// AssertionLifetime is how far ahead a JWT bearer assertion expires;
// Salesforce refuses assertions that expire more than about 3 minutes out.
const AssertionLifetime = 3 * time.Minute

// JWTSource gets Salesforce access tokens for one user with the JWT bearer
// flow: an RS256 assertion signed with the app's key (iss = client id, sub =
// username, aud = login URL). The flow issues no refresh token, so a new
// assertion is minted whenever the token is gone; Salesforce tokens carry no
// expiry, so the API's 401 is the signal — call Invalidate then. It
// satisfies TokenSource. Safe for concurrent use.
type JWTSource struct {
	ctx      context.Context
	clientID string
	audience string
	tokenURL string
	username string
	key      *rsa.PrivateKey
	now      func() time.Time

	mu  sync.Mutex
	tok *oauth2.Token
}

// JWTBearerSource returns a JWTSource for username with cfg's client id and
// login URL, signing with key. ctx carries the HTTP client
// (oauth2.HTTPClient) and must outlive the source.
func JWTBearerSource(ctx context.Context, cfg *App, username string, key *rsa.PrivateKey) *JWTSource {
	return &JWTSource{ctx: ctx, clientID: cfg.ClientID, audience: cfg.base(),
		tokenURL: cfg.base() + "/services/oauth2/token", username: username, key: key, now: time.Now}
}

// Token returns the current access token, or obtains one with a fresh
// assertion. Its Extra("instance_url") is Salesforce's API base.
//
// Errors are classified: invalid_grant (user unknown, inactive, not
// pre-authorized, certificate mismatch) is fault.Reconnect, since only an
// admin can fix it; other refusals are fault.Permanent; 5xx, 429 and
// network trouble are fault.Temporary.
func (s *JWTSource) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok != nil {
		return s.tok, nil
	}
	tok, err := s.fetch()
	if err != nil {
		return nil, err
	}
	s.tok = tok
	return tok, nil
}

// Invalidate drops the current token, so the next Token call mints a new
// assertion (after the API answered 401 INVALID_SESSION_ID).
func (s *JWTSource) Invalidate() {
	s.mu.Lock()
	s.tok = nil
	s.mu.Unlock()
}

// Assertion returns a signed assertion valid until now + AssertionLifetime.
func (s *JWTSource) Assertion() (string, error) {
	if s.key == nil {
		return "", errors.New("connect: no JWT bearer signing key")
	}
	now := s.now()
	claims := jwt.RegisteredClaims{
		Issuer: s.clientID, Subject: s.username, Audience: jwt.ClaimStrings{s.audience},
		ExpiresAt: jwt.NewNumericDate(now.Add(AssertionLifetime)),
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(s.key)
	if err != nil {
		return "", fmt.Errorf("connect: signing JWT bearer assertion: %w", err)
	}
	return signed, nil
}

func (s *JWTSource) fetch() (*oauth2.Token, error) {
	assertion, err := s.Assertion()
	if err != nil {
		return nil, fault.Wrap(fault.Permanent, err)
	}
	form := url.Values{"grant_type": {jwtBearerGrant}, "assertion": {assertion}}
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, s.tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fault.Wrap(fault.Permanent, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	client := http.DefaultClient
	if c, ok := s.ctx.Value(oauth2.HTTPClient).(*http.Client); ok && c != nil {
		client = c
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fault.Wrap(fault.Temporary, fmt.Errorf("connect: JWT bearer token request: %w", err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fault.Wrap(fault.Temporary, fmt.Errorf("connect: reading JWT bearer token response: %w", err))
	}
	var out struct {
		AccessToken      string `json:"access_token"`
		TokenType        string `json:"token_type"`
		InstanceURL      string `json:"instance_url"`
		ID               string `json:"id"`
		IssuedAt         string `json:"issued_at"`
		Signature        string `json:"signature"`
		Scope            string `json:"scope"`
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
	}
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	jsonErr := json.Unmarshal(body, &out)
	if resp.StatusCode != http.StatusOK || out.Error != "" || out.AccessToken == "" {
		// The body of a refusal carries no token; keep it for the error
		// as oauth2 does, but never a success body.
		re := &oauth2.RetrieveError{Response: resp, ErrorCode: out.Error, ErrorDescription: out.ErrorDescription}
		if out.AccessToken == "" {
			re.Body = body
		}
		return nil, classifyJWT(re, ct)
	}
	if jsonErr != nil {
		return nil, fault.Wrap(fault.Temporary, fmt.Errorf("connect: JWT bearer token response is not JSON"))
	}
	tok := &oauth2.Token{AccessToken: out.AccessToken, TokenType: "Bearer"}
	return tok.WithExtra(map[string]any{"instance_url": out.InstanceURL, "id": out.ID, "issued_at": out.IssuedAt,
		"signature": out.Signature, "scope": out.Scope}), nil
}

func classifyJWT(re *oauth2.RetrieveError, contentType string) error {
	code := re.ErrorCode
	if code == "" {
		code = http.StatusText(re.Response.StatusCode)
	}
	msg := redact.String(re.ErrorDescription)
	switch st := re.Response.StatusCode; {
	case st == http.StatusTooManyRequests || st >= 500 || contentType == "text/html":
		// An HTML page is a proxy or maintenance page, not Salesforce's answer.
		return &fault.Error{Class: fault.Temporary, Code: code, Message: msg, Err: re}
	case re.ErrorCode == "invalid_grant":
		return &fault.Error{Class: fault.Reconnect, Code: code,
			Message: "Salesforce refused the JWT bearer assertion (" + msg + "); an admin must check the user is active and pre-authorized for the app",
			Err:     re}
	default:
		return &fault.Error{Class: fault.Permanent, Code: code, Message: msg, Err: re}
	}
}

// WithClock makes s sign its assertions at now's time instead of the
// system's (a simulated clock, as the local Salesforce's in tests) and
// returns s. Call it before the first Token.
func (s *JWTSource) WithClock(now func() time.Time) *JWTSource {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
	return s
}
