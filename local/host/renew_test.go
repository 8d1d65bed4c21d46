package host

import (
	"context"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"
)

// TestRenewKeepsMessageHidden runs a long invocation's hold in a synctest
// bubble: the host renews the 10-minute visibility halfway, so a 25-minute
// run never lets another consumer see the message, and the receipt it ends
// with is the latest one.
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

		for range 5 {
			time.Sleep(5 * time.Minute)
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
