package md5pool

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"hash"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/postern/postern/sha256x16"
)

// Whatever implementation a caller gets, and whether or not its writes go
// through the feeder, the digest must be crypto/md5's.
func TestDigestsMatch(t *testing.T) {
	for _, saturated := range []bool{false, true} {
		t.Run(fmt.Sprintf("saturated=%v", saturated), func(t *testing.T) {
			p := New()
			p.Saturated = func() bool { return saturated }
			data := make([]byte, 3<<20+17)
			rand.Read(data)
			want := md5.Sum(data)
			var wg sync.WaitGroup
			errs := make(chan string, 64)
			for i := 0; i < 20; i++ { // enough to cross MinConcurrent and fill 16 lanes
				wg.Add(1)
				go func() {
					defer wg.Done()
					h, release := p.Get(int64(len(data)), false)
					defer release()
					for off := 0; off < len(data); off += 100_000 {
						h.Write(data[off:min(off+100_000, len(data))])
					}
					if got := h.Sum(nil); string(got) != string(want[:]) {
						errs <- "digest mismatch"
					}
				}()
			}
			wg.Wait()
			close(errs)
			for e := range errs {
				t.Fatal(e)
			}
			if p.active.Load() != 0 || p.simd.Load() != 0 {
				t.Fatalf("active = %d, simd = %d after release", p.active.Load(), p.simd.Load())
			}
			small, release := p.Get(10, false)
			small.Write([]byte("abc"))
			if got, want := small.Sum(nil), md5.Sum([]byte("abc")); string(got) != string(want[:]) {
				t.Fatal("small digest")
			}
			release()
		})
	}
}

// The feeder waits for other digests' bytes only for a while: a digest
// written alone while others stay idle still gets its bytes hashed, and
// Reset and reuse work after writes that went through the feeder.
func TestFeederWaitIsBounded(t *testing.T) {
	p := New()
	var saturated atomic.Bool
	saturated.Store(true)
	p.Saturated = saturated.Load
	var hs []hash.Hash
	for i := 0; i < MinConcurrent+3; i++ {
		h, release := p.Get(MinSize, false)
		defer release()
		hs = append(hs, h)
	}
	h := hs[len(hs)-1] // an md5-simd digest; 4 are open, none other writing
	if _, ok := h.(*digest); !ok {
		t.Fatalf("digest %d is a %T, want md5-simd's", len(hs)-1, h)
	}
	data := make([]byte, 1<<20)
	rand.Read(data)
	done := make(chan []byte)
	go func() {
		h.Write(data)
		done <- h.Sum(nil)
	}()
	select {
	case got := <-done:
		if want := md5.Sum(data); string(got) != string(want[:]) {
			t.Fatal("digest mismatch after a held write")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a lone write through the feeder never finished")
	}
	h.Reset()
	saturated.Store(false) // the same digest, now written directly
	h.Write([]byte("abc"))
	if got, want := h.Sum(nil), md5.Sum([]byte("abc")); string(got) != string(want[:]) {
		t.Fatal("digest mismatch after Reset")
	}
}

// A digest asked for with SHA-256 computes both crypto/md5's and
// crypto/sha256's digests, for writes of any size and alignment, whether
// they go through the feeder (sha256x16 or crypto/sha256 there) or not,
// and when saturation changes in the middle of a body.
func TestPairsMatch(t *testing.T) {
	for _, mode := range []string{"direct", "feeder", "flipping"} {
		t.Run(mode, func(t *testing.T) {
			p := New()
			var flips atomic.Int64
			p.Saturated = func() bool {
				switch mode {
				case "direct":
					return false
				case "feeder":
					return true
				}
				return flips.Add(1)%3 != 0
			}
			const bodies = 20 // cross MinConcurrent, fill 16 lanes, and more
			var wg, ready sync.WaitGroup
			var pairs atomic.Int32
			errs := make(chan string, 64)
			ready.Add(bodies)
			for i := 0; i < bodies; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					data := make([]byte, 2<<20+i*4099)
					rand.Read(data)
					h, release := p.Get(int64(len(data)), true)
					defer release()
					ready.Done()
					ready.Wait() // all open at once
					sizes := []int{1, 63, 64, 65, 4096, 100_000, 1 << 20, 31}
					for off, k := 0, i; off < len(data); k++ {
						n := min(sizes[k%len(sizes)], len(data)-off)
						h.Write(data[off : off+n])
						off += n
					}
					wantMD5, wantSHA := md5.Sum(data), sha256.Sum256(data)
					if got := h.Sum(nil); string(got) != string(wantMD5[:]) {
						errs <- fmt.Sprintf("body %d: MD5 mismatch", i)
					}
					j, ok := h.(interface{ SumSHA256([]byte) []byte })
					if !ok {
						return // crypto/md5, as the first MinConcurrent-1 get
					}
					pairs.Add(1)
					if got := j.SumSHA256(nil); string(got) != string(wantSHA[:]) {
						errs <- fmt.Sprintf("body %d: SHA-256 mismatch", i)
					}
					h.Reset()
					h.Write([]byte("abc"))
					if got, want := j.SumSHA256(nil), sha256.Sum256([]byte("abc")); string(got) != string(want[:]) {
						errs <- fmt.Sprintf("body %d: SHA-256 mismatch after Reset", i)
					}
				}()
			}
			wg.Wait()
			close(errs)
			for e := range errs {
				t.Error(e)
			}
			if want := bodies - (MinConcurrent - 1); sha256x16.Available && int(pairs.Load()) != want {
				t.Errorf("%d digests computed SHA-256 too, want %d", pairs.Load(), want)
			}
		})
	}
}

// The feeder's crypto/sha256 path and its export of crypto/sha256's state
// agree with crypto/sha256 itself.
func TestSHA256State(t *testing.T) {
	data := make([]byte, 64*100)
	rand.Read(data)
	p := New()
	s := sha256x16.Init
	p.scalarBlocks(&s, data[:64*40])
	p.scalarBlocks(&s, data[64*40:])
	h := sha256.New()
	var buf [shaMarshalled]byte
	importSHA(h, &s, uint64(len(data)), buf[:])
	h.Write([]byte("tail"))
	want := sha256.Sum256(append(data, "tail"...))
	if got := h.Sum(nil); string(got) != string(want[:]) {
		t.Fatal("SHA-256 through exported and imported state differs")
	}
	var again sha256x16.State
	if !exportSHA(sha256.New(), &again, nil) || again != sha256x16.Init {
		t.Fatal("a new crypto/sha256 digest does not export the initial state")
	}
}
