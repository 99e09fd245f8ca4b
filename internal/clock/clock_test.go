package clock

import (
	"context"
	"fmt"
	"testing"
	"time"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// recv returns the value waiting in c, if any.
func recv(c <-chan time.Time) (time.Time, bool) {
	select {
	case v := <-c:
		return v, true
	default:
		return time.Time{}, false
	}
}

func TestFakeTimer(t *testing.T) {
	f := NewFake(t0)
	tm := f.NewTimer(time.Second)
	f.Advance(time.Second - 1)
	if _, ok := recv(tm.C()); ok {
		t.Fatal("timer fired before its deadline")
	}
	if got := f.Now(); !got.Equal(t0.Add(time.Second - 1)) {
		t.Fatalf("Now %v", got)
	}
	f.Advance(1)
	if v, ok := recv(tm.C()); !ok || !v.Equal(t0.Add(time.Second)) {
		t.Fatalf("timer at its deadline: %v %v", v, ok)
	}
	f.Advance(time.Hour)
	if _, ok := recv(tm.C()); ok {
		t.Fatal("a timer fired twice")
	}
	// Reset schedules it again from now; Stop unschedules it and drops a
	// value fired but not received.
	if tm.Reset(time.Minute) {
		t.Fatal("Reset of a fired timer reported it active")
	}
	if !tm.Stop() {
		t.Fatal("Stop of a scheduled timer reported it inactive")
	}
	f.Advance(time.Hour)
	if _, ok := recv(tm.C()); ok {
		t.Fatal("a stopped timer fired")
	}
	tm.Reset(time.Minute)
	f.Advance(time.Minute)
	if !tm.Stop() {
		t.Fatal("Stop of a fired, unreceived timer reported it inactive")
	}
	if _, ok := recv(tm.C()); ok {
		t.Fatal("a value survived Stop")
	}
	if f.Armed() != 0 {
		t.Fatalf("%d armed, want 0", f.Armed())
	}
}

func TestFakeTickerAndOrder(t *testing.T) {
	f := NewFake(t0)
	tk := f.NewTicker(10 * time.Second)
	var order []string
	// Each function sees the time of its deadline and the ticks due before.
	note := func() { order = append(order, fmt.Sprintf("func@%v ticks=%d", f.Now().Sub(t0), len(tk.C()))) }
	f.AfterFunc(15*time.Second, note)
	f.AfterFunc(5*time.Second, note)
	if next, ok := f.Next(); !ok || !next.Equal(t0.Add(5*time.Second)) {
		t.Fatalf("Next %v %v, want 5s", next.Sub(t0), ok)
	}
	f.Advance(9 * time.Second)
	if next, ok := f.Next(); !ok || !next.Equal(t0.Add(10*time.Second)) {
		t.Fatalf("Next %v %v, want 10s", next.Sub(t0), ok)
	}
	if v, ok := recv(tk.C()); ok {
		t.Fatalf("tick at %v before the period", v)
	}
	f.Advance(11 * time.Second) // to 20 s: ticks at 10 and 20 s, but the channel holds one
	if v, ok := recv(tk.C()); !ok || !v.Equal(t0.Add(10*time.Second)) {
		t.Fatalf("first tick %v %v, want the one at 10s (the one at 20s is dropped)", v, ok)
	}
	if _, ok := recv(tk.C()); ok {
		t.Fatal("two ticks held at once")
	}
	if got, want := order, []string{"func@5s ticks=0", "func@15s ticks=1"}; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("functions ran as %v, want %v", got, want)
	}
	f.Advance(10 * time.Second)
	if v, ok := recv(tk.C()); !ok || !v.Equal(t0.Add(30*time.Second)) {
		t.Fatalf("tick %v %v, want the one at 30s", v, ok)
	}
	tk.Stop()
	if _, ok := f.Next(); ok {
		t.Fatal("Next with nothing armed")
	}
	f.Advance(time.Minute)
	if _, ok := recv(tk.C()); ok {
		t.Fatal("a stopped ticker ticked")
	}
}

// BlockUntil returns once another goroutine has armed its timer.
func TestFakeBlockUntil(t *testing.T) {
	f := NewFake(t0)
	fired := make(chan time.Time)
	go func() {
		tm := f.NewTimer(time.Second)
		fired <- <-tm.C()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a guard against hanging, not a timing
	defer cancel()
	if err := f.BlockUntil(ctx, 1); err != nil {
		t.Fatal(err)
	}
	f.Advance(time.Second)
	if v := <-fired; !v.Equal(t0.Add(time.Second)) {
		t.Fatalf("fired at %v", v)
	}
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if err := f.BlockUntil(ctx, 1); err == nil {
		t.Fatal("BlockUntil returned nil with nothing armed and ctx done")
	}
}

func TestOr(t *testing.T) {
	if Or(nil) != Real {
		t.Fatal("Or(nil) is not Real")
	}
	f := NewFake(t0)
	if Or(f) != Clock(f) {
		t.Fatal("Or(f) is not f")
	}
	// The real clock's timers fire on their own.
	tm := Real.NewTimer(0)
	<-tm.C()
	done := make(chan struct{})
	Real.AfterFunc(0, func() { close(done) })
	<-done
	tk := Real.NewTicker(time.Millisecond)
	<-tk.C()
	tk.Stop()
}
