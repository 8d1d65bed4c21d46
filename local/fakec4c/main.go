package fakec4c

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"

	"github.com/crmsync/crmsync/local/httpserve"
)

// Main runs the local C4C alone: `fake-c4c -addr 127.0.0.1:8805 [-no-csrf]`.
// It serves until interrupted.
func Main(ctx context.Context, args []string, stdout io.Writer) error {
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
	fmt.Fprintf(stdout, "local SAP Cloud for Customer listening on http://%s%s (communication user %s / %s)\n", ln.Addr(), Root, DemoUser, DemoPassword)
	if err := httpserve.Until(ctx, ln, s); err != nil {
		return fmt.Errorf("fake-c4c: %w", err)
	}
	return nil
}
