package host

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/crmsync/crmsync/shared/queue"
)

// memQueue is an in-memory queue.Queue for tests of the host's queue logic.
type memQueue struct {
	mu   sync.Mutex
	seq  int
	msgs map[string][]*queue.Message
}

func newMemQueue() *memQueue { return &memQueue{msgs: map[string][]*queue.Message{}} }

func (q *memQueue) Enqueue(_ context.Context, name string, body []byte, delay time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.seq++
	now := time.Now()
	q.msgs[name] = append(q.msgs[name], &queue.Message{ID: fmt.Sprintf("m%d", q.seq), Body: append([]byte(nil), body...),
		InsertedAt: now, ExpiresAt: now.Add(7 * 24 * time.Hour), NextVisible: now.Add(delay)})
	return nil
}

func (q *memQueue) Dequeue(_ context.Context, name string, max int, visibility time.Duration) ([]queue.Message, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []queue.Message
	now := time.Now()
	for _, m := range q.msgs[name] {
		if len(out) == max {
			break
		}
		if m.NextVisible.After(now) {
			continue
		}
		q.seq++
		m.DequeueCount++
		m.PopReceipt = fmt.Sprintf("r%d", q.seq)
		m.NextVisible = now.Add(visibility)
		out = append(out, *m)
	}
	return out, nil
}

func (q *memQueue) find(name, id, receipt string) (int, error) {
	for i, m := range q.msgs[name] {
		if m.ID == id {
			if m.PopReceipt != receipt {
				return 0, queue.ErrNotFound
			}
			return i, nil
		}
	}
	return 0, queue.ErrNotFound
}

func (q *memQueue) Delete(_ context.Context, name, id, receipt string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	i, err := q.find(name, id, receipt)
	if err != nil {
		return err
	}
	q.msgs[name] = append(q.msgs[name][:i], q.msgs[name][i+1:]...)
	return nil
}

func (q *memQueue) UpdateVisibility(_ context.Context, name, id, receipt string, visibility time.Duration) (string, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	i, err := q.find(name, id, receipt)
	if err != nil {
		return "", err
	}
	q.seq++
	m := q.msgs[name][i]
	m.PopReceipt = fmt.Sprintf("r%d", q.seq)
	m.NextVisible = time.Now().Add(visibility)
	return m.PopReceipt, nil
}

func (q *memQueue) Len(_ context.Context, name string) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.msgs[name]), nil
}

func (q *memQueue) DeleteQueue(_ context.Context, name string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.msgs, name)
	return nil
}

func (q *memQueue) bodies(name string) []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []string
	for _, m := range q.msgs[name] {
		out = append(out, string(m.Body))
	}
	return out
}
