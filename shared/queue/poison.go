package queue

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// The poison rule, as the Functions queue trigger applies it: a consumer that
// fails to process a message checks ShouldPoison. When the message has been
// received MaxDequeueCount times (this receipt included), it is moved to
// "<queue>-poison" with MoveToPoison; otherwise it is released for another
// attempt. Abandon does both.

// PoisonQueueName names the poison queue of queue. ok is false for a queue
// that is itself a poison queue, or whose name has no room for the suffix;
// such queues keep failed messages until they expire.
func PoisonQueueName(queue string) (name string, ok bool) {
	if strings.HasSuffix(queue, PoisonSuffix) || len(queue)+len(PoisonSuffix) > 63 {
		return "", false
	}
	return queue + PoisonSuffix, true
}

// ShouldPoison reports whether a message that just failed has used up its
// attempts.
func ShouldPoison(m Message) bool { return m.DequeueCount >= MaxDequeueCount }

// MoveToPoison copies m's body into queue's poison queue and then deletes the
// original. The order makes it at-least-once: a crash in between leaves the
// message in both queues, never in neither. A stale pop receipt (someone else
// received the message meanwhile) is reported as ErrNotFound after the copy
// was made.
func MoveToPoison(ctx context.Context, q Queue, queue string, m Message) error {
	poison, ok := PoisonQueueName(queue)
	if !ok {
		return invalid("queue %q has no poison queue", queue)
	}
	if err := q.Enqueue(ctx, poison, m.Body, 0); err != nil {
		return fmt.Errorf("queue: copy message %s to %s: %w", m.ID, poison, err)
	}
	if err := q.Delete(ctx, queue, m.ID, m.PopReceipt); err != nil {
		return fmt.Errorf("queue: delete message %s from %s after poisoning: %w", m.ID, queue, err)
	}
	return nil
}

// Abandon handles a failed attempt at m: it moves the message to the poison
// queue when ShouldPoison says so (and the queue has one), or else makes it
// visible again after retryAfter (0 = at once, the Functions default).
func Abandon(ctx context.Context, q Queue, queue string, m Message, retryAfter time.Duration) (poisoned bool, err error) {
	if _, ok := PoisonQueueName(queue); ok && ShouldPoison(m) {
		return true, MoveToPoison(ctx, q, queue, m)
	}
	if _, err := q.UpdateVisibility(ctx, queue, m.ID, m.PopReceipt, retryAfter); err != nil {
		return false, fmt.Errorf("queue: release message %s of %s: %w", m.ID, queue, err)
	}
	return false, nil
}
