package connection_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/keyring"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// env is one test's world: an embedded table store, a file key ring, a
// connection store, and everything the store logged.
type env struct {
	dir    string
	tables *tablestore.Embedded
	ring   *keyring.FileRing
	store  *connection.Store
	logs   *syncBuffer
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newEnv(t testing.TB, opts connection.Options) *env {
	t.Helper()
	dir := t.TempDir()
	tables, err := tablestore.OpenEmbedded(filepath.Join(dir, "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tables.Close() })
	ring, err := keyring.OpenFileRing(filepath.Join(dir, "keys", "ring.json"))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{dir: dir, tables: tables, ring: ring, logs: &syncBuffer{}}
	// Plain JSON, no redaction: the store itself must not log secrets.
	opts.Logger = slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.store = connection.NewStore(tables, ring, opts)
	return e
}

// another returns a second store over the same tables and keys, as another
// process would have: its own locks and caches.
func (e *env) another(t testing.TB) *connection.Store {
	t.Helper()
	ring, err := keyring.OpenFileRing(e.ring.Path())
	if err != nil {
		t.Fatal(err)
	}
	return connection.NewStore(e.tables, ring, connection.Options{Logger: slog.New(slog.NewJSONHandler(e.logs, nil))})
}

func (e *env) entity(t testing.TB, user string, p connection.Provider) tablestore.Entity {
	t.Helper()
	ent, err := e.tables.Get(context.Background(), connection.Table, user, string(p))
	if err != nil {
		t.Fatal(err)
	}
	return ent
}

// secret makes a token-like value that cannot appear anywhere by chance.
func secret(kind string) string {
	b := make([]byte, 12)
	rand.Read(b)
	return kind + "-SECRET-" + hex.EncodeToString(b)
}

// tokenServer is an OAuth token endpoint: refresh_token and password grants,
// optional refresh-token rotation (the old token dies on use, as in
// Salesforce), Salesforce-style responses without expires_in.
type tokenServer struct {
	*httptest.Server
	salesforce bool

	mu        sync.Mutex
	rotate    bool
	valid     map[string]bool
	passwords map[string]string
	blockPwd  bool
	requests  int
	received  []string
	issued    []string
	failWith  int
}

func newTokenServer(t testing.TB, salesforce, rotate bool, refreshTokens ...string) *tokenServer {
	ts := &tokenServer{salesforce: salesforce, rotate: rotate, valid: map[string]bool{}, passwords: map[string]string{}}
	for _, rt := range refreshTokens {
		ts.valid[rt] = true
	}
	ts.Server = httptest.NewServer(http.HandlerFunc(ts.serve))
	t.Cleanup(ts.Close)
	return ts
}

func (s *tokenServer) config() *oauth2.Config {
	return &oauth2.Config{
		ClientID:     "client-id",
		ClientSecret: "client-secret-value",
		Endpoint:     oauth2.Endpoint{TokenURL: s.URL + "/services/oauth2/token", AuthStyle: oauth2.AuthStyleInParams},
	}
}

func (s *tokenServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	if err := r.ParseForm(); err != nil || r.Method != http.MethodPost {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	fail := func(status int, code, desc string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
	}
	if s.failWith != 0 {
		fail(s.failWith, "server_error", "try later")
		return
	}
	resp := map[string]any{"token_type": "Bearer"}
	switch r.PostForm.Get("grant_type") {
	case "refresh_token":
		rt := r.PostForm.Get("refresh_token")
		s.received = append(s.received, rt)
		if !s.valid[rt] {
			fail(http.StatusBadRequest, "invalid_grant", "expired access/refresh token")
			return
		}
		if s.rotate {
			delete(s.valid, rt)
			next := secret("RT")
			s.valid[next] = true
			resp["refresh_token"] = next
		}
	case "password":
		if s.blockPwd {
			fail(http.StatusBadRequest, "unsupported_grant_type", "grant type not supported")
			return
		}
		if pw, ok := s.passwords[r.PostForm.Get("username")]; !ok || pw != r.PostForm.Get("password") {
			fail(http.StatusBadRequest, "invalid_grant", "authentication failure")
			return
		}
	default:
		fail(http.StatusBadRequest, "unsupported_grant_type", "")
		return
	}
	at := secret("AT")
	s.issued = append(s.issued, at)
	resp["access_token"] = at
	if s.salesforce {
		resp["instance_url"] = "https://acme.my.salesforce.com"
		resp["id"] = "https://login.salesforce.com/id/00D000000000001AAA/005000000000001AAA"
		resp["issued_at"] = strconv.FormatInt(time.Now().UnixMilli(), 10)
		resp["signature"] = "c2lnbmF0dXJl"
	} else {
		resp["expires_in"] = 3600
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(resp)
}

func (s *tokenServer) revoke(rt string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.valid, rt)
}

func (s *tokenServer) isValid(rt string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.valid[rt]
}

func (s *tokenServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

func (s *tokenServer) sawRefreshToken(rt string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.received {
		if r == rt {
			return true
		}
	}
	return false
}

func (s *tokenServer) allIssued() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.issued...)
}

func (s *tokenServer) allValid() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for rt := range s.valid {
		out = append(out, rt)
	}
	return out
}

func sfConn(user string) connection.Connection {
	return connection.Connection{
		User: user, Provider: connection.Salesforce, Tenant: "00D000000000001AAA",
		InstanceURL: "https://acme.my.salesforce.com", Flow: connection.FlowAuthCode,
		Scopes: []string{"api", "refresh_token"},
	}
}

func msConn(user string) connection.Connection {
	return connection.Connection{
		User: user, Provider: connection.Microsoft, Tenant: "7f1c6a7e-0000-4000-8000-000000000001",
		Flow: connection.FlowAuthCode, Scopes: []string{"offline_access", "Mail.ReadWrite"},
	}
}

func mustSave(t testing.TB, s *connection.Store, c connection.Connection, cred connection.Credentials) {
	t.Helper()
	if _, err := s.Save(context.Background(), c, cred); err != nil {
		t.Fatalf("Save(%s, %s): %v", c.User, c.Provider, err)
	}
}

func mustOpen(t testing.TB, s *connection.Store, user string, p connection.Provider) connection.Credentials {
	t.Helper()
	cred, err := s.Credentials(context.Background(), user, p)
	if err != nil {
		t.Fatalf("Credentials(%s, %s): %v", user, p, err)
	}
	return cred
}

func mustGet(t testing.TB, s *connection.Store, user string, p connection.Provider) connection.Connection {
	t.Helper()
	c, err := s.Get(context.Background(), user, p)
	if err != nil {
		t.Fatalf("Get(%s, %s): %v", user, p, err)
	}
	return c
}
