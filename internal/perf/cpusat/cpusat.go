// Package cpusat tells whether the machine's CPUs are saturated: whether,
// over the last sampling period, they were idle (or waiting for I/O) less
// than a threshold share of the time. Work that trades a little latency for
// less CPU (see package bodyhash) uses it to make that trade only when CPU
// is what limits the machine.
//
// It reads Linux's /proc/stat. Elsewhere, or if /proc/stat cannot be read,
// the machine is never reported saturated. In a container /proc/stat
// describes the host: a CPU quota that throttles the container alone is
// not seen, and users of Saturated then behave as on an idle machine.
package cpusat

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/postern/postern/internal/clock"
)

// Defaults for Monitor.
const (
	Period   = 250 * time.Millisecond
	MaxIdle  = 0.2 // saturated below this share of idle time
	statFile = "/proc/stat"
)

// Times are the cumulative CPU times of all CPUs, in clock ticks: Idle
// (idle and iowait) and Total (every state).
type Times struct {
	Idle, Total uint64
}

// IdleShare returns the share of time idle between two readings, from 0
// to 1. Readings that went backwards (iowait may, on some kernels) or that
// span no time count as idle.
func IdleShare(before, after Times) float64 {
	if after.Total <= before.Total || after.Idle < before.Idle {
		return 1
	}
	return min(1, float64(after.Idle-before.Idle)/float64(after.Total-before.Total))
}

// ParseStat reads the aggregate "cpu" line of /proc/stat: user nice system
// idle iowait irq softirq steal (guest time is already in user and nice).
func ParseStat(stat []byte) (Times, error) {
	line, _, _ := bytes.Cut(stat, []byte("\n"))
	fields := bytes.Fields(line)
	if len(fields) < 5 || string(fields[0]) != "cpu" {
		return Times{}, errors.New("cpusat: no aggregate cpu line")
	}
	var t Times
	for i, f := range fields[1:] {
		if i == 8 {
			break // guest and guest_nice are counted in user and nice
		}
		v, err := strconv.ParseUint(string(f), 10, 64)
		if err != nil || t.Total+v < t.Total {
			return Times{}, errors.New("cpusat: malformed cpu line")
		}
		t.Total += v
		if i == 3 || i == 4 { // idle, iowait
			t.Idle += v
		}
	}
	return t, nil
}

// Monitor samples /proc/stat every Period once Run is called.
type Monitor struct {
	// Clock, if set before Run, times the periods. Nil means clock.Real.
	Clock clock.Clock

	saturated atomic.Bool
	read      func() (Times, error)
}

// New returns a Monitor that reports nothing until Run samples.
func New() *Monitor { return &Monitor{read: readStat} }

// Saturated reports whether the CPUs were less than MaxIdle idle over the
// last period. A nil Monitor is never saturated.
func (m *Monitor) Saturated() bool { return m != nil && m.saturated.Load() }

// Run samples until ctx ends. It returns at once if /proc/stat cannot be read.
func (m *Monitor) Run(ctx context.Context) {
	prev, err := m.read()
	if err != nil {
		return
	}
	t := clock.Or(m.Clock).NewTicker(Period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			m.saturated.Store(false)
			return
		case <-t.C():
		}
		cur, err := m.read()
		if err != nil {
			m.saturated.Store(false)
			return
		}
		m.saturated.Store(IdleShare(prev, cur) < MaxIdle)
		prev = cur
	}
}

func readStat() (Times, error) {
	f, err := os.Open(statFile)
	if err != nil {
		return Times{}, err
	}
	defer f.Close()
	// The aggregate line comes first; 4 KiB holds it with room to spare.
	line, err := bufio.NewReaderSize(f, 4096).ReadSlice('\n')
	if err != nil {
		return Times{}, err
	}
	return ParseStat(line)
}
