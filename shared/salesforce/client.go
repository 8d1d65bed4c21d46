// Package salesforce is crmsync's Salesforce REST client and its CRM side: it
// reads and writes records with as few API calls as the data allows (query
// batches, getUpdated/getDeleted, sObject Collections of 200, composite),
// builds SOQL that no filter value can change the meaning of, keeps within a
// share of the org's daily API allowance (and each user within a share of its
// own, budget.go), and classifies every error with shared/fault in one place
// (errors.go).
package salesforce

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/side"
)

// TokenSource supplies access tokens. Salesforce tokens carry no expiry, so
// the client learns of expiry from a 401 and calls Invalidate to make the
// next Token call refresh.
type TokenSource interface {
	Token() (*oauth2.Token, error)
	Invalidate()
}

// FallbackVersion is the API version used when /services/data/ cannot be
// read.
const FallbackVersion = "66.0"

// Options configure a Client.
type Options struct {
	// Tokens supplies access tokens (see Refreshing, Static, Wrap).
	Tokens TokenSource
	// InstanceURL is used when the token carries no instance_url.
	InstanceURL string
	// HTTPClient sends requests (default: a client with a 2-minute timeout).
	HTTPClient *http.Client
	// Version pins the API version ("66.0"); "" discovers the newest from
	// /services/data/ (capped at MaxVersion).
	Version string
	// MaxVersion is the newest version the client is written for.
	MaxVersion string
	// MaxShare is the share of the org's daily API allowance crmsync may use
	// (0 < MaxShare ≤ 1; default 0.5). Calls that would cross it are refused
	// with fault.Quota.
	MaxShare float64
	// UserShare caps this user's own calls at a share of the org's daily
	// allowance over the rolling 24 hours (0: no cap;
	// otherwise 0 < UserShare ≤ MaxShare), as counted by Counter. Calls that
	// would cross it are refused with fault.Quota.
	UserShare float64
	// Counter counts this user's calls for UserShare (nil: a MemoryCounter
	// for this client alone). Give every client of a user one counter, backed
	// by storage, to cap the user across sessions.
	Counter side.CallCounter
	// Now is the clock of the call count (default time.Now).
	Now func() time.Time
	// QueryBatch asks for this many records per query batch (200..2000).
	QueryBatch int
	// RetryBase is the first backoff delay for temporary errors (default
	// 500ms); attempts are bounded by MaxAttempts (default 4).
	RetryBase   time.Duration
	MaxAttempts int
	// Describe shares describe results across clients of the same org (nil:
	// each client keeps its own).
	Describe *DescribeCache
	// Logger gets diagnostics; never tokens, bodies or record values.
	Logger *slog.Logger
}

// Client is a Salesforce REST client for one user's connection.
type Client struct {
	opts Options
	http *http.Client
	log  *slog.Logger

	mu      sync.Mutex
	version string
	used    int // org API usage from the last Sforce-Limit-Info
	limit   int
	cache   map[string]*Object // describe cache by lower-case object name

	calls     atomic.Int64
	bytesSent atomic.Int64
	bytesRecv atomic.Int64
	serverNow atomic.Pointer[time.Time]
}

// New returns a Client.
func New(opts Options) (*Client, error) {
	if opts.Tokens == nil {
		return nil, errors.New("salesforce: Options.Tokens is required")
	}
	if opts.MaxShare == 0 {
		opts.MaxShare = 0.5
	}
	if opts.MaxShare < 0 || opts.MaxShare > 1 {
		return nil, fmt.Errorf("salesforce: MaxShare %v must be in (0, 1]", opts.MaxShare)
	}
	if opts.UserShare < 0 || opts.UserShare > opts.MaxShare {
		return nil, fmt.Errorf("salesforce: UserShare %v must be in [0, MaxShare %v]", opts.UserShare, opts.MaxShare)
	}
	if opts.Counter == nil {
		opts.Counter = NewMemoryCounter()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.QueryBatch == 0 {
		opts.QueryBatch = 2000
	}
	if opts.QueryBatch < 200 || opts.QueryBatch > 2000 {
		return nil, fmt.Errorf("salesforce: QueryBatch %d must be within 200..2000", opts.QueryBatch)
	}
	if opts.RetryBase == 0 {
		opts.RetryBase = 500 * time.Millisecond
	}
	if opts.MaxAttempts == 0 {
		opts.MaxAttempts = 4
	}
	if opts.MaxVersion == "" {
		opts.MaxVersion = FallbackVersion
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 2 * time.Minute}
	}
	return &Client{opts: opts, http: hc, log: opts.Logger, version: opts.Version, cache: map[string]*Object{}}, nil
}

// Calls returns how many API calls (requests counted against the org's daily
// allowance) this client has made.
func (c *Client) Calls() int64 { return c.calls.Load() }

// Bytes returns the request and response body bytes this client moved.
func (c *Client) Bytes() (sent, received int64) { return c.bytesSent.Load(), c.bytesRecv.Load() }

// Usage returns the org's API usage and daily limit as last reported in
// Sforce-Limit-Info (0, 0 before the first call).
func (c *Client) Usage() (used, limit int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used, c.limit
}

// request is one HTTP call.
type request struct {
	method string
	// path is absolute ("/services/data/…") or relative to the versioned
	// base ("query", "sobjects/Contact").
	path   string
	query  url.Values
	body   []byte
	ctype  string
	header http.Header
	// uncounted requests (version discovery) do not count against limits.
	uncounted bool
	// retryWrites allows retrying a non-idempotent request on 5xx (only for
	// requests known to be safe to repeat).
	retryWrites bool
}

// response is a successful answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends req with the session handling Salesforce needs: one forced token
// refresh after a 401, bounded jittered backoff for temporary trouble, and
// the daily-share guard.
func (c *Client) do(ctx context.Context, req request) (*response, error) {
	refreshed := false
	for attempt := 1; ; attempt++ {
		resp, err := c.send(ctx, req)
		if err == nil {
			return resp, nil
		}
		fe := &fault.Error{}
		if !errors.As(err, &fe) {
			return nil, err
		}
		if fe.Code == "INVALID_SESSION_ID" && !refreshed {
			refreshed = true
			c.opts.Tokens.Invalidate()
			attempt--
			continue
		}
		if fe.Class != fault.Temporary || attempt >= c.opts.MaxAttempts || !c.retryable(req, fe) {
			return nil, err
		}
		if err := c.sleep(ctx, attempt); err != nil {
			return nil, err
		}
	}
}

// retryable reports whether repeating req cannot write twice: reads and
// PATCH/DELETE are safe; a POST only when the server refused it before doing
// anything (lock contention, 503) or the caller says so.
func (c *Client) retryable(req request, fe *fault.Error) bool {
	switch req.method {
	case http.MethodGet, http.MethodPatch, http.MethodDelete, http.MethodHead:
		return true
	}
	return req.retryWrites || fe.Code == "UNABLE_TO_LOCK_ROW" || fe.Code == "SERVER_UNAVAILABLE" || fe.Code == "HTTP_503"
}

// sleep waits a full-jitter exponential backoff.
func (c *Client) sleep(ctx context.Context, attempt int) error {
	d := c.opts.RetryBase << (attempt - 1)
	d = time.Duration(rand.Int64N(int64(d)) + 1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return fault.Wrap(fault.Temporary, ctx.Err())
	case <-t.C:
		return nil
	}
}

// checkShare refuses a call that would cross either budget: the org's usage
// (Sforce-Limit-Info) against MaxShare of its limit, which leaves the rest of
// the allowance to the org's other integrations, and this user's own calls
// against UserShare, so one busy user cannot spend what the others need. Both
// need the limit, known from the first answer on.
func (c *Client) checkShare(ctx context.Context) error {
	c.mu.Lock()
	used, limit := c.used, c.limit
	c.mu.Unlock()
	if limit == 0 {
		return nil
	}
	allowed := int(float64(limit) * c.opts.MaxShare)
	if used >= allowed {
		return &fault.Error{Class: fault.Quota, Code: "CRMSYNC_SHARE_USED",
			Message: fmt.Sprintf("CRM API limit reached: the org has used %d of %d daily API requests and crmsync may use up to %.0f%%", used, limit, c.opts.MaxShare*100)}
	}
	if c.opts.UserShare == 0 {
		return nil
	}
	mine, err := c.opts.Counter.Used(ctx, c.opts.Now())
	if err != nil {
		// A count that cannot be read must not stop syncing; the org-wide
		// guard above still holds.
		c.log.LogAttrs(ctx, slog.LevelWarn, "salesforce call count unreadable; per-user cap not applied", slog.String("class", fault.ClassOf(err).String()))
		return nil
	}
	if mineAllowed := int(float64(limit) * c.opts.UserShare); mine >= mineAllowed {
		return &fault.Error{Class: fault.Quota, Code: "CRMSYNC_USER_SHARE_USED",
			Message: fmt.Sprintf("CRM API limit reached: this connection made %d API requests in the last 24 hours and may make up to %d (%.0f%% of the org's %d)", mine, mineAllowed, c.opts.UserShare*100, limit)}
	}
	return nil
}

// countCall adds one call to this user's count.
func (c *Client) countCall(ctx context.Context) {
	c.calls.Add(1)
	if err := c.opts.Counter.Add(ctx, c.opts.Now(), 1); err != nil {
		c.log.LogAttrs(ctx, slog.LevelWarn, "salesforce call not counted", slog.String("class", fault.ClassOf(err).String()))
	}
}

func (c *Client) token() (*oauth2.Token, error) {
	tok, err := c.opts.Tokens.Token()
	if err != nil {
		return nil, tokenError(err)
	}
	if tok == nil || tok.AccessToken == "" {
		return nil, fault.New(fault.Reconnect, "NO_TOKEN", "the connection has no access token")
	}
	return tok, nil
}

// instanceURL returns the org's API host: the token's instance_url, else the
// configured one.
func (c *Client) instanceURL(tok *oauth2.Token) (string, error) {
	if s, ok := tok.Extra("instance_url").(string); ok && s != "" {
		return strings.TrimRight(s, "/"), nil
	}
	if c.opts.InstanceURL != "" {
		return strings.TrimRight(c.opts.InstanceURL, "/"), nil
	}
	return "", fault.New(fault.Reconnect, "NO_INSTANCE_URL", "the token carries no instance_url and none is configured")
}

// send makes one HTTP exchange and classifies the outcome.
func (c *Client) send(ctx context.Context, req request) (*response, error) {
	if !req.uncounted {
		if err := c.checkShare(ctx); err != nil {
			return nil, err
		}
	}
	tok, err := c.token()
	if err != nil {
		return nil, err
	}
	base, err := c.instanceURL(tok)
	if err != nil {
		return nil, err
	}
	path := req.path
	if !strings.HasPrefix(path, "/") {
		v, err := c.Version(ctx)
		if err != nil {
			return nil, err
		}
		path = "/services/data/v" + v + "/" + path
	}
	u := base + path
	if len(req.query) > 0 {
		u += "?" + req.query.Encode()
	}
	var body io.Reader
	if req.body != nil {
		body = bytes.NewReader(req.body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, u, body)
	if err != nil {
		return nil, fault.Wrap(fault.Permanent, err)
	}
	for k, vs := range req.header {
		hr.Header[k] = vs
	}
	hr.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	hr.Header.Set("Accept", "application/json")
	if req.body != nil {
		ct := req.ctype
		if ct == "" {
			ct = "application/json"
		}
		hr.Header.Set("Content-Type", ct)
	}
	if !req.uncounted {
		c.countCall(ctx)
	}
	c.bytesSent.Add(int64(len(req.body)))
	resp, err := c.http.Do(hr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fault.Wrap(fault.Temporary, ctx.Err())
		}
		return nil, &fault.Error{Class: fault.Temporary, Code: "NETWORK", Message: "cannot reach Salesforce", Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	c.bytesRecv.Add(int64(len(data)))
	c.noteHeaders(resp.Header)
	if err != nil {
		return nil, &fault.Error{Class: fault.Temporary, Code: "NETWORK", Message: "response cut short", Err: err}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 || resp.StatusCode == http.StatusNotModified {
		return &response{status: resp.StatusCode, header: resp.Header, body: data}, nil
	}
	fe := responseError(resp.StatusCode, resp.Header.Get("Content-Type"), data)
	c.log.LogAttrs(ctx, slog.LevelDebug, "salesforce call failed", slog.String("method", req.method),
		slog.String("resource", resourceOf(path)), slog.Int("status", resp.StatusCode), slog.String("code", fe.Code))
	return nil, fe
}

// resourceOf names a path for logs without ids or query text.
func resourceOf(path string) string {
	parts := strings.Split(strings.TrimPrefix(path, "/services/data/"), "/")
	if len(parts) > 3 {
		parts = parts[:3]
	}
	for i, p := range parts {
		if len(p) == 15 || len(p) == 18 {
			parts[i] = "{id}"
		}
	}
	return strings.Join(parts, "/")
}

// noteHeaders reads Sforce-Limit-Info ("api-usage=25/15000") and the
// server's clock from every response.
func (c *Client) noteHeaders(h http.Header) {
	if d, err := http.ParseTime(h.Get("Date")); err == nil {
		c.serverNow.Store(&d)
	}
	info := h.Get("Sforce-Limit-Info")
	for _, part := range strings.Split(info, ";") {
		v, ok := strings.CutPrefix(strings.TrimSpace(part), "api-usage=")
		if !ok {
			continue
		}
		usedS, limitS, ok := strings.Cut(v, "/")
		used, err1 := strconv.Atoi(usedS)
		limit, err2 := strconv.Atoi(limitS)
		if ok && err1 == nil && err2 == nil {
			c.mu.Lock()
			c.used, c.limit = used, limit
			c.mu.Unlock()
		}
	}
}

// getJSON sends a request and decodes a JSON answer into out.
func (c *Client) getJSON(ctx context.Context, req request, out any) error {
	resp, err := c.do(ctx, req)
	if err != nil {
		return err
	}
	return decode(resp.body, out)
}

func decode(body []byte, out any) error {
	if out == nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(out); err != nil {
		return malformed(err, len(body))
	}
	return nil
}

func jsonBody(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fault.Wrap(fault.Permanent, err)
	}
	return b, nil
}

// Version returns the API version in use, discovering it once from
// /services/data/ (which costs no API allowance).
func (c *Client) Version(ctx context.Context) (string, error) {
	c.mu.Lock()
	v := c.version
	c.mu.Unlock()
	if v != "" {
		return v, nil
	}
	versions, err := c.Versions(ctx)
	if err != nil {
		// Discovery failing, even refused, never fails the call that needed
		// the version: that call meets the real trouble itself.
		if ctx.Err() != nil {
			return "", err
		}
		c.log.LogAttrs(ctx, slog.LevelWarn, "salesforce version discovery failed; using the pinned version", slog.String("version", FallbackVersion),
			slog.String("class", fault.ClassOf(err).String()))
		v = FallbackVersion
	} else {
		v = pickVersion(versions, c.opts.MaxVersion)
	}
	c.mu.Lock()
	c.version = v
	c.mu.Unlock()
	return v, nil
}

// Versions lists the API versions the org offers.
func (c *Client) Versions(ctx context.Context) ([]string, error) {
	resp, err := c.do(ctx, request{method: http.MethodGet, path: "/services/data/", uncounted: true})
	if err != nil {
		return nil, err
	}
	var list []wireVersion
	if err := decode(resp.body, &list); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(list))
	for _, v := range list {
		out = append(out, v.Version)
	}
	return out, nil
}

// pickVersion returns the newest offered version not newer than max, or
// FallbackVersion when none qualifies.
func pickVersion(offered []string, max string) string {
	best := ""
	for _, v := range offered {
		if versionLess(max, v) {
			continue
		}
		if best == "" || versionLess(best, v) {
			best = v
		}
	}
	if best == "" {
		return FallbackVersion
	}
	return best
}

func versionLess(a, b string) bool {
	fa, _ := strconv.ParseFloat(a, 64)
	fb, _ := strconv.ParseFloat(b, 64)
	return fa < fb
}

// ServerTime returns the org's current time, read from the Date header of an
// uncounted request, so that change windows follow the server's clock. When
// that request fails (version discovery is a separate service, and can be
// down or refused while the API answers), the Date header of the last answer
// of any kind stands in, else the local clock: the read that asked goes on
// and meets the real trouble, if any, in its own calls. Only a cancelled
// context fails here.
func (c *Client) ServerTime(ctx context.Context) (time.Time, error) {
	before := c.serverNow.Load()
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/services/data/", uncounted: true}); err != nil {
		if ctx.Err() != nil {
			return time.Time{}, err
		}
		c.log.LogAttrs(ctx, slog.LevelWarn, "salesforce server time unreadable; using the last Date header seen",
			slog.String("class", fault.ClassOf(err).String()), slog.Bool("seen", before != nil || c.serverNow.Load() != nil))
	}
	if t := c.serverNow.Load(); t != nil {
		return t.UTC(), nil
	}
	return time.Now().UTC(), nil
}

// Limits returns the org's daily API allowance and what remains of it.
func (c *Client) Limits(ctx context.Context) (max, remaining int, err error) {
	var l wireLimits
	if err := c.getJSON(ctx, request{method: http.MethodGet, path: "limits"}, &l); err != nil {
		return 0, 0, err
	}
	return l.DailyAPIRequests.Max, l.DailyAPIRequests.Remaining, nil
}

// UserID returns the Salesforce user id of the connection, read from the
// token's identity URL ("…/id/<org>/<user>").
func (c *Client) UserID() (string, error) {
	tok, err := c.token()
	if err != nil {
		return "", err
	}
	id, _ := tok.Extra("id").(string)
	if i := strings.LastIndex(id, "/"); i >= 0 && len(id)-i-1 >= 15 {
		return id[i+1:], nil
	}
	return "", fault.New(fault.Reconnect, "NO_IDENTITY", "the token carries no identity URL")
}

// WhoAmI returns the connection's user id from the OpenID userinfo endpoint
// (not counted against the API allowance), for tokens without an identity URL.
func (c *Client) WhoAmI(ctx context.Context) (string, error) {
	resp, err := c.do(ctx, request{method: http.MethodGet, path: "/services/oauth2/userinfo", uncounted: true})
	if err != nil {
		return "", err
	}
	var info struct {
		UserID string `json:"user_id"`
	}
	if err := decode(resp.body, &info); err != nil {
		return "", err
	}
	if !validID(info.UserID) {
		return "", fault.New(fault.Reconnect, "NO_IDENTITY", "userinfo without a user id")
	}
	return info.UserID, nil
}
