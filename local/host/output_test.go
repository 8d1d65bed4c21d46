package host

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/crmsync/crmsync/shared/funchost"
)

func result(t *testing.T, outputs string) invocationResult {
	t.Helper()
	var r invocationResult
	if err := json.Unmarshal([]byte(`{"Outputs":`+outputs+`}`), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestHTTPOutput(t *testing.T) {
	fn := AppFunction{Name: "f", Config: funchost.Function{Trigger: funchost.HTTPTrigger("f", "anonymous")}.Config()}
	tests := []struct {
		name        string
		outputs     string
		wantStatus  int
		wantBody    string
		wantHeaders map[string]string
		wantErr     string
	}{
		{name: "all four fields", outputs: `{"res":{"statusCode":201,"status":201,"body":"<p>made</p>","headers":{"Content-Type":"text/html"}}}`,
			wantStatus: 201, wantBody: "<p>made</p>", wantHeaders: map[string]string{"Content-Type": "text/html"}},
		{name: "status as string", outputs: `{"res":{"statusCode":"404","status":"404","body":"gone.","headers":{}}}`,
			wantStatus: 404, wantBody: "gone.", wantHeaders: map[string]string{}},
		{name: "body that is base64 is decoded, as the host does", outputs: `{"res":{"statusCode":200,"status":200,"body":"dGVzdA==","headers":{}}}`,
			wantStatus: 200, wantBody: "test", wantHeaders: map[string]string{}},
		{name: "JSON body", outputs: `{"res":{"statusCode":200,"status":200,"body":{"a":1},"headers":{}}}`,
			wantStatus: 200, wantBody: `{"a":1}`, wantHeaders: map[string]string{}},
		{name: "body only, as the docs sample", outputs: `{"res":{"body":"hello"}}`, wantErr: "should have 'StatusCode', 'Status', 'Body', and 'Headers'"},
		{name: "no res", outputs: `{}`, wantErr: "no Outputs.res"},
		{name: "bad status", outputs: `{"res":{"statusCode":"teapot","status":0,"body":"","headers":{}}}`, wantErr: "not a status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := httpOutput(fn, result(t, tt.outputs))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.status != tt.wantStatus || string(got.body) != tt.wantBody {
				t.Errorf("got %d %q, want %d %q", got.status, got.body, tt.wantStatus, tt.wantBody)
			}
			if diff := cmp.Diff(tt.wantHeaders, got.headers); diff != "" {
				t.Errorf("headers (-want +got):\n%s", diff)
			}
		})
	}
}

func TestQueueOutputs(t *testing.T) {
	fn := AppFunction{Name: "f", Config: funchost.Function{
		Trigger: funchost.QueueTriggerOn("in-q"),
		Outputs: []funchost.Output{{Binding: "one", QueueName: "q-one"}, {Binding: "many", QueueName: "q-many"}},
	}.Config()}
	got, err := queueOutputs(fn, result(t, `{"one":"{\"a\":1}","many":["abcd",{"b":2}],"unbound":["x"]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][][]byte{
		"q-one":  {[]byte(`{"a":1}`)},
		"q-many": {{0x69, 0xb7, 0x1d}, []byte(`{"b":2}`)}, // "abcd" is base64: the host enqueues its bytes
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("queue outputs (-want +got):\n%s", diff)
	}
}
