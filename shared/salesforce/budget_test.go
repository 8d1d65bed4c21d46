package salesforce

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/fakesalesforce"
	"github.com/crmsync/crmsync/shared/fault"
)

func TestMemoryCounterRollingDay(t *testing.T) {
	ctx := t.Context()
	m := NewMemoryCounter()
	t0 := time.Date(2026, 5, 11, 12, 0, 30, 0, time.UTC)
	_ = m.Add(ctx, t0, 3)
	_ = m.Add(ctx, t0.Add(10*time.Second), 2)
	_ = m.Add(ctx, t0.Add(2*time.Hour), 4)
	tests := []struct {
		name string
		at   time.Time
		want int
	}{
		{"same minute", t0, 5},
		{"all within the day", t0.Add(23 * time.Hour), 9},
		{"first minute left the window", t0.Add(24 * time.Hour), 4},
		{"all left the window", t0.Add(26 * time.Hour), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, _ := m.Used(ctx, tt.at); got != tt.want {
				t.Errorf("Used = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestUserShareOfDailyLimit(t *testing.T) {
	l := newLocal(t, fakesalesforce.Options{DailyLimit: 100}, Options{MaxShare: 0.5, UserShare: 0.1})
	// Another integration used 30 calls: under the org guard (50), so only
	// this user's own 10 calls count against the user's cap of 10.
	l.srv.SetAPIUsage(30)
	for i := range 10 {
		if _, err := l.client.Count(t.Context(), "SELECT COUNT() FROM Contact"); err != nil {
			t.Fatalf("call %d under the user's share: %v", i, err)
		}
	}
	_, err := l.client.Count(t.Context(), "SELECT COUNT() FROM Contact")
	wantFault(t, err, fault.Quota, "CRMSYNC_USER_SHARE_USED")
	if used, _ := l.srv.APIUsage(); used != 40 {
		t.Errorf("org usage = %d, want 40: the refused call must not reach Salesforce", used)
	}
}

// storedCounter stands in for a storage-backed counter shared by a user's
// clients.
type storedCounter struct {
	*MemoryCounter
	fail error
}

func (s *storedCounter) Used(ctx context.Context, now time.Time) (int, error) {
	if s.fail != nil {
		return 0, s.fail
	}
	return s.MemoryCounter.Used(ctx, now)
}

func TestUserShareSpansClients(t *testing.T) {
	l := newLocal(t, fakesalesforce.Options{DailyLimit: 100}, Options{})
	now := time.Date(2026, 5, 11, 12, 0, 0, 0, time.UTC)
	shared := &storedCounter{MemoryCounter: NewMemoryCounter()}
	// Earlier sessions of this user made 9 calls.
	_ = shared.Add(t.Context(), now.Add(-time.Hour), 9)
	c, err := New(Options{Tokens: Static(l.token), UserShare: 0.1, Counter: shared, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	// The limit is learnt from the first answer; the tenth call is the last.
	if _, err := c.Count(t.Context(), "SELECT COUNT() FROM Contact"); err != nil {
		t.Fatal(err)
	}
	_, err = c.Count(t.Context(), "SELECT COUNT() FROM Contact")
	wantFault(t, err, fault.Quota, "CRMSYNC_USER_SHARE_USED")
	if got, _ := shared.Used(t.Context(), now); got != 10 {
		t.Errorf("shared count = %d, want 10", got)
	}
	// A count that cannot be read does not stop the sync.
	shared.fail = errors.New("storage unavailable")
	if _, err := c.Count(t.Context(), "SELECT COUNT() FROM Contact"); err != nil {
		t.Errorf("with an unreadable count: %v, want the call made", err)
	}
}

func TestUserShareOptions(t *testing.T) {
	for _, share := range []float64{-0.1, 0.6} {
		if _, err := New(Options{Tokens: Static(nil), MaxShare: 0.5, UserShare: share}); err == nil {
			t.Errorf("UserShare %v with MaxShare 0.5: no error", share)
		}
	}
}
