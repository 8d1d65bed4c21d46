package syncworker

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/shared/funchost"
)

func TestHandle(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		wantErr string
	}{
		{"valid request fails honestly", `{"userId":"u-1","tenantId":"t-1","reason":"schedule"}`, ErrEngineMissing.Error()},
		{"not JSON", `hello`, "not JSON"},
		{"no user", `{"tenantId":"t-1"}`, "no userId"},
	}
	w := New(slog.New(slog.DiscardHandler))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := w.Handle(context.Background(), funchost.QueueTrigger{Body: []byte(tt.body), DequeueCount: 1})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
			if out != nil {
				t.Errorf("outputs = %v, want none", out)
			}
		})
	}
	_, err := w.Handle(context.Background(), funchost.QueueTrigger{Body: []byte(`{"userId":"u"}`)})
	if !errors.Is(err, ErrEngineMissing) {
		t.Errorf("error %v is not ErrEngineMissing", err)
	}
}
