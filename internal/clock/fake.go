package clock

import (
	"context"
	"sync"
	"time"
)

// Fake is a Clock for tests: its time moves only when Advance is called.
//
// Advance fires the timers and tickers that fall due, one at a time in the
// order of their deadlines, with Now set to each deadline. A timer's or
// ticker's channel holds one value, as package time's did before Go 1.23:
// a firing that finds it full is dropped, so a test advances a ticker one
// period at a time and waits for what the tick caused before the next. An
// AfterFunc's function runs in Advance's goroutine, so its effect is there
// when Advance returns. Code under test that arms its timer in another
// goroutine may not have done so yet: BlockUntil waits for that.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	seq     uint64
	armed   []*fakeTimer
	changed chan struct{} // closed (and replaced) whenever a timer is armed
}

// NewFake returns a Fake whose time is start.
func NewFake(start time.Time) *Fake {
	return &Fake{now: start, changed: make(chan struct{})}
}

// Now returns the Fake's time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// NewTimer returns a timer that fires once Advance reaches Now()+d (a d of
// zero or less: at the next Advance, even Advance(0)).
func (f *Fake) NewTimer(d time.Duration) Timer {
	return f.start(&fakeTimer{f: f, c: make(chan time.Time, 1)}, d)
}

// NewTicker returns a ticker that fires every d of advanced time.
func (f *Fake) NewTicker(d time.Duration) Ticker {
	if d <= 0 {
		panic("clock: non-positive interval for NewTicker")
	}
	return fakeTicker{f.start(&fakeTimer{f: f, c: make(chan time.Time, 1), period: d}, d)}
}

// AfterFunc returns a timer that calls fn, in Advance's goroutine, once
// Advance reaches Now()+d.
func (f *Fake) AfterFunc(d time.Duration, fn func()) Timer {
	return f.start(&fakeTimer{f: f, fn: fn}, d)
}

func (f *Fake) start(t *fakeTimer, d time.Duration) *fakeTimer {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.arm(t, f.now.Add(d))
	return t
}

// Advance moves the time on by d, firing what falls due on the way.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	end := f.now.Add(d)
	for {
		var t *fakeTimer
		for _, c := range f.armed {
			if !c.when.After(end) && (t == nil || c.when.Before(t.when) || c.when.Equal(t.when) && c.seq < t.seq) {
				t = c
			}
		}
		if t == nil {
			break
		}
		if t.when.After(f.now) {
			f.now = t.when
		}
		f.disarm(t)
		if t.period > 0 {
			f.arm(t, t.when.Add(t.period))
		}
		if t.fn != nil {
			f.mu.Unlock()
			t.fn()
			f.mu.Lock()
			continue
		}
		select {
		case t.c <- f.now:
		default: // the last value is still unread: this one is dropped
		}
	}
	if end.After(f.now) {
		f.now = end
	}
}

// BlockUntil waits until at least n timers and tickers are armed (made and
// neither fired, unless they tick, nor stopped), or ctx ends.
func (f *Fake) BlockUntil(ctx context.Context, n int) error {
	for {
		f.mu.Lock()
		armed, changed := len(f.armed), f.changed
		f.mu.Unlock()
		if armed >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		}
	}
}

// Armed returns how many timers and tickers are armed.
func (f *Fake) Armed() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.armed)
}

// Next returns the earliest deadline of the armed timers and tickers, and
// false if none is armed.
func (f *Fake) Next() (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var next time.Time
	for _, t := range f.armed {
		if next.IsZero() || t.when.Before(next) {
			next = t.when
		}
	}
	return next, len(f.armed) > 0
}

// arm schedules t at when. Call with f.mu held.
func (f *Fake) arm(t *fakeTimer, when time.Time) {
	f.seq++
	t.when, t.seq, t.armed = when, f.seq, true
	f.armed = append(f.armed, t)
	close(f.changed)
	f.changed = make(chan struct{})
}

// disarm unschedules t and reports whether it was scheduled. Call with
// f.mu held.
func (f *Fake) disarm(t *fakeTimer) bool {
	if !t.armed {
		return false
	}
	t.armed = false
	for i, c := range f.armed {
		if c == t {
			f.armed = append(f.armed[:i], f.armed[i+1:]...)
			break
		}
	}
	return true
}

// fakeTimer is a Fake's timer, ticker (period > 0) or AfterFunc (fn set).
type fakeTimer struct {
	f      *Fake
	c      chan time.Time // nil for AfterFunc
	fn     func()
	period time.Duration
	when   time.Time
	seq    uint64 // orders timers due at the same time by when they were armed
	armed  bool
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

// Stop unschedules the timer and drops a value fired but not yet received,
// as package time does since Go 1.23.
func (t *fakeTimer) Stop() bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	return t.stop()
}

func (t *fakeTimer) stop() bool {
	was := t.f.disarm(t)
	if t.c != nil {
		select {
		case <-t.c:
			was = true // fired but not received: as if it had not fired
		default:
		}
	}
	return was
}

// Reset stops the timer and schedules it d from now.
func (t *fakeTimer) Reset(d time.Duration) bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	was := t.stop()
	t.f.arm(t, t.f.now.Add(d))
	return was
}

// fakeTicker is a ticking fakeTimer as a Ticker.
type fakeTicker struct{ t *fakeTimer }

func (k fakeTicker) C() <-chan time.Time { return k.t.c }
func (k fakeTicker) Stop()               { k.t.Stop() }
