package session_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/crmsync/crmsync/shared/session"
	"github.com/crmsync/crmsync/shared/tablestore"
)

func leaseStore(t *testing.T) *tablestore.Embedded {
	t.Helper()
	st, err := tablestore.OpenEmbedded(filepath.Join(t.TempDir(), "lease.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// A session that runs longer than the lease's TTL keeps its lease, so a
// second session of the same user cannot start beside it.
func TestHoldRenewsTheLeasePastItsTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := leaseStore(t)
		ctx := context.Background()
		const ttl = 3 * time.Minute
		l, err := session.AcquireLease(ctx, st, "u1", "long", ttl, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		held, stop := l.Hold(ctx, ttl, time.Now)
		time.Sleep(10 * ttl)
		if _, err := session.AcquireLease(ctx, st, "u1", "second", ttl, time.Now()); !errors.Is(err, session.ErrLeaseHeld) {
			t.Errorf("a second session after %v: err = %v, want ErrLeaseHeld", 10*ttl, err)
		}
		if err := held.Err(); err != nil {
			t.Errorf("held context ended while the lease was renewed: %v", err)
		}
		stop()
		if err := l.Release(ctx, session.Report{Started: time.Now()}); err != nil {
			t.Fatalf("release after stop: %v", err)
		}
		if _, err := session.AcquireLease(ctx, st, "u1", "second", ttl, time.Now()); err != nil {
			t.Errorf("after release: %v, want the lease free", err)
		}
	})
}

// A session whose lease was taken over (it stalled past the TTL and another
// session took the expired lease) stops: its context ends with ErrLeaseLost.
func TestHoldCancelsTheSessionWhenTheLeaseIsLost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := leaseStore(t)
		ctx := context.Background()
		const ttl = 3 * time.Minute
		l, err := session.AcquireLease(ctx, st, "u1", "stalled", ttl, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		// Another session takes the lease as if it had expired.
		if _, err := session.AcquireLease(ctx, st, "u1", "newer", ttl, time.Now().Add(ttl)); err != nil {
			t.Fatal(err)
		}
		held, stop := l.Hold(ctx, ttl, time.Now)
		defer stop()
		<-held.Done()
		if cause := context.Cause(held); !errors.Is(cause, session.ErrLeaseLost) {
			t.Errorf("cause = %v, want ErrLeaseLost", cause)
		}
		if _, err := session.AcquireLease(ctx, st, "u1", "third", ttl, time.Now()); !errors.Is(err, session.ErrLeaseHeld) {
			t.Errorf("the newer session's lease: %v, want still held by it", err)
		}
	})
}
