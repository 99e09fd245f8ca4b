// Package blocking names the one hint the domain gives the scheduler: "this
// goroutine is about to block in the kernel" (an fsync, a direct write, a
// sendfile). Packages that block accept a Hint; only the composition root
// decides who listens (package internal/perf/procs, which keeps a P per core
// while any such call is in flight). It imports nothing but the standard
// library, so every room of the tree may use it.
package blocking

// Hint is told when a call that may block in the kernel starts (Enter) and
// when it is over (Leave). Calls are paired; implementations must be cheap
// and safe for concurrent use.
type Hint interface {
	Enter()
	Leave()
}

// Nop is a Hint that does nothing.
var Nop Hint = nop{}

type nop struct{}

func (nop) Enter() {}
func (nop) Leave() {}

// Or returns h, or Nop if h is nil.
func Or(h Hint) Hint {
	if h == nil {
		return Nop
	}
	return h
}
