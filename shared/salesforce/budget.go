package salesforce

import (
	"context"
	"sync"
	"time"
)

// budgetWindow is the span of Salesforce's rolling daily allowance.
const budgetWindow = 24 * time.Hour

// MemoryCounter is a side.CallCounter in memory, by the minute. It is safe for
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
