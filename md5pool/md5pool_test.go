package md5pool

import (
	"crypto/md5"
	"crypto/rand"
	"sync"
	"testing"
)

// Whatever implementation a caller gets, the digest must be crypto/md5's.
func TestDigestsMatch(t *testing.T) {
	p := New()
	data := make([]byte, 3<<20+17)
	rand.Read(data)
	want := md5.Sum(data)
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for i := 0; i < 12; i++ { // enough to cross MinConcurrent
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
	if p.active.Load() != 0 {
		t.Fatalf("active = %d after release", p.active.Load())
	}
	small, release := p.Get(10)
	small.Write([]byte("abc"))
	if got, want := small.Sum(nil), md5.Sum([]byte("abc")); string(got) != string(want[:]) {
		t.Fatal("small digest")
	}
	release()
}
