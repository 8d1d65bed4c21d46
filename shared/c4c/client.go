// Package c4c is the SAP Cloud for Customer connector: a client of the
// OData v2 API c4codataapi and a CRM side under the connector contract
// (shared/side). Facts it relies on and their sources are in
// ../shared/reference/c4c.md and local/fakec4c/FIDELITY.md.
package c4c

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crmsync/crmsync/shared/fault"
)

// ServicePath is the path of the OData API under a tenant's host.
const ServicePath = "/sap/c4c/odata/v1/c4codataapi/"

// MaxBatch is the most operations crmsync puts in one $batch request. SAP
// documents no bound; the DEVGUIDE shows thousands of conditions in one, so
// this keeps requests and transactions small rather than meeting a limit.
const MaxBatch = 100

// Options configure a Client.
type Options struct {
	// Host is the tenant's base URL, "https://myNNNNNN.crm.ondemand.com".
	Host string
	// User and Password are the communication user's (Basic auth).
	User, Password string
	// SAML, when set, authenticates with OAuth 2.0 SAML bearer tokens
	// instead of User and Password.
	SAML *SAMLBearer
	// HTTPClient carries the calls (nil = a default client); the client
	// adds its own cookie jar to a copy of it.
	HTTPClient *http.Client
	Logger     *slog.Logger
}

// Client calls one tenant's OData API as one communication user.
type Client struct {
	root       string
	user, pass string
	saml       *SAMLBearer
	hc         *http.Client
	log        *slog.Logger
	calls      atomic.Int64

	// codeKey names the connection in a CodeCache (tenant and user).
	codeKey string

	mu    sync.Mutex
	token string // CSRF token, valid with the cookies in hc's jar
}

// New returns a client for a tenant.
func New(o Options) (*Client, error) {
	u, err := url.Parse(o.Host)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("c4c: tenant URL %q is not an absolute URL such as https://my123456.crm.ondemand.com", o.Host)
	}
	if o.SAML == nil && (o.User == "" || o.Password == "") {
		return nil, errors.New("c4c: a communication user and password are needed")
	}
	hc := &http.Client{}
	if o.HTTPClient != nil {
		*hc = *o.HTTPClient
	}
	// A cookie jar, never cookie names: the CSRF token is valid only with
	// all cookies of its fetch, and their names change (KBA 3048103, 3339155).
	hc.Jar, _ = cookiejar.New(nil)
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Client{root: strings.TrimSuffix(o.Host, "/") + ServicePath, user: o.User, pass: o.Password, saml: o.SAML, hc: hc, log: log}, nil
}

// Calls is the number of HTTP requests made ($batch counts once).
func (c *Client) Calls() int64 { return c.calls.Load() }

// Entity is one OData entity as decoded from JSON.
type Entity map[string]any

// ID is the entity's ObjectID.
func (e Entity) ID() string { s, _ := e["ObjectID"].(string); return s }

// ETag is the entity's ETag from __metadata, byte for byte as served.
func (e Entity) ETag() string {
	md, _ := e["__metadata"].(map[string]any)
	s, _ := md["etag"].(string)
	return s
}

// String returns a string property ("" when absent or null).
func (e Entity) String(p string) string { s, _ := e[p].(string); return s }

// Time returns a "/Date(ms)/" property (zero when absent or null).
func (e Entity) Time(p string) time.Time { t, _ := ParseDate(e.String(p)); return t }

// ParseDate reads C4C's JSON date "/Date(ms)/", used even for
// DateTimeOffset properties (DEVGUIDE "ETag Support" example).
func ParseDate(s string) (time.Time, bool) {
	ms, ok := strings.CutPrefix(s, "/Date(")
	if !ok {
		return time.Time{}, false
	}
	ms, ok = strings.CutSuffix(ms, ")/")
	if i := strings.IndexAny(ms[min(1, len(ms)):], "+-"); i >= 0 {
		ms = ms[:i+1]
	}
	n, err := strconv.ParseInt(ms, 10, 64)
	if !ok || err != nil {
		return time.Time{}, false
	}
	return time.UnixMilli(n).UTC(), true
}

// FormatDate writes t as "/Date(ms)/".
func FormatDate(t time.Time) string { return "/Date(" + strconv.FormatInt(t.UnixMilli(), 10) + ")/" }

// Literal is a DateTimeOffset $filter literal.
func Literal(t time.Time) string {
	return "datetimeoffset'" + t.UTC().Format("2006-01-02T15:04:05.000Z") + "'"
}

// Quote is a string $filter literal (” escapes a quote).
func Quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// send makes one request; writes carry the CSRF token and, on a CSRF 403,
// fetch a new one and go again once.
func (c *Client) send(ctx context.Context, method, target string, hdr http.Header, body []byte) (*http.Response, []byte, error) {
	write := method != http.MethodGet
	for attempt := 0; ; attempt++ {
		tok := ""
		if write {
			var err error
			if tok, err = c.csrf(ctx, attempt > 0); err != nil {
				return nil, nil, err
			}
		}
		req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
		if err != nil {
			return nil, nil, err
		}
		for k, v := range hdr {
			req.Header[k] = v
		}
		if err := c.authorize(req); err != nil {
			return nil, nil, err
		}
		req.Header.Set("Accept", "application/json")
		if tok != "" {
			req.Header.Set("x-csrf-token", tok)
		}
		resp, b, err := c.roundTrip(req)
		if err != nil {
			return nil, nil, err
		}
		if c.saml != nil && resp.StatusCode == http.StatusUnauthorized && attempt == 0 {
			c.saml.invalidate() // revoked or expired early: one new token
			continue
		}
		if write && resp.StatusCode == http.StatusForbidden && strings.EqualFold(resp.Header.Get("x-csrf-token"), "Required") && attempt == 0 {
			c.log.Debug("c4c: CSRF token refused; fetching a new one")
			continue
		}
		return resp, b, nil
	}
}

func (c *Client) roundTrip(req *http.Request) (*http.Response, []byte, error) {
	c.calls.Add(1)
	resp, err := c.hc.Do(req)
	if err != nil {
		if req.Context().Err() != nil {
			return nil, nil, req.Context().Err()
		}
		return nil, nil, fault.Wrap(fault.Temporary, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, nil, fault.Wrap(fault.Temporary, err)
	}
	return resp, b, nil
}

// csrf returns the session's CSRF token, fetching it (GET of the service
// root with x-csrf-token: fetch) when there is none or refresh is set.
func (c *Client) csrf(ctx context.Context, refresh bool) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && !refresh {
		return c.token, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.root+"?$format=json", nil)
	if err != nil {
		return "", err
	}
	if err := c.authorize(req); err != nil {
		return "", err
	}
	req.Header.Set("x-csrf-token", "fetch")
	resp, b, err := c.roundTrip(req)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", classify(resp.StatusCode, resp.Header, b)
	}
	c.token = resp.Header.Get("x-csrf-token")
	if c.token == "" {
		return "", fault.New(fault.Permanent, "no_csrf_token", "C4C answered the CSRF token fetch without a token")
	}
	return c.token, nil
}

// classify turns an error answer into a classified error with C4C's message.
func classify(status int, h http.Header, body []byte) error {
	msg := errorMessage(body)
	switch {
	case status == http.StatusUnauthorized:
		return fault.New(fault.Reconnect, "401", "C4C refused the communication user's credentials")
	case status == http.StatusNotFound:
		return fault.New(fault.Gone, "404", msg)
	case status == http.StatusPreconditionFailed:
		return fault.New(fault.Permanent, "412", msg)
	case status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable:
		e := fault.New(fault.Throttled, strconv.Itoa(status), msg)
		if s, err := strconv.Atoi(h.Get("Retry-After")); err == nil {
			e.RetryAfter = time.Duration(s) * time.Second
		}
		return e
	case status >= 500:
		return fault.New(fault.Temporary, strconv.Itoa(status), msg)
	}
	return fault.New(fault.Permanent, strconv.Itoa(status), msg)
}

// errorMessage reads error.message.value of an SAP OData error body.
func errorMessage(body []byte) string {
	var e struct {
		Error struct {
			Message struct {
				Value string `json:"value"`
			} `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error.Message.Value != "" {
		return e.Error.Message.Value
	}
	return strings.TrimSpace(string(body[:min(len(body), 200)]))
}

// List reads every entity of coll matching query, following __next (the
// server pages at 1000 when no $top is given), and calls fn for each. A
// failed page fails the whole list: callers never see half a list as whole.
func (c *Client) List(ctx context.Context, coll string, query url.Values, fn func(Entity) error) error {
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	q.Set("$format", "json")
	target := c.root + coll + "?" + encode(q)
	for target != "" {
		resp, b, err := c.send(ctx, http.MethodGet, target, nil, nil)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return classify(resp.StatusCode, resp.Header, b)
		}
		var page struct {
			D struct {
				Results []Entity `json:"results"`
				Next    string   `json:"__next"`
			} `json:"d"`
		}
		if err := json.Unmarshal(b, &page); err != nil {
			return fault.Wrap(fault.Temporary, fmt.Errorf("c4c: reading %s: %w", coll, err))
		}
		for _, e := range page.D.Results {
			if err := fn(e); err != nil {
				return err
			}
		}
		target = page.D.Next
		if target != "" && !strings.HasPrefix(target, c.root) {
			return fault.New(fault.Permanent, "bad_next", "C4C's next link leaves the service root")
		}
	}
	return nil
}

// encode encodes a query keeping "$" and "'" readable, as C4C's own links do.
func encode(q url.Values) string {
	return strings.NewReplacer("%24", "$", "%27", "'", "+", "%20").Replace(q.Encode())
}

// Op is one operation of a $batch: a GET (outside changesets) or a write
// (each in a changeset of its own, so one bad record fails alone).
type Op struct {
	Method  string // GET, POST, PATCH, DELETE
	Path    string // "ContactCollection" or "ContactCollection('id')", with an optional ?query
	IfMatch string
	Body    any // JSON payload of POST and PATCH
}

// OpResult is the answer of one Op.
type OpResult struct {
	Status int
	Entity Entity // the body's d of a 200 or 201
	Err    error  // classified, for statuses >= 400
}

// Batch runs ops in $batch requests of at most MaxBatch operations. A whole
// request failing returns the error; per-operation failures are in results.
func (c *Client) Batch(ctx context.Context, ops []Op) ([]OpResult, error) {
	out := make([]OpResult, 0, len(ops))
	for start := 0; start < len(ops); start += MaxBatch {
		res, err := c.batch(ctx, ops[start:min(start+MaxBatch, len(ops))])
		if err != nil {
			return nil, err
		}
		out = append(out, res...)
	}
	return out, nil
}

func (c *Client) batch(ctx context.Context, ops []Op) ([]OpResult, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for i, op := range ops {
		var body []byte
		if op.Body != nil {
			var err error
			if body, err = json.Marshal(op.Body); err != nil {
				return nil, err
			}
		}
		var req bytes.Buffer
		fmt.Fprintf(&req, "%s %s HTTP/1.1\r\nAccept: application/json\r\n", op.Method, op.Path)
		if op.Method == http.MethodGet {
			req.WriteString("\r\n\r\n") // DEVGUIDE: two blank lines after a GET
			w, _ := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/http"}, "Content-Transfer-Encoding": {"binary"}})
			w.Write(req.Bytes())
			continue
		}
		if op.IfMatch != "" {
			fmt.Fprintf(&req, "If-Match: %s\r\n", op.IfMatch)
		}
		fmt.Fprintf(&req, "Content-ID: %d\r\n", i+1)
		if body != nil {
			fmt.Fprintf(&req, "Content-Type: application/json\r\nContent-Length: %d\r\n", len(body))
		}
		req.WriteString("\r\n")
		req.Write(body)
		req.WriteString("\r\n")
		var cs bytes.Buffer
		cw := multipart.NewWriter(&cs)
		w, _ := cw.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/http"}, "Content-Transfer-Encoding": {"binary"}})
		w.Write(req.Bytes())
		cw.Close()
		w, _ = mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"multipart/mixed; boundary=" + cw.Boundary()}})
		w.Write(cs.Bytes())
	}
	mw.Close()
	hdr := http.Header{"Content-Type": {"multipart/mixed; boundary=" + mw.Boundary()}}
	resp, b, err := c.send(ctx, http.MethodPost, c.root+"$batch", hdr, buf.Bytes())
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusOK {
		return nil, classify(resp.StatusCode, resp.Header, b)
	}
	res, err := readBatch(resp.Header.Get("Content-Type"), b)
	if err != nil {
		return nil, fault.Wrap(fault.Temporary, fmt.Errorf("c4c: reading $batch answer: %w", err))
	}
	if len(res) != len(ops) {
		return nil, fault.New(fault.Temporary, "batch_mismatch", fmt.Sprintf("C4C answered %d of %d $batch operations", len(res), len(ops)))
	}
	return res, nil
}

// readBatch reads a $batch answer: one application/http part per GET or
// failed changeset, a nested multipart per changeset that succeeded.
func readBatch(ctype string, body []byte) ([]OpResult, error) {
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil || !strings.HasPrefix(mt, "multipart/") {
		return nil, fmt.Errorf("content type %q", ctype)
	}
	var out []OpResult
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		pt, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if pt == "multipart/mixed" {
			inner, err := readBatch(part.Header.Get("Content-Type"), mustRead(part))
			if err != nil {
				return nil, err
			}
			out = append(out, inner...)
			continue
		}
		r, err := readHTTP(mustRead(part))
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
}

func mustRead(r io.Reader) []byte { b, _ := io.ReadAll(r); return b }

// readHTTP reads one answer inside a $batch part (CRLF or bare LF lines).
func readHTTP(b []byte) (OpResult, error) {
	tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(b)))
	line, err := tp.ReadLine()
	if err != nil {
		return OpResult{}, fmt.Errorf("no status line: %w", err)
	}
	f := strings.Fields(line)
	if len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/") {
		return OpResult{}, fmt.Errorf("status line %q", line)
	}
	st, err := strconv.Atoi(f[1])
	if err != nil {
		return OpResult{}, fmt.Errorf("status line %q", line)
	}
	h, err := tp.ReadMIMEHeader()
	if err != nil && err != io.EOF {
		return OpResult{}, fmt.Errorf("headers: %w", err)
	}
	body, _ := io.ReadAll(tp.R)
	r := OpResult{Status: st}
	if st >= 400 {
		r.Err = classify(st, http.Header(h), body)
		return r, nil
	}
	if len(bytes.TrimSpace(body)) > 0 {
		var d struct {
			D Entity `json:"d"`
		}
		if json.Unmarshal(body, &d) == nil {
			r.Entity = d.D
		}
	}
	return r, nil
}

// authorize sets the request's credentials: a SAML bearer token, or the
// communication user's Basic auth.
func (c *Client) authorize(req *http.Request) error {
	if c.saml == nil {
		req.SetBasicAuth(c.user, c.pass)
		return nil
	}
	tok, err := c.saml.Token(req.Context())
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	return nil
}
