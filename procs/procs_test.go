package procs

import (
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

func TestLendAndTakeBack(t *testing.T) {
	r := &recorder{now: 2}
	l := New(2, r.set)
	l.linger = 20 * time.Millisecond

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
	time.Sleep(5 * time.Millisecond)
	l.Enter()
	time.Sleep(60 * time.Millisecond)
	if n, changes := r.get(); n != 3 || changes != 1 {
		t.Fatalf("writer within the linger: GOMAXPROCS %d after %d changes, want 3 after 1", n, changes)
	}
	l.Leave()
	deadline := time.Now().Add(5 * time.Second)
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
	deadline := time.Now().Add(5 * time.Second)
	for n, _ := r.get(); n != 4; n, _ = r.get() {
		if time.Now().After(deadline) {
			t.Fatalf("GOMAXPROCS %d after all writers left, want 4", n)
		}
		time.Sleep(time.Millisecond)
	}
}
