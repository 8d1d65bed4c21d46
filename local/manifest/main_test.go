package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWritesManifests: an https URL gets both manifests and the package
// icons; an http one only the XML manifest, with the reason; none at all an
// error naming what to give.
func TestWritesManifests(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if err := run([]string{"-url", "https://crmsync.example.com", "-out", dir}, func(string) string { return "" }, &out); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"manifest.xml", "manifest.json", "color.png", "outline.png"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	dir2 := t.TempDir()
	out.Reset()
	if err := run([]string{"-out", dir2}, func(k string) string {
		return map[string]string{"CRMSYNC_PUBLIC_URL": "http://127.0.0.1:7071"}[k]
	}, &out); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir2, "manifest.json")); err == nil || !strings.Contains(out.String(), "https") {
		t.Errorf("an http deployment got a unified manifest (output %q)", out.String())
	}
	if err := run([]string{"-out", t.TempDir()}, func(string) string { return "" }, &out); err == nil || !strings.Contains(err.Error(), "URL") {
		t.Errorf("no URL: %v", err)
	}
}
