package identity

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/crmsync/crmsync/shared/access"
)

// Session is what the session cookie holds: who, since when, and the CSRF
// secret. Never a token.
type Session struct {
	User    string `json:"u"`
	Org     string `json:"o"`
	Issued  int64  `json:"i"` // unix seconds; the absolute lifetime counts from here
	Seen    int64  `json:"s"` // unix seconds of the last request; the idle timeout counts from here
	Expires int64  `json:"e"` // unix seconds; min(Issued+absolute, Seen+idle), so the browser drops it too
	CSRF    string `json:"c"` // random secret; the page's CSRF token is derived from it
}

// Principal is the session's user as an access principal.
func (s Session) Principal() access.Principal { return access.Principal{User: s.User, Org: s.Org} }

// SessionConfig configures Sessions. Key is required.
type SessionConfig struct {
	// Key signs the cookies (HMAC-SHA256); at least 32 bytes, from the key
	// ring or settings, the same on every instance.
	Key []byte
	// CookieName defaults to "__Host-crmsync"; the __Host- prefix makes
	// browsers insist on Secure, Path=/ and no Domain.
	CookieName string
	// Absolute is the longest a session lives (default 12 h).
	Absolute time.Duration
	// Idle ends a session unused for this long (default 1 h).
	Idle time.Duration
	// Origins are the dashboard origins ("https://crmsync.example.com") that
	// may send state-changing requests. Empty means the request's own host.
	Origins []string
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Log receives rejected-cookie and CSRF events (never their values).
	Log *slog.Logger
	// Refuse answers a request that fails the CSRF check (default: a JSON
	// error). A dashboard passes its content-negotiating writer, so a
	// browser gets a page with the way forward.
	Refuse func(w http.ResponseWriter, r *http.Request, status int, code, msg string)
}

// Sessions issues, reads and renews session cookies and enforces CSRF.
type Sessions struct {
	cfg    SessionConfig
	signer signer
}

// CSRFHeader and CSRFField carry the CSRF token on state-changing requests.
const (
	CSRFHeader = "X-CSRF-Token"
	CSRFField  = "csrf_token"
)

const sessionPurpose = "session"

// NewSessions checks cfg and returns Sessions.
func NewSessions(cfg SessionConfig) (*Sessions, error) {
	if len(cfg.Key) < 32 {
		return nil, fmt.Errorf("identity: session key is %d bytes, want at least 32", len(cfg.Key))
	}
	if cfg.CookieName == "" {
		cfg.CookieName = "__Host-crmsync"
	}
	if cfg.Absolute <= 0 {
		cfg.Absolute = 12 * time.Hour
	}
	if cfg.Idle <= 0 {
		cfg.Idle = time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Refuse == nil {
		cfg.Refuse = func(w http.ResponseWriter, _ *http.Request, status int, code, msg string) {
			writeJSONError(w, status, code, msg)
		}
	}
	for _, o := range cfg.Origins {
		if u, err := url.Parse(o); err != nil || u.Scheme == "" || u.Host == "" || u.Path != "" {
			return nil, fmt.Errorf("identity: origin %q is not scheme://host[:port]", o)
		}
	}
	return &Sessions{cfg: cfg, signer: signer{key: cfg.Key}}, nil
}

// Start begins a session for p and sets its cookie.
func (s *Sessions) Start(w http.ResponseWriter, p access.Principal) (Session, error) {
	var secret [16]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return Session{}, fmt.Errorf("identity: %w", err)
	}
	now := s.cfg.Now().Unix()
	sess := Session{User: p.User, Org: p.Org, Issued: now, Seen: now, CSRF: base64.RawURLEncoding.EncodeToString(secret[:])}
	return sess, s.write(w, sess)
}

// Encode returns the signed cookie value for sess, with Expires computed
// from the absolute and idle limits.
func (s *Sessions) Encode(sess Session) (string, error) {
	sess.Expires = min(sess.Issued+int64(s.cfg.Absolute/time.Second), sess.Seen+int64(s.cfg.Idle/time.Second))
	return s.signer.seal(sessionPurpose, sess)
}

func (s *Sessions) write(w http.ResponseWriter, sess Session) error {
	v, err := s.Encode(sess)
	if err != nil {
		return err
	}
	expires := min(sess.Issued+int64(s.cfg.Absolute/time.Second), sess.Seen+int64(s.cfg.Idle/time.Second))
	http.SetCookie(w, &http.Cookie{
		Name: s.cfg.CookieName, Value: v, Path: "/", Expires: time.Unix(expires, 0),
		HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode,
	})
	return nil
}

// End clears the session cookie.
func (s *Sessions) End(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: s.cfg.CookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode,
	})
}

// Decode opens a cookie value: signature, format, absolute and idle expiry.
func (s *Sessions) Decode(value string) (Session, error) {
	var sess Session
	if err := s.signer.open(sessionPurpose, value, &sess); err != nil {
		return Session{}, err
	}
	now := s.cfg.Now().Unix()
	switch {
	case sess.User == "" || sess.Org == "" || sess.CSRF == "":
		return Session{}, fmt.Errorf("%w: incomplete session", ErrBadCookie)
	case sess.Issued > now+int64(Skew/time.Second) || sess.Seen < sess.Issued:
		return Session{}, fmt.Errorf("%w: session times are inconsistent", ErrBadCookie)
	case now >= sess.Issued+int64(s.cfg.Absolute/time.Second):
		return Session{}, fmt.Errorf("%w: session reached its maximum age", ErrBadCookie)
	case now >= sess.Seen+int64(s.cfg.Idle/time.Second):
		return Session{}, fmt.Errorf("%w: session idle too long", ErrBadCookie)
	}
	return sess, nil
}

type sessionKey struct{}

// From returns the request's session, if it came with a valid one.
func From(ctx context.Context) (Session, bool) {
	s, ok := ctx.Value(sessionKey{}).(Session)
	return s, ok
}

// CSRFToken is the token a page must send back on state-changing requests:
// an HMAC of the session's secret, so the cookie alone does not reveal it
// and it changes with every session.
func (s *Sessions) CSRFToken(sess Session) string {
	m := hmac.New(sha256.New, s.cfg.Key)
	m.Write([]byte("crmsync/csrf/v1\x00" + sess.CSRF))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Middleware reads the session cookie. A valid session becomes the request's
// principal and is renewed when a fair part of the idle time has passed; a
// bad cookie is cleared and the request goes on anonymous. A request with a
// session that changes state (POST, PUT, PATCH, DELETE) must come from an
// allowed origin and carry the CSRF token, or it gets 403.
func (s *Sessions) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(s.cfg.CookieName)
		if err != nil {
			next.ServeHTTP(w, r)
			return
		}
		sess, err := s.Decode(c.Value)
		if err != nil {
			s.cfg.Log.InfoContext(r.Context(), "session cookie rejected", "reason", err.Error())
			s.End(w)
			next.ServeHTTP(w, r)
			return
		}
		if unsafeMethod(r.Method) {
			if reason := s.csrfProblem(r, sess); reason != "" {
				s.cfg.Log.InfoContext(r.Context(), "request refused: CSRF check", "user", sess.User, "reason", reason)
				s.cfg.Refuse(w, r, http.StatusForbidden, "csrf", "this form is out of date or came from another site (its CSRF token is missing or wrong); nothing was changed. Reload the page and try again")
				return
			}
		}
		if now := s.cfg.Now().Unix(); now-sess.Seen >= int64(s.cfg.Idle/time.Second)/4 {
			sess.Seen = now
			if err := s.write(w, sess); err != nil {
				s.cfg.Log.ErrorContext(r.Context(), "renewing session", "err", err)
			}
		}
		ctx := context.WithValue(r.Context(), sessionKey{}, sess)
		next.ServeHTTP(w, r.WithContext(access.WithPrincipal(ctx, sess.Principal())))
	})
}

func unsafeMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return false
	}
	return true
}

// csrfProblem returns why a state-changing request is refused, or "".
//
// What browsers send on a same-origin form post: Sec-Fetch-Site
// "same-origin" and Origin set to the page's origin (under the
// strict-origin-when-cross-origin referrer policy the pages use). A page of
// another site posting here gets Sec-Fetch-Site "cross-site" or
// "same-site" and its own Origin: refused whatever token it carries. An
// "Origin: null" (sandboxed frames, data: URLs, privacy settings, a
// no-referrer policy) says nothing about where the request came from, so it
// is neither trusted nor refused on its own: the token decides, as it does
// for clients that send neither header. The token is required always.
func (s *Sessions) csrfProblem(r *http.Request, sess Session) string {
	switch site := r.Header.Get("Sec-Fetch-Site"); site {
	case "", "same-origin", "none":
	default:
		return "Sec-Fetch-Site is " + safeCode(site)
	}
	if origin := r.Header.Get("Origin"); origin != "" && origin != "null" && !s.originAllowed(r, origin) {
		return "origin not allowed"
	}
	token := r.Header.Get(CSRFHeader)
	if token == "" {
		token = r.PostFormValue(CSRFField)
	}
	want := s.CSRFToken(sess)
	if token == "" {
		return "token missing"
	}
	if subtle.ConstantTimeCompare([]byte(token), []byte(want)) != 1 {
		return "token does not match"
	}
	return ""
}

// VerifyRequest applies the middleware's CSRF check (site, origin, token)
// to r, whose session the middleware put in its context: nil when it
// passes, ErrCSRF with the reason otherwise.
func (s *Sessions) VerifyRequest(r *http.Request) error {
	sess, ok := From(r.Context())
	if !ok {
		return fmt.Errorf("%w: no session", ErrCSRF)
	}
	if reason := s.csrfProblem(r, sess); reason != "" {
		return fmt.Errorf("%w: %s", ErrCSRF, reason)
	}
	return nil
}

// ErrCSRF reports a state-changing request that failed the CSRF check.
var ErrCSRF = errors.New("identity: CSRF check failed")

func (s *Sessions) originAllowed(r *http.Request, origin string) bool {
	if len(s.cfg.Origins) > 0 {
		return slices.Contains(s.cfg.Origins, origin)
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == r.Host
}

// CSRFHandler answers GET with {"csrfToken": "..."} for the signed-in user,
// so the dashboard's script can send it in X-CSRF-Token; 401 without a
// session.
func (s *Sessions) CSRFHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, ok := From(r.Context())
		if !ok {
			writeJSONError(w, http.StatusUnauthorized, "unauthenticated", "sign in first")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(map[string]string{"csrfToken": s.CSRFToken(sess), "user": sess.User, "org": sess.Org})
	})
}

func writeJSONError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "message": msg})
}
