// Package msgraph is crmsync's Microsoft 365 mailbox connector: a Microsoft
// Graph client (delta queries, JSON batching, throttling, immutable ids), the
// adapter that gives the sync engine its mailbox side (Side), and the
// change-notification subscriptions and webhook logic.
package msgraph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/sync/semaphore"

	"github.com/crmsync/crmsync/shared/fault"
)

// DefaultBaseURL is Microsoft Graph's v1.0 endpoint.
const DefaultBaseURL = "https://graph.microsoft.com/v1.0"

// MailboxConcurrency is how many requests Exchange Online lets one app have
// in flight per mailbox; one more and it answers 429 MailboxConcurrency.
const MailboxConcurrency = 4

// maxBody caps a JSON response the client buffers; attachments are streamed.
const maxBody = 64 << 20

// Options configure a Client.
type Options struct {
	// BaseURL is the Graph endpoint up to the version ("" = DefaultBaseURL).
	BaseURL string
	// User selects the mailbox: "" means the signed-in user (/me, delegated
	// tokens); otherwise the user id or principal name (/users/{id}, app-only).
	User string
	// TokenSource supplies access tokens (delegated or client credentials).
	TokenSource oauth2.TokenSource
	// HTTPClient is the transport under the token source (nil = http.DefaultClient).
	HTTPClient *http.Client
	// Gate shares the per-mailbox concurrency limit between clients of the same
	// mailbox in one process (nil = a gate of this client's own).
	Gate *Gate
	// MaxRetries bounds retries of throttled requests (0 = 6).
	MaxRetries int
	// MaxWait is the longest single wait the client accepts; a longer
	// Retry-After is returned to the caller as fault.Throttled (0 = 2 minutes).
	MaxWait time.Duration
	// Logger receives diagnostics without content (nil = slog.Default()).
	Logger *slog.Logger
}

// Client talks to one mailbox through Microsoft Graph. It is safe for
// concurrent use; it never has more than MailboxConcurrency requests in
// flight for its mailbox.
type Client struct {
	base       string
	user       string
	src        oauth2.TokenSource
	hc         *http.Client
	gate       *Gate
	maxRetries int
	maxWait    time.Duration
	log        *slog.Logger
	requests   atomic.Int64
}

// New returns a client for the mailbox opts.User.
func New(opts Options) (*Client, error) {
	if opts.TokenSource == nil {
		return nil, fmt.Errorf("msgraph: Options.TokenSource is required")
	}
	base := strings.TrimRight(opts.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	if _, err := url.Parse(base); err != nil {
		return nil, fmt.Errorf("msgraph: bad BaseURL: %w", err)
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	c := &Client{
		base:       base,
		user:       opts.User,
		src:        opts.TokenSource,
		hc:         hc,
		gate:       opts.Gate,
		maxRetries: opts.MaxRetries,
		maxWait:    opts.MaxWait,
		log:        opts.Logger,
	}
	if c.gate == nil {
		c.gate = NewGate(MailboxConcurrency)
	}
	if c.maxRetries <= 0 {
		c.maxRetries = 6
	}
	if c.maxWait <= 0 {
		c.maxWait = 2 * time.Minute
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	return c, nil
}

// Requests reports how many HTTP requests the client has sent (a $batch
// counts once), for efficiency figures.
func (c *Client) Requests() int64 { return c.requests.Load() }

// ResolveUser replaces an app-only client's user address with the user's
// directory object id (one GET users/{address}?$select=id), so every path
// the client builds — and every delta link, subscription resource or log
// line made from one — names an identifier, never the address. A client
// whose user is already an object id, or a delegated client (/me), sends
// nothing.
func (c *Client) ResolveUser(ctx context.Context) error {
	if c.user == "" || isObjectID(c.user) {
		return nil
	}
	var u wireUser
	if err := c.getJSON(ctx, withQuery(c.mailbox(), "$select", "id"), &u); err != nil {
		return err
	}
	if !isObjectID(u.ID) {
		return malformed("user", fmt.Errorf("the directory answered no object id"))
	}
	c.user = u.ID
	return nil
}

// UserID is the directory object id of an app-only client's user after
// ResolveUser ("" for a delegated client).
func (c *Client) UserID() string {
	if isObjectID(c.user) {
		return c.user
	}
	return ""
}

// isObjectID reports whether s looks like a directory object id (a GUID).
func isObjectID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if r != '-' {
				return false
			}
		case r >= '0' && r <= '9', r >= 'a' && r <= 'f', r >= 'A' && r <= 'F':
		default:
			return false
		}
	}
	return true
}

// mailbox is the path segment that selects the mailbox: "me" or "users/{id}".
func (c *Client) mailbox() string {
	if c.user == "" {
		return "me"
	}
	return "users/" + url.PathEscape(c.user)
}

// Gate limits requests in flight per mailbox. A JSON batch weighs as many
// requests as Exchange runs from it at once (up to four of its parts), so a
// batch of 20 fills the mailbox's allowance by itself.
type Gate struct {
	n     int64
	mu    sync.Mutex
	slots map[string]*semaphore.Weighted
}

// NewGate returns a gate allowing n requests in flight per mailbox.
func NewGate(n int) *Gate {
	if n <= 0 {
		n = MailboxConcurrency
	}
	return &Gate{n: int64(n), slots: map[string]*semaphore.Weighted{}}
}

func (g *Gate) slot(mailbox string) *semaphore.Weighted {
	g.mu.Lock()
	defer g.mu.Unlock()
	s, ok := g.slots[mailbox]
	if !ok {
		s = semaphore.NewWeighted(g.n)
		g.slots[mailbox] = s
	}
	return s
}

func (c *Client) acquire(ctx context.Context, weight int) (release func(), err error) {
	s := c.gate.slot(c.mailbox())
	w := min(int64(max(weight, 1)), c.gate.n)
	if err := s.Acquire(ctx, w); err != nil {
		return nil, fault.Wrap(fault.Temporary, err)
	}
	return func() { s.Release(w) }, nil
}

// abs turns a path relative to the version ("me/contacts") into a URL;
// absolute links (nextLink, deltaLink) pass through untouched, since their
// tokens already encode the query.
func (c *Client) abs(path string) string {
	if strings.HasPrefix(path, "https://") || strings.HasPrefix(path, "http://") {
		return path
	}
	return c.base + "/" + strings.TrimPrefix(path, "/")
}

// request is one HTTP call.
type request struct {
	method string
	path   string
	body   any
	// prefer holds extra Prefer values (odata.maxpagesize=…).
	prefer []string
	// stream leaves the body open for the caller.
	stream bool
	// weight is how many of the mailbox's concurrent requests this one
	// uses (0 = 1; a batch uses more).
	weight int
}

// response is a buffered (or streamed) answer with status < 300.
type response struct {
	status int
	header http.Header
	body   []byte
	stream io.ReadCloser
}

// call sends req, retrying throttled attempts after Retry-After (or an
// exponential delay when Graph gives none) a bounded number of times. A 401
// can follow a token that expired in flight: the token source is asked for a
// fresh token once and the request sent once more; only a second 401 (or no
// fresh token to be had) means the connection needs the user.
func (c *Client) call(ctx context.Context, req request) (response, error) {
	renewed := false
	for attempt := 0; ; attempt++ {
		tok, err := c.src.Token()
		if err != nil {
			return response{}, classify(0, nil, nil, err)
		}
		resp, err := c.once(ctx, req, tok)
		if err == nil {
			return resp, nil
		}
		if resp.status == http.StatusUnauthorized && !renewed {
			renewed = true
			if c.renew(tok.AccessToken) {
				c.log.DebugContext(ctx, "msgraph: token refused, retrying with a fresh one")
				attempt--
				continue
			}
		}
		if !fault.Is(err, fault.Throttled) || attempt >= c.maxRetries {
			return response{}, err
		}
		wait := fault.RetryAfterOf(err)
		if wait <= 0 {
			wait = backoff(attempt)
		}
		if wait > c.maxWait {
			return response{}, err
		}
		c.log.DebugContext(ctx, "msgraph: throttled, waiting", "wait", wait, "attempt", attempt+1)
		if err := sleep(ctx, wait); err != nil {
			return response{}, err
		}
	}
}

// backoff is the delay before retry attempt+1 when Graph gave no Retry-After.
func backoff(attempt int) time.Duration {
	d := time.Second << attempt
	if d > 64*time.Second || d <= 0 {
		d = 64 * time.Second
	}
	return d
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fault.Wrap(fault.Temporary, ctx.Err())
	}
}

// invalidator is a token source that can drop a token the service refused,
// so its next Token call fetches a new one (connection.TokenSource,
// Renewable).
type invalidator interface {
	Invalidate(accessToken string)
}

// renew asks the token source for a token other than refused and reports
// whether it has one.
func (c *Client) renew(refused string) bool {
	if inv, ok := c.src.(invalidator); ok {
		inv.Invalidate(refused)
	}
	tok, err := c.src.Token()
	return err == nil && tok.AccessToken != "" && tok.AccessToken != refused
}

func (c *Client) once(ctx context.Context, req request, tok *oauth2.Token) (response, error) {
	var body io.Reader
	if req.body != nil {
		b, err := json.Marshal(req.body)
		if err != nil {
			return response{}, fault.Wrap(fault.Permanent, err)
		}
		body = bytes.NewReader(b)
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, c.abs(req.path), body)
	if err != nil {
		return response{}, fault.Wrap(fault.Permanent, err)
	}
	// Immutable ids on every request: without them a message's id changes
	// when the user moves it, and links break.
	hr.Header.Add("Prefer", `IdType="ImmutableId"`)
	hr.Header.Add("Prefer", preferUTC)
	for _, p := range req.prefer {
		hr.Header.Add("Prefer", p)
	}
	tok.SetAuthHeader(hr)
	hr.Header.Set("Accept", "application/json")
	if req.body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	release, err := c.acquire(ctx, req.weight)
	if err != nil {
		return response{}, err
	}
	c.requests.Add(1)
	resp, err := c.hc.Do(hr)
	if err != nil {
		release()
		return response{}, classify(0, nil, nil, err)
	}
	if resp.StatusCode < 300 && req.stream {
		return response{status: resp.StatusCode, header: resp.Header, stream: &releasingBody{ReadCloser: resp.Body, release: release}}, nil
	}
	defer release()
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return response{}, fault.Wrap(fault.Temporary, err)
	}
	if resp.StatusCode >= 300 {
		return response{status: resp.StatusCode}, classify(resp.StatusCode, resp.Header, b, nil)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// releasingBody frees the mailbox slot when the caller closes a stream.
type releasingBody struct {
	io.ReadCloser
	release func()
	once    sync.Once
}

func (r *releasingBody) Close() error {
	err := r.ReadCloser.Close()
	r.once.Do(r.release)
	return err
}

// getJSON GETs path and decodes the answer into out.
func (c *Client) getJSON(ctx context.Context, path string, out any, prefer ...string) error {
	resp, err := c.call(ctx, request{method: http.MethodGet, path: path, prefer: prefer})
	if err != nil {
		return err
	}
	if err := json.Unmarshal(resp.body, out); err != nil {
		return malformed(path, err)
	}
	return nil
}

// sendJSON sends a body with method and decodes the answer into out (nil = ignore).
func (c *Client) sendJSON(ctx context.Context, method, path string, in, out any) error {
	resp, err := c.call(ctx, request{method: method, path: path, body: in})
	if err != nil {
		return err
	}
	if out == nil || len(resp.body) == 0 {
		return nil
	}
	if err := json.Unmarshal(resp.body, out); err != nil {
		return malformed(path, err)
	}
	return nil
}

// list reads every page of a collection.
func (c *Client) list(ctx context.Context, path string) ([]json.RawMessage, error) {
	var all []json.RawMessage
	for next := path; next != ""; {
		var p wirePage
		if err := c.getJSON(ctx, next, &p); err != nil {
			return nil, err
		}
		all = append(all, p.Value...)
		next = p.NextLink
	}
	return all, nil
}

// delta runs a delta round from start (an initial delta URL or a stored
// deltaLink) and returns every entry and the next round's deltaLink. An
// expired token comes back as fault.Expired.
func (c *Client) delta(ctx context.Context, start string, pageSize int) ([]json.RawMessage, string, error) {
	var all []json.RawMessage
	var prefer []string
	if pageSize > 0 {
		prefer = append(prefer, fmt.Sprintf("odata.maxpagesize=%d", pageSize))
	}
	next := start
	for {
		var p wirePage
		if err := c.getJSON(ctx, next, &p, prefer...); err != nil {
			if next != start || strings.Contains(next, "token=") {
				err = badToken(err)
			}
			return nil, "", err
		}
		all = append(all, p.Value...)
		switch {
		case p.DeltaLink != "":
			return all, p.DeltaLink, nil
		case p.NextLink != "":
			next = p.NextLink
		default:
			return nil, "", malformed("delta page", fmt.Errorf("page has neither nextLink nor deltaLink"))
		}
	}
}

// badToken turns a 400 that refuses a delta or skip token (malformed,
// "Badly formed token", sync state invalid or not found) into fault.Expired:
// the resource is read again from the start, as after a 410, instead of
// failing on the same stored link for ever.
func badToken(err error) error {
	var fe *fault.Error
	if !errors.As(err, &fe) || fe.Class != fault.Permanent {
		return err
	}
	code, msg := strings.ToLower(fe.Code), strings.ToLower(fe.Message)
	if strings.Contains(code, "syncstate") || strings.Contains(code, "resyncrequired") ||
		strings.Contains(msg, "token") && (strings.Contains(msg, "malformed") || strings.Contains(msg, "badly formed") || strings.Contains(msg, "invalid")) ||
		strings.Contains(msg, "sync state") {
		return &fault.Error{Class: fault.Expired, Code: fe.Code, Message: fe.Message, Err: err}
	}
	return err
}

// q escapes an OData string literal.
func q(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
