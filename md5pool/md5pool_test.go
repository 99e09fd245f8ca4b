package md5pool

import (
	"crypto/md5"
	"crypto/rand"
	"fmt"
	"hash"
	"sync"
	"sync/atomic"
	"testing"
	"time"
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
					h, release := p.Get(int64(len(data)))
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
			small, release := p.Get(10)
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
		h, release := p.Get(MinSize)
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
