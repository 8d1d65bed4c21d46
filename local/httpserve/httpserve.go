// Package httpserve serves a local server's handler until its context ends,
// then shuts it down gracefully: what the local fake servers' commands
// (fake-salesforce, fake-graph, fake-c4c, fake-google) share, so that the
// local command's one signal context (SIGINT, SIGTERM) stops each of them.
package httpserve

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// Until serves h on ln until ctx is done, then gives requests in flight up to
// 5 s to finish. It returns nil after a shutdown, the server's error
// otherwise.
func Until(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
		case <-done:
			return
		}
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
