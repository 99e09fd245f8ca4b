package sqlite

import (
	"sync"
	"time"
)

// cache keeps recent read results of a store that only this process
// writes to. Every write through the Store forgets the entries it affects,
// so the cache stays exact; that is why it lives inside this package and
// nowhere a store shared by several nodes could be given it.
//
// A read that overlapped a write must not put its (possibly old) result in
// the cache after the write has forgotten the entry: every forget bumps a
// generation counter, and a read caches its result only if the generation
// did not move while it was reading.
type cache[K comparable, V any] struct {
	ttl      time.Duration // 0: entries live until forgotten or evicted
	now      func() time.Time
	maxItems int
	maxBytes int         // bound on the sum of size(v); 0 with size nil
	size     func(V) int // nil: every entry counts 0 bytes

	mu    sync.Mutex
	gen   uint64
	m     map[K]cacheEntry[V]
	bytes int
}

type cacheEntry[V any] struct {
	v    V
	err  error
	till time.Time
}

func newCache[K comparable, V any](ttl time.Duration, maxItems, maxBytes int, size func(V) int) *cache[K, V] {
	return &cache[K, V]{ttl: ttl, now: time.Now, maxItems: maxItems, maxBytes: maxBytes, size: size, m: map[K]cacheEntry[V]{}}
}

// lookup returns the cached result for k, if any, and the generation to
// pass to add after a miss. A nil cache never hits.
func (c *cache[K, V]) lookup(k K) (v V, err error, gen uint64, ok bool) {
	if c == nil {
		return v, nil, 0, false
	}
	var now time.Time
	if c.ttl > 0 {
		now = c.now()
	}
	c.mu.Lock()
	e, ok := c.m[k]
	gen = c.gen
	c.mu.Unlock()
	if ok && c.ttl > 0 && !now.Before(e.till) {
		ok = false
	}
	return e.v, e.err, gen, ok
}

// add caches a result read at generation gen, unless a write moved the
// generation since. A full cache is cleared.
func (c *cache[K, V]) add(k K, v V, err error, gen uint64) {
	if c == nil {
		return
	}
	size := 0
	if c.size != nil {
		size = c.size(v)
	}
	var till time.Time
	if c.ttl > 0 {
		till = c.now().Add(c.ttl)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen || size > c.maxBytes {
		return
	}
	if old, ok := c.m[k]; ok {
		c.bytes -= c.sizeOf(old.v)
		delete(c.m, k)
	}
	if len(c.m) >= c.maxItems || c.bytes+size > c.maxBytes {
		clear(c.m)
		c.bytes = 0
	}
	c.m[k] = cacheEntry[V]{v: v, err: err, till: till}
	c.bytes += size
}

func (c *cache[K, V]) sizeOf(v V) int {
	if c.size == nil {
		return 0
	}
	return c.size(v)
}

// forget drops the entries for which match is true and moves the generation.
func (c *cache[K, V]) forget(match func(K) bool) {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.gen++
	for k, e := range c.m {
		if match(k) {
			c.bytes -= c.sizeOf(e.v)
			delete(c.m, k)
		}
	}
	c.mu.Unlock()
}

// forgetKey drops one entry and moves the generation.
func (c *cache[K, V]) forgetKey(k K) {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.gen++
	if e, ok := c.m[k]; ok {
		c.bytes -= c.sizeOf(e.v)
		delete(c.m, k)
	}
	c.mu.Unlock()
}

// set caches v for k as the value a write has just committed, and moves
// the generation (a read that overlapped the write must not replace it).
// Only the writer goroutine calls it, in commit order (wtx.afterCommit),
// so a later write's value always wins. A full cache is cleared.
func (c *cache[K, V]) set(k K, v V) {
	if c == nil {
		return
	}
	size := c.sizeOf(v)
	var till time.Time
	if c.ttl > 0 {
		till = c.now().Add(c.ttl)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if old, ok := c.m[k]; ok {
		c.bytes -= c.sizeOf(old.v)
		delete(c.m, k)
	}
	if size > c.maxBytes {
		return
	}
	if len(c.m) >= c.maxItems || c.bytes+size > c.maxBytes {
		clear(c.m)
		c.bytes = 0
	}
	c.m[k] = cacheEntry[V]{v: v, till: till}
	c.bytes += size
}

// update applies f to k's entry, if cached, as a write has just committed
// it, and moves the generation (as set does; only the writer goroutine
// calls it, in commit order). f must set absolute values: a read that
// followed the commit may have cached the entry already.
func (c *cache[K, V]) update(k K, f func(*V)) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	e, ok := c.m[k]
	if !ok {
		return
	}
	old := c.sizeOf(e.v)
	f(&e.v)
	c.bytes += c.sizeOf(e.v) - old
	c.m[k] = e
}
