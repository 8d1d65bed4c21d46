package azurite

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// startTimeout bounds how long Azurite may take to answer HTTP; it is ready in
// about 2 s on an idle build machine but much slower when other test
// binaries load the two cores, so this only guards against a hang.
const startTimeout = 90 * time.Second

// freePorts asks the kernel for n distinct free loopback ports. They are
// released before Azurite binds them, so a race is possible; launch retries.
func freePorts(n int) ([]int, error) {
	var ports []int
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("azurite: free port: %w", err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// waitHTTP polls the port until it answers HTTP with any status (Azurite
// answers an unsigned GET with 400 or 403 once it is up), the process exits,
// or startTimeout passes.
func waitHTTP(port int, s *service) error {
	client := &http.Client{Timeout: time.Second}
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	deadline := time.Now().Add(startTimeout)
	for {
		resp, err := client.Get(url)
		if err == nil {
			_ = resp.Body.Close()
			return nil
		}
		select {
		case werr := <-s.exited:
			// Put the result back so stop can still drain it.
			s.exited <- werr
			return fmt.Errorf("exited (%v): %s", werr, s.log.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no HTTP answer on port %d after %s: %s", port, startTimeout, s.log.String())
		}
	}
}

// limitedBuffer keeps the first max bytes of a process's output for error
// messages and drops the rest, so a chatty emulator cannot grow memory.
type limitedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
