package fakec4c

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"time"
)

// Main runs the local C4C alone: `fake-c4c -addr 127.0.0.1:8805 [-no-csrf]`.
// It serves until interrupted.
func Main(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("fake-c4c", flag.ContinueOnError)
	fs.SetOutput(stdout)
	addr := fs.String("addr", "127.0.0.1:8805", "address to listen on")
	noCSRF := fs.Bool("no-csrf", false, "do not enforce CSRF tokens on writes")
	if err := fs.Parse(args); err != nil {
		return err
	}
	s := New(Options{NoCSRF: *noCSRF})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("fake-c4c: %w", err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "local SAP Cloud for Customer listening on http://%s%s (communication user %s / %s)\n", ln.Addr(), Root, DemoUser, DemoPassword)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("fake-c4c: %w", err)
	}
	return nil
}
