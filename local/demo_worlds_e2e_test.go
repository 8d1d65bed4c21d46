package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/session"
)

// TestDemoWorldsEndToEnd is `make run` with the other connectors: the
// staged function app with CRMSYNC_CRM=c4c (`make run CRM=c4c`) or
// CRMSYNC_MAILBOX=google (`make run MAILBOX=google`) syncs the demo user's
// seeded local CRM with their seeded local mailbox at start, both ways,
// without an error in the log.
func TestDemoWorldsEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the handler binary")
	}
	dir := t.TempDir()
	app := filepath.Join(dir, "app")
	var staged lockedBuffer
	if err := pack(context.Background(), []string{"-out", app, "-native", "-nozip", "-root", ".."}, &staged, &staged); err != nil {
		t.Fatalf("staging: %v\n%s", err, staged.String())
	}
	for _, w := range []struct {
		name, flag, value, says string
		moved                   []string
	}{
		{"c4c", "-crm", "c4c", "local SAP Cloud for Customer", []string{"contact|to-mailbox|create", "contact|to-crm|create",
			"task|to-mailbox|create", "event|to-mailbox|create", "email|to-crm|share", "file|to-crm|create"}},
		{"google", "-mailbox", "google", "local Google", []string{"contact|to-mailbox|create", "contact|to-crm|create",
			"task|to-mailbox|create", "event|to-mailbox|create", "task|to-crm|create"}},
	} {
		t.Run(w.name, func(t *testing.T) {
			data := filepath.Join(dir, "data-"+w.name)
			var out, logs lockedBuffer
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				done <- run(ctx, []string{"local", "serve", "-app", app, "-data", data, "-addr", "127.0.0.1:0", "-demo", w.flag, w.value,
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
			if !strings.Contains(out.String(), w.says) {
				t.Errorf("serve did not say it runs the %s:\n%s", w.says, out.String())
			}
			if first.Outcome != "ok" {
				t.Errorf("first session %q: %s (counts %v, %d issues)\n%s", first.Outcome, first.Detail, first.Counts, first.Issues, logs.String())
			}
			for _, k := range w.moved {
				if first.Counts[k] == 0 {
					t.Errorf("first session moved no %s: %v", k, first.Counts)
				}
			}
			checkPrivate(t, data)
			if strings.Contains(logs.String(), `"level":"ERROR"`) {
				t.Errorf("the handler logged errors:\n%s", logs.String())
			}
		})
	}
}
