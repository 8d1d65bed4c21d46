package connection

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/redact"
	"github.com/crmsync/crmsync/shared/seal"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// TokenSource hands out access tokens for one connection. It refreshes by
// itself (oauth2.ReuseTokenSource underneath), saves a rotated refresh token
// sealed as soon as the provider returns it, and on a revoked or expired
// refresh token marks the connection NeedsReconnect and returns an error of
// class fault.Reconnect. Safe for concurrent use.
//
// Salesforce token responses carry no expiry: such a token is used until the
// API answers 401 INVALID_SESSION_ID; then call Invalidate and ask again.
// The token's Extra("instance_url") holds Salesforce's API base, which the
// store also keeps up to date in the connection row.
type TokenSource struct {
	f *fetcher

	mu    sync.Mutex
	reuse oauth2.TokenSource
}

// TokenSource returns a token source for a user's connection. ctx is used
// for every refresh and storage call the source makes, as in package oauth2;
// an oauth2.HTTPClient value in it picks the HTTP client. Connections made
// with the auth_code or password flow have one; JWT bearer and client
// credentials connections use the app's token source instead.
func (s *Store) TokenSource(ctx context.Context, user string, p Provider, cfg *oauth2.Config) (*TokenSource, error) {
	if cfg == nil {
		return nil, fmt.Errorf("%w: nil oauth2 config", ErrInvalid)
	}
	r, err := s.read(ctx, user, p)
	if err != nil {
		return nil, err
	}
	if r.conn.Flow != FlowAuthCode && r.conn.Flow != FlowPassword {
		return nil, fmt.Errorf("%w: %s connection of user %s uses the %s flow, which has no per-user token source", ErrInvalid, p, user, r.conn.Flow)
	}
	f := &fetcher{s: s, ctx: ctx, user: user, p: p, cfg: cfg}
	return &TokenSource{f: f, reuse: oauth2.ReuseTokenSource(nil, f)}, nil
}

// Token returns a valid access token, refreshing when needed.
func (ts *TokenSource) Token() (*oauth2.Token, error) {
	ts.mu.Lock()
	r := ts.reuse
	ts.mu.Unlock()
	return r.Token()
}

// Invalidate makes the next Token call refresh, because the provider refused
// accessToken (Salesforce 401 INVALID_SESSION_ID). When accessToken is no
// longer the one handed out — another caller already refreshed — nothing
// happens, so a burst of 401s costs one refresh. An empty accessToken
// invalidates unconditionally.
func (ts *TokenSource) Invalidate(accessToken string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if accessToken != "" && accessToken != ts.f.lastAccessToken() {
		return
	}
	ts.reuse = oauth2.ReuseTokenSource(nil, ts.f)
}

// fetcher gets a new token from the provider with the stored credentials.
type fetcher struct {
	s    *Store
	ctx  context.Context
	user string
	p    Provider
	cfg  *oauth2.Config

	mu   sync.Mutex
	last string
	// pending is a rotated refresh token that could not be saved yet. The
	// provider has already invalidated the one it replaced, so it is used
	// (and saved) on the next refresh instead of the stored one.
	pending *rotation
}

type rotation struct{ from, to string }

func (f *fetcher) lastAccessToken() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

// lockFor returns the mutex that serialises refreshes of one connection in
// this process.
func (s *Store) lockFor(user string, p Provider) *sync.Mutex {
	m, _ := s.refreshing.LoadOrStore(user+"\x00"+string(p), &sync.Mutex{})
	return m.(*sync.Mutex)
}

// Token reads the row afresh on every refresh, so that a token rotated by
// another token source, a reconnect or a re-seal is what gets used.
func (f *fetcher) Token() (*oauth2.Token, error) {
	lock := f.s.lockFor(f.user, f.p)
	lock.Lock()
	defer lock.Unlock()
	f.mu.Lock()
	defer f.mu.Unlock()
	ctx, s := f.ctx, f.s
	for range maxAttempts {
		r, err := s.read(ctx, f.user, f.p)
		if errors.Is(err, ErrNotFound) {
			return nil, reconnectError(Connection{User: f.user, Provider: f.p}, "the connection was removed")
		}
		if err != nil {
			return nil, err
		}
		if r.conn.Status == NeedsReconnect {
			return nil, reconnectError(r.conn, r.conn.StatusReason)
		}
		stored, err := s.open(ctx, r.entity)
		if errors.Is(err, seal.ErrTampered) || errors.Is(err, seal.ErrUnknownKey) || errors.Is(err, seal.ErrMalformed) {
			s.log.ErrorContext(ctx, "connection: stored credential does not open", "user", f.user, "provider", string(f.p), "error", err)
			if err := s.markRefused(ctx, r, "the stored credential cannot be decrypted; connect again"); errors.Is(err, tablestore.ErrPrecondition) {
				continue
			} else if err != nil {
				return nil, err
			}
			return nil, reconnectError(r.conn, "the stored credential cannot be decrypted")
		}
		if err != nil {
			return nil, err
		}
		use := stored
		if p := f.pending; p != nil {
			if stored.RefreshToken == p.from {
				use.RefreshToken = p.to
			} else {
				f.pending = nil
			}
		}
		tok, err := f.fetch(r.conn.Flow, use)
		if err != nil {
			reason, refused := refusal(r.conn.Flow, err)
			if !refused {
				return nil, classify(err)
			}
			err := s.markRefused(ctx, r, reason)
			if errors.Is(err, tablestore.ErrPrecondition) {
				// The row changed while we refreshed: perhaps a concurrent
				// refresh rotated the token we just used. Try the new one.
				continue
			}
			if err != nil {
				return nil, err
			}
			s.log.WarnContext(ctx, "connection needs reconnect", "user", f.user, "provider", string(f.p), "reason", reason)
			return nil, reconnectError(r.conn, reason)
		}
		if err := s.saveRefreshed(ctx, r, stored.RefreshToken, tok); err != nil {
			// The token works; losing the rotated refresh token would break
			// the connection, so keep it in memory and save it next time.
			if r.conn.Flow == FlowAuthCode && tok.RefreshToken != "" && tok.RefreshToken != stored.RefreshToken {
				f.pending = &rotation{from: stored.RefreshToken, to: tok.RefreshToken}
			}
			s.log.ErrorContext(ctx, "connection: saving refreshed token failed", "user", f.user, "provider", string(f.p), "error", err)
		} else {
			f.pending = nil
		}
		f.last = tok.AccessToken
		return tok, nil
	}
	return nil, fault.Wrap(fault.Temporary, fmt.Errorf("connection: refreshing %s of user %s: the row kept changing", f.p, f.user))
}

func (f *fetcher) fetch(flow Flow, cred Credentials) (*oauth2.Token, error) {
	switch flow {
	case FlowAuthCode:
		if cred.RefreshToken == "" {
			return nil, &oauth2.RetrieveError{ErrorCode: "invalid_grant", ErrorDescription: "no refresh token stored"}
		}
		return f.cfg.TokenSource(f.ctx, &oauth2.Token{RefreshToken: cred.RefreshToken}).Token()
	case FlowPassword:
		return f.cfg.PasswordCredentialsToken(f.ctx, cred.Username, cred.Password)
	default:
		return nil, fmt.Errorf("%w: flow %s has no per-user token source", ErrInvalid, flow)
	}
}

// refusal tells whether the provider refused the credentials for good, so
// that only the user can fix it by connecting again.
func refusal(flow Flow, err error) (string, bool) {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return "", false
	}
	desc := re.ErrorDescription
	if len(desc) > 200 {
		desc = desc[:200]
	}
	desc = redact.String(desc)
	switch re.ErrorCode {
	case "invalid_grant":
		if flow == FlowPassword {
			return "the provider refused the username and password (invalid_grant: " + desc + "); the password or security token may have changed, " +
				"or the org blocks the username-password flow (Setup → OAuth and OpenID Connect Settings → Allow OAuth Username-Password Flows)", true
		}
		return "the refresh token was revoked or has expired (invalid_grant: " + desc + ")", true
	case "unsupported_grant_type":
		if flow == FlowPassword {
			return "the org does not allow the username-password flow; connect with Salesforce sign-in instead", true
		}
	case "interaction_required", "consent_required", "login_required":
		return "the provider requires the user to sign in again (" + re.ErrorCode + ": " + desc + ")", true
	}
	return "", false
}

// classify maps other token endpoint failures to fault classes.
func classify(err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response == nil {
		return fault.Wrap(fault.Temporary, err)
	}
	code := re.ErrorCode
	if code == "" {
		code = http.StatusText(re.Response.StatusCode)
	}
	switch st := re.Response.StatusCode; {
	case st == http.StatusTooManyRequests:
		return &fault.Error{Class: fault.Throttled, Code: code, Err: err}
	case st >= 500:
		return &fault.Error{Class: fault.Temporary, Code: code, Err: err}
	default:
		// invalid_client, unauthorized_client, invalid_request: the app's
		// configuration is wrong; retrying will not help.
		return &fault.Error{Class: fault.Permanent, Code: code, Message: redact.String(re.ErrorDescription), Err: err}
	}
}

// markRefused sets NeedsReconnect if the row is unchanged since r was read;
// tablestore.ErrPrecondition otherwise.
func (s *Store) markRefused(ctx context.Context, r row, reason string) error {
	c := r.conn
	c.Status, c.StatusReason, c.Updated = NeedsReconnect, reason, s.now().UTC()
	if _, err := s.tables.Update(ctx, Table, withConnection(r.entity, c), r.entity.ETag); err != nil {
		if errors.Is(err, tablestore.ErrPrecondition) || errors.Is(err, tablestore.ErrNotFound) {
			return tablestore.ErrPrecondition
		}
		return fmt.Errorf("connection: marking %s of user %s: %w", r.conn.Provider, r.conn.User, err)
	}
	return nil
}

// saveRefreshed stores what a refresh changed: a rotated refresh token
// (sealed) and Salesforce's instance URL. The update is ETag-conditional; on
// conflict it is redone only while the row still holds the refresh token we
// refreshed from — if a reconnect or another refresh replaced it, theirs wins.
func (s *Store) saveRefreshed(ctx context.Context, r row, from string, tok *oauth2.Token) error {
	for range maxAttempts {
		c, e := r.conn, r.entity
		changed := false
		if iu, _ := tok.Extra("instance_url").(string); iu != "" && iu != c.InstanceURL {
			c.InstanceURL, changed = iu, true
		}
		if c.Flow == FlowAuthCode && tok.RefreshToken != "" && tok.RefreshToken != from {
			sealed, err := seal.Seal(ctx, s.keys, []byte(tok.RefreshToken), adFor(e, sealedRefreshToken))
			if err != nil {
				return fmt.Errorf("connection: sealing rotated refresh token: %w", err)
			}
			e = withConnection(e, c)
			e.Properties[sealedRefreshToken] = sealed
			changed = true
		}
		if c.Status == NeedsReconnect && changed {
			// Another process marked the row while we refreshed: it was
			// refused the token we rotated away from. Ours works; undo that.
			c.Status, c.StatusReason = Connected, ""
		}
		if !changed {
			return nil
		}
		c.Updated = s.now().UTC()
		_, err := s.tables.Update(ctx, Table, withConnection(e, c), r.entity.ETag)
		if err == nil {
			s.log.InfoContext(ctx, "connection refreshed and saved", "user", c.User, "provider", string(c.Provider))
			return nil
		}
		if !errors.Is(err, tablestore.ErrPrecondition) {
			return fmt.Errorf("connection: saving refreshed token: %w", err)
		}
		if r, err = s.read(ctx, c.User, c.Provider); errors.Is(err, ErrNotFound) {
			return nil // deleted meanwhile: nothing to keep
		} else if err != nil {
			return err
		}
		now, err := s.open(ctx, r.entity)
		if err != nil {
			return err
		}
		if now.RefreshToken != from {
			return nil
		}
	}
	return fmt.Errorf("connection: saving refreshed token: %w (gave up after %d attempts)", tablestore.ErrPrecondition, maxAttempts)
}
