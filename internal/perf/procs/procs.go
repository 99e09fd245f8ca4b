// Package procs sets GOMAXPROCS by what the server is doing.
//
// Two things make the runtime's default (one P per core) cost CPU:
//
//   - Blob bytes are written with O_DIRECT, so a write blocks in the kernel
//     until the device has the data. A goroutine in a blocking system call
//     keeps its P until the runtime's monitor hands the P to another thread,
//     20 µs to 10 ms later, and that core meanwhile idles even with requests
//     waiting: on 2 cores under concurrent uploads, 15–25 % of the time. So
//     while writes may be blocking, the scheduler gets one P more than cores
//     (Enter, Leave).
//
//   - When the load needs less than one core, several Ps spread it over
//     several threads that keep going to sleep and waking each other
//     (futexes, the monitor's polling, idle Ps spinning for work). On the
//     2-vCPU test machine that was about half of the server's CPU under
//     light request load (a header-signed 4 KiB GET cost 135 µs of CPU with
//     2 Ps, 82 µs with one), CPU that other processes on the machine then
//     lack. So when the process has used little CPU for a while, the
//     Governor tries one P, and goes back to one per core as soon as one P
//     is busy (Run).
//
// Setting GOMAXPROCS in the environment turns all of this off (see
// cmd/postern).
package procs

import (
	"context"
	"sync"
	"time"

	"github.com/postern/postern/internal/blocking"
	"github.com/postern/postern/internal/clock"
)

const (
	// Linger is how long the extra P stays after the last writer left, so
	// that a steady trickle of uploads does not change GOMAXPROCS for each
	// one (every change stops the world briefly).
	Linger = time.Second
	// Interval is how often Run samples the process's CPU time, Window the
	// time over which it averages the use.
	Interval = 50 * time.Millisecond
	Window   = 250 * time.Millisecond
	// Light is the CPU use, in cores, under which the load may fit on one
	// P, Busy the use at which one P no longer does (it cannot exceed one
	// core by much: only system calls and the GC run outside it).
	Light = 1.2
	Busy  = 0.8
	// MinHold is how long the use must stay under Light before one P is
	// tried; each try that fails within Settle doubles it, up to MaxHold,
	// so a load that needs more than one P is not cut back again and again.
	MinHold = time.Second
	MaxHold = 30 * time.Second
	Settle  = 5 * time.Second
)

// Governor is safe for concurrent use.
type Governor struct {
	// Clock, if set before first use, is the time the Governor goes by:
	// the linger, the samples and the holds. Nil means clock.Real.
	Clock clock.Clock

	mu     sync.Mutex
	cores  int  // Ps without writers at full load
	one    bool // running on one P (load is light)
	active int  // writers in flight
	lent   bool // the extra P is lent
	timer  clock.Timer
	set    func(int) int // runtime.GOMAXPROCS; replaced in tests
	linger time.Duration

	pinned   int       // short blocking calls in flight
	unpinned time.Time // when the last one ended

	quiet   time.Time     // since when the use has been under Light; zero if it is not
	lowered time.Time     // when one P was last tried
	hold    time.Duration // how long the use must stay under Light before that
}

// New returns a Governor for a machine of cores cores that changes
// GOMAXPROCS through set (runtime.GOMAXPROCS). It starts at cores Ps.
func New(cores int, set func(int) int) *Governor {
	return &Governor{cores: cores, set: set, linger: Linger, hold: MinHold}
}

func (g *Governor) clk() clock.Clock { return clock.Or(g.Clock) }

// procs is the number of Ps the state asks for. Call with g.mu held.
func (g *Governor) procs() int {
	switch {
	case g.lent:
		return g.cores + 1
	case g.one:
		return 1
	}
	return g.cores
}

// Enter records a writer that may block; the extra P is lent at once.
func (g *Governor) Enter() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.active++
	if g.timer != nil {
		g.timer.Stop()
	}
	if !g.lent {
		// Writers get every P, and one P is considered afresh after them.
		g.lent, g.one, g.quiet = true, false, time.Time{}
		g.set(g.procs())
	}
}

// Leave records that a writer is done; Linger after the last one, the
// extra P is taken back.
func (g *Governor) Leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.active--
	if g.active > 0 {
		return
	}
	if g.timer == nil {
		g.timer = g.clk().AfterFunc(g.linger, g.takeBack)
	} else {
		g.timer.Reset(g.linger)
	}
}

func (g *Governor) takeBack() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.active == 0 && g.lent {
		g.lent = false
		g.set(g.procs())
	}
}

// Pin records a short call that blocks in the kernel, such as the fsync of
// a metadata commit. On one P, such a call would stop the whole server
// until the runtime's monitor notices it (up to 10 ms), so while any is in
// flight, and for Linger after, the Governor stays at one P per core.
func (g *Governor) Pin() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pinned++
	g.quiet = time.Time{}
	if g.one {
		g.one = false
		g.set(g.procs())
	}
}

// Unpin records that a call Pin recorded is over.
func (g *Governor) Unpin() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pinned--
	g.unpinned = g.clk().Now()
}

// Pins returns Pin and Unpin as a blocking.Hint, for short calls that block
// (sqlite.Store.SetBlocking, s3api.Options.Blocking). The Governor itself
// (Enter and Leave) is the hint for writers (blob.Dir.Blocking).
func (g *Governor) Pins() blocking.Hint { return pins{g} }

type pins struct{ g *Governor }

func (p pins) Enter() { p.g.Pin() }
func (p pins) Leave() { p.g.Unpin() }

// Run samples the process's CPU time (user and system) every Interval and
// moves between one P and one per core, until ctx ends. Where the CPU time
// cannot be read, it returns at once.
func (g *Governor) Run(ctx context.Context) {
	if processCPU == nil {
		return
	}
	g.run(ctx, processCPU)
}

func (g *Governor) run(ctx context.Context, cpu func() time.Duration) {
	if g.cores <= 1 {
		return
	}
	clk := g.clk()
	t := clk.NewTicker(Interval)
	defer t.Stop()
	// The use is averaged over Window: one sample is too noisy (a GC
	// cycle, a burst of connections) to move on.
	type reading struct {
		cpu time.Duration
		at  time.Time
	}
	var ring [Window/Interval + 1]reading
	ring[0] = reading{cpu(), clk.Now()}
	for i := 1; ; i++ {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C():
			cur := reading{cpu(), now}
			ring[i%len(ring)] = cur
			if i < len(ring)-1 {
				continue
			}
			old := ring[(i+1)%len(ring)]
			if dt := cur.at.Sub(old.at); dt > 0 && cur.cpu >= old.cpu {
				g.observe(float64(cur.cpu-old.cpu)/float64(dt), now)
			}
		}
	}
}

// observe takes one sample: the process used cores cores of CPU up to now.
func (g *Governor) observe(cores float64, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.lent || g.pinned > 0 || now.Sub(g.unpinned) < g.linger {
		g.quiet = time.Time{}
		return
	}
	if g.one {
		if cores < Busy {
			return
		}
		g.one = false
		g.set(g.procs())
		if now.Sub(g.lowered) < Settle {
			g.hold = min(2*g.hold, MaxHold)
		} else {
			g.hold = MinHold
		}
		return
	}
	if cores >= Light {
		g.quiet = time.Time{}
		return
	}
	if g.quiet.IsZero() {
		g.quiet = now
	}
	if now.Sub(g.quiet) >= g.hold {
		g.one = true
		g.lowered = now
		g.quiet = time.Time{}
		g.set(g.procs())
	}
}
