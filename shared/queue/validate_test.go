package queue

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestValidateName(t *testing.T) {
	tests := []struct {
		name  string
		queue string
		ok    bool
	}{
		{"simple", "sync-sessions", true},
		{"digits", "q42", true},
		{"shortest", "abc", true},
		{"longest", strings.Repeat("a", 63), true},
		{"too short", "ab", false},
		{"too long", strings.Repeat("a", 64), false},
		{"upper case", "Sync", false},
		{"double hyphen", "a--b", false},
		{"leading hyphen", "-abc", false},
		{"trailing hyphen", "abc-", false},
		{"underscore", "a_bc", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateName(tc.queue)
			if got := err == nil; got != tc.ok {
				t.Errorf("ValidateName(%q) = %v, want ok=%v", tc.queue, err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v is not ErrInvalid", err)
			}
		})
	}
}

func TestPoisonQueueName(t *testing.T) {
	tests := []struct {
		queue, want string
		ok          bool
	}{
		{"sync-sessions", "sync-sessions-poison", true},
		{"sync-sessions-poison", "", false},
		{strings.Repeat("a", 57), strings.Repeat("a", 57) + "-poison", false},
		{strings.Repeat("a", 56), strings.Repeat("a", 56) + "-poison", true},
	}
	for _, tc := range tests {
		got, ok := PoisonQueueName(tc.queue)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("PoisonQueueName(%q) = %q, %v; want %q, %v", tc.queue, got, ok, tc.want, tc.ok)
		}
	}
}

func TestShouldPoison(t *testing.T) {
	for count, want := range map[int]bool{1: false, MaxDequeueCount - 1: false, MaxDequeueCount: true, MaxDequeueCount + 3: true} {
		if got := ShouldPoison(Message{DequeueCount: count}); got != want {
			t.Errorf("ShouldPoison(DequeueCount %d) = %v, want %v", count, got, want)
		}
	}
}

func TestSecondsRoundsUp(t *testing.T) {
	for d, want := range map[time.Duration]int32{0: 0, time.Nanosecond: 1, time.Second: 1, 1500 * time.Millisecond: 2, time.Minute: 60} {
		if got := seconds(d); got != want {
			t.Errorf("seconds(%s) = %d, want %d", d, got, want)
		}
	}
}
