package share

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/postern/postern/internal/clock"
)

// auditStore is a Store whose AddAudit blocks until released and records
// its batches; the other methods are not used by the Recorder.
type auditStore struct {
	Store
	mu      sync.Mutex
	batches [][]AuditEntry
	gate    chan struct{}
	entered chan struct{}
}

func (s *auditStore) AddAudit(_ context.Context, rows []AuditEntry) error {
	s.entered <- struct{}{}
	<-s.gate
	s.mu.Lock()
	s.batches = append(s.batches, append([]AuditEntry(nil), rows...))
	s.mu.Unlock()
	return nil
}

func TestRecorderBatchesBackPressureAndFlush(t *testing.T) {
	st := &auditStore{gate: make(chan struct{}), entered: make(chan struct{}, 100)}
	clk := clock.NewFake(time.Unix(0, 0))
	r := NewRecorder(RecorderOptions{Store: st, Clock: clk, Queue: 2, Batch: 10, Wait: time.Second})
	r.Record(AuditEntry{ShareID: "a"})
	<-st.entered // the writer holds row a, blocked in AddAudit
	r.Record(AuditEntry{ShareID: "b"})
	r.Record(AuditEntry{ShareID: "c"}) // queue full now (2)
	if r.QueueLen() != 2 {
		t.Fatalf("queue %d, want 2", r.QueueLen())
	}
	// A fourth row waits for room (back-pressure) until the wait is over,
	// then is dropped and counted.
	done := make(chan struct{})
	go func() { r.Record(AuditEntry{ShareID: "d"}); close(done) }()
	if err := clk.BlockUntil(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
		t.Fatal("Record returned while the queue was full and the wait not over")
	default:
	}
	clk.Advance(time.Second)
	<-done
	if r.Dropped() != 1 {
		t.Fatalf("dropped %d, want 1", r.Dropped())
	}
	// Release the writer: b and c go in one batch; Close flushes.
	close(st.gate)
	r.Close()
	if len(st.batches) != 2 || len(st.batches[0]) != 1 || len(st.batches[1]) != 2 || st.batches[1][0].ShareID != "b" || st.batches[1][1].ShareID != "c" {
		t.Fatalf("batches %+v", st.batches)
	}
}

func TestRecorderEvents(t *testing.T) {
	var got []Event
	r := NewRecorder(RecorderOptions{Store: &auditStore{gate: make(chan struct{})}, Events: func(e Event) { got = append(got, e) }})
	defer r.Close()
	r.Emit(Event{Kind: EventRevoked})
	if len(got) != 1 || got[0].Kind != EventRevoked {
		t.Fatalf("events %+v", got)
	}
}

// Rows that queue while a batch is being written go in the next batches,
// in order, never more than Batch rows to one; Batches counts the writes.
func TestRecorderGatherKeepsOrderAndBound(t *testing.T) {
	st := &auditStore{gate: make(chan struct{}), entered: make(chan struct{}, 100)}
	r := NewRecorder(RecorderOptions{Store: st, Queue: 100, Batch: 10})
	r.Record(AuditEntry{RequestID: "0"})
	<-st.entered // the writer holds row 0, blocked in AddAudit
	for i := 1; i <= 25; i++ {
		r.Record(AuditEntry{RequestID: strconv.Itoa(i)})
	}
	close(st.gate)
	r.Close()
	var sizes []int
	next := 0
	for _, b := range st.batches {
		sizes = append(sizes, len(b))
		for _, e := range b {
			if e.RequestID != strconv.Itoa(next) {
				t.Fatalf("row %q where %d was due; batches %v", e.RequestID, next, sizes)
			}
			next++
		}
	}
	if next != 26 || !slices.Equal(sizes, []int{1, 10, 10, 5}) || r.Batches() != 4 {
		t.Fatalf("%d rows in batches of %v (Batches %d), want 26 in 1, 10, 10, 5", next, sizes, r.Batches())
	}
}
