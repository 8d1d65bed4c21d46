package webguard

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Limiter is a token bucket per client key: Burst requests at once, refilled
// at Rate per second. It lives in one process; with several instances each
// enforces its own share, which still caps brute force on sign-in and token
// endpoints.
type Limiter struct {
	rate  float64
	burst float64
	now   func() time.Time

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

// maxBuckets bounds memory under a flood of distinct keys; beyond it, idle
// buckets are swept and, failing that, new keys are refused.
const maxBuckets = 100_000

// NewLimiter allows perMinute requests per minute per key with bursts of
// burst; now is the clock (time.Now when nil).
func NewLimiter(perMinute, burst int, now func() time.Time) (*Limiter, error) {
	if perMinute <= 0 || burst <= 0 {
		return nil, fmt.Errorf("webguard: rate limit needs positive perMinute and burst, got %d and %d", perMinute, burst)
	}
	if now == nil {
		now = time.Now
	}
	return &Limiter{rate: float64(perMinute) / 60, burst: float64(burst), now: now, buckets: map[string]*bucket{}}, nil
}

// Allow takes a token for key; when none is left it reports how long until
// one is.
func (l *Limiter) Allow(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.lastSweep) > time.Minute {
		l.sweep(now)
	}
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= maxBuckets {
			l.sweep(now)
			if len(l.buckets) >= maxBuckets {
				return false, time.Minute
			}
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.at).Seconds()*l.rate)
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	return false, wait
}

// sweep forgets buckets that have refilled completely: they hold no state.
func (l *Limiter) sweep(now time.Time) {
	l.lastSweep = now
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.at).Seconds()*l.rate >= l.burst {
			delete(l.buckets, k)
		}
	}
}

// Middleware answers 429 with Retry-After (whole seconds, rounded up) when
// the client identified by key is over its limit.
func (l *Limiter) Middleware(key func(*http.Request) string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok, wait := l.Allow(key(r))
		if !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			writeError(w, http.StatusTooManyRequests, "rate_limited", "too many requests; try again later")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ClientIP returns a key function naming the client by address. With
// proxies = 0 it uses the connection's address; behind n trusted proxies
// (Azure's front end is one) it uses the n-th X-Forwarded-For entry from the
// right, the last address a trusted proxy saw, because entries further left
// are whatever the client chose to send.
func ClientIP(proxies int) func(*http.Request) string {
	return func(r *http.Request) string {
		if proxies > 0 {
			var hops []string
			for _, h := range r.Header.Values("X-Forwarded-For") {
				for _, part := range strings.Split(h, ",") {
					if p := strings.TrimSpace(part); p != "" {
						hops = append(hops, p)
					}
				}
			}
			if len(hops) >= proxies {
				return stripPort(hops[len(hops)-proxies])
			}
		}
		return stripPort(r.RemoteAddr)
	}
}

func stripPort(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}
