// Command functions is crmsync's Azure Functions custom handler: one binary that
// serves every function in routes.go over the custom-handler protocol.
package main

import (
	"context"
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
	"github.com/crmsync/crmsync/shared/lambdaadapter"
	"github.com/crmsync/crmsync/shared/redact"
	"github.com/crmsync/crmsync/shared/schedule"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "crmsync handler:", err)
		os.Exit(1)
	}
}

// run reads the settings, wires the service and serves the routes table
// until ctx ends — over the custom-handler protocol, or on AWS Lambda.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := slog.New(redact.NewHandler(slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: cfg.LogLevel})))
	var sessions schedule.Enqueuer
	if cfg.Lambda {
		// On Lambda the syncworker is triggered by SQS, so sessions go there.
		sqs, err := lambdaadapter.NewSQS(getenv, lambdaadapter.SQSOptions{})
		if err != nil {
			return err
		}
		sessions = sqs
	}
	a, err := wire(ctx, cfg, log, time.Now, sessions)
	if err != nil {
		return err
	}
	defer a.Close()
	fns := routes(a)
	if cfg.Lambda {
		return lambdaadapter.Serve(ctx, fns, log, getenv)
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
