package funchost

import (
	"context"
	"errors"
	"sync"
)

type collectorKey struct{}

// collector gathers the output messages an HTTP function sends during one
// payload-mode invocation.
type collector struct {
	mu   sync.Mutex
	outs Outputs
}

// ErrNoOutputs is returned by AddOutput outside a payload-mode invocation: a
// function whose only output is its HTTP response is forwarded raw and has no
// output bindings to send to.
var ErrNoOutputs = errors.New("funchost: this invocation has no output bindings")

// AddOutput sends msg on the output binding named binding of the HTTP function
// serving the request whose context is ctx. Messages reach the queue only if
// the invocation succeeds.
func AddOutput(ctx context.Context, binding, msg string) error {
	c, ok := ctx.Value(collectorKey{}).(*collector)
	if !ok {
		return ErrNoOutputs
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.outs[binding] = append(c.outs[binding], msg)
	return nil
}
