package cpusat

import (
	"context"
	"errors"
	"testing"
	"time"
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

func TestMonitor(t *testing.T) {
	var nilMon *Monitor
	if nilMon.Saturated() {
		t.Fatal("nil Monitor saturated")
	}
	// A fake /proc/stat: each period 5 % idle, then 50 %; closed, it fails.
	samples := make(chan Times)
	m := &Monitor{read: func() (Times, error) {
		s, ok := <-samples
		if !ok {
			return Times{}, errors.New("closed")
		}
		return s, nil
	}}
	done := make(chan struct{})
	go func() { m.Run(context.Background()); close(done) }()
	samples <- Times{Idle: 0, Total: 0}
	samples <- Times{Idle: 5, Total: 100}
	waitFor(t, func() bool { return m.Saturated() })
	samples <- Times{Idle: 55, Total: 200}
	waitFor(t, func() bool { return !m.Saturated() })
	samples <- Times{Idle: 56, Total: 300}
	waitFor(t, func() bool { return m.Saturated() })
	close(samples)
	<-done
	if m.Saturated() {
		t.Fatal("saturated after Run returned")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute) // a guard against hanging, not a timing
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
