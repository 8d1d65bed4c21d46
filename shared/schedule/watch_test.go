package schedule

import (
	"context"
	"testing"
	"time"
)

// TestSafetyNet: a watched user's next scheduled session comes a SafetyNet
// after the last (an hour on the paid plan) instead of the plan's interval;
// unwatched (the detector went down), the next one is brought within the
// plan's interval at once, and the cadence is the plan's again.
func TestSafetyNet(t *testing.T) {
	ctx := context.Background()
	s, _, q := newFixture(t)
	if err := s.Enroll(ctx, "ann", "paid", t0); err != nil {
		t.Fatal(err)
	}
	if err := s.SetWatched(ctx, "ann", true, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Tick(ctx, t0); err != nil {
		t.Fatal(err)
	}
	if n := len(drain(t, q)); n != 1 {
		t.Fatalf("tick at the due time sent %d, want 1", n)
	}
	en, err := s.Get(ctx, "ann")
	if err != nil {
		t.Fatal(err)
	}
	if !en.Watched || en.Next.Before(t0.Add(time.Hour)) {
		t.Fatalf("watched user's next session %s, want an hour or more after %s", en.Next, t0)
	}
	// Ticks in the next 50 minutes send nothing.
	for m := 5; m <= 50; m += 5 {
		if _, err := s.Tick(ctx, t0.Add(time.Duration(m)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(drain(t, q)); n != 0 {
		t.Fatalf("ticks within the safety net sent %d", n)
	}
	down := t0.Add(50 * time.Minute)
	if err := s.SetWatched(ctx, "ann", false, down); err != nil {
		t.Fatal(err)
	}
	if en, _ = s.Get(ctx, "ann"); en.Watched || en.Next.After(down.Add(5*time.Minute)) {
		t.Fatalf("unwatched user's next session %s, want within 5 minutes of %s", en.Next, down)
	}
	if _, err := s.Tick(ctx, down.Add(5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if n := len(drain(t, q)); n != 1 {
		t.Fatalf("tick 5 minutes after the detector went down sent %d, want 1", n)
	}
	if en, _ = s.Get(ctx, "ann"); en.Next.After(down.Add(11 * time.Minute)) {
		t.Fatalf("next session %s, want the plan's 5 minutes (plus jitter) again", en.Next)
	}
	// No change, no write.
	if err := s.SetWatched(ctx, "ann", false, down); err != nil {
		t.Fatal(err)
	}
}
