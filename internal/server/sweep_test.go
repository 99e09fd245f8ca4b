package server

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/postern/postern/internal/clock"
)

// The orphan sweeper sweeps once every interval of its clock, each time the
// files older than an hour by its clock, and logs what it removed
// and what failed.
func TestSweepLoop(t *testing.T) {
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	clk := clock.NewFake(t0)
	const interval = 7 * time.Minute
	ctx, cancel := context.WithCancel(context.Background())
	type call struct {
		olderThan time.Time
		reply     chan error // the sweep's error; it removes 2 files without one
	}
	calls := make(chan call)
	sweep := func(ctx context.Context, olderThan time.Time) (int, error) {
		c := call{olderThan, make(chan error)}
		select {
		case calls <- c:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
		if err := <-c.reply; err != nil {
			return 0, err
		}
		return 2, nil
	}
	var log bytes.Buffer // read once the loop is over
	logger := slog.New(slog.NewTextHandler(&log, nil))
	done := make(chan struct{})
	go func() { sweepLoop(ctx, clk, logger, sweep, interval); close(done) }()
	defer func() { cancel(); <-done }()

	guard, stop := context.WithTimeout(context.Background(), time.Minute) // a guard against hanging, not a timing
	defer stop()
	if err := clk.BlockUntil(guard, 1); err != nil {
		t.Fatal("the sweeper armed no ticker:", err)
	}
	// next sweeps once interval is over and returns the sweep's olderThan.
	next := func(k int, err error) {
		t.Helper()
		if at, _ := clk.Next(); !at.Equal(t0.Add(time.Duration(k) * interval)) {
			t.Fatalf("sweep %d due after %v, want %v", k, at.Sub(t0), time.Duration(k)*interval)
		}
		clk.Advance(interval)
		var c call
		select {
		case c = <-calls:
		case <-guard.Done():
			t.Fatalf("no sweep %d", k)
		}
		c.reply <- err
		// docs/design.md: files older than an hour, so uploads in flight
		// are never touched.
		want := t0.Add(time.Duration(k)*interval - time.Hour)
		if !c.olderThan.Equal(want) {
			t.Fatalf("sweep %d of files older than %v, want %v", k, c.olderThan.Sub(t0), want.Sub(t0))
		}
	}
	next(1, nil)
	next(2, errors.New("the disk is gone"))
	next(3, nil)
	cancel()
	<-done
	out := log.String()
	if !strings.Contains(out, `msg="removed orphaned object files" count=2`) || !strings.Contains(out, `msg="sweeping orphaned object files" err="the disk is gone"`) {
		t.Fatalf("log:\n%s", out)
	}
}
