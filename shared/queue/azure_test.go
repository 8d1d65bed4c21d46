package queue_test

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/crmsync/crmsync/shared/azurite"
	"github.com/crmsync/crmsync/shared/queue"
	"github.com/crmsync/crmsync/shared/queue/queuetest"
)

func TestMain(m *testing.M) { azurite.Main(m) }

func newAzure(t testing.TB) *queue.Azure {
	t.Helper()
	q, err := queue.NewAzure(azurite.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func TestConformanceAzure(t *testing.T) {
	queuetest.Run(t, func(t *testing.T) queue.Queue { return newAzure(t) })
}

// A message that is not base64 (written by something other than Enqueue)
// goes to the poison queue at once, as the Functions host would send it.
func TestAzureNonBase64GoesToPoison(t *testing.T) {
	conn := azurite.Start(t)
	q := newAzure(t)
	name := queuetest.NewQueueName(t)
	t.Cleanup(func() {
		_ = q.DeleteQueue(ctx, name)
		_ = q.DeleteQueue(ctx, name+queue.PoisonSuffix)
	})
	raw, err := azqueue.NewQueueClientFromConnectionString(conn, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Create(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.EnqueueMessage(ctx, "plain {text}!", nil); err != nil {
		t.Fatal(err)
	}
	msgs, err := q.Dequeue(ctx, name, 32, time.Minute)
	if err != nil || len(msgs) != 0 {
		t.Fatalf("Dequeue = %d messages, %v; want none (the message is not ours to decode)", len(msgs), err)
	}
	poisoned, err := q.Dequeue(ctx, name+queue.PoisonSuffix, 32, time.Minute)
	if err != nil || len(poisoned) != 1 || string(poisoned[0].Body) != "plain {text}!" {
		t.Fatalf("poison queue holds %v, %v; want the raw text", poisoned, err)
	}
	if n, err := q.Len(ctx, name); err != nil || n != 0 {
		t.Errorf("Len(original) = %d, %v; want 0", n, err)
	}
}

// The wire format is base64 text, which the Functions queue trigger decodes.
func TestAzureEnqueuesBase64(t *testing.T) {
	conn := azurite.Start(t)
	q := newAzure(t)
	name := queuetest.NewQueueName(t)
	t.Cleanup(func() { _ = q.DeleteQueue(ctx, name) })
	if err := q.Enqueue(ctx, name, []byte(`{"a":1}`), 0); err != nil {
		t.Fatal(err)
	}
	raw, err := azqueue.NewQueueClientFromConnectionString(conn, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := raw.PeekMessage(ctx, nil)
	if err != nil || len(resp.Messages) != 1 {
		t.Fatalf("PeekMessage: %v", err)
	}
	if got, want := *resp.Messages[0].MessageText, base64.StdEncoding.EncodeToString([]byte(`{"a":1}`)); got != want {
		t.Errorf("wire text = %q, want %q", got, want)
	}
}

// The managed-identity constructor needs no network to build a client.
func TestNewAzureWithCredential(t *testing.T) {
	q, err := queue.NewAzureWithCredential("https://account.queue.core.windows.net", &azfake.TokenCredential{})
	if err != nil || q == nil {
		t.Fatalf("NewAzureWithCredential = %v, %v", q, err)
	}
	if _, err := queue.NewAzure("not a connection string"); err == nil {
		t.Error("NewAzure accepted a malformed connection string")
	}
}
