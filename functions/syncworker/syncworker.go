// Package syncworker is the queue function that runs one sync session for one
// user per message on the sync-sessions queue.
package syncworker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/crmsync/crmsync/shared/funchost"
)

// Queue is the queue the function consumes.
const Queue = "sync-sessions"

// ErrEngineMissing fails every session until the sync engine exists, so that
// messages are retried and end in the poison queue rather than being dropped as
// if they had synced.
var ErrEngineMissing = errors.New("sync engine not built yet")

// Request is one session request: whose sync to run and why.
type Request struct {
	TenantID string `json:"tenantId"`
	UserID   string `json:"userId"`
	// Reason says what asked for the session: "schedule", "notification", "manual".
	Reason string `json:"reason,omitempty"`
}

// DecodeRequest parses and checks a message body.
func DecodeRequest(body []byte) (Request, error) {
	var r Request
	if err := json.Unmarshal(body, &r); err != nil {
		return Request{}, fmt.Errorf("session request is not JSON: %w", err)
	}
	if r.UserID == "" {
		return Request{}, errors.New("session request has no userId")
	}
	return r, nil
}

// Worker is the queue function.
type Worker struct {
	log *slog.Logger
}

// New returns the sync worker function.
func New(log *slog.Logger) *Worker {
	return &Worker{log: log.With("function", "syncworker")}
}

// Handle runs the session a message asks for. Until the engine exists it fails
// honestly with ErrEngineMissing.
func (w *Worker) Handle(ctx context.Context, msg funchost.QueueTrigger) (funchost.Outputs, error) {
	req, err := DecodeRequest(msg.Body)
	if err != nil {
		return nil, err
	}
	w.log.InfoContext(ctx, "session requested", "user", req.UserID, "tenant", req.TenantID,
		"reason", req.Reason, "attempt", msg.DequeueCount, "invocation", msg.InvocationID)
	return nil, ErrEngineMissing
}
