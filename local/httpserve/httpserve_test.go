package httpserve

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
)

// TestUntilServesThenStopsWithItsContext: the handler answers while the
// context lives; cancelling it ends Until with nil and closes the listener.
func TestUntilServesThenStopsWithItsContext(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- Until(ctx, ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "up") }))
	}()
	resp, err := http.Get("http://" + ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "up" {
		t.Fatalf("body %q", body)
	}
	cancel()
	if err := <-served; err != nil {
		t.Fatalf("Until after cancel: %v", err)
	}
	if _, err := http.Get("http://" + ln.Addr().String()); err == nil {
		t.Fatal("still serving after the context ended")
	}
}
