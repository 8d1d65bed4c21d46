package session_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/session"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// smallPages makes every query page hold at most two entities, so a reader
// that does not follow continuations misses rows; it counts the queries.
type smallPages struct {
	tablestore.Store
	queries atomic.Int32
	fail    error
}

func (s *smallPages) Query(ctx context.Context, table string, q tablestore.Query) (tablestore.Page, error) {
	s.queries.Add(1)
	if s.fail != nil {
		return tablestore.Page{}, s.fail
	}
	q.Limit = 2
	return s.Store.Query(ctx, table, q)
}

func TestReportCounterSumsTheLastDayOfReports(t *testing.T) {
	ctx := t.Context()
	store, err := tablestore.OpenEmbedded(filepath.Join(fastTempDir(t), "state.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	reports := []struct {
		user    string
		started time.Time
		calls   map[string]int64
	}{
		{"u1", now.Add(time.Minute), map[string]int64{"crm": 3}}, // another instance's clock runs ahead
		{"u1", now.Add(-30 * time.Minute), map[string]int64{"crm": 10, "mailbox": 99}},
		{"u1", now.Add(-2 * time.Hour), map[string]int64{"mailbox": 7}},
		{"u1", now.Add(-5 * time.Hour), map[string]int64{"crm": 20}},
		{"u1", now.Add(-23*time.Hour - 59*time.Minute), map[string]int64{"crm": 40}},
		{"u1", now.Add(-24 * time.Hour), map[string]int64{"crm": 1000}}, // left the window
		{"u1", now.Add(-72 * time.Hour), map[string]int64{"crm": 5000}},
		{"u2", now.Add(-time.Hour), map[string]int64{"crm": 100_000}},
	}
	for i, r := range reports {
		rep := session.Report{SessionID: string(rune('a' + i)), Started: r.started, Outcome: "ok", Calls: r.calls}
		if err := session.NewState(store, r.user).SaveReport(ctx, rep); err != nil {
			t.Fatal(err)
		}
	}
	paged := &smallPages{Store: store}
	c := session.NewReportCounter(paged, "u1")
	const want = 3 + 10 + 20 + 40
	if got, err := c.Used(ctx, now); err != nil || got != want {
		t.Fatalf("Used = %d, %v; want %d (the CRM calls of the reports of the last 24 hours)", got, err, want)
	}
	read := paged.queries.Load()
	if read < 2 {
		t.Errorf("the reports were read in %d queries; the test means several pages", read)
	}
	if err := c.Add(ctx, now, 5); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			_ = c.Add(ctx, now, 1)
			_, _ = c.Used(ctx, now)
		})
	}
	wg.Wait()
	if got, err := c.Used(ctx, now.Add(time.Minute)); err != nil || got != want+5+50 {
		t.Errorf("Used = %d, %v; want %d with the calls added since", got, err, want+5+50)
	}
	if n := paged.queries.Load(); n != read {
		t.Errorf("the reports were queried %d times after the first Used, want once per counter", n-read)
	}
}

func TestReportCounterUnreadableReports(t *testing.T) {
	ctx := t.Context()
	broken := &smallPages{fail: errors.New("table store down")}
	c := session.NewReportCounter(broken, "u1")
	_ = c.Add(ctx, time.Now(), 2)
	if _, err := c.Used(ctx, time.Now()); err == nil {
		t.Fatal("Used hid the failed read")
	}
	// From then on the counter counts this process's calls alone rather than
	// query the table again before every call.
	_ = c.Add(ctx, time.Now(), 1)
	if got, err := c.Used(ctx, time.Now()); err != nil || got != 3 {
		t.Errorf("Used = %d, %v; want 3, the calls added here", got, err)
	}
	if n := broken.queries.Load(); n != 1 {
		t.Errorf("queried %d times, want 1", n)
	}
}
