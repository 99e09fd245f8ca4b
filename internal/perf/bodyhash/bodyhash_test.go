package bodyhash

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/postern/postern/internal/clock"
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

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// within fails the test unless c is ready within a minute (a guard against
// hanging, not a timing).
func within(t *testing.T, c <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(time.Minute):
		t.Fatal(what)
	}
}

// The feeder waits for other digests' bytes only for a while: a digest
// written alone while others stay idle still gets its bytes hashed once
// the Pool's clock has moved HoldFor on.
func TestFeederWaitIsBounded(t *testing.T) {
	p := New()
	clk := clock.NewFake(t0)
	p.Clock = clk
	p.Saturated = func() bool { return true }
	var hs []*digest
	for i := 0; i < 5; i++ {
		h, release := p.Get(MinSize, true)
		defer release()
		hs = append(hs, h.(pair).digest)
	}
	data := make([]byte, 1<<20)
	rand.Read(data)
	done := make(chan struct{})
	var got []byte
	go func() {
		pair{hs[0]}.Write(data)
		got = pair{hs[0]}.SumSHA256(hs[0].Sum(nil))
		close(done)
	}()
	if len(p.feeders) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := clk.BlockUntil(ctx, 1); err != nil {
			t.Fatal("the feeder never held the write:", err)
		}
		clk.Advance(HoldFor)
	}
	within(t, done, "a lone write through the feeder never finished")
	m, s := md5.Sum(data), sha256.Sum256(data)
	if string(got) != string(m[:])+string(s[:]) {
		t.Fatal("sums differ after a held write")
	}
}

// newJob returns a job over data (whole blocks) from MD5's initial state,
// and the state crypto/md5 reaches over the same bytes.
func newJob(t *testing.T, data []byte) (*job, simdhash.MD5State) {
	t.Helper()
	want := simdhash.MD5Init
	(&feeder{}).md5One(&want, data)
	return &job{md5: simdhash.MD5Init, rest: data, done: make(chan struct{}, 1)}, want
}

// The feeder holds a write until as many large bodies have bytes waiting
// as are open, or until HoldFor has passed on its clock, whichever is
// first; it then hashes what it has.
func TestFeederHold(t *testing.T) {
	clk := clock.NewFake(t0)
	f := newFeeder(clk)
	go f.feed() // runs for the rest of the process, like the Pool's
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	data := make([]byte, 3*piece)
	rand.Read(data)

	// Five bodies open, one writing: held for HoldFor, then hashed alone.
	lone := func(what string) {
		t.Helper()
		f.large.Store(5)
		j, want := newJob(t, data)
		start := clk.Now()
		f.queue <- j
		if err := clk.BlockUntil(ctx, 1); err != nil {
			t.Fatalf("%s: the feeder did not hold the write: %v", what, err)
		}
		if next, ok := clk.Next(); !ok || !next.Equal(start.Add(HoldFor)) {
			t.Fatalf("%s: hold ends after %v, want %v", what, next.Sub(start), HoldFor)
		}
		clk.Advance(HoldFor - 1)
		select {
		case <-j.done:
			t.Fatalf("%s: hashed before the hold was over", what)
		default:
		}
		clk.Advance(1)
		within(t, j.done, what+": the write was not hashed when the hold was over")
		if j.md5 != want {
			t.Fatalf("%s: MD5 state differs from crypto/md5's", what)
		}
		if n := clk.Armed(); n != 0 {
			t.Fatalf("%s: %d timers armed after the batch, want 0", what, n)
		}
	}
	lone("first hold")

	// Two bodies open, both writing: a full batch goes at once, without
	// the clock moving, and the hold is stopped.
	f.large.Store(2)
	j1, want1 := newJob(t, data[:piece])
	j2, want2 := newJob(t, data)
	f.queue <- j1
	f.queue <- j2
	within(t, j1.done, "a full batch was held")
	within(t, j2.done, "a full batch was held")
	if j1.md5 != want1 || j2.md5 != want2 {
		t.Fatal("batched writes: MD5 states differ from crypto/md5's")
	}
	if n := clk.Armed(); n != 0 {
		t.Fatalf("%d timers armed after a full batch, want 0", n)
	}
	if now := clk.Now(); !now.Equal(t0.Add(HoldFor)) {
		t.Fatalf("the clock moved to %v", now.Sub(t0))
	}

	// The hold timer is reused: a later lone write is held as long.
	lone("second hold")
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
