package side

import (
	"context"
	"net/http"
)

// Pusher is an optional connector ability: the webhook its vendor calls when
// a user's data changed (Graph change notifications). The handler checks
// each delivery is genuine and asks for a session of the user through
// enqueue; the notifications function serves it.
type Pusher interface {
	PushHandler(enqueue func(ctx context.Context, user string) error) http.Handler
}
