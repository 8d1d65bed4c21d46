package infratest

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crmsync/crmsync/local/host"
	"github.com/crmsync/crmsync/local/stage"
)

// fakeGo puts a "go" first on PATH that only writes a placeholder executable
// to its -o argument. The package layout is what this test is about; compiling
// the handler for linux/amd64 from cold takes over a minute and is exercised
// by `make package` and the functions tests.
func fakeGo(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	script := "#!/bin/sh\nout=\nwhile [ $# -gt 0 ]; do\n  if [ \"$1\" = -o ]; then out=$2; fi\n  shift\ndone\n" +
		"[ -n \"$out\" ] || { echo 'fake go: no -o' >&2; exit 2; }\nprintf 'placeholder handler' > \"$out\"\nchmod 755 \"$out\"\n"
	if err := os.WriteFile(filepath.Join(dir, "go"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// TestPackageDeploysEveryFunction stages the Function App package the way
// `make package` does (local/stage, zipped) and checks that what the template's
// app receives holds host.json, the handler executable and one folder per
// functions/<name>/function.json, identical to the source.
func TestPackageDeploysEveryFunction(t *testing.T) {
	root := repoRoot(t)
	fakeGo(t)
	out := filepath.Join(t.TempDir(), "app")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var buildLog bytes.Buffer
	if _, err := stage.Stage(ctx, stage.Options{Root: root, Out: out, GOOS: "linux", GOARCH: "amd64", Zip: true, Stderr: &buildLog}); err != nil {
		t.Fatalf("staging the package: %v\n%s", err, buildLog.String())
	}
	hostJSON, err := host.ReadHostJSON(root)
	if err != nil {
		t.Fatal(err)
	}

	want := map[string][]byte{"host.json": mustRead(t, filepath.Join(root, "host.json"))}
	for name := range functionConfigs(t, root) {
		want[name+"/function.json"] = mustRead(t, filepath.Join(root, "functions", name, "function.json"))
	}

	zr, err := zip.OpenReader(out + ".zip")
	if err != nil {
		t.Fatalf("the package zip: %v", err)
	}
	defer zr.Close()
	got := map[string][]byte{}
	var names []string
	sawHandler := false
	for _, f := range zr.File {
		names = append(names, f.Name)
		if f.Name == hostJSON.Executable {
			sawHandler = true
			if f.Mode().Perm()&0o100 == 0 {
				t.Errorf("%s in the zip is not executable (mode %v)", f.Name, f.Mode())
			}
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		got[f.Name] = b
	}
	sort.Strings(names)
	if !sawHandler {
		t.Errorf("the zip has no handler binary %q (host.json defaultExecutablePath); it holds %v", hostJSON.Executable, names)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("package content differs from the repository's host.json and function.json files (-repo +zip):\n%s", diff)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
