package fakegraph

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/signal"
	"syscall"
	"time"
)

// Main runs the local Graph alone, seeded with the demo mailbox:
//
//	go run ./local fake-graph -addr 127.0.0.1:8802
//
// It prints the base URL and a delegated token for the demo user, and stops
// on SIGINT or SIGTERM.
func Main(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("fake-graph", flag.ContinueOnError)
	fs.SetOutput(stdout)
	addr := fs.String("addr", "127.0.0.1:8802", "listen address")
	seed := fs.Bool("seed", true, "create the demo mailbox "+DemoUser)
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("fake-graph: %w", err)
	}
	base := "http://" + ln.Addr().String()
	s := New(Options{BaseURL: base})
	if *seed {
		SeedDemo(s, time.Now())
	}
	fmt.Fprintf(stdout, "local Graph at %s/v1.0 (token endpoint %s/common/oauth2/v2.0/token)\n", base, base)
	if *seed {
		fmt.Fprintf(stdout, "demo mailbox %s, bearer token: %s\n", DemoUser, s.Token(DemoUser))
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("fake-graph: %w", err)
	}
	return nil
}
