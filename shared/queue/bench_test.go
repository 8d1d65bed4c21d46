package queue_test

import (
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/queue"
	"github.com/crmsync/crmsync/shared/queue/queuetest"
)

// benchRoundTrip measures one message's life: enqueue, receive, delete.
func benchRoundTrip(b *testing.B, q queue.Queue) {
	name := queuetest.NewQueueName(b)
	b.Cleanup(func() { _ = q.DeleteQueue(ctx, name) })
	body := []byte(`{"sessionId":"s-0001","userId":"u-0001","reason":"schedule"}`)
	for b.Loop() {
		if err := q.Enqueue(ctx, name, body, 0); err != nil {
			b.Fatal(err)
		}
		msgs, err := q.Dequeue(ctx, name, 1, time.Minute)
		if err != nil || len(msgs) != 1 {
			b.Fatalf("Dequeue: %d messages, %v", len(msgs), err)
		}
		if err := q.Delete(ctx, name, msgs[0].ID, msgs[0].PopReceipt); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(3, "calls/op")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

func BenchmarkEmbeddedRoundTrip(b *testing.B) { benchRoundTrip(b, openEmbedded(b)) }
func BenchmarkAzuriteRoundTrip(b *testing.B)  { benchRoundTrip(b, newAzure(b)) }
