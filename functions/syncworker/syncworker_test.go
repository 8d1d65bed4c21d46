package syncworker

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/shared/funchost"
	"github.com/crmsync/crmsync/shared/schedule"
	"github.com/crmsync/crmsync/shared/session"
)

type fakeRunner struct {
	rep   session.Report
	err   error
	users []string
}

func (f *fakeRunner) Run(ctx context.Context, user, reason string) (session.Report, error) {
	f.users = append(f.users, user+"/"+reason)
	return f.rep, f.err
}

func TestHandle(t *testing.T) {
	good := string(schedule.Request{User: "u-1", Reason: schedule.Push}.Encode())
	tests := []struct {
		name      string
		body      string
		rep       session.Report
		runErr    error
		wantErr   string
		wantRun   bool
		wantAfter bool
	}{
		{name: "session ok", body: good, rep: session.Report{Outcome: "ok"}, wantRun: true, wantAfter: true},
		{name: "items failed as issues", body: good, rep: session.Report{Outcome: "partial"}, wantRun: true, wantAfter: true},
		{name: "another session running", body: good, rep: session.Report{Outcome: "busy"}, wantRun: true},
		{name: "needs reconnect", body: good, rep: session.Report{Outcome: "reconnect"}, wantRun: true},
		{name: "retry later", body: good, rep: session.Report{Outcome: "retry"}, runErr: fmt.Errorf("%w: graph 503", session.ErrRetryLater), wantErr: "retry later", wantRun: true},
		{name: "not JSON", body: `hello`, wantErr: "malformed JSON"},
		{name: "no user", body: `{"reason":"push"}`, wantErr: "missing user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &fakeRunner{rep: tt.rep, err: tt.runErr}
			after := 0
			w := New(slog.New(slog.DiscardHandler), r, func(ctx context.Context, user string) error { after++; return nil })
			out, err := w.Handle(context.Background(), funchost.QueueTrigger{Body: []byte(tt.body), DequeueCount: 1})
			if tt.wantErr == "" && err != nil {
				t.Fatalf("error = %v, want none", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
			if out != nil {
				t.Errorf("outputs = %v, want none", out)
			}
			if got := len(r.users) == 1; got != tt.wantRun {
				t.Errorf("ran %v, want %v", r.users, tt.wantRun)
			}
			if (after == 1) != tt.wantAfter {
				t.Errorf("after-session step ran %d times, want %v", after, tt.wantAfter)
			}
		})
	}
}
