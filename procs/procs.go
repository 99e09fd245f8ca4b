// Package procs lends the Go scheduler one more P (GOMAXPROCS) while
// blocking writes may be in flight, and takes it back once they are over.
//
// Blob bytes are written with O_DIRECT, so a write blocks in the kernel
// until the device has the data. A goroutine in a blocking system call keeps
// its P until the runtime's monitor hands the P to another thread, 20 µs to
// 10 ms later, and that core meanwhile idles even with requests waiting: on
// 2 cores under concurrent uploads, 15–25 % of the time. One P more than
// cores keeps the cores busy then, but at other times the extra P only
// spins looking for work, which costs small requests CPU. So the P is lent
// only while writes are in flight, and for a moment after.
package procs

import (
	"sync"
	"time"
)

// Linger is how long the extra P stays after the last writer left, so that
// a steady trickle of uploads does not change GOMAXPROCS for each one
// (every change stops the world briefly).
const Linger = time.Second

// Lender is safe for concurrent use.
type Lender struct {
	mu     sync.Mutex
	base   int
	active int
	raised bool
	timer  *time.Timer

	set    func(int) int // runtime.GOMAXPROCS; replaced in tests
	linger time.Duration
}

// New returns a Lender that moves GOMAXPROCS between base and base+1
// through set (runtime.GOMAXPROCS).
func New(base int, set func(int) int) *Lender {
	return &Lender{base: base, set: set, linger: Linger}
}

// Enter records a writer that may block; the extra P is lent at once.
func (l *Lender) Enter() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.active++
	if l.timer != nil {
		l.timer.Stop()
	}
	if !l.raised {
		l.set(l.base + 1)
		l.raised = true
	}
}

// Leave records that a writer is done; Linger after the last one, the
// extra P is taken back.
func (l *Lender) Leave() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.active--
	if l.active > 0 {
		return
	}
	if l.timer == nil {
		l.timer = time.AfterFunc(l.linger, l.lower)
	} else {
		l.timer.Reset(l.linger)
	}
}

func (l *Lender) lower() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.active == 0 && l.raised {
		l.set(l.base)
		l.raised = false
	}
}
