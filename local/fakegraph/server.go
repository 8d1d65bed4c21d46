// Package fakegraph is a local Microsoft Graph for tests and demos: several
// mailboxes with contact folders, calendars with recurring series, To Do
// lists, mail folders, messages with attachments and categories, extended
// properties, delta queries with opaque absolute links and @removed
// tombstones, JSON batching, throttling, change-notification subscriptions
// and the OAuth token endpoint. It answers in Graph's shapes and reproduces
// the traps the real service sets (see shared/reference/protocols.md, D).
package fakegraph

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Limits of the real service the fake enforces.
const (
	// MailboxConcurrency is how many requests may be in flight per mailbox.
	MailboxConcurrency = 4
	// MaxBatch is the most parts in one JSON batch.
	MaxBatch = 20
	// MaxSubscriptionMinutes is the longest subscription lifetime for Outlook resources.
	MaxSubscriptionMinutes = 10080
	defaultPageSize        = 50
)

// Options configure a Server.
type Options struct {
	// Now is the clock (nil = time.Now). Subscriptions expire and items get
	// their timestamps by it.
	Now func() time.Time
	// BaseURL is the absolute URL the fake puts in links, up to but without
	// "/v1.0" ("" = "http://" + the request's Host).
	BaseURL string
	// HTTPClient delivers validation requests and notifications to webhooks
	// (nil = a client with a 10 s timeout).
	HTTPClient *http.Client
	// Latency holds every request this long, so concurrency can be observed.
	Latency time.Duration
	// Clients are the OAuth clients the token endpoint knows (id → secret);
	// empty accepts any client (demo mode).
	Clients map[string]string
	// TenantID is reported in notifications ("" = a fixed demo tenant id).
	TenantID string
	// LightweightProperties are the message properties whose change alone a
	// messages delta reports as a lightweight entry (id, the changed
	// properties, parentFolderId). nil = isRead and flag, the changes Graph is
	// documented to report that way; tests widen it to exercise clients.
	LightweightProperties []string
}

// Server is the local Graph. It is an http.Handler and safe for concurrent use.
type Server struct {
	opts Options

	mu        sync.Mutex
	idSeq     int
	mailboxes map[string]*mailbox // by id
	byUPN     map[string]string   // lower-case UPN → id
	order     []string
	tokens    map[string]tokenInfo
	codes     map[string]authCode
	refresh   map[string]string // refresh token → mailbox id
	subs      map[string]*subscription
	uploads   map[string]*upload // upload URL token → session
	requests  int
	parts     int
	pending   []delivery
	// sent and bounces are sendMail's record (sendmail.go).
	sent    []SentMail
	bounces map[string]bool
}

// New returns an empty local Graph.
func New(opts Options) *Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if opts.TenantID == "" {
		opts.TenantID = "00000000-0000-4000-8000-00000000c0de"
	}
	return &Server{
		opts:      opts,
		mailboxes: map[string]*mailbox{},
		byUPN:     map[string]string{},
		tokens:    map[string]tokenInfo{},
		codes:     map[string]authCode{},
		refresh:   map[string]string{},
		subs:      map[string]*subscription{},
		uploads:   map[string]*upload{},
	}
}

func (s *Server) now() time.Time { return s.opts.Now().UTC() }

// AddMailbox creates a mailbox for the user principal name and returns its
// user id. Adding an existing UPN returns the existing id.
func (s *Server) AddMailbox(upn, displayName string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.byUPN[strings.ToLower(upn)]; ok {
		return id
	}
	s.idSeq++
	id := fmt.Sprintf("00000000-0000-4000-8000-%012d", s.idSeq)
	m := &mailbox{id: id, upn: upn, name: displayName, entries: map[string]*entry{}, rest: map[string]string{}}
	s.mailboxes[id] = m
	s.byUPN[strings.ToLower(upn)] = id
	s.order = append(s.order, id)
	// Every mailbox has the well-known mail folders.
	for _, f := range []string{"Inbox", "Sent Items", "Drafts", "Deleted Items", "Archive"} {
		s.add(m, kMailFolder, "", map[string]any{"displayName": f})
	}
	// And its default calendar.
	m.calendar = s.add(m, kCalendar, "", map[string]any{"name": "Calendar", "isDefaultCalendar": true, "color": "auto"}).id
	return id
}

// mailboxFor finds a mailbox by id or UPN (case-insensitive).
func (s *Server) mailboxFor(key string) *mailbox {
	if m, ok := s.mailboxes[key]; ok {
		return m
	}
	if id, ok := s.byUPN[strings.ToLower(key)]; ok {
		return s.mailboxes[id]
	}
	return nil
}

// Stats are per-mailbox counters tests read.
type Stats struct {
	// Requests counts HTTP requests for the mailbox (a $batch counts once).
	Requests int
	// MaxInFlight is the most requests seen in flight at once (a $batch
	// counts as the parts Exchange runs at once from it: up to four).
	MaxInFlight int
}

// Stats returns the counters of the mailbox upn.
func (s *Server) Stats(upn string) Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.mailboxFor(upn)
	if m == nil {
		return Stats{}
	}
	return Stats{Requests: m.requests, MaxInFlight: m.maxInFlight}
}

// Requests returns how many HTTP requests the server answered in all and how
// many batch parts it ran.
func (s *Server) Requests() (requests, batchParts int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests, s.parts
}

// Throttle makes the next n requests for the mailbox answer 429 with
// Retry-After; parts does the same for n parts inside $batch requests.
func (s *Server) Throttle(upn string, n, parts int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.mailboxFor(upn); m != nil {
		m.throttle, m.throttlePt, m.retryAfter = n, parts, retryAfter
	}
}

// FailDeletes makes the next n DELETE parts of $batch requests for the
// mailbox answer 500 ErrorInternalServerError (a fault for tests: a write that
// fails half-way, after the parts before it were done).
func (s *Server) FailDeletes(upn string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.mailboxFor(upn); m != nil {
		m.failDeletes = n
	}
}

// ExpireDeltaTokens makes every delta and skip token of the mailbox invalid
// (410 SyncStateNotFound), as when Exchange drops its sync state.
func (s *Server) ExpireDeltaTokens(upn string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.mailboxFor(upn); m != nil {
		m.gen++
	}
}

// CorruptDeltaTokens makes every delta and skip token of the mailbox
// unreadable to the service: they answer 400 BadRequest "The delta token is
// malformed." (a client must start that resource over, as after a 410).
func (s *Server) CorruptDeltaTokens(upn string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.mailboxFor(upn); m != nil {
		m.epoch++
	}
}

// ExpireAccessTokens ends the lifetime of every access token issued so far,
// as when a token expires while a request is in flight: requests carrying
// one answer 401 InvalidAuthenticationToken. Refresh tokens and client
// credentials still get new access tokens.
func (s *Server) ExpireAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	past := s.now().Add(-time.Second)
	for k, v := range s.tokens {
		v.expires = past
		s.tokens[k] = v
	}
}

// Transport returns a round tripper that serves requests in process, with no
// socket: useful inside testing/synctest bubbles.
func (s *Server) Transport() http.RoundTripper { return inProcess{s} }

type inProcess struct{ s *Server }

func (t inProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body == nil {
		r.Body = http.NoBody
	}
	rec := httptest.NewRecorder()
	t.s.ServeHTTP(rec, r)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

// apiError is a Graph error answer.
type apiError struct {
	status     int
	code       string
	message    string
	retryAfter time.Duration
}

func badRequest(code, msg string) *apiError { return &apiError{status: 400, code: code, message: msg} }
func notFound() *apiError {
	return &apiError{status: 404, code: "ErrorItemNotFound", message: "The specified object was not found in the store."}
}

func (e *apiError) write(w http.ResponseWriter) {
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(e.retryAfter/time.Second)))
	}
	writeJSON(w, e.status, map[string]any{"error": map[string]any{
		"code": e.code, "message": e.message,
		"innerError": map[string]any{"date": time.Now().UTC().Format(time.RFC3339), "request-id": "fakegraph"},
	}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; odata.metadata=minimal")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// ServeHTTP routes a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.Trim(r.URL.Path, "/")
	switch {
	case strings.HasSuffix(path, "/oauth2/v2.0/token"):
		s.serveToken(w, r)
		return
	case strings.HasSuffix(path, "/oauth2/v2.0/authorize"):
		s.serveAuthorize(w, r)
		return
	case strings.HasPrefix(path, uploadPath):
		s.serveUpload(w, r, strings.TrimPrefix(path, uploadPath))
		return
	case !strings.HasPrefix(path, "v1.0/") && path != "v1.0":
		(&apiError{status: 404, code: "BadRequest", message: "Unsupported version or path."}).write(w)
		return
	}
	s.mu.Lock()
	s.requests++
	s.mu.Unlock()
	who, aerr := s.authenticate(r)
	if aerr != nil {
		aerr.write(w)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 4<<20))
	if err != nil {
		(&apiError{status: 413, code: "RequestEntityTooLarge", message: "The request body is too large."}).write(w)
		return
	}
	rest := strings.TrimPrefix(strings.TrimPrefix(path, "v1.0"), "/")
	m, aerr := s.resolveMailbox(who, rest, body)
	if aerr != nil {
		aerr.write(w)
		return
	}
	if m != nil {
		weight := batchWeight(rest, body)
		if aerr := s.enter(m, weight); aerr != nil {
			aerr.write(w)
			return
		}
		defer s.leave(m, weight)
	}
	if s.opts.Latency > 0 {
		time.Sleep(s.opts.Latency)
	}
	base := s.baseURL(r)
	var status int
	var out any
	var hdr http.Header
	switch {
	case rest == "$batch" && r.Method == http.MethodPost:
		status, out = s.serveBatch(r, who, base, body)
	default:
		var resp response
		resp = s.serveAPI(who, r.Method, rest, r.URL.Query(), r.Header, body, base, r.URL.Path)
		status, out, hdr = resp.status, resp.body, resp.header
	}
	for k, v := range hdr {
		w.Header()[k] = v
	}
	switch b := out.(type) {
	case nil:
		w.WriteHeader(status)
	case []byte:
		w.WriteHeader(status)
		writeChunked(w, b)
	case *apiError:
		b.write(w)
	default:
		writeJSON(w, status, b)
	}
	s.deliver()
}

// rawChunk is how much of a raw body (an attachment's $value) is written
// and flushed at a time: without a Content-Length the answer goes chunked,
// so clients meet a large download as a stream arriving piece by piece.
const rawChunk = 256 << 10

func writeChunked(w http.ResponseWriter, b []byte) {
	f, _ := w.(http.Flusher)
	for len(b) > 0 {
		n := min(len(b), rawChunk)
		if _, err := w.Write(b[:n]); err != nil {
			return
		}
		if f != nil {
			f.Flush()
		}
		b = b[n:]
	}
}

func (s *Server) baseURL(r *http.Request) string {
	if s.opts.BaseURL != "" {
		return strings.TrimRight(s.opts.BaseURL, "/") + "/v1.0"
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/v1.0"
}

// resolveMailbox finds the mailbox a request is for, for concurrency and
// throttling accounting (nil for requests on no mailbox).
func (s *Server) resolveMailbox(who tokenInfo, rest string, body []byte) (*mailbox, *apiError) {
	if rest == "$batch" {
		var b struct {
			Requests []struct {
				URL string `json:"url"`
			} `json:"requests"`
		}
		if json.Unmarshal(body, &b) != nil || len(b.Requests) == 0 {
			return nil, nil // serveBatch reports the problem
		}
		rest = strings.TrimPrefix(b.Requests[0].URL, "/")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	seg := strings.Split(strings.SplitN(rest, "?", 2)[0], "/")
	switch {
	case seg[0] == "me":
		if who.mailbox == "" {
			return nil, badRequest("BadRequest", "/me request is only valid with delegated authentication flow.")
		}
		return s.mailboxes[who.mailbox], nil
	case seg[0] == "users" && len(seg) > 1:
		key, _ := url.PathUnescape(seg[1])
		m := s.mailboxFor(key)
		if m == nil {
			return nil, &apiError{status: 404, code: "ErrorInvalidUser", message: "The requested user is invalid."}
		}
		if who.mailbox != "" && who.mailbox != m.id {
			return nil, &apiError{status: 403, code: "ErrorAccessDenied", message: "Access is denied. Check credentials and try again."}
		}
		return m, nil
	}
	return nil, nil
}

// batchWeight is how many concurrent requests a call uses against its
// mailbox: Exchange runs up to four parts of a JSON batch at once.
func batchWeight(rest string, body []byte) int {
	if rest != "$batch" {
		return 1
	}
	var b struct {
		Requests []json.RawMessage `json:"requests"`
	}
	if json.Unmarshal(body, &b) != nil {
		return 1
	}
	return min(max(len(b.Requests), 1), MailboxConcurrency)
}

// enter counts a request in flight for m, refusing it when the mailbox is
// over its concurrency limit or throttling was injected.
func (s *Server) enter(m *mailbox, weight int) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	m.requests++
	m.inFlight += weight
	if m.inFlight > m.maxInFlight {
		m.maxInFlight = m.inFlight
	}
	if m.inFlight > MailboxConcurrency {
		m.inFlight -= weight
		return &apiError{status: 429, code: "ApplicationThrottled", message: "Application is over its MailboxConcurrency limit.", retryAfter: time.Second}
	}
	if m.throttle > 0 {
		m.throttle--
		m.inFlight -= weight
		return &apiError{status: 429, code: "ApplicationThrottled", message: "Application is over its request limit.", retryAfter: m.retryAfter}
	}
	return nil
}

func (s *Server) leave(m *mailbox, weight int) {
	s.mu.Lock()
	m.inFlight -= weight
	s.mu.Unlock()
}

// response is an API answer before it is written.
type response struct {
	status int
	body   any // map, []byte (raw), *apiError or nil
	header http.Header
}

func fail(e *apiError) response { return response{status: e.status, body: e} }

// readBody decodes a JSON object body.
func readBody(b []byte) (map[string]any, *apiError) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, badRequest("BadRequest", "Empty Payload. JSON content expected.")
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, badRequest("BadRequest", "Unable to read JSON request payload.")
	}
	if dec.More() {
		return nil, badRequest("BadRequest", "Unexpected content after the JSON payload.")
	}
	return m, nil
}
