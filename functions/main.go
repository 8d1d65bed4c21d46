// Command functions is crmsync's Azure Functions custom handler: one binary that
// serves every function in routes.go over the custom-handler protocol.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	"github.com/crmsync/crmsync/shared/funchost"
	"github.com/crmsync/crmsync/shared/queue"
	"github.com/crmsync/crmsync/shared/settings"
	"github.com/crmsync/crmsync/shared/tablestore"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "crmsync handler:", err)
		os.Exit(1)
	}
}

// deps are what the functions are built from; only run picks the concrete types.
type deps struct {
	settings settings.Settings
	log      *slog.Logger
	store    tablestore.Store
	queue    queue.Queue
	version  string
}

// run reads the settings, opens storage and serves the routes table until ctx ends.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cfg, err := settings.Load(getenv)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: cfg.LogLevel}))
	store, q, closeStorage, err := openStorage(cfg)
	if err != nil {
		return err
	}
	defer closeStorage()
	fns := routes(deps{settings: cfg, log: log, store: store, queue: q, version: version()})

	if cfg.Lambda {
		return errors.New("AWS Lambda mode is not built yet (AWS_LAMBDA_RUNTIME_API is set)")
	}
	return serve(ctx, cfg.Port, fns, log)
}

// serve runs the custom-handler HTTP server on 127.0.0.1:port.
func serve(ctx context.Context, port int, fns []funchost.Function, log *slog.Logger) error {
	srv, err := funchost.NewServer(fns, log, funchost.Options{})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 30 * time.Second}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	log.Info("handler listening", "addr", ln.Addr().String(), "functions", len(fns))
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return hs.Shutdown(shutdownCtx)
}

// openStorage opens the table store and the queue the settings name.
func openStorage(cfg settings.Settings) (tablestore.Store, queue.Queue, func(), error) {
	var store tablestore.Store
	var q queue.Queue
	switch cfg.Storage {
	case settings.StorageEmbedded:
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, nil, nil, fmt.Errorf("data folder: %w", err)
		}
		s, err := tablestore.OpenEmbedded(cfg.TablesPath())
		if err != nil {
			return nil, nil, nil, fmt.Errorf("embedded table store: %w", err)
		}
		store = s
		eq, err := queue.OpenEmbedded(cfg.QueuesPath())
		if err != nil {
			closeAll(store)
			return nil, nil, nil, fmt.Errorf("embedded queue: %w", err)
		}
		q = eq
	default:
		s, err := tablestore.NewAzure(cfg.ConnectionString)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("azure table store: %w", err)
		}
		store = s
		aq, err := queue.NewAzure(cfg.ConnectionString)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("azure queue: %w", err)
		}
		q = aq
	}
	return store, q, func() { closeAll(store, q) }, nil
}

// closeAll closes whatever can be closed; the interfaces do not require it.
func closeAll(xs ...any) {
	for _, x := range xs {
		if c, ok := x.(io.Closer); ok {
			c.Close()
		}
	}
}

// version names the build: the module version, or the VCS revision.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
	}
	return v
}
