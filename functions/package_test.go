package main

import (
	"archive/zip"
	"context"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/crmsync/crmsync/local/stage"
	"github.com/crmsync/crmsync/shared/funchost"
)

// TestPackageLayout runs the staging code behind `make package` and checks the
// staged app against the routes table: every function staged flat with the
// same bindings, host.json, and a linux/amd64 handler named as host.json says.
func TestPackageLayout(t *testing.T) {
	out := filepath.Join(t.TempDir(), "app")
	app, err := stage.Stage(context.Background(), stage.Options{Root: "..", Out: out, GOOS: "linux", GOARCH: "amd64", Zip: true, Stderr: os.Stderr})
	if err != nil {
		t.Fatalf("Stage: %v", err)
	}
	table := testTable(t)
	if len(app.Functions) != len(table) {
		t.Errorf("staged %d functions, table has %d", len(app.Functions), len(table))
	}
	staged := map[string]funchost.Config{}
	for _, f := range app.Functions {
		staged[f.Name] = f.Config
	}
	for _, f := range table {
		got, ok := staged[f.Name]
		if !ok {
			t.Errorf("function %s not staged", f.Name)
			continue
		}
		if diff := cmp.Diff(f.Config(), got); diff != "" {
			t.Errorf("staged %s/function.json differs from the routes table (-table +staged):\n%s", f.Name, diff)
		}
		if f.Trigger.Kind == funchost.KindHTTP && !app.Settings.Forwarding {
			t.Errorf("host.json does not forward HTTP requests, but %s expects its route raw", f.Name)
		}
	}
	bin := filepath.Join(out, app.Settings.Executable)
	head := make([]byte, 20)
	f, err := os.Open(bin)
	if err != nil {
		t.Fatalf("handler binary: %v", err)
	}
	io.ReadFull(f, head)
	f.Close()
	// ELF, 64-bit, little endian, machine x86-64 (0x3e).
	if string(head[:4]) != "\x7fELF" || head[4] != 2 || head[18] != 0x3e {
		t.Errorf("%s is not a linux/amd64 ELF binary", bin)
	}

	zr, err := zip.OpenReader(out + ".zip")
	if err != nil {
		t.Fatalf("app.zip: %v", err)
	}
	defer zr.Close()
	var names []string
	for _, zf := range zr.File {
		names = append(names, zf.Name)
		if zf.Name == app.Settings.Executable && zf.Mode()&0o111 == 0 {
			t.Errorf("handler in the zip is not executable (mode %v)", zf.Mode())
		}
	}
	want := []string{"host.json", app.Settings.Executable}
	for _, fn := range table {
		want = append(want, fn.Name+"/function.json")
	}
	sort.Strings(names)
	sort.Strings(want)
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("zip entries (-want +got):\n%s", diff)
	}
}
