// Package tracking is crmsync's e-mail open tracking: the add-in mints a
// token for a message it sends and inserts the pixel URL; every fetch of the
// pixel answers a 1×1 transparent GIF and, for a known token, records an open
// event — when, from what kind of client, from roughly where, and whether a
// person or a machine (Apple Mail Privacy Protection, an image proxy, a link
// scanner, a prefetcher) fetched it.
//
// Nothing identifying the message or its readers is stored: a token row
// holds the user, a keyed hash of the message id, the time and the number
// of recipients; an open event holds its time, client class, kind and a
// coarse place. Never an address, subject, IP address or user agent.
package tracking

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/tablestore"
)

// Tables.
const (
	// TokensTable holds two kinds of rows. A token row: PartitionKey the
	// token, RowKey "t", with User, Message (keyed hash of the message id),
	// Created and Recipients (a count). And per user (PartitionKey "u|" +
	// user): a message row (RowKey "m|" + message hash) naming the token, so
	// a message is tracked once, and a recent row (RowKey "r|" + inverted
	// time + token) that lists the user's tracked messages newest first.
	TokensTable = "tracking"
	// OpensTable holds open events: PartitionKey the token, RowKey the time
	// (sortable) and a random suffix; At, Client, Kind, Reason, Country,
	// Region.
	OpensTable = "trackingopens"
)

// Authenticator checks a request's bearer token and names its crmsync user
// and org. Any error means the request is not authenticated.
type Authenticator interface {
	Authenticate(r *http.Request) (user, org string, err error)
}

// AuthenticatorFunc adapts a function to Authenticator.
type AuthenticatorFunc func(r *http.Request) (user, org string, err error)

// Authenticate calls f.
func (f AuthenticatorFunc) Authenticate(r *http.Request) (string, string, error) { return f(r) }

// Geo places an IP address coarsely. ok is false when it cannot.
type Geo interface {
	Place(ip netip.Addr) (country, region string, ok bool)
}

// Defaults.
const (
	// DefaultDedupeWindow: repeated fetches by one client within it count once.
	DefaultDedupeWindow = time.Minute
	// DefaultMaxOpensPerWindow caps the events recorded per token and window,
	// so a flood of fetches cannot fill storage.
	DefaultMaxOpensPerWindow = 20
)

// Config wires a Tracker.
type Config struct {
	Store tablestore.Store
	Auth  Authenticator
	// Key keys the hash of message ids (at least 16 bytes).
	Key []byte
	// BaseURL is the public origin the pixel is fetched from
	// ("https://crmsync.example.com"); the pixel URL is BaseURL + Prefix +
	// "/" + token + ".gif".
	BaseURL string
	// Geo places opens; nil records no place.
	Geo Geo
	// Networks identify machine fetchers (DefaultNetworks when zero).
	Networks Networks
	// ForwardedHeader names a header whose first address is the client's
	// (e.g. "X-Forwarded-For" behind a proxy); "" uses the connection's
	// address. The address is used in memory only (classification, place,
	// deduplication) and never stored.
	ForwardedHeader string
	// PrefetchWindow, DedupeWindow and MaxOpensPerWindow tune
	// classification and deduplication (0 = the defaults).
	PrefetchWindow    time.Duration
	DedupeWindow      time.Duration
	MaxOpensPerWindow int
	// OptIn makes tracking off until each user turns it on (Enabled): a
	// token for a user who has not is refused with ErrTrackingOff.
	OptIn bool
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Log gets diagnostics; never tokens, addresses or user agents.
	Log *slog.Logger
}

// Tracker mints tokens, serves the pixel and answers open statistics.
type Tracker struct {
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	limiter *limiter
	mux     *http.ServeMux
}

// New checks cfg and returns a Tracker.
func New(cfg Config) (*Tracker, error) {
	var errs []error
	if cfg.Store == nil {
		errs = append(errs, errors.New("config: Store is required"))
	}
	if cfg.Auth == nil {
		errs = append(errs, errors.New("config: Auth is required"))
	}
	if len(cfg.Key) < 16 {
		errs = append(errs, fmt.Errorf("Key must be at least 16 bytes, got %d", len(cfg.Key)))
	}
	if !strings.HasPrefix(cfg.BaseURL, "https://") && !strings.HasPrefix(cfg.BaseURL, "http://") {
		errs = append(errs, fmt.Errorf("BaseURL must be an http(s) origin, got %q", cfg.BaseURL))
	}
	if cfg.PrefetchWindow < 0 || cfg.DedupeWindow < 0 || cfg.MaxOpensPerWindow < 0 {
		errs = append(errs, errors.New("PrefetchWindow, DedupeWindow and MaxOpensPerWindow must not be negative"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("tracking: %w", errors.Join(errs...))
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.PrefetchWindow == 0 {
		cfg.PrefetchWindow = DefaultPrefetchWindow
	}
	if cfg.DedupeWindow == 0 {
		cfg.DedupeWindow = DefaultDedupeWindow
	}
	if cfg.MaxOpensPerWindow == 0 {
		cfg.MaxOpensPerWindow = DefaultMaxOpensPerWindow
	}
	if cfg.Networks.Apple == nil && cfg.Networks.Scanners == nil {
		cfg.Networks = DefaultNetworks()
	}
	t := &Tracker{cfg: cfg, log: cfg.Log, now: cfg.Now}
	if t.log == nil {
		t.log = slog.New(slog.DiscardHandler)
	}
	if t.now == nil {
		t.now = time.Now
	}
	t.limiter = newLimiter(cfg.DedupeWindow, cfg.MaxOpensPerWindow)
	t.mux = http.NewServeMux()
	handlers := t.handlers()
	for _, rt := range Routes() {
		h, ok := handlers[rt.Key()]
		if !ok {
			return nil, fmt.Errorf("tracking: route %s has no handler", rt.Key())
		}
		if rt.Permission == "" {
			t.mux.Handle(rt.Key(), h)
		} else {
			t.mux.Handle(rt.Key(), t.authenticated(h))
		}
	}
	return t, nil
}

// ServeHTTP serves the routes of Routes(); paths keep their /api/pixel prefix.
func (t *Tracker) ServeHTTP(w http.ResponseWriter, r *http.Request) { t.mux.ServeHTTP(w, r) }

// tokenShape is a minted token: 16 random bytes, base64url without padding.
var tokenShape = regexp.MustCompile(`^[A-Za-z0-9_-]{22}$`)

func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// messageHash is the stored form of a message id: HMAC-SHA256 over the user
// and the id, so the id cannot be recovered and two users' copies differ.
func (t *Tracker) messageHash(user, messageID string) string {
	m := hmac.New(sha256.New, t.cfg.Key)
	m.Write([]byte(user))
	m.Write([]byte{0})
	m.Write([]byte(messageID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:24])
}

// PixelURL is where a token's pixel is fetched.
func (t *Tracker) PixelURL(token string) string {
	return t.cfg.BaseURL + Prefix + "/" + token + ".gif"
}

// clientIP is the request's client address, or the zero Addr.
func (t *Tracker) clientIP(r *http.Request) netip.Addr {
	if t.cfg.ForwardedHeader != "" {
		if v := r.Header.Get(t.cfg.ForwardedHeader); v != "" {
			first, _, _ := strings.Cut(v, ",")
			if ip, err := netip.ParseAddr(strings.TrimSpace(first)); err == nil {
				return ip.Unmap()
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return ip.Unmap()
}

func userPartition(user string) string { return "u|" + user }
