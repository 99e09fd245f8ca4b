package procs

import (
	"context"
	"sync"
	"testing"
	"time"
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

// waitFor waits up to within for GOMAXPROCS to be n, and fails the test if
// it does not get there.
func (r *recorder) waitFor(t *testing.T, n int, within time.Duration, what string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for got, _ := r.get(); got != n; got, _ = r.get() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: GOMAXPROCS %d, want %d", what, got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestLendAndTakeBack(t *testing.T) {
	r := &recorder{now: 2}
	l := New(2, r.set)
	// A linger no delay of a busy machine can outlast, until the end: what
	// happens "within the linger" must not depend on the test's speed.
	l.linger = time.Hour

	l.Enter()
	l.Enter()
	if n, changes := r.get(); n != 3 || changes != 1 {
		t.Fatalf("after two writers: GOMAXPROCS %d after %d changes, want 3 after 1", n, changes)
	}
	l.Leave()
	time.Sleep(60 * time.Millisecond)
	if n, _ := r.get(); n != 3 {
		t.Fatalf("one writer still in flight, GOMAXPROCS %d, want 3", n)
	}
	l.Leave()
	if n, _ := r.get(); n != 3 {
		t.Fatalf("GOMAXPROCS %d right after the last writer left, want 3 until the linger is over", n)
	}
	// A writer arriving within the linger keeps the P without a change.
	l.Enter()
	if n, changes := r.get(); n != 3 || changes != 1 {
		t.Fatalf("writer within the linger: GOMAXPROCS %d after %d changes, want 3 after 1", n, changes)
	}
	// Now a short linger: the P is taken back once it is over.
	l.mu.Lock()
	l.linger = 20 * time.Millisecond
	l.mu.Unlock()
	l.Leave()
	deadline := time.Now().Add(time.Minute)
	for {
		if n, changes := r.get(); n == 2 {
			if changes != 2 {
				t.Fatalf("%d changes, want 2", changes)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the extra P was not taken back")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Many writers entering and leaving at once leave GOMAXPROCS at base once
// they are all gone, and at base+1 while any is in flight (run with -race).
func TestConcurrent(t *testing.T) {
	r := &recorder{now: 4}
	l := New(4, r.set)
	l.linger = time.Millisecond
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
	r.waitFor(t, 4, time.Minute, "after all writers left")
}

// want fails the test unless GOMAXPROCS is n after changes changes.
func (r *recorder) want(t *testing.T, what string, n, changes int) {
	t.Helper()
	if got, c := r.get(); got != n || c != changes {
		t.Fatalf("%s: GOMAXPROCS %d after %d changes, want %d after %d", what, got, c, n, changes)
	}
}

// Light use for MinHold moves to one P; a busy P moves back to one per
// core at once; a quick return doubles the hold, up to MaxHold, and a late
// one resets it.
func TestGovernLoad(t *testing.T) {
	r := &recorder{now: 4}
	g := New(4, r.set)
	t0 := time.Now()
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
	g := New(2, r.set)
	g.linger = time.Millisecond
	t0 := time.Now()
	g.observe(0.1, t0)
	g.observe(0.1, t0.Add(MinHold))
	r.want(t, "idle", 1, 1)

	g.Enter()
	r.want(t, "writer on one P", 3, 2)
	g.observe(0.1, t0.Add(2*MinHold)) // samples while lent change nothing
	g.observe(0.1, t0.Add(4*MinHold))
	r.want(t, "light while writing", 3, 2)
	g.Leave()
	r.waitFor(t, 2, time.Minute, "after the writer left")
	g.observe(0.1, t0.Add(5*MinHold))
	r.want(t, "right after the writer", 2, 3)
	g.observe(0.1, t0.Add(6*MinHold))
	r.want(t, "light for the hold after the writer", 1, 4)
}

// Run reads the CPU time and acts on its average: an idle process goes to
// one P after MinHold, and one whose CPU time grows by more than Busy per
// second goes back to one per core.
func TestRun(t *testing.T) {
	r := &recorder{now: 2}
	g := New(2, r.set)
	var mu sync.Mutex
	var cpu time.Duration
	var busy bool
	last := time.Now()
	fake := func() time.Duration {
		mu.Lock()
		defer mu.Unlock()
		now := time.Now()
		if busy {
			cpu += now.Sub(last) // one whole core
		}
		last = now
		return cpu
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { g.run(ctx, fake); close(done) }()
	defer func() { cancel(); <-done }()

	r.waitFor(t, 1, MinHold+time.Minute, "idle")
	mu.Lock()
	busy = true
	mu.Unlock()
	r.waitFor(t, 2, MinHold+time.Minute, "one core busy")
}

// A short blocking call (Pin) takes the Governor off one P at once and
// keeps it at one P per core until Linger after the last one ends.
func TestPin(t *testing.T) {
	r := &recorder{now: 2}
	g := New(2, r.set)
	g.linger = 50 * time.Millisecond
	t0 := time.Now()
	g.observe(0.1, t0)
	g.observe(0.1, t0.Add(MinHold))
	r.want(t, "idle", 1, 1)

	p := g.Pins()
	p.Enter()
	r.want(t, "pinned", 2, 2)
	p.Enter()
	p.Leave()
	now := time.Now()
	g.observe(0.1, now)
	g.observe(0.1, now.Add(2*MinHold))
	r.want(t, "light while one call is still pinned", 2, 2)
	p.Leave()
	now = time.Now()
	g.observe(0.1, now)
	g.observe(0.1, now.Add(g.linger/2))
	r.want(t, "right after the last call", 2, 2)
	time.Sleep(g.linger)
	now = time.Now()
	g.observe(0.1, now)
	g.observe(0.1, now.Add(MinHold))
	r.want(t, "light for the hold after the linger", 1, 3)
}
