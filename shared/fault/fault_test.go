package fault

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestClassOf(t *testing.T) {
	reconnect := New(Reconnect, "invalid_grant", "refresh token revoked")
	tests := []struct {
		name string
		err  error
		want Class
	}{
		{"nil", nil, 0},
		{"plain error is temporary", errors.New("connection reset"), Temporary},
		{"cancelled is temporary", context.Canceled, Temporary},
		{"classified", New(Permanent, "REQUIRED_FIELD_MISSING", ""), Permanent},
		{"wrapped with %w", fmt.Errorf("contact update: %w", New(Gone, "NOT_FOUND", "")), Gone},
		{"reconnect inside temporary wins", &Error{Class: Temporary, Err: fmt.Errorf("token: %w", reconnect)}, Reconnect},
		{"quota inside temporary wins", Wrap(Temporary, New(Quota, "REQUEST_LIMIT_EXCEEDED", "")), Quota},
		{"joined errors", errors.Join(New(Permanent, "X", ""), reconnect), Reconnect},
		{"outermost otherwise", Wrap(Throttled, New(Permanent, "X", "")), Throttled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ClassOf(tt.err); got != tt.want {
				t.Errorf("ClassOf(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	e := &Error{Class: Throttled, Code: "ApplicationThrottled", Message: "MailboxConcurrency", Fields: []string{"a", "b"}, RetryAfter: 3 * time.Second}
	want := "throttled: ApplicationThrottled: MailboxConcurrency (fields: a, b) (retry after 3s)"
	if got := e.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if RetryAfterOf(fmt.Errorf("x: %w", e)) != 3*time.Second {
		t.Error("RetryAfterOf lost the delay")
	}
}
