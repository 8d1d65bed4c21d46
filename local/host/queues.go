package host

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/crmsync/crmsync/shared/queue"
)

// holdVisibility is how long a message stays hidden while its function runs,
// renewed every third of it. The Functions host holds a message for 10
// minutes; the local host holds it for one, so that when the host itself is
// killed mid-invocation the message is back within a minute of the restart
// rather than ten — by then the crashed session's lease (session.
// DefaultLeaseTTL) has run out too, or the request is deferred past it.
// The price is one queue write every 20 s per running invocation.
const holdVisibility = time.Minute

// minPollingInterval is the first pause after an empty poll; it doubles up to
// host.json's maxPollingInterval.
const minPollingInterval = 100 * time.Millisecond

// listenQueue polls a queue trigger's queue and runs its function on each
// message, with at most batchSize+newBatchThreshold invocations in flight.
func (h *Host) listenQueue(ctx context.Context, fn AppFunction) {
	qs := h.app.Settings.Queues
	name := fn.Trigger().QueueName
	log := h.log.With("function", fn.Name, "queue", name)
	slots := make(chan struct{}, qs.BatchSize+qs.NewBatchThreshold)
	var running sync.WaitGroup
	defer running.Wait()
	pause := minPollingInterval
	for {
		// Take one slot (waiting if all are busy), then as many more as are
		// free, up to a batch.
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		n := 1
		for n < qs.BatchSize && len(slots) < cap(slots) {
			slots <- struct{}{}
			n++
		}
		msgs, err := h.queue.Dequeue(ctx, name, n, holdVisibility)
		for range n - len(msgs) {
			<-slots
		}
		if err != nil && ctx.Err() == nil {
			log.Error("dequeue failed", "error", err)
		}
		if len(msgs) > 0 {
			pause = minPollingInterval
			for _, m := range msgs {
				running.Go(func() {
					defer func() { <-slots }()
					h.process(ctx, fn, m)
				})
			}
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, qs.MaxPollingInterval)
	}
}

// process runs one message: success deletes it; failure makes it visible again
// after visibilityTimeout, or moves it to the poison queue on the last attempt.
func (h *Host) process(ctx context.Context, fn AppFunction, m queue.Message) {
	qs := h.app.Settings.Queues
	name := fn.Trigger().QueueName
	log := h.log.With("function", fn.Name, "queue", name, "message", m.ID, "attempt", m.DequeueCount)
	// Storage calls after ctx ends (shutdown) still need to finish.
	bg := context.WithoutCancel(ctx)

	if m.DequeueCount > qs.MaxDequeueCount {
		h.poison(bg, name, m, log, "dequeue count "+strconv.Itoa(m.DequeueCount)+" is over maxDequeueCount "+strconv.Itoa(qs.MaxDequeueCount))
		return
	}

	lease := &lease{receipt: m.PopReceipt}
	stopRenew := h.renew(ctx, name, m.ID, lease, log)
	data := map[string]any{fn.Trigger().Name: string(m.Body)}
	metadata := map[string]any{
		"DequeueCount":    strconv.Itoa(m.DequeueCount),
		"Id":              quoted(m.ID),
		"PopReceipt":      quoted(m.PopReceipt),
		"InsertionTime":   hostTime(m.InsertedAt),
		"ExpirationTime":  hostTime(m.ExpiresAt),
		"NextVisibleTime": hostTime(m.NextVisible),
	}
	start := time.Now()
	res, err := h.invoke(ctx, fn, data, metadata)
	if err == nil {
		err = h.enqueueOutputs(bg, fn, res)
	}
	stopRenew()
	receipt := lease.get()

	switch {
	case err == nil:
		if derr := h.queue.Delete(bg, name, m.ID, receipt); derr != nil {
			log.Error("deleting processed message failed; it will run again", "error", derr)
			return
		}
		log.Info("queue invocation succeeded", "took", time.Since(start).Round(time.Millisecond))
	case ctx.Err() != nil:
		// Shutting down: hand the message back at once rather than hiding it for
		// the rest of the 10-minute hold.
		if _, uerr := h.queue.UpdateVisibility(bg, name, m.ID, receipt, 0); uerr != nil {
			log.Warn("releasing message on shutdown failed", "error", uerr)
		}
	case m.DequeueCount >= qs.MaxDequeueCount:
		h.poison(bg, name, queue.Message{ID: m.ID, PopReceipt: receipt, Body: m.Body, DequeueCount: m.DequeueCount}, log, err.Error())
	default:
		if _, uerr := h.queue.UpdateVisibility(bg, name, m.ID, receipt, qs.VisibilityTimeout); uerr != nil {
			log.Error("releasing failed message failed", "error", uerr)
		}
		log.Warn("queue invocation failed; will retry", "error", err, "retryIn", qs.VisibilityTimeout,
			"attemptsLeft", qs.MaxDequeueCount-m.DequeueCount)
	}
}

// poison moves a message to "<queue>-poison" and logs why. A queue without a
// poison queue (one that is itself a poison queue) keeps the message hidden for
// visibilityTimeout instead, as the Functions host does, until it expires.
func (h *Host) poison(ctx context.Context, name string, m queue.Message, log *slog.Logger, reason string) {
	poisonName, ok := queue.PoisonQueueName(name)
	if !ok {
		if _, err := h.queue.UpdateVisibility(ctx, name, m.ID, m.PopReceipt, h.app.Settings.Queues.VisibilityTimeout); err != nil {
			log.Error("releasing failed message failed", "error", err)
		}
		log.Error("message failed its last attempt; its queue has no poison queue", "reason", reason)
		return
	}
	if err := queue.MoveToPoison(ctx, h.queue, name, m); err != nil {
		log.Error("moving message to poison queue failed", "error", err, "reason", reason)
		return
	}
	log.Error("message moved to poison queue", "poisonQueue", poisonName, "reason", reason)
}

// lease tracks a held message's current pop receipt, which every visibility
// renewal replaces.
type lease struct {
	mu      sync.Mutex
	receipt string
}

func (l *lease) get() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.receipt
}

func (l *lease) set(r string) {
	l.mu.Lock()
	l.receipt = r
	l.mu.Unlock()
}

// renew keeps a message hidden while its function runs, renewing the hold
// every third of its period (two renewals may fail before it lapses). The returned func stops it and waits.
func (h *Host) renew(ctx context.Context, name, id string, l *lease, log *slog.Logger) func() {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(holdVisibility / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				r, err := h.queue.UpdateVisibility(ctx, name, id, l.get(), holdVisibility)
				if err != nil {
					log.Warn("renewing message hold failed", "error", err)
					continue
				}
				l.set(r)
			}
		}
	}()
	return func() { cancel(); <-done }
}
