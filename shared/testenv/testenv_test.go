package testenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder stands in for a test ended by Missing: it records Skip and Fatal
// instead of stopping the goroutine.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()                           {}
func (r *recorder) Skip(args ...any)                  { r.skipped = fmt.Sprint(args...) }
func (r *recorder) Fatalf(format string, args ...any) { r.failed = fmt.Sprintf(format, args...) }

func TestMissing(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		wantFail bool
	}{
		{"developer machine", nil, false},
		{"CI", map[string]string{"CI": "true"}, true},
		{"required by its variable", map[string]string{RequireSamples: "1"}, true},
		{"another test's variable", map[string]string{RequireBrowser: "1"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CI", "")
			t.Setenv(RequireSamples, "")
			t.Setenv(RequireBrowser, "")
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			r := &recorder{TB: t}
			Missing(r, "the thing is absent", RequireSamples)
			if tt.wantFail {
				if r.failed == "" || r.skipped != "" || !strings.Contains(r.failed, "the thing is absent") {
					t.Errorf("failed %q, skipped %q; want a failure naming the reason", r.failed, r.skipped)
				}
				return
			}
			if r.skipped != "the thing is absent" || r.failed != "" {
				t.Errorf("failed %q, skipped %q; want a skip with the reason", r.failed, r.skipped)
			}
		})
	}
}

// TestSamplesDir builds a checkout beside a reference folder and one
// without, and checks where SamplesDir looks and what it says.
func TestSamplesDir(t *testing.T) {
	t.Setenv("CI", "")
	t.Setenv(RequireSamples, "")
	parent := t.TempDir()
	repo := filepath.Join(parent, "repo")
	pkg := filepath.Join(repo, "shared", "thing")
	mustMkdir(t, pkg)
	mustWrite(t, filepath.Join(repo, "go.mod"), "module x\n")

	t.Chdir(pkg)
	if _, err := samplesDir("salesforce-restforce"); err == nil || !strings.Contains(err.Error(), "not present") {
		t.Errorf("plain clone: err = %v, want not present", err)
	}
	r := &recorder{TB: t}
	_ = SamplesDir(r, "salesforce-restforce")
	if r.skipped == "" || r.failed != "" {
		t.Errorf("plain clone: skipped %q failed %q, want a skip", r.skipped, r.failed)
	}

	want := filepath.Join(parent, "shared", "reference", "payloads", "salesforce-restforce")
	mustMkdir(t, want)
	if got := SamplesDir(t, "salesforce-restforce"); got != want {
		t.Errorf("beside the reference folder: got %s, want %s", got, want)
	}
}

func TestModuleRootOutsideModule(t *testing.T) {
	t.Chdir(t.TempDir())
	if _, err := ModuleRoot(); err == nil {
		t.Error("ModuleRoot outside a module: no error")
	}
}

func TestLocateChromium(t *testing.T) {
	const mac = "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome"
	tests := []struct {
		name    string
		env     map[string]string
		goos    string
		path    map[string]string // command → its path on PATH
		files   []string          // executable files
		home    string
		want    string
		wantErr string
	}{
		{name: "CHROME wins", env: map[string]string{"CHROME": "/opt/x/chrome"}, goos: "linux",
			path: map[string]string{"chromium": "/usr/bin/chromium"}, files: []string{"/opt/x/chrome"}, want: "/opt/x/chrome"},
		{name: "CHROME as a command name", env: map[string]string{"CHROME": "chromium-browser"}, goos: "linux",
			path: map[string]string{"chromium-browser": "/usr/bin/chromium-browser"}, want: "/usr/bin/chromium-browser"},
		{name: "wrong CHROME is an error, not a fallback", env: map[string]string{"CHROME": "/nope"}, goos: "linux",
			path: map[string]string{"chromium": "/usr/bin/chromium"}, wantErr: "CHROME=/nope is not an executable file"},
		{name: "Debian chromium", goos: "linux", path: map[string]string{"chromium": "/usr/bin/chromium", "google-chrome": "/usr/bin/google-chrome"}, want: "/usr/bin/chromium"},
		{name: "Ubuntu chromium-browser", goos: "linux", path: map[string]string{"chromium-browser": "/snap/bin/chromium-browser"}, want: "/snap/bin/chromium-browser"},
		{name: "Google Chrome stable only", goos: "linux", path: map[string]string{"google-chrome-stable": "/usr/bin/google-chrome-stable"}, want: "/usr/bin/google-chrome-stable"},
		{name: "macOS application", goos: "darwin", files: []string{mac}, want: mac},
		{name: "macOS Chromium in the home folder", goos: "darwin", home: "/Users/a",
			files: []string{"/Users/a/Applications/Chromium.app/Contents/MacOS/Chromium"}, want: "/Users/a/Applications/Chromium.app/Contents/MacOS/Chromium"},
		{name: "macOS app paths ignored on Linux", goos: "linux", files: []string{mac}, wantErr: "no Chrome or Chromium found"},
		{name: "nothing", goos: "linux", wantErr: "apt-get install -y --no-install-recommends chromium"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := Machine{
				Getenv: func(k string) string { return tt.env[k] },
				GOOS:   tt.goos,
				LookPath: func(name string) (string, error) {
					if p, ok := tt.path[name]; ok {
						return p, nil
					}
					return "", errors.New("not found")
				},
				IsExec: func(p string) bool {
					for _, f := range tt.files {
						if f == p {
							return true
						}
					}
					return false
				},
				Home: tt.home,
			}
			got, err := LocateChromium(m)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("got %q, %v; want an error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestIsExec(t *testing.T) {
	dir := t.TempDir()
	plain, script := filepath.Join(dir, "plain"), filepath.Join(dir, "script")
	mustWrite(t, plain, "x")
	mustWrite(t, script, "#!/bin/sh\n")
	if err := os.Chmod(script, 0o755); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]bool{plain: false, script: true, dir: false, filepath.Join(dir, "absent"): false} {
		if got := isExec(p); got != want {
			t.Errorf("isExec(%s) = %v, want %v", p, got, want)
		}
	}
}

func mustMkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
