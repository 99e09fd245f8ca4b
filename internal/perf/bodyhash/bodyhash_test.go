package bodyhash

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/postern/postern/internal/perf/simdhash"
)

// Whatever the digest, whether or not its writes go through the feeder,
// and when saturation changes in the middle of a body, its sums are
// crypto/md5's and crypto/sha256's, for writes of any size and alignment.
func TestDigestsMatch(t *testing.T) {
	for _, mode := range []string{"direct", "feeder", "flipping"} {
		for _, withSHA := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/sha256=%v", mode, withSHA), func(t *testing.T) {
				p := New()
				var calls atomic.Int64
				p.Saturated = func() bool {
					switch mode {
					case "direct":
						return false
					case "feeder":
						return true
					}
					return calls.Add(1)%3 != 0
				}
				const bodies = 20 // more than 16 lanes
				var wg, ready sync.WaitGroup
				errs := make(chan string, 4*bodies)
				ready.Add(bodies)
				for i := 0; i < bodies; i++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						data := make([]byte, 2<<20+i*4099)
						rand.Read(data)
						h, release := p.Get(int64(len(data)), withSHA)
						defer release()
						ready.Done()
						ready.Wait() // all open at once
						sizes := []int{1, 63, 64, 65, 4096, 100_000, 1 << 20, 32 << 10, 31}
						for off, k := 0, i; off < len(data); k++ {
							n := min(sizes[k%len(sizes)], len(data)-off)
							h.Write(data[off : off+n])
							off += n
						}
						if got, want := h.Sum(nil), md5.Sum(data); string(got) != string(want[:]) {
							errs <- fmt.Sprintf("body %d: MD5 differs", i)
						}
						j, ok := h.(interface{ SumSHA256([]byte) []byte })
						if ok != withSHA {
							errs <- fmt.Sprintf("body %d: a %T, SHA-256 asked for: %v", i, h, withSHA)
							return
						}
						if ok {
							if got, want := j.SumSHA256(nil), sha256.Sum256(data); string(got) != string(want[:]) {
								errs <- fmt.Sprintf("body %d: SHA-256 differs", i)
							}
						}
						h.Reset()
						h.Write([]byte("abc"))
						if got, want := h.Sum(nil), md5.Sum([]byte("abc")); string(got) != string(want[:]) {
							errs <- fmt.Sprintf("body %d: MD5 differs after Reset", i)
						}
						if ok {
							if got, want := j.SumSHA256(nil), sha256.Sum256([]byte("abc")); string(got) != string(want[:]) {
								errs <- fmt.Sprintf("body %d: SHA-256 differs after Reset", i)
							}
						}
					}()
				}
				wg.Wait()
				close(errs)
				for e := range errs {
					t.Error(e)
				}
				if n := p.open(); n != 0 {
					t.Fatalf("%d large digests still counted after release", n)
				}
				small, release := p.Get(10, withSHA)
				small.Write([]byte("abc"))
				if got, want := small.Sum(nil), md5.Sum([]byte("abc")); string(got) != string(want[:]) {
					t.Fatal("small digest")
				}
				release()
			})
		}
	}
}

// The feeder waits for other digests' bytes only for a while: a digest
// written alone while others stay idle still gets its bytes hashed.
func TestFeederWaitIsBounded(t *testing.T) {
	p := New()
	p.Saturated = func() bool { return true }
	var hs []*digest
	for i := 0; i < 5; i++ {
		h, release := p.Get(MinSize, true)
		defer release()
		hs = append(hs, h.(pair).digest)
	}
	data := make([]byte, 1<<20)
	rand.Read(data)
	done := make(chan []byte)
	go func() {
		pair{hs[0]}.Write(data)
		done <- pair{hs[0]}.SumSHA256(hs[0].Sum(nil))
	}()
	select {
	case got := <-done:
		m, s := md5.Sum(data), sha256.Sum256(data)
		if string(got) != string(m[:])+string(s[:]) {
			t.Fatal("sums differ after a held write")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a lone write through the feeder never finished")
	}
}

// The feeder's lane-by-lane path, and the moves of state out of and back
// into the standard library's digests, agree with the standard library.
func TestStateMoves(t *testing.T) {
	data := make([]byte, 64*100)
	rand.Read(data)
	p := &feeder{}
	m, s := simdhash.MD5Init, simdhash.SHA256Init
	for _, part := range [][]byte{data[:64*40], data[64*40:]} {
		p.md5One(&m, part)
		p.shaOne(&s, part)
	}
	var buf [shaState]byte
	hm, hs := md5.New(), sha256.New()
	restore(hm, md5Magic, m[:], uint64(len(data)), buf[:])
	restore(hs, shaMagic, s[:], uint64(len(data)), buf[:])
	hm.Write([]byte("tail"))
	hs.Write([]byte("tail"))
	whole := append(data, "tail"...)
	if wm, ws := md5.Sum(whole), sha256.Sum256(whole); string(hm.Sum(nil)) != string(wm[:]) || string(hs.Sum(nil)) != string(ws[:]) {
		t.Fatal("sums through moved states differ")
	}
	var m2 simdhash.MD5State
	var s2 simdhash.SHA256State
	if !export(md5.New(), md5Magic, m2[:], nil) || m2 != simdhash.MD5Init || !export(sha256.New(), shaMagic, s2[:], nil) || s2 != simdhash.SHA256Init {
		t.Fatal("new digests do not export the initial states")
	}
}

// open counts the large bodies' digests open.
func (p *Pool) open() (n int32) {
	for _, f := range p.feeders {
		n += f.large.Load()
	}
	return n
}

// Without AVX-512 there are no feeders, and digests hash on their own.
func TestNoFeederWithoutKernels(t *testing.T) {
	p := New()
	p.Saturated = func() bool { return true }
	h, release := p.Get(MinSize, true)
	defer release()
	d := h.(pair).digest
	if simdhash.Available != (d.f != nil) || simdhash.Available != (len(p.feeders) > 0) {
		t.Fatalf("AVX-512 %v, feeders %d, digest's feeder %v", simdhash.Available, len(p.feeders), d.f)
	}
	d.f = nil // as on a CPU without AVX-512
	data := make([]byte, 1<<20)
	rand.Read(data)
	d.Write(data)
	m, s := md5.Sum(data), sha256.Sum256(data)
	if string(d.Sum(nil)) != string(m[:]) || string(pair{d}.SumSHA256(nil)) != string(s[:]) {
		t.Fatal("sums differ without a feeder")
	}
}
