// Package queuetest is the conformance suite every queue.Queue implementation
// passes. An implementation's tests call Run with a constructor; each subtest
// gets a fresh queue client and its own queue names.
//
// Delays and visibility timeouts need time to pass. When the queue returned
// by newQueue also implements Sleeper (for example an embedded queue paired
// with a FakeClock), the suite advances that clock instead of sleeping, so
// the embedded run takes no wall time. Against Azurite it sleeps for real, in
// short polls: the service works in whole seconds.
package queuetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/queue"
)

// Sleeper lets the suite wait for a delay or visibility timeout to pass.
type Sleeper interface {
	Sleep(d time.Duration)
}

// FakeClock is a manual clock: Now is fixed until Sleep moves it forward.
// Pass its Now to queue.WithClock and return a value that embeds both the
// queue and the clock from newQueue.
type FakeClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewFakeClock starts a clock at a fixed instant.
func NewFakeClock() *FakeClock {
	return &FakeClock{now: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)}
}

// Now reports the clock's time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Sleep advances the clock by d at once.
func (c *FakeClock) Sleep(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type realSleeper struct{}

func (realSleeper) Sleep(d time.Duration) { time.Sleep(d) }

// Run runs the whole suite. newQueue is called once per subtest.
func Run(t *testing.T, newQueue func(t *testing.T) queue.Queue) {
	tests := []struct {
		name string
		fn   func(t *testing.T, q queue.Queue, clock Sleeper, name string)
	}{
		{"EnqueueDequeueDelete", testEnqueueDequeueDelete},
		{"Max32", testMax32},
		{"BodyLimitAndBinary", testBodyLimitAndBinary},
		{"Delay", testDelay},
		{"VisibilityTimeout", testVisibilityTimeout},
		{"UpdateVisibility", testUpdateVisibility},
		{"StaleReceipts", testStaleReceipts},
		{"Poison", testPoison},
		{"InvalidRequests", testInvalidRequests},
		{"LenAndDeleteQueue", testLenAndDeleteQueue},
		{"ConcurrentDequeue", testConcurrentDequeue},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			q := newQueue(t)
			var clock Sleeper = realSleeper{}
			if s, ok := q.(Sleeper); ok {
				clock = s
			}
			name := NewQueueName(t)
			t.Cleanup(func() {
				for _, n := range []string{name, name + queue.PoisonSuffix} {
					if err := q.DeleteQueue(context.Background(), n); err != nil {
						t.Errorf("cleanup: DeleteQueue(%s): %v", n, err)
					}
				}
			})
			tc.fn(t, q, clock, name)
		})
	}
}

// NewQueueName returns a fresh valid queue name.
func NewQueueName(t testing.TB) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "q-" + hex.EncodeToString(b)
}

var ctx = context.Background()

func enqueue(t *testing.T, q queue.Queue, name string, body []byte, delay time.Duration) {
	t.Helper()
	if err := q.Enqueue(ctx, name, body, delay); err != nil {
		t.Fatalf("Enqueue(%s): %v", name, err)
	}
}

func dequeue(t *testing.T, q queue.Queue, name string, max int, vis time.Duration) []queue.Message {
	t.Helper()
	msgs, err := q.Dequeue(ctx, name, max, vis)
	if err != nil {
		t.Fatalf("Dequeue(%s, %d, %s): %v", name, max, vis, err)
	}
	return msgs
}

func dequeueOne(t *testing.T, q queue.Queue, name string, vis time.Duration) queue.Message {
	t.Helper()
	msgs := dequeue(t, q, name, 1, vis)
	if len(msgs) != 1 {
		t.Fatalf("Dequeue(%s) returned %d messages, want 1", name, len(msgs))
	}
	return msgs[0]
}

// eventually polls for a message until one arrives or limit passes on the
// given clock. It asserts the behaviour (the message arrives), not how fast.
func eventually(t *testing.T, q queue.Queue, clock Sleeper, name string, vis, limit time.Duration) queue.Message {
	t.Helper()
	const step = 250 * time.Millisecond
	for waited := time.Duration(0); waited <= limit; waited += step {
		if msgs := dequeue(t, q, name, 1, vis); len(msgs) == 1 {
			return msgs[0]
		}
		clock.Sleep(step)
	}
	t.Fatalf("no message on %s within %s", name, limit)
	return queue.Message{}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: got error %v, want %v", what, err, want)
	}
}

func wantLen(t *testing.T, q queue.Queue, name string, want int) {
	t.Helper()
	n, err := q.Len(ctx, name)
	if err != nil {
		t.Fatalf("Len(%s): %v", name, err)
	}
	if n != want {
		t.Errorf("Len(%s) = %d, want %d", name, n, want)
	}
}

func testEnqueueDequeueDelete(t *testing.T, q queue.Queue, _ Sleeper, name string) {
	enqueue(t, q, name, []byte(`{"sessionId":"s-1"}`), 0)
	wantLen(t, q, name, 1)
	m := dequeueOne(t, q, name, 30*time.Second)
	if string(m.Body) != `{"sessionId":"s-1"}` {
		t.Errorf("Body = %q, want the enqueued JSON", m.Body)
	}
	if m.ID == "" || m.PopReceipt == "" {
		t.Errorf("ID %q, PopReceipt %q: both must be set", m.ID, m.PopReceipt)
	}
	if m.DequeueCount != 1 {
		t.Errorf("DequeueCount = %d, want 1", m.DequeueCount)
	}
	if m.InsertedAt.IsZero() || !m.ExpiresAt.After(m.InsertedAt) || !m.NextVisible.After(m.InsertedAt) {
		t.Errorf("times: inserted %v, expires %v, next visible %v; want inserted < next visible, inserted < expires",
			m.InsertedAt, m.ExpiresAt, m.NextVisible)
	}
	if msgs := dequeue(t, q, name, 32, 30*time.Second); len(msgs) != 0 {
		t.Errorf("a received message was delivered again while invisible: %d messages", len(msgs))
	}
	wantLen(t, q, name, 1) // invisible messages still count
	if err := q.Delete(ctx, name, m.ID, m.PopReceipt); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantLen(t, q, name, 0)
	wantErr(t, "second Delete", q.Delete(ctx, name, m.ID, m.PopReceipt), queue.ErrNotFound)
}

func testMax32(t *testing.T, q queue.Queue, _ Sleeper, name string) {
	for i := range 40 {
		enqueue(t, q, name, []byte(fmt.Sprint(i)), 0)
	}
	if got := len(dequeue(t, q, name, 32, time.Minute)); got != 32 {
		t.Errorf("Dequeue(32) of 40 returned %d, want 32", got)
	}
	if got := len(dequeue(t, q, name, 32, time.Minute)); got != 8 {
		t.Errorf("second Dequeue(32) returned %d, want the remaining 8", got)
	}
	for _, n := range []int{0, 33, -1} {
		_, err := q.Dequeue(ctx, name, n, time.Minute)
		wantErr(t, fmt.Sprintf("Dequeue(%d)", n), err, queue.ErrInvalid)
	}
}

func testBodyLimitAndBinary(t *testing.T, q queue.Queue, _ Sleeper, name string) {
	// Every byte value, so invalid UTF-8 and NULs must survive.
	binary := make([]byte, 0, 512)
	for i := range 512 {
		binary = append(binary, byte(255-i%256))
	}
	largest := bytes.Repeat([]byte{0xfe, 0x00, 0x80}, queue.MaxBodySize/3)
	for _, body := range [][]byte{binary, largest, []byte("x")} {
		enqueue(t, q, name, body, 0)
		m := dequeueOne(t, q, name, time.Minute)
		if !bytes.Equal(m.Body, body) {
			t.Errorf("body of %d bytes came back as %d bytes, different", len(body), len(m.Body))
		}
		if err := q.Delete(ctx, name, m.ID, m.PopReceipt); err != nil {
			t.Fatal(err)
		}
	}
	err := q.Enqueue(ctx, name, make([]byte, queue.MaxBodySize+1), 0)
	wantErr(t, "Enqueue of 48 KiB + 1", err, queue.ErrInvalid)
	wantLen(t, q, name, 0)
}

func testDelay(t *testing.T, q queue.Queue, clock Sleeper, name string) {
	enqueue(t, q, name, []byte("later"), time.Second)
	if msgs := dequeue(t, q, name, 1, time.Minute); len(msgs) != 0 {
		t.Fatalf("a delayed message was delivered before its delay")
	}
	wantLen(t, q, name, 1)
	m := eventually(t, q, clock, name, time.Minute, 5*time.Second)
	if string(m.Body) != "later" || m.DequeueCount != 1 {
		t.Errorf("delayed message: body %q, DequeueCount %d; want later, 1", m.Body, m.DequeueCount)
	}
}

func testVisibilityTimeout(t *testing.T, q queue.Queue, clock Sleeper, name string) {
	enqueue(t, q, name, []byte("retry me"), 0)
	first := dequeueOne(t, q, name, time.Second)
	second := eventually(t, q, clock, name, time.Minute, 5*time.Second)
	if second.ID != first.ID {
		t.Fatalf("got message %s, want %s back", second.ID, first.ID)
	}
	if second.DequeueCount != first.DequeueCount+1 {
		t.Errorf("DequeueCount = %d, want %d", second.DequeueCount, first.DequeueCount+1)
	}
	if second.PopReceipt == first.PopReceipt {
		t.Error("the second receipt reused the first pop receipt")
	}
	if string(second.Body) != "retry me" {
		t.Errorf("Body = %q after reappearing", second.Body)
	}
	wantErr(t, "Delete with the first receipt", q.Delete(ctx, name, first.ID, first.PopReceipt), queue.ErrNotFound)
	if err := q.Delete(ctx, name, second.ID, second.PopReceipt); err != nil {
		t.Errorf("Delete with the current receipt: %v", err)
	}
}

func testUpdateVisibility(t *testing.T, q queue.Queue, _ Sleeper, name string) {
	enqueue(t, q, name, []byte("keep my body"), 0)
	m := dequeueOne(t, q, name, time.Minute)
	extended, err := q.UpdateVisibility(ctx, name, m.ID, m.PopReceipt, 2*time.Minute)
	if err != nil {
		t.Fatalf("UpdateVisibility(2m): %v", err)
	}
	if extended == "" || extended == m.PopReceipt {
		t.Fatalf("UpdateVisibility returned receipt %q; want a new one", extended)
	}
	if msgs := dequeue(t, q, name, 1, time.Minute); len(msgs) != 0 {
		t.Fatal("message visible after its visibility was extended")
	}
	_, err = q.UpdateVisibility(ctx, name, m.ID, m.PopReceipt, 0)
	wantErr(t, "UpdateVisibility with the replaced receipt", err, queue.ErrNotFound)
	released, err := q.UpdateVisibility(ctx, name, m.ID, extended, 0)
	if err != nil {
		t.Fatalf("UpdateVisibility(0): %v", err)
	}
	again := dequeueOne(t, q, name, time.Minute)
	if again.ID != m.ID || again.DequeueCount != 2 || string(again.Body) != "keep my body" {
		t.Errorf("after release: id %s count %d body %q; want %s, 2, keep my body", again.ID, again.DequeueCount, again.Body, m.ID)
	}
	wantErr(t, "Delete with a receipt from before the new receipt", q.Delete(ctx, name, m.ID, released), queue.ErrNotFound)
}

func testStaleReceipts(t *testing.T, q queue.Queue, _ Sleeper, name string) {
	enqueue(t, q, name, []byte("a"), 0)
	m := dequeueOne(t, q, name, time.Minute)
	if err := q.Delete(ctx, name, m.ID, m.PopReceipt); err != nil {
		t.Fatal(err)
	}
	_, err := q.UpdateVisibility(ctx, name, m.ID, m.PopReceipt, 0)
	wantErr(t, "UpdateVisibility of a deleted message", err, queue.ErrNotFound)
	wantErr(t, "Delete on a queue never created", q.Delete(ctx, NewQueueName(t), m.ID, m.PopReceipt), queue.ErrNotFound)
	wantErr(t, "Delete with an empty receipt", q.Delete(ctx, name, m.ID, ""), queue.ErrInvalid)
}

// The consumer's rule: a failed message goes back for another try until it
// has been received MaxDequeueCount times, then to "<queue>-poison".
func testPoison(t *testing.T, q queue.Queue, _ Sleeper, name string) {
	body := []byte{0xff, 0x00, 'p'}
	enqueue(t, q, name, body, 0)
	receipts := 0
	for {
		msgs := dequeue(t, q, name, 1, time.Minute)
		if len(msgs) == 0 {
			break
		}
		receipts++
		if receipts > queue.MaxDequeueCount {
			t.Fatalf("message received %d times; the rule allows %d", receipts, queue.MaxDequeueCount)
		}
		poisoned, err := queue.Abandon(ctx, q, name, msgs[0], 0)
		if err != nil {
			t.Fatalf("Abandon after receipt %d: %v", receipts, err)
		}
		if want := receipts == queue.MaxDequeueCount; poisoned != want {
			t.Errorf("receipt %d: poisoned = %v, want %v", receipts, poisoned, want)
		}
	}
	if receipts != queue.MaxDequeueCount {
		t.Errorf("message received %d times before poisoning, want %d", receipts, queue.MaxDequeueCount)
	}
	wantLen(t, q, name, 0)
	poison := name + queue.PoisonSuffix
	m := dequeueOne(t, q, poison, time.Minute)
	if !bytes.Equal(m.Body, body) || m.DequeueCount != 1 {
		t.Errorf("poison message: body %x, count %d; want %x, 1", m.Body, m.DequeueCount, body)
	}
	// A poison queue has no poison queue of its own.
	if _, ok := queue.PoisonQueueName(poison); ok {
		t.Errorf("PoisonQueueName(%s) offered a poison queue for a poison queue", poison)
	}
	wantErr(t, "MoveToPoison from a poison queue", queue.MoveToPoison(ctx, q, poison, m), queue.ErrInvalid)
}

func testInvalidRequests(t *testing.T, q queue.Queue, _ Sleeper, name string) {
	for _, bad := range []string{"ab", "Abc", "a--b", "-ab", "ab-", "a_b", "a.b", strings.Repeat("a", 64)} {
		wantErr(t, fmt.Sprintf("Enqueue to %q", bad), q.Enqueue(ctx, bad, []byte("x"), 0), queue.ErrInvalid)
		_, err := q.Dequeue(ctx, bad, 1, time.Minute)
		wantErr(t, fmt.Sprintf("Dequeue from %q", bad), err, queue.ErrInvalid)
	}
	wantErr(t, "negative delay", q.Enqueue(ctx, name, []byte("x"), -time.Second), queue.ErrInvalid)
	wantErr(t, "delay over 7 days", q.Enqueue(ctx, name, []byte("x"), 8*24*time.Hour), queue.ErrInvalid)
	_, err := q.Dequeue(ctx, name, 1, 0)
	wantErr(t, "visibility 0 on Dequeue", err, queue.ErrInvalid)
	wantLen(t, q, name, 0)
}

func testLenAndDeleteQueue(t *testing.T, q queue.Queue, _ Sleeper, name string) {
	wantLen(t, q, name, 0)
	if msgs := dequeue(t, q, name, 32, time.Minute); len(msgs) != 0 {
		t.Errorf("Dequeue from a queue never written returned %d messages", len(msgs))
	}
	for range 3 {
		enqueue(t, q, name, []byte("x"), 0)
	}
	wantLen(t, q, name, 3)
	if err := q.DeleteQueue(ctx, name); err != nil {
		t.Fatalf("DeleteQueue: %v", err)
	}
	wantLen(t, q, name, 0)
	if err := q.DeleteQueue(ctx, name); err != nil {
		t.Errorf("DeleteQueue of a deleted queue: %v", err)
	}
}

func testConcurrentDequeue(t *testing.T, q queue.Queue, _ Sleeper, name string) {
	const total, workers = 40, 8
	for i := range total {
		enqueue(t, q, name, []byte(fmt.Sprint(i)), 0)
	}
	var (
		mu   sync.Mutex
		seen = map[string]int{}
		wg   sync.WaitGroup
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				msgs, err := q.Dequeue(ctx, name, 5, time.Minute)
				if err != nil {
					t.Errorf("Dequeue: %v", err)
					return
				}
				if len(msgs) == 0 {
					return
				}
				mu.Lock()
				for _, m := range msgs {
					seen[m.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != total {
		t.Errorf("workers received %d distinct messages, want %d", len(seen), total)
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("message %s delivered %d times while invisible", id, n)
		}
	}
}
