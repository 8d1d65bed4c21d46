package session_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/session"
	"github.com/crmsync/crmsync/shared/session/memside"
	"github.com/crmsync/crmsync/shared/side"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// crashChild names the store a child process runs its stuck session on; its
// absence means this is the test itself, not the child.
const (
	crashChild = "CRMSYNC_TEST_CRASH_STORE"
	crashT0    = "CRMSYNC_TEST_CRASH_T0"
	midSession = "mid-session"
)

// stuckCRM is a CRM that announces it was reached and then never answers:
// the session is mid-way, holding its lease, when the process is killed.
type stuckCRM struct {
	*memside.Side
}

func (s stuckCRM) Changes(ctx context.Context, scope item.Scope, cursor string) (item.Changes, error) {
	fmt.Println(midSession)
	<-ctx.Done()
	return item.Changes{}, ctx.Err()
}

// TestCrashedSessionLeaseIsTakenOverAfterTTL kills a process in the middle
// of a session (SIGKILL: no release, no further renewal, the SQLite store
// left as the crash leaves it) and runs the user's next session on the same
// store with a simulated clock: just before the lease's TTL it finds the user
// busy; just after, it takes the lease over and syncs. The default TTL is
// about a minute, not the ten minutes a crash used to block the user for.
func TestCrashedSessionLeaseIsTakenOverAfterTTL(t *testing.T) {
	if path := os.Getenv(crashChild); path != "" {
		runStuckSession(t, path)
		return
	}
	if session.DefaultLeaseTTL > 90*time.Second {
		t.Errorf("DefaultLeaseTTL = %v: a crashed session would block its user for longer than about a minute", session.DefaultLeaseTTL)
	}
	path := filepath.Join(t.TempDir(), "state.sqlite")
	t0 := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)

	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashedSessionLeaseIsTakenOverAfterTTL$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChild+"="+path, crashT0+"="+strconv.FormatInt(t0.Unix(), 10))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := bufio.NewScanner(out)
	reached := false
	for lines.Scan() {
		if lines.Text() == midSession {
			reached = true
			break
		}
	}
	if !reached {
		t.Fatalf("the child never reached the middle of its session (scan: %v)", lines.Err())
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	go io.Copy(io.Discard, out)

	st, err := tablestore.OpenEmbedded(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	if ls, err := session.ReadLastSession(ctx, st, "u1", t0.Add(time.Second)); err != nil || !ls.Running {
		t.Fatalf("after the kill: last session %+v (err %v), want the killed session still holding the lease", ls, err)
	}

	crm, mbx := memside.New("crm"), memside.New("mailbox")
	crm.Put(contact("Ada", "Lovelace", "ada@acme.com"))
	now := t0
	crm.Now, mbx.Now = func() time.Time { return now }, func() time.Time { return now }
	r := &session.Runner{Store: st, Opener: staticOpener{side.Sides{CRM: crm, Mailbox: mbx}}, Settings: crashSettings(),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return now }}

	now = t0.Add(session.DefaultLeaseTTL - time.Second)
	rep, err := r.Run(ctx, "u1", "retry")
	if err != nil || rep.Outcome != "busy" {
		t.Fatalf("%v after the crash: outcome %q, err %v; want busy (the lease is not yet expired)", now.Sub(t0), rep.Outcome, err)
	}
	now = t0.Add(session.DefaultLeaseTTL + time.Second)
	rep, err = r.Run(ctx, "u1", "retry")
	if err != nil || rep.Outcome != "ok" {
		t.Fatalf("%v after the crash: outcome %q (%s), err %v; want the lease taken over and the session done", now.Sub(t0), rep.Outcome, rep.Detail, err)
	}
	if got := byEmail(mbx.Records(item.Contact)); len(got) != 1 {
		t.Errorf("the mailbox holds %d contacts after the session that took over, want 1", len(got))
	}
	if ls, err := session.ReadLastSession(ctx, st, "u1", now); err != nil || ls.Running || ls.Outcome != "ok" {
		t.Errorf("last session %+v (err %v), want the new session's, finished ok", ls, err)
	}
}

func crashSettings() staticSettings {
	return staticSettings{"u1": {FingerprintKey: []byte("0123456789abcdef0123456789abcdef"),
		Email: session.EmailSettings{Enabled: true, OwnAddress: "me@ourco.com"}}}
}

// runStuckSession is the child: a session with the default lease TTL whose
// CRM never answers, run until the parent kills the process.
func runStuckSession(t *testing.T, path string) {
	sec, err := strconv.ParseInt(os.Getenv(crashT0), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(sec, 0).UTC()
	st, err := tablestore.OpenEmbedded(path)
	if err != nil {
		t.Fatal(err)
	}
	crm, mbx := stuckCRM{memside.New("crm")}, memside.New("mailbox")
	r := &session.Runner{Store: st, Opener: staticOpener{side.Sides{CRM: crm, Mailbox: mbx}}, Settings: crashSettings(),
		Log: slog.New(slog.NewTextHandler(os.Stderr, nil)), Now: func() time.Time { return t0 }}
	_, err = r.Run(context.Background(), "u1", "manual")
	t.Fatalf("the stuck session returned (%v); the parent should have killed this process", err)
}
