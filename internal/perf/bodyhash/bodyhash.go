// Package bodyhash hands out the digests an upload body needs: its MD5 (the
// ETag of a single-part object) and, when asked, its SHA-256 (to check
// x-amz-content-sha256).
//
// Every digest is crypto/md5's and crypto/sha256's, the fastest for one
// stream, and while the CPUs have time to spare that is all there is.
// While they are saturated (Pool's Saturated hook), CPU per byte is what
// limits the server, and hashing many streams at once costs far less: with
// AVX-512, package simdhash advances sixteen states in one pass, at about
// 12 (MD5) and 2.2 (SHA-256) times the one-stream speed here. So then
// the whole blocks of each large write go to one feeder goroutine. The
// feeder waits until as many bodies have bytes waiting as there are lanes
// (or as there are large bodies, if fewer), for at most HoldFor, and then
// hashes one piece of each per pass, so that the lanes are busy. The
// uploads wait meanwhile; the CPU they would have spent goes to the others.
// A pass with too few lanes' worth of bytes hashes lane by lane with the
// standard library, which is then cheaper.
//
// The states move to the kernels and back through the standard library's
// marshalled form (encoding.BinaryMarshaler); the partial blocks at the
// edges of each write, and the padding, stay the standard library's.
//
// One feeder hashes on one core, about 2.8 GB/s of MD5 and SHA-256 with
// every lane busy; machines with more than eight CPUs get one feeder per
// eight. Without AVX-512 there is no feeder: each upload hashes its own.
package bodyhash

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"hash"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/postern/postern/internal/clock"
	"github.com/postern/postern/internal/perf/simdhash"
)

// MinSize: smaller bodies get plain digests that never use the feeder.
const MinSize = 1 << 20

// HoldFor bounds how long the feeder waits for more bodies' bytes.
const HoldFor = 30 * time.Millisecond

const (
	lanes = simdhash.Lanes
	piece = 32 << 10 // bytes of each body per pass; smaller writes skip the feeder
	block = 64       // MD5's and SHA-256's block size

	// Below this many lanes' worth of bytes in a pass, the standard library
	// is cheaper, lane by lane (with all lanes busy, simdhash's MD5 is 12
	// times crypto/md5 and its SHA-256 2.2 times crypto/sha256 here).
	md5MinLanes = 2
	shaMinLanes = 7
)

// Pool is safe for concurrent use. The zero value is not usable; call New.
type Pool struct {
	// Saturated, if set before first use, reports whether the CPUs are
	// saturated; while they are, large writes go through the feeder.
	Saturated func() bool
	// Clock, if set before first use, times the feeders' hold. Nil means
	// clock.Real.
	Clock clock.Clock

	once    sync.Once
	feeders []*feeder
	next    atomic.Uint32 // the feeder of the next large body
}

// feeder is one feeder goroutine and what it owns.
type feeder struct {
	large atomic.Int32 // large bodies' digests open that use it
	queue chan *job
	clock clock.Clock
	hold  clock.Timer // bounds gather's wait; made on first use

	md5x   simdhash.MD5
	shax   simdhash.SHA256
	md5one hash.Hash
	shaone hash.Hash
}

// New returns a Pool; its feeders start on first use.
func New() *Pool { return &Pool{} }

// Get returns an MD5 digest for a body of the given size (-1 if unknown)
// and a release function to call once its sums have been taken. With
// withSHA256, the digest of a large body also computes the SHA-256 of the
// same bytes (it then implements checksum.MD5SHA256), so that the feeder
// can batch both.
func (p *Pool) Get(size int64, withSHA256 bool) (hash.Hash, func()) {
	if size < MinSize {
		return md5.New(), func() {}
	}
	p.once.Do(func() {
		if !simdhash.Available {
			return
		}
		for range max(1, runtime.NumCPU()/8) {
			f := newFeeder(clock.Or(p.Clock))
			p.feeders = append(p.feeders, f)
			go f.feed()
		}
	})
	d := &digest{p: p, md5: md5.New(), job: job{done: make(chan struct{}, 1)}}
	release := func() {}
	if len(p.feeders) > 0 {
		f := p.feeders[int(p.next.Add(1))%len(p.feeders)]
		f.large.Add(1)
		d.f, release = f, func() { f.large.Add(-1) }
	}
	if withSHA256 {
		d.sha = sha256.New()
		return pair{d}, release
	}
	return d, release
}

// digest is a large body's MD5 and, in a pair, SHA-256.
type digest struct {
	p   *Pool
	f   *feeder // nil if there are none
	md5 hash.Hash
	sha hash.Hash // nil unless asked for
	n   uint64    // bytes written
	job job
}

// pair is a digest that computes the SHA-256 too.
type pair struct{ *digest }

// SumSHA256 appends the SHA-256 of the bytes written to b.
func (d pair) SumSHA256(b []byte) []byte { return d.sha.Sum(b) }

// job is one write's whole blocks, waiting for the feeder.
type job struct {
	md5  simdhash.MD5State
	sha  simdhash.SHA256State
	both bool          // sha too
	rest []byte        // blocks not yet hashed
	done chan struct{} // all of them are
}

func (d *digest) Size() int           { return md5.Size }
func (d *digest) BlockSize() int      { return md5.BlockSize }
func (d *digest) Sum(b []byte) []byte { return d.md5.Sum(b) }
func (d *digest) Reset()              { d.md5.Reset(); d.n = 0; d.shaReset() }
func (d *digest) shaReset() {
	if d.sha != nil {
		d.sha.Reset()
	}
}
func (d *digest) saturated() bool             { return d.f != nil && d.p.Saturated != nil && d.p.Saturated() }
func (d *digest) Write(b []byte) (int, error) { d.write(b); return len(b), nil }

func (d *digest) write(b []byte) {
	if len(b) < piece || !d.saturated() {
		d.direct(b)
		return
	}
	// The bytes that complete a partial block, and those after the last
	// whole block, stay with the standard library's digests.
	head := min(int((block-d.n%block)%block), len(b))
	d.direct(b[:head])
	whole := b[head : head+(len(b)-head)&^(block-1)]
	var buf [shaState]byte
	d.job.both = d.sha != nil
	if !export(d.md5, md5Magic, d.job.md5[:], buf[:0]) || (d.job.both && !export(d.sha, shaMagic, d.job.sha[:], buf[:0])) {
		d.direct(b[head:]) // the marshalled form changed: no feeder
		return
	}
	d.job.rest = whole
	d.f.queue <- &d.job
	<-d.job.done
	d.n += uint64(len(whole))
	restore(d.md5, md5Magic, d.job.md5[:], d.n, buf[:])
	if d.job.both {
		restore(d.sha, shaMagic, d.job.sha[:], d.n, buf[:])
	}
	d.direct(b[head+len(whole):])
}

// direct hashes b with the standard library's digests.
func (d *digest) direct(b []byte) {
	d.md5.Write(b)
	if d.sha != nil {
		d.sha.Write(b)
	}
	d.n += uint64(len(b))
}

func newFeeder(clk clock.Clock) *feeder {
	return &feeder{queue: make(chan *job, 64), clock: clk}
}

// feed is the feeder's goroutine.
func (p *feeder) feed() {
	var active []*job
	for {
		if len(active) == 0 {
			active = append(active, <-p.queue)
			active = p.gather(active)
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
		for i := 0; i < len(active); i += lanes {
			p.pass(active[i:min(i+lanes, len(active))])
		}
		keep := active[:0]
		for _, j := range active {
			if len(j.rest) > 0 {
				keep = append(keep, j)
				continue
			}
			j.done <- struct{}{} // never blocks: one job per digest at a time
		}
		clear(active[len(keep):])
		active = keep
	}
}

// gather waits, for at most HoldFor, until as many writes are queued as
// there are lanes, or as there are large bodies if fewer.
func (p *feeder) gather(active []*job) []*job {
	want := min(lanes, int(p.large.Load()))
	if len(active) >= want {
		return active
	}
	if p.hold == nil {
		p.hold = p.clock.NewTimer(HoldFor)
	} else {
		p.hold.Reset(HoldFor)
	}
	defer p.hold.Stop()
	for len(active) < want {
		select {
		case j := <-p.queue:
			active = append(active, j)
		case <-p.hold.C():
			return active
		}
	}
	return active
}

// pass hashes the next piece of each of up to 16 jobs.
func (p *feeder) pass(jobs []*job) {
	var in, shaIn [lanes][]byte
	var md5s [lanes]*simdhash.MD5State
	var shas [lanes]*simdhash.SHA256State
	total, longest, shaTotal := 0, 0, 0
	for i, j := range jobs {
		k := min(piece, len(j.rest))
		in[i], j.rest = j.rest[:k], j.rest[k:]
		md5s[i] = &j.md5
		total += k
		longest = max(longest, k)
		if j.both {
			shas[i], shaIn[i] = &j.sha, in[i]
			shaTotal += k
		}
	}
	if total < md5MinLanes*longest || !p.md5x.Blocks(&md5s, &in) {
		for i := range jobs {
			p.md5One(md5s[i], in[i])
		}
	}
	if shaTotal > 0 && (shaTotal < shaMinLanes*longest || !p.shax.Blocks(&shas, &shaIn)) {
		for i := range jobs {
			if shas[i] != nil {
				p.shaOne(shas[i], shaIn[i])
			}
		}
	}
}

// md5One advances s over whole blocks b with crypto/md5.
func (p *feeder) md5One(s *simdhash.MD5State, b []byte) {
	oneStream(&p.md5one, md5.New, md5Magic, s[:], b)
}

// shaOne advances s over whole blocks b with crypto/sha256.
func (p *feeder) shaOne(s *simdhash.SHA256State, b []byte) {
	oneStream(&p.shaone, sha256.New, shaMagic, s[:], b)
}

// oneStream advances chaining value words over whole blocks b with the
// standard library's digest *h, made by newHash on first use.
func oneStream(h *hash.Hash, newHash func() hash.Hash, magic string, words []uint32, b []byte) {
	if *h == nil {
		*h = newHash()
	}
	var buf [shaState]byte
	restore(*h, magic, words, 0, buf[:])
	(*h).Write(b)
	export(*h, magic, words, buf[:0])
}

// The states crypto/md5 and crypto/sha256 marshal: a magic string, the
// chaining value, the partial block and the length, all big-endian.
const (
	md5Magic = "md5\x01"
	shaMagic = "sha\x03"
	shaState = len(shaMagic) + 8*4 + block + 8 // the larger
)

// export reads h's chaining value into words (4 for MD5, 8 for SHA-256). h
// must hold no partial block. It reports false if h's marshalled state is
// not the form this package knows.
func export(h hash.Hash, magic string, words []uint32, buf []byte) bool {
	a, ok := h.(encoding.BinaryAppender)
	if !ok {
		return false
	}
	b, err := a.AppendBinary(buf)
	if err != nil || len(b) != len(magic)+4*len(words)+block+8 || string(b[:len(magic)]) != magic {
		return false
	}
	for i := range words {
		words[i] = binary.BigEndian.Uint32(b[len(magic)+4*i:])
	}
	return true
}

// restore sets h to chaining value words after n bytes (a whole number of
// blocks), in the form export read.
func restore(h hash.Hash, magic string, words []uint32, n uint64, buf []byte) {
	b := append(buf[:0], magic...)
	for _, v := range words {
		b = binary.BigEndian.AppendUint32(b, v)
	}
	var partial [block]byte
	b = append(b, partial[:]...)
	b = binary.BigEndian.AppendUint64(b, n)
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(b); err != nil {
		panic("bodyhash: the standard library refused its own state: " + err.Error())
	}
}
