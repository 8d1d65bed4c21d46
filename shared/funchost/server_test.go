package funchost

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testFunctions is a routes table exercising every kind; got records what the
// functions were called with.
type captured struct {
	queue QueueTrigger
	timer TimerTrigger
}

func testFunctions(got *captured) []Function {
	return []Function{
		{Name: "syncworker", Trigger: QueueTriggerOn("sync-sessions"),
			Outputs: []Output{{Binding: "out", QueueName: "followups"}},
			Queue: func(ctx context.Context, m QueueTrigger) (Outputs, error) {
				got.queue = m
				return Outputs{"out": {`{"next":1}`, "test"}}, nil
			}},
		{Name: "failing", Trigger: QueueTriggerOn("failing"), Queue: func(context.Context, QueueTrigger) (Outputs, error) {
			return nil, errors.New("engine not ready")
		}},
		{Name: "panicky", Trigger: QueueTriggerOn("panicky"), Queue: func(context.Context, QueueTrigger) (Outputs, error) {
			panic("boom")
		}},
		{Name: "scheduler", Trigger: TimerTriggerOn("0 * * * * *"), Timer: func(ctx context.Context, t TimerTrigger) (Outputs, error) {
			got.timer = t
			return nil, nil
		}},
		{Name: "echo", Trigger: HTTPTrigger("echo/{id}", AuthAnonymous, "get", "post", "put"), HTTP: http.HandlerFunc(echo)},
		{Name: "boom", Trigger: HTTPTrigger("boom", AuthAnonymous), HTTP: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
			panic("boom")
		})},
		{Name: "dashboard", Trigger: HTTPTrigger("dashboard/{*path}", AuthAnonymous), HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "path=%q", r.PathValue("path"))
		})},
	}
}

// echo reports what it received, so tests can see the rebuilt request.
func echo(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Echo", "yes")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]string{
		"method": r.Method, "id": r.PathValue("id"), "x": r.URL.Query().Get("x"),
		"multi": strings.Join(r.Header.Values("X-Multi"), ","), "body": hex.EncodeToString(body),
	})
}

func newTestServer(t testing.TB, got *captured) *Server {
	t.Helper()
	s, err := NewServer(testFunctions(got), slog.New(slog.DiscardHandler), Options{MaxBodyBytes: 4096})
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	return s
}

func post(t testing.TB, h http.Handler, path string, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(InvocationIDHeader, "inv-1")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestQueueInvocations(t *testing.T) {
	tests := []struct {
		fixture string
		want    QueueTrigger
	}{
		{"queue_quoted.json", QueueTrigger{Body: []byte(`{"userId":"u-1"}`), ID: "9b0c2c4e-1111-4b6f-9a55-0a1b2c3d4e5f", PopReceipt: "AgAAAAMAAAAAAAAA", DequeueCount: 3,
			InsertionTime: mustTime("2026-05-01T10:00:00Z"), ExpirationTime: mustTime("2026-05-08T10:00:00Z"), NextVisibleTime: mustTime("2026-05-01T10:10:00Z"), InvocationID: "inv-1"}},
		{"queue_clean.json", QueueTrigger{Body: []byte(`{"userId":"u-1"}`), ID: "9b0c2c4e-1111-4b6f-9a55-0a1b2c3d4e5f", PopReceipt: "AgAAAAMAAAAAAAAA", DequeueCount: 1,
			InsertionTime: mustTime("2026-05-01T10:00:00Z"), ExpirationTime: mustTime("2026-05-08T10:00:00Z"), NextVisibleTime: mustTime("2026-05-01T10:10:00Z"), InvocationID: "inv-1"}},
		{"queue_double_quoted_body.json", QueueTrigger{Body: []byte(`{"userId":"u-1"}`), ID: "abc", PopReceipt: "pr", DequeueCount: 2, InvocationID: "inv-1"}},
		{"queue_object_body.json", QueueTrigger{Body: []byte(`{"userId": "u-1"}`), ID: "abc", PopReceipt: "pr", DequeueCount: 1, InvocationID: "inv-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			var got captured
			rec := post(t, newTestServer(t, &got), "/syncworker", fixture(t, tt.fixture))
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d, want 200; body %s", rec.Code, rec.Body)
			}
			if diff := cmp.Diff(tt.want, got.queue); diff != "" {
				t.Errorf("decoded trigger mismatch (-want +got):\n%s", diff)
			}
			var res struct {
				Outputs map[string][]string
				Logs    []string
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
				t.Fatalf("response is not JSON: %v", err)
			}
			// "test" is valid base64: it must travel encoded so the host's decoding restores it.
			want := map[string][]string{"out": {`{"next":1}`, "dGVzdA=="}}
			if diff := cmp.Diff(want, res.Outputs); diff != "" {
				t.Errorf("outputs mismatch (-want +got):\n%s", diff)
			}
			if res.Logs == nil {
				t.Errorf("Logs is null, want an array")
			}
		})
	}
}

func TestTimerInvocations(t *testing.T) {
	tests := []struct {
		fixture string
		want    TimerTrigger
	}{
		{"timer_null_status.json", TimerTrigger{AdjustForDST: true, InvocationID: "inv-1"}},
		{"timer_as_string.json", TimerTrigger{AdjustForDST: true, InvocationID: "inv-1"}},
		{"timer_with_status.json", TimerTrigger{IsPastDue: true, InvocationID: "inv-1", ScheduleStatus: &ScheduleStatus{
			Last: mustTime("2026-05-01T09:59:00.0034Z"), Next: mustTime("2026-05-01T10:01:00Z"), LastUpdated: mustTime("2026-05-01T10:00:00Z")}}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			var got captured
			rec := post(t, newTestServer(t, &got), "/scheduler", fixture(t, tt.fixture))
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d, want 200; body %s", rec.Code, rec.Body)
			}
			if diff := cmp.Diff(tt.want, got.timer); diff != "" {
				t.Errorf("decoded timer mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHTTPPayloadInvocations(t *testing.T) {
	tests := []struct {
		fixture  string
		function string
		want     map[string]string
	}{
		{"http_query_string.json", "echo", map[string]string{"method": "POST", "id": "42", "x": "1", "multi": "a,b", "body": hex.EncodeToString([]byte(`{"hello":"world"}`))}},
		{"http_query_object.json", "echo", map[string]string{"method": "GET", "id": "42", "x": "1", "multi": "", "body": ""}},
		{"http_base64_body.json", "echo", map[string]string{"method": "PUT", "id": "7", "x": "", "multi": "", "body": "000102ff"}},
		{"http_other_prefix.json", "echo", map[string]string{"method": "GET", "id": "9", "x": "", "multi": "", "body": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			rec := post(t, newTestServer(t, &captured{}), "/"+tt.function, fixture(t, tt.fixture))
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d, want 200; body %s", rec.Code, rec.Body)
			}
			var res struct {
				Outputs struct {
					Res map[string]json.RawMessage `json:"res"`
				}
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
				t.Fatalf("response is not JSON: %v", err)
			}
			for _, field := range []string{"statusCode", "status", "body", "headers"} {
				if _, ok := res.Outputs.Res[field]; !ok {
					t.Errorf("Outputs.res lacks %q (the host requires all four)", field)
				}
			}
			var out httpResponseData
			b, _ := json.Marshal(res.Outputs.Res)
			json.Unmarshal(b, &out)
			if out.StatusCode != http.StatusCreated || out.Status != http.StatusCreated {
				t.Errorf("statusCode, status = %d, %d; want 201", out.StatusCode, out.Status)
			}
			if got := out.Headers["X-Echo"]; got != "yes" {
				t.Errorf("header X-Echo = %q, want yes", got)
			}
			var got map[string]string
			if err := json.Unmarshal([]byte(out.Body), &got); err != nil {
				t.Fatalf("body %q is not JSON: %v", out.Body, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("request seen by the handler (-want +got):\n%s", diff)
			}
		})
	}
}

func TestForwardedHTTP(t *testing.T) {
	s := newTestServer(t, &captured{})
	tests := []struct {
		name, method, target, body string
		wantStatus                 int
		wantBody                   string
	}{
		{"route with parameter", "POST", "/api/echo/5?x=2", "hi", 201, `"id":"5"`},
		{"catch-all with path", "GET", "/api/dashboard/healthz", "", 200, `path="healthz"`},
		{"catch-all bare", "GET", "/api/dashboard", "", 200, `path=""`},
		{"catch-all slash", "GET", "/api/dashboard/", "", 200, `path=""`},
		{"unknown route", "GET", "/api/nothing", "", 404, "no function or route"},
		{"readiness probe", "GET", "/", "", 200, "ready"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body)))
			if rec.Code != tt.wantStatus {
				t.Errorf("status %d, want %d", rec.Code, tt.wantStatus)
			}
			if !strings.Contains(rec.Body.String(), tt.wantBody) {
				t.Errorf("body %q lacks %q", rec.Body, tt.wantBody)
			}
		})
	}
}

func TestBadInvocations(t *testing.T) {
	s := newTestServer(t, &captured{})
	tests := []struct {
		name, path string
		body       []byte
		wantStatus int
		wantError  string
	}{
		{"malformed JSON", "/syncworker", []byte(`{"Data": `), 400, "malformed invocation JSON"},
		{"no Data", "/syncworker", []byte(`{"Metadata": {}}`), 400, "no Data"},
		{"missing message", "/syncworker", []byte(`{"Data": {}}`), 400, "Data.msg: missing"},
		{"bad dequeue count", "/syncworker", []byte(`{"Data": {"msg": "x"}, "Metadata": {"DequeueCount": "many"}}`), 400, "Metadata.DequeueCount"},
		{"bad time", "/syncworker", []byte(`{"Data": {"msg": "x"}, "Metadata": {"InsertionTime": "yesterday"}}`), 400, "Metadata.InsertionTime"},
		{"timer not an object", "/scheduler", []byte(`{"Data": {"timer": 5}}`), 400, "Data.timer"},
		{"http without url", "/echo", []byte(`{"Data": {"req": {"Method": "GET"}}}`), 400, "Data.req.Url"},
		{"http bad query", "/echo", []byte(`{"Data": {"req": {"Method": "GET", "Url": "http://x/api/echo/1", "Query": "[1"}}}`), 400, "Data.req.Query"},
		{"http binary body not base64", "/echo", []byte(`{"Data": {"req": {"Method": "PUT", "Url": "http://x/api/echo/1", "Headers": {"Content-Type": ["application/octet-stream"]}, "Body": "%%%"}}}`), 400, "not base64"},
		{"unknown function", "/nosuch", []byte(`{"Data": {}}`), 404, `unknown function \"nosuch\"`},
		{"oversize body", "/syncworker", bytes.Repeat([]byte("x"), 5000), 413, "limit"},
		{"function error", "/failing", fixture(t, "queue_quoted.json"), 500, "engine not ready"},
		{"function panic", "/panicky", fixture(t, "queue_quoted.json"), 500, "panicked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := post(t, s, tt.path, tt.body)
			if rec.Code != tt.wantStatus {
				t.Errorf("status %d, want %d; body %s", rec.Code, tt.wantStatus, rec.Body)
			}
			if !strings.Contains(rec.Body.String(), tt.wantError) {
				t.Errorf("body %q lacks %q", rec.Body, tt.wantError)
			}
		})
	}
}

func TestPanicIsContained(t *testing.T) {
	s := newTestServer(t, &captured{})
	for i := range 2 {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("GET", "/api/boom", nil))
		if rec.Code != http.StatusInternalServerError {
			t.Errorf("call %d: status %d, want 500", i, rec.Code)
		}
		if !strings.Contains(rec.Body.String(), "internal error") {
			t.Errorf("call %d: body %q", i, rec.Body)
		}
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("POST", "/api/echo/1", nil))
	if rec.Code != http.StatusCreated {
		t.Errorf("after panics, echo status %d, want 201", rec.Code)
	}
	if rec := post(t, s, "/panicky", fixture(t, "queue_quoted.json")); rec.Code != 500 {
		t.Errorf("queue panic status %d, want 500", rec.Code)
	}
	if rec := post(t, s, "/syncworker", fixture(t, "queue_quoted.json")); rec.Code != 200 {
		t.Errorf("after queue panic, status %d, want 200", rec.Code)
	}
}

func TestForwardedOversizeBody(t *testing.T) {
	s := newTestServer(t, &captured{})
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("POST", "/api/echo/1", bytes.NewReader(make([]byte, 5000))))
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d, want 413", rec.Code)
	}
}

func TestNewServerRejectsBadTables(t *testing.T) {
	h := http.NotFoundHandler()
	q := func(context.Context, QueueTrigger) (Outputs, error) { return nil, nil }
	tests := []struct {
		name string
		fns  []Function
		want string
	}{
		{"duplicate", []Function{{Name: "a", Trigger: HTTPTrigger("a", AuthAnonymous), HTTP: h}, {Name: "A", Trigger: HTTPTrigger("b", AuthAnonymous), HTTP: h}}, "twice"},
		{"wrong handler", []Function{{Name: "a", Trigger: QueueTriggerOn("q-a"), HTTP: h}}, "exactly one queue handler"},
		{"two handlers", []Function{{Name: "a", Trigger: QueueTriggerOn("q-a"), Queue: q, HTTP: h}}, "exactly one"},
		{"no kind", []Function{{Name: "a"}}, "no trigger kind"},
		{"bad route", []Function{{Name: "a", Trigger: HTTPTrigger("x/{*rest}/y", AuthAnonymous), HTTP: h}}, "must be last"},
		{"conflicting routes", []Function{{Name: "a", Trigger: HTTPTrigger("x/{id}", AuthAnonymous), HTTP: h}, {Name: "b", Trigger: HTTPTrigger("x/{key}", AuthAnonymous), HTTP: h}}, "conflicts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewServer(tt.fns, slog.New(slog.DiscardHandler), Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewServer error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestForwardedFixture replays a raw request as the host forwards it
// (enableForwardingHttpRequest): original path, headers and body.
func TestForwardedFixture(t *testing.T) {
	raw := fixture(t, "forwarded_post.http")
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	newTestServer(t, &captured{}).ServeHTTP(rec, req)
	if rec.Code != http.StatusCreated {
		t.Fatalf("status %d, want 201; body %s", rec.Code, rec.Body)
	}
	var got map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatalf("body %q: %v", rec.Body, err)
	}
	want := map[string]string{"method": "POST", "id": "12", "x": "3", "multi": "a,b", "body": hex.EncodeToString([]byte("hello"))}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("request seen by the handler (-want +got):\n%s", diff)
	}
}
