package host_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/host"
	"github.com/crmsync/crmsync/local/stage"
	"github.com/crmsync/crmsync/shared/queue"
	"github.com/crmsync/crmsync/shared/settings"
)

// The end-to-end tests run the real handler binary (built from functions/)
// under the local host, with embedded storage shared by both processes.

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

func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// e2eHostJSON is host.json with test timings: immediate retries, fast polling.
const e2eHostJSON = `{
  "version": "2.0",
  "functionTimeout": "00:01:00",
  "customHandler": {"description": {"defaultExecutablePath": "crmsync-handler"}, "enableForwardingHttpRequest": true},
  "extensions": {"http": {"routePrefix": "api"},
    "queues": {"batchSize": 16, "maxDequeueCount": 5, "visibilityTimeout": "00:00:00", "maxPollingInterval": "00:00:00.100"}}
}`

func TestMain(m *testing.M) {
	code := m.Run()
	if stagedDir != "" {
		os.RemoveAll(filepath.Dir(stagedDir))
	}
	os.Exit(code)
}

var (
	stageOnce sync.Once
	stagedDir string
	stageErr  error
)

// stagedApp builds the handler once per test binary and stages the app with
// the test host.json and a scheduler that fires every second.
func stagedApp(t testing.TB) string {
	t.Helper()
	stageOnce.Do(func() {
		dir, err := os.MkdirTemp("", "crmsync-e2e-app-")
		if err != nil {
			stageErr = err
			return
		}
		stagedDir = filepath.Join(dir, "app")
		_, stageErr = stage.Stage(context.Background(), stage.Options{Root: "../..", Out: stagedDir,
			GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, Stderr: os.Stderr})
		if stageErr != nil {
			return
		}
		if stageErr = os.WriteFile(filepath.Join(stagedDir, "host.json"), []byte(e2eHostJSON), 0o644); stageErr != nil {
			return
		}
		stageErr = os.WriteFile(filepath.Join(stagedDir, "scheduler", "function.json"),
			[]byte(`{"bindings":[{"name":"timer","type":"timerTrigger","direction":"in","schedule":"* * * * * *"}]}`), 0o644)
	})
	if stageErr != nil {
		t.Fatalf("staging the app: %v", stageErr)
	}
	return stagedDir
}

type e2e struct {
	t       testing.TB
	appDir  string
	dataDir string
	queue   *queue.Embedded
	logs    *syncBuffer
}

func newE2E(t testing.TB) *e2e {
	e := &e2e{t: t, appDir: stagedApp(t), dataDir: t.TempDir(), logs: &syncBuffer{}}
	q, err := queue.OpenEmbedded(settings.Settings{DataDir: e.dataDir}.QueuesPath())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	e.queue = q
	return e
}

// start runs a local host on a free port until the returned stop is called.
func (e *e2e) start() (*host.Host, *host.Process, func()) {
	e.t.Helper()
	app, err := host.LoadApp(e.appDir)
	if err != nil {
		e.t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(e.logs, nil))
	proc := &host.Process{Path: app.ExecutablePath(), Dir: app.WorkingDir(), Output: e.logs, Log: log,
		Env: []string{settings.NameStorage + "=embedded", settings.NameDataDir + "=" + e.dataDir, settings.NameFunctionKey + "=e2e-function-key"}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	h, err := host.New(host.Config{App: app, Handler: proc, Queue: e.queue, Listener: ln, Log: log,
		Keys: host.Keys{Function: "f", Admin: "a"}})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := h.Start(context.Background()); err != nil {
		e.t.Fatalf("host start: %v\n%s", err, e.logs)
	}
	var once sync.Once
	stop := func() { once.Do(func() { h.Close() }) }
	e.t.Cleanup(stop)
	return h, proc, stop
}

func (e *e2e) length(name string) int {
	n, err := e.queue.Len(context.Background(), name)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func get(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestEndToEnd(t *testing.T) {
	e := newE2E(t)
	h, _, stop := e.start()
	base := strings.TrimSuffix(h.URL(), "/")

	t.Run("http routes", func(t *testing.T) {
		if code, body := get(t, base+"/api/dashboard/healthz"); code != 200 || !strings.Contains(body, `"ok"`) {
			t.Errorf("healthz: %d %s", code, body)
		}
		if code, body := get(t, base+"/api/dashboard/status?code=e2e-function-key"); code != 200 || !strings.Contains(body, "sync-sessions-poison") {
			t.Errorf("status page: %d %.200s", code, body)
		}
		if code, body := get(t, base+"/"); code != 200 || !strings.Contains(body, "crmsync") {
			t.Errorf("dashboard via redirect: %d %.200s", code, body)
		}
		// The Graph webhook's validation handshake: echo the decoded token as text.
		resp, err := http.Post(base+"/api/notifications?validationToken=a%2Bb%20c", "text/plain", nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(b) != "a+b c" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
			t.Errorf("notifications handshake: %d %q %q, want 200 text/plain \"a+b c\"", resp.StatusCode, resp.Header.Get("Content-Type"), b)
		}
		// A notification for no known subscription starts nothing.
		resp, err = http.Post(base+"/api/notifications", "application/json", strings.NewReader(`{"value":[{"subscriptionId":"nope","clientState":"x"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("forged notification answered %d, want 403", resp.StatusCode)
		}
		if n := e.length("sync-sessions"); n != 0 {
			t.Errorf("a forged notification enqueued %d sessions, want none", n)
		}
	})

	t.Run("failing session lands in poison after 5 attempts", func(t *testing.T) {
		// A message of an old, unknown shape can never succeed.
		if err := e.queue.Enqueue(context.Background(), "sync-sessions", []byte(`{"userId":"u-1","reason":"test"}`), 0); err != nil {
			t.Fatal(err)
		}
		// MoveToPoison copies first, deletes second, then the host logs: wait for the log.
		eventually(t, "message moved to sync-sessions-poison", func() bool {
			return strings.Contains(e.logs.String(), "message moved to poison queue")
		})
		if n := e.length("sync-sessions-poison"); n != 1 {
			t.Errorf("sync-sessions-poison holds %d messages, want 1", n)
		}
		if n := e.length("sync-sessions"); n != 0 {
			t.Errorf("sync-sessions holds %d messages, want 0", n)
		}
		logs := e.logs.String()
		if got := strings.Count(logs, `"msg":"malformed session request"`); got != 5 {
			t.Errorf("handler saw %d attempts, want 5", got)
		}
		if !strings.Contains(logs, "message moved to poison queue") || !strings.Contains(logs, `unknown field \"userId\"`) {
			t.Errorf("log lacks the poison move with its reason:\n%s", logs)
		}
	})

	t.Run("timers fire", func(t *testing.T) {
		eventually(t, "two scheduler ticks", func() bool {
			return strings.Count(e.logs.String(), "scheduler tick") >= 2
		})
	})

	t.Run("restart loses no queued message", func(t *testing.T) {
		if err := e.queue.Enqueue(context.Background(), "sync-sessions", []byte(`{"userId":"u-2"}`), time.Hour); err != nil {
			t.Fatal(err)
		}
		stop()
		h2, _, _ := e.start()
		if n := e.length("sync-sessions"); n != 1 {
			t.Errorf("after restart sync-sessions holds %d messages, want 1", n)
		}
		if n := e.length("sync-sessions-poison"); n != 1 {
			t.Errorf("after restart sync-sessions-poison holds %d messages, want 1", n)
		}
		if code, _ := get(t, strings.TrimSuffix(h2.URL(), "/")+"/api/dashboard/healthz"); code != 200 {
			t.Errorf("healthz after restart: %d", code)
		}
	})
}

func TestHandlerRestartsAfterCrash(t *testing.T) {
	e := newE2E(t)
	h, proc, _ := e.start()
	first := proc.PID()
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a new handler process", func() bool { return proc.PID() != first && proc.PID() != 0 })
	eventually(t, "healthz through the new handler", func() bool {
		resp, err := http.Get(strings.TrimSuffix(h.URL(), "/") + "/api/dashboard/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	if !strings.Contains(e.logs.String(), "handler exited; restarting") {
		t.Errorf("log does not say the handler was restarted")
	}
}

// BenchmarkHandlerStart measures handler start to ready: exec, storage open,
// first HTTP answer on GET /.
func BenchmarkHandlerStart(b *testing.B) {
	appDir := stagedApp(b)
	app, err := host.LoadApp(appDir)
	if err != nil {
		b.Fatal(err)
	}
	dataDir := b.TempDir()
	var ready time.Duration
	for b.Loop() {
		ctx, cancel := context.WithCancel(context.Background())
		p := &host.Process{Path: app.ExecutablePath(), Dir: app.WorkingDir(), Output: io.Discard,
			Log: slog.New(slog.DiscardHandler), Env: []string{settings.NameStorage + "=embedded", settings.NameDataDir + "=" + dataDir}}
		start := time.Now()
		if err := p.Start(ctx); err != nil {
			b.Fatal(err)
		}
		ready += time.Since(start)
		cancel()
		p.Wait()
	}
	// ns/op includes stopping the process; this is start to first answer only.
	b.ReportMetric(float64(ready.Microseconds())/1000/float64(b.N), "ms-to-ready")
}

// BenchmarkHTTPForward measures a request through the local host to the
// handler and back (forwarding mode, the dashboard's health check, which asks
// the embedded queue for two lengths).
func BenchmarkHTTPForward(b *testing.B) {
	e := newE2E(b)
	h, _, _ := e.start()
	url := strings.TrimSuffix(h.URL(), "/") + "/api/dashboard/healthz"
	client := &http.Client{}
	for b.Loop() {
		resp, err := client.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}
