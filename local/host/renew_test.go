package host

import (
	"context"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"
)

// TestRenewKeepsMessageHidden runs a long invocation's hold in a synctest
// bubble: the host renews the one-minute visibility every 20 s, so a
// 25-minute run never lets another consumer see the message, and the receipt
// it ends with is the latest one.
func TestRenewKeepsMessageHidden(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		q := newMemQueue()
		h := &Host{queue: q}
		if err := q.Enqueue(ctx, "work", []byte("{}"), 0); err != nil {
			t.Fatal(err)
		}
		msgs, _ := q.Dequeue(ctx, "work", 1, holdVisibility)
		l := &lease{receipt: msgs[0].PopReceipt}
		stop := h.renew(ctx, "work", msgs[0].ID, l, slog.New(slog.DiscardHandler))

		for range 25 {
			time.Sleep(time.Minute)
			synctest.Wait()
			if got, _ := q.Dequeue(ctx, "work", 1, time.Second); len(got) != 0 {
				t.Fatalf("message became visible while its function was running")
			}
		}
		stop()
		if l.get() == msgs[0].PopReceipt {
			t.Errorf("pop receipt never renewed")
		}
		if err := q.Delete(ctx, "work", msgs[0].ID, l.get()); err != nil {
			t.Errorf("delete with the latest receipt: %v", err)
		}
	})
}

// TestKilledHostsMessageComesBackWithinAMinute: a host killed while a
// function runs neither renews nor releases the message; a restarted host
// sees it again once the hold lapses — within a minute, not the Functions
// host's ten — as a second delivery.
func TestKilledHostsMessageComesBackWithinAMinute(t *testing.T) {
	if holdVisibility > time.Minute {
		t.Errorf("holdVisibility = %v, want at most a minute", holdVisibility)
	}
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		q := newMemQueue()
		if err := q.Enqueue(ctx, "work", []byte("{}"), 0); err != nil {
			t.Fatal(err)
		}
		if msgs, _ := q.Dequeue(ctx, "work", 1, holdVisibility); len(msgs) != 1 {
			t.Fatal("no message to start with")
		}
		// The host dies here: no renewal, no release.
		time.Sleep(holdVisibility - time.Second)
		if got, _ := q.Dequeue(ctx, "work", 1, holdVisibility); len(got) != 0 {
			t.Fatal("the message came back before its hold lapsed")
		}
		time.Sleep(2 * time.Second)
		got, _ := q.Dequeue(ctx, "work", 1, holdVisibility)
		if len(got) != 1 || got[0].DequeueCount != 2 {
			t.Fatalf("after the hold: %+v, want the message again, second delivery", got)
		}
	})
}
