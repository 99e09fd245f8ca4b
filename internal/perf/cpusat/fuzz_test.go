package cpusat

import "testing"

// FuzzParseStat checks that ParseStat never panics and that what it
// accepts is consistent: idle time within the total. The seed corpus is in
// testdata/fuzz/FuzzParseStat.
func FuzzParseStat(f *testing.F) {
	f.Add([]byte("cpu  100 5 50 800 40 1 4 0 7 0\ncpu0 50 2 25 400 20 0 2 0 0 0\n"))
	f.Add([]byte("cpu 1 2 3 4\n"))
	f.Add([]byte("cpu 18446744073709551615 1 1 1 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tm, err := ParseStat(data)
		if err != nil {
			if tm != (Times{}) {
				t.Fatalf("error %v with times %+v", err, tm)
			}
			return
		}
		if tm.Idle > tm.Total {
			t.Fatalf("idle %d > total %d", tm.Idle, tm.Total)
		}
		if s := IdleShare(Times{}, tm); s < 0 || s > 1 {
			t.Fatalf("IdleShare = %v", s)
		}
	})
}
