package queue_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/crmsync/crmsync/shared/queue"
	"github.com/crmsync/crmsync/shared/queue/queuetest"
	"github.com/crmsync/crmsync/shared/tablestore"
)

var ctx = context.Background()

// clocked is an embedded queue whose time the suite advances.
type clocked struct {
	*queue.Embedded
	*queuetest.FakeClock
}

func openEmbedded(t testing.TB, opts ...queue.EmbeddedOption) *queue.Embedded {
	t.Helper()
	q, err := queue.OpenEmbedded(filepath.Join(t.TempDir(), "queue.db"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Close() })
	return q
}

func TestConformanceEmbedded(t *testing.T) {
	queuetest.Run(t, func(t *testing.T) queue.Queue {
		clock := queuetest.NewFakeClock()
		return clocked{openEmbedded(t, queue.WithClock(clock.Now)), clock}
	})
}

func TestEmbeddedMessageSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "queue.db")
	q, err := queue.OpenEmbedded(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Enqueue(ctx, "sync-sessions", []byte("survivor"), 0); err != nil {
		t.Fatal(err)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	q = openAt(t, path)
	msgs, err := q.Dequeue(ctx, "sync-sessions", 32, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || string(msgs[0].Body) != "survivor" {
		t.Fatalf("after reopening got %d messages %v, want the one enqueued before", len(msgs), msgs)
	}
}

// The queue and the table store may share one SQLite file.
func TestEmbeddedSharesFileWithTableStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crmsync.db")
	q := openAt(t, path)
	s, err := tablestore.OpenEmbedded(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if _, err := s.Insert(ctx, "users", tablestore.Entity{PartitionKey: "u", RowKey: "1"}); err != nil {
		t.Fatal(err)
	}
	if err := q.Enqueue(ctx, "sync-sessions", []byte("x"), 0); err != nil {
		t.Fatal(err)
	}
	if n, err := q.Len(ctx, "sync-sessions"); err != nil || n != 1 {
		t.Errorf("Len = %d, %v; want 1", n, err)
	}
	if _, err := s.Get(ctx, "users", "u", "1"); err != nil {
		t.Errorf("Get from the shared file: %v", err)
	}
}

func openAt(t testing.TB, path string, opts ...queue.EmbeddedOption) *queue.Embedded {
	t.Helper()
	q, err := queue.OpenEmbedded(path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Close() })
	return q
}

// helperEnv names the database a child process of TestDequeueAcrossProcesses
// drains.
const helperEnv = "CRMSYNC_QUEUE_HELPER_DB"

// TestDequeueAcrossProcesses runs consumers in separate processes on one file
// and checks that no message is delivered twice while invisible.
func TestDequeueAcrossProcesses(t *testing.T) {
	if path := os.Getenv(helperEnv); path != "" {
		drain(t, path)
		return
	}
	const total, children = 60, 3
	path := filepath.Join(t.TempDir(), "shared.db")
	q := openAt(t, path)
	for i := range total {
		if err := q.Enqueue(ctx, "work", []byte(strconv.Itoa(i)), 0); err != nil {
			t.Fatal(err)
		}
	}
	var cmds []*exec.Cmd
	var outs []*bytes.Buffer
	for range children {
		cmd := exec.Command(os.Args[0], "-test.run=^TestDequeueAcrossProcesses$", "-test.count=1")
		cmd.Env = append(os.Environ(), helperEnv+"="+path)
		out := &bytes.Buffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, outs = append(cmds, cmd), append(outs, out)
	}
	seen := map[string]int{}
	mine := drainIDs(t, q)
	for _, id := range mine {
		seen[id]++
	}
	t.Logf("this process received %d of %d messages", len(mine), total)
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("consumer process %d: %v\n%s", i, err, outs[i])
		}
		for _, line := range strings.Split(outs[i].String(), "\n") {
			if id, ok := strings.CutPrefix(line, "RECEIVED "); ok {
				seen[id]++
			}
		}
	}
	if len(seen) != total {
		t.Errorf("consumers received %d distinct messages, want %d", len(seen), total)
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("message %s delivered %d times while invisible", id, n)
		}
	}
}

func drain(t *testing.T, path string) {
	q := openAt(t, path)
	for _, id := range drainIDs(t, q) {
		fmt.Println("RECEIVED " + id)
	}
}

func drainIDs(t *testing.T, q *queue.Embedded) []string {
	var ids []string
	for {
		msgs, err := q.Dequeue(ctx, "work", 2, time.Hour)
		if err != nil {
			t.Fatalf("Dequeue: %v", err)
		}
		if len(msgs) == 0 {
			return ids
		}
		for _, m := range msgs {
			ids = append(ids, m.ID)
		}
	}
}

// Code that uses the embedded queue can be tested under testing/synctest:
// with the default clock, delays follow the bubble's fake time. The database
// is opened outside the bubble so its pool goroutines do not belong to it.
func TestEmbeddedUnderSynctest(t *testing.T) {
	q := openEmbedded(t)
	synctest.Test(t, func(t *testing.T) {
		if err := q.Enqueue(ctx, "later", []byte("x"), time.Hour); err != nil {
			t.Fatal(err)
		}
		if msgs, err := q.Dequeue(ctx, "later", 1, time.Minute); err != nil || len(msgs) != 0 {
			t.Fatalf("before the delay: %d messages, %v; want none", len(msgs), err)
		}
		time.Sleep(time.Hour)
		if msgs, err := q.Dequeue(ctx, "later", 1, time.Minute); err != nil || len(msgs) != 1 {
			t.Fatalf("after the delay: %d messages, %v; want 1", len(msgs), err)
		}
	})
}

// A batch lands whole, each message once and in order, with the delay; a bad
// body refuses the batch before anything is written.
func TestEmbeddedEnqueueBatch(t *testing.T) {
	clock := queuetest.NewFakeClock()
	q := openEmbedded(t, queue.WithClock(clock.Now))
	const name = "batch-test"
	if err := q.EnqueueBatch(ctx, name, [][]byte{[]byte("a"), []byte("b"), []byte("c")}, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if msgs, err := q.Dequeue(ctx, name, 32, time.Minute); err != nil || len(msgs) != 0 {
		t.Fatalf("before the delay: %d messages (%v), want none", len(msgs), err)
	}
	clock.Sleep(2 * time.Second)
	msgs, err := q.Dequeue(ctx, name, 32, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range msgs {
		got = append(got, string(m.Body))
	}
	if strings.Join(got, ",") != "a,b,c" {
		t.Errorf("dequeued %q, want a,b,c", got)
	}
	big := bytes.Repeat([]byte("x"), queue.MaxBodySize+1)
	if err := q.EnqueueBatch(ctx, name, [][]byte{[]byte("d"), big}, 0); err == nil || !strings.Contains(err.Error(), "batch message 1") {
		t.Errorf("oversize body in a batch: err = %v, want one naming message 1", err)
	}
	if n, err := q.Len(ctx, name); err != nil || n != 3 {
		t.Errorf("after a refused batch the queue holds %d (%v), want the 3 from before", n, err)
	}
	if err := q.EnqueueBatch(ctx, name, nil, 0); err != nil {
		t.Errorf("empty batch: %v", err)
	}
}
