package share

import (
	"context"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/postern/postern/internal/clock"
)

// Kinds of Event.
const (
	EventUse     = "use"     // a request used one of the share's uses (2xx, counted)
	EventUsedUp  = "used up" // that use was the share's last one
	EventRevoked = "revoked" // the share was revoked
)

// Event is something that happened to a share, for notifications (the
// webhook package): RecorderOptions.Events receives every one.
type Event struct {
	Kind  string
	Time  time.Time
	Share Share // the share as of the event (Uses after the use)
	// Entry is the audit row of a use; nil for other kinds.
	Entry *AuditEntry
}

// Defaults of RecorderOptions.
const (
	DefaultAuditQueue = 8192
	DefaultAuditBatch = 256
	DefaultAuditWait  = 100 * time.Millisecond
)

// RecorderOptions configure a Recorder.
type RecorderOptions struct {
	Store Store
	// Clock times the back-pressure wait; nil means clock.Real.
	Clock clock.Clock
	// Queue is how many rows may wait to be written (DefaultAuditQueue);
	// Batch the most rows written in one transaction (DefaultAuditBatch).
	Queue, Batch int
	// Wait is how long Record waits for room in a full queue before it
	// drops the row (DefaultAuditWait).
	Wait   time.Duration
	Logger *slog.Logger
	// Events, if set, is told of every share event (uses, running out,
	// revocation), on the goroutine of the request that caused it: it
	// must not block (the webhook package queues and returns).
	Events func(Event)
}

// Recorder writes audit rows off the request path: Record puts a row in a
// bounded queue and one goroutine writes the queue to the store, up to
// Batch rows per AddAudit (one transaction). It gathers a batch while rows
// keep coming (gather): a lone row is written at once, and under load one
// transaction (one fsync) takes the rows of all the requests in flight. When the queue is full,
// Record waits up to Wait for room (back-pressure on the requests that
// outrun the database), then drops the row: it is counted (Dropped) and
// the first drop is logged. Close writes what is queued.
type Recorder struct {
	o       RecorderOptions
	clk     clock.Clock
	q       chan AuditEntry
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
	dropped atomic.Uint64
	batches atomic.Uint64
	logged  atomic.Bool
}

// NewRecorder starts a Recorder's writer goroutine.
func NewRecorder(o RecorderOptions) *Recorder {
	if o.Queue <= 0 {
		o.Queue = DefaultAuditQueue
	}
	if o.Batch <= 0 {
		o.Batch = DefaultAuditBatch
	}
	if o.Wait <= 0 {
		o.Wait = DefaultAuditWait
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Recorder{o: o, clk: clock.Or(o.Clock), q: make(chan AuditEntry, o.Queue), stop: make(chan struct{}), done: make(chan struct{})}
	go r.run()
	return r
}

// Record queues one audit row (see Recorder for when it waits or drops).
func (r *Recorder) Record(e AuditEntry) {
	select {
	case r.q <- e:
		return
	default:
	}
	t := r.clk.NewTimer(r.o.Wait)
	defer t.Stop()
	select {
	case r.q <- e:
	case <-t.C():
		n := r.dropped.Add(1)
		if r.logged.CompareAndSwap(false, true) {
			r.o.Logger.Warn("share audit: the queue is full, dropping rows (counted in postern_share_audit_dropped_total; logged once)",
				"queue", cap(r.q), "dropped", n)
		}
	}
}

// Emit hands ev to RecorderOptions.Events, if set.
func (r *Recorder) Emit(ev Event) {
	if r.o.Events != nil {
		r.o.Events(ev)
	}
}

// Dropped is how many rows were dropped (queue full, or the store failed).
func (r *Recorder) Dropped() uint64 { return r.dropped.Load() }

// Batches is how many batches were written (AddAudit calls).
func (r *Recorder) Batches() uint64 { return r.batches.Load() }

// QueueLen is how many rows wait to be written.
func (r *Recorder) QueueLen() int { return len(r.q) }

// Close writes the rows queued so far and stops the writer. Rows recorded
// after Close are not written.
func (r *Recorder) Close() {
	r.once.Do(func() { close(r.stop) })
	<-r.done
}

func (r *Recorder) run() {
	defer close(r.done)
	batch := make([]AuditEntry, 0, r.o.Batch)
	for {
		select {
		case e := <-r.q:
			batch = r.gather(append(batch[:0], e))
		case <-r.stop:
			// Flush: write what is queued now, then stop.
			for {
				batch = r.fill(batch[:0])
				if len(batch) == 0 {
					return
				}
				r.write(batch)
			}
		}
		r.write(batch)
	}
}

// gather adds to batch the rows that keep arriving, up to Batch rows: it
// lets the goroutines that are ready run (the requests being served, which
// record their rows as they end), takes what was queued meanwhile, and
// goes on while each look finds more. The window is the queue's own: no
// timer, nothing to tune. An idle server writes a lone row after one
// yield; a busy one writes the rows of every request in flight at once.
func (r *Recorder) gather(batch []AuditEntry) []AuditEntry {
	for len(batch) < r.o.Batch {
		runtime.Gosched()
		n := len(batch)
		if batch = r.fill(batch); len(batch) == n {
			break
		}
	}
	return batch
}

// fill appends queued rows to batch, without waiting, up to Batch rows.
func (r *Recorder) fill(batch []AuditEntry) []AuditEntry {
	for len(batch) < r.o.Batch {
		select {
		case e := <-r.q:
			batch = append(batch, e)
		default:
			return batch
		}
	}
	return batch
}

// write stores one batch; a failed write drops its rows (counted, logged).
func (r *Recorder) write(batch []AuditEntry) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r.batches.Add(1)
	if err := r.o.Store.AddAudit(ctx, batch); err != nil {
		r.dropped.Add(uint64(len(batch)))
		r.o.Logger.Warn("share audit: writing rows failed; they are dropped", "rows", len(batch), "err", err)
	}
}
