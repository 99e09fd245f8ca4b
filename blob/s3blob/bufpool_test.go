package s3blob

import (
	"runtime"
	"testing"
	"time"
)

func same(a, b []byte) bool { return &a[:1][0] == &b[:1][0] }

// Idle buffers survive garbage collections (a sync.Pool's do not: each
// large upload then faulted in fresh buffers).
func TestPartPoolSurvivesGC(t *testing.T) {
	p := newPartPool(1<<20, 4, time.Hour)
	a, b := p.get(), p.get()
	if cap(a) != 1<<20 || len(a) != 0 {
		t.Fatalf("get: len %d cap %d", len(a), cap(a))
	}
	p.put(a[:100])
	p.put(b)
	for i := 0; i < 3; i++ {
		runtime.GC()
	}
	c, d := p.get(), p.get()
	if len(c) != 0 || !(same(c, b) && same(d, a)) {
		t.Fatalf("after GC the pool handed out other buffers")
	}
	if p.idle() != 0 {
		t.Fatalf("idle %d after taking both", p.idle())
	}
}

// At most max idle buffers; other sizes are not kept.
func TestPartPoolBounds(t *testing.T) {
	p := newPartPool(1<<10, 2, time.Hour)
	bufs := [][]byte{p.get(), p.get(), p.get()}
	for _, b := range bufs {
		p.put(b)
	}
	p.put(make([]byte, 0, 1<<11))
	if n := p.idle(); n != 2 {
		t.Fatalf("idle %d, want 2", n)
	}
	p = newPartPool(1<<10, 0, time.Hour)
	p.put(p.get())
	if n := p.idle(); n != 0 {
		t.Fatalf("a pool of 0 keeps %d", n)
	}
}

// A trim lets go of the buffers no get needed during its period.
func TestPartPoolTrim(t *testing.T) {
	p := newPartPool(1<<10, 8, time.Hour)
	b := [][]byte{p.get(), p.get(), p.get()}
	for _, x := range b {
		p.put(x)
	}
	// The period began with the first put (one idle buffer, the
	// low-water mark); the others were in use meanwhile and stay.
	p.put(p.get())
	p.trim()
	if n := p.idle(); n != 2 {
		t.Fatalf("after the first trim %d idle, want 2", n)
	}
	p.trim() // a period without any get
	if n := p.idle(); n != 0 {
		t.Fatalf("after an idle period %d idle, want 0", n)
	}
	p.mu.Lock()
	timer := p.timer
	p.mu.Unlock()
	if timer != nil {
		t.Fatal("an empty pool keeps its timer")
	}
	// The timer trims by itself.
	p = newPartPool(1<<10, 8, time.Millisecond)
	p.put(p.get())
	deadline := time.Now().Add(time.Minute)
	for p.idle() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the timer never trimmed the idle buffer")
		}
		time.Sleep(time.Millisecond)
	}
}
