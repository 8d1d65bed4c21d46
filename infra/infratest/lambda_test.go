package infratest

import (
	"archive/zip"
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPackageLambdaBuildsFunctions runs deploy.mk's package-lambda recipe
// for real — one cross build of ./functions, then the zip step — into a
// temporary folder, and checks what Lambda receives: exactly one entry,
// "bootstrap", executable, an aarch64 ELF built from the functions package
// with lambda.norpc and without cgo. GO points at a wrapper that logs its
// calls, so a recipe line that called plain `go` would be caught.
func TestPackageLambdaBuildsFunctions(t *testing.T) {
	root := repoRoot(t)
	realGo, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go on PATH: %v", err)
	}
	tmp := t.TempDir()
	calls := filepath.Join(tmp, "go-calls.log")
	wrapper := filepath.Join(tmp, "go-wrapper")
	script := "#!/bin/sh\necho \"$@\" >> '" + calls + "'\nexec '" + realGo + "' \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	dir, zipPath := filepath.Join(tmp, "lambda"), filepath.Join(tmp, "lambda.zip")

	cmd := exec.Command("make", "--no-print-directory", "-f", "deploy.mk", "package-lambda",
		"GO="+wrapper, "LAMBDA_DIR="+dir, "LAMBDA_ZIP="+zipPath)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make package-lambda: %v\n%s", err, out)
	}

	logged, err := os.ReadFile(calls)
	if err != nil {
		t.Fatalf("the recipe never ran $(GO): %v", err)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(string(logged)), "\n") {
		got = append(got, strings.Fields(line)[0])
	}
	if want := []string{"build", "run"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("the recipe ran $(GO) %v, want %v (every go command through $(GO))", got, want)
	}

	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		t.Fatalf("the Lambda zip: %v", err)
	}
	defer zr.Close()
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	if len(names) != 1 || names[0] != "bootstrap" {
		t.Fatalf("got zip entries %q, want exactly [bootstrap]", names)
	}
	entry := zr.File[0]
	if got, want := entry.Mode().Perm(), os.FileMode(0o755); got != want {
		t.Errorf("got bootstrap mode %v, want %v (Lambda must be able to execute it)", got, want)
	}
	rc, err := entry.Open()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}

	ef, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		t.Fatalf("bootstrap is not an ELF file: %v", err)
	}
	if got, want := ef.Machine, elf.EM_AARCH64; got != want {
		t.Errorf("got ELF machine %v, want %v", got, want)
	}
	if got, want := ef.Class, elf.ELFCLASS64; got != want {
		t.Errorf("got ELF class %v, want %v", got, want)
	}
	ef.Close()

	info, err := buildinfo.Read(bytes.NewReader(bin))
	if err != nil {
		t.Fatalf("bootstrap carries no Go build information: %v", err)
	}
	if got, want := info.Path, "github.com/crmsync/crmsync/functions"; got != want {
		t.Errorf("got main package %q, want %q", got, want)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	for key, want := range map[string]string{"GOOS": "linux", "GOARCH": "arm64", "CGO_ENABLED": "0", "-tags": "lambda.norpc", "-trimpath": "true"} {
		if got := settings[key]; got != want {
			t.Errorf("got build setting %s=%q, want %q", key, got, want)
		}
	}
}
