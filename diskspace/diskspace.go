// Package diskspace keeps a full data volume from locking the owner out.
//
// Two thresholds protect the space that metadata writes (deletes, aborts,
// policy changes, ...) need once object bytes no longer fit:
//
//   - MinFree: uploads are refused (507 InsufficientStorage) when storing
//     them would leave less than MinFree bytes free on the volume.
//   - Reserve: a file of this size (DATA/reserve.bin) is kept allocated. When
//     free space falls below Reserve bytes anyway (another program filled the
//     volume, concurrent uploads overshot, the metadata grew), the file is
//     deleted before the next metadata write, so that the write finds room.
//     It is allocated again once there is room for it above MinFree.
//
// Every decision is made by Decide, a pure function of the volume's state;
// Guard measures the volume, applies the decisions and reports transitions.
package diskspace

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// ErrFull reports that a write failed, or was refused, for lack of space.
// Callers answer it with 507 InsufficientStorage, never as an internal error.
var ErrFull = errors.New("insufficient storage: the data volume is full")

// ReserveFile is the name of the reserve file in the data folder.
const ReserveFile = "reserve.bin"

const (
	kiB = int64(1) << 10
	miB = int64(1) << 20
	giB = int64(1) << 30
)

// AutoMinFree is the default MinFree for a volume of total bytes: 2 % of the
// volume, at least 64 MiB and at most 1 GiB, but never more than an eighth of
// the volume (so small volumes stay usable).
func AutoMinFree(total int64) int64 {
	return min(clamp(total/50, 64*miB, giB), total/8)
}

// AutoReserve is the default reserve for a volume of total bytes: 0.5 % of
// the volume, at least 8 MiB and at most 64 MiB, but never more than a
// sixteenth of the volume.
func AutoReserve(total int64) int64 {
	return min(clamp(total/200, 8*miB, 64*miB), total/16)
}

func clamp(v, lo, hi int64) int64 { return max(lo, min(v, hi)) }

// Setting is a threshold as configured: auto, a byte size, or a percentage
// of the volume.
type Setting struct {
	Auto    bool
	Bytes   int64
	Percent float64 // of the volume's size, when > 0
}

// ParseSetting parses "auto", a size ("512MiB", "1GB", "1048576", "0") or a
// percentage of the volume ("2%").
func ParseSetting(s string) (Setting, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "auto") {
		return Setting{Auto: true}, nil
	}
	if p, ok := strings.CutSuffix(s, "%"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || !(f >= 0 && f <= 50) {
			return Setting{}, fmt.Errorf("%q: want a percentage between 0%% and 50%%", s)
		}
		return Setting{Percent: f}, nil
	}
	n, err := ParseSize(s)
	if err != nil {
		return Setting{}, err
	}
	return Setting{Bytes: n}, nil
}

// ParseSize parses a byte count with an optional unit: B, KB, MB, GB, TB
// (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024).
func ParseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 || i > 15 {
		return 0, fmt.Errorf("%q: want a size such as 0, 512MiB or 2GB", s)
	}
	n, _ := strconv.ParseInt(s[:i], 10, 64)
	var mult int64
	switch strings.ToLower(strings.TrimSpace(s[i:])) {
	case "", "b":
		mult = 1
	case "k", "kb":
		mult = 1000
	case "m", "mb":
		mult = 1000 * 1000
	case "g", "gb":
		mult = 1000 * 1000 * 1000
	case "t", "tb":
		mult = 1000 * 1000 * 1000 * 1000
	case "kib":
		mult = kiB
	case "mib":
		mult = miB
	case "gib":
		mult = giB
	case "tib":
		mult = giB * 1024
	default:
		return 0, fmt.Errorf("%q: unknown unit (want B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)", s)
	}
	if n > (1<<62)/mult {
		return 0, fmt.Errorf("%q: too large", s)
	}
	return n * mult, nil
}

// resolve turns a setting into bytes for a volume of total bytes.
func (s Setting) resolve(total int64, auto func(int64) int64) int64 {
	switch {
	case s.Auto:
		return auto(total)
	case s.Percent > 0:
		return int64(float64(total) * s.Percent / 100)
	}
	return s.Bytes
}

// Limits are the thresholds in bytes.
type Limits struct {
	MinFree int64 // uploads must leave this much free
	Reserve int64 // size of the reserve file; 0: none
}

// Resolve computes the limits for a volume of total bytes.
func Resolve(minFree, reserve Setting, total int64) Limits {
	return Limits{MinFree: minFree.resolve(total, AutoMinFree), Reserve: reserve.resolve(total, AutoReserve)}
}

// State is what is known of the volume at one moment.
type State struct {
	Total   int64 // the volume's size
	Free    int64 // bytes available to the server
	Reserve int64 // bytes the reserve file holds now (0: released or none)
}

// Decision is what to do about a State; see Decide.
type Decision struct {
	// Floor is the free space an upload must leave: MinFree, plus the
	// reserve's size while the reserve is released (so that it can be
	// allocated again before uploads resume).
	Floor int64
	// NearlyFull: free space is within Slack of the floor, so that all but
	// the smallest uploads are refused. Clear: free space is at least
	// twice Slack above the floor. Between the two, the state does not
	// change (hysteresis), so a volume hovering at the floor is not
	// reported again and again.
	NearlyFull, Clear bool
	Slack             int64
	// ReleaseReserve: free space is below the reserve's size; delete the
	// reserve file so that metadata writes find room.
	ReleaseReserve bool
	// AllocateReserve: the reserve is missing and there is room to
	// allocate it while still leaving MinFree free.
	AllocateReserve bool
}

// Decide is the one place where free space is judged. It is pure.
func Decide(l Limits, s State) Decision {
	var d Decision
	missing := max(l.Reserve-s.Reserve, 0)
	d.Floor = l.MinFree + missing
	if s.Reserve > 0 && s.Free < l.Reserve {
		d.ReleaseReserve = true
		d.Floor = l.MinFree + l.Reserve
	}
	if missing > 0 && !d.ReleaseReserve && s.Free >= l.MinFree+missing+l.Reserve {
		// Room for the reserve, and after allocating it still more free
		// than the reserve, so that it is not released again at once.
		d.AllocateReserve = true
	}
	d.Slack = max(d.Floor/16, miB)
	d.NearlyFull = s.Free < d.Floor+d.Slack || d.ReleaseReserve
	d.Clear = !d.NearlyFull && s.Free >= d.Floor+2*d.Slack
	return d
}

// Admit reports whether an upload of n more bytes may be stored in State s.
// n < 0 (size unknown) counts as 0: the writer checks again as bytes arrive.
func Admit(l Limits, s State, n int64) bool {
	return s.Free-max(n, 0) >= Decide(l, s).Floor && s.Free > 0
}

// Guard watches one data folder's volume. Its methods are safe for
// concurrent use. A nil *Guard admits everything and does nothing.
type Guard struct {
	dir    string
	limits Limits
	log    *slog.Logger
	statfs func(dir string) (total, free int64, err error)

	mu         sync.Mutex // serialises reserve changes and transitions
	reserve    atomic.Int64
	free       atomic.Int64
	total      atomic.Int64
	nearlyFull atomic.Bool
	statErr    bool
}

// Open measures the volume holding dir, resolves the settings against its
// size and brings the reserve file to its decided state: released if the
// volume is already too full, allocated if there is room. logger may be nil.
func Open(dir string, minFree, reserve Setting, logger *slog.Logger) (*Guard, error) {
	return open(dir, minFree, reserve, logger, statfs)
}

func open(dir string, minFree, reserve Setting, logger *slog.Logger, sf func(string) (int64, int64, error)) (*Guard, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	total, _, err := sf(dir)
	if err != nil {
		return nil, fmt.Errorf("diskspace: %s: %w", dir, err)
	}
	g := &Guard{dir: dir, log: logger, statfs: sf, limits: Resolve(minFree, reserve, total)}
	if fi, err := os.Stat(g.reservePath()); err == nil && fi.Mode().IsRegular() {
		g.reserve.Store(fi.Size())
	}
	if r := g.reserve.Load(); r > 0 && r != g.limits.Reserve {
		// The reserve was resized or turned off: give its space back
		// (Refresh allocates the new size when there is room).
		g.removeReserve()
	}
	logger.Info("disk space guard", "dir", dir, "total_bytes", total,
		"min_free_bytes", g.limits.MinFree, "reserve_bytes", g.limits.Reserve)
	g.Refresh()
	return g, nil
}

// Limits returns the thresholds in force.
func (g *Guard) Limits() Limits {
	if g == nil {
		return Limits{}
	}
	return g.limits
}

func (g *Guard) reservePath() string { return filepath.Join(g.dir, ReserveFile) }

// Free, Total and Reserve return the last measurement (for metrics, after
// Refresh).
func (g *Guard) Free() int64    { return g.free.Load() }
func (g *Guard) Total() int64   { return g.total.Load() }
func (g *Guard) Reserve() int64 { return g.reserve.Load() }

// NearlyFull reports whether uploads are being refused.
func (g *Guard) NearlyFull() bool { return g != nil && g.nearlyFull.Load() }

// Refresh measures the volume, releases or allocates the reserve as Decide
// says, logs transitions into and out of the nearly-full state, and returns
// the state and decision.
func (g *Guard) Refresh() (State, Decision) {
	s, d, _ := g.refresh()
	return s, d
}

// refresh is Refresh that also says whether the volume could be measured.
func (g *Guard) refresh() (State, Decision, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	s, ok := g.measure()
	d := Decide(g.limits, s)
	if !ok {
		// Cannot measure: decide nothing (the writes themselves still
		// answer 507 on ENOSPC).
		return s, Decision{}, false
	}
	switch {
	case d.ReleaseReserve:
		g.removeReserve()
		s, _ = g.measure()
		d = Decide(g.limits, s)
	case d.AllocateReserve:
		if err := allocate(g.reservePath(), g.limits.Reserve); err != nil {
			g.log.Warn("disk space: allocating the reserve file", "file", g.reservePath(), "err", err)
			os.Remove(g.reservePath())
		} else {
			g.reserve.Store(g.limits.Reserve)
			s, _ = g.measure()
			d = Decide(g.limits, s)
		}
	}
	g.transition(s, d)
	return s, d, true
}

// measure reads the volume's size and free space. Called with mu held.
func (g *Guard) measure() (State, bool) {
	total, free, err := g.statfs(g.dir)
	if err != nil {
		if !g.statErr {
			g.log.Warn("disk space: cannot measure the data volume", "dir", g.dir, "err", err)
			g.statErr = true
		}
		return State{Total: g.total.Load(), Free: g.free.Load(), Reserve: g.reserve.Load()}, false
	}
	g.statErr = false
	g.total.Store(total)
	g.free.Store(free)
	return State{Total: total, Free: free, Reserve: g.reserve.Load()}, true
}

// transition logs, once, entering and leaving the nearly-full state.
func (g *Guard) transition(s State, d Decision) {
	was := g.nearlyFull.Load()
	now := was
	if d.NearlyFull {
		now = true
	} else if d.Clear {
		now = false
	}
	if was == now {
		return
	}
	g.nearlyFull.Store(now)
	if now {
		g.log.Warn("disk nearly full: uploads are refused (507 InsufficientStorage) until space is freed; deletes keep working",
			"dir", g.dir, "free_bytes", s.Free, "min_free_bytes", g.limits.MinFree,
			"reserve_bytes", s.Reserve, "reserve_size", g.limits.Reserve)
	} else {
		g.log.Info("disk space recovered: uploads are accepted again",
			"dir", g.dir, "free_bytes", s.Free, "min_free_bytes", g.limits.MinFree, "reserve_bytes", s.Reserve)
	}
}

// removeReserve deletes the reserve file. Called with mu held (or at open).
func (g *Guard) removeReserve() {
	if err := os.Remove(g.reservePath()); err != nil && !errors.Is(err, os.ErrNotExist) {
		g.log.Error("disk space: removing the reserve file", "file", g.reservePath(), "err", err)
		return
	}
	if g.reserve.Swap(0) > 0 {
		g.log.Warn("disk space: released the reserve file so that metadata writes find room", "dir", g.dir, "reserve_size", g.limits.Reserve)
	}
}

// Admit decides whether an upload of n bytes (n < 0: unknown) may start,
// and, during an upload, whether n more bytes may be written. It returns an
// error wrapping ErrFull when they may not.
func (g *Guard) Admit(n int64) error {
	if g == nil {
		return nil
	}
	s, _, ok := g.refresh()
	if ok && !Admit(g.limits, s, n) {
		return ErrFull
	}
	return nil
}

// BeforeMetadataWrite runs before each metadata transaction: if free space
// has fallen below the reserve's size, it releases the reserve. It costs one
// statfs while the reserve is held, nothing otherwise.
func (g *Guard) BeforeMetadataWrite() {
	if g == nil || g.reserve.Load() == 0 {
		return
	}
	_, free, err := g.statfs(g.dir)
	if err == nil && free >= g.limits.Reserve {
		return
	}
	g.Refresh()
}

// MetadataWriteFailed is told that a metadata write failed for lack of space:
// it releases the reserve, if still held, so that a retry finds room.
func (g *Guard) MetadataWriteFailed() {
	if g == nil {
		return
	}
	g.mu.Lock()
	if g.reserve.Load() > 0 {
		g.removeReserve()
	}
	g.mu.Unlock()
	g.Refresh()
}
