package funchost

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAddOutput(t *testing.T) {
	var forwardedErr error
	fns := []Function{{
		Name:    "share",
		Trigger: HTTPTrigger("share", AuthAnonymous),
		Outputs: []Output{{Binding: "out", QueueName: "sync-sessions"}},
		HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			forwardedErr = AddOutput(r.Context(), "out", `{"userId":"u-1"}`)
			AddOutput(r.Context(), "out", "abcd")
			w.WriteHeader(http.StatusAccepted)
		}),
	}}
	s, err := NewServer(fns, slog.New(slog.DiscardHandler), Options{})
	if err != nil {
		t.Fatal(err)
	}
	inv := `{"Data":{"req":{"Url":"http://h/api/share","Method":"POST","Query":"{}","Headers":{},"Body":""}},"Metadata":{}}`
	rec := post(t, s, "/share", []byte(inv))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var res struct{ Outputs map[string]json.RawMessage }
	json.Unmarshal(rec.Body.Bytes(), &res)
	var got []string
	json.Unmarshal(res.Outputs["out"], &got)
	// "abcd" is valid base64, so it travels encoded.
	if diff := cmp.Diff([]string{`{"userId":"u-1"}`, "YWJjZA=="}, got); diff != "" {
		t.Errorf("Outputs.out mismatch (-want +got):\n%s", diff)
	}
	if forwardedErr != nil {
		t.Errorf("AddOutput in payload mode: %v", forwardedErr)
	}

	// Forwarded (raw) requests have no output bindings to send to.
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("POST", "/api/share", strings.NewReader("")))
	if !errors.Is(forwardedErr, ErrNoOutputs) {
		t.Errorf("AddOutput when forwarded = %v, want ErrNoOutputs", forwardedErr)
	}
}
