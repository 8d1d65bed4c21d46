package dashboard

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/shared/funchost"
)

// fakeQueues answers fixed lengths, or fails every call when err is set.
type fakeQueues struct {
	lengths map[string]int
	err     error
}

func (f fakeQueues) Len(_ context.Context, q string) (int, error) {
	return f.lengths[q], f.err
}

// operatorHeader stands for whatever makes a caller an operator (the wiring
// checks a session or a function key); here a header.
const operatorHeader = "X-Test-Operator"

func newHandler(q QueueLengths) http.Handler {
	fns := []funchost.Function{
		{Name: "syncworker", Trigger: funchost.QueueTriggerOn("sync-sessions")},
		{Name: "scheduler", Trigger: funchost.TimerTriggerOn("0 * * * * *")},
		{Name: "dashboard", Trigger: funchost.HTTPTrigger("dashboard/{*path}", funchost.AuthAnonymous, "get")},
	}
	h := New(Deps{
		Info:      Info{Service: "crmsync", Version: "v1.2.3", Storage: "embedded", Demo: true},
		Queues:    q,
		Functions: func() []funchost.Function { return fns },
		App: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusTeapot)
			w.Write([]byte("app"))
		}),
		Operator: func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get(operatorHeader) == "" {
					Refuse(w, r)
					return
				}
				next.ServeHTTP(w, r)
			})
		},
		Log: slog.New(slog.DiscardHandler),
	})
	mux := http.NewServeMux()
	mux.Handle("/api/dashboard/{path...}", h)
	mux.Handle("/api/dashboard", h)
	return mux
}

func get(h http.Handler, target string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.Header.Set(operatorHeader, "yes")
	h.ServeHTTP(rec, req)
	return rec
}

// TestStatusPageNeedsAnOperator: without the operator's say-so the status
// page answers 401 with a page naming who may see it, and shows nothing of
// the service; a handler without an Operator guard shows it to nobody.
func TestStatusPageNeedsAnOperator(t *testing.T) {
	for name, h := range map[string]http.Handler{
		"guarded":  newHandler(fakeQueues{lengths: map[string]int{"sync-sessions": 3}}),
		"no guard": New(Deps{Functions: func() []funchost.Function { return nil }, Log: slog.New(slog.DiscardHandler)}),
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/api/dashboard/status", nil)
		req.SetPathValue("path", "status")
		h.ServeHTTP(rec, req)
		body := rec.Body.String()
		if rec.Code != http.StatusUnauthorized || !strings.Contains(body, "Operators only") || strings.Contains(body, "sync-sessions") || strings.Contains(body, "v1.2.3") {
			t.Errorf("%s: anonymous status page: %d\n%s", name, rec.Code, body)
		}
	}
}

func TestStatusPage(t *testing.T) {
	h := newHandler(fakeQueues{lengths: map[string]int{"sync-sessions": 3, "sync-sessions-poison": 1}})
	rec := get(h, "/api/dashboard/status")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, want 200", rec.Code)
	}
	body := rec.Body.String()
	for _, want := range []string{"crmsync", "v1.2.3", "storage: embedded", "demo instance",
		"syncworker", "queue sync-sessions", "schedule 0 * * * * * (UTC)", "GET /api/dashboard/{*path} (anonymous)",
		"<code>sync-sessions</code></td><td>3", "<code>sync-sessions-poison</code></td><td>1"} {
		if !strings.Contains(body, want) {
			t.Errorf("status page lacks %q", want)
		}
	}
	// The one <link> is the empty inline icon (no favicon.ico request).
	inlineIcon := `<link rel="icon" href="data:,">`
	if !strings.Contains(body, inlineIcon) {
		t.Error("status page declares no icon: browsers then ask for /favicon.ico")
	}
	for _, asset := range []string{"<script src", "<link", "http://", "https://"} {
		if strings.Contains(strings.Replace(body, inlineIcon, "", 1), asset) {
			t.Errorf("status page loads an external asset (%q)", asset)
		}
	}
}

func TestRoutes(t *testing.T) {
	healthy := newHandler(fakeQueues{})
	broken := newHandler(fakeQueues{err: errors.New("dial tcp: refused")})
	tests := []struct {
		name       string
		h          http.Handler
		target     string
		wantStatus int
		wantBody   string
	}{
		{"other paths go to the self-service dashboard", healthy, "/api/dashboard/overview", http.StatusTeapot, "app"},
		{"health ok", healthy, "/api/dashboard/healthz", http.StatusOK, `"status":"ok"`},
		{"health fails without detail", broken, "/api/dashboard/healthz", http.StatusServiceUnavailable, "storage unreachable"},
		{"status page survives storage failure", broken, "/api/dashboard/status", http.StatusOK, "unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(tt.h, tt.target)
			if rec.Code != tt.wantStatus {
				t.Errorf("status %d, want %d", rec.Code, tt.wantStatus)
			}
			if !strings.Contains(rec.Body.String(), tt.wantBody) {
				t.Errorf("body %q lacks %q", rec.Body, tt.wantBody)
			}
			if strings.Contains(rec.Body.String(), "refused") {
				t.Errorf("body leaks the storage error: %q", rec.Body)
			}
		})
	}
}
