package session_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/session"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// countingStore counts the point reads and queries of a store, and fails
// them all with fail when set.
type countingStore struct {
	tablestore.Store
	gets, queries atomic.Int32
	fail          error
}

func (s *countingStore) Get(ctx context.Context, table, pk, rk string) (tablestore.Entity, error) {
	s.gets.Add(1)
	if s.fail != nil {
		return tablestore.Entity{}, s.fail
	}
	return s.Store.Get(ctx, table, pk, rk)
}

func (s *countingStore) Query(ctx context.Context, table string, q tablestore.Query) (tablestore.Page, error) {
	s.queries.Add(1)
	if s.fail != nil {
		return tablestore.Page{}, s.fail
	}
	return s.Store.Query(ctx, table, q)
}

func counterStore(t *testing.T) *tablestore.Embedded {
	t.Helper()
	store, err := tablestore.OpenEmbedded(filepath.Join(fastTempDir(t), "state.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

// pastSession runs the lease part of a session of user that started at
// started, took a minute and made calls: what every session, idle or not,
// leaves on the lease row.
func pastSession(t *testing.T, store tablestore.Store, user string, started time.Time, calls map[string]int64) {
	t.Helper()
	ctx := t.Context()
	l, err := session.AcquireLease(ctx, store, user, "s-"+started.Format(time.RFC3339), time.Minute, started)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Release(ctx, session.Report{Started: started, Duration: time.Minute, Outcome: "ok", Calls: calls}); err != nil {
		t.Fatal(err)
	}
}

// tallyHours is the number of hourly buckets on user's lease row.
func tallyHours(t *testing.T, store tablestore.Store, user string) int {
	t.Helper()
	e, err := store.Get(t.Context(), session.LeaseTable, user, "lease")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := e.Properties["CRMCallsByHour"].(string)
	if raw == "" {
		return 0
	}
	return strings.Count(raw, ",") + 1
}

func TestLeaseCounterSumsTheLastDayOfSessions(t *testing.T) {
	ctx := t.Context()
	store := counterStore(t)
	now := time.Date(2026, 11, 24, 9, 20, 0, 0, time.UTC)
	sessions := []struct {
		user    string
		started time.Time
		calls   map[string]int64
	}{ // in the order they ran
		{"u1", now.Add(-72 * time.Hour), map[string]int64{"crm": 5000}},
		{"u1", now.Add(-25*time.Hour - 30*time.Minute), map[string]int64{"crm": 1000}}, // its hour ended before the window began
		{"u1", now.Add(-24*time.Hour - 10*time.Minute), map[string]int64{"crm": 40}},   // the oldest hour, partly in the window, counts whole
		{"u1", now.Add(-5 * time.Hour), map[string]int64{"crm": 20}},
		{"u1", now.Add(-2 * time.Hour), map[string]int64{"mailbox": 7}},
		{"u1", now.Add(-30 * time.Minute), map[string]int64{"crm": 10, "mailbox": 99}},
		{"u2", now.Add(-time.Hour), map[string]int64{"crm": 100_000}},
		{"u1", now.Add(time.Minute), map[string]int64{"crm": 3}}, // another instance's clock runs ahead
	}
	for _, s := range sessions {
		pastSession(t, store, s.user, s.started, s.calls)
	}
	counted := &countingStore{Store: store}
	c := session.NewLeaseCounter(counted, "u1")
	const want = 40 + 20 + 10 + 3
	if got, err := c.Used(ctx, now); err != nil || got != want {
		t.Fatalf("Used = %d, %v; want %d (the CRM calls of the sessions of the last 24 hours)", got, err, want)
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
	if gets, queries := counted.gets.Load(), counted.queries.Load(); gets != 1 || queries != 0 {
		t.Errorf("the counter made %d point reads and %d queries, want 1 and 0", gets, queries)
	}
	// The row keeps the hours that can still count: here four (the 72- and
	// 25-hour-old ones were dropped).
	if got, want := tallyHours(t, store, "u1"), 4; got != want {
		t.Errorf("the lease row tallies %d hours, want %d", got, want)
	}
}

// A session an hour for 30 hours: the tally keeps the current hour and the
// 24 before it, and 25 hours later counts nothing.
func TestLeaseCounterRollsOverADay(t *testing.T) {
	ctx := t.Context()
	store := counterStore(t)
	t0 := time.Date(2026, 11, 24, 0, 5, 0, 0, time.UTC)
	for k := range 30 {
		pastSession(t, store, "u1", t0.Add(time.Duration(k)*time.Hour), map[string]int64{"crm": 10})
	}
	now := t0.Add(29*time.Hour + 5*time.Minute)
	tests := []struct {
		name string
		now  time.Time
		want int
	}{
		{"just after the last session", now, 25 * 10},
		{"12 hours later", now.Add(12 * time.Hour), 13 * 10},
		{"a day later: the last session's hour began in the window", now.Add(24 * time.Hour), 10},
		{"25 hours later", now.Add(25 * time.Hour), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := session.NewLeaseCounter(store, "u1").Used(ctx, tt.now); err != nil || got != tt.want {
				t.Errorf("Used = %d, %v; want %d", got, err, tt.want)
			}
		})
	}
	if got, want := tallyHours(t, store, "u1"), 25; got != want {
		t.Errorf("the lease row tallies %d hours, want %d (the current one and the 24 before it)", got, want)
	}
}

// Release keeps the tally of the sessions before it, read when the lease was
// acquired; renewals keep it on the row meanwhile, so a counter opened while
// a session runs sees it.
func TestReleaseKeepsTheEarlierTally(t *testing.T) {
	ctx := t.Context()
	store := counterStore(t)
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	pastSession(t, store, "u1", now.Add(-3*time.Hour), map[string]int64{"crm": 50})
	l, err := session.AcquireLease(ctx, store, "u1", "s-now", time.Minute, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Renew(ctx, time.Minute, now.Add(30*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got, err := session.NewLeaseCounter(store, "u1").Used(ctx, now); err != nil || got != 50 {
		t.Errorf("while the session runs: Used = %d, %v; want 50", got, err)
	}
	// An idle session: one call, no report.
	if err := l.Release(ctx, session.Report{Started: now, Duration: time.Second, Outcome: "ok", Calls: map[string]int64{"crm": 1}}); err != nil {
		t.Fatal(err)
	}
	if got, err := session.NewLeaseCounter(store, "u1").Used(ctx, now.Add(time.Minute)); err != nil || got != 51 {
		t.Errorf("after it: Used = %d, %v; want 51", got, err)
	}
	last, err := session.ReadLastSession(ctx, store, "u1", now.Add(time.Minute))
	if err != nil || last.Outcome != "ok" || last.Running {
		t.Errorf("last session %+v (%v), want the released one's summary", last, err)
	}
}

func TestLeaseCounterUnreadableLease(t *testing.T) {
	ctx := t.Context()
	broken := &countingStore{fail: errors.New("table store down")}
	c := session.NewLeaseCounter(broken, "u1")
	_ = c.Add(ctx, time.Now(), 2)
	if _, err := c.Used(ctx, time.Now()); err == nil {
		t.Fatal("Used hid the failed read")
	}
	// From then on the counter counts this process's calls alone rather than
	// read the table again before every call.
	_ = c.Add(ctx, time.Now(), 1)
	if got, err := c.Used(ctx, time.Now()); err != nil || got != 3 {
		t.Errorf("Used = %d, %v; want 3, the calls added here", got, err)
	}
	if n := broken.gets.Load(); n != 1 {
		t.Errorf("read %d times, want 1", n)
	}
}

func TestLeaseCounterNoLeaseYet(t *testing.T) {
	c := session.NewLeaseCounter(counterStore(t), "u-new")
	if got, err := c.Used(t.Context(), time.Now()); err != nil || got != 0 {
		t.Errorf("Used = %d, %v; want 0 for a user with no session yet", got, err)
	}
}

// TestTallyWindowIsTheConnectors: a connector whose allowance is measured
// over two days (side.Connector.Budget.Window) gets its calls counted over
// two days — the lease row keeps them and the counter sums them — while
// the default window still counts one day.
func TestTallyWindowIsTheConnectors(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2026, 11, 24, 9, 20, 0, 0, time.UTC)
	const window = 48 * time.Hour
	for _, tc := range []struct {
		name            string
		leaseWindow     time.Duration // the runner's TallyWindow
		want48, wantDay int
	}{
		{"lease keeps the connector's window", window, 300 + 7, 7},
		// A lease left at the default prunes what a longer window would count.
		{"lease at the default window", 0, 7, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := counterStore(t)
			for _, s := range []struct {
				started time.Time
				calls   int64
			}{{now.Add(-30 * time.Hour), 300}, {now.Add(-time.Hour), 7}} {
				l, err := session.AcquireLease(ctx, store, "u1", "s-"+s.started.Format(time.RFC3339), time.Minute, s.started)
				if err != nil {
					t.Fatal(err)
				}
				l.TallyOver(tc.leaseWindow)
				if err := l.Release(ctx, session.Report{Started: s.started, Duration: time.Minute, Outcome: "ok", Calls: map[string]int64{"crm": s.calls}}); err != nil {
					t.Fatal(err)
				}
			}
			if got, err := session.NewLeaseCounterOver(store, "u1", window).Used(ctx, now); err != nil || got != tc.want48 {
				t.Errorf("two-day counter: Used = %d, %v; want %d", got, err, tc.want48)
			}
			if got, err := session.NewLeaseCounter(store, "u1").Used(ctx, now); err != nil || got != tc.wantDay {
				t.Errorf("default counter: Used = %d, %v; want %d", got, err, tc.wantDay)
			}
		})
	}
}
