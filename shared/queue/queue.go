// Package queue is crmsync's message queue with Azure Storage Queue semantics:
// at-least-once delivery, visibility timeouts, pop receipts, dequeue counts and a
// "<queue>-poison" queue for messages that keep failing. Two implementations
// exist: Azure (azqueue, tested against Azurite) and Embedded (one SQLite file).
// Both pass the same conformance suite.
package queue

import (
	"context"
	"errors"
	"time"
)

// MaxDequeueCount is the number of attempts after which a message is moved to
// the poison queue, as the Functions host does by default.
const MaxDequeueCount = 5

// PoisonSuffix is appended to a queue's name to name its poison queue.
const PoisonSuffix = "-poison"

// Message is one delivered message.
type Message struct {
	ID         string
	PopReceipt string
	// Body is the raw message; the Azure implementation base64-encodes it on the
	// wire, as the Functions queue trigger expects.
	Body         []byte
	DequeueCount int
	InsertedAt   time.Time
	ExpiresAt    time.Time
	NextVisible  time.Time
}

// Queue is the message queue the service uses. Queues are created on first use.
// Queue names follow Azure's rules (see ValidateName). Delays and visibility
// timeouts are rounded up to whole seconds, the service's granularity, and
// may not exceed 7 days; messages expire 7 days after they are enqueued.
type Queue interface {
	// Enqueue adds a message that becomes visible after delay (0 = at once).
	// Bodies over 48 KiB are refused with ErrInvalid.
	Enqueue(ctx context.Context, queue string, body []byte, delay time.Duration) error
	// Dequeue receives up to max (1..32) visible messages and hides them for
	// visibility (at least 1 s); each receipt increments DequeueCount and issues
	// a new PopReceipt. A queue never written to yields no messages.
	Dequeue(ctx context.Context, queue string, max int, visibility time.Duration) ([]Message, error)
	// Delete removes a received message; ErrNotFound when the pop receipt is stale.
	Delete(ctx context.Context, queue, id, popReceipt string) error
	// UpdateVisibility hides a received message for visibility more (0 = visible
	// now) and returns its new pop receipt; ErrNotFound when the receipt is stale.
	UpdateVisibility(ctx context.Context, queue, id, popReceipt string, visibility time.Duration) (newPopReceipt string, err error)
	// Len reports the approximate number of messages in a queue.
	Len(ctx context.Context, queue string) (int, error)
	// DeleteQueue drops a queue and its messages; no error when absent.
	DeleteQueue(ctx context.Context, queue string) error
}

var (
	// ErrNotFound: the message is gone or the pop receipt no longer matches.
	ErrNotFound = errors.New("queue: message not found or pop receipt stale")
	// ErrInvalid: the request breaks a queue rule (name, size, counts).
	ErrInvalid = errors.New("queue: invalid request")
)
