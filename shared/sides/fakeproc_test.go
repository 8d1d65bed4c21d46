package sides_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/fakegraph"
	"github.com/crmsync/crmsync/local/fakesalesforce"
)

// fakesEnv, when set in the environment, makes the test binary the local
// Salesforce and Graph of a parent benchmark instead of running tests: the
// heap benchmarks then measure a process that holds crmsync alone, not the
// local servers, which keep every record in memory.
const fakesEnv = "CRMSYNC_SIDES_FAKES"

func TestMain(m *testing.M) {
	if cfg := os.Getenv(fakesEnv); cfg != "" {
		if err := serveFakes(cfg, os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "fakes:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// fakesConfig is what the child seeds.
type fakesConfig struct {
	Contacts, Tasks, Events int
	Now                     time.Time
}

// fakesReady is the child's first line: where its servers listen and who the
// Salesforce user is.
type fakesReady struct {
	SFURL, SFID, OrgID, GraphURL string
}

// fakesStats are the child's counts, on request.
type fakesStats struct {
	GraphRequests, GraphParts int
}

// serveFakes runs the local Salesforce and Graph seeded as cfg says, tells
// the parent where they are, and answers "now <time>" (move the clock) and
// "stats" lines on in until in closes.
func serveFakes(cfgJSON string, in io.Reader, out io.Writer) error {
	var cfg fakesConfig
	if err := json.Unmarshal([]byte(cfgJSON), &cfg); err != nil {
		return fmt.Errorf("config %q: %w", cfgJSON, err)
	}
	var mu sync.Mutex
	now := cfg.Now
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	sf, err := fakesalesforce.New(fakesalesforce.Options{Now: clock, DailyLimit: 1_000_000})
	if err != nil {
		return err
	}
	sfID, err := sf.AddUser(fakesalesforce.User{Username: sfUser, Password: sfSecret, Email: sfUser, FirstName: "Dana", LastName: "Scully"})
	if err != nil {
		return err
	}
	graph := fakegraph.New(fakegraph.Options{Now: clock})
	graph.AddMailbox(upn, "Dana Scully")
	if err := seedRecords(sf, sfID, cfg.Now, cfg.Contacts, cfg.Tasks, cfg.Events); err != nil {
		return err
	}
	serve := func(h http.Handler) (string, error) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		go http.Serve(l, h) //nolint:errcheck // ends with the process
		return "http://" + l.Addr().String(), nil
	}
	ready := fakesReady{SFID: sfID, OrgID: sf.OrgID()}
	if ready.SFURL, err = serve(sf); err != nil {
		return err
	}
	if ready.GraphURL, err = serve(graph); err != nil {
		return err
	}
	enc := json.NewEncoder(out)
	if err := enc.Encode(ready); err != nil {
		return err
	}
	lines := bufio.NewScanner(in)
	for lines.Scan() {
		cmd, arg, _ := strings.Cut(lines.Text(), " ")
		switch cmd {
		case "now":
			t, err := time.Parse(time.RFC3339Nano, arg)
			if err != nil {
				return err
			}
			mu.Lock()
			now = t
			mu.Unlock()
			if err := enc.Encode(struct{}{}); err != nil {
				return err
			}
		case "stats":
			var st fakesStats
			st.GraphRequests, st.GraphParts = graph.Requests()
			if err := enc.Encode(st); err != nil {
				return err
			}
		default:
			return fmt.Errorf("unknown command %q", cmd)
		}
	}
	return lines.Err()
}

// fakeChild is the parent's end of a child running the local servers.
type fakeChild struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	dec   *json.Decoder
}

// ask sends one command line and decodes the answer into v.
func (c *fakeChild) ask(t testing.TB, line string, v any) {
	t.Helper()
	if _, err := io.WriteString(c.stdin, line+"\n"); err != nil {
		t.Fatalf("fakes child: %v", err)
	}
	if err := c.dec.Decode(v); err != nil {
		t.Fatalf("fakes child answering %q: %v", line, err)
	}
}

func (c *fakeChild) setNow(t testing.TB, now time.Time) {
	var ok struct{}
	c.ask(t, "now "+now.Format(time.RFC3339Nano), &ok)
}

func (c *fakeChild) stats(t testing.TB) fakesStats {
	var st fakesStats
	c.ask(t, "stats", &st)
	return st
}

// newWorldApart is newWorld with the local Salesforce (seeded as
// seedSalesforce would) and the local Graph in a child process, so that this
// process's heap is crmsync's alone: the session runner, the planner, the
// vendor clients and the table store. w.sf and w.graph are nil; w.child
// answers for them.
func newWorldApart(t testing.TB, contacts, tasks, events int) *world {
	t.Helper()
	w := &world{t: t, now: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC), user: "u-dana", logs: &strings.Builder{}}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := json.Marshal(fakesConfig{Contacts: contacts, Tasks: tasks, Events: events, Now: w.now})
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), fakesEnv+"="+string(cfg))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.child = &fakeChild{cmd: cmd, stdin: stdin, dec: json.NewDecoder(stdout)}
	t.Cleanup(func() {
		stdin.Close() // the child ends when its input does
		if err := cmd.Wait(); err != nil {
			t.Errorf("fakes child: %v", err)
		}
	})
	var ready fakesReady
	if err := w.child.dec.Decode(&ready); err != nil {
		t.Fatalf("fakes child did not start: %v", err)
	}
	w.sfURL, w.sfID, w.gURL = ready.SFURL, ready.SFID, ready.GraphURL
	w.connect(ready.OrgID)
	return w
}
