package host

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseTimeSpan(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"00:00:30", 30 * time.Second, false},
		{"00:10:00", 10 * time.Minute, false},
		{"00:00:00.050", 50 * time.Millisecond, false},
		{"1.02:00:00", 26 * time.Hour, false},
		{"30", 0, true},
		{"00:60:00", 0, true},
		{"aa:00:00", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseTimeSpan(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseHostJSON(t *testing.T) {
	s, err := ParseHostJSON([]byte(`{"version":"2.0","customHandler":{"description":{"defaultExecutablePath":"h"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := QueueSettings{BatchSize: 16, NewBatchThreshold: 8, MaxDequeueCount: 5, VisibilityTimeout: 0, MaxPollingInterval: time.Minute}
	if s.Queues != want {
		t.Errorf("defaults %+v, want %+v", s.Queues, want)
	}
	if s.RoutePrefix != "api" || s.Forwarding || s.FunctionTimeout != 5*time.Minute {
		t.Errorf("defaults: prefix %q forwarding %v timeout %v", s.RoutePrefix, s.Forwarding, s.FunctionTimeout)
	}

	bad := []struct{ name, json, want string }{
		{"not json", `{`, "not valid host.json"},
		{"old version", `{"version":"1.0"}`, "version"},
		{"no executable", `{"version":"2.0"}`, "customHandler.description.defaultExecutablePath: missing"},
		{"batch too big", `{"version":"2.0","customHandler":{"description":{"defaultExecutablePath":"h"}},"extensions":{"queues":{"batchSize":64}}}`, "extensions.queues.batchSize"},
		{"bad visibility", `{"version":"2.0","customHandler":{"description":{"defaultExecutablePath":"h"}},"extensions":{"queues":{"visibilityTimeout":"soon"}}}`, "extensions.queues.visibilityTimeout"},
		{"zero polling", `{"version":"2.0","customHandler":{"description":{"defaultExecutablePath":"h"}},"extensions":{"queues":{"maxPollingInterval":"00:00:00"}}}`, "extensions.queues.maxPollingInterval"},
		{"bad dequeue count", `{"version":"2.0","customHandler":{"description":{"defaultExecutablePath":"h"}},"extensions":{"queues":{"maxDequeueCount":0}}}`, "extensions.queues.maxDequeueCount"},
		{"bad encoding", `{"version":"2.0","customHandler":{"description":{"defaultExecutablePath":"h"}},"extensions":{"queues":{"messageEncoding":"utf7"}}}`, "extensions.queues.messageEncoding"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseHostJSON([]byte(tt.json))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestLoadAppRefusesBadFunctions checks that the host names file and field.
func TestLoadAppRefusesBadFunctions(t *testing.T) {
	tests := []struct {
		name, functionJSON, want string
	}{
		{"bad schedule", `{"bindings":[{"name":"timer","type":"timerTrigger","direction":"in","schedule":"0 * * * *"}]}`, "bindings[0].schedule: ncrontab"},
		{"schedule out of range", `{"bindings":[{"name":"timer","type":"timerTrigger","direction":"in","schedule":"0 0 25 * * *"}]}`, "hour field"},
		{"bad binding type", `{"bindings":[{"name":"x","type":"serviceBusTrigger","direction":"in"}]}`, "bindings[0].type"},
		{"missing queue", `{"bindings":[{"name":"msg","type":"queueTrigger","direction":"in"}]}`, "bindings[0].queueName: missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "host.json"), testHostJSON)
			writeFile(t, filepath.Join(dir, "broken", "function.json"), tt.functionJSON)
			_, err := LoadApp(dir)
			if err == nil {
				t.Fatal("LoadApp succeeded, want an error")
			}
			wantFile := filepath.Join(dir, "broken", "function.json")
			if !strings.Contains(err.Error(), wantFile) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q should name %s and %q", err, wantFile, tt.want)
			}
		})
	}
}

func TestNewRefusesMissingExecutable(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "host.json"), testHostJSON)
	writeFile(t, filepath.Join(dir, "t", "function.json"), `{"bindings":[{"name":"timer","type":"timerTrigger","direction":"in","schedule":"0 * * * * *"}]}`)
	app, err := LoadApp(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := app.CheckExecutable(); err == nil || !strings.Contains(err.Error(), "defaultExecutablePath") {
		t.Errorf("CheckExecutable error = %v, want one naming defaultExecutablePath", err)
	}
}

func TestLoadKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	first, err := LoadKeys(path, Keys{})
	if err != nil {
		t.Fatal(err)
	}
	if first.Function == "" || first.Admin == "" || first.Function == first.Admin {
		t.Fatalf("generated keys %+v, want two different keys", first)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("keys file mode %v (err %v), want 0600", st.Mode().Perm(), err)
	}
	again, err := LoadKeys(path, Keys{})
	if err != nil || again != first {
		t.Errorf("reloaded keys %+v (err %v), want the stored %+v", again, err, first)
	}
	given, err := LoadKeys(path, Keys{Function: "from-settings"})
	if err != nil || given.Function != "from-settings" || given.Admin != first.Admin {
		t.Errorf("keys with a setting %+v (err %v)", given, err)
	}
	// A keys file left readable by others (by hand, or an older build) is tightened.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKeys(path, Keys{}); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("existing keys file mode %v (err %v) after loading, want 0600", st.Mode().Perm(), err)
	}
	writeFile(t, path, `{"functionKey": ""}`)
	if _, err := LoadKeys(path, Keys{}); err == nil {
		t.Error("LoadKeys accepted a keys file without keys")
	}
}

// TestPrivateDir: the data folder is 0700 whether PrivateDir creates it or
// finds it (0755 from an older build or a hand-made folder).
func TestPrivateDir(t *testing.T) {
	for _, existing := range []bool{false, true} {
		dir := filepath.Join(t.TempDir(), "data")
		if existing {
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := PrivateDir(dir); err != nil {
			t.Fatalf("existing=%v: %v", existing, err)
		}
		if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
			t.Errorf("existing=%v: folder mode %v (err %v), want 0700", existing, st.Mode().Perm(), err)
		}
	}
	file := filepath.Join(t.TempDir(), "f")
	writeFile(t, file, "x")
	if err := PrivateDir(file); err == nil {
		t.Error("PrivateDir accepted a file")
	}
}
