package main

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// buildTiny cross-compiles a minimal program for goos/goarch.
func buildTiny(t *testing.T, goos, goarch string) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte("package main\nfunc main() {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "bootstrap")
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build a test binary: %v", err)
	}
	cmd := exec.Command(goBin, "build", "-o", out, src)
	cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0", "GOFLAGS=", "GO111MODULE=off")
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building a %s/%s test binary: %v\n%s", goos, goarch, err, b)
	}
	return out
}

func TestZipLayout(t *testing.T) {
	bin := buildTiny(t, "linux", "arm64")
	out := filepath.Join(t.TempDir(), "dist", "lambda.zip")
	if err := run([]string{"-o", out, bin}, io.Discard); err != nil {
		t.Fatalf("run: %v", err)
	}
	zr, err := zip.OpenReader(out)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if len(zr.File) != 1 {
		t.Fatalf("zip holds %d entries, want exactly 1 (bootstrap)", len(zr.File))
	}
	f := zr.File[0]
	if f.Name != "bootstrap" {
		t.Errorf("entry is %q, want bootstrap at the root", f.Name)
	}
	if mode := f.Mode(); mode.Perm()&0o111 != 0o111 || !mode.IsRegular() {
		t.Errorf("bootstrap mode is %v, want a regular file executable by all", mode)
	}
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, _ := io.ReadAll(rc)
	want, _ := os.ReadFile(bin)
	if !bytes.Equal(got, want) {
		t.Error("zipped bootstrap differs from the binary")
	}

	// The same input gives the same bytes, so rebuilding does not churn the artifact.
	again := filepath.Join(t.TempDir(), "again.zip")
	if err := run([]string{"-o", again, bin}, io.Discard); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(out)
	b, _ := os.ReadFile(again)
	if !bytes.Equal(a, b) {
		t.Error("two runs over one binary wrote different zips")
	}
}

func TestRefusesWrongBinary(t *testing.T) {
	script := filepath.Join(t.TempDir(), "bootstrap")
	os.WriteFile(script, []byte("#!/bin/sh\necho hi\n"), 0o755)
	tests := []struct {
		name, bin, want string
	}{
		{"amd64 build", buildTiny(t, "linux", "amd64"), "want arm64"},
		{"shell script", script, "not an ELF"},
		{"missing file", filepath.Join(t.TempDir(), "nope"), "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "lambda.zip")
			err := run([]string{"-o", out, tt.bin}, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
			if _, statErr := os.Stat(out); statErr == nil {
				t.Error("a zip was written for a binary that was refused")
			}
		})
	}
}
