// Package fakesalesforce is a local Salesforce: an http.Handler that answers
// the OAuth, identity and REST requests crmsync makes, in the shapes and with
// the limits and quirks of a real org (no expires_in on tokens, JSON-array
// errors, Sforce-Limit-Info on every response, query batches smaller than
// asked, replication windows, a recycle bin, create-only fields), plus knobs
// for tests: an injectable clock, fault injection and a per-resource call log.
package fakesalesforce

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Options configure a Server.
type Options struct {
	// Now is the server's clock (default time.Now); tests move time with it.
	Now func() time.Time
	// DailyLimit is the org's daily API request allocation (default 15,000,
	// as a Developer Edition org).
	DailyLimit int
	// MaxBatchSize caps query batches whatever the client asks (default 2,000).
	MaxBatchSize int
	// CustomSchema declares custom objects and fields (see Schema).
	CustomSchema []byte
	// Clients are the connected apps allowed to use OAuth (default: one public
	// client "crmsync-local" with any loopback redirect URI).
	Clients []Client
	// Logger receives diagnostic lines (never tokens or record values).
	Logger *slog.Logger
	// ClassicSeriesOnly is an org that has not turned on creating Lightning
	// event series: Event.IsRecurrence2 is not createable, so new recurring
	// events are classic series.
	ClassicSeriesOnly bool
}

// Client is a connected app.
type Client struct {
	ID     string
	Secret string // "" for a public client (PKCE only)
	// RedirectURIs lists the allowed callback URLs; empty allows loopback URLs.
	RedirectURIs []string
	// JWTKey verifies JWT bearer assertions (nil: the flow is refused).
	JWTKey *rsa.PublicKey
	// RotateRefreshTokens issues a new refresh token on every refresh and
	// invalidates the old one.
	RotateRefreshTokens bool
}

// APIVersion is the newest version the server offers.
const APIVersion = "66.0"

var apiVersions = []string{"64.0", "65.0", "66.0"}

// Server is the local Salesforce. It is safe for concurrent use.
type Server struct {
	// profiles are the standard profiles' ids by name, profileSets each
	// profile's own permission set (permissions.go).
	profiles, profileSets map[string]string

	opts    Options
	orgID   string
	keyOnce sync.Once
	key     *rsa.PrivateKey
	mux     *http.ServeMux
	mu      sync.Mutex
	objects map[string]*Object
	ids     idGen
	records map[string]*record
	byObj   map[string][]*record // insertion order per object
	users   map[string]*account  // by user id
	tokens  map[string]*grant    // access tokens
	refresh map[string]*grant    // refresh tokens
	codes   map[string]*authCode
	cursors map[string]*cursor
	views   map[string]*listView
	dupes   []DuplicateRule
	rules   []ValidationRule
	blobs   map[string][]byte // ContentVersion bodies by id
	deletes []deletion
	// earliestDeleted is when the delete log was last purged.
	earliestDeleted time.Time
	used            int
	calls           map[string]int
	faults          []*Fault
	lockRows        int
	nextCursor      int
	// txs are the open allOrNone transactions that record every change.
	txs         []*txLog
	rels        map[string][]*record // relation rows by activity id
	detached    map[string]bool      // occurrences changed on their own (series.go)
	children    map[string][]string  // child copies of events by parent id
	compositeMu sync.Mutex
	// shares are manual sharing rows: access level by user by record (sharing.go).
	shares map[string]map[string]string
}

type account struct {
	id, username, password string
	admin                  bool
}

type grant struct {
	userID, clientID, scope string
	issued                  time.Time
}

// New returns a Server; it fails only on a bad custom schema.
func New(opts Options) (*Server, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.DailyLimit == 0 {
		opts.DailyLimit = 15000
	}
	if opts.MaxBatchSize == 0 {
		opts.MaxBatchSize = 2000
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if len(opts.Clients) == 0 {
		opts.Clients = []Client{{ID: "crmsync-local"}}
	}
	objs, err := loadSchema(opts.CustomSchema)
	if err == nil && opts.ClassicSeriesOnly {
		if f := objs["event"].field("IsRecurrence2"); f != nil {
			f.CreateOnly, f.ReadOnly = false, true
		}
	}
	if err != nil {
		return nil, err
	}
	s := &Server{
		opts: opts, objects: objs,
		records: map[string]*record{}, byObj: map[string][]*record{}, users: map[string]*account{},
		tokens: map[string]*grant{}, refresh: map[string]*grant{}, codes: map[string]*authCode{},
		cursors: map[string]*cursor{}, views: map[string]*listView{}, blobs: map[string][]byte{},
		calls: map[string]int{}, rels: map[string][]*record{}, detached: map[string]bool{}, children: map[string][]string{},
	}
	s.orgID = s.ids.next("00D")
	s.mux = s.routes()
	return s, nil
}

// signingKey returns the RSA key for id tokens, made on first use: most
// tests never sign in through OAuth and need not pay for key generation.
func (s *Server) signingKey() *rsa.PrivateKey {
	s.keyOnce.Do(func() {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic("fakesalesforce: cannot generate a signing key: " + err.Error())
		}
		s.key = key
	})
	return s.key
}

// OrgID returns the organization's id.
func (s *Server) OrgID() string { return s.orgID }

func (s *Server) now() time.Time { return s.opts.Now().UTC() }

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Date", s.now().Format(http.TimeFormat))
	s.mux.ServeHTTP(w, r)
}

func (s *Server) routes() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("GET /services/oauth2/authorize", s.authorizePage)
	m.HandleFunc("POST /services/oauth2/authorize", s.authorizeSubmit)
	m.HandleFunc("POST /services/oauth2/token", s.token)
	m.HandleFunc("POST /services/oauth2/revoke", s.revoke)
	m.HandleFunc("GET /services/oauth2/userinfo", s.userinfo)
	m.HandleFunc("GET /id/keys", s.jwks)
	m.HandleFunc("GET /.well-known/openid-configuration", s.openidConfiguration)
	m.HandleFunc("GET /id/{org}/{user}", s.identity)
	m.HandleFunc("GET /services/data/{$}", s.versions)
	m.HandleFunc("GET /services/data", s.versions)
	m.HandleFunc("/services/data/{version}/{rest...}", s.api)
	return m
}

// versions lists the API versions; like the real one it needs no session and
// carries no Sforce-Limit-Info.
func (s *Server) versions(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	f := s.takeFault("versions", r.Method)
	s.mu.Unlock()
	if f != nil && f.Status != 0 {
		f.write(w)
		return
	}
	out := make([]map[string]string, 0, len(apiVersions))
	labels := map[string]string{"64.0": "Summer '25", "65.0": "Winter '26", "66.0": "Spring '26"}
	for _, v := range apiVersions {
		out = append(out, map[string]string{"version": v, "url": "/services/data/v" + v, "label": labels[v]})
	}
	writeJSON(w, http.StatusOK, out)
}

// reqCtx is one authenticated API request.
type reqCtx struct {
	w       http.ResponseWriter
	r       *http.Request
	user    *account
	version string
	base    string // https://host
	// internal is true for composite subrequests (not counted again).
	internal bool
}

func (c *reqCtx) dataPath() string { return "/services/data/v" + c.version }

// api authenticates, counts, applies faults and limits, then dispatches.
func (s *Server) api(w http.ResponseWriter, r *http.Request) {
	version := strings.TrimPrefix(r.PathValue("version"), "v")
	rest := r.PathValue("rest")
	known := false
	for _, v := range apiVersions {
		known = known || v == version
	}
	if !known {
		writeErrors(w, http.StatusNotFound, apiError{"The requested resource does not exist", "NOT_FOUND", nil})
		return
	}
	resource := resourceName(r.Method, rest)
	user, ok := s.authenticate(r)
	if !ok {
		writeErrors(w, http.StatusUnauthorized, apiError{"Session expired or invalid", "INVALID_SESSION_ID", nil})
		return
	}
	s.mu.Lock()
	f := s.takeFault(resource, r.Method)
	if s.used >= s.opts.DailyLimit {
		s.setLimitHeader(w)
		s.mu.Unlock()
		writeErrors(w, http.StatusForbidden, apiError{"TotalRequests Limit exceeded.", "REQUEST_LIMIT_EXCEEDED", nil})
		return
	}
	s.used++
	s.calls[resource]++
	s.setLimitHeader(w)
	s.mu.Unlock()
	if f != nil {
		if f.Latency > 0 {
			time.Sleep(f.Latency)
		}
		if f.Status != 0 {
			f.write(w)
			return
		}
	}
	c := &reqCtx{w: w, r: r, user: user, version: version, base: baseURL(r)}
	s.dispatch(c, rest)
}

func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Server) setLimitHeader(w http.ResponseWriter) {
	w.Header().Set("Sforce-Limit-Info", fmt.Sprintf("api-usage=%d/%d", s.used, s.opts.DailyLimit))
}

func (s *Server) authenticate(r *http.Request) (*account, bool) {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		tok, ok = strings.CutPrefix(h, "OAuth ")
	}
	if !ok {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.tokens[tok]
	if !ok {
		return nil, false
	}
	u, ok := s.users[g.userID]
	return u, ok
}

// resourceName names a request for the call log and fault matching.
func resourceName(method, rest string) string {
	parts := strings.Split(strings.Trim(rest, "/"), "/")
	switch parts[0] {
	case "query":
		return "query"
	case "queryAll":
		return "queryAll"
	case "search":
		return "search"
	case "parameterizedSearch":
		return "parameterizedSearch"
	case "limits":
		return "limits"
	case "chatter":
		return "chatter"
	case "composite":
		if len(parts) > 1 && parts[1] == "sobjects" {
			return "collections"
		}
		if len(parts) > 1 && parts[1] == "batch" {
			return "batch"
		}
		return "composite"
	case "sobjects":
		switch {
		case len(parts) == 1 || parts[1] == "":
			return "describeGlobal"
		case len(parts) >= 3 && parts[2] == "describe":
			return "describe"
		case len(parts) >= 3 && parts[2] == "updated":
			return "updated"
		case len(parts) >= 3 && parts[2] == "deleted":
			return "deleted"
		case len(parts) >= 3 && parts[2] == "listviews":
			return "listviews"
		}
		return "sobject"
	}
	return parts[0]
}

func (s *Server) dispatch(c *reqCtx, rest string) {
	parts := strings.Split(strings.Trim(rest, "/"), "/")
	r := c.r
	switch {
	case parts[0] == "query" || parts[0] == "queryAll":
		if len(parts) == 2 {
			s.queryMore(c, parts[1])
			return
		}
		s.query(c, parts[0] == "queryAll")
	case parts[0] == "limits":
		s.limits(c)
	case parts[0] == "search":
		s.search(c)
	case parts[0] == "parameterizedSearch":
		s.parameterizedSearch(c)
	case parts[0] == "chatter" && len(parts) == 2 && parts[1] == "feed-elements" && r.Method == http.MethodPost:
		s.postFeedElement(c)
	case parts[0] == "composite" && len(parts) == 1 && r.Method == http.MethodPost:
		s.composite(c)
	case parts[0] == "composite" && len(parts) == 2 && parts[1] == "batch" && r.Method == http.MethodPost:
		s.batch(c)
	case parts[0] == "composite" && len(parts) >= 2 && parts[1] == "sobjects":
		s.collections(c, parts[2:])
	case parts[0] == "sobjects" && len(parts) == 1:
		s.describeGlobal(c)
	case parts[0] == "sobjects":
		s.sobjects(c, parts[1:])
	default:
		writeErrors(c.w, http.StatusNotFound, apiError{"The requested resource does not exist", "NOT_FOUND", nil})
	}
}

func (s *Server) sobjects(c *reqCtx, parts []string) {
	obj := s.object(parts[0])
	if obj == nil {
		writeErrors(c.w, http.StatusNotFound, apiError{"The requested resource does not exist", "NOT_FOUND", nil})
		return
	}
	m := c.r.Method
	switch {
	case len(parts) == 1 && m == http.MethodGet:
		s.objectInfo(c, obj)
	case len(parts) == 1 && m == http.MethodPost:
		s.createOne(c, obj)
	case len(parts) == 2 && parts[1] == "describe" && m == http.MethodGet:
		s.describe(c, obj)
	case len(parts) == 2 && parts[1] == "updated" && m == http.MethodGet:
		s.updated(c, obj)
	case len(parts) == 2 && parts[1] == "deleted" && m == http.MethodGet:
		s.deleted(c, obj)
	case len(parts) >= 2 && parts[1] == "listviews" && m == http.MethodGet:
		s.listViews(c, obj, parts[2:])
	case len(parts) == 2 && m == http.MethodGet:
		s.getOne(c, obj, parts[1])
	case len(parts) == 2 && m == http.MethodPatch:
		s.updateOne(c, obj, parts[1])
	case len(parts) == 2 && m == http.MethodDelete:
		s.deleteOne(c, obj, parts[1])
	case len(parts) == 3 && parts[2] == "VersionData" && m == http.MethodGet:
		s.versionData(c, obj, parts[1])
	default:
		writeErrors(c.w, http.StatusMethodNotAllowed, apiError{fmt.Sprintf("HTTP Method '%s' not allowed. Allowed are GET,PATCH,DELETE", m), "METHOD_NOT_ALLOWED", nil})
	}
}

func (s *Server) object(name string) *Object { return s.objects[strings.ToLower(name)] }

func (s *Server) limits(c *reqCtx) {
	s.mu.Lock()
	used, max := s.used, s.opts.DailyLimit
	s.mu.Unlock()
	writeJSON(c.w, http.StatusOK, map[string]any{
		"DailyApiRequests": map[string]int{"Max": max, "Remaining": max - used},
	})
}

// apiError is one element of a REST error body.
type apiError struct {
	Message   string   `json:"message"`
	ErrorCode string   `json:"errorCode"`
	Fields    []string `json:"fields,omitempty"`
}

// recordError is one per-record error in a collections result (key statusCode).
type recordError struct {
	StatusCode string   `json:"statusCode"`
	Message    string   `json:"message"`
	Fields     []string `json:"fields"`
}

func (e recordError) Error() string { return e.StatusCode + ": " + e.Message }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErrors(w http.ResponseWriter, status int, errs ...apiError) {
	writeJSON(w, status, errs)
}

// writeRecordError answers a single-record request that failed validation.
func writeRecordError(w http.ResponseWriter, err error) {
	re, ok := err.(recordError)
	if !ok {
		writeErrors(w, http.StatusInternalServerError, apiError{"An unexpected error occurred.", "UNKNOWN_EXCEPTION", nil})
		return
	}
	status := http.StatusBadRequest
	switch re.StatusCode {
	case "NOT_FOUND", "ENTITY_IS_DELETED":
		status = http.StatusNotFound
	case "INSUFFICIENT_ACCESS_OR_READONLY", "INSUFFICIENT_ACCESS":
		status = http.StatusForbidden
	}
	writeErrors(w, status, apiError{re.Message, re.StatusCode, re.Fields})
}
