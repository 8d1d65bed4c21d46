package host

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/crmsync/crmsync/shared/funchost"
	"github.com/crmsync/crmsync/shared/queue"
	"github.com/crmsync/crmsync/shared/settings"
)

// queueHostJSON is host.json with the given queue batching and fast polling.
func queueHostJSON(batchSize int, newBatchThreshold string) string {
	threshold := ""
	if newBatchThreshold != "" {
		threshold = `"newBatchThreshold": ` + newBatchThreshold + `, `
	}
	return `{"version": "2.0",
  "customHandler": {"description": {"defaultExecutablePath": "handler"}},
  "extensions": {"queues": {"batchSize": ` + strconv.Itoa(batchSize) + `, ` + threshold +
		`"visibilityTimeout": "00:00:00", "maxPollingInterval": "00:00:00.050"}}}`
}

// gate is a queue function that holds every message until the test lets one
// go, counting how many run at once.
type gate struct {
	mu      sync.Mutex
	running int
	most    int
	done    []string
	release chan struct{}
}

func newGate() *gate { return &gate{release: make(chan struct{})} }

func (g *gate) function(queueName string) funchost.Function {
	return funchost.Function{Name: "worker", Trigger: funchost.QueueTriggerOn(queueName),
		Queue: func(ctx context.Context, m funchost.QueueTrigger) (funchost.Outputs, error) {
			g.mu.Lock()
			g.running++
			g.most = max(g.most, g.running)
			g.mu.Unlock()
			defer func() {
				g.mu.Lock()
				g.running--
				g.mu.Unlock()
			}()
			select {
			case <-g.release:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			g.mu.Lock()
			g.done = append(g.done, fmt.Sprintf("%s#%d", m.Body, m.DequeueCount))
			g.mu.Unlock()
			return nil, nil
		}}
}

func (g *gate) state() (running, most int, done []string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.running, g.most, append([]string(nil), g.done...)
}

// TestBatchSizeLimitsConcurrency: host.json's extensions.queues.batchSize and
// newBatchThreshold bound how many messages of one queue run at once
// (batchSize + newBatchThreshold, as the Functions host does). The test lets
// one message finish at a time and checks the count each time it settles.
func TestBatchSizeLimitsConcurrency(t *testing.T) {
	tests := []struct {
		name              string
		batchSize         int
		newBatchThreshold string
		want              int
	}{
		{"batchSize 1, no new batch until done", 1, "0", 1},
		{"batchSize 3, no new batch until done", 3, "0", 3},
		{"batchSize 4, default newBatchThreshold (batchSize/2)", 4, "", 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGate()
			fns := []funchost.Function{g.function("work")}
			app := writeApp(t, queueHostJSON(tt.batchSize, tt.newBatchThreshold), fns)
			q := newMemQueue()
			total := 2*tt.want + 1
			for i := range total {
				if err := q.Enqueue(context.Background(), "work", []byte(strconv.Itoa(i)), 0); err != nil {
					t.Fatal(err)
				}
			}
			runHost(t, app, fns, Config{Queue: q, Log: slog.New(slog.DiscardHandler)})

			for finished := 0; finished < total; finished++ {
				want := min(tt.want, total-finished)
				eventually(t, fmt.Sprintf("%d messages running", want), func() bool {
					running, _, _ := g.state()
					return running >= want
				})
				g.release <- struct{}{}
			}
			eventually(t, "every message deleted", func() bool {
				n, _ := q.Len(context.Background(), "work")
				return n == 0
			})
			_, most, done := g.state()
			if most != tt.want {
				t.Errorf("got at most %d messages running at once, want %d", most, tt.want)
			}
			if len(done) != total {
				t.Errorf("got %d messages done, want %d", len(done), total)
			}
		})
	}
}

// TestRestartLosesNoQueuedMessage: a restart of the local host loses no
// queued message. The first host runs over an embedded SQLite queue in a
// data folder and is stopped while one message is running and another has
// not been delivered; the second host runs over a new open of the same file
// (as `serve` does after a restart) and delivers both.
func TestRestartLosesNoQueuedMessage(t *testing.T) {
	ctx := context.Background()
	path := settings.Settings{DataDir: t.TempDir()}.QueuesPath()
	g := newGate()
	fns := []funchost.Function{g.function("work")}
	app := writeApp(t, queueHostJSON(1, "0"), fns)
	log := slog.New(slog.DiscardHandler)

	first, err := queue.OpenEmbedded(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{"a", "b"} {
		if err := first.Enqueue(ctx, "work", []byte(body), 0); err != nil {
			t.Fatal(err)
		}
	}
	_, stop := runHost(t, app, fns, Config{Queue: first, Log: log})
	eventually(t, "one message running", func() bool {
		running, _, _ := g.state()
		return running == 1
	})
	stop() // the running message's invocation is cancelled and handed back
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, done := g.state(); len(done) != 0 {
		t.Fatalf("got %q done before the restart, want none", done)
	}

	second, err := queue.OpenEmbedded(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { second.Close() })
	if n, err := second.Len(ctx, "work"); err != nil || n != 2 {
		t.Fatalf("after the restart the queue holds %d messages (%v), want 2", n, err)
	}
	runHost(t, app, fns, Config{Queue: second, Log: log})
	for range 2 {
		g.release <- struct{}{}
	}
	eventually(t, "both messages deleted", func() bool {
		n, _ := second.Len(ctx, "work")
		return n == 0
	})
	_, _, done := g.state()
	sort.Strings(done)
	// "a" was running when the first host stopped (its second delivery), "b"
	// had not been delivered (its first).
	if diff := cmp.Diff([]string{"a#2", "b#1"}, done); diff != "" {
		t.Errorf("messages done after the restart, as body#dequeueCount (-want +got):\n%s", diff)
	}
}
