package orgwatch

import (
	"context"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/schedule"
)

// timedReqs records when each session was requested.
type timedReqs struct{ at []time.Time }

func (r *timedReqs) RequestNow(ctx context.Context, user string, reason schedule.Reason, now time.Time) error {
	r.at = append(r.at, now)
	return nil
}

// TestDetectionLatency runs the detector on a simulated clock, its timer at
// TickOffset of every minute, for a change made at each of 64 instants
// across a minute (its first and last millisecond included), and measures
// how long the change waits until its owner's session is requested. The
// worst case is at most 60 s, and the session requested at that instant
// reads a getUpdated window (ending at the minute it starts in) that holds
// the change. At second 5 the worst case was 65 s.
func TestDetectionLatency(t *testing.T) {
	ctx := context.Background()
	base := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	var offsets []time.Duration
	for i := range 60 {
		offsets = append(offsets, time.Duration(i)*time.Second+time.Duration(i*7%1000)*time.Millisecond)
	}
	offsets = append(offsets, 0, time.Millisecond, 59*time.Second+999*time.Millisecond, 30*time.Second)
	var worst time.Duration
	for _, off := range offsets {
		store := openStore(t)
		o := &org{}
		r := &timedReqs{}
		d := &Detector{Store: store, Directory: dir{byOwner: map[string][]string{"005A": {"ann"}}}, Requester: r}
		tick := func(minute int) time.Time { return base.Add(time.Duration(minute)*time.Minute + TickOffset) }
		if _, err := d.Poll(ctx, "org", o, tick(-2)); err != nil { // sets the watermarks
			t.Fatal(err)
		}
		changed := base.Add(off)
		o.rows = append(o.rows, row{"Contact", "003a", "005A", changed})
		var requested time.Time
		for m := -1; m <= 3 && requested.IsZero(); m++ {
			now := tick(m)
			if _, err := d.Poll(ctx, "org", o, now); err != nil {
				t.Fatal(err)
			}
			if len(r.at) > 0 {
				requested = r.at[0]
			}
		}
		if requested.IsZero() {
			t.Fatalf("a change at +%v was never requested", off)
		}
		if end := requested.Truncate(time.Minute); !changed.Before(end) {
			t.Errorf("a change at +%v was requested at %v, whose session's window ends at %v and misses it", off, requested.Format("15:04:05.000"), end.Format("15:04:05"))
		}
		wait := requested.Sub(changed)
		worst = max(worst, wait)
		if len(r.at) != 1 {
			t.Errorf("a change at +%v: %d requests, want one", off, len(r.at))
		}
	}
	t.Logf("worst wait from a change to its session's request: %v (timer at +%v)", worst, TickOffset)
	if worst > time.Minute {
		t.Fatalf("worst wait %v, want at most 60 s", worst)
	}

	// Salesforce's clock 1 s ahead of ours: a change made 0.5 s before our
	// minute turns is stamped in the next minute, left by that poll and
	// requested by the one after — 1 s later than the worst case above,
	// never lost.
	store := openStore(t)
	o := &org{}
	r := &timedReqs{}
	d := &Detector{Store: store, Directory: dir{byOwner: map[string][]string{"005A": {"ann"}}}, Requester: r}
	if _, err := d.Poll(ctx, "org", o, base.Add(-time.Minute+TickOffset)); err != nil {
		t.Fatal(err)
	}
	made := base.Add(59*time.Second + 500*time.Millisecond)
	o.rows = append(o.rows, row{"Contact", "003a", "005A", made.Add(time.Second)})
	for m := 1; m <= 2; m++ {
		if _, err := d.Poll(ctx, "org", o, base.Add(time.Duration(m)*time.Minute+TickOffset)); err != nil {
			t.Fatal(err)
		}
	}
	if len(r.at) != 1 || r.at[0].Sub(made) > time.Minute+time.Second {
		t.Fatalf("with Salesforce's clock 1 s ahead: requested at %v for a change made at %v, want once, within 61 s", r.at, made)
	}
}
