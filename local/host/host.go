// Package host is crmsync's local and on-premises Functions host. It reads the
// same host.json and function.json files as Azure Functions and drives the same
// custom handler over the same JSON protocol: timers on their NCRONTAB
// schedules, queue triggers with batches, visibility timeouts, retries and a
// "<queue>-poison" queue, queue output bindings, and HTTP triggers on
// /<routePrefix>/<route> with methods and function keys.
package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/crmsync/crmsync/shared/queue"
	"github.com/crmsync/crmsync/shared/redact"
)

// Config is what a Host is built from.
type Config struct {
	// App is the loaded function app.
	App *App
	// Handler runs the custom handler; nil means a Process running the app's
	// executable with HandlerEnv added to the environment and its output to
	// HandlerOutput.
	Handler       Handler
	HandlerEnv    []string
	HandlerOutput io.Writer
	// Queue backs queue triggers and output bindings.
	Queue queue.Queue
	// Keys authorize function- and admin-level HTTP routes.
	Keys Keys
	// Listener is where HTTP triggers are served (e.g. 127.0.0.1:7071).
	Listener net.Listener
	Log      *slog.Logger
	// MaxRequestBytes caps HTTP trigger bodies (default 32 MiB).
	MaxRequestBytes int64
	// PublicURL is the app's public base URL; when it is a 127.0.0.1
	// address, pages asked for at localhost on its port are redirected to
	// it (canonicalLoopback).
	PublicURL string
}

// Host drives one function app.
type Host struct {
	app      *App
	handler  Handler
	queue    queue.Queue
	keys     Keys
	log      *slog.Logger
	client   *http.Client
	listener net.Listener
	maxBody  int64
	public   string

	cancel context.CancelFunc
	wg     sync.WaitGroup
	server *http.Server
}

// New checks the configuration; nothing runs until Start.
func New(cfg Config) (*Host, error) {
	if cfg.App == nil || cfg.Queue == nil || cfg.Listener == nil || cfg.Log == nil {
		return nil, errors.New("host: App, Queue, Listener and Log are required")
	}
	// The host's own lines (handler failures, queue errors, the handler's
	// returned log lines) go through the same redaction as the handler's.
	log := cfg.Log
	if _, ok := log.Handler().(*redact.Handler); !ok {
		log = slog.New(redact.NewHandler(log.Handler()))
	}
	h := &Host{
		app: cfg.App, handler: cfg.Handler, queue: cfg.Queue, keys: cfg.Keys, log: log,
		client: &http.Client{}, listener: cfg.Listener, maxBody: cfg.MaxRequestBytes, public: cfg.PublicURL,
	}
	if h.maxBody <= 0 {
		h.maxBody = 32 << 20
	}
	if h.handler == nil {
		if err := cfg.App.CheckExecutable(); err != nil {
			return nil, err
		}
		h.handler = &Process{Path: cfg.App.ExecutablePath(), Dir: cfg.App.WorkingDir(), Args: cfg.App.Settings.Arguments,
			Output: cfg.HandlerOutput, Env: cfg.HandlerEnv, Log: log.With("component", "handler")}
	}
	return h, nil
}

// HandlerPID is the process id of the running handler, 0 when the handler
// is not a process this host started (or is between restarts).
func (h *Host) HandlerPID() int {
	if p, ok := h.handler.(*Process); ok {
		return p.PID()
	}
	return 0
}

// URL is the base URL HTTP triggers are served on.
func (h *Host) URL() string { return "http://" + h.listener.Addr().String() + "/" }

// Start starts the handler, waits until it is ready, then starts the timers,
// the queue listeners and the HTTP front. It returns once all are running.
func (h *Host) Start(ctx context.Context) error {
	ctx, h.cancel = context.WithCancel(ctx)
	if err := h.handler.Start(ctx); err != nil {
		h.cancel()
		return err
	}
	front, err := h.httpFront()
	if err != nil {
		h.cancel()
		return err
	}
	if h.public != "" {
		front = canonicalLoopback(h.public, front)
	}
	h.server = &http.Server{Handler: front, ReadHeaderTimeout: 30 * time.Second}
	h.wg.Go(func() {
		if err := h.server.Serve(h.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			h.log.Error("http front stopped", "error", err)
		}
	})
	for _, fn := range h.app.Functions {
		switch {
		case fn.Schedule != nil:
			h.wg.Go(func() { h.runTimer(ctx, fn) })
		case fn.Trigger().QueueName != "":
			h.wg.Go(func() { h.listenQueue(ctx, fn) })
		}
	}
	h.log.Info("local host started", "url", h.URL(), "functions", len(h.app.Functions))
	return nil
}

// Close stops accepting work, lets running invocations end (releasing their
// messages), stops the handler and waits for everything.
func (h *Host) Close() error {
	if h.cancel == nil || h.server == nil {
		return nil // never started, or Start failed and cleaned up
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := h.server.Shutdown(shutdownCtx)
	h.cancel()
	h.wg.Wait()
	if p, ok := h.handler.(interface{ Wait() }); ok {
		p.Wait()
	}
	if err != nil {
		return fmt.Errorf("host: shutting down http front: %w", err)
	}
	return nil
}
