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
		Log: slog.New(slog.DiscardHandler),
	})
	mux := http.NewServeMux()
	mux.Handle("/api/dashboard/{path...}", h)
	mux.Handle("/api/dashboard", h)
	return mux
}

func get(h http.Handler, target string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec
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
	for _, asset := range []string{"<script src", "<link", "http://", "https://"} {
		if strings.Contains(body, asset) {
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
