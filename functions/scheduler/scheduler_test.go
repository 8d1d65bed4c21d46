package scheduler

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/ncrontab"
	"github.com/crmsync/crmsync/shared/funchost"
	"github.com/crmsync/crmsync/shared/schedule"
)

type fakeTicker struct {
	at  []time.Time
	err error
}

func (f *fakeTicker) Tick(ctx context.Context, now time.Time) (schedule.TickReport, error) {
	f.at = append(f.at, now)
	return schedule.TickReport{Due: 3, Enqueued: 2, Paused: 1, Queries: 16, Writes: 3}, f.err
}

type fakeRenewer struct {
	calls int
	err   error
}

func (f *fakeRenewer) Renew(ctx context.Context, now time.Time) (int, error) {
	f.calls++
	return 1, f.err
}

func TestTickEnqueuesAndRenews(t *testing.T) {
	var buf bytes.Buffer
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	tick, renew := &fakeTicker{}, &fakeRenewer{}
	run := New(slog.New(slog.NewTextHandler(&buf, nil)), tick, renew, func() time.Time { return now }).Run
	if _, err := run(context.Background(), funchost.TimerTrigger{}); err != nil {
		t.Fatal(err)
	}
	if len(tick.at) != 1 || !tick.at[0].Equal(now) || renew.calls != 1 {
		t.Errorf("ticked at %v, renewed %d times; want one tick at %v and one renewal", tick.at, renew.calls, now)
	}
	if !strings.Contains(buf.String(), "enqueued=2") {
		t.Errorf("log does not report the counts:\n%s", buf.String())
	}
}

func TestTickErrorsAreReported(t *testing.T) {
	tick, renew := &fakeTicker{err: errors.New("table down")}, &fakeRenewer{err: errors.New("graph down")}
	_, err := New(slog.New(slog.DiscardHandler), tick, renew, time.Now).Run(context.Background(), funchost.TimerTrigger{})
	if err == nil || !strings.Contains(err.Error(), "table down") || !strings.Contains(err.Error(), "graph down") {
		t.Errorf("error = %v, want both failures", err)
	}
	if renew.calls != 1 {
		t.Error("a failed tick stopped the renewals")
	}
}

func TestScheduleIsValid(t *testing.T) {
	if _, err := ncrontab.Parse(Schedule); err != nil {
		t.Errorf("Schedule %q: %v", Schedule, err)
	}
}
