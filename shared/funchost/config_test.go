package funchost

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name, json, wantErr string
	}{
		{"timer", `{"bindings":[{"name":"timer","type":"timerTrigger","direction":"in","schedule":"0 * * * * *"}]}`, ""},
		{"queue with output", `{"bindings":[{"name":"msg","type":"queueTrigger","direction":"in","queueName":"sync-sessions"},{"name":"o","type":"queue","direction":"out","queueName":"other"}]}`, ""},
		{"http", `{"bindings":[{"name":"req","type":"httpTrigger","direction":"in","authLevel":"function","methods":["get"],"route":"x/{id}"},{"name":"res","type":"http","direction":"out"}]}`, ""},
		{"not json", `{`, "not valid function.json"},
		{"no bindings", `{}`, "bindings: missing"},
		{"no trigger", `{"bindings":[{"name":"res","type":"http","direction":"out"}]}`, "0 triggers"},
		{"two triggers", `{"bindings":[{"name":"a","type":"timerTrigger","direction":"in","schedule":"x"},{"name":"b","type":"timerTrigger","direction":"in","schedule":"x"}]}`, "2 triggers"},
		{"unknown type", `{"bindings":[{"name":"b","type":"blobTrigger","direction":"in"}]}`, "bindings[0].type"},
		{"wrong direction", `{"bindings":[{"name":"b","type":"timerTrigger","direction":"out","schedule":"x"}]}`, "bindings[0].direction"},
		{"missing schedule", `{"bindings":[{"name":"t","type":"timerTrigger","direction":"in"}]}`, "bindings[0].schedule: missing"},
		{"missing queue name", `{"bindings":[{"name":"m","type":"queueTrigger","direction":"in"}]}`, "bindings[0].queueName: missing"},
		{"bad queue name", `{"bindings":[{"name":"m","type":"queueTrigger","direction":"in","queueName":"Sync_Sessions"}]}`, "bindings[0].queueName"},
		{"bad auth level", `{"bindings":[{"name":"r","type":"httpTrigger","direction":"in","authLevel":"user","route":"x"}]}`, "bindings[0].authLevel"},
		{"bad method", `{"bindings":[{"name":"r","type":"httpTrigger","direction":"in","authLevel":"anonymous","methods":["fetch"],"route":"x"}]}`, "bindings[0].methods"},
		{"bad route", `{"bindings":[{"name":"r","type":"httpTrigger","direction":"in","authLevel":"anonymous","route":"{*a}/b"}]}`, "bindings[0].route"},
		{"duplicate name", `{"bindings":[{"name":"r","type":"httpTrigger","direction":"in","authLevel":"anonymous","route":"x"},{"name":"r","type":"http","direction":"out"}]}`, "bindings[1].name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tt.json))
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("ParseConfig: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestFunctionConfigRoundTrip(t *testing.T) {
	for _, f := range testFunctions(&captured{}) {
		t.Run(f.Name, func(t *testing.T) {
			c := f.Config()
			if c.Trigger().Name != f.Trigger.Binding {
				t.Errorf("trigger binding %q, want %q", c.Trigger().Name, f.Trigger.Binding)
			}
			if got, want := c.ForwardingEligible(), f.ForwardingEligible(); got != want {
				t.Errorf("ForwardingEligible config=%v, table=%v", got, want)
			}
		})
	}
	f := Function{Name: "w", Trigger: QueueTriggerOn("sync-sessions"), Outputs: []Output{{Binding: "out", QueueName: "next"}}}
	want := Config{Bindings: []Binding{
		{Name: "msg", Type: TypeQueueTrigger, Direction: "in", QueueName: "sync-sessions", Connection: "AzureWebJobsStorage"},
		{Name: "out", Type: TypeQueue, Direction: "out", QueueName: "next"},
	}}
	if diff := cmp.Diff(want, f.Config()); diff != "" {
		t.Errorf("Config mismatch (-want +got):\n%s", diff)
	}
}
