package console

import (
	"sync"
	"time"
)

// Sign-in throttling defaults: each source address and each access key id
// may fail SignInBurst sign-ins in a row, then one more every SignInEvery.
const (
	DefaultSignInBurst = 10
	DefaultSignInEvery = 30 * time.Second
	// maxLimiterEntries bounds each limiter's memory. Buckets that have
	// refilled are dropped first; should the map still be full (many
	// distinct keys in one refill period), it is emptied: the per-address
	// limit still holds each client back.
	maxLimiterEntries = 50_000
)

// limiter is a set of token buckets keyed by a string, on an injected clock.
// A bucket holds up to burst tokens and gains one every `every`.
type limiter struct {
	mu      sync.Mutex
	now     func() time.Time
	burst   float64
	every   time.Duration
	buckets map[string]*tokenBucket
}

type tokenBucket struct {
	tokens float64
	at     time.Time // when tokens was computed
}

func newLimiter(now func() time.Time, burst int, every time.Duration) *limiter {
	return &limiter{now: now, burst: float64(burst), every: every, buckets: map[string]*tokenBucket{}}
}

// refill brings b up to date at now.
func (l *limiter) refill(b *tokenBucket, now time.Time) {
	if d := now.Sub(b.at); d > 0 {
		b.tokens += float64(d) / float64(l.every)
		if b.tokens > l.burst {
			b.tokens = l.burst
		}
	}
	b.at = now
}

// take takes a token for key. If there is none it returns false and how
// long until there is one.
func (l *limiter) take(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= maxLimiterEntries {
			l.sweepLocked(now)
		}
		b = &tokenBucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	l.refill(b, now)
	if b.tokens < 1 {
		return false, time.Duration((1 - b.tokens) * float64(l.every))
	}
	b.tokens--
	return true, 0
}

// refund gives back a token taken for key (a sign-in that succeeded).
func (l *limiter) refund(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.buckets[key]; ok {
		l.refill(b, l.now())
		if b.tokens++; b.tokens > l.burst {
			b.tokens = l.burst
		}
	}
}

func (l *limiter) sweepLocked(now time.Time) {
	for k, b := range l.buckets {
		if l.refill(b, now); b.tokens >= l.burst {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= maxLimiterEntries {
		clear(l.buckets)
	}
}
