// Package clock is the one seam through which time drives behaviour: the
// GOMAXPROCS governor's lingers and samples, the CPU saturation monitor's
// period, the orphan sweeper's interval and grace, and the body hasher's
// hold. Code that takes a Clock uses Real unless it is given another; tests
// give it a Fake and move time with Advance instead of sleeping.
//
// It imports nothing but the standard library, so every room of the tree
// may use it.
package clock

import "time"

// Clock tells the time and makes timers and tickers, like package time.
type Clock interface {
	Now() time.Time
	// NewTimer is time.NewTimer.
	NewTimer(d time.Duration) Timer
	// NewTicker is time.NewTicker; d must be positive.
	NewTicker(d time.Duration) Ticker
	// AfterFunc is time.AfterFunc; the Timer's C is nil.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a *time.Timer (with Go 1.23's semantics: after Stop or Reset
// returns, no stale value is received from C).
type Timer interface {
	C() <-chan time.Time
	Stop() bool
	Reset(d time.Duration) bool
}

// Ticker is a *time.Ticker.
type Ticker interface {
	C() <-chan time.Time
	Stop()
}

// Real is the clock of package time.
var Real Clock = realClock{}

// Or returns c, or Real if c is nil.
func Or(c Clock) Clock {
	if c == nil {
		return Real
	}
	return c
}

type realClock struct{}

func (realClock) Now() time.Time                   { return time.Now() }
func (realClock) NewTimer(d time.Duration) Timer   { return realTimer{time.NewTimer(d)} }
func (realClock) NewTicker(d time.Duration) Ticker { return realTicker{time.NewTicker(d)} }
func (realClock) AfterFunc(d time.Duration, f func()) Timer {
	return realTimer{time.AfterFunc(d, f)}
}

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time        { return r.t.C }
func (r realTimer) Stop() bool                 { return r.t.Stop() }
func (r realTimer) Reset(d time.Duration) bool { return r.t.Reset(d) }

type realTicker struct{ t *time.Ticker }

func (r realTicker) C() <-chan time.Time { return r.t.C }
func (r realTicker) Stop()               { r.t.Stop() }
