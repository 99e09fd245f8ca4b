// Package md5pool hands out MD5 digests for object bodies (the ETag of a
// single-part object is the MD5 of its bytes), and with them, when asked,
// the SHA-256 of the same bytes (to check x-amz-content-sha256).
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
//
// The feeder also advances those uploads' SHA-256s, sixteen at a time with
// sha256x16 (AVX-512; about twice SHA-NI's speed on one core with every
// lane busy), or one at a time with crypto/sha256 when fewer than
// scalarLanes lanes would be busy. Outside the feeder, and for the partial
// blocks at the edges of each write, the SHA-256 is crypto/sha256's; its
// state moves to sha256x16 and back through crypto/sha256's marshalled form.
package md5pool

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"hash"
	"sync"
	"sync/atomic"
	"time"

	md5simd "github.com/minio/md5-simd"

	"github.com/postern/postern/sha256x16"
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
	active atomic.Int32     // large bodies being hashed, either way
	simd   atomic.Int32     // of which with md5-simd
	queue  chan *job        // to the feeder
	sha    sha256x16.Hasher // the feeder's
	scalar hash.Hash        // the feeder's crypto/sha256
}

// New returns a Pool; its SIMD server and feeder start on first use.
func New() *Pool { return &Pool{} }

// Get returns an MD5 digest for a body of the given size (-1 if unknown)
// and a release function to call once the digest's Sum has been taken.
// With withSHA256, the digest may also compute the SHA-256 of the same
// bytes (it then implements checksum.MD5SHA256), so that the feeder can
// batch both.
func (p *Pool) Get(size int64, withSHA256 bool) (hash.Hash, func()) {
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
	var out hash.Hash = d
	if withSHA256 && sha256x16.Available {
		out = &pair{digest: d, sha: sha256.New()}
	}
	return out, func() {
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

	sha     *sha256x16.State // pairs only: the SHA-256 state to advance
	shaRest []byte           // over these whole blocks
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
		// One block of each: md5-simd's next round finds them all, and
		// SHA-256 advances sixteen at a time while it runs.
		for _, j := range active {
			k := min(piece, len(j.rest))
			j.h.Write(j.rest[:k])
			j.rest = j.rest[k:]
		}
		p.shaRound(active)
		keep := active[:0]
		for _, j := range active {
			if len(j.rest) > 0 || len(j.shaRest) > 0 {
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

// shaRound advances, sixteen lanes at a time, the SHA-256 of every job
// that has blocks left by up to one piece.
func (p *Pool) shaRound(active []*job) {
	var states [sha256x16.Lanes]*sha256x16.State
	var in [sha256x16.Lanes][]byte
	n := 0
	flush := func() {
		// sha256x16 costs as much as its longest lane; crypto/sha256 (SHA-NI)
		// hashes one stream at about 7/16 of its speed with all lanes busy.
		// So with fewer than 7 lanes' worth of bytes, crypto/sha256 wins.
		total, longest := 0, 0
		for _, b := range in[:n] {
			total += len(b)
			longest = max(longest, len(b))
		}
		if total < scalarLanes*longest || !p.sha.Blocks(&states, &in) {
			for i := range in[:n] {
				p.scalarBlocks(states[i], in[i])
			}
		}
		states, in, n = [sha256x16.Lanes]*sha256x16.State{}, [sha256x16.Lanes][]byte{}, 0
	}
	for _, j := range active {
		if len(j.shaRest) == 0 {
			continue
		}
		k := min(piece, len(j.shaRest))
		states[n], in[n] = j.sha, j.shaRest[:k]
		j.shaRest = j.shaRest[k:]
		if n++; n == sha256x16.Lanes {
			flush()
		}
	}
	if n > 0 {
		flush()
	}
}

// scalarLanes: below this many lanes' worth of bytes, the feeder hashes
// SHA-256 one stream at a time (crypto/sha256, SHA-NI where the CPU has it).
const scalarLanes = 7

// scalarBlocks advances s over whole blocks b with crypto/sha256.
func (p *Pool) scalarBlocks(s *sha256x16.State, b []byte) {
	if p.scalar == nil {
		p.scalar = sha256.New()
	}
	var buf [shaMarshalled]byte
	importSHA(p.scalar, s, 0, buf[:])
	p.scalar.Write(b)
	if !exportSHA(p.scalar, s, buf[:0]) {
		panic("md5pool: crypto/sha256 state changed form")
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

// pair is an md5-simd digest that also computes the SHA-256 of the same
// bytes. Its SHA-256 lives in a crypto/sha256 digest; writes that go
// through the feeder move its state to sha256x16 and back, through the
// state crypto/sha256 marshals (encoding.BinaryMarshaler).
type pair struct {
	*digest
	sha hash.Hash
	n   uint64 // bytes written
}

// The state crypto/sha256 marshals: magic, h0…h7, the partial block, the
// length, all big-endian.
const (
	shaMagic      = "sha\x03"
	shaMarshalled = len(shaMagic) + 8*4 + sha256.BlockSize + 8
)

func (d *pair) Write(b []byte) (int, error) {
	if len(b) == 0 || d.p.Saturated == nil || !d.p.Saturated() {
		d.sha.Write(b)
		d.n += uint64(len(b))
		return d.digest.Hasher.Write(b)
	}
	// Through the feeder: crypto/sha256 takes the bytes that complete its
	// partial block and those after the last whole block.
	head := int((sha256.BlockSize - d.n%sha256.BlockSize) % sha256.BlockSize)
	head = min(head, len(b))
	d.sha.Write(b[:head])
	d.n += uint64(head)
	whole := b[head : head+(len(b)-head)&^(sha256.BlockSize-1)]
	var state sha256x16.State
	var buf [shaMarshalled]byte
	if len(whole) == 0 || !exportSHA(d.sha, &state, buf[:0]) {
		whole = nil
	}
	d.job.sha, d.job.shaRest = &state, whole
	d.job.rest = b
	d.p.queue <- &d.job
	<-d.job.done
	d.job.sha = nil
	if len(whole) > 0 {
		d.n += uint64(len(whole))
		importSHA(d.sha, &state, d.n, buf[:])
	}
	rest := b[head+len(whole):]
	d.sha.Write(rest)
	d.n += uint64(len(rest))
	return len(b), nil
}

// SumSHA256 appends the SHA-256 of the bytes written to b.
func (d *pair) SumSHA256(b []byte) []byte { return d.sha.Sum(b) }

func (d *pair) Reset() {
	d.digest.Reset()
	d.sha.Reset()
	d.n = 0
}

// exportSHA reads h's chaining value into s. h must hold no partial
// block. It reports false if crypto/sha256's marshalled state is not the
// one this package knows; the caller then hashes with h alone.
func exportSHA(h hash.Hash, s *sha256x16.State, buf []byte) bool {
	a, ok := h.(encoding.BinaryAppender)
	if !ok {
		return false
	}
	b, err := a.AppendBinary(buf)
	if err != nil || len(b) != shaMarshalled || string(b[:len(shaMagic)]) != shaMagic {
		return false
	}
	for i := range s {
		s[i] = binary.BigEndian.Uint32(b[len(shaMagic)+4*i:])
	}
	return true
}

// importSHA sets h to chaining value s after n bytes (a whole number of
// blocks), in the marshalled form exportSHA read.
func importSHA(h hash.Hash, s *sha256x16.State, n uint64, buf []byte) {
	b := append(buf[:0], shaMagic...)
	for _, v := range s {
		b = binary.BigEndian.AppendUint32(b, v)
	}
	var partial [sha256.BlockSize]byte
	b = append(b, partial[:]...)
	b = binary.BigEndian.AppendUint64(b, n)
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(b); err != nil {
		panic("md5pool: crypto/sha256 refused its own state: " + err.Error())
	}
}
