package host

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestProcessThatExitsIsReported(t *testing.T) {
	script := filepath.Join(t.TempDir(), "handler")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"settings: CRMSYNC_STORAGE is bad\" >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	p := &Process{Path: script, Dir: filepath.Dir(script), Output: &out, Log: slog.New(slog.DiscardHandler)}
	err := p.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "exited before it was ready") {
		t.Fatalf("Start error = %v, want one saying the handler exited", err)
	}
	if !strings.Contains(out.String(), "CRMSYNC_STORAGE is bad") {
		t.Errorf("handler output %q not passed through", out.String())
	}
}

func TestExpandArgs(t *testing.T) {
	t.Setenv("CRMSYNC_TEST_ARG", "value")
	got := expandArgs([]string{"--x=%CRMSYNC_TEST_ARG%", "plain", "100%", "%CRMSYNC_TEST_ARG%/%CRMSYNC_TEST_ARG%"})
	want := []string{"--x=value", "plain", "100%", "value/value"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("got %q, want %q", got, want)
	}
}
