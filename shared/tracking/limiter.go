package tracking

import (
	"crypto/sha256"
	"sync"
	"time"
)

// maxTracked bounds the limiter's memory; past it, expired entries are
// swept and, if that is not enough, everything is forgotten (the worst case
// is one extra recorded open per client).
const maxTracked = 100000

// limiter deduplicates repeated fetches by one client (same address and
// user agent) within a window and caps the opens recorded per token in a
// window. It keeps only hashes, in memory; each instance of the function
// has its own, which is good enough for a flood guard.
type limiter struct {
	window time.Duration
	max    int
	mu     sync.Mutex
	seen   map[[16]byte]time.Time
	counts map[string]*bucket
}

type bucket struct {
	start time.Time
	n     int
}

func newLimiter(window time.Duration, max int) *limiter {
	return &limiter{window: window, max: max, seen: map[[16]byte]time.Time{}, counts: map[string]*bucket{}}
}

// allow reports whether an open of token by client at now is recorded.
func (l *limiter) allow(now time.Time, token, client string) bool {
	h := sha256.Sum256([]byte(token + "\x00" + client))
	var key [16]byte
	copy(key[:], h[:16])
	l.mu.Lock()
	defer l.mu.Unlock()
	if at, ok := l.seen[key]; ok && now.Sub(at) < l.window {
		return false
	}
	b := l.counts[token]
	if b == nil || now.Sub(b.start) >= l.window {
		if len(l.counts) >= maxTracked {
			l.sweep(now)
		}
		b = &bucket{start: now}
		l.counts[token] = b
	}
	if b.n >= l.max {
		return false
	}
	b.n++
	if len(l.seen) >= maxTracked {
		l.sweep(now)
	}
	l.seen[key] = now
	return true
}

func (l *limiter) sweep(now time.Time) {
	for k, at := range l.seen {
		if now.Sub(at) >= l.window {
			delete(l.seen, k)
		}
	}
	for k, b := range l.counts {
		if now.Sub(b.start) >= l.window {
			delete(l.counts, k)
		}
	}
	if len(l.seen) >= maxTracked {
		clear(l.seen)
	}
	if len(l.counts) >= maxTracked {
		clear(l.counts)
	}
}
