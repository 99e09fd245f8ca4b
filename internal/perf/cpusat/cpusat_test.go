package cpusat

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/postern/postern/internal/clock"
)

func TestParseStat(t *testing.T) {
	stat := []byte("cpu  100 5 50 800 40 1 4 0 7 0\ncpu0 50 2 25 400 20 0 2 0 0 0\nintr 1\n")
	got, err := ParseStat(stat)
	if err != nil {
		t.Fatal(err)
	}
	// Guest (7) is already in user: not counted twice.
	if want := (Times{Idle: 840, Total: 1000}); got != want {
		t.Fatalf("ParseStat = %+v, want %+v", got, want)
	}
	for _, bad := range []string{"", "cpu0 1 2 3 4 5\n", "cpu 1 2 x 4 5\n", "cpu 1 2 3\n", "intr 5\ncpu 1 2 3 4 5\n", "cpu 18446744073709551610 1 1 7\n"} {
		if _, err := ParseStat([]byte(bad)); err == nil {
			t.Errorf("ParseStat(%q) succeeded", bad)
		}
	}
}

func TestIdleShare(t *testing.T) {
	if got := IdleShare(Times{Idle: 100, Total: 1000}, Times{Idle: 110, Total: 1200}); got != 0.05 {
		t.Fatalf("IdleShare = %v, want 0.05", got)
	}
	if got := IdleShare(Times{Idle: 100, Total: 1000}, Times{Idle: 100, Total: 1000}); got != 1 {
		t.Fatalf("no time passed: %v, want 1", got)
	}
	if got := IdleShare(Times{Idle: 100, Total: 1000}, Times{Idle: 90, Total: 1100}); got != 1 {
		t.Fatalf("idle went backwards: %v, want 1", got)
	}
}

func TestReadStat(t *testing.T) {
	tm, err := readStat()
	if err != nil {
		t.Skip("no /proc/stat here:", err)
	}
	if tm.Total == 0 || tm.Idle > tm.Total {
		t.Fatalf("implausible times %+v", tm)
	}
}

// Monitor reads /proc/stat once at the start and then once every Period
// of its clock, and reports saturation from each period's idle share; it
// stops reporting once it cannot read.
func TestMonitor(t *testing.T) {
	var nilMon *Monitor
	if nilMon.Saturated() {
		t.Fatal("nil Monitor saturated")
	}
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	clk := clock.NewFake(t0)
	// A fake /proc/stat: each read says when it happens on reading, then
	// returns the next of samples, or fails once samples is closed.
	reading := make(chan time.Time)
	samples := make(chan Times)
	m := &Monitor{Clock: clk, read: func() (Times, error) {
		reading <- clk.Now()
		s, ok := <-samples
		if !ok {
			return Times{}, errors.New("closed")
		}
		return s, nil
	}}
	done := make(chan struct{})
	go func() { m.Run(context.Background()); close(done) }()
	// read waits for the next read, which must come at the time at; by
	// then Run has acted on every earlier one.
	read := func(at time.Time) {
		t.Helper()
		select {
		case got := <-reading:
			if !got.Equal(at) {
				t.Fatalf("read at %v, want %v", got.Sub(t0), at.Sub(t0))
			}
		case <-time.After(time.Minute): // a guard against hanging, not a timing
			t.Fatal("no read")
		}
		if next, ok := clk.Next(); !at.Equal(t0) && (!ok || !next.Equal(at.Add(Period))) {
			t.Fatalf("after the read at %v, the next is due at %v, want %v", at.Sub(t0), next.Sub(t0), at.Add(Period).Sub(t0))
		}
	}
	read(t0)
	samples <- Times{Idle: 0, Total: 0}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := clk.BlockUntil(ctx, 1); err != nil {
		t.Fatal("no ticker:", err)
	}
	if next, _ := clk.Next(); !next.Equal(t0.Add(Period)) {
		t.Fatalf("first period ends at %v, want %v", next.Sub(t0), Period)
	}
	if m.Saturated() {
		t.Fatal("saturated before the first period")
	}
	clk.Advance(Period - 1)
	clk.Advance(1)
	read(t0.Add(Period))
	samples <- Times{Idle: 5, Total: 100} // 5 % idle
	clk.Advance(Period)
	read(t0.Add(2 * Period))
	if !m.Saturated() {
		t.Fatal("not saturated after a period 5 % idle")
	}
	samples <- Times{Idle: 95, Total: 200} // 90 %
	clk.Advance(Period)
	read(t0.Add(3 * Period))
	if m.Saturated() {
		t.Fatal("saturated after a period 90 % idle")
	}
	samples <- Times{Idle: 96, Total: 300} // 1 % (32 % since the start)
	clk.Advance(Period)
	read(t0.Add(4 * Period))
	if !m.Saturated() {
		t.Fatal("not saturated after a period 1 % idle")
	}
	close(samples)
	<-done
	if m.Saturated() {
		t.Fatal("saturated after Run returned")
	}
}
