package s3blob

import (
	"sync"
	"time"
)

// partPool keeps idle part buffers for the next parts. Unlike a
// sync.Pool, which every garbage collection empties (each large upload
// then writes into freshly allocated, zeroed and page-faulted 8 MiB
// buffers), it keeps them across collections, within two bounds:
//
//   - at most max idle buffers at any time (buffers in use are bounded by
//     the writers: PartsInFlight+1 each);
//   - buffers idle for a whole trim period are let go: at each period's
//     end the pool drops as many buffers as it held throughout the period
//     (its low-water mark), so an idle store holds no buffer after two
//     periods, and a steady load keeps what it cycles through.
//
// A buffer is made only when none is idle, so the buffers a store holds,
// in use and idle together, never outnumber the most it had in use at
// once. Buffers are Go heap memory: one lost by a caller is garbage, not a leak.
type partPool struct {
	size   int           // capacity of every buffer
	max    int           // most idle buffers kept
	period time.Duration // trim period

	mu    sync.Mutex
	free  [][]byte
	low   int // fewest idle buffers since the last trim
	timer *time.Timer
}

func newPartPool(size, max int, period time.Duration) *partPool {
	return &partPool{size: size, max: max, period: period}
}

// get returns an empty buffer of capacity p.size, idle or new.
func (p *partPool) get() []byte {
	p.mu.Lock()
	if n := len(p.free); n > 0 {
		b := p.free[n-1]
		p.free[n-1] = nil
		p.free = p.free[:n-1]
		p.low = min(p.low, len(p.free))
		p.mu.Unlock()
		return b[:0]
	}
	p.low = 0
	p.mu.Unlock()
	return make([]byte, 0, p.size)
}

// put keeps b for a later get, unless it has another capacity or the
// pool holds max idle buffers already.
func (p *partPool) put(b []byte) {
	if cap(b) != p.size {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.free) >= p.max {
		return
	}
	p.free = append(p.free, b[:0])
	if p.timer == nil { // the pool was empty: a period starts
		p.low = len(p.free)
		p.timer = time.AfterFunc(p.period, p.trim)
	}
}

// trim drops the buffers no get needed during the period that ended.
func (p *partPool) trim() {
	p.mu.Lock()
	defer p.mu.Unlock()
	drop := min(p.low, len(p.free))
	// The oldest buffers are at the front; get takes from the back.
	clear(p.free[:drop])
	p.free = p.free[drop:]
	p.low = len(p.free)
	if len(p.free) == 0 {
		p.timer = nil
		return
	}
	p.timer.Reset(p.period)
}

// idle returns the number of idle buffers.
func (p *partPool) idle() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.free)
}
