package syncworker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/host"
	"github.com/crmsync/crmsync/shared/funchost"
	"github.com/crmsync/crmsync/shared/schedule"
	"github.com/crmsync/crmsync/shared/session"
	"github.com/crmsync/crmsync/shared/tablestore"
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
			w := New(slog.New(slog.DiscardHandler), r, func(ctx context.Context, user string) error { after++; return nil }, nil, time.Now)
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

type fakeDeferrer struct {
	err   error
	calls []string
}

func (f *fakeDeferrer) RequestAfter(ctx context.Context, user string, reason schedule.Reason, now, after time.Time) error {
	f.calls = append(f.calls, fmt.Sprintf("%s/%s+%v", user, reason, after.Sub(now)))
	return f.err
}

// A push or "sync now" that finds another session running is deferred, not
// dropped: the running session may have read its sides before the change.
func TestBusyRequestIsDeferred(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name      string
		reason    schedule.Reason
		attempt   int // the message's DequeueCount: 2 when redelivered
		deferErr  error
		wantCalls []string
		wantErr   bool
	}{
		{"push", schedule.Push, 1, nil, []string{"u-1/push+1m0s"}, false},
		{"sync now", schedule.Manual, 1, nil, []string{"u-1/manual+1m0s"}, false},
		{"scheduled comes again by itself", schedule.Scheduled, 1, nil, nil, false},
		{"scheduled, redelivered after its attempt crashed", schedule.Scheduled, 2, nil, []string{"u-1/schedule+1m0s"}, false},
		{"already deferred", schedule.Push, 1, schedule.ErrDebounced, []string{"u-1/push+1m0s"}, false},
		{"user gone", schedule.Push, 1, tablestore.ErrNotFound, []string{"u-1/push+1m0s"}, false},
		{"storage trouble: the queue delivers it again", schedule.Push, 1, errors.New("table 503"), []string{"u-1/push+1m0s"}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := &fakeDeferrer{err: tt.deferErr}
			w := New(slog.New(slog.DiscardHandler), &fakeRunner{rep: session.Report{Outcome: "busy"}}, nil, d, func() time.Time { return now })
			body := schedule.Request{User: "u-1", Reason: tt.reason}.Encode()
			_, err := w.Handle(context.Background(), funchost.QueueTrigger{Body: body, DequeueCount: tt.attempt})
			if (err != nil) != tt.wantErr {
				t.Errorf("error = %v, want error %v", err, tt.wantErr)
			}
			if fmt.Sprint(d.calls) != fmt.Sprint(tt.wantCalls) {
				t.Errorf("deferred %v, want %v", d.calls, tt.wantCalls)
			}
		})
	}
}

// TestRetryTimingOutlastsTheLease: after a session's process crashes, its
// message comes back after host.json's visibilityTimeout and, finding the
// crashed session's lease, is deferred by BusyRetry. That must land after the
// lease has expired (at most session.DefaultLeaseTTL after the crash, since a
// running session renews it), or the user waits for the next schedule.
func TestRetryTimingOutlastsTheLease(t *testing.T) {
	hs, err := host.ReadHostJSON(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	back := hs.Queues.VisibilityTimeout + BusyRetry
	if back <= session.DefaultLeaseTTL {
		t.Errorf("a crashed session's request runs again %v after the crash (visibilityTimeout %v + BusyRetry %v), before its lease (TTL %v) expires",
			back, hs.Queues.VisibilityTimeout, BusyRetry, session.DefaultLeaseTTL)
	}
	if back > 3*time.Minute {
		t.Errorf("a crashed session's request runs again only %v after the crash; want about a minute or two", back)
	}
}

type finishingDeferrer struct {
	fakeDeferrer
	finished []string
}

func (f *finishingDeferrer) Finished(ctx context.Context, user string, requested, now time.Time) error {
	f.finished = append(f.finished, user+"@"+requested.Format(time.TimeOnly))
	return f.err
}

// A push session that ran (whatever its outcome, but busy) is reported
// finished with the time it was requested, so a burst that came meanwhile
// starts the next session at once; other reasons and busy runs are not.
func TestPushSessionIsReportedFinished(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	requested := now.Add(-3 * time.Second)
	for _, tt := range []struct {
		name    string
		reason  schedule.Reason
		outcome string
		want    []string
	}{
		{"push ran", schedule.Push, "ok", []string{"u-1@08:59:57"}},
		{"push ran into trouble", schedule.Push, "partial", []string{"u-1@08:59:57"}},
		{"push found the user busy", schedule.Push, "busy", nil},
		{"scheduled", schedule.Scheduled, "ok", nil},
		{"sync now", schedule.Manual, "ok", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := &finishingDeferrer{}
			w := New(slog.New(slog.DiscardHandler), &fakeRunner{rep: session.Report{Outcome: tt.outcome}}, nil, d, func() time.Time { return now })
			body := schedule.Request{User: "u-1", Reason: tt.reason, Requested: requested}.Encode()
			if _, err := w.Handle(context.Background(), funchost.QueueTrigger{Body: body, DequeueCount: 1}); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(d.finished) != fmt.Sprint(tt.want) {
				t.Errorf("finished %v, want %v", d.finished, tt.want)
			}
		})
	}
}
