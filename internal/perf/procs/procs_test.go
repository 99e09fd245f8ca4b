package procs

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/postern/postern/internal/clock"
)

type recorder struct {
	mu  sync.Mutex
	now int
	log []int
}

func (r *recorder) set(n int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.now
	r.now = n
	r.log = append(r.log, n)
	return old
}

func (r *recorder) get() (int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.now, len(r.log)
}

// want fails the test unless GOMAXPROCS is n after changes changes.
func (r *recorder) want(t *testing.T, what string, n, changes int) {
	t.Helper()
	if got, c := r.get(); got != n || c != changes {
		t.Fatalf("%s: GOMAXPROCS %d after %d changes, want %d after %d", what, got, c, n, changes)
	}
}

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// The extra P stays while any writer is in flight and for Linger after the
// last one left; a writer arriving within the linger keeps it without a
// change, and the linger starts over when that one leaves.
func TestLendAndTakeBack(t *testing.T) {
	r := &recorder{now: 2}
	clk := clock.NewFake(t0)
	l := New(2, r.set)
	l.Clock = clk

	l.Enter()
	l.Enter()
	r.want(t, "after two writers", 3, 1)
	l.Leave()
	clk.Advance(10 * Linger)
	r.want(t, "one writer still in flight", 3, 1)
	l.Leave()
	clk.Advance(Linger - 1)
	r.want(t, "just before the linger is over", 3, 1)
	// A writer arriving within the linger keeps the P without a change.
	l.Enter()
	r.want(t, "writer within the linger", 3, 1)
	clk.Advance(10 * Linger)
	r.want(t, "the linger's timer is stopped while a writer is in flight", 3, 1)
	l.Leave()
	clk.Advance(Linger - 1)
	r.want(t, "the linger starts over when the last writer leaves", 3, 1)
	clk.Advance(1)
	r.want(t, "the linger is over", 2, 2)
	clk.Advance(10 * Linger)
	r.want(t, "long after", 2, 2)
}

// Many writers entering and leaving at once, while the time moves on,
// leave GOMAXPROCS at base+1 while any is in flight, and at base once they
// are all gone and the linger is over (run with -race).
func TestConcurrent(t *testing.T) {
	r := &recorder{now: 4}
	clk := clock.NewFake(t0)
	l := New(4, r.set)
	l.Clock = clk
	stop := make(chan struct{})
	stopped := make(chan struct{})
	go func() { // lingers end while writers come and go
		defer close(stopped)
		for {
			select {
			case <-stop:
				return
			default:
				clk.Advance(Linger)
				runtime.Gosched()
			}
		}
	}()
	var wg sync.WaitGroup
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				l.Enter()
				if n, _ := r.get(); n != 5 {
					t.Errorf("GOMAXPROCS %d with a writer in flight, want 5", n)
				}
				l.Leave()
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-stopped
	clk.Advance(Linger)
	if n, _ := r.get(); n != 4 {
		t.Fatalf("GOMAXPROCS %d after all writers left and the linger, want 4", n)
	}
}

// Light use for MinHold moves to one P; a busy P moves back to one per
// core at once; a quick return doubles the hold, up to MaxHold, and a late
// one resets it.
func TestGovernLoad(t *testing.T) {
	r := &recorder{now: 4}
	g := New(4, r.set)
	at := func(d time.Duration) time.Time { return t0.Add(d) }

	g.observe(0.5, at(0))
	g.observe(0.5, at(MinHold/2))
	r.want(t, "light for half the hold", 4, 0)
	g.observe(Light, at(MinHold*3/4)) // busy again: the quiet time starts over
	g.observe(0.5, at(MinHold))
	g.observe(0.5, at(MinHold*7/4))
	r.want(t, "light again, not yet for the hold", 4, 0)
	g.observe(0.5, at(MinHold*2))
	r.want(t, "light for the hold", 1, 1)

	g.observe(Busy-0.01, at(MinHold*3))
	r.want(t, "one P, under Busy", 1, 1)
	g.observe(Busy, at(MinHold*3))
	r.want(t, "one P busy", 4, 2)
	if g.hold != 2*MinHold {
		t.Fatalf("hold %v after a quick return, want %v", g.hold, 2*MinHold)
	}

	// Failed tries back off up to MaxHold.
	now := MinHold * 3
	for i := 0; i < 10; i++ {
		hold := g.hold
		g.observe(0.1, at(now))
		g.observe(0.1, at(now+hold-time.Millisecond))
		if n, _ := r.get(); n != 4 {
			t.Fatalf("try %d: one P before the hold of %v was over", i, hold)
		}
		g.observe(0.1, at(now+hold))
		if n, _ := r.get(); n != 1 {
			t.Fatalf("try %d: still %d Ps after the hold of %v", i, n, hold)
		}
		now += hold + Interval
		g.observe(1.0, at(now))
		now += Interval
	}
	if g.hold != MaxHold {
		t.Fatalf("hold %v after many quick returns, want %v", g.hold, MaxHold)
	}
	// A try that lasts longer than Settle resets the hold.
	g.observe(0.1, at(now))
	g.observe(0.1, at(now+MaxHold))
	r.want(t, "after the longest hold", 1, 23)
	g.observe(1.0, at(now+MaxHold+Settle))
	r.want(t, "busy after a long quiet", 4, 24)
	if g.hold != MinHold {
		t.Fatalf("hold %v after a late return, want %v", g.hold, MinHold)
	}
}

// Writers get cores+1 Ps even on one P, and afterwards one per core until
// the use has been light for the hold again.
func TestGovernWithWriters(t *testing.T) {
	r := &recorder{now: 2}
	clk := clock.NewFake(t0)
	g := New(2, r.set)
	g.Clock = clk
	g.observe(0.1, t0)
	g.observe(0.1, t0.Add(MinHold))
	r.want(t, "idle", 1, 1)

	g.Enter()
	r.want(t, "writer on one P", 3, 2)
	g.observe(0.1, t0.Add(2*MinHold)) // samples while lent change nothing
	g.observe(0.1, t0.Add(4*MinHold))
	r.want(t, "light while writing", 3, 2)
	g.Leave()
	clk.Advance(Linger)
	r.want(t, "the linger after the writer", 2, 3)
	g.observe(0.1, t0.Add(5*MinHold))
	r.want(t, "right after the writer", 2, 3)
	g.observe(0.1, t0.Add(6*MinHold))
	r.want(t, "light for the hold after the writer", 1, 4)
}

// Run samples the CPU time every Interval and acts on its average over
// Window: an idle process goes to one P once the window is full and the
// use has stayed light for MinHold, and one whose CPU time then grows by a
// core per second goes back to one per core as soon as the window's
// average reaches Busy. The ticks are counted, not timed.
func TestRun(t *testing.T) {
	r := &recorder{now: 2}
	clk := clock.NewFake(t0)
	g := New(2, r.set)
	g.Clock = clk
	ctx, cancel := context.WithCancel(context.Background())
	var cpu time.Duration
	busy := false
	last := clk.Now()
	// Each reading waits for the test: run's goroutine sends on sampled
	// and waits for resume, so while the test holds it, run has acted on
	// every earlier tick and not yet on this one.
	sampled, resume := make(chan struct{}), make(chan struct{})
	fake := func() time.Duration {
		now := clk.Now()
		select {
		case sampled <- struct{}{}:
		case <-ctx.Done():
			return cpu
		}
		select {
		case <-resume:
		case <-ctx.Done():
			return cpu
		}
		if busy {
			cpu += now.Sub(last) // one whole core
		}
		last = now
		return cpu
	}
	done := make(chan struct{})
	go func() { g.run(ctx, fake); close(done) }()
	defer func() { cancel(); <-done }()

	wait := func() {
		t.Helper()
		select {
		case <-sampled:
		case <-time.After(time.Minute): // a guard against hanging, not a timing
			t.Fatal("run took no sample")
		}
	}
	wait() // the first reading: the ticker is armed
	// step lets run go on, moves one Interval on and returns once run has
	// acted on every tick before the new one.
	step := func() {
		t.Helper()
		resume <- struct{}{}
		clk.Advance(Interval)
		wait()
	}
	samples := int(Window / Interval) // readings that fill the window
	toOne := samples + int(MinHold/Interval)
	step()
	for tick := 1; tick < toOne; tick++ {
		step()
		r.want(t, fmt.Sprintf("idle, tick %d, before the window and the hold", tick), 2, 0)
	}
	step()
	r.want(t, "idle for the window and the hold", 1, 1)

	busy = true // from the reading held now on
	// The window's average reaches Busy after this many busy Intervals.
	window := float64(Window / Interval)
	toBusy := int(math.Ceil(Busy * window))
	for tick := 1; tick < toBusy; tick++ {
		step()
		r.want(t, "busy for less than Busy of the window", 1, 1)
	}
	step()
	r.want(t, "one core busy", 2, 2)
}

// A short blocking call (Pin) takes the Governor off one P at once and
// keeps it at one P per core until Linger after the last one ends.
func TestPin(t *testing.T) {
	r := &recorder{now: 2}
	clk := clock.NewFake(t0)
	g := New(2, r.set)
	g.Clock = clk
	g.observe(0.1, t0)
	g.observe(0.1, t0.Add(MinHold))
	r.want(t, "idle", 1, 1)

	p := g.Pins()
	p.Enter()
	r.want(t, "pinned", 2, 2)
	p.Enter()
	clk.Advance(time.Minute)
	p.Leave()
	now := clk.Now()
	g.observe(0.1, now)
	g.observe(0.1, now.Add(2*MinHold))
	r.want(t, "light while one call is still pinned", 2, 2)
	clk.Advance(time.Minute)
	p.Leave()
	unpinned := clk.Now()
	g.observe(0.1, unpinned)
	g.observe(0.1, unpinned.Add(Linger-1))
	r.want(t, "within the linger after the last call", 2, 2)
	// The quiet time starts once the linger is over.
	g.observe(0.1, unpinned.Add(Linger))
	g.observe(0.1, unpinned.Add(Linger+MinHold-1))
	r.want(t, "light, not yet for the hold after the linger", 2, 2)
	g.observe(0.1, unpinned.Add(Linger+MinHold))
	r.want(t, "light for the hold after the linger", 1, 3)
}
