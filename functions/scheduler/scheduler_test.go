package scheduler

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/local/ncrontab"
	"github.com/crmsync/crmsync/shared/funchost"
)

func TestTickLogsAndSucceeds(t *testing.T) {
	var buf bytes.Buffer
	run := New(slog.New(slog.NewTextHandler(&buf, nil))).Run
	for _, tick := range []funchost.TimerTrigger{{}, {IsPastDue: true, ScheduleStatus: &funchost.ScheduleStatus{}}} {
		out, err := run(context.Background(), tick)
		if err != nil || out != nil {
			t.Errorf("Run = %v, %v; want no outputs, no error", out, err)
		}
	}
	if got := strings.Count(buf.String(), "scheduler tick"); got != 2 {
		t.Errorf("logged %d ticks, want 2:\n%s", got, buf.String())
	}
}

func TestScheduleIsValid(t *testing.T) {
	if _, err := ncrontab.Parse(Schedule); err != nil {
		t.Errorf("Schedule %q: %v", Schedule, err)
	}
}
