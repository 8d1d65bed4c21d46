package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Handler is the custom handler the host drives: something that can be started
// and then answers HTTP at URL. The default runs the app's executable; tests
// may supply an in-process one.
type Handler interface {
	// Start brings the handler up and returns once it answers HTTP; it keeps it
	// running (restarting it when it dies) until ctx ends.
	Start(ctx context.Context) error
	// URL is the handler's base URL, e.g. http://127.0.0.1:41234.
	URL() string
}

// ReadyTimeout is how long a handler may take to answer its first request; the
// Functions docs allow 60 seconds.
const ReadyTimeout = 60 * time.Second

// Process runs the handler executable the way the Functions host does: on a free
// loopback port given in FUNCTIONS_CUSTOMHANDLER_PORT, ready once GET / gets any
// HTTP answer, restarted when it exits.
type Process struct {
	Path string
	Dir  string
	Args []string
	// Env is added to the host's own environment.
	Env    []string
	Output io.Writer
	Log    *slog.Logger

	mu   sync.Mutex
	url  string
	pid  int
	done chan struct{} // closed when the supervisor has stopped the process
}

// URL implements Handler.
func (p *Process) URL() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.url
}

// PID is the running handler's process id.
func (p *Process) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pid
}

// Start implements Handler.
func (p *Process) Start(ctx context.Context) error {
	exited, err := p.launch(ctx)
	if err != nil {
		return err
	}
	p.done = make(chan struct{})
	go p.supervise(ctx, exited)
	return nil
}

// Wait blocks until the process has been stopped after ctx ended.
func (p *Process) Wait() {
	if p.done != nil {
		<-p.done
	}
}

// launch starts the executable and waits until it answers.
func (p *Process) launch(ctx context.Context) (<-chan error, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, p.Path, expandArgs(p.Args)...)
	cmd.Dir = p.Dir
	cmd.Env = append(append(os.Environ(), p.Env...),
		"FUNCTIONS_CUSTOMHANDLER_PORT="+strconv.Itoa(port), "FUNCTIONS_WORKER_RUNTIME=custom")
	cmd.Stdout, cmd.Stderr = p.Output, p.Output
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	setParentDeathSignal(cmd)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting handler %s: %w", p.Path, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	url := "http://127.0.0.1:" + strconv.Itoa(port)
	if err := waitReady(ctx, url, exited); err != nil {
		cmd.Process.Kill()
		return nil, err
	}
	p.mu.Lock()
	p.url, p.pid = url, cmd.Process.Pid
	p.mu.Unlock()
	p.Log.Info("handler ready", "pid", cmd.Process.Pid, "port", port, "startup", time.Since(start).Round(time.Millisecond))
	return exited, nil
}

// supervise restarts the handler when it exits, with a growing pause so a
// handler that crashes at start does not spin.
func (p *Process) supervise(ctx context.Context, exited <-chan error) {
	defer close(p.done)
	pause := time.Second
	for {
		err := <-exited
		if ctx.Err() != nil {
			return
		}
		p.Log.Error("handler exited; restarting", "error", err, "pause", pause)
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(pause):
			}
			pause = min(2*pause, 30*time.Second)
			next, err := p.launch(ctx)
			if err == nil {
				exited = next
				pause = time.Second
				break
			}
			if ctx.Err() != nil {
				return
			}
			p.Log.Error("handler restart failed", "error", err, "pause", pause)
		}
	}
}

// waitReady polls GET / until any HTTP answer (even a 404) arrives.
func waitReady(ctx context.Context, url string, exited <-chan error) error {
	ctx, cancel := context.WithTimeout(ctx, ReadyTimeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/", nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case err := <-exited:
			return fmt.Errorf("handler exited before it was ready: %v", err)
		case <-ctx.Done():
			return fmt.Errorf("handler did not answer on %s within %s", url, ReadyTimeout)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// expandArgs replaces %NAME% with the environment variable NAME, as the
// Functions host does for customHandler.description.arguments.
func expandArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		for {
			start := strings.IndexByte(a, '%')
			end := -1
			if start >= 0 {
				end = strings.IndexByte(a[start+1:], '%')
			}
			if start < 0 || end <= 0 {
				break
			}
			name := a[start+1 : start+1+end]
			a = a[:start] + os.Getenv(name) + a[start+2+end:]
		}
		out[i] = a
	}
	return out
}

var errNoHandler = errors.New("handler is not running")
