package fakegraph

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/crmsync/crmsync/local/httpserve"
)

// Main runs the local Graph alone, seeded with the demo mailbox:
//
//	go run ./local fake-graph -addr 127.0.0.1:8802
//
// It prints the base URL and a delegated token for the demo user, and stops
// on SIGINT or SIGTERM.
func Main(ctx context.Context, args []string, stdout io.Writer) error {
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
	if err := httpserve.Until(ctx, ln, s); err != nil {
		return fmt.Errorf("fake-graph: %w", err)
	}
	return nil
}
