package digest

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/crmsync/crmsync/local/ncrontab"
	"github.com/crmsync/crmsync/shared/funchost"
	"github.com/crmsync/crmsync/shared/notice"
)

type digester struct {
	runs int
	err  error
}

func (d *digester) DigestAll(context.Context) (notice.DigestResult, error) {
	d.runs++
	return notice.DigestResult{Attention: 2, Sent: 1}, d.err
}

func TestRunSendsTheDigestsOnceAndReturnsTheError(t *testing.T) {
	d := &digester{}
	if _, err := New(slog.New(slog.DiscardHandler), d).Run(context.Background(), funchost.TimerTrigger{}); err != nil || d.runs != 1 {
		t.Errorf("run: %v after %d digests, want nil after 1", err, d.runs)
	}
	d.err = errors.New("storage down")
	if _, err := New(slog.New(slog.DiscardHandler), d).Run(context.Background(), funchost.TimerTrigger{}); !errors.Is(err, d.err) {
		t.Errorf("run: %v, want the digest's error for the host's record", err)
	}
}

func TestScheduleIsValid(t *testing.T) {
	if _, err := ncrontab.Parse(Schedule); err != nil {
		t.Errorf("Schedule %q: %v", Schedule, err)
	}
}
