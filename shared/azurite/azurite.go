// Package azurite starts Azurite, the Azure Storage emulator, for tests of the
// Azure-backed table store and queue. It runs azurite-table and azurite-queue
// from <repo root>/.tools/azurite (installed by `make test`) on free loopback
// ports, in memory, and stops them when the tests are done.
//
// A test binary shares one Azurite when its TestMain calls Main; otherwise
// every Start call gets its own pair of processes, stopped in t.Cleanup.
package azurite

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"

	"github.com/crmsync/crmsync/shared/testenv"
)

// AccountName and AccountKey are Azurite's published development account.
// They are public and grant nothing outside a local emulator.
const (
	AccountName = "devstoreaccount1"
	AccountKey  = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// errNotInstalled marks the missing-binaries case, which skips rather than
// fails outside CI.
var errNotInstalled = errors.New("azurite is not installed: run `make test` (it installs .tools/azurite)")

// shared is the one instance a test binary uses when its TestMain calls Main.
// It is package state because a test binary is one process that must own
// exactly one emulator; production code never imports this package.
var shared struct {
	mu      sync.Mutex
	enabled bool
	started bool
	inst    *instance
	err     error
}

// Main runs the tests of a package with one Azurite shared by all of them,
// started on first use and stopped after the last test. Call it from TestMain:
//
//	func TestMain(m *testing.M) { azurite.Main(m) }
func Main(m *testing.M) {
	shared.mu.Lock()
	shared.enabled = true
	shared.mu.Unlock()

	code := m.Run()

	shared.mu.Lock()
	if shared.inst != nil {
		shared.inst.stop()
	}
	shared.mu.Unlock()
	os.Exit(code)
}

// Start returns a full development-account connection string (with explicit
// TableEndpoint and QueueEndpoint, which the Go SDKs need; they do not
// understand UseDevelopmentStorage=true) for a running Azurite. Without
// Azurite installed it skips the test, or fails it when the environment sets
// CI or CRMSYNC_REQUIRE_AZURITE.
func Start(t testing.TB) string {
	t.Helper()
	inst, err := get(t)
	if err != nil {
		if errors.Is(err, errNotInstalled) {
			testenv.Missing(t, err.Error(), "CRMSYNC_REQUIRE_AZURITE")
			return ""
		}
		t.Fatal(err.Error())
	}
	return inst.connString()
}

// get returns the shared instance under Main, or a new one owned by t.
func get(t testing.TB) (*instance, error) {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.enabled {
		inst, err := launch()
		if err == nil {
			t.Cleanup(inst.stop)
		}
		return inst, err
	}
	if !shared.started {
		shared.started = true
		shared.inst, shared.err = launch()
	}
	return shared.inst, shared.err
}

// service is one Azurite process.
type service struct {
	cmd    *exec.Cmd
	exited chan error // receives cmd.Wait's result once
	log    *limitedBuffer
}

// instance is one running azurite-table plus azurite-queue.
type instance struct {
	tablePort, queuePort int
	services             []*service
	dir                  string
	stopOnce             sync.Once
}

func (in *instance) connString() string {
	return fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;"+
		"TableEndpoint=http://127.0.0.1:%d/%s;QueueEndpoint=http://127.0.0.1:%d/%s;",
		AccountName, AccountKey, in.tablePort, AccountName, in.queuePort, AccountName)
}

// stop kills both process groups (node may have children), waits for the
// processes to be reaped, then removes the scratch directory.
func (in *instance) stop() {
	in.stopOnce.Do(func() {
		for _, s := range in.services {
			_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-s.exited
		}
		_ = os.RemoveAll(in.dir)
	})
}

// launch finds the binaries and starts both services, retrying with new ports
// in case another process bound a chosen port first.
func launch() (*instance, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	var lastErr error
	for range 3 {
		in, err := launchOnce(bin)
		if err == nil {
			return in, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func launchOnce(bin string) (*instance, error) {
	dir, err := os.MkdirTemp("", "azurite-")
	if err != nil {
		return nil, fmt.Errorf("azurite: scratch directory: %w", err)
	}
	in := &instance{dir: dir}
	ports, err := freePorts(2)
	if err != nil {
		in.stop()
		return nil, err
	}
	in.tablePort, in.queuePort = ports[0], ports[1]

	specs := []struct {
		name string
		args []string
		port int
	}{
		{"azurite-table", []string{"--tableHost", "127.0.0.1", "--tablePort", strconv.Itoa(in.tablePort)}, in.tablePort},
		{"azurite-queue", []string{"--queueHost", "127.0.0.1", "--queuePort", strconv.Itoa(in.queuePort)}, in.queuePort},
	}
	for _, spec := range specs {
		// --skipApiVersionCheck: the SDKs send x-ms-version values newer than
		// some Azurite releases know. --location is never passed: together
		// with --inMemoryPersistence it makes Azurite exit at once.
		args := append(spec.args, "--inMemoryPersistence", "--disableTelemetry", "--skipApiVersionCheck", "--silent")
		cmd := exec.Command(filepath.Join(bin, spec.name), args...)
		cmd.Dir = dir
		s := &service{cmd: cmd, exited: make(chan error, 1), log: &limitedBuffer{max: 8 << 10}}
		cmd.Stdout, cmd.Stderr = s.log, s.log
		// A process group of its own lets stop kill node and anything it
		// spawned; Pdeathsig stops the emulator if the test binary dies first.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			in.stop()
			return nil, fmt.Errorf("azurite: start %s: %w", spec.name, err)
		}
		go func() { s.exited <- cmd.Wait() }()
		in.services = append(in.services, s)
	}
	for i, spec := range specs {
		if err := waitHTTP(spec.port, in.services[i]); err != nil {
			in.stop()
			return nil, fmt.Errorf("azurite: %s did not start: %w", spec.name, err)
		}
	}
	return in, nil
}

// binDir locates .tools/azurite/node_modules/.bin under the repository root,
// found by walking up from the working directory to go.mod.
func binDir() (string, error) {
	dir, err := testenv.ModuleRoot()
	if err != nil {
		return "", fmt.Errorf("%w (%v)", errNotInstalled, err)
	}
	bin := filepath.Join(dir, ".tools", "azurite", "node_modules", ".bin")
	for _, name := range []string{"azurite-table", "azurite-queue"} {
		if _, err := os.Stat(filepath.Join(bin, name)); err != nil {
			return "", fmt.Errorf("%w (%s missing)", errNotInstalled, filepath.Join(bin, name))
		}
	}
	return bin, nil
}
