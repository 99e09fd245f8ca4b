package diskspace

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAutoThresholdsScaleWithVolume(t *testing.T) {
	for _, tc := range []struct {
		total, minFree, reserve int64
	}{
		{64 * miB, 8 * miB, 4 * miB},              // small volume: fractions cap
		{1 * giB, 64 * miB, 8 * miB},              // floors
		{10 * giB, 10 * giB / 50, 10 * giB / 200}, // proportional
		{1000 * giB, giB, 64 * miB},               // ceilings
		{0, 0, 0},
	} {
		if got := AutoMinFree(tc.total); got != tc.minFree {
			t.Errorf("AutoMinFree(%d) = %d, want %d", tc.total, got, tc.minFree)
		}
		if got := AutoReserve(tc.total); got != tc.reserve {
			t.Errorf("AutoReserve(%d) = %d, want %d", tc.total, got, tc.reserve)
		}
	}
}

func TestParseSetting(t *testing.T) {
	for in, want := range map[string]Setting{
		"auto": {Auto: true}, "": {Auto: true}, "0": {}, "1048576": {Bytes: miB},
		"512MiB": {Bytes: 512 * miB}, "2GB": {Bytes: 2e9}, "1 gib": {Bytes: giB}, "2%": {Percent: 2}, "0.5%": {Percent: 0.5},
	} {
		got, err := ParseSetting(in)
		if err != nil || got != want {
			t.Errorf("ParseSetting(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"-1", "12XB", "MiB", "60%", "x%", "99999999999999999999", "9999999999TiB"} {
		if _, err := ParseSetting(in); err == nil {
			t.Errorf("ParseSetting(%q) accepted", in)
		}
	}
	if l := Resolve(Setting{Percent: 10}, Setting{Bytes: 5}, 1000); l != (Limits{MinFree: 100, Reserve: 5}) {
		t.Errorf("Resolve: %+v", l)
	}
}

func TestDecide(t *testing.T) {
	l := Limits{MinFree: 16 * miB, Reserve: 4 * miB}
	for _, tc := range []struct {
		name  string
		s     State
		want  Decision
		admit map[int64]bool // upload size → admitted
	}{
		{"plenty of room", State{Free: 100 * miB, Reserve: 4 * miB},
			Decision{Floor: 16 * miB, Slack: miB, Clear: true},
			map[int64]bool{-1: true, 0: true, 84 * miB: true, 84*miB + 1: false}},
		{"near the floor", State{Free: 16*miB + 512*kiB, Reserve: 4 * miB},
			Decision{Floor: 16 * miB, Slack: miB, NearlyFull: true},
			map[int64]bool{0: true, 512 * kiB: true, 512*kiB + 1: false}},
		{"between nearly full and clear", State{Free: 17*miB + 512*kiB, Reserve: 4 * miB},
			Decision{Floor: 16 * miB, Slack: miB},
			map[int64]bool{miB: true}},
		{"below the floor", State{Free: 10 * miB, Reserve: 4 * miB},
			Decision{Floor: 16 * miB, Slack: miB, NearlyFull: true},
			map[int64]bool{-1: false, 0: false, 1: false}},
		{"below the reserve: release it", State{Free: 3 * miB, Reserve: 4 * miB},
			Decision{Floor: 20 * miB, Slack: miB + 256*kiB, NearlyFull: true, ReleaseReserve: true},
			map[int64]bool{0: false}},
		{"released, no room to allocate", State{Free: 23 * miB},
			Decision{Floor: 20 * miB, Slack: miB + 256*kiB, Clear: true},
			map[int64]bool{3 * miB: true, 3*miB + 1: false}},
		{"released, room to allocate again", State{Free: 24 * miB},
			Decision{Floor: 20 * miB, Slack: miB + 256*kiB, Clear: true, AllocateReserve: true},
			map[int64]bool{4 * miB: true}},
		{"full", State{Free: 0},
			Decision{Floor: 20 * miB, Slack: miB + 256*kiB, NearlyFull: true},
			map[int64]bool{0: false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Decide(l, tc.s); got != tc.want {
				t.Errorf("Decide(%+v) =\n %+v, want\n %+v", tc.s, got, tc.want)
			}
			for n, want := range tc.admit {
				if got := Admit(l, tc.s, n); got != want {
					t.Errorf("Admit(%d) = %v, want %v", n, got, want)
				}
			}
		})
	}
	// Without thresholds only a volume with no byte left refuses.
	if Admit(Limits{}, State{Free: 0}, 0) || !Admit(Limits{}, State{Free: 10}, 10) || Admit(Limits{}, State{Free: 10}, 11) {
		t.Error("zero limits")
	}
}

// fakeVolume is a volume whose free space the test sets; the reserve file
// (a real file in dir) takes from it.
type fakeVolume struct {
	dir        string
	total, out int64 // out: bytes used by others
}

func (v *fakeVolume) statfs(string) (int64, int64, error) {
	var res int64
	if fi, err := os.Stat(filepath.Join(v.dir, ReserveFile)); err == nil {
		res = fi.Size()
	}
	return v.total, max(v.total-v.out-res, 0), nil
}

func TestGuardReleasesAndReallocatesReserve(t *testing.T) {
	dir := t.TempDir()
	v := &fakeVolume{dir: dir, total: 64 * miB}
	var logs bytes.Buffer
	g, err := open(dir, Setting{Auto: true}, Setting{Auto: true}, slog.New(slog.NewTextHandler(&logs, nil)), v.statfs)
	if err != nil {
		t.Fatal(err)
	}
	if g.Limits() != (Limits{MinFree: 8 * miB, Reserve: 4 * miB}) {
		t.Fatalf("limits %+v", g.Limits())
	}
	fi, err := os.Stat(filepath.Join(dir, ReserveFile))
	if err != nil || fi.Size() != 4*miB || g.Reserve() != 4*miB {
		t.Fatalf("reserve file not allocated: %v %v", fi, err)
	}
	if err := g.Admit(50 * miB); err != nil {
		t.Fatalf("50 MiB refused with 60 MiB free: %v", err)
	}
	if err := g.Admit(53 * miB); !errors.Is(err, ErrFull) {
		t.Fatalf("53 MiB admitted with 60 MiB free and 8 MiB kept: %v", err)
	}
	v.out = 53 * miB // 7 MiB free: uploads refused, nearly full
	if err := g.Admit(0); !errors.Is(err, ErrFull) || !g.NearlyFull() {
		t.Fatalf("at the floor: %v, nearly full %v", err, g.NearlyFull())
	}
	g.BeforeMetadataWrite() // 7 MiB free, more than the reserve: keep it
	if g.Reserve() != 4*miB {
		t.Fatal("reserve released with room left")
	}
	v.out = 60 * miB // full
	g.BeforeMetadataWrite()
	if g.Reserve() != 0 {
		t.Fatal("reserve not released on a full volume")
	}
	if _, err := os.Stat(filepath.Join(dir, ReserveFile)); !os.IsNotExist(err) {
		t.Fatalf("reserve file still there: %v", err)
	}
	if s, _ := g.Refresh(); s.Free != 4*miB {
		t.Fatalf("free after release: %d", s.Free)
	}
	v.out = 51 * miB // 13 MiB free: not enough to allocate 4 MiB and keep 8+4 free
	g.Refresh()
	if g.Reserve() != 0 || !g.NearlyFull() {
		t.Fatalf("reserve %d, nearly full %v", g.Reserve(), g.NearlyFull())
	}
	v.out = 40 * miB // 24 MiB free: allocate, and uploads resume
	if err := g.Admit(miB); err != nil {
		t.Fatal(err)
	}
	if g.Reserve() != 4*miB || g.NearlyFull() {
		t.Fatalf("reserve %d, nearly full %v", g.Reserve(), g.NearlyFull())
	}
	out := logs.String()
	if n := strings.Count(out, "disk nearly full"); n != 1 {
		t.Errorf("nearly full logged %d times:\n%s", n, out)
	}
	if n := strings.Count(out, "disk space recovered"); n != 1 {
		t.Errorf("recovery logged %d times:\n%s", n, out)
	}
	if n := strings.Count(out, "released the reserve"); n != 1 {
		t.Errorf("release logged %d times:\n%s", n, out)
	}

	// A restart with the reserve turned off gives its space back.
	g2, err := open(dir, Setting{Auto: true}, Setting{}, nil, v.statfs)
	if err != nil {
		t.Fatal(err)
	}
	if g2.Reserve() != 0 {
		t.Fatal("reserve kept after --disk-reserve 0")
	}
	if _, err := os.Stat(filepath.Join(dir, ReserveFile)); !os.IsNotExist(err) {
		t.Fatalf("reserve file still there: %v", err)
	}
}

func TestGuardMetadataWriteFailedReleases(t *testing.T) {
	dir := t.TempDir()
	v := &fakeVolume{dir: dir, total: 64 * miB}
	g, err := open(dir, Setting{Auto: true}, Setting{Auto: true}, nil, v.statfs)
	if err != nil {
		t.Fatal(err)
	}
	v.out = 50 * miB // 10 MiB free, more than the reserve
	g.MetadataWriteFailed()
	if g.Reserve() != 0 {
		t.Fatal("reserve kept after a metadata write failed for lack of space")
	}
	var nilGuard *Guard
	if nilGuard.Admit(1<<40) != nil || nilGuard.NearlyFull() {
		t.Fatal("nil guard")
	}
	nilGuard.BeforeMetadataWrite()
	nilGuard.MetadataWriteFailed()
}
