package identity

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/access"
	"github.com/crmsync/crmsync/shared/tablestore"
	"golang.org/x/oauth2"
)

// Provider is one way to sign in to the dashboard.
type Provider struct {
	// Name is the route segment: /auth/{provider}/login.
	Name string
	Kind Kind
	// Authority is where discovery lives: for Entra
	// "https://login.microsoftonline.com/organizations/v2.0" (multi-tenant)
	// or ".../<tenant id>/v2.0"; for Salesforce "https://login.salesforce.com",
	// a My Domain URL, or the local provider's URL.
	Authority    string
	ClientID     string
	ClientSecret string
	// RedirectURL is the absolute URL of /auth/{provider}/callback.
	RedirectURL string
	// Scopes default to "openid profile" (Entra), "openid" (Salesforce) or
	// "openid email profile" (Google).
	Scopes []string
	// AllowedTenants lists the Entra tenant ids, Salesforce org ids or
	// Google Workspace domains whose users may sign in; AnyTenant lifts the
	// list (a Google sign-in still needs a Workspace domain).
	AllowedTenants []string
	AnyTenant      bool
}

func (p Provider) validate() error {
	var missing []string
	for name, v := range map[string]string{"Name": p.Name, "Authority": p.Authority, "ClientID": p.ClientID, "RedirectURL": p.RedirectURL} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(p.AllowedTenants) == 0 && !p.AnyTenant {
		missing = append(missing, "AllowedTenants (or AnyTenant)")
	}
	if p.Kind != Entra && p.Kind != Salesforce && p.Kind != Google {
		missing = append(missing, "Kind (entra, salesforce or google)")
	}
	if len(missing) > 0 {
		return fmt.Errorf("identity: sign-in provider %q needs %s", p.Name, strings.Join(missing, ", "))
	}
	return nil
}

// StateTable records each pending sign-in once: PartitionKey is the hour the
// sign-in started ("2006010215", so Sweep drops abandoned ones by
// partition), RowKey the state. The callback deletes the row; a replayed
// state finds nothing and is refused.
const StateTable = "oauthstate"

// pendingLogin is the short-lived signed cookie binding a sign-in to the
// browser that started it. The PKCE verifier rides here, not in storage.
type pendingLogin struct {
	Provider string `json:"p"`
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Return   string `json:"r"`
	Bucket   string `json:"b"`
	Expires  int64  `json:"e"`
}

const (
	loginPurpose   = "login"
	loginLifetime  = 10 * time.Minute
	bucketLayout   = "2006010215"
	loginCookieFmt = "__Host-crmsync-login-%s"
)

// SignIn serves the OpenID Connect authorization code flow with PKCE (S256),
// state and nonce, ending in a session cookie.
type SignIn struct {
	providers map[string]*signInProvider
	sessions  *Sessions
	users     *Users
	tables    tablestore.Store
	client    *http.Client
	now       func() time.Time
	log       *slog.Logger
	onSignIn  func(ctx context.Context, p access.Principal, id Identity, created bool) error
	home      string
	signedOut string
	refuseFn  func(w http.ResponseWriter, r *http.Request, status int, code, msg string)
}

type signInProvider struct {
	Provider
	meta *metadataCache
}

// SignInOptions are the optional parts of NewSignIn.
type SignInOptions struct {
	HTTPClient *http.Client     // for discovery, keys and token exchange
	Now        func() time.Time // the clock
	Log        *slog.Logger
	// OnSignIn runs after a verified sign-in, before the session starts
	// (created: the user was just signed up): the profile and the sync
	// schedule of a new user are made here. An error refuses the sign-in.
	OnSignIn func(ctx context.Context, p access.Principal, id Identity, created bool) error
	// Home is where a sign-in without a usable return path ends (default
	// "/"), e.g. the dashboard's overview.
	Home string
	// SignedOut is where sign-out sends the browser (303; default "/"):
	// the sign-in page, so sign-out ends on a page.
	SignedOut string
	// Refuse answers a sign-in that cannot go on (default: a JSON error).
	// A dashboard passes its content-negotiating writer, so a browser gets
	// a page with the way forward instead of a JSON body.
	Refuse func(w http.ResponseWriter, r *http.Request, status int, code, msg string)
}

// NewSignIn checks the providers and returns the sign-in handlers.
func NewSignIn(sessions *Sessions, users *Users, tables tablestore.Store, providers []Provider, opt SignInOptions) (*SignIn, error) {
	if opt.HTTPClient == nil {
		opt.HTTPClient = http.DefaultClient
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	s := &SignIn{providers: map[string]*signInProvider{}, sessions: sessions, users: users, tables: tables, onSignIn: opt.OnSignIn,
		client: opt.HTTPClient, now: opt.Now, log: opt.Log, home: opt.Home, refuseFn: opt.Refuse, signedOut: opt.SignedOut}
	if s.signedOut == "" {
		s.signedOut = "/"
	}
	if s.home == "" || safeReturn(s.home) != s.home {
		s.home = "/"
	}
	if s.refuseFn == nil {
		s.refuseFn = func(w http.ResponseWriter, _ *http.Request, status int, code, msg string) {
			writeJSONError(w, status, code, msg)
		}
	}
	for _, p := range providers {
		if err := p.validate(); err != nil {
			return nil, err
		}
		if len(p.Scopes) == 0 {
			p.Scopes = []string{"openid", "profile"}
			switch p.Kind {
			case Salesforce:
				p.Scopes = []string{"openid"}
			case Google:
				// email carries email_verified and profile the name;
				// hd comes with either.
				p.Scopes = []string{"openid", "email", "profile"}
			}
		}
		s.providers[p.Name] = &signInProvider{Provider: p, meta: &metadataCache{authority: p.Authority, client: opt.HTTPClient, now: opt.Now}}
	}
	if len(s.providers) == 0 {
		return nil, errors.New("identity: no sign-in provider configured")
	}
	return s, nil
}

func (p *signInProvider) config(m Metadata) *oauth2.Config {
	return &oauth2.Config{
		ClientID: p.ClientID, ClientSecret: p.ClientSecret, RedirectURL: p.RedirectURL, Scopes: p.Scopes,
		Endpoint: oauth2.Endpoint{AuthURL: m.AuthorizationEndpoint, TokenURL: m.TokenEndpoint},
	}
}

func random() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Login answers GET /auth/{provider}/login[?return=/path]: it records the
// pending sign-in and redirects to the provider.
func (s *SignIn) Login() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.providers[r.PathValue("provider")]
		if !ok {
			s.refuseFn(w, r, http.StatusNotFound, "not_found", "no such sign-in provider")
			return
		}
		meta, _, err := p.meta.get(r.Context())
		if err != nil {
			s.log.WarnContext(r.Context(), "sign-in provider unavailable", "provider", p.Name, "err", err)
			s.refuseFn(w, r, http.StatusServiceUnavailable, "unavailable", "the sign-in service cannot be reached; try again")
			return
		}
		now := s.now()
		pending := pendingLogin{
			Provider: p.Name, State: random(), Nonce: random(), Verifier: oauth2.GenerateVerifier(),
			Return: s.returnPath(r.URL.Query().Get("return")), Bucket: now.UTC().Format(bucketLayout),
			Expires: now.Add(loginLifetime).Unix(),
		}
		if _, err := s.tables.Insert(r.Context(), StateTable, tablestore.Entity{
			PartitionKey: pending.Bucket, RowKey: pending.State, Properties: map[string]any{"Provider": p.Name},
		}); err != nil {
			s.log.ErrorContext(r.Context(), "recording sign-in state", "err", err)
			s.refuseFn(w, r, http.StatusInternalServerError, "internal", "could not start the sign-in; try again")
			return
		}
		v, err := s.sessions.signer.seal(loginPurpose, pending)
		if err != nil {
			s.refuseFn(w, r, http.StatusInternalServerError, "internal", "could not start the sign-in; try again")
			return
		}
		http.SetCookie(w, &http.Cookie{
			Name: fmt.Sprintf(loginCookieFmt, p.Name), Value: v, Path: "/", MaxAge: int(loginLifetime / time.Second),
			HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode,
		})
		u := p.config(meta).AuthCodeURL(pending.State, oauth2.S256ChallengeOption(pending.Verifier), oauth2.SetAuthURLParam("nonce", pending.Nonce))
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, u, http.StatusFound)
	})
}

// returnPath is safeReturn with the configured home for what it refuses.
func (s *SignIn) returnPath(ret string) string {
	if p := safeReturn(ret); p != "/" || ret == "/" {
		return p
	}
	return s.home
}

// safeReturn keeps only a path on this site, so the callback cannot be
// turned into an open redirect. The value is parsed as a URL and must be a
// bare absolute path (no scheme, host, user, "//" or "/\\" start); any
// ASCII control character or backslash, raw or percent-encoded, refuses it
// outright, because browsers drop TAB, CR and LF from URLs and read "\\" as
// "/": "/\t/evil.example" would become "//evil.example". Query and fragment
// are dropped. Anything refused becomes "/".
func safeReturn(ret string) string {
	const home = "/"
	if !strings.HasPrefix(ret, "/") || strings.HasPrefix(ret, "//") || unsafeURLText(ret) {
		return home
	}
	if dec, err := url.PathUnescape(ret); err != nil || unsafeURLText(dec) || strings.HasPrefix(dec, "//") {
		return home
	}
	u, err := url.Parse(ret)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		return home
	}
	return u.EscapedPath()
}

// unsafeURLText reports an ASCII control character (0x00-0x1F, 0x7F) or a
// backslash in s.
func unsafeURLText(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' })
}

// Callback answers GET /auth/{provider}/callback: it checks the state against
// the browser's pending-login cookie and consumes it once, redeems the code
// with the PKCE verifier, validates the id_token (signature, issuer,
// audience, times, nonce, tenant), signs the user up on first sign-in, and
// starts the session.
func (s *SignIn) Callback() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.providers[r.PathValue("provider")]
		if !ok {
			s.refuseFn(w, r, http.StatusNotFound, "not_found", "no such sign-in provider")
			return
		}
		q := r.URL.Query()
		cookieName := fmt.Sprintf(loginCookieFmt, p.Name)
		var pending pendingLogin
		c, err := r.Cookie(cookieName)
		if err == nil {
			err = s.sessions.signer.open(loginPurpose, c.Value, &pending)
		}
		stale := err != nil || pending.Provider != p.Name || subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(pending.State)) != 1
		// The pending cookie is single use whatever happens next, except
		// when this answer is another tab's stale one: the cookie belongs to
		// the sign-in started last, which its own tab may still finish.
		if err != nil || !stale {
			http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
		}
		if _, signedIn := From(r.Context()); stale && signedIn {
			// A sign-in started in one tab and finished in another: the
			// other tab's answer is stale, but this browser is signed in,
			// so the way forward is simply the dashboard.
			s.log.InfoContext(r.Context(), "stale sign-in response; already signed in")
			w.Header().Set("Cache-Control", "no-store")
			http.Redirect(w, r, s.home, http.StatusSeeOther)
			return
		}
		switch {
		case err != nil:
			s.refuse(w, r, http.StatusBadRequest, "no sign-in in progress in this browser; start again", "pending cookie missing or bad")
			return
		case pending.Provider != p.Name || s.now().Unix() > pending.Expires:
			s.refuse(w, r, http.StatusBadRequest, "the sign-in took too long or was for another provider; start again", "pending sign-in expired or mismatched")
			return
		case subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(pending.State)) != 1:
			s.refuse(w, r, http.StatusBadRequest, "this sign-in was started again in another tab or window; finish it there, or start again here", "state mismatch")
			return
		}
		// Consume the state: a second use of the same state finds no row.
		if err := s.tables.Delete(r.Context(), StateTable, pending.Bucket, pending.State, "*"); err != nil {
			if errors.Is(err, tablestore.ErrNotFound) {
				s.refuse(w, r, http.StatusBadRequest, "this sign-in response was already used; start again", "state replayed")
				return
			}
			s.log.ErrorContext(r.Context(), "consuming sign-in state", "err", err)
			s.refuseFn(w, r, http.StatusInternalServerError, "internal", "could not finish the sign-in; try again")
			return
		}
		if q.Get("error") != "" {
			// The provider's error code is one of a fixed set; its
			// description is not echoed.
			s.refuse(w, r, http.StatusUnauthorized, "the sign-in was cancelled or refused by the identity provider", "provider error "+safeCode(q.Get("error")))
			return
		}
		meta, keys, err := p.meta.get(r.Context())
		if err != nil {
			s.refuseFn(w, r, http.StatusServiceUnavailable, "unavailable", "the sign-in service cannot be reached; try again")
			return
		}
		ctx := context.WithValue(r.Context(), oauth2.HTTPClient, s.client)
		tok, err := p.config(meta).Exchange(ctx, q.Get("code"), oauth2.VerifierOption(pending.Verifier))
		if err != nil {
			reason := "code exchange failed"
			var re *oauth2.RetrieveError
			if errors.As(err, &re) {
				reason += ": " + safeCode(re.ErrorCode)
			}
			s.refuse(w, r, http.StatusUnauthorized, "the identity provider did not accept the sign-in; start again", reason)
			return
		}
		raw, _ := tok.Extra("id_token").(string)
		if raw == "" {
			s.refuse(w, r, http.StatusUnauthorized, "the identity provider returned no id_token", "no id_token")
			return
		}
		v := verifier{kind: p.Kind, meta: meta, keys: keys, audiences: []string{p.ClientID},
			allowedTenants: p.AllowedTenants, anyTenant: p.AnyTenant, now: s.now}
		id, _, err := v.verify(r.Context(), raw, pending.Nonce)
		if errors.Is(err, ErrNotWorkspace) {
			s.refuse(w, r, http.StatusForbidden, "this Google account is not part of a Google Workspace organisation (personal accounts such as gmail.com cannot sign in); sign in with your work account", err.Error())
			return
		}
		if err != nil {
			s.refuse(w, r, http.StatusUnauthorized, "the sign-in could not be verified", err.Error())
			return
		}
		principal, created, err := s.users.SignIn(r.Context(), id)
		if err == nil && s.onSignIn != nil {
			// Sign-up's follow-ups (profile, schedule) are idempotent, so a
			// failure here is retried by simply signing in again.
			err = s.onSignIn(r.Context(), principal, id, created)
		}
		if err != nil {
			s.log.ErrorContext(r.Context(), "signing in user", "err", err)
			s.refuseFn(w, r, http.StatusInternalServerError, "internal", "could not finish the sign-in; try again")
			return
		}
		if _, err := s.sessions.Start(w, principal); err != nil {
			s.refuseFn(w, r, http.StatusInternalServerError, "internal", "could not finish the sign-in; try again")
			return
		}
		s.log.InfoContext(r.Context(), "signed in", "user", principal.User, "org", principal.Org, "provider", p.Name, "new_user", created)
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, pending.Return, http.StatusSeeOther)
	})
}

// Logout answers POST /auth/logout (behind Sessions.Middleware, so it needs
// the CSRF token): it clears the session cookie and sends the browser to
// the signed-out page with 303, so the user lands on a page (a 204 would
// leave them on the page they signed out from).
func (s *SignIn) Logout() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.sessions.End(w)
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, s.signedOut, http.StatusSeeOther)
	})
}

// Sweep deletes pending sign-ins abandoned before cutoff (run it from a
// timer, e.g. hourly, with cutoff = now - 1 h). It walks the hourly
// partitions of the last two days.
func (s *SignIn) Sweep(ctx context.Context, cutoff time.Time) (int, error) {
	n := 0
	for h := cutoff.UTC().Truncate(time.Hour).Add(-48 * time.Hour); h.Before(cutoff.UTC().Truncate(time.Hour)); h = h.Add(time.Hour) {
		q := tablestore.Query{PartitionKey: h.Format(bucketLayout)}
		for {
			page, err := s.tables.Query(ctx, StateTable, q)
			if err != nil {
				return n, fmt.Errorf("identity: sweeping sign-in state: %w", err)
			}
			for _, e := range page.Entities {
				if err := s.tables.Delete(ctx, StateTable, e.PartitionKey, e.RowKey, "*"); err != nil && !errors.Is(err, tablestore.ErrNotFound) {
					return n, fmt.Errorf("identity: sweeping sign-in state: %w", err)
				}
				n++
			}
			if page.Continuation == "" {
				break
			}
			q.Continuation = page.Continuation
		}
	}
	return n, nil
}

func (s *SignIn) refuse(w http.ResponseWriter, r *http.Request, status int, msg, reason string) {
	s.log.InfoContext(r.Context(), "sign-in refused", "reason", reason)
	s.refuseFn(w, r, status, "signin_failed", msg)
}

// safeCode keeps an OAuth error code loggable: letters, digits and _ only.
func safeCode(code string) string {
	if len(code) > 40 {
		code = code[:40]
	}
	return strings.Map(func(r rune) rune {
		if r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, code)
}
