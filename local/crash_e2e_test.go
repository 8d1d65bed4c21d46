package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/demo"
	"github.com/crmsync/crmsync/local/fakesalesforce"
	"github.com/crmsync/crmsync/local/host"
	"github.com/crmsync/crmsync/shared/session"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// TestKilledSessionIsTakenOverEndToEnd is the crash for real: `serve -demo`
// with the real handler binary; the demo user's first session is held inside
// a slow local Salesforce call, and the handler process is SIGKILLed there,
// holding the user's lease. The host restarts the handler and delivers the
// message again; that delivery finds the user busy (the dead session's lease
// has not run out) and is deferred rather than dropped; the deferred session
// takes the lease over and finishes ok — about a minute after the kill
// (session.DefaultLeaseTTL), where it used to take ten.
//
// host.json's visibilityTimeout is cut from 30 s to 5 s so the test waits for
// the lease, not the queue; the handler restarts within it.
func TestKilledSessionIsTakenOverEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the handler binary and waits about a minute for a lease to run out")
	}
	dir := t.TempDir()
	app, data := filepath.Join(dir, "app"), filepath.Join(dir, "data")
	var out, logs lockedBuffer
	if err := pack(context.Background(), []string{"-out", app, "-native", "-nozip", "-root", ".."}, &out, &logs); err != nil {
		t.Fatalf("staging: %v\n%s", err, logs.String())
	}
	hostJSON := filepath.Join(app, "host.json")
	b, err := os.ReadFile(hostJSON)
	if err != nil {
		t.Fatal(err)
	}
	fast := strings.Replace(string(b), `"visibilityTimeout": "00:00:30"`, `"visibilityTimeout": "00:00:05"`, 1)
	if fast == string(b) {
		t.Fatal(`host.json has no "visibilityTimeout": "00:00:30" to shorten; update this test with it`)
	}
	if err := os.WriteFile(hostJSON, []byte(fast), 0o644); err != nil {
		t.Fatal(err)
	}

	worlds, hosts := make(chan *demo.World, 1), make(chan *host.Host, 1)
	hooks := serveHooks{
		demo: func(w *demo.World) {
			// The first counted call of the first session hangs long
			// enough to kill the handler inside it.
			w.Salesforce.Inject(fakesalesforce.Fault{Latency: 30 * time.Second})
			worlds <- w
		},
		started: func(h *host.Host) { hosts <- h },
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, []string{"-app", app, "-data", data, "-addr", "127.0.0.1:0", "-demo",
			"-salesforce-addr", "127.0.0.1:0", "-graph-addr", "127.0.0.1:0", "-idp-addr", "127.0.0.1:0"},
			func(string) string { return "" }, &out, &logs, hooks)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	var world *demo.World
	var h *host.Host
	select {
	case world = <-worlds:
	case err := <-done:
		t.Fatalf("serve ended: %v\n%s", err, logs.String())
	}
	if calls := world.Salesforce.Calls(); len(calls) != 0 {
		t.Fatalf("the demo called Salesforce before its first session (%v): the slow call would not be the session's", calls)
	}
	select {
	case h = <-hosts:
	case err := <-done:
		t.Fatalf("serve ended: %v\n%s", err, logs.String())
	}

	waitFor(t, "the first session inside its slow Salesforce call", 60*time.Second, func() bool {
		n := 0
		for _, c := range world.Salesforce.Calls() {
			n += c
		}
		return n > 0 && lastSession(t, data, world.User).Running
	}, &logs)
	pid := h.HandlerPID()
	if pid == 0 {
		t.Fatal("no handler process to kill")
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()

	waitFor(t, "a session that takes the dead session's lease over and finishes", 3*time.Minute, func() bool {
		ls := lastSession(t, data, world.User)
		return !ls.Running && ls.Outcome == "ok"
	}, &logs)
	t.Logf("taken over %v after the kill", time.Since(killed).Round(time.Second))
	l := logs.String()
	if !strings.Contains(l, "handler exited; restarting") {
		t.Error("the host did not say it restarted the killed handler")
	}
	if !strings.Contains(l, `"outcome":"busy"`) {
		t.Error("no delivery found the dead session's lease held: the takeover was not through the redelivered request")
	}
}

// lastSession reads user's lease row (zero while the store is busy).
func lastSession(t *testing.T, data, user string) session.LastSession {
	t.Helper()
	st, err := tablestore.OpenEmbedded(filepath.Join(data, "tables.sqlite"))
	if err != nil {
		return session.LastSession{}
	}
	defer st.Close()
	ls, _ := session.ReadLastSession(context.Background(), st, user, time.Now())
	return ls
}
