package salesforce

import (
	"context"
	"sync"
	"time"
)

// CallCounter keeps count of one user's API calls over the rolling 24 hours
// Salesforce measures its daily allowance on, so that the client can keep
// each user under Options.UserShare of the org's daily limit. The org's own
// usage (Sforce-Limit-Info) cannot say which user made the calls; only the
// callers can count them.
//
// The default, a MemoryCounter per client, counts only that client's calls.
// Wiring that gives every client of a user the same counter, backed by
// storage, makes the cap span sessions and function instances. The client
// calls Used before and Add after every counted request, so a storage-backed
// counter should keep a local tally and persist it in batches.
type CallCounter interface {
	// Used returns the calls counted in the 24 hours up to now.
	Used(ctx context.Context, now time.Time) (int, error)
	// Add counts n calls made at now.
	Add(ctx context.Context, now time.Time, n int) error
}

// budgetWindow is the span of Salesforce's rolling daily allowance.
const budgetWindow = 24 * time.Hour

// MemoryCounter is a CallCounter in memory, by the minute. It is safe for
// concurrent use.
type MemoryCounter struct {
	mu      sync.Mutex
	minutes []minuteCount // oldest first
}

type minuteCount struct {
	at time.Time // truncated to the minute
	n  int
}

// NewMemoryCounter returns an empty MemoryCounter.
func NewMemoryCounter() *MemoryCounter { return &MemoryCounter{} }

// Used returns the calls counted in the 24 hours up to now.
func (m *MemoryCounter) Used(_ context.Context, now time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.prune(now)
	total := 0
	for _, c := range m.minutes {
		if !c.at.After(now) {
			total += c.n
		}
	}
	return total, nil
}

// Add counts n calls made at now.
func (m *MemoryCounter) Add(_ context.Context, now time.Time, n int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	at := now.Truncate(time.Minute)
	if k := len(m.minutes); k > 0 && !m.minutes[k-1].at.Before(at) {
		m.minutes[k-1].n += n
	} else {
		m.minutes = append(m.minutes, minuteCount{at: at, n: n})
	}
	m.prune(now)
	return nil
}

// prune drops the minutes that left the window; m.mu is held.
func (m *MemoryCounter) prune(now time.Time) {
	cut := 0
	for cut < len(m.minutes) && now.Sub(m.minutes[cut].at) >= budgetWindow {
		cut++
	}
	m.minutes = m.minutes[cut:]
}
