package queue

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue/queueerror"
)

// Azure is a Queue backed by Azure Storage Queues (or Azurite) through
// azqueue. Bodies travel base64-encoded, as the Functions queue trigger
// expects by default; azqueue does no encoding itself. Queues are created on
// first enqueue.
type Azure struct {
	svc     *azqueue.ServiceClient
	mu      sync.Mutex
	created map[string]bool
}

// NewAzure connects with a storage connection string. The development
// shortcut UseDevelopmentStorage=true is not understood by the SDK; give
// Azurite's full connection string.
func NewAzure(connString string) (*Azure, error) {
	svc, err := azqueue.NewServiceClientFromConnectionString(connString, clientOptions())
	if err != nil {
		return nil, fmt.Errorf("queue: connection string: %w", err)
	}
	return &Azure{svc: svc, created: map[string]bool{}}, nil
}

// NewAzureWithCredential connects to serviceURL (https://<account>.queue.core.windows.net)
// with an Entra ID credential, such as a managed identity.
func NewAzureWithCredential(serviceURL string, cred azcore.TokenCredential) (*Azure, error) {
	svc, err := azqueue.NewServiceClient(serviceURL, cred, clientOptions())
	if err != nil {
		return nil, fmt.Errorf("queue: service %s: %w", serviceURL, err)
	}
	return &Azure{svc: svc, created: map[string]bool{}}, nil
}

func clientOptions() *azqueue.ClientOptions {
	return &azqueue.ClientOptions{ClientOptions: azcore.ClientOptions{
		PerCallPolicies: []policy.Policy{keepContentPolicy{}},
	}}
}

type keepContentKey struct{}

// keepContentPolicy drops the body of an Update Message request made under a
// context from keepContent. azqueue always sends a MessageText, so updating
// only the visibility would otherwise overwrite the message with "". Without
// a body the service changes the visibility and keeps the content.
type keepContentPolicy struct{}

func (keepContentPolicy) Do(req *policy.Request) (*http.Response, error) {
	if keep, _ := req.Raw().Context().Value(keepContentKey{}).(bool); keep && req.Raw().Method == http.MethodPut {
		if err := req.SetBody(nil, ""); err != nil {
			return nil, err
		}
	}
	return req.Next()
}

// classify maps a service error to the package's error classes.
func classify(err error) error {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return err
	}
	var class error
	switch {
	case re.StatusCode == http.StatusNotFound,
		re.ErrorCode == string(queueerror.PopReceiptMismatch):
		class = ErrNotFound
	case re.StatusCode == http.StatusBadRequest, re.StatusCode == http.StatusRequestEntityTooLarge:
		class = ErrInvalid
	}
	if class == nil {
		return fmt.Errorf("queue service answered %d %s: %w", re.StatusCode, re.ErrorCode, err)
	}
	return fmt.Errorf("%w (service answered %d %s)", class, re.StatusCode, re.ErrorCode)
}

func isQueueNotFound(err error) bool {
	return queueerror.HasCode(err, queueerror.QueueNotFound)
}

// ensureQueue creates a queue once per process. Creating an existing queue
// with the same (no) metadata succeeds, so concurrent creators are fine.
func (q *Azure) ensureQueue(ctx context.Context, queue string) error {
	q.mu.Lock()
	done := q.created[queue]
	q.mu.Unlock()
	if done {
		return nil
	}
	if _, err := q.svc.CreateQueue(ctx, queue, nil); err != nil && !queueerror.HasCode(err, queueerror.QueueAlreadyExists) {
		return fmt.Errorf("queue: create %s: %w", queue, classify(err))
	}
	q.mu.Lock()
	q.created[queue] = true
	q.mu.Unlock()
	return nil
}

func (q *Azure) forget(queue string) {
	q.mu.Lock()
	delete(q.created, queue)
	q.mu.Unlock()
}

// Enqueue adds a message, base64-encoded, that becomes visible after delay.
func (q *Azure) Enqueue(ctx context.Context, queue string, body []byte, delay time.Duration) error {
	if err := validateEnqueue(queue, body, delay); err != nil {
		return err
	}
	text := base64.StdEncoding.EncodeToString(body)
	opts := &azqueue.EnqueueMessageOptions{}
	if delay > 0 {
		vis := seconds(delay)
		opts.VisibilityTimeout = &vis
	}
	for attempt := 0; ; attempt++ {
		if err := q.ensureQueue(ctx, queue); err != nil {
			return err
		}
		_, err := q.svc.NewQueueClient(queue).EnqueueMessage(ctx, text, opts)
		if attempt == 0 && isQueueNotFound(err) {
			q.forget(queue) // deleted behind our back: create it again
			continue
		}
		if err != nil {
			return fmt.Errorf("queue: enqueue to %s: %w", queue, classify(err))
		}
		return nil
	}
}

// Dequeue receives up to max visible messages and hides them for visibility.
// A message whose text is not base64 cannot have come from Enqueue; like the
// Functions host, the store moves it to the poison queue at once instead of
// returning it.
func (q *Azure) Dequeue(ctx context.Context, queue string, max int, visibility time.Duration) ([]Message, error) {
	if err := validateDequeue(queue, max, visibility); err != nil {
		return nil, err
	}
	n, vis := int32(max), seconds(visibility)
	resp, err := q.svc.NewQueueClient(queue).DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{NumberOfMessages: &n, VisibilityTimeout: &vis})
	if isQueueNotFound(err) {
		return nil, nil // a queue nobody wrote to is empty
	}
	if err != nil {
		return nil, fmt.Errorf("queue: dequeue from %s: %w", queue, classify(err))
	}
	msgs := make([]Message, 0, len(resp.Messages))
	for _, dm := range resp.Messages {
		m := Message{
			ID:           deref(dm.MessageID),
			PopReceipt:   deref(dm.PopReceipt),
			DequeueCount: int(derefInt(dm.DequeueCount)),
			InsertedAt:   derefTime(dm.InsertionTime),
			ExpiresAt:    derefTime(dm.ExpirationTime),
			NextVisible:  derefTime(dm.TimeNextVisible),
		}
		text := deref(dm.MessageText)
		body, err := base64.StdEncoding.DecodeString(text)
		if err != nil {
			m.Body = []byte(text)
			if perr := MoveToPoison(ctx, q, queue, m); perr != nil && !errors.Is(perr, ErrInvalid) {
				return nil, fmt.Errorf("queue: dequeue from %s: message %s is not base64: %w", queue, m.ID, perr)
			}
			continue
		}
		m.Body = body
		msgs = append(msgs, m)
	}
	return msgs, nil
}

// Delete removes a received message; ErrNotFound when the receipt is stale.
func (q *Azure) Delete(ctx context.Context, queue, id, popReceipt string) error {
	if err := validateReceipt(queue, id, popReceipt); err != nil {
		return err
	}
	if _, err := q.svc.NewQueueClient(queue).DeleteMessage(ctx, id, popReceipt, nil); err != nil {
		return fmt.Errorf("queue: delete message %s from %s: %w", id, queue, classify(err))
	}
	return nil
}

// UpdateVisibility hides a received message for visibility more and returns
// its new pop receipt. The content is left as it is.
func (q *Azure) UpdateVisibility(ctx context.Context, queue, id, popReceipt string, visibility time.Duration) (string, error) {
	if err := validateReceipt(queue, id, popReceipt); err != nil {
		return "", err
	}
	if err := validateDuration("visibility timeout", visibility, 0); err != nil {
		return "", err
	}
	vis := seconds(visibility)
	resp, err := q.svc.NewQueueClient(queue).UpdateMessage(context.WithValue(ctx, keepContentKey{}, true),
		id, popReceipt, "", &azqueue.UpdateMessageOptions{VisibilityTimeout: &vis})
	if err != nil {
		return "", fmt.Errorf("queue: update message %s of %s: %w", id, queue, classify(err))
	}
	return deref(resp.PopReceipt), nil
}

// Len reports the service's approximate message count.
func (q *Azure) Len(ctx context.Context, queue string) (int, error) {
	if err := ValidateName(queue); err != nil {
		return 0, err
	}
	resp, err := q.svc.NewQueueClient(queue).GetProperties(ctx, nil)
	if isQueueNotFound(err) || errors.Is(classify(err), ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("queue: length of %s: %w", queue, classify(err))
	}
	return int(derefInt32(resp.ApproximateMessagesCount)), nil
}

// DeleteQueue drops a queue and its messages; no error when absent.
func (q *Azure) DeleteQueue(ctx context.Context, queue string) error {
	if err := ValidateName(queue); err != nil {
		return err
	}
	q.forget(queue)
	if _, err := q.svc.DeleteQueue(ctx, queue, nil); err != nil && !errors.Is(classify(err), ErrNotFound) {
		return fmt.Errorf("queue: delete queue %s: %w", queue, classify(err))
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func derefInt(n *int64) int64 {
	if n == nil {
		return 0
	}
	return *n
}

func derefInt32(n *int32) int32 {
	if n == nil {
		return 0
	}
	return *n
}

func derefTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

var _ Queue = (*Azure)(nil)
