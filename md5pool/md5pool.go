// Package md5pool hands out MD5 digests for object bodies (the ETag of a
// single-part object is the MD5 of its bytes).
//
// A lone large body gets the standard library's MD5, the fastest for one
// stream. When several are hashed at once they share
// github.com/minio/md5-simd, which hashes up to 16 streams in one pass of
// AVX-512 (8 with AVX2). Its server hashes, in each round, one block of every
// stream that has one queued: streams that have nothing queued leave lanes
// empty, and a round of one or two streams falls back to scalar code.
//
// Upload bodies arrive at their clients' pace, so when each upload hands
// md5-simd its bytes as they arrive, few are queued at the same moment
// (with 32 uploads of 64 MiB in flight on two cores, md5-simd ran 2.6 times
// the rounds that full lanes need). That costs CPU, which matters only when
// CPU is what limits the machine. So while the CPUs are saturated (Pool's
// Saturated hook), uploads hand their bytes to one feeder goroutine
// instead. The feeder waits until as many uploads have bytes waiting as
// md5-simd has lanes (or as there are SIMD digests, if fewer), for at most
// HoldFor, and then gives md5-simd one 32 KiB block of each in turn, so that
// its rounds find every lane busy. The uploads wait meanwhile; the CPU they
// would have spent goes to the others.
package md5pool

import (
	"crypto/md5"
	"hash"
	"sync"
	"sync/atomic"
	"time"

	md5simd "github.com/minio/md5-simd"
)

// Thresholds: bodies below MinSize are hashed with crypto/md5; SIMD is used
// once MinConcurrent large bodies (counting the new one) are in flight.
const (
	MinSize       = 1 << 20
	MinConcurrent = 4
)

// HoldFor bounds how long the feeder waits for more uploads' bytes.
const HoldFor = 30 * time.Millisecond

const piece = 32 << 10 // md5-simd's largest block per lane and round

// simdLanes is how many streams md5-simd hashes in one round on amd64
// (its Lanes, which it defines only there).
const simdLanes = 16

// Pool is safe for concurrent use. The zero value is not usable; call New.
type Pool struct {
	// Saturated, if set before first use, reports whether the CPUs are
	// saturated; while they are, SIMD digests go through the feeder.
	Saturated func() bool

	once   sync.Once
	srv    md5simd.Server
	active atomic.Int32 // large bodies being hashed, either way
	simd   atomic.Int32 // of which with md5-simd
	queue  chan *job    // to the feeder
}

// New returns a Pool; its SIMD server and feeder start on first use.
func New() *Pool { return &Pool{} }

// Get returns an MD5 digest for a body of the given size (-1 if unknown)
// and a release function to call once the digest's Sum has been taken.
func (p *Pool) Get(size int64) (hash.Hash, func()) {
	if size < MinSize {
		return md5.New(), func() {}
	}
	if p.active.Add(1) < MinConcurrent {
		return md5.New(), func() { p.active.Add(-1) }
	}
	p.once.Do(func() {
		p.srv = md5simd.NewServer()
		p.queue = make(chan *job, 64)
		go p.feed()
	})
	p.simd.Add(1)
	h := p.srv.NewHash()
	d := &digest{Hasher: h, p: p, job: job{h: h, done: make(chan struct{}, 1)}}
	return d, func() {
		h.Close()
		p.simd.Add(-1)
		p.active.Add(-1)
	}
}

// digest is an md5-simd digest whose writes may go through the feeder.
// Write returns only once md5-simd has taken the bytes (it copies them),
// so the caller may reuse its buffer, and no write is pending at Sum,
// Reset or release.
type digest struct {
	md5simd.Hasher
	p   *Pool
	job job
}

// job is one Write waiting for the feeder.
type job struct {
	h    md5simd.Hasher
	rest []byte        // not yet handed to md5-simd
	done chan struct{} // the feeder has handed over all of it
}

func (d *digest) Write(b []byte) (int, error) {
	if len(b) == 0 || d.p.Saturated == nil || !d.p.Saturated() {
		return d.Hasher.Write(b)
	}
	d.job.rest = b
	d.p.queue <- &d.job
	<-d.job.done
	return len(b), nil
}

// feed is the pool's feeder goroutine.
func (p *Pool) feed() {
	var active []*job
	hold := time.NewTimer(HoldFor)
	hold.Stop()
	for {
		if len(active) == 0 {
			active = append(active, <-p.queue)
			active = p.gather(active, hold)
		}
		// Writes queued since join in.
	more:
		for {
			select {
			case j := <-p.queue:
				active = append(active, j)
			default:
				break more
			}
		}
		// One block of each: md5-simd's next round finds them all.
		keep := active[:0]
		for _, j := range active {
			k := min(piece, len(j.rest))
			j.h.Write(j.rest[:k])
			j.rest = j.rest[k:]
			if len(j.rest) > 0 {
				keep = append(keep, j)
				continue
			}
			j.rest = nil
			j.done <- struct{}{} // never blocks: one job per digest at a time
		}
		clear(active[len(keep):])
		active = keep
	}
}

// gather waits, for at most HoldFor, until as many writes are queued as
// md5-simd has lanes, or as there are SIMD digests if fewer.
func (p *Pool) gather(active []*job, hold *time.Timer) []*job {
	want := min(simdLanes, int(p.simd.Load()))
	if len(active) >= want {
		return active
	}
	hold.Reset(HoldFor)
	defer hold.Stop()
	for len(active) < want {
		select {
		case j := <-p.queue:
			active = append(active, j)
		case <-hold.C:
			return active
		}
	}
	return active
}
