// Package fakegoogle is a local Google Workspace for tests and demos: the
// People API (contacts, contact groups, sync tokens), Calendar v3 (events with
// sync tokens, recurring series and their exceptions, cancelled entries),
// Tasks v1 (task lists, updatedMin polling with tombstones), Gmail v1
// (labels, messages, attachments, history) and the OAuth token endpoint. It answers in Google's shapes — both error envelopes, the
// status codes and the traps of ../shared/reference/google.md — and each
// behaviour has its source in FIDELITY.md.
package fakegoogle

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Page bounds of the real APIs the fake enforces.
const (
	// MaxPeoplePage is connections.list's largest pageSize.
	MaxPeoplePage = 1000
	// DefaultPeoplePage is connections.list's pageSize when unset or 0.
	DefaultPeoplePage = 100
	// MaxEventsPage is events.list's largest maxResults.
	MaxEventsPage = 2500
	// DefaultEventsPage is events.list's maxResults when unset.
	DefaultEventsPage = 250
	// MaxTasksPage is tasks.list's largest maxResults.
	MaxTasksPage = 100
	// DefaultTasksPage is tasks.list's maxResults when unset.
	DefaultTasksPage = 20
)

// Options configure a Server.
type Options struct {
	// Now is the clock (nil = time.Now); items get their update times by it.
	Now func() time.Time
	// Clients are the OAuth clients the token endpoint knows (id → secret);
	// empty accepts any client (demo mode).
	Clients map[string]string
	// HTTPClient delivers watch notifications (nil = a client with a 10 s
	// timeout).
	HTTPClient *http.Client
	// ServiceAccounts are the service accounts granted domain-wide
	// delegation, by e-mail (the JWT's iss).
	ServiceAccounts map[string]ServiceAccount
	// PubSub, when set, is the Pub/Sub topic users.watch accepts and the
	// authenticated push subscription that delivers its notifications.
	PubSub *PubSub
}

// Server is the local Google. It is an http.Handler, safe for concurrent use.
type Server struct {
	opts Options
	mux  *http.ServeMux

	mu       sync.Mutex
	seq      int64
	users    map[string]*user // by lower-case address
	tokens   map[string]string
	refresh  map[string]string
	pages    map[string]*pageState
	requests map[string]int // by API: people, calendar, tasks, token
	failures map[string][]failure
	channels []*channel
	pending  []delivery
	// Gmail watches by user address, and the key that signs Pub/Sub's
	// push tokens (pubsub.go).
	gmailWatches map[string]*gmailWatch
	pushKey      *pushKey
	// sent are the messages users sent (send.go).
	sent []SentMail
	// The authorization endpoint's state (authorize.go).
	signedIn  string
	declined  map[string][]string
	consented map[string]bool
	codes     map[string]*authCode
}

// failure is an error answer queued for an API's next request.
type failure struct {
	status     int
	reason     string
	retryAfter string
	skip       int // requests to let through first
}

type user struct {
	email string
	// epoch per API: a sync token minted under an older epoch is expired.
	epoch    map[string]int
	people   map[string]*person // by resourceName
	groups   map[string]*group  // by resourceName
	events   map[string]map[string]*event
	lists    map[string]*taskList
	listSeq  []string
	groupSeq []string
	mail     *gmailState
}

// New returns an empty local Google.
func New(opts Options) *Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{opts: opts, users: map[string]*user{}, tokens: map[string]string{},
		refresh: map[string]string{}, pages: map[string]*pageState{}, requests: map[string]int{}, pushKey: &pushKey{}}
	s.mux = s.routes()
	return s
}

// routes is the one route table of the fake.
func (s *Server) routes() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("POST /token", s.token)
	m.HandleFunc("GET /o/oauth2/v2/auth", s.authorize)
	m.HandleFunc("POST /revoke", s.revoke)
	m.HandleFunc("POST /batch/calendar/v3", s.batch)
	m.HandleFunc("POST /batch/gmail/v1", s.batch)
	m.HandleFunc("POST /batch", s.batch)
	// People API.
	m.HandleFunc("GET /v1/people/me/connections", s.api("people", s.listConnections))
	m.HandleFunc("POST /v1/people:createContact", s.api("people", s.createContact))
	m.HandleFunc("POST /v1/people:batchCreateContacts", s.api("people", s.batchCreateContacts))
	m.HandleFunc("POST /v1/people:batchDeleteContacts", s.api("people", s.batchDeleteContacts))
	m.HandleFunc("POST /v1/people:batchUpdateContacts", s.api("people", s.batchUpdateContacts))
	m.HandleFunc("GET /v1/people:batchGet", s.api("people", s.batchGetPeople))
	m.HandleFunc("GET /v1/people/{id}", s.api("people", s.getPerson))
	m.HandleFunc("PATCH /v1/people/{op}", s.api("people", s.updateContact))
	m.HandleFunc("DELETE /v1/people/{op}", s.api("people", s.deleteContact))
	m.HandleFunc("GET /v1/contactGroups", s.api("people", s.listGroups))
	m.HandleFunc("POST /v1/contactGroups", s.api("people", s.createGroup))
	// Calendar v3.
	m.HandleFunc("GET /calendar/v3/calendars/{cal}/events", s.api("calendar", s.listEvents))
	m.HandleFunc("POST /calendar/v3/calendars/{cal}/events", s.api("calendar", s.insertEvent))
	m.HandleFunc("POST /calendar/v3/calendars/{cal}/events/watch", s.api("calendar", s.watchEvents))
	m.HandleFunc("POST /calendar/v3/calendars/{cal}/events/import", s.api("calendar", s.importEvent))
	m.HandleFunc("POST /calendar/v3/channels/stop", s.api("calendar", s.stopChannel))
	m.HandleFunc("GET /calendar/v3/calendars/{cal}/events/{id}", s.api("calendar", s.getEvent))
	m.HandleFunc("PATCH /calendar/v3/calendars/{cal}/events/{id}", s.api("calendar", s.patchEvent))
	m.HandleFunc("PUT /calendar/v3/calendars/{cal}/events/{id}", s.api("calendar", s.patchEvent))
	m.HandleFunc("DELETE /calendar/v3/calendars/{cal}/events/{id}", s.api("calendar", s.deleteEvent))
	// Tasks v1.
	m.HandleFunc("GET /tasks/v1/users/@me/lists", s.api("tasks", s.listLists))
	m.HandleFunc("POST /tasks/v1/users/@me/lists", s.api("tasks", s.insertList))
	m.HandleFunc("GET /tasks/v1/lists/{list}/tasks", s.api("tasks", s.listTasks))
	m.HandleFunc("POST /tasks/v1/lists/{list}/tasks", s.api("tasks", s.insertTask))
	m.HandleFunc("GET /tasks/v1/lists/{list}/tasks/{id}", s.api("tasks", s.getTask))
	m.HandleFunc("PATCH /tasks/v1/lists/{list}/tasks/{id}", s.api("tasks", s.patchTask))
	m.HandleFunc("PUT /tasks/v1/lists/{list}/tasks/{id}", s.api("tasks", s.patchTask))
	m.HandleFunc("DELETE /tasks/v1/lists/{list}/tasks/{id}", s.api("tasks", s.deleteTask))
	// Gmail v1.
	m.HandleFunc("GET /gmail/v1/users/me/profile", s.api("gmail", s.profile))
	m.HandleFunc("POST /gmail/v1/users/me/watch", s.api("gmail", s.watchGmail))
	m.HandleFunc("POST /gmail/v1/users/me/messages/send", s.api("gmail", s.sendMessage))
	m.HandleFunc("POST /gmail/v1/users/me/stop", s.api("gmail", s.stopGmail))
	m.HandleFunc("GET /oauth2/v3/certs", s.certs)
	m.HandleFunc("GET /.well-known/openid-configuration", s.discovery)
	m.HandleFunc("GET /gmail/v1/users/me/labels", s.api("gmail", s.listLabels))
	m.HandleFunc("POST /gmail/v1/users/me/labels", s.api("gmail", s.createLabel))
	m.HandleFunc("GET /gmail/v1/users/me/messages", s.api("gmail", s.listMessages))
	m.HandleFunc("POST /gmail/v1/users/me/messages", s.api("gmail", s.insertMessage))
	m.HandleFunc("GET /gmail/v1/users/me/messages/{id}", s.api("gmail", s.getMessage))
	m.HandleFunc("POST /gmail/v1/users/me/messages/{id}/modify", s.api("gmail", s.modifyMessage))
	m.HandleFunc("GET /gmail/v1/users/me/messages/{id}/attachments/{aid}", s.api("gmail", s.getAttachment))
	m.HandleFunc("GET /gmail/v1/users/me/history", s.api("gmail", s.listHistory))
	return m
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Transport serves requests in process, whatever their host, so clients can
// use Google's real base URLs against the fake.
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

// AddUser creates a Workspace user with a primary calendar and returns an
// access token and a refresh token for it.
func (s *Server) AddUser(email string) (access, refresh string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.ToLower(email)
	if s.users[key] == nil {
		u := &user{email: email, epoch: map[string]int{}, people: map[string]*person{}, groups: map[string]*group{},
			events: map[string]map[string]*event{"primary": {}}, lists: map[string]*taskList{}}
		for _, g := range []string{"myContacts", "starred"} {
			u.groups["contactGroups/"+g] = &group{ResourceName: "contactGroups/" + g, Name: g, GroupType: "SYSTEM_CONTACT_GROUP"}
			u.groupSeq = append(u.groupSeq, "contactGroups/"+g)
		}
		s.users[key] = u
	}
	access, refresh = randomID("ya29."), randomID("1//")
	s.tokens[access] = key
	s.refresh[refresh] = key
	return access, refresh
}

// ExpireSyncTokens invalidates every sync token of the user in every API, as
// when a token outlives its 7 days (People) or Google drops it (Calendar 410).
func (s *Server) ExpireSyncTokens(email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.users[strings.ToLower(email)]; u != nil {
		for _, api := range []string{"people", "calendar"} {
			u.epoch[api]++
		}
		// Gmail keeps history for a limited time: older start ids → 404.
		u.gmail().floor = s.seq
	}
}

// Requests returns how many requests each API has answered ("people",
// "calendar", "tasks", "gmail", "token").
func (s *Server) Requests() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.requests))
	for k, v := range s.requests {
		out[k] = v
	}
	return out
}

// ResetRequests zeroes the request counters.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = map[string]int{}
}

type handler func(w http.ResponseWriter, r *http.Request, u *user)

// api authenticates the bearer token and runs h under the lock.
func (s *Server) api(name string, h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		// Notifications a change caused go out after its answer.
		defer s.deliver()
		s.mu.Lock()
		defer s.mu.Unlock()
		s.requests[name]++
		if q := s.failures[name]; len(q) > 0 {
			if q[0].skip > 0 {
				q[0].skip--
			} else {
				s.failures[name] = q[1:]
				s.fail(w, name, q[0])
				return
			}
		}
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		u := s.users[s.tokens[tok]]
		if !ok || u == nil {
			if name == "people" {
				rpcError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.")
				return
			}
			legacyError(w, http.StatusUnauthorized, "authError", "Invalid Credentials")
			return
		}
		h(w, r, u)
	}
}

// FailNext queues an error answer for the next request to api ("people",
// "calendar", "tasks"): a 429, a 403 with reason rateLimitExceeded or
// userRateLimitExceeded (Calendar's and Gmail's way of throttling), a 403
// quotaExceeded, a 500 backendError. retryAfter ("" = none) is sent as
// Retry-After.
func (s *Server) FailNext(api string, status int, reason, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failures == nil {
		s.failures = map[string][]failure{}
	}
	s.failures[api] = append(s.failures[api], failure{status: status, reason: reason, retryAfter: retryAfter})
}

// FailAt is FailNext for the request after the next skip ones, so a test
// can fail the write that follows a read.
func (s *Server) FailAt(api string, skip, status int, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failures == nil {
		s.failures = map[string][]failure{}
	}
	s.failures[api] = append(s.failures[api], failure{status: status, reason: reason, skip: skip})
}

// ClearFailures drops the failures FailNext and FailAt queued that no
// request has met yet: throttling is transient, and a test that armed it for
// a session that never reached it ends it before its clean session.
func (s *Server) ClearFailures() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = nil
}

func (s *Server) fail(w http.ResponseWriter, api string, f failure) {
	if f.retryAfter != "" {
		w.Header().Set("Retry-After", f.retryAfter)
	}
	msg := http.StatusText(f.status)
	if api == "people" {
		status := map[int]string{429: "RESOURCE_EXHAUSTED", 403: "PERMISSION_DENIED", 500: "INTERNAL", 503: "UNAVAILABLE"}[f.status]
		rpcError(w, f.status, status, f.reason, msg)
		return
	}
	legacyError(w, f.status, f.reason, msg)
}

func (s *Server) next() int64 { s.seq++; return s.seq }

func (s *Server) now() time.Time { return s.opts.Now().UTC() }

func randomID(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// rpcError writes the error envelope of gRPC-transcoded APIs (People): code,
// message, status and, with a reason, a google.rpc.ErrorInfo detail.
func rpcError(w http.ResponseWriter, code int, status, reason, msg string) {
	e := map[string]any{"code": code, "message": msg, "status": status}
	if reason != "" {
		e["details"] = []map[string]any{{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason, "domain": "people.googleapis.com"}}
	}
	writeJSON(w, code, map[string]any{"error": e})
}

// legacyError writes the error envelope of Calendar and Tasks: errors[] with
// domain and reason beside code and message.
func legacyError(w http.ResponseWriter, code int, reason, msg string) {
	domain := "global"
	if strings.Contains(reason, "RateLimit") || reason == "rateLimitExceeded" || reason == "quotaExceeded" {
		domain = "usageLimits"
	}
	writeJSON(w, code, map[string]any{"error": map[string]any{
		"errors": []map[string]any{{"domain": domain, "reason": reason, "message": msg}},
		"code":   code, "message": msg,
	}})
}

// token is the OAuth token endpoint: refresh_token grants and service
// accounts' JWT bearer grants (domain-wide delegation).
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests["token"]++
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "malformed form body"})
		return
	}
	if r.PostForm.Get("grant_type") == jwtBearer {
		s.jwtGrant(w, r)
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if len(s.opts.Clients) > 0 && (s.opts.Clients[id] == "" || s.opts.Clients[id] != secret) {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client", "error_description": "The OAuth client was not found."})
		return
	}
	if r.PostForm.Get("grant_type") == "authorization_code" {
		s.codeGrant(w, r, id)
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "refresh_token" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type", "error_description": fmt.Sprintf("Invalid grant_type: %s", gt)})
		return
	}
	key := s.refresh[r.PostForm.Get("refresh_token")]
	if key == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "Token has been expired or revoked."})
		return
	}
	access := randomID("ya29.")
	s.tokens[access] = key
	writeJSON(w, http.StatusOK, map[string]any{"access_token": access, "expires_in": 3599, "token_type": "Bearer",
		"scope": "https://www.googleapis.com/auth/contacts https://www.googleapis.com/auth/calendar.events https://www.googleapis.com/auth/tasks"})
}

// RevokeRefresh forgets a refresh token, as when the user removes the app's access.
func (s *Server) RevokeRefresh(refresh string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.refresh, refresh)
}

// pageState is a listing in progress: the snapshot the first page took, so
// later pages neither skip nor repeat items written meanwhile.
type pageState struct {
	api     string
	params  string
	items   []any
	syncTok string
}

// page hands out items[off:off+n] of a stored listing and the next page token.
func (s *Server) page(st *pageState, n int) (items []any, next string) {
	if len(st.items) <= n {
		return append([]any{}, st.items...), ""
	}
	items, rest := st.items[:n], st.items[n:]
	tok := randomID("p")
	s.pages[tok] = &pageState{api: st.api, params: st.params, items: rest, syncTok: st.syncTok}
	return items, tok
}
