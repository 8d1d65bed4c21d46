package host

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/funchost"
	"github.com/crmsync/crmsync/shared/redact"
)

// syncBuffer collects log output from several goroutines.
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

// eventually waits (bounded) for cond; it asserts an outcome, not a duration.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

const testHostJSON = `{
  "version": "2.0",
  "customHandler": {"description": {"defaultExecutablePath": "handler"}, "enableForwardingHttpRequest": true},
  "extensions": {"queues": {"batchSize": 4, "maxDequeueCount": 5, "visibilityTimeout": "00:00:00", "maxPollingInterval": "00:00:00.050"}}
}`

// testFunctions are the handler side of the test app; seen records queue attempts.
type seen struct {
	mu       sync.Mutex
	attempts []funchost.QueueTrigger
	ticks    []funchost.TimerTrigger
}

func (s *seen) snapshot() ([]funchost.QueueTrigger, []funchost.TimerTrigger) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]funchost.QueueTrigger(nil), s.attempts...), append([]funchost.TimerTrigger(nil), s.ticks...)
}

func testApp(t *testing.T, s *seen) (*App, []funchost.Function) {
	fns := []funchost.Function{
		{Name: "echo", Trigger: funchost.HTTPTrigger("echo/{id}", funchost.AuthAnonymous, "get", "post"),
			HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				w.Header().Set("X-Forwarded-Seen", r.Header.Get("X-Forwarded-For"))
				w.WriteHeader(http.StatusCreated)
				io.WriteString(w, "id="+r.PathValue("id")+" x="+r.URL.Query().Get("x")+" body="+string(body))
			})},
		{Name: "secret", Trigger: funchost.HTTPTrigger("secret", funchost.AuthFunction), HTTP: okHandler()},
		{Name: "adminonly", Trigger: funchost.HTTPTrigger("adminonly", funchost.AuthAdmin), HTTP: okHandler()},
		{Name: "withqueue", Trigger: funchost.HTTPTrigger("withqueue/{id}", funchost.AuthAnonymous, "post"),
			Outputs: []funchost.Output{{Binding: "out", QueueName: "out-q"}},
			HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				w.Header().Set("X-Forwarded-Seen", r.Header.Get("X-Forwarded-For"))
				if err := funchost.AddOutput(r.Context(), "out", `{"id":"`+r.PathValue("id")+`"}`); err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
				w.WriteHeader(http.StatusAccepted)
				io.WriteString(w, "queued "+r.PathValue("id")+" "+string(body))
			})},
		{Name: "worker", Trigger: funchost.QueueTriggerOn("work"), Outputs: []funchost.Output{{Binding: "out", QueueName: "out-q"}},
			Queue: func(ctx context.Context, m funchost.QueueTrigger) (funchost.Outputs, error) {
				s.mu.Lock()
				s.attempts = append(s.attempts, m)
				s.mu.Unlock()
				if strings.Contains(string(m.Body), "leaky") {
					return nil, errors.New(leakyError)
				}
				if strings.Contains(string(m.Body), "fail") {
					return nil, errors.New("this message always fails")
				}
				return funchost.Outputs{"out": {"test", `{"ok":1}`}}, nil
			}},
		{Name: "tick", Trigger: funchost.TimerTriggerOn("* * * * * *"),
			Timer: func(ctx context.Context, tt funchost.TimerTrigger) (funchost.Outputs, error) {
				s.mu.Lock()
				s.ticks = append(s.ticks, tt)
				s.mu.Unlock()
				return nil, nil
			}},
	}
	return writeApp(t, testHostJSON, fns), fns
}

// writeApp stages a function app for fns (host.json plus one function.json
// each) in a temporary folder and loads it.
func writeApp(t *testing.T, hostJSON string, fns []funchost.Function) *App {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "host.json"), hostJSON)
	for _, f := range fns {
		b, err := jsonIndent(f.Config())
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, f.Name, "function.json"), b)
	}
	app, err := LoadApp(dir)
	if err != nil {
		t.Fatalf("LoadApp: %v", err)
	}
	return app
}

func okHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
}

// inProcess is a Handler served by an httptest server in the test process.
type inProcess struct{ srv *httptest.Server }

func (p inProcess) Start(context.Context) error { return nil }
func (p inProcess) URL() string                 { return p.srv.URL }

type harness struct {
	host  *Host
	queue *memQueue
	seen  *seen
	logs  *syncBuffer
	keys  Keys
}

func startHost(t *testing.T) *harness {
	t.Helper()
	s := &seen{}
	app, fns := testApp(t, s)
	logs := &syncBuffer{}
	q := newMemQueue()
	keys := Keys{Function: "fkey", Admin: "akey"}
	h, _ := runHost(t, app, fns, Config{Queue: q, Keys: keys, Log: slog.New(slog.NewTextHandler(logs, nil)), MaxRequestBytes: 1024})
	return &harness{host: h, queue: q, seen: s, logs: logs, keys: keys}
}

// runHost starts a host for app whose handler is fns served in this process;
// cfg supplies the queue, log and anything else. The returned stop closes the
// host (once; cleanup calls it too).
func runHost(t *testing.T, app *App, fns []funchost.Function, cfg Config) (*Host, func()) {
	t.Helper()
	srv, err := funchost.NewServer(fns, cfg.Log, funchost.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.App, cfg.Handler, cfg.Listener = app, inProcess{ts}, ln
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() { once.Do(func() { h.Close() }) }
	t.Cleanup(stop)
	return h, stop
}

func TestHTTPTriggers(t *testing.T) {
	hs := startHost(t)
	base := strings.TrimSuffix(hs.host.URL(), "/")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	tests := []struct {
		name, method, path, body string
		header                   map[string]string
		wantStatus               int
		wantBody                 string
		wantForwarded            bool
	}{
		{name: "forwarded raw", method: "POST", path: "/api/echo/5?x=1", body: "hi", wantStatus: 201, wantBody: "id=5 x=1 body=hi", wantForwarded: true},
		{name: "payload mode for extra bindings", method: "POST", path: "/api/withqueue/7", body: "hello", wantStatus: 202, wantBody: "queued 7 hello"},
		{name: "method not allowed", method: "DELETE", path: "/api/echo/5", wantStatus: 405, wantBody: "does not take DELETE"},
		{name: "function key missing", method: "GET", path: "/api/secret", wantStatus: 401, wantBody: "needs a function key"},
		{name: "function key wrong", method: "GET", path: "/api/secret?code=nope", wantStatus: 401},
		{name: "function key in query", method: "GET", path: "/api/secret?code=fkey", wantStatus: 200, wantBody: "ok"},
		{name: "admin key opens function level", method: "GET", path: "/api/secret", header: map[string]string{"x-functions-key": "akey"}, wantStatus: 200},
		{name: "function key does not open admin", method: "GET", path: "/api/adminonly", header: map[string]string{"x-functions-key": "fkey"}, wantStatus: 401},
		{name: "admin key opens admin", method: "GET", path: "/api/adminonly?code=akey", wantStatus: 200},
		{name: "oversize body", method: "POST", path: "/api/echo/1", body: strings.Repeat("x", 2000), wantStatus: 413, wantBody: "limit"},
		{name: "unknown route", method: "GET", path: "/api/nothing", wantStatus: 404, wantBody: "no function"},
		{name: "root redirects to dashboard", method: "GET", path: "/", wantStatus: 302},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, base+tt.path, strings.NewReader(tt.body))
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status %d, want %d; body %s", resp.StatusCode, tt.wantStatus, body)
			}
			if !strings.Contains(string(body), tt.wantBody) {
				t.Errorf("body %q lacks %q", body, tt.wantBody)
			}
			if tt.wantStatus < 300 {
				if forwarded := resp.Header.Get("X-Forwarded-Seen") != ""; forwarded != tt.wantForwarded {
					t.Errorf("forwarded = %v, want %v", forwarded, tt.wantForwarded)
				}
			}
			if tt.path == "/" && resp.Header.Get("Location") != "/api/dashboard/" {
				t.Errorf("Location %q, want /api/dashboard/", resp.Header.Get("Location"))
			}
		})
	}
	// The payload-mode function's queue output arrived, undamaged.
	if got := hs.queue.bodies("out-q"); len(got) != 1 || got[0] != `{"id":"7"}` {
		t.Errorf("out-q holds %q, want the payload-mode function's one output", got)
	}
}

func TestQueueTriggerSuccessAndOutputs(t *testing.T) {
	hs := startHost(t)
	ctx := context.Background()
	if err := hs.queue.Enqueue(ctx, "work", []byte(`{"job":"ok"}`), 0); err != nil {
		t.Fatal(err)
	}
	eventually(t, "message processed and deleted", func() bool {
		n, _ := hs.queue.Len(ctx, "work")
		return n == 0 && len(hs.queue.bodies("out-q")) == 2
	})
	// "test" is valid base64: the handler protects it and the host restores it.
	got := hs.queue.bodies("out-q")
	if strings.Join(got, "|") != `test|{"ok":1}` {
		t.Errorf("output messages %q, want [test {\"ok\":1}]", got)
	}
	attempts, _ := hs.seen.snapshot()
	if len(attempts) != 1 || attempts[0].DequeueCount != 1 || attempts[0].ID == "" || attempts[0].PopReceipt == "" {
		t.Errorf("attempts %+v, want one with DequeueCount 1, Id and PopReceipt", attempts)
	}
}

func TestQueueTriggerPoison(t *testing.T) {
	hs := startHost(t)
	ctx := context.Background()
	if err := hs.queue.Enqueue(ctx, "work", []byte(`{"job":"fail"}`), 0); err != nil {
		t.Fatal(err)
	}
	eventually(t, "message in work-poison", func() bool { return len(hs.queue.bodies("work-poison")) == 1 })
	if n, _ := hs.queue.Len(ctx, "work"); n != 0 {
		t.Errorf("work still holds %d messages", n)
	}
	if got := hs.queue.bodies("work-poison")[0]; got != `{"job":"fail"}` {
		t.Errorf("poison message %q, want the original body", got)
	}
	attempts, _ := hs.seen.snapshot()
	if len(attempts) != 5 {
		t.Fatalf("%d attempts, want 5", len(attempts))
	}
	for i, a := range attempts {
		if a.DequeueCount != i+1 {
			t.Errorf("attempt %d had DequeueCount %d", i+1, a.DequeueCount)
		}
	}
	logs := hs.logs.String()
	if !strings.Contains(logs, "message moved to poison queue") || !strings.Contains(logs, "this message always fails") {
		t.Errorf("log lacks the poison move and its reason:\n%s", logs)
	}
}

// leakyError is a handler failure carrying a credential (as a careless error
// wrapping an HTTP exchange might) next to an ordinary network error.
const leakyError = "graph refused Bearer " + leakedToken + " (401); queue credentials: dial tcp 127.0.0.1:1: connect: connection refused"

const leakedToken = "Zq9xLEAKEDq7LmQ2vR8sT4uW"

// TestHostLogLinesAreRedacted: the host's own lines about a failed invocation
// carry the handler's error; they pass through the same redaction as the
// handler's log, which masks the token and keeps the network error readable.
func TestHostLogLinesAreRedacted(t *testing.T) {
	hs := startHost(t)
	if err := hs.queue.Enqueue(context.Background(), "work", []byte(`{"job":"fail leaky"}`), 0); err != nil {
		t.Fatal(err)
	}
	eventually(t, "message in work-poison", func() bool { return len(hs.queue.bodies("work-poison")) == 1 })
	var hostLines []string
	for _, line := range strings.Split(hs.logs.String(), "\n") {
		if strings.Contains(line, `msg="queue invocation failed; will retry"`) || strings.Contains(line, `msg="message moved to poison queue"`) {
			hostLines = append(hostLines, line)
		}
	}
	if len(hostLines) < 2 {
		t.Fatalf("host logged no failure lines:\n%s", hs.logs.String())
	}
	for _, line := range hostLines {
		if strings.Contains(line, leakedToken) {
			t.Errorf("host line holds the token: %s", line)
		}
		if !strings.Contains(line, "Bearer "+redact.Mask) || !strings.Contains(line, "credentials: dial tcp 127.0.0.1:1: connect: connection refused") {
			t.Errorf("host line lacks the masked token or the readable network error: %s", line)
		}
	}
}

func TestTimerTrigger(t *testing.T) {
	hs := startHost(t)
	eventually(t, "two timer ticks", func() bool {
		_, ticks := hs.seen.snapshot()
		return len(ticks) >= 2
	})
	_, ticks := hs.seen.snapshot()
	if ticks[0].ScheduleStatus != nil {
		t.Errorf("first tick ScheduleStatus = %+v, want null", ticks[0].ScheduleStatus)
	}
	if st := ticks[1].ScheduleStatus; st == nil || st.Last.IsZero() || !st.Next.After(st.Last) {
		t.Errorf("second tick ScheduleStatus = %+v, want Last and a later Next", st)
	}
}
