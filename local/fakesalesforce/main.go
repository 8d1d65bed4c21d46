package fakesalesforce

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/crmsync/crmsync/local/httpserve"
)

// Main runs the local Salesforce alone: `fake-salesforce -addr 127.0.0.1:8801
// [-schema custom.json] [-daily-limit n] [-batch n] [-no-demo]`. It serves
// until interrupted.
func Main(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("fake-salesforce", flag.ContinueOnError)
	fs.SetOutput(stdout)
	addr := fs.String("addr", "127.0.0.1:8801", "address to listen on")
	schema := fs.String("schema", "", "JSON file declaring custom objects and fields")
	limit := fs.Int("daily-limit", 15000, "daily API request limit")
	batch := fs.Int("batch", 2000, "largest query batch the server returns")
	noDemo := fs.Bool("no-demo", false, "start with an empty org (no demo data)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opts := Options{DailyLimit: *limit, MaxBatchSize: *batch}
	if *schema != "" {
		b, err := os.ReadFile(*schema)
		if err != nil {
			return fmt.Errorf("fake-salesforce: %w", err)
		}
		opts.CustomSchema = b
	}
	s, err := New(opts)
	if err != nil {
		return err
	}
	if !*noDemo {
		if _, err := SeedDemo(s, time.Now()); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("fake-salesforce: %w", err)
	}
	fmt.Fprintf(stdout, "local Salesforce listening on http://%s (org %s; demo user %s / %s)\n", ln.Addr(), s.OrgID(), DemoUsername, DemoPassword)
	if err := httpserve.Until(ctx, ln, s); err != nil {
		return fmt.Errorf("fake-salesforce: %w", err)
	}
	return nil
}
