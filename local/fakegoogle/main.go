package fakegoogle

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"

	"github.com/crmsync/crmsync/local/httpserve"
)

// DemoUser is the Workspace user Main creates.
const DemoUser = "demo@crmsync.test"

// Main runs the local Google alone:
//
//	go run ./local fake-google -addr 127.0.0.1:8804
//
// It prints the base URL and the demo user's tokens, and stops on SIGINT or
// SIGTERM.
func Main(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("fake-google", flag.ContinueOnError)
	fs.SetOutput(stdout)
	addr := fs.String("addr", "127.0.0.1:8804", "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("fake-google: %w", err)
	}
	base := "http://" + ln.Addr().String()
	s := New(Options{})
	access, refresh := s.AddUser(DemoUser)
	fmt.Fprintf(stdout, "local Google at %s (People /v1, Calendar /calendar/v3, Tasks /tasks/v1, Gmail /gmail/v1, token endpoint %s/token)\n", base, base)
	fmt.Fprintf(stdout, "demo user %s, bearer token: %s, refresh token: %s\n", DemoUser, access, refresh)
	if err := httpserve.Until(ctx, ln, s); err != nil {
		return fmt.Errorf("fake-google: %w", err)
	}
	return nil
}
