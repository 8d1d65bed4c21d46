package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crmsync/crmsync/shared/funchost"
	"github.com/crmsync/crmsync/shared/salesforce"
	"github.com/crmsync/crmsync/shared/settings"
)

// testApp wires the real service over embedded storage in a temporary folder.
func testApp(t testing.TB) *app { return testAppWith(t, nil) }

// testAppWith is testApp with more settings.
func testAppWith(t testing.TB, more map[string]string) *app {
	t.Helper()
	env := map[string]string{settings.NamePort: "1", settings.NameStorage: "embedded", settings.NameDataDir: t.TempDir(),
		settings.NameEntraClientID: "crmsync-test", salesforce.NameClientID: "crmsync-test"}
	for k, v := range more {
		env[k] = v
	}
	cfg, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	a, err := wire(context.Background(), cfg, slog.New(slog.DiscardHandler), time.Now, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a
}

func testTable(t testing.TB) []funchost.Function {
	return routes(testApp(t))
}

// TestFunctionJSONMatchesRoutes keeps functions/<name>/function.json and the
// routes table saying the same thing, with one folder per row.
func TestFunctionJSONMatchesRoutes(t *testing.T) {
	table := testTable(t)
	var tableNames []string
	for _, f := range table {
		tableNames = append(tableNames, f.Name)
		t.Run(f.Name, func(t *testing.T) {
			got, err := funchost.ReadConfig(filepath.Join(f.Name, "function.json"))
			if err != nil {
				t.Fatalf("function.json: %v", err)
			}
			if diff := cmp.Diff(f.Config(), got); diff != "" {
				t.Errorf("%s/function.json differs from routes.go (-routes +file):\n%s", f.Name, diff)
			}
			// Function name = folder = package.
			src, err := filepath.Glob(filepath.Join(f.Name, "*.go"))
			if err != nil || len(src) == 0 {
				t.Fatalf("no Go package in %s/", f.Name)
			}
			b, _ := os.ReadFile(src[0])
			if !bytes.Contains(b, []byte("\npackage "+f.Name+"\n")) {
				t.Errorf("%s is not package %s", src[0], f.Name)
			}
		})
	}
	dirs, _ := filepath.Glob(filepath.Join("*", "function.json"))
	var folderNames []string
	for _, d := range dirs {
		folderNames = append(folderNames, filepath.Dir(d))
	}
	sort.Strings(tableNames)
	sort.Strings(folderNames)
	if diff := cmp.Diff(tableNames, folderNames); diff != "" {
		t.Errorf("routes table and function folders differ (-table +folders):\n%s", diff)
	}
}

func TestRoutesServe(t *testing.T) {
	if _, err := funchost.NewServer(testTable(t), slog.New(slog.DiscardHandler), funchost.Options{}); err != nil {
		t.Fatalf("routes table does not make a server: %v", err)
	}
}

func TestRunRejectsBadSettings(t *testing.T) {
	env := map[string]string{"FUNCTIONS_CUSTOMHANDLER_PORT": "nope", "CRMSYNC_STORAGE": "floppy"}
	err := run(context.Background(), []string{"handler"}, func(k string) string { return env[k] }, &bytes.Buffer{})
	if err == nil {
		t.Fatal("run succeeded with bad settings")
	}
	for _, name := range []string{"FUNCTIONS_CUSTOMHANDLER_PORT", "CRMSYNC_STORAGE"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
}

// TestRunServesUntilCancelled starts the handler in-process with embedded
// storage, waits for the readiness answer and a real route, then stops it.
func TestRunServesUntilCancelled(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	env := map[string]string{
		settings.NamePort:    strconv.Itoa(port),
		settings.NameStorage: settings.StorageEmbedded,
		settings.NameDataDir: t.TempDir(),
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"handler"}, func(k string) string { return env[k] }, io.Discard) }()
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/")
		if err == nil {
			resp.Body.Close()
			break
		}
		select {
		case err := <-done:
			t.Fatalf("run returned early: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("handler never answered GET /")
		}
		time.Sleep(20 * time.Millisecond)
	}
	resp, err := http.Get(base + "/api/dashboard/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("healthz status %d, want 200", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run after cancel: %v", err)
	}
}
