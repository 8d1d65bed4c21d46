package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/session"
)

// TestDemoGoogleEndToEnd is `make run MAILBOX=google`: the staged function
// app with CRMSYNC_MAILBOX=google syncs the demo user's seeded local
// Salesforce with their seeded local Google mailbox at start, both ways,
// without an error in the log.
func TestDemoGoogleEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the handler binary")
	}
	dir := t.TempDir()
	app, data := filepath.Join(dir, "app"), filepath.Join(dir, "data")
	var out, logs lockedBuffer
	if err := pack(context.Background(), []string{"-out", app, "-native", "-nozip", "-root", ".."}, &out, &logs); err != nil {
		t.Fatalf("staging: %v\n%s", err, logs.String())
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"local", "serve", "-app", app, "-data", data, "-addr", "127.0.0.1:0", "-demo", "-mailbox", "google",
			"-salesforce-addr", "127.0.0.1:0", "-graph-addr", "127.0.0.1:0", "-idp-addr", "127.0.0.1:0"},
			func(string) string { return "" }, &out, &logs)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	var first session.Report
	waitFor(t, "the first session's report", 90*time.Second, func() bool {
		for _, r := range reports(t, data) {
			if r.Reason == "manual" {
				first = r
				return true
			}
		}
		return false
	}, &logs)
	if !strings.Contains(out.String(), "local Google") {
		t.Errorf("serve did not say it runs the local Google:\n%s", out.String())
	}
	if first.Outcome != "ok" {
		t.Errorf("first session %q: %s (counts %v, %d issues)\n%s", first.Outcome, first.Detail, first.Counts, first.Issues, logs.String())
	}
	for _, k := range []string{"contact|to-mailbox|create", "contact|to-crm|create", "task|to-mailbox|create", "event|to-mailbox|create",
		"task|to-crm|create"} {
		if first.Counts[k] == 0 {
			t.Errorf("first session moved no %s: %v", k, first.Counts)
		}
	}
	checkPrivate(t, data)
	if strings.Contains(logs.String(), `"level":"ERROR"`) {
		t.Errorf("the handler logged errors:\n%s", logs.String())
	}
}
